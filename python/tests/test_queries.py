"""The query layer from Python (where, view, agg_by, sort, head, tail, sql),
listeners with added rows, wait_for, and the file backend (tabledata.read)."""
import os
import time

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

import tabledata as td
from conftest import Key, MemBackend, partition_values

SYMS = ["AAPL", "GOOG", "MSFT"]


def trades(sym, n, start=0):
    return pa.table({"Qty": pa.array([(i * 7) % 13 for i in range(start, start + n)], pa.int64()),
                     "Px": pa.array([100.0 + i for i in range(start, start + n)], pa.float64())})


@pytest.fixture
def live():
    be = MemBackend()
    be.add_table(Key("trades"), pa.schema([("Qty", pa.int64()), ("Px", pa.float64())]),
                 pa.schema([("Sym", pa.string())]))
    for s in SYMS:
        be.add_location(Key("trades"), Key(s), trades(s, 50), partition_values(Sym=s))
    svc = td.TableDataService(be, update_period=0, page_size=16)
    return be, svc


def test_operations_static(live):
    be, svc = live
    t = svc.make_table(Key("trades"))
    ref = pa.table(t)
    w = t.where("Qty > 6 AND Sym <> 'GOOG'")
    expect = ref.filter(pc.and_(pc.greater(ref["Qty"], 6), pc.not_equal(ref["Sym"], "GOOG")))
    assert pa.table(w).combine_chunks().equals(expect.combine_chunks())
    v = t.view("Sym", "Qty * 2 AS Q2")
    assert pa.table(v).column("Q2").to_pylist() == [q * 2 for q in ref["Qty"].to_pylist()]
    a = t.agg_by(["sum(Qty) AS Total", "count(*) AS N"], by="Sym")
    assert pa.table(a).to_pylist() == [
        {"Sym": s, "Total": sum(trades(s, 50)["Qty"].to_pylist()), "N": 50} for s in SYMS]
    s = t.sort(["Qty", "Px"], descending=[True, False]).head(3)
    assert pa.table(s).column("Qty").to_pylist() == [12, 12, 12]
    assert t.tail(2).to_arrow().column("Px").to_pylist() == [148.0, 149.0]
    assert pa.table(t.select_distinct("Sym")).column("Sym").to_pylist() == SYMS
    # partition-only filters prune locations before they are sized
    pruned = svc.make_table(Key("trades"), where="Sym = 'MSFT'")
    assert len(pruned) == 50
    r = td.sql("SELECT Sym, max(Px) AS M FROM trades WHERE Qty < 3 GROUP BY Sym ORDER BY Sym DESC", trades=t)
    assert pa.table(r).column("Sym").to_pylist() == ["MSFT", "GOOG", "AAPL"]
    with pytest.raises(td.NotFoundError, match="other"):
        td.sql("SELECT * FROM other", trades=t)
    with pytest.raises(TypeError, match="derived"):
        td.sql("SELECT * FROM w", w=w)


def test_live_operations_and_listeners(live):
    be, svc = live
    t = svc.make_table(Key("trades"), refreshing=True)
    big = t.where("Qty >= 10")
    totals = t.agg_by("sum(Qty) AS Total", by="Sym")
    top = t.sort("Px", descending=True).head(1)
    live_sql = td.sql("SELECT count(*) AS N FROM trades", trades=t)
    assert live_sql.is_refreshing
    updates = []
    t.listen(updates.append, rows=True)
    big_updates = []
    big.listen(big_updates.append, rows=True)
    big0 = len(big)
    v0 = t.version
    be.append(Key("trades"), Key("GOOG"), trades("GOOG", 20, 50))
    be.add_location(Key("trades"), Key("NVDA"), trades("NVDA", 5), partition_values(Sym="NVDA"))
    assert t.wait_for(size=175, timeout=20)
    svc.flush()
    assert t.version > v0
    rows = pa.concat_tables([u.rows for u in updates])
    assert rows.num_rows == 25
    assert sorted(set(rows.column("Sym").to_pylist())) == ["GOOG", "NVDA"]
    assert [str(k) for u in updates for k in u.new_locations] == ["NVDA"]
    assert pa.table(big).num_rows == pc.sum(pc.greater_equal(pa.table(t)["Qty"], 10)).as_py()
    assert sum(u.rows.num_rows for u in big_updates) == pa.table(big).num_rows - big0
    goog = [r for r in pa.table(totals).to_pylist() if r["Sym"] == "GOOG"][0]
    assert goog["Total"] == sum(trades("GOOG", 70)["Qty"].to_pylist())
    assert pa.table(top).column("Px").to_pylist() == [169.0]
    assert pa.table(live_sql).column("N").to_pylist() == [175]


