"""The seed's example (examples/seed_example.py), static and refreshing:
every value and type, nulls, the ET timestamps, through pyarrow, Polars and
DuckDB."""
import datetime as dt

import pyarrow as pa
import pytest

import tabledata as td

LOCATIONS = [("GOOG", "NYSE"), ("MSFT", "BZX"), ("MSFT", "BZY")]  # location-key order


def expected(seed, rows_per_location):
    """Partition columns first, then the data columns; locations in key order."""
    parts = []
    for ticker, exchange, reps in rows_per_location:
        data = pa.concat_tables([seed["location_data"]] * reps)
        n = data.num_rows
        parts.append(pa.table({"Ticker": [ticker] * n, "Exchange": [exchange] * n, **{
            name: data.column(name) for name in data.column_names}}))
    return pa.concat_tables(parts).combine_chunks()


def test_seed_schema_has_every_type(seed):
    t = seed["t"]
    assert t.schema == pa.schema([
        ("Ticker", pa.string()), ("Exchange", pa.string()), ("Boolean", pa.bool_()), ("Byte", pa.int8()),
        ("Char", pa.uint16()), ("Short", pa.int16()), ("Int", pa.int32()), ("Long", pa.int64()),
        ("NPLong", pa.int64()), ("Float", pa.float32()), ("Double", pa.float64()), ("String", pa.string()),
        ("Datetime", pa.timestamp("ns", tz="UTC"))])
    assert [c.column_type for c in t.columns[:2]] == [td.ColumnType.PARTITIONING] * 2
    assert all(c.column_type == td.ColumnType.NORMAL for c in t.columns[2:])


def test_seed_static_pyarrow(seed):
    t = seed["data_service"].make_table(seed["TableKeyImpl"]("sample"), refreshing=False)
    assert not t.is_refreshing and len(t) == 6 and t.size == 6
    got = pa.table(t).combine_chunks()
    assert got.equals(expected(seed, [(a, b, 1) for a, b in LOCATIONS]))
    # the ET instants are 16:30 and 16:45 UTC (EDT is UTC-4)
    assert got.column("Datetime").to_pylist()[:2] == [
        dt.datetime(2024, 10, 1, 16, 30, tzinfo=dt.timezone.utc), dt.datetime(2024, 10, 1, 16, 45, tzinfo=dt.timezone.utc)]
    assert got.column("Char").to_pylist()[:2] == [ord("-"), ord("1")]
    reader = pa.RecordBatchReader.from_stream(t)
    assert reader.read_all().combine_chunks().equals(got)
    assert t.to_arrow(columns=["Ticker", "Int"], rows=(1, 4)).to_pydict() == {
        "Ticker": ["GOOG", "MSFT", "MSFT"], "Int": [-1, 1, -1]}


def test_seed_static_polars(seed):
    pl = pytest.importorskip("polars")
    t = seed["data_service"].make_table(seed["TableKeyImpl"]("sample"), refreshing=False)
    df = pl.DataFrame(t)
    assert df.shape == (6, 13)
    assert df["Ticker"].to_list() == ["GOOG", "GOOG", "MSFT", "MSFT", "MSFT", "MSFT"]
    assert df["Exchange"].to_list() == ["NYSE", "NYSE", "BZX", "BZX", "BZY", "BZY"]
    assert df["Byte"].to_list() == [1, -1] * 3 and df["Char"].dtype == pl.UInt16
    assert df["Datetime"][0] == dt.datetime(2024, 10, 1, 16, 30, tzinfo=dt.timezone.utc)
    assert pl.from_arrow(pa.table(t)).equals(df)
    assert t.to_polars().equals(df)
    # Polars reads any PyCapsule stream as a Series of structs
    assert pl.from_arrow(t).struct.unnest().equals(df)


def test_seed_static_duckdb(seed):
    duckdb = pytest.importorskip("duckdb")
    t = seed["data_service"].make_table(seed["TableKeyImpl"]("sample"), refreshing=False)
    rows = duckdb.sql("select Ticker, Exchange, count(*), sum(Int), min(Double), max(String), "
                      "min(Datetime) from t group by all order by all").fetchall()
    assert [r[:6] for r in rows] == [("GOOG", "NYSE", 2, 0, -1.01, "foo"), ("MSFT", "BZX", 2, 0, -1.01, "foo"),
                                     ("MSFT", "BZY", 2, 0, -1.01, "foo")]
    assert rows[0][6] == dt.datetime(2024, 10, 1, 16, 30, tzinfo=dt.timezone.utc)


def test_seed_refreshing(seed):
    t = seed["t"]
    assert t.is_refreshing and t.size == 6
    updates = []
    listener = t.listen(updates.append, rows=True)
    seed["add_ticker_data"]("GOOG", "BZX")  # a new location
    seed["add_ticker_data"]("MSFT", "BZX")  # appends
    seed["add_ticker_data"]("MSFT", "BZY")
    assert t.wait_for(size=12, timeout=20)
    listener.remove()
    got = pa.table(t).combine_chunks()
    # the initial locations keep their regions; the new one comes after them
    assert got.equals(expected(seed, [("GOOG", "NYSE", 1), ("MSFT", "BZX", 2), ("MSFT", "BZY", 2),
                                      ("GOOG", "BZX", 1)]))
    added_rows = sum((u.rows.num_rows for u in updates), 0)
    assert added_rows == 6
    new = [k for u in updates for k in u.new_locations]
    assert [str(k) for k in new] == ["TableLocationKeyImpl{GOOG:BZX}"]
    by_loc = {}
    for u in updates:
        for a in u.added:
            by_loc.setdefault(str(a.location), []).append((a.first_row, a.end_row))
    assert sorted(by_loc) == ["TableLocationKeyImpl{GOOG:BZX}", "TableLocationKeyImpl{MSFT:BZX}",
                              "TableLocationKeyImpl{MSFT:BZY}"]
    assert by_loc["TableLocationKeyImpl{MSFT:BZX}"] == [(2, 4)]
    assert t.version >= 1
    # Polars and DuckDB see the new version too
    pl = pytest.importorskip("polars")
    assert pl.DataFrame(t).height == 12
    duckdb = pytest.importorskip("duckdb")
    assert duckdb.sql("select count(*) from t where Ticker = 'GOOG'").fetchall()[0][0] == 4


