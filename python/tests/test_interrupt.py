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
