"""Python backend overhead: a cold scan (every page fetched from the backend)
of an int64 column, the backend written in Python (pyarrow slices, the seed's
way) against the same data served by the C in-memory backend, in one run.
Prints rows/s and the ratio (C / Python), for two page sizes.

usage: python bench/bench_python.py [locations] [rows per location] [repeats]
"""
import sys
import time

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

import tabledata as td
from tabledata import _tabledata


class PyBackend(td.TableDataServiceBackend):
    def __init__(self, schema, pschema, locations):
        self.schema, self.pschema = schema, pschema
        self.locations = {td.NamedKey(k): (pv, data) for k, pv, data in locations}

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

    def subscribe_to_table_locations(self, *a):
        raise NotImplementedError

    def subscribe_to_table_location_size(self, *a):
        raise NotImplementedError


def scan(table):
    total = 0
    for batch in table.to_batches(columns=["v"]):
        total += pc.sum(batch.column(0)).as_py() or 0
    return total


def best_of(repeats, make):
    best, result = float("inf"), None
    for _ in range(repeats):
        t = make()  # a new service each time: a cold cache
        start = time.perf_counter()
        result = scan(t)
        best = min(best, time.perf_counter() - start)
        del t
    return best, result


def main():
    n_locs = int(sys.argv[1]) if len(sys.argv) > 1 else 100
    rows = int(sys.argv[2]) if len(sys.argv) > 2 else 500_000
    repeats = int(sys.argv[3]) if len(sys.argv) > 3 else 3
    schema = pa.schema([("v", pa.int64())])
    pschema = pa.schema([("Part", pa.int32())])
    locations = []
    for i in range(n_locs):
        v = pa.array(np.arange(i * 7919, i * 7919 + rows, dtype=np.int64))
        locations.append((f"p{i:04d}", pa.table({"Part": pa.array([i], pa.int32())}), pa.table({"v": v})))
    total = n_locs * rows
    expect = sum(pc.sum(d["v"]).as_py() for _, _, d in locations)
    print(f"bench_python: cold scan of {total:,} int64 rows in {n_locs} locations, best of {repeats}")
    for page in (65536, 4096):
        def py_table():
            svc = td.TableDataService(PyBackend(schema, pschema, locations), page_size=page)
            return svc.make_table(td.NamedKey("bench"))

        def c_table():
            locs = []
            for k, pv, d in locations:
                ps, pa_ = pv.to_batches()[0].__arrow_c_array__()
                ds, da = d.to_batches()[0].__arrow_c_array__()
                locs.append((k, ps, pa_, ds, da))
            svc = _tabledata.memory_service("bench", schema.__arrow_c_schema__(), pschema.__arrow_c_schema__(),
                                            locs, page, None, 30000, None)
            return td.Table(svc.make_table("bench", False, None))

        tp, sp = best_of(repeats, py_table)
        tc, sc = best_of(repeats, c_table)
        assert sp == sc == expect, (sp, sc, expect)
        calls = n_locs * ((rows + page - 1) // page)
        print(f"  page {page:6d} rows ({calls:5d} column_values calls): Python backend {total / tp / 1e6:8.1f} M rows/s,"
              f" C backend {total / tc / 1e6:8.1f} M rows/s, ratio C/Python {tp / tc:5.2f}x"
              f" ({(tp - tc) / calls * 1e6:.0f} us per Python call)")


if __name__ == "__main__":
    main()
