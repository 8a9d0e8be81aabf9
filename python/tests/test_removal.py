"""Location removal from a Python backend: a table declared "add_remove" in
its schema answer removes a location with ``location_cb.removed(key)``;
live tables drop its rows and listeners hear what was removed; an add-only
table refuses a removal (ContractError naming the location)."""
import pyarrow as pa
import pytest

import tabledata as td
from conftest import Key, MemBackend, partition_values


class RemovingBackend(MemBackend):
    def __init__(self, mode):
        super().__init__()
        self.mode = mode

    def table_schema(self, table_key, schema_cb, failure_cb):
        schema, pschema, _ = self.tables[table_key]
        schema_cb(schema, pschema, update_mode=self.mode)

    def remove_location(self, key, lkey):
        with self.lock:
            del self.tables[key][2][lkey]
            subs = list(self.loc_subs.get(key, []))
        for cb, _ in subs:
            cb.removed(lkey)


def build(mode):
    be = RemovingBackend(mode)
    be.add_table(Key("t"), pa.schema([("x", pa.int64())]), pa.schema([("P", pa.int32())]))
    for i in range(3):
        be.add_location(Key("t"), Key(f"loc{i}"), pa.table({"x": pa.array(range(i * 10, i * 10 + 4), pa.int64())}),
                        partition_values(P=pa.scalar(i, pa.int32())))
    return be


def test_remove_location_live():
    be = build("add_remove")
    svc = td.TableDataService(be, update_period=0)
    t = svc.make_table(Key("t"), refreshing=True)
    assert t.size == 12
    updates = []
    listener = t.listen(updates.append)
    be.remove_location(Key("t"), Key("loc1"))
    svc.flush()  # (wait_for(size=...) waits for a size at least as large)
    assert t.size == 8
    listener.remove()
    assert pa.table(t).column("x").to_pylist() == [0, 1, 2, 3, 20, 21, 22, 23]
    removed = [r for u in updates for r in u.removed]
    assert [(str(r.location), r.first_row, r.end_row, r.position) for r in removed] == [("loc1", 0, 4, 4)]
    assert any(u.replaced for u in updates)
    # a derived table follows
    s = td.sql("SELECT count(*) AS n, sum(x) AS s FROM t", t=t)
    be.remove_location(Key("t"), Key("loc0"))
    svc.flush()
    assert t.size == 4
    assert pa.table(s).to_pylist() == [{"n": 4, "s": 86}]


def test_remove_in_add_only_table_fails():
    be = build("add_only")
    svc = td.TableDataService(be, update_period=0)
    t = svc.make_table(Key("t"), refreshing=True)
    errors = []
    t.listen(lambda u: None, on_error=errors.append)
    with pytest.raises(td.ContractError, match="location 'P=1#loc1' removed, but the table is add-only"):
        be.remove_location(Key("t"), Key("loc1"))
    svc.flush()
    assert errors and "add-only" in str(errors[0])


def test_bad_update_mode():
    be = build("sideways")
    svc = td.TableDataService(be)
    with pytest.raises(td.TableDataError, match="update_mode must be one of"):
        svc.make_table(Key("t"))
