"""Ctrl-C (KeyboardInterrupt) while Python waits for the engine: in
wait_for, and in make_table while the backend has not answered."""
import _thread
import threading
import time

import pyarrow as pa
import pytest

import tabledata as td
from conftest import Key, MemBackend


def interrupt_after(seconds):
    timer = threading.Timer(seconds, _thread.interrupt_main)
    timer.start()
    return timer


def test_keyboard_interrupt_in_wait_for():
    be = MemBackend()
    be.add_table(Key("t"), pa.schema([("x", pa.int64())]))
    t = td.TableDataService(be, update_period=0).make_table(Key("t"), refreshing=True)
    interrupt_after(0.3)
    start = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        t.wait_for(version=10**9)
    assert time.monotonic() - start < 5
    assert t.version == 0  # the table is still usable
    assert not t.wait_for(version=1, timeout=0.05)


def test_keyboard_interrupt_while_the_backend_has_not_answered():
    answered = threading.Event()

    class Slow(MemBackend):
        def table_schema(self, table_key, schema_cb, failure_cb):
            # answers only after 4 s, from another thread
            threading.Timer(4.0, lambda: (schema_cb(pa.schema([("x", pa.int64())]), None),
                                          answered.set())).start()

    be = Slow()
    be.tables[Key("t")] = [None, None, {}]
    svc = td.TableDataService(be)
    interrupt_after(0.2)
    start = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        svc.make_table(Key("t"))
    assert time.monotonic() - start < 3.5  # interrupted before the answer came
    assert answered.wait(10)
    assert svc.make_table(Key("t")).size == 0  # the service still works


@pytest.mark.parametrize("op", ["to_arrow", "where", "select_distinct", "sql", "partitioned"])
def test_keyboard_interrupt_in_operations_that_read(op):
    """Operations that read while they build their result (filters,
    aggregations, SQL, the partitioned table's rows) are interrupted too,
    not only when the slow backend finally answers (they were, but where,
    select_distinct and sql only after the answer)."""
    answered = threading.Event()

    class Slow(MemBackend):
        def column_values(self, table_key, lkey, col, offset, min_rows, max_rows, values_cb, failure_cb):
            data = self.tables[table_key][2][lkey][1].select([col]).slice(offset, max_rows)
            threading.Timer(4.0, lambda: (values_cb(data), answered.set())).start()

    be = Slow()
    be.add_table(Key("t"), pa.schema([("x", pa.int64())]))
    be.add_location(Key("t"), Key("a"), pa.table({"x": pa.array(range(5), pa.int64())}))
    svc = td.TableDataService(be, request_timeout=60)
    t = svc.make_table(Key("t"))
    run = {"to_arrow": lambda: t.to_arrow(), "where": lambda: t.where("x > 2"),
           "select_distinct": lambda: t.select_distinct(["x"]),
           "sql": lambda: td.sql("SELECT sum(x) AS s FROM t", t=t),
           "partitioned": lambda: svc.make_partitioned_table(Key("t")).constituent_tables[0].to_arrow()}[op]
    interrupt_after(0.2)
    start = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        run()
    assert time.monotonic() - start < 3.5  # interrupted before the answer came
    assert answered.wait(10)
    assert t.where("x > 2").to_arrow().column("x").to_pylist() == [3, 4]  # the service still works