def test_wait_for_timeout_and_static(live):
    be, svc = live
    t = svc.make_table(Key("trades"), refreshing=True)
    assert not t.wait_for(version=t.version + 1, timeout=0.2)
    s = svc.make_table(Key("trades"))
    assert s.wait_for(size=150) and not s.wait_for(size=151, timeout=0.1)
    with pytest.raises(ValueError):
        t.wait_for()


def write_parquet(path, table):
    tmp = str(path) + ".tmp"
    pq.write_table(table, tmp)
    os.rename(tmp, path)


def test_read_files_static_and_refreshing(tmp_path):
    for s in SYMS:
        d = tmp_path / f"Sym={s}"
        d.mkdir()
        write_parquet(d / "part-0.parquet", trades(s, 30))
    t = td.read(tmp_path)
    assert len(t) == 90 and t.column_names == ["Sym", "Qty", "Px"]
    assert pa.table(t).column("Sym").to_pylist() == [s for s in SYMS for _ in range(30)]
    r = td.sql(f"SELECT Sym, count(*) AS N FROM '{tmp_path}' WHERE Sym = 'GOOG' GROUP BY Sym", t=t)
    assert pa.table(r).to_pylist() == [{"Sym": "GOOG", "N": 30}]
    # DuckDB's table function syntax reads the same files
    r = td.sql(f"SELECT count(*) AS N FROM read_parquet('{tmp_path}/**/*.parquet', hive_partitioning = true) "
               "WHERE Sym = 'GOOG'", t=t)
    assert pa.table(r).to_pylist() == [{"N": 30}]
    with pytest.raises(td.InvalidArgumentError, match="unknown option 'bogus'"):
        td.sql(f"SELECT count(*) FROM read_parquet('{tmp_path}', bogus = 1)", t=t)
    live = td.read(tmp_path, refreshing=True, update_period=0)
    d = tmp_path / "Sym=TSLA"
    d.mkdir()
    write_parquet(d / "part-0.parquet", trades("TSLA", 7))
    assert live.wait_for(size=97, timeout=30)
    assert pa.table(live).column("Sym").to_pylist()[-7:] == ["TSLA"] * 7
    with pytest.raises(td.DataIOError):
        td.read(tmp_path / "missing")


def test_partitioned_table_live(live):
    be, svc = live
    pt = svc.make_partitioned_table(Key("trades"), refreshing=True)
    assert [str(k) for k in pt.keys()] == SYMS
    seen = []
    pt.listen(lambda u: seen.extend(u.new_locations))
    be.add_location(Key("trades"), Key("NVDA"), trades("NVDA", 5), partition_values(Sym="NVDA"))
    svc.flush()
    deadline = time.monotonic() + 10
    while len(pt) < 4 and time.monotonic() < deadline:
        svc.flush()
    assert len(pt) == 4 and [str(k) for k in seen] == ["NVDA"]
    nvda = pt.get_constituent(Key("NVDA"))
    assert nvda.size == 5 and nvda.is_refreshing
    assert pt.table.column("Sym").to_pylist() == SYMS + ["NVDA"]
    be.append(Key("trades"), Key("NVDA"), trades("NVDA", 3, 5))
    assert nvda.wait_for(size=8, timeout=10)


def test_copy_to_parquet_and_partitions(tmp_path):
    """COPY ... TO through the same query entry: the project's Parquet writer,
    read back by pyarrow; partitions; an existing target is an error."""
    src = tmp_path / "src"
    for s in SYMS:
        d = src / f"Sym={s}"
        d.mkdir(parents=True)
        write_parquet(d / "part-0.parquet", trades(s, 30))
    t = td.read(src)
    out = tmp_path / "out.parquet"
    r = td.sql(f"COPY (SELECT Sym, Qty, Px FROM t WHERE Qty > 6) TO '{out}' (COMPRESSION zstd)", t=t)
    want = pa.table(td.sql("SELECT Sym, Qty, Px FROM t WHERE Qty > 6", t=t))
    assert pa.table(r).to_pylist() == [{"Count": want.num_rows}]
    got = pq.read_table(out)
    assert got.schema.names == ["Sym", "Qty", "Px"] and got.to_pylist() == want.to_pylist()
    with pytest.raises(Exception, match="already exists"):
        td.sql(f"COPY t TO '{out}'", t=t)
    parts = tmp_path / "parts"
    td.sql(f"COPY t TO '{parts}' (FORMAT parquet, PARTITION_BY (Sym))", t=t)
    assert sorted(os.listdir(parts)) == [f"Sym={s}" for s in SYMS]
    back = td.read(parts)
    assert len(back) == 90 and sorted(back.column_names) == ["Px", "Qty", "Sym"]
