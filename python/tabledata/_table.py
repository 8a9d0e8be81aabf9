"""Tables for Python users: Arrow export (PyCapsule), reads, listeners,
waiting, the query operations, SQL and the file backend."""
from __future__ import annotations

import enum
import threading
import time
import weakref
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Optional, Sequence, Union

import pyarrow as pa

from . import _tabledata as _td
from ._convert import import_batch, import_stream


# Backend methods running on this thread (the bridge counts them): the engine
# call that asked may hold a page or a key being fetched by this very thread.
_backend_calls = threading.local()


def interruptible(fn, *args):
    """Runs a blocking engine call so that Ctrl-C interrupts the main thread.

    The engine waits in C with the GIL released, where Python cannot deliver
    KeyboardInterrupt; from the main thread the call runs on a helper thread
    while the main thread waits in an interruptible join.  An interrupted
    call finishes (or times out) in the background and its result is
    dropped (released).  Inside a backend method (say column_values called
    on the main thread by pa.table(t)) the call runs right here: a helper
    thread would wait for what this thread is fetching while it waits for
    the helper."""
    if threading.current_thread() is not threading.main_thread() or getattr(_backend_calls, "depth", 0):
        return fn(*args)
    box = []

    def run():
        try:
            box.append((True, fn(*args)))
        except BaseException as e:  # noqa: BLE001 - handed to the caller
            box.append((False, e))

    th = threading.Thread(target=run, name="tabledata-call", daemon=True)
    th.start()
    while th.is_alive():
        th.join(0.05)
    ok, value = box[0]
    if ok:
        return value
    raise value


def _requested_stream(cap, schema: pa.Schema, target: pa.Schema):
    """The stream capsule `cap` (of `schema`) in the schema `target` (PyCapsule schema requests)."""
    if schema.equals(target):
        return cap
    if schema.names != target.names:
        raise ValueError(f"the requested schema's fields {target.names} are not the table's {schema.names} "
                         f"(a schema request may change how columns are represented, not which)")
    reader = import_stream(cap)
    if not hasattr(reader, "cast"):  # pyarrow < 16: best effort, the table's own schema
        return reader.__arrow_c_stream__()
    return reader.cast(target).__arrow_c_stream__()


class ColumnType(enum.Enum):
    NORMAL = 1
    PARTITIONING = 2


@dataclass(frozen=True)
class Column:
    """A column definition: name, Arrow type, and whether it is a partition column."""
    name: str
    data_type: pa.DataType
    column_type: ColumnType = ColumnType.NORMAL


@dataclass(frozen=True)
class AddedRows:
    """Rows one update cycle added: ``[first_row, end_row)`` of ``location``
    (source tables), at positions ``position ...`` of the table."""
    location: Any
    first_row: int
    end_row: int
    position: int


@dataclass
class TableUpdate:
    """What one update cycle changed in a refreshing table."""
    version: int
    size_before: int
    size_after: int
    added: list = field(default_factory=list)
    new_locations: list = field(default_factory=list)
    replaced: bool = False  # derived tables (sort, tail...): the whole content changed
    changed: list = field(default_factory=list)  # aggregations: positions of changed groups
    rows: Optional[pa.Table] = None  # the added rows, with listen(..., rows=True)
    # source tables of "add_remove" backends: the locations removed (AddedRows whose
    # position is where their first row was in the previous version); replaced is set too
    removed: list = field(default_factory=list)


def _error_from(err) -> Exception:
    code, message = err
    classes = {"TD_EBACKEND": _td.BackendError, "TD_ECONTRACT": _td.ContractError,
               "TD_ETIMEOUT": _td.RequestTimeoutError, "TD_EFAILED": _td.TableFailedError}
    exc = classes.get(code, _td.TableDataError)(message)
    exc.code = code
    from ._service import cause_of
    exc.__cause__ = cause_of(message)
    return exc


class Listener:
    """A registered listener; ``remove()`` (or calling it) stops it.  It
    keeps its table alive; a table that is dropped (with its listeners'
    handles) stops calling them."""

    def __init__(self, table, lid):
        self._table, self._id = table, lid

    def remove(self) -> None:
        if self._table is not None:
            table, self._table = self._table, None
            table._native.remove_listener(self._id)

    __call__ = remove


