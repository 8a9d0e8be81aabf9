"""values_cb and location_cb accept what Python users have: pyarrow Tables,
RecordBatches, Arrays, ChunkedArrays, and PyCapsule objects (Polars); a
backend may be a plain class."""
import datetime

import pyarrow as pa
import pytest

import tabledata as td
from conftest import Key

DATA = pa.table({"x": pa.array(range(100), pa.int64()), "s": pa.array([f"v{i}" for i in range(100)])})


class Convert:
    """A plain class (no TableDataServiceBackend base) whose column_values
    answers with `self.convert(pyarrow table of one column)`."""

    def __init__(self, convert, partition=None):
        self.convert = convert
        self.partition = partition

    def table_schema(self, table_key, schema_cb, failure_cb):
        schema_cb(DATA.schema, pa.schema([("P", pa.string())]) if self.partition is not None else None)

    def table_locations(self, table_key, location_cb, success_cb, failure_cb):
        location_cb(Key("a"), self.partition)
        success_cb()

    def table_location_size(self, table_key, lkey, size_cb, failure_cb):
        size_cb(DATA.num_rows)

    def column_values(self, table_key, lkey, col, offset, min_rows, max_rows, values_cb, failure_cb):
        values_cb(self.convert(DATA.select([col]).slice(offset, max_rows)))


def polars():
    return pytest.importorskip("polars")


CONVERSIONS = {
    "table": lambda t: t,
    "record_batch": lambda t: t.to_batches()[0],
    "chunked_table": lambda t: pa.Table.from_batches(t.to_batches(max_chunksize=7)),
    "array": lambda t: t.column(0).chunk(0),
    "chunked_array": lambda t: t.column(0),
    "capsule_array": lambda t: type("A", (), {"__arrow_c_array__": lambda self, requested_schema=None:
                                              t.column(0).chunk(0).__arrow_c_array__()})(),
    "capsule_stream": lambda t: type("S", (), {"__arrow_c_stream__": lambda self, requested_schema=None:
                                               t.__arrow_c_stream__()})(),
    "polars_dataframe": lambda t: polars().from_arrow(t),
    "polars_series": lambda t: polars().from_arrow(t).to_series(),
    # categoricals: dictionary-encoded values of the declared type (refused before)
    "dictionary": lambda t: pa.table({t.column_names[0]: t.column(0).dictionary_encode()}),
    "polars_categorical": lambda t: (polars().from_arrow(t).to_series().cast(polars().Categorical)
                                     if pa.types.is_string(t.schema.field(0).type) else t),
}


@pytest.mark.parametrize("kind", sorted(CONVERSIONS))
def test_values_cb_accepts(kind):
    svc = td.TableDataService(Convert(CONVERSIONS[kind]), page_size=16)
    t = svc.make_table(Key("t"))
    assert pa.table(t).combine_chunks().equals(DATA)


def test_partition_values_from_polars_and_dict():
    pl = polars()
    for pv in (pl.DataFrame({"P": ["p1"]}), {"P": ["p1"]}, pa.table({"P": ["p1"]}).to_batches()[0],
               pl.DataFrame({"P": ["p1"]}, schema={"P": pl.Categorical}),
               pa.table({"P": pa.array(["p1"]).dictionary_encode()})):
        t = td.TableDataService(Convert(lambda x: x, partition=pv)).make_table(Key("t"))
        got = pa.table(t)
        assert got.column_names == ["P", "x", "s"] and set(got.column("P").to_pylist()) == {"p1"}


def test_schema_from_capsule_object():
    class SchemaObj:
        def __arrow_c_schema__(self):
            return DATA.schema.__arrow_c_schema__()

    class B(Convert):
        def table_schema(self, table_key, schema_cb, failure_cb):
            schema_cb(SchemaObj(), None)

    t = td.TableDataService(B(lambda x: x)).make_table(Key("t"))
    assert t.schema == DATA.schema and t.size == 100


def over_table(data):
    """A backend (the Convert one) whose one location holds the pyarrow table `data`."""
    class B(Convert):
        def table_schema(self, table_key, schema_cb, failure_cb):
            schema_cb(data.schema, None)

        def table_location_size(self, table_key, lkey, size_cb, failure_cb):
            size_cb(data.num_rows)

        def column_values(self, table_key, lkey, col, offset, min_rows, max_rows, values_cb, failure_cb):
            values_cb(data.select([col]).slice(offset, max_rows))

    return B(None)


