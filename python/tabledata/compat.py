"""Stand-ins for the Deephaven helpers the seed's example uses, built on pyarrow.

So that Deephaven's example and tests run with only their imports changed:
``deephaven.column`` (``bool_col``, ``byte_col``, ...), ``deephaven.new_table``,
``deephaven.arrow`` (``to_arrow``, ``to_table``), ``deephaven.time.to_j_instant``
and ``deephaven.liveness_scope``.  Types follow Deephaven's mapping to Arrow:
byte int8, char uint16, short int16, int int32, long int64, float float32,
double float64, Instant timestamp[ns, UTC].
"""
from __future__ import annotations

import contextlib
import datetime as _dt
import re
from typing import Any, Sequence

import pyarrow as pa

__all__ = ["InputColumn", "bool_col", "byte_col", "char_col", "short_col", "int_col", "long_col", "float_col",
           "double_col", "string_col", "datetime_col", "new_table", "to_arrow", "to_table", "to_j_instant",
           "LivenessScope", "liveness_scope"]

INSTANT = pa.timestamp("ns", tz="UTC")


class InputColumn:
    def __init__(self, name: str, array: pa.Array):
        self.name, self.array = name, array


def _col(name: str, data: Any, type_: pa.DataType) -> InputColumn:
    if hasattr(data, "tolist"):  # numpy arrays
        data = data.tolist()
    return InputColumn(name, pa.array(list(data), type=type_))


def bool_col(name: str, data: Sequence) -> InputColumn:
    return _col(name, data, pa.bool_())


def byte_col(name: str, data: Sequence) -> InputColumn:
    return _col(name, data, pa.int8())


def char_col(name: str, data: Sequence) -> InputColumn:
    """Characters (a str or a sequence of one-character str / ints) as uint16."""
    return _col(name, [None if c is None else ord(c) if isinstance(c, str) else int(c) for c in data], pa.uint16())


def short_col(name: str, data: Sequence) -> InputColumn:
    return _col(name, data, pa.int16())


def int_col(name: str, data: Sequence) -> InputColumn:
    return _col(name, data, pa.int32())


def long_col(name: str, data: Sequence) -> InputColumn:
    return _col(name, data, pa.int64())


def float_col(name: str, data: Sequence) -> InputColumn:
    return _col(name, data, pa.float32())


def double_col(name: str, data: Sequence) -> InputColumn:
    return _col(name, data, pa.float64())


def string_col(name: str, data: Sequence) -> InputColumn:
    return _col(name, data, pa.string())


def datetime_col(name: str, data: Sequence) -> InputColumn:
    """Instants: nanoseconds since the epoch (ints, as to_j_instant returns) or datetimes."""
    return _col(name, data, INSTANT)


def new_table(cols: Sequence[InputColumn]) -> pa.Table:
    return pa.table([c.array for c in cols], names=[c.name for c in cols])


def to_arrow(table: pa.Table) -> pa.Table:
    return table


def to_table(table: pa.Table) -> pa.Table:
    return table


_ZONES = {"ET": "America/New_York", "CT": "America/Chicago", "MT": "America/Denver", "PT": "America/Los_Angeles",
          "UTC": "UTC", "Z": "UTC"}
_INSTANT_RE = re.compile(r"^(\d{4}-\d{2}-\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?\s*(\S+)$")


def to_j_instant(text: str) -> int:
    """'2024-10-01T12:30:00 ET' -> nanoseconds since the epoch (UTC)."""
    from zoneinfo import ZoneInfo

    m = _INSTANT_RE.match(text.strip())
    if not m:
        raise ValueError(f"expected an instant like '2024-10-01T12:30:00 ET', got {text!r}")
    day, hh, mm, ss, frac, zone = m.groups()
    tz = ZoneInfo(_ZONES.get(zone, zone))
    local = _dt.datetime.fromisoformat(f"{day}T{hh}:{mm}:{ss or '00'}").replace(tzinfo=tz)
    seconds = int(local.timestamp())
    return seconds * 1_000_000_000 + int((frac or "0").ljust(9, "0"))


class LivenessScope:
    """Deephaven's liveness scope: here tables are released when Python drops them."""

    @contextlib.contextmanager
    def open(self):
        yield self


@contextlib.contextmanager
def liveness_scope():
    yield LivenessScope()
