"""tabledata against Deephaven's own table data service, in one run: the
seed's backend (one class, built on each package's base classes) serving the
seed's columns scaled to N rows in L locations.  Measures the time to build
a static table and scan one column (sum of Long), and the refresh latency
from size_cb to a listener of a refreshing table; prints the ratios.

Needs `pip install deephaven-server` and Java 11+ (bench/run.sh skips it with
a message otherwise).

usage: python bench/bench_deephaven.py [rows] [locations] [latency samples]
"""
import statistics
import sys
import threading
import time

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc


def seed_data(rows_per_location, i):
    n = rows_per_location
    r = np.arange(n, dtype=np.int64) + i * n
    return pa.table({
        "Boolean": pa.array(r % 2 == 0), "Byte": pa.array((r % 100).astype(np.int8)),
        "Char": pa.array((r % 26 + 65).astype(np.uint16)), "Short": pa.array((r % 1000).astype(np.int16)),
        "Int": pa.array(r.astype(np.int32)), "Long": pa.array(r), "Float": pa.array(r.astype(np.float32)),
        "Double": pa.array(r.astype(np.float64) / 3), "String": pa.array(np.char.mod("s%d", r % 1000).astype(object)),
        "Datetime": pa.array(1_727_800_000_000_000_000 + r * 1_000_000, pa.timestamp("ns", tz="UTC")),
    })


def make_backend(api):
    """The seed's TestBackend (bugs fixed), on `api`'s base classes."""

    def named_key(base):
        class Named(base):
            def __init__(self, key):
                self.key = key

            def __hash__(self):
                return hash(self.key)

            def __eq__(self, other):
                return isinstance(other, Named) and self.key == other.key

            def __str__(self):
                return self.key

        return Named

    Key, LocKey = named_key(api.TableKey), named_key(api.TableLocationKey)

    class Backend(api.TableDataServiceBackend):
        def __init__(self, schema, pschema):
            self.schema, self.pschema = schema, pschema
            self.locations = {}  # LocKey -> [pv, data]
            self.size_cbs = {}
            self.location_cb = None

        def add(self, key, pv, data):
            self.locations[key] = [pv, data]
            if self.location_cb:
                self.location_cb(key, pv)

        def append(self, key, data):
            loc = self.locations[key]
            loc[1] = pa.concat_tables([loc[1], data])
            cb = self.size_cbs.get(key)
            if cb:
                cb(loc[1].num_rows)

        def table_schema(self, table_key, schema_cb, failure_cb):
            schema_cb(self.schema, self.pschema)

        def table_locations(self, table_key, location_cb, success_cb, failure_cb):
            for key, (pv, _) in self.locations.items():
                location_cb(key, pv)
            success_cb()

        def table_location_size(self, table_key, location_key, size_cb, failure_cb):
            size_cb(self.locations[location_key][1].num_rows)

        def column_values(self, table_key, location_key, col, offset, min_rows, max_rows, values_cb, failure_cb):
            values_cb(self.locations[location_key][1].select([col]).slice(offset, max_rows))

        def subscribe_to_table_locations(self, table_key, location_cb, success_cb, failure_cb):
            self.location_cb = location_cb
            for key, (pv, _) in list(self.locations.items()):
                location_cb(key, pv)
            success_cb()
            return lambda: setattr(self, "location_cb", None)

        def subscribe_to_table_location_size(self, table_key, location_key, size_cb, success_cb, failure_cb):
            self.size_cbs[location_key] = size_cb
            size_cb(self.locations[location_key][1].num_rows)
            success_cb()
            return lambda: self.size_cbs.pop(location_key, None)

    return Key, LocKey, Backend


def fill(Backend, LocKey, rows, n_locs):
    per = rows // n_locs
    data0 = seed_data(per, 0)
    pschema = pa.schema([("Ticker", pa.string()), ("Exchange", pa.string())])
    be = Backend(data0.schema, pschema)
    for i in range(n_locs):
        be.add(LocKey(f"T{i:03d}:X"), pa.table({"Ticker": [f"T{i:03d}"], "Exchange": ["X"]}), seed_data(per, i))
    return be


def run_tabledata(rows, n_locs, samples):
    import tabledata as td
    Key, LocKey, Backend = make_backend(td)
    be = fill(Backend, LocKey, rows, n_locs)
    start = time.perf_counter()
    svc = td.TableDataService(be)
    t = svc.make_table(Key("sample"), refreshing=False)
    total = sum(pc.sum(b.column(0)).as_py() for b in t.to_batches(columns=["Long"]))
    scan = time.perf_counter() - start
    assert t.size == rows
    # refresh latency: size_cb (an append) to the listener, immediate cycles
    svc = td.TableDataService(be, update_period=0)
    live = svc.make_table(Key("sample"), refreshing=True)
    lat = latency(lambda fn: live.listen(lambda u: fn()), be, LocKey, samples)
    return scan, total, lat


def latency(listen, be, LocKey, samples):
    fired = threading.Event()
    handle = listen(fired.set)
    row = seed_data(1, 0)
    out = []
    for _ in range(samples):
        fired.clear()
        start = time.perf_counter()
        be.append(LocKey("T000:X"), row)
        if not fired.wait(10):
            raise RuntimeError("no update within 10 s")
        out.append(time.perf_counter() - start)
    del handle
    return statistics.median(out)


def run_deephaven(rows, n_locs, samples):
    from deephaven_server import Server
    Server(port=int(sys.argv[4]) if len(sys.argv) > 4 else 10777, jvm_args=["-Xmx6g"]).start()
    from deephaven import agg
    import deephaven.arrow as dharrow
    from deephaven.experimental import table_data_service as api
    from deephaven.table_listener import listen
    from deephaven.execution_context import get_exec_ctx

    Key, LocKey, Backend = make_backend(api)
    be = fill(Backend, LocKey, rows, n_locs)
    start = time.perf_counter()
    svc = api.TableDataService(be)
    t = svc.make_table(Key("sample"), refreshing=False)
    total = dharrow.to_arrow(t.view(["Long"]).agg_by(agg.sum_("Long"))).column(0)[0].as_py()
    scan = time.perf_counter() - start
    assert t.size == rows
    live = svc.make_table(Key("sample"), refreshing=True)
    ctx = get_exec_ctx()

    def appender(*a, **k):
        with ctx:
            return be.append(*a, **k)

    class Wrapped:
        def append(self, key, data):
            appender(key, data)

    lat = latency(lambda fn: listen(live, lambda update, is_replay: fn()), Wrapped(), LocKey, samples)
    return scan, total, lat


def main():
    rows = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000_000
    n_locs = int(sys.argv[2]) if len(sys.argv) > 2 else 100
    samples = int(sys.argv[3]) if len(sys.argv) > 3 else 5
    print(f"bench_deephaven: the seed's backend, {rows:,} rows in {n_locs} locations")
    ts, tt, tl = run_tabledata(rows, n_locs, samples)
    print(f"  tabledata: build + scan Long {ts:7.2f} s ({rows / ts / 1e6:7.1f} M rows/s), refresh latency "
          f"{tl * 1e3:8.2f} ms")
    ds, dt_, dl = run_deephaven(rows, n_locs, samples)
    assert dt_ == tt, (dt_, tt)
    print(f"  Deephaven: build + scan Long {ds:7.2f} s ({rows / ds / 1e6:7.1f} M rows/s), refresh latency "
          f"{dl * 1e3:8.2f} ms")
    print(f"  ratios: scan {ds / ts:.1f}x faster, refresh latency {dl / tl:.0f}x lower")


if __name__ == "__main__":
    main()
