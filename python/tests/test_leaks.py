"""Reference counting: 10,000 make/read/release cycles leave no Python
objects (tracemalloc), no C memory growth (RSS), no subscriptions, and the
service counters show each cycle did its calls."""
import gc
import os
import tracemalloc

import pyarrow as pa

import tabledata as td
from conftest import Key, MemBackend, partition_values

CYCLES = 10_000


def rss_kb():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4


def backend():
    be = MemBackend()
    be.add_table(Key("t"), pa.schema([("x", pa.int64()), ("s", pa.string())]), pa.schema([("P", pa.string())]))
    for p in ("a", "b"):
        be.add_location(Key("t"), Key(p), pa.table({"x": pa.array(range(50), pa.int64()),
                                                    "s": [str(i) for i in range(50)]}), partition_values(P=p))
    return be


def cycle(svc, refreshing, i):
    t = svc.make_table(Key("t"), refreshing=refreshing)
    assert t.size == 100
    if i % 10 == 0:
        assert t.to_arrow(columns=["x"], rows=(40, 60)).column("x").to_pylist()[:2] == [40, 41]
        w = t.where("x > 45")
        assert len(w) == 8
        lst = t.listen(lambda u: None) if refreshing else None
        if lst:
            lst.remove()
    del t


def run(refreshing, cycles):
    be = backend()
    svc = td.TableDataService(be, update_period=0)
    for i in range(200):  # warm up caches, interned keys, allocator pools
        cycle(svc, refreshing, i)
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.take_snapshot()
    rss0 = rss_kb()
    for i in range(cycles):
        cycle(svc, refreshing, i)
    gc.collect()
    after = tracemalloc.take_snapshot()
    tracemalloc.stop()
    grown = sum(s.size_diff for s in after.compare_to(before, "filename") if s.size_diff > 0)
    assert grown < 200_000, [str(s) for s in after.compare_to(before, "lineno")[:10]]
    if not os.environ.get("TD_PY_SANITIZED"):  # ASan's quarantine holds freed memory
        assert rss_kb() - rss0 < 20_000  # KiB
    c = svc.counters
    assert c["calls"]["table_schema"] == 1  # one provider per key, shared
    if refreshing:
        assert be.subscriptions() == 0 and svc._bridge._subs == {}
    else:
        assert c["calls"]["table_locations"] == cycles + 200
    assert c["cache_pages"] <= 8
    return svc


def test_static_make_release_cycles():
    run(False, CYCLES)


def test_refreshing_make_release_cycles():
    svc = run(True, CYCLES)
    c = svc.counters["calls"]
    # every subscription made was unsubscribed
    assert c["unsubscribe"] == c["subscribe_to_table_locations"] + c["subscribe_to_table_location_size"]


def test_service_released_with_its_tables():
    import weakref
    be = backend()
    svc = td.TableDataService(be, update_period=0)
    t = svc.make_table(Key("t"), refreshing=True)
    ref = weakref.ref(be)
    del svc, be
    gc.collect()
    assert ref() is not None  # the table keeps the service and its backend
    assert t.size == 100
    del t
    gc.collect()
    assert ref() is None