class Table:
    """A table of the engine: lazily read, paged, possibly refreshing.

    Arrow consumers read it without copies through the PyCapsule protocol:
    ``pa.table(t)``, ``pa.RecordBatchReader.from_stream(t)``,
    ``polars.DataFrame(t)``, ``duckdb.sql("select ... from t")``.
    """

    def __init__(self, native, location_key: Callable[[str], Any] = lambda ident: ident):
        self._native = native
        self._location_key = location_key
        self._schema = None

    # -- Arrow PyCapsule protocol --
    def __arrow_c_stream__(self, requested_schema=None):
        """An "arrow_array_stream" capsule over the version current now (the
        pages themselves, no copies).  ``requested_schema`` (an "arrow_schema"
        capsule) is honoured: the same schema costs nothing, another
        representation of the same columns (say large_string for string) is
        cast batch by batch; other fields (names, count) raise ValueError."""
        cap = self._native.stream(None)
        if requested_schema is None:
            return cap
        return _requested_stream(cap, self.schema, pa.Schema._import_from_c_capsule(requested_schema))

    def __arrow_c_schema__(self):
        return self._native.schema()

    # -- shape --
    @property
    def schema(self) -> pa.Schema:
        if self._schema is None:
            self._schema = pa.schema(self)
        return self._schema

    @property
    def columns(self) -> list:
        schema = self.schema
        return [Column(name, schema.field(name).type, ColumnType.PARTITIONING if part else ColumnType.NORMAL)
                for name, part in self._native.columns()]

    @property
    def column_names(self) -> list:
        return [name for name, _ in self._native.columns()]

    @property
    def size(self) -> int:
        return self._native.size()

    def __len__(self) -> int:
        return self._native.size()

    @property
    def version(self) -> int:
        return self._native.version()

    @property
    def is_refreshing(self) -> bool:
        return self._native.is_refreshing()

    @property
    def is_failed(self) -> bool:
        try:
            self._native.status()
            return False
        except _td.TableDataError:
            return True

    def check(self) -> None:
        """Raises the error that failed this table, if any."""
        self._native.status()

    def locations(self) -> list:
        """The included locations' keys, in region (row) order."""
        return [self._location_key(ident) for ident, _ in self._native.locations()]

    def coalesce(self) -> "Table":
        return self

    def __repr__(self) -> str:
        kind = "refreshing" if self.is_refreshing else "static"
        return f"<tabledata.Table {kind}, {self.size} rows, columns {self.column_names}>"

    # -- reading --
    def to_arrow(self, columns: Optional[Sequence[str]] = None,
                 rows: Union[None, slice, range, tuple] = None) -> pa.Table:
        """The table (or some columns, some rows) as a pyarrow Table of one
        contiguous chunk per column (one copy; ``pa.table(t)`` and
        ``to_batches()`` give the pages themselves, without copies).
        Errors raise the engine's exception classes.

        ``rows``: a slice/range (step 1) or a (begin, end) tuple of positions."""
        cols = list(columns) if columns is not None else None
        if rows is None:
            rows = (0, self._native.size())
        if isinstance(rows, (slice, range)):
            begin, end, step = rows.indices(self.size) if isinstance(rows, slice) else (rows.start, rows.stop,
                                                                                         rows.step)
            if step != 1:
                raise ValueError("rows must be contiguous (step 1)")
        else:
            begin, end = rows
        return pa.Table.from_batches([import_batch(interruptible(self._native.read, cols, begin, end))])

    def to_polars(self):
        """The table as a Polars DataFrame (zero copy through the PyCapsule
        stream; the same as ``polars.DataFrame(t)``).  Note that
        ``polars.from_arrow(t)`` gives a Series of structs, by Polars' rule for
        PyCapsule objects (``.struct.unnest()`` makes it a DataFrame)."""
        import polars as pl
        return pl.DataFrame(self)

    def to_batches(self, columns: Optional[Sequence[str]] = None) -> pa.RecordBatchReader:
        """A reader of the table's batches (one per page of one location), read lazily."""
        return import_stream(self._native.stream(list(columns) if columns is not None else None))

    # -- listening --
    def listen(self, fn: Callable[[TableUpdate], None], *, rows: bool = False,
               on_error: Optional[Callable[[Exception], None]] = None) -> Listener:
        """Calls ``fn(update)`` after each update cycle that changed the table
        (on the engine's update thread).  With ``rows=True`` the update carries
        the added rows as a pyarrow Table.  ``on_error(exception)`` is called
        once if the table fails."""

        ref = weakref.ref(self)  # the engine's registration must not keep the table alive

        def cb(update, error):
            table = ref()
            if table is None:
                return
            if error is not None:
                if on_error is not None:
                    on_error(_error_from(error))
                return
            fn(table._update(update, rows))

        return Listener(self, self._native.add_listener(cb))

    def _update(self, u: dict, with_rows: bool) -> TableUpdate:
        added = [AddedRows(self._location_key(ident) if ident is not None else None, first, end, pos)
                 for _, ident, first, end, pos in u["added"]]
        upd = TableUpdate(u["version"], u["size_before"], u["size_after"], added,
                          [self._location_key(i) for i in u["new_locations"]], u["replaced"], u["changed"])
        upd.removed = [AddedRows(self._location_key(ident) if ident is not None else None, first, end, pos)
                       for _, ident, first, end, pos in u.get("removed", [])]
        if with_rows:
            ranges = [(a.position, a.position + a.end_row - a.first_row) for a in added if a.end_row > a.first_row]
            if u["replaced"]:
                ranges = [(0, u["size_after"])]
            parts = [self.to_arrow(rows=r) for r in ranges]
            upd.rows = pa.concat_tables(parts) if parts else self.schema.empty_table()
        return upd

    def wait_for(self, version: Optional[int] = None, *, size: Optional[int] = None,
                 timeout: Optional[float] = None) -> bool:
        """Waits until the table reaches ``version`` (and/or holds ``size``
        rows).  Returns False on timeout; raises if the table fails.
        Interruptible (Ctrl-C)."""
        if version is None and size is None:
            raise ValueError("wait_for needs a version or a size")

        def reached():
            self._native.status()
            return (version is None or self._native.version() >= version) and (
                size is None or self._native.size() >= size)

        if reached():
            return True
        if not self.is_refreshing:
            return False
        cond = threading.Condition()

        def wake(*_):
            with cond:
                cond.notify_all()

        listener = self.listen(wake, on_error=wake)
        try:
            deadline = None if timeout is None else time.monotonic() + timeout
            with cond:
                while not reached():
                    remaining = None if deadline is None else deadline - time.monotonic()
                    if remaining is not None and remaining <= 0:
                        return False
                    # wait in slices so a signal handler (Ctrl-C) runs promptly
                    cond.wait(0.25 if remaining is None else min(remaining, 0.25))
                return True
        finally:
            listener.remove()

    # -- queries (each returns a new table; live when this one is) --
    def _derived(self, op: Callable, *args) -> "Table":
        """A table made by ``op(*args)`` (a native operation; it may read, so Ctrl-C interrupts it)."""
        return Table(interruptible(op, *args), self._location_key)

    def where(self, filter: str) -> "Table":
        """Rows where ``filter`` (an expression, README "Queries") is true."""
        return self._derived(self._native.where, filter)

    def view(self, *columns: Union[str, Iterable[str]]) -> "Table":
        """A projection: each entry "expr" or "expr AS name"."""
        cols = list(columns[0]) if len(columns) == 1 and not isinstance(columns[0], str) else list(columns)
        return self._derived(self._native.view, cols)

    select = view

    def head(self, n: int) -> "Table":
        return self._derived(self._native.head, n)

    def tail(self, n: int) -> "Table":
        return self._derived(self._native.tail, n)

    def sort(self, columns: Union[str, Sequence[str]], descending: Union[bool, Sequence[bool]] = False) -> "Table":
        cols = [columns] if isinstance(columns, str) else list(columns)
        desc = [descending] * len(cols) if isinstance(descending, bool) else list(descending)
        return self._derived(self._native.sort, cols, desc)

    def sort_descending(self, columns: Union[str, Sequence[str]]) -> "Table":
        return self.sort(columns, True)

    def agg_by(self, aggs: Union[str, Sequence[str]], by: Union[None, str, Sequence[str]] = None) -> "Table":
        """Grouped aggregation: aggs like "sum(x) AS total", "count(*)"; by: grouping expressions."""
        aggs = [aggs] if isinstance(aggs, str) else list(aggs)
        by = [] if by is None else [by] if isinstance(by, str) else list(by)
        return self._derived(self._native.agg_by, aggs, by)

    def select_distinct(self, columns: Union[str, Sequence[str]]) -> "Table":
        """The distinct combinations of ``columns``, in first-seen order."""
        cols = [columns] if isinstance(columns, str) else list(columns)
        return self._derived(self._native.agg_by, [], cols)

    # ---- joins and Deephaven's ticking-table operations (tabledata/join.h) ----

    _JOIN_TYPES = {"inner": 0, "left": 1, "full": 2, "semi": 3, "anti": 4, "natural": 5}

    @staticmethod
    def _keys(on) -> list:
        return [] if on is None else [on] if isinstance(on, str) else list(on)

    def join(self, right: "Table", on: Union[str, Sequence[str]], how: str = "inner") -> "Table":
        """Hash join on key columns ("k" or "left_k=right_k"); how: inner, left,
        full, semi, anti or natural.  Result: this table's columns, then the
        right table's other columns (a taken name gets the suffix "_right")."""
        if how not in self._JOIN_TYPES:
            raise ValueError(f"join: how must be one of {', '.join(self._JOIN_TYPES)}, not {how!r}")
        return self._derived(self._native.join, right._native, self._JOIN_TYPES[how], self._keys(on))

    def natural_join(self, right: "Table", on: Union[str, Sequence[str]]) -> "Table":
        """A left join where ``right`` has at most one row per key (else an error naming the key)."""
        return self.join(right, on, "natural")

    def aj(self, right: "Table", on: Union[str, Sequence[str]], at: str) -> "Table":
        """As-of join: for each row, the right row with equal keys ``on`` and the
        greatest ``at`` value <= this row's ("ts" or "ts>=quote_ts")."""
        return self._derived(self._native.join, right._native, 6, self._keys(on), at)

    def raj(self, right: "Table", on: Union[str, Sequence[str]], at: str) -> "Table":
        """Reverse as-of join: the right row with the least ``at`` value >= this row's."""
        return self._derived(self._native.join, right._native, 7, self._keys(on), at)

    def last_by(self, by: Union[None, str, Sequence[str]] = None) -> "Table":
        """The last row of each key (keys first, then the other columns); live and incremental."""
        return self._derived(self._native.by_row, self._keys(by), True)

    def first_by(self, by: Union[None, str, Sequence[str]] = None) -> "Table":
        """The first row of each key."""
        return self._derived(self._native.by_row, self._keys(by), False)

    _ROLL = {"sum": 0, "avg": 1, "min": 2, "max": 3, "count": 4, "row_number": 5, "lag": 6}

    def update_by(self, ops: Sequence[tuple], by: Union[None, str, Sequence[str]] = None) -> "Table":
        """Adds per-key rolling columns.  Each op is (kind, column, name, ticks) for a
        window of rows, or (kind, column, name, ts_column, window_ns) for a time
        window; kind: sum, avg, min, max, count, row_number or lag (ticks: the offset).
        ticks 0 without a time column: cumulative."""
        native = []
        for op in ops:
            kind, column, name, *rest = op
            if kind not in self._ROLL:
                raise ValueError(f"update_by: unknown operation {kind!r}")
            if len(rest) == 2:
                native.append((self._ROLL[kind], column, name, 0, rest[0], int(rest[1])))
            else:
                native.append((self._ROLL[kind], column, name, int(rest[0]) if rest else 0, None, 0))
        return self._derived(self._native.update_by, native, self._keys(by))