def test_uint64_exact_through_backend_and_sql():
    """uint64 values above INT64_MAX come back exact from a Python backend and through SQL
    (comparison, sum as decimal128(38,0), min/max)."""
    data = pa.table({"u": pa.array([2**64 - 1, 2**63, None, 5], pa.uint64())})

    t = td.TableDataService(over_table(data), page_size=2).make_table(Key("t"))
    assert pa.table(t).combine_chunks().equals(data)
    got = pa.table(td.sql("SELECT sum(u) AS s, max(u) AS m FROM t WHERE u > 9223372036854775807", t=t))
    assert got.column("s").to_pylist() == [2**64 - 1 + 2**63]
    assert got.column("m").type == pa.uint64() and got.column("m").to_pylist() == [2**64 - 1]


def test_binary_and_large_types_round_trip():
    """pa.binary(), pa.large_string() and pa.large_binary() columns from a Python backend come
    back with the same types and values (64-bit offsets for the large ones), query bytewise,
    and a binary that is not UTF-8 cannot be cast to VARCHAR."""
    data = pa.table({"b": pa.array([b"\xaa\x00ab", None, b"abc", b"\xff"], pa.binary()),
                     "lu": pa.array(["x", None, "h\u00e9llo", "z"], pa.large_string()),
                     "lb": pa.array([b"1", b"\x01", None, b"abc"], pa.large_binary())})

    t = td.TableDataService(over_table(data), page_size=3).make_table(Key("t"))
    assert pa.table(t).combine_chunks().equals(data)
    got = pa.table(td.sql("SELECT lu, b, length(b) AS n FROM t WHERE b > CAST('abc' AS BLOB) ORDER BY b", t=t))
    assert got.schema.field("lu").type == pa.large_string() and got.schema.field("b").type == pa.binary()
    assert got.column("b").to_pylist() == [b"\xaa\x00ab", b"\xff"] and got.column("n").to_pylist() == [4, 1]
    with pytest.raises(Exception, match="not valid UTF-8"):
        pa.table(td.sql("SELECT CAST(b AS VARCHAR) FROM t", t=t))


def test_duration_round_trip_and_spans():
    """pa.duration columns of each unit come back with their types and values (negative and null
    included); timestamp differences are durations in the finer unit, they compare with
    INTERVALs, and their text is DuckDB's INTERVAL text."""
    data = pa.table({"ds": pa.array([1, -1, None, 259205], pa.duration("s")),
                     "dms": pa.array([1005, -995, None, 259205005], pa.duration("ms")),
                     "dus": pa.array([1000007, -999993, None, 259205000007], pa.duration("us")),
                     "dns": pa.array([1000000009, -999999991, None, 259205000000009], pa.duration("ns")),
                     "ts": pa.array([0, 86400_500000, None, -1], pa.timestamp("us"))})

    t = td.TableDataService(over_table(data), page_size=3).make_table(Key("t"))
    assert pa.table(t).combine_chunks().equals(data)
    got = pa.table(td.sql("SELECT ts - TIMESTAMP '1970-01-01' AS span, dns - ds AS d, CAST(dus AS VARCHAR) AS txt, "
                          "dms > INTERVAL 1 SECOND AS big FROM t", t=t))
    assert got.schema.field("span").type == pa.duration("ns") and got.schema.field("d").type == pa.duration("ns")
    assert got.column("span").to_pylist() == [datetime.timedelta(0), datetime.timedelta(days=1, microseconds=500000),
                                              None, datetime.timedelta(microseconds=-1)]
    assert got.column("d").cast(pa.int64()).to_pylist() == [9, 9, None, 9]
    assert got.column("txt").to_pylist() == ["00:00:01.000007", "-00:00:00.999993", None, "3 days 00:00:05.000007"]
    assert got.column("big").to_pylist() == [True, False, None, True]


def test_duration_copy_to_parquet_reads_in_pyarrow(tmp_path):
    """COPY writes durations to Parquet as INT64 with the ARROW:schema pyarrow writes: pyarrow
    reads the durations back with their units."""
    import pyarrow.parquet as pq
    data = pa.table({"ds": pa.array([1, None, -5], pa.duration("s")), "dns": pa.array([7, 8, None], pa.duration("ns"))})
    t = td.TableDataService(over_table(data), page_size=2).make_table(Key("t"))
    out = tmp_path / "d.parquet"
    pa.table(td.sql(f"COPY t TO '{out}'", t=t))
    assert pq.read_table(out).equals(data)