def test_seed_partitioned_table(seed):
    pt = seed["data_service"].make_partitioned_table(seed["TableKeyImpl"]("sample"), refreshing=False)
    assert len(pt) == 3
    assert pt.table.select(["Ticker", "Exchange"]).to_pylist() == [
        {"Ticker": a, "Exchange": b} for a, b in LOCATIONS]
    assert [str(k) for k in pt.keys()] == [f"TableLocationKeyImpl{{{a}:{b}}}" for a, b in LOCATIONS]
    sizes = [c.size for c in pt.constituent_tables]
    assert sizes == [2, 2, 2]
    assert pt.merge().size == 6


def test_every_type_with_nulls():
    """Each type with a null in every column, and min/max values (no sentinels)."""
    from conftest import Key, MemBackend
    data = pa.table({
        "b": pa.array([True, None, False], pa.bool_()),
        "i8": pa.array([-128, None, 127], pa.int8()),
        "u16": pa.array([0, None, 65535], pa.uint16()),
        "i16": pa.array([-32768, None, 32767], pa.int16()),
        "i32": pa.array([-2**31, None, 2**31 - 1], pa.int32()),
        "i64": pa.array([-2**63, None, 2**63 - 1], pa.int64()),
        "f32": pa.array([-1.5, None, float("inf")], pa.float32()),
        "f64": pa.array([float("-inf"), None, 1e300], pa.float64()),
        "s": pa.array(["", None, "héllo"], pa.string()),
        "ts": pa.array([0, None, -1], pa.timestamp("ns", tz="America/New_York")),
        "tsn": pa.array([1, None, 2**62], pa.timestamp("ns")),
    })
    be = MemBackend()
    be.add_table(Key("all"), data.schema)
    be.add_location(Key("all"), Key("only"), data)
    svc = td.TableDataService(be, page_size=2)
    t = svc.make_table(Key("all"))
    assert pa.table(t).combine_chunks().equals(data)
    pl = pytest.importorskip("polars")
    df = pl.DataFrame(t)
    assert df.null_count().row(0) == (1,) * 11
    assert df["i64"].to_list() == [-2**63, None, 2**63 - 1]
    duckdb = pytest.importorskip("duckdb")
    assert duckdb.sql("select count(*) from t where i32 is null").fetchall()[0][0] == 1
    assert duckdb.sql("select max(i64), min(s) from t").fetchall()[0] == (2**63 - 1, "")


# The three fixes examples/seed_example.py marks (spec 9), undone: the guide's code as written.
SEED_BUGS = [
    ("""        # fixed (spec 9): iterate .items() and pass (key, values), not a list
        for key, location in self.tables[table_key].locations.items():
            location_cb(key, location.partitioning_values)""",
     """        for key, location in self.tables[table_key].locations:
            location_cb([key, location.partitioning_values])"""),
    ("""        # fixed (spec 9): send up to max_rows, not min_rows
        values_cb(location.data.select([col]).slice(offset, max_rows))""",
     """        values_cb(location.data.select([col]).slice(offset, min_rows))"""),
    ("""        # fixed (spec 9): the location's attribute is size_failure_cb
        location.size_failure_cb = failure_cb""", """        location.failure_cb = failure_cb"""),
    ("""            location.size_failure_cb = lambda *x: x""", """            location.failure_cb = lambda *x: x"""),
]


def test_seed_verbatim_with_only_the_imports_changed(tmp_path):
    """The guide's code as written (its bugs kept; only the imports changed):
    the refreshing table it builds works and takes the guide's last step; the
    static table meets the table_locations bug and says so."""
    import runpy
    from conftest import EXAMPLES
    code = (EXAMPLES / "seed_example.py").read_text()
    for fixed, verbatim in SEED_BUGS:
        assert code.count(fixed) == 1, fixed
        code = code.replace(fixed, verbatim)
    (tmp_path / "seed_verbatim.py").write_text(code)
    g = runpy.run_path(str(tmp_path / "seed_verbatim.py"), run_name="seed_verbatim")
    t, key = g["t"], g["TableKeyImpl"]("sample")
    assert t.size == 6
    # the guide's last step: a new location, appends to two others (1 s cycles, as Deephaven)
    g["add_ticker_data"]("GOOG", "BZX")
    g["add_ticker_data"]("MSFT", "BZX")
    g["add_ticker_data"]("MSFT", "BZY")
    assert t.wait_for(size=12, timeout=30)
    assert t.locations() == [g["TableLocationKeyImpl"](k) for k in ("GOOG:NYSE", "MSFT:BZX", "MSFT:BZY", "GOOG:BZX")]
    assert pa.table(t).column("Ticker").to_pylist() == ["GOOG"] * 2 + ["MSFT"] * 8 + ["GOOG"] * 2
    assert pa.table(t).column("Long").to_pylist() == [1, -1] * 6
    with pytest.raises(td.BackendError, match="table_locations raised TypeError: cannot unpack") as e:
        g["data_service"].make_table(key, refreshing=False)
    assert isinstance(e.value.__cause__, TypeError)