class PartitionedTable:
    """One row per location: the partition columns, the location key, and a
    constituent table per location (built on first use)."""

    def __init__(self, native, location_key: Callable[[str], Any], merge: Callable[[], Table]):
        self._native = native
        self._location_key = location_key
        self._merge = merge

    @property
    def table(self) -> pa.Table:
        """The partition columns and "__location" (the key as text), one row per location."""
        return pa.Table.from_batches([import_batch(interruptible(self._native.read))])

    # -- Arrow PyCapsule protocol: the rows of ``table`` (pa.table(pt), polars.DataFrame(pt), DuckDB) --
    def __arrow_c_stream__(self, requested_schema=None):
        return self.table.__arrow_c_stream__(requested_schema)

    def __arrow_c_schema__(self):
        return self.table.schema.__arrow_c_schema__()

    @property
    def size(self) -> int:
        return self._native.size()

    def __len__(self) -> int:
        return self._native.size()

    def keys(self) -> list:
        return [self._location_key(i) for i in self._native.keys()]

    @property
    def constituent_tables(self) -> list:
        return [Table(self._native.constituent(i), self._location_key) for i in range(self._native.size())]

    def get_constituent(self, key) -> Optional[Table]:
        for i, k in enumerate(self.keys()):
            if k == key:
                return Table(self._native.constituent(i), self._location_key)
        return None

    def merge(self) -> Table:
        """All constituents as one table (the table of the same key)."""
        return self._merge()

    def listen(self, fn: Callable[[TableUpdate], None], *,
               on_error: Optional[Callable[[Exception], None]] = None) -> Listener:
        """``fn(update)`` when locations are added; ``update.new_locations`` holds their keys."""

        location_key = self._location_key

        def cb(update, error):
            if error is not None:
                if on_error is not None:
                    on_error(_error_from(error))
                return
            fn(TableUpdate(update["version"], update["size_before"], update["size_after"], [],
                           [location_key(i) for i in update["new_locations"]]))

        return Listener(self, self._native.add_listener(cb))


