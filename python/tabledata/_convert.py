"""Conversions from what Python users have to Arrow record batches.

Backends may answer with pyarrow Tables, RecordBatches, Arrays, ChunkedArrays,
or anything that speaks the Arrow PyCapsule protocol (Polars, nanoarrow,
DuckDB results).  Everything becomes one RecordBatch, exported to the engine
through ``__arrow_c_array__`` (zero copy when the data is one chunk).
"""
from __future__ import annotations

import pyarrow as pa

_STRING_VARIANTS = (pa.large_string(), pa.string_view()) if hasattr(pa, "string_view") else (pa.large_string(),)


def _decoded(arr, target: pa.DataType):
    """A dictionary-encoded array's values as ``target`` (Polars' dictionaries
    hold string_view, which pyarrow cannot take from: their values are cast first)."""
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    values = arr.dictionary if arr.dictionary.type == target else arr.dictionary.cast(target)
    return pa.DictionaryArray.from_arrays(arr.indices, values).cast(target)


def table_to_batch(table: pa.Table) -> pa.RecordBatch:
    """One batch holding all rows of ``table`` (copies only if it has several chunks)."""
    batches = table.to_batches()
    if len(batches) != 1:
        batches = table.combine_chunks().to_batches()
    if len(batches) == 1:
        return batches[0]
    return pa.RecordBatch.from_arrays([pa.array([], type=f.type) for f in table.schema], schema=table.schema)


def to_batch(obj, declared: pa.Schema | None = None) -> pa.RecordBatch:
    """Tabular data (partition values) as one RecordBatch; string columns in
    another layout (Polars' string_view) become utf8, dictionary-encoded
    (categorical) columns their values, and columns of Arrow's
    null type (``pa.table({"P": [None]})``, a Polars all-null column) the
    declared type of the same name in ``declared``."""
    batch = _to_batch(obj)

    def fixed(f, c):
        if f.type in _STRING_VARIANTS:
            return c.cast(pa.string())
        if pa.types.is_dictionary(f.type):  # a categorical: its values
            return _decoded(c, f.type.value_type if f.type.value_type not in _STRING_VARIANTS else pa.string())
        if pa.types.is_null(f.type) and declared is not None and f.name in declared.names:
            return pa.nulls(len(c), declared.field(f.name).type)
        return c

    cols = [fixed(f, c) for f, c in zip(batch.schema, batch.columns)]
    if any(a is not b for a, b in zip(cols, batch.columns)):
        batch = pa.RecordBatch.from_arrays(cols, names=batch.schema.names)
    return batch


def _to_batch(obj) -> pa.RecordBatch:
    if isinstance(obj, pa.RecordBatch):
        return obj
    if isinstance(obj, pa.Table):
        return table_to_batch(obj)
    if isinstance(obj, dict):
        return pa.RecordBatch.from_pydict(obj)
    if hasattr(obj, "__arrow_c_stream__"):
        return table_to_batch(pa.table(obj))
    if hasattr(obj, "__arrow_c_array__"):
        return pa.record_batch(obj)
    raise TypeError(f"expected a pyarrow Table or RecordBatch or an Arrow PyCapsule object, got {type(obj).__name__}")


def _column(obj):
    """An Array or ChunkedArray from a column-like object, or None if it is tabular."""
    if isinstance(obj, pa.Array):
        return obj
    if isinstance(obj, pa.ChunkedArray):
        return obj.combine_chunks() if obj.num_chunks != 1 else obj.chunk(0)
    if isinstance(obj, (pa.Table, pa.RecordBatch)):
        return None
    return None


def values_batch(obj, column: str, expected: pa.DataType | None) -> pa.RecordBatch:
    """The answer to a column_values request as a one-column RecordBatch.

    A bare array (pyarrow, Polars Series...) is named ``column``.  String
    columns in another layout (large_string, string_view, as Polars sends
    them), dictionary-encoded columns of the declared value type (pandas and
    Polars categoricals) and all-null columns of Arrow's null type are cast
    to the declared type; any other mismatch is left for the engine to report as a contract
    violation.
    """
    arr = _column(obj)
    if arr is not None:
        batch = pa.RecordBatch.from_arrays([arr], [column])
    elif isinstance(obj, pa.Table):
        batch = table_to_batch(obj)
    elif isinstance(obj, pa.RecordBatch):
        batch = obj
    elif hasattr(obj, "__arrow_c_stream__"):
        try:
            batch = table_to_batch(pa.table(obj))
        except (TypeError, ValueError, pa.ArrowInvalid):
            batch = pa.RecordBatch.from_arrays([_column(pa.chunked_array(obj))], [column])
    elif hasattr(obj, "__arrow_c_array__"):
        arr = pa.array(obj)
        if pa.types.is_struct(arr.type):
            batch = pa.RecordBatch.from_struct_array(arr)
        else:
            batch = pa.RecordBatch.from_arrays([arr], [column])
    else:
        raise TypeError(
            f"values_cb expects a pyarrow Table, RecordBatch, Array or ChunkedArray, or an Arrow PyCapsule "
            f"object (Polars...); got {type(obj).__name__}")
    if expected is not None and batch.num_columns == 1:
        t = batch.schema.field(0).type
        if t != expected and pa.types.is_dictionary(t) and (t.value_type == expected or (
                pa.types.is_string(expected) and t.value_type in _STRING_VARIANTS)):
            # dictionary-encoded values (pandas/Polars categoricals): decoded
            batch = pa.RecordBatch.from_arrays([_decoded(batch.column(0), expected)], [batch.schema.field(0).name])
        elif t != expected and pa.types.is_string(expected) and t in _STRING_VARIANTS:
            batch = pa.RecordBatch.from_arrays([batch.column(0).cast(expected)], [batch.schema.field(0).name])
        elif pa.types.is_null(t) and not pa.types.is_null(expected):  # all nulls, untyped (Polars' Null)
            batch = pa.RecordBatch.from_arrays([pa.nulls(batch.num_rows, expected)], [batch.schema.field(0).name])
    return batch


def to_schema(obj) -> pa.Schema:
    if isinstance(obj, pa.Schema):
        return obj
    if hasattr(obj, "__arrow_c_schema__"):
        return pa.schema(obj)
    raise TypeError(f"expected a pyarrow Schema (or an object with __arrow_c_schema__), got {type(obj).__name__}")


class ArrayCapsules:
    """Holds an (arrow_schema, arrow_array) capsule pair for pa.record_batch()."""

    __slots__ = ("_caps",)

    def __init__(self, caps):
        self._caps = caps

    def __arrow_c_array__(self, requested_schema=None):
        caps, self._caps = self._caps, None
        if caps is None:
            raise ValueError("capsules already consumed")
        return caps


class StreamCapsule:
    """Holds an arrow_array_stream capsule for pa.RecordBatchReader.from_stream()."""

    __slots__ = ("_cap",)

    def __init__(self, cap):
        self._cap = cap

    def __arrow_c_stream__(self, requested_schema=None):
        cap, self._cap = self._cap, None
        if cap is None:
            raise ValueError("stream already consumed")
        return cap


def import_batch(caps) -> pa.RecordBatch:
    return pa.record_batch(ArrayCapsules(caps))


def import_stream(cap) -> pa.RecordBatchReader:
    return pa.RecordBatchReader.from_stream(StreamCapsule(cap))
