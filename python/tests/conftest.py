"""Shared test helpers: a small in-memory backend (synchronous, or answering
from a thread pool after random delays) and the seed example's data."""
from __future__ import annotations

import random
import runpy
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pyarrow as pa
import pytest

import tabledata as td

HERE = Path(__file__).resolve().parent
EXAMPLES = HERE.parent / "examples"


Key = td.NamedKey  # a key named by a string (table key and location key)


class MemBackend(td.TableDataServiceBackend):
    """Tables of pyarrow data.  With `pool`, every answer is sent from a pool
    thread after a random delay (up to `max_delay` seconds), including the
    initial answers of subscriptions, which may arrive while the engine is
    still inside the subscribe call."""

    def __init__(self, pool: ThreadPoolExecutor | None = None, max_delay: float = 0.002, seed: int = 1):
        self.tables: dict = {}  # key -> [schema, pschema, {lkey: [pv, data]}]
        self.pool = pool
        self.max_delay = max_delay
        self.rng = random.Random(seed)
        self.lock = threading.RLock()
        self.loc_subs: dict = {}  # table key -> list of (location_cb, failure_cb)
        self.size_subs: dict = {}  # (table key, lkey) -> list of size_cb
        self.calls: dict = {}

    # -- data --
    def add_table(self, key, schema, pschema=None):
        self.tables[key] = [schema, pschema, {}]

    def add_location(self, key, lkey, data: pa.Table, pv: pa.Table | None = None):
        with self.lock:
            self.tables[key][2][lkey] = [pv, data]
            subs = list(self.loc_subs.get(key, []))
        for cb, _ in subs:
            self._send(cb, lkey, pv)

    def append(self, key, lkey, data: pa.Table):
        with self.lock:
            loc = self.tables[key][2][lkey]
            loc[1] = pa.concat_tables([loc[1], data])
            subs = list(self.size_subs.get((key, lkey), []))
        for cb in subs:
            self._send(self._send_size, key, lkey, cb)

    def _send_size(self, key, lkey, size_cb):
        # the size as it is when sent (under the lock), so that sizes sent
        # from several pool threads never go backwards
        with self.lock:
            size_cb(self.tables[key][2][lkey][1].num_rows)

    # -- answering --
    def _send(self, fn, *args):
        if self.pool is None:
            fn(*args)
            return
        delay = self.rng.random() * self.max_delay

        def later():
            threading.Event().wait(delay)
            fn(*args)

        self.pool.submit(later)

    def _seq(self, *steps):
        """Runs (fn, args) steps in order, on the pool when there is one."""
        if self.pool is None:
            for fn, args in steps:
                fn(*args)
            return
        delay = self.rng.random() * self.max_delay

        def later():
            threading.Event().wait(delay)
            for fn, args in steps:
                fn(*args)

        self.pool.submit(later)

    def _count(self, name):
        with self.lock:
            self.calls[name] = self.calls.get(name, 0) + 1

    # -- the six methods --
    def table_schema(self, table_key, schema_cb, failure_cb):
        self._count("table_schema")
        if table_key not in self.tables:
            return self._send(failure_cb, f"{table_key} does not exist")
        schema, pschema, _ = self.tables[table_key]
        self._send(schema_cb, schema, pschema)

    def table_locations(self, table_key, location_cb, success_cb, failure_cb):
        self._count("table_locations")
        with self.lock:
            locs = list(self.tables[table_key][2].items())
        self._seq(*[(location_cb, (k, v[0])) for k, v in locs], (success_cb, ()))

    def table_location_size(self, table_key, table_location_key, size_cb, failure_cb):
        self._count("table_location_size")
        with self.lock:
            n = self.tables[table_key][2][table_location_key][1].num_rows
        self._send(size_cb, n)

    def column_values(self, table_key, table_location_key, col, offset, min_rows, max_rows, values_cb, failure_cb):
        self._count("column_values")
        with self.lock:
            data = self.tables[table_key][2][table_location_key][1]
        self._send(values_cb, data.select([col]).slice(offset, max_rows))

    def subscribe_to_table_locations(self, table_key, location_cb, success_cb, failure_cb):
        self._count("subscribe_to_table_locations")
        with self.lock:
            locs = list(self.tables[table_key][2].items())
            entry = (location_cb, failure_cb)
            self.loc_subs.setdefault(table_key, []).append(entry)
        self._seq(*[(location_cb, (k, v[0])) for k, v in locs], (success_cb, ()))

        def unsubscribe():
            with self.lock:
                self.loc_subs[table_key].remove(entry)

        return unsubscribe

    def subscribe_to_table_location_size(self, table_key, table_location_key, size_cb, success_cb, failure_cb):
        self._count("subscribe_to_table_location_size")
        with self.lock:
            self.size_subs.setdefault((table_key, table_location_key), []).append(size_cb)
        self._seq((self._send_size, (table_key, table_location_key, size_cb)), (success_cb, ()))

        def unsubscribe():
            with self.lock:
                self.size_subs[(table_key, table_location_key)].remove(size_cb)

        return unsubscribe

    def subscriptions(self) -> int:
        with self.lock:
            return sum(len(v) for v in self.loc_subs.values()) + sum(len(v) for v in self.size_subs.values())


@pytest.fixture
def seed():
    """The seed example's module globals (backend, data_service, t, add_ticker_data...)."""
    return runpy.run_path(str(EXAMPLES / "seed_example.py"), run_name="seed_example")


def partition_values(**values) -> pa.Table:
    return pa.table({k: [v] for k, v in values.items()})