def sql(query: str, *, refreshing: Optional[bool] = None, **tables: Table) -> Table:
    """Runs a SQL query (README "Queries") over tables given by name:
    ``sql("SELECT Sym, sum(Qty) FROM t GROUP BY Sym", t=table)``.  Sources
    must be tables made by make_table or read (not derived ones); a quoted
    path (FROM 'data/') reads files.  The result is live when a source is."""
    if not tables:
        raise ValueError("sql() needs at least one table, given as a keyword argument")
    for name, t in tables.items():
        if not isinstance(t, Table):
            raise TypeError(f"sql() source '{name}' must be a tabledata.Table, got {type(t).__name__}")
    if refreshing is None:
        refreshing = any(t.is_refreshing for t in tables.values())
    first = next(iter(tables.values()))
    native = interruptible(_td.sql, query, {name: t._native for name, t in tables.items()}, refreshing)
    return Table(native, first._location_key)


def read(path: str, *, refreshing: bool = False, where: Optional[str] = None, page_size: Optional[int] = None,
         cache_bytes: Optional[int] = None, request_timeout: Optional[float] = 30.0,
         update_period: Optional[float] = None) -> Table:
    """A table over a directory of hive-partitioned data files (Parquet,
    Arrow IPC, CSV) or one file.  ``refreshing=True`` follows the directory
    (new files and partitions, growing IPC stream and CSV files).  A
    PostgreSQL table is read the same way from ``'postgresql://host/db/table'``
    or ``"postgres('conninfo', 'table', key => 'id')"`` (docs/POSTGRES.md), and
    a Kafka topic from ``'kafka://host:port/topic?format=json'`` or
    ``"kafka('host:port', 'topic', format => 'json')"`` (docs/KAFKA.md)."""
    ms = (lambda s: None if s is None else int(round(s * 1000)))
    service, name = _td.open_files(str(path), page_size, cache_bytes,
                                   ms(request_timeout) if request_timeout is not None else 0, ms(update_period))
    return Table(interruptible(service.make_table, name, refreshing, where))
