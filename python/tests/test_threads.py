"""A backend answering from a thread pool after random delays (including the
initial answers of subscriptions, while the engine is inside the subscribe
call), and many Python reader threads: no deadlock, exact data."""
import threading
from concurrent.futures import ThreadPoolExecutor

import pyarrow as pa
import pyarrow.compute as pc

import tabledata as td
from conftest import Key, MemBackend, partition_values

N_LOCATIONS = 12
ROWS = 1000


def make_data(i, n=ROWS, start=0):
    return pa.table({"x": pa.array(range(start, start + n), pa.int64()),
                     "s": pa.array([f"{i}-{j}" for j in range(start, start + n)])})


def build(be):
    schema = pa.schema([("x", pa.int64()), ("s", pa.string())])
    be.add_table(Key("t"), schema, pa.schema([("P", pa.int32())]))
    for i in range(N_LOCATIONS):
        be.add_location(Key("t"), Key(f"loc{i:02d}"), make_data(i), partition_values(P=pa.scalar(i, pa.int32())))


def check_static(t):
    got = pa.table(t)
    assert got.num_rows == N_LOCATIONS * ROWS
    assert got.column("P").to_pylist() == [i for i in range(N_LOCATIONS) for _ in range(ROWS)]
    assert got.column("x").to_pylist() == list(range(ROWS)) * N_LOCATIONS
    assert got.column("s").to_pylist()[ROWS + 5] == "1-5"


def test_pool_backend_static_and_many_readers():
    with ThreadPoolExecutor(8) as pool:
        be = MemBackend(pool=pool, max_delay=0.003)
        build(be)
        svc = td.TableDataService(be, page_size=128)
        t = svc.make_table(Key("t"))
        errors = []

        def reader(k):
            try:
                for _ in range(3):
                    if k % 2:
                        check_static(t)
                    else:
                        begin = (k * 337) % (N_LOCATIONS * ROWS - 500)
                        part = t.to_arrow(columns=["x", "P"], rows=(begin, begin + 500))
                        assert part.column("x").to_pylist() == [(begin + j) % ROWS for j in range(500)]
            except Exception as e:  # noqa: BLE001
                errors.append(e)

        threads = [threading.Thread(target=reader, args=(k,)) for k in range(16)]
        for th in threads:
            th.start()
        for th in threads:
            th.join(120)
        assert not any(th.is_alive() for th in threads), "a reader thread is stuck"
        assert errors == []
        c = svc.counters
        # concurrent readers of a missing page cause one fetch: at most one fetch per page and column
        pages = N_LOCATIONS * ((ROWS + 127) // 128)
        assert c["calls"]["column_values"] <= 2 * pages
        del t


def test_pool_backend_refreshing_with_appends_and_readers():
    with ThreadPoolExecutor(8) as pool:
        be = MemBackend(pool=pool, max_delay=0.003)
        build(be)
        svc = td.TableDataService(be, page_size=256, update_period=0)
        t = svc.make_table(Key("t"), refreshing=True)
        assert t.size == N_LOCATIONS * ROWS
        stop = threading.Event()
        errors = []

        def reader():
            try:
                while not stop.is_set():
                    got = pa.table(t)
                    # every version is consistent: each location holds a prefix 0..n-1
                    by_p = {}
                    for p, x in zip(got.column("P").to_pylist(), got.column("x").to_pylist()):
                        by_p.setdefault(p, []).append(x)
                    for xs in by_p.values():
                        assert xs == list(range(len(xs)))
            except Exception as e:  # noqa: BLE001
                errors.append(e)

        readers = [threading.Thread(target=reader) for _ in range(4)]
        for th in readers:
            th.start()
        for rnd in range(5):
            for i in range(0, N_LOCATIONS, 3):
                be.append(Key("t"), Key(f"loc{i:02d}"), make_data(i, 100, ROWS + rnd * 100))
        be.add_location(Key("t"), Key("loc99"), make_data(99, 10), partition_values(P=pa.scalar(99, pa.int32())))
        total = N_LOCATIONS * ROWS + 4 * 5 * 100 + 10
        assert t.wait_for(size=total, timeout=60)
        stop.set()
        for th in readers:
            th.join(120)
        assert errors == []
        got = pa.table(t)
        assert got.num_rows == total
        assert got.column("P").to_pylist()[-10:] == [99] * 10
        assert sorted(got.filter(pc.equal(got.column("P"), 3)).column("x").to_pylist()) == list(
            range(ROWS + 500))
        del t
    # the last release unsubscribed everything
    assert be.subscriptions() == 0


def test_answer_from_thread_inside_subscribe_call():
    """The backend answers from another thread and waits for it inside subscribe."""

    class Waiting(MemBackend):
        def subscribe_to_table_location_size(self, table_key, lkey, size_cb, success_cb, failure_cb):
            done = threading.Event()

            def answer():
                size_cb(self.tables[table_key][2][lkey][1].num_rows)
                success_cb()
                done.set()

            threading.Thread(target=answer).start()
            assert done.wait(10)  # the engine is inside this call meanwhile
            return lambda: None

    be = Waiting()
    build(be)
    svc = td.TableDataService(be)
    t = svc.make_table(Key("t"), refreshing=True)
    assert t.size == N_LOCATIONS * ROWS
    check_static(t)
