"""Joins, as-of joins, last_by/first_by and update_by from Python
(tabledata/join.h, tabledata/update_by.h), static and live."""
import pyarrow as pa
import pytest

import tabledata as td
from conftest import Key, MemBackend


def quotes_table(rows):
    return pa.table({"Sym": pa.array([r[0] for r in rows], pa.string()), "Ts": pa.array([r[1] for r in rows], pa.int64()),
                     "Bid": pa.array([r[2] for r in rows], pa.float64())})


def trades_table(rows):
    return pa.table({"Sym": pa.array([r[0] for r in rows], pa.string()), "Ts": pa.array([r[1] for r in rows], pa.int64()),
                     "Qty": pa.array([r[2] for r in rows], pa.int64())})


@pytest.fixture
def env():
    be = MemBackend()
    be.add_table(Key("trades"), trades_table([]).schema)
    be.add_table(Key("quotes"), quotes_table([]).schema)
    be.add_table(Key("ref"), pa.schema([("Sym", pa.string()), ("Sector", pa.string())]))
    be.add_location(Key("trades"), Key("t0"), trades_table([("A", 5, 1), ("A", 20, 2), ("B", 7, 3), ("C", 9, 4)]))
    be.add_location(Key("quotes"), Key("q0"), quotes_table([("A", 10, 1.0), ("A", 20, 2.0), ("B", 8, 3.0)]))
    be.add_location(Key("ref"), Key("r0"), pa.table({"Sym": ["A", "B"], "Sector": ["tech", "energy"]}))
    svc = td.TableDataService(be, update_period=0, page_size=16)
    return be, svc


def test_joins_static(env):
    _, svc = env
    t, q, r = (svc.make_table(Key(n)) for n in ("trades", "quotes", "ref"))
    inner = pa.table(t.join(r, "Sym")).to_pylist()
    assert [(x["Sym"], x["Sector"]) for x in inner] == [("A", "tech"), ("A", "tech"), ("B", "energy")]
    left = pa.table(t.join(r, "Sym", how="left")).column("Sector").to_pylist()
    assert left == ["tech", "tech", "energy", None]
    assert pa.table(t.join(r, "Sym", how="anti")).column("Sym").to_pylist() == ["C"]
    assert pa.table(t.natural_join(r, "Sym")).column("Sector").to_pylist() == left
    aj = pa.table(t.aj(q, "Sym", "Ts>=Ts"))
    assert aj.column_names == ["Sym", "Ts", "Qty", "Ts_right", "Bid"]
    assert aj.column("Bid").to_pylist() == [None, 2.0, None, None]
    assert pa.table(t.raj(q, "Sym", "Ts")).column("Bid").to_pylist() == [1.0, 2.0, 3.0, None]
    last = pa.table(t.last_by("Sym")).to_pylist()
    assert last[0] == {"Sym": "A", "Ts": 20, "Qty": 2}
    assert pa.table(t.first_by("Sym")).to_pylist()[0] == {"Sym": "A", "Ts": 5, "Qty": 1}
    ub = pa.table(t.update_by([("sum", "Qty", "S2", 2), ("row_number", None, "N"), ("lag", "Qty", "Prev", 1),
                               ("avg", "Qty", "A10", "Ts", 10)], by="Sym"))
    assert ub.column("S2").to_pylist() == [1.0, 3.0, 3.0, 4.0]
    assert ub.column("N").to_pylist() == [1, 2, 1, 1]
    assert ub.column("Prev").to_pylist() == [None, 1, None, None]
    assert ub.column("A10").to_pylist() == [1.0, 2.0, 3.0, 4.0]


def test_join_errors(env):
    _, svc = env
    t, q = svc.make_table(Key("trades")), svc.make_table(Key("quotes"))
    with pytest.raises(td.QueryError, match="join key Sym is utf8 on the left but int64"):
        t.join(q, "Sym=Ts")
    with pytest.raises(td.InvalidArgumentError, match="more than one row for key"):
        t.natural_join(q, "Sym")
    with pytest.raises(ValueError):
        t.join(q, "Sym", how="cross")


def test_joins_live(env):
    be, svc = env
    t, q = svc.make_table(Key("trades"), refreshing=True), svc.make_table(Key("quotes"), refreshing=True)
    aj = t.aj(q, "Sym", "Ts")
    last = t.last_by("Sym")
    be.append(Key("trades"), Key("t0"), trades_table([("A", 30, 5), ("B", 40, 6)]))
    be.append(Key("quotes"), Key("q0"), quotes_table([("B", 35, 9.0)]))
    assert t.wait_for(size=6, timeout=20)
    svc.flush()
    assert pa.table(aj).column("Bid").to_pylist() == [None, 2.0, None, None, 2.0, 9.0]
    assert {r["Sym"]: r["Qty"] for r in pa.table(last).to_pylist()} == {"A": 5, "B": 6, "C": 4}
