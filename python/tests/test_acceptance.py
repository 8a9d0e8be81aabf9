"""Acceptance checks written as a Python user would: the seed's promises
(a backend class with the six methods; static, refreshing and partitioned
tables; partition columns from keys; lazy, paged column fetches;
subscriptions and listeners), the Arrow PyCapsule interface as specified
(capsule names, move/release rules, schema requests, pyarrow, Polars and
DuckDB consumers, zero copy, streams read twice, from other threads, and
over one version), and adversarial backends (exceptions with their
__cause__, wrong types, re-entrant calls, blocking) and reference cycles."""
import ctypes
import gc
import threading
import time
import weakref
from concurrent.futures import ThreadPoolExecutor

import pyarrow as pa
import pytest

import tabledata as td
from conftest import Key, MemBackend, partition_values

SCHEMA = pa.schema([("x", pa.int64()), ("s", pa.string())])
PSCHEMA = pa.schema([("P", pa.string())])


def rows(start, n):
    return pa.table({"x": pa.array(range(start, start + n), pa.int64()),
                     "s": pa.array([f"s{i}" for i in range(start, start + n)], pa.string())})


class Recording(MemBackend):
    """MemBackend that records every column_values request (table, location, col, offset, min, max)."""

    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        self.requests = []
        self.sized = []

    def column_values(self, table_key, lkey, col, offset, min_rows, max_rows, values_cb, failure_cb):
        with self.lock:
            self.requests.append((str(lkey), col, offset, min_rows, max_rows))
        super().column_values(table_key, lkey, col, offset, min_rows, max_rows, values_cb, failure_cb)

    def table_location_size(self, table_key, lkey, size_cb, failure_cb):
        self.sized.append(str(lkey))
        super().table_location_size(table_key, lkey, size_cb, failure_cb)

    def subscribe_to_table_location_size(self, table_key, lkey, size_cb, success_cb, failure_cb):
        self.sized.append(str(lkey))
        return super().subscribe_to_table_location_size(table_key, lkey, size_cb, success_cb, failure_cb)


def partitioned(cls=Recording, locs=(("b", 5), ("a", 3)), **kw):
    be = cls(**kw)
    be.add_table(Key("t"), SCHEMA, PSCHEMA)
    for p, n in locs:
        be.add_location(Key("t"), Key(p), rows(0, n), partition_values(P=p))
    return be


capsule_name = ctypes.pythonapi.PyCapsule_GetName
capsule_name.restype = ctypes.c_char_p
capsule_name.argtypes = [ctypes.py_object]


class Holder:
    """Hands one stream capsule to a consumer (pa.RecordBatchReader.from_stream)."""

    def __init__(self, cap):
        self.cap = cap

    def __arrow_c_stream__(self, requested_schema=None):
        return self.cap


# ---------------------------------------------------------------- the seed


class SeedKey(td.TableKey):
    """The seed's key classes, as a user writes them (hash and eq by value)."""

    def __init__(self, key):
        self.key = key

    def __hash__(self):
        return hash(self.key)

    def __eq__(self, other):
        if not isinstance(other, SeedKey):
            return NotImplemented
        return self.key == other.key

    def __str__(self):
        return f"SeedKey{{{self.key}}}"


class SeedLocationKey(SeedKey, td.TableLocationKey):
    pass


def test_nothing_is_read_until_a_query_needs_it_and_only_its_columns():
    be = partitioned()
    t = td.TableDataService(be, page_size=2).make_table(Key("t"))
    assert t.size == 8 and be.requests == []  # sizes only
    assert t.column_names == ["P", "x", "s"]  # partition columns first
    got = t.to_arrow(columns=["x"])
    assert got.column("x").to_pylist() == [0, 1, 2, 0, 1, 2, 3, 4]  # locations in key order: a, b
    assert {r[1] for r in be.requests} == {"x"}  # not "s", and never the partition column "P"
    # pages of 2 rows: offset p*2, min_rows = rows left in the page, max_rows 2
    assert sorted(r for r in be.requests if r[0] == "a") == [("a", "x", 0, 2, 2), ("a", "x", 2, 1, 2)]
    n = len(be.requests)
    assert t.to_arrow(columns=["x"]).num_rows == 8 and len(be.requests) == n  # cached
    assert t.to_arrow(columns=["P"]).column("P").to_pylist() == ["a"] * 3 + ["b"] * 5
    assert len(be.requests) == n  # partition values come from the keys


def test_growing_location_fetches_only_the_missing_suffix():
    be = partitioned(locs=(("a", 3),))
    svc = td.TableDataService(be, page_size=4, update_period=0)
    t = svc.make_table(Key("t"), refreshing=True)
    assert t.to_arrow(columns=["x"]).num_rows == 3
    be.requests.clear()
    be.append(Key("t"), Key("a"), rows(3, 3))  # 6 rows: page 0 gets row 3, page 1 rows 4-5
    assert t.wait_for(size=6, timeout=10)
    assert t.to_arrow(columns=["x"]).column("x").to_pylist() == list(range(6))
    assert sorted(be.requests) == [("a", "x", 3, 1, 1), ("a", "x", 4, 2, 4)]


def test_partition_filter_prunes_before_sizing():
    be = partitioned()
    t = td.TableDataService(be).make_table(Key("t"), where="P = 'b'")
    assert t.size == 5 and be.sized == ["b"]
    assert set(pa.table(t).column("P").to_pylist()) == {"b"}
    assert {r[0] for r in be.requests} == {"b"}


def test_equal_keys_share_one_location_provider_and_seed_key_classes_work():
    be = MemBackend()
    be.add_table(SeedKey("t"), SCHEMA, PSCHEMA)
    be.add_location(SeedKey("t"), SeedLocationKey("GOOG"), rows(0, 2), partition_values(P="GOOG"))
    svc = td.TableDataService(be, update_period=0)
    t1 = svc.make_table(SeedKey("t"), refreshing=True)
    t2 = svc.make_table(SeedKey("t"), refreshing=True)  # an equal, distinct key object
    assert be.calls["table_schema"] == 1 and be.calls["subscribe_to_table_locations"] == 1
    assert t1.locations() == [SeedLocationKey("GOOG")]
    be.add_location(SeedKey("t"), SeedLocationKey("AAPL"), rows(0, 1), partition_values(P="AAPL"))
    assert t1.wait_for(size=3, timeout=10) and t2.wait_for(size=3, timeout=10)
    # the new location comes after the earlier ones, whatever its key
    assert pa.table(t2).column("P").to_pylist() == ["GOOG", "GOOG", "AAPL"]
    assert t2.locations()[-1] == SeedLocationKey("AAPL")


def test_zero_size_location_and_duplicate_location():
    be = partitioned(locs=(("a", 0),))
    svc = td.TableDataService(be, update_period=0)
    t = svc.make_table(Key("t"), refreshing=True)
    assert t.size == 0 and t.locations() == [Key("a")]
    (loc_cb, _), = be.loc_subs[Key("t")]
    loc_cb(Key("a"), partition_values(P="a"))  # the same location again: ignored
    be.append(Key("t"), Key("a"), rows(0, 2))
    assert t.wait_for(size=2, timeout=10)
    svc.flush()
    assert t.size == 2 and t.locations() == [Key("a")]


def test_listener_hears_added_rows_and_new_locations_then_unsubscribe_on_release():
    be = partitioned(cls=MemBackend, locs=(("a", 2),))
    svc = td.TableDataService(be, update_period=0)
    t = svc.make_table(Key("t"), refreshing=True)
    assert be.subscriptions() == 2  # locations + one size
    updates = []
    lst = t.listen(updates.append, rows=True)
    be.append(Key("t"), Key("a"), rows(2, 3))
    be.add_location(Key("t"), Key("c"), rows(0, 1), partition_values(P="c"))
    assert t.wait_for(size=6, timeout=10)
    svc.flush()
    assert sum(u.rows.num_rows for u in updates) == 4
    assert [k for u in updates for k in u.new_locations] == [Key("c")]
    spans = sorted((str(a.location), a.first_row, a.end_row) for u in updates for a in u.added)
    assert spans == [("a", 2, 5), ("c", 0, 1)]
    lst.remove()
    del t, lst
    gc.collect()
    assert be.subscriptions() == 0  # the last release unsubscribed everything


def test_stale_callbacks_after_unsubscribe_have_no_effect():
    be = partitioned(cls=MemBackend, locs=(("a", 2),))
    svc = td.TableDataService(be, update_period=0)
    t = svc.make_table(Key("t"), refreshing=True)
    (size_cb,) = be.size_subs[(Key("t"), Key("a"))]
    (loc_cb, failure_cb), = be.loc_subs[Key("t")]
    del t
    gc.collect()
    size_cb(100)  # nothing happens, no exception
    loc_cb(Key("z"), partition_values(P="z"))
    failure_cb("late")
    t = svc.make_table(Key("t"), refreshing=True)
    assert t.size == 2 and not t.is_failed


def test_null_partition_values_and_all_null_answers_as_users_write_them():
    """pa.table({"P": [None]}) has Arrow's null type: a null of the declared type;
    so is an all-null column answer (a Polars Series of None has dtype Null)."""
    class Nulls(MemBackend):
        def column_values(self, table_key, lkey, col, offset, min_rows, max_rows, values_cb, failure_cb):
            values_cb(pa.nulls(max_rows) if col == "s" else pa.array(range(offset, offset + max_rows), pa.int64()))

    be = Nulls()
    be.add_table(Key("t"), SCHEMA, pa.schema([("P", pa.string()), ("Q", pa.int32())]))
    be.add_location(Key("t"), Key("a"), rows(0, 2), pa.table({"P": [None], "Q": [None]}))
    be.add_location(Key("t"), Key("b"), rows(0, 1), pa.table({"P": ["b"], "Q": pa.array([7], pa.int32())}))
    got = pa.table(td.TableDataService(be).make_table(Key("t")))
    assert got.schema.field("P").type == pa.string() and got.schema.field("s").type == pa.string()
    assert got.to_pydict() == {"P": [None, None, "b"], "Q": [None, None, 7], "x": [0, 1, 0], "s": [None] * 3}


# ------------------------------------------------------ the PyCapsule interface


def test_capsule_names_and_schema():
    t = td.TableDataService(partitioned()).make_table(Key("t"))
    assert capsule_name(t.__arrow_c_stream__()) == b"arrow_array_stream"
    assert capsule_name(t.__arrow_c_schema__()) == b"arrow_schema"
    assert pa.schema(t) == pa.schema([("P", pa.string()), ("x", pa.int64()), ("s", pa.string())])
    assert not hasattr(t, "__arrow_c_array__")  # a table is a stream of pages, not one array


def test_unconsumed_stream_capsule_releases_its_stream():
    be = partitioned(cls=MemBackend)
    svc = td.TableDataService(be, update_period=0)
    t = svc.make_table(Key("t"), refreshing=True)
    cap = t.__arrow_c_stream__()
    ref = weakref.ref(be)
    del t, svc, be
    gc.collect()
    assert ref() is not None  # the stream holds the table, and so the service and its backend
    assert ref().subscriptions() == 3  # locations, and the size of each of the two
    del cap  # never consumed: its destructor releases the stream
    gc.collect()
    assert ref() is None


def test_moved_stream_capsule_is_not_released_again():
    t = td.TableDataService(partitioned(), page_size=2).make_table(Key("t"))
    cap = t.__arrow_c_stream__()
    reader = pa.RecordBatchReader.from_stream(Holder(cap))  # pyarrow moves the struct out
    del cap
    gc.collect()  # the capsule's destructor sees a released struct: no second release
    assert reader.read_all().num_rows == 8
    cap = t.__arrow_c_stream__()
    pa.RecordBatchReader.from_stream(Holder(cap)).close()
    with pytest.raises(pa.ArrowInvalid, match="released"):  # a capsule consumed twice: an error, not a crash
        pa.RecordBatchReader.from_stream(Holder(cap))


def test_schema_capsule_round_trip_into_answers():
    """Capsules given to the engine by a backend (schemas, values) are moved, once."""
    class Caps(MemBackend):
        def table_schema(self, table_key, schema_cb, failure_cb):
            schema_cb(type("S", (), {"__arrow_c_schema__": lambda self: SCHEMA.__arrow_c_schema__()})(), None)

    be = Caps()
    be.add_table(Key("t"), SCHEMA)
    be.add_location(Key("t"), Key("a"), rows(0, 4))
    t = td.TableDataService(be).make_table(Key("t"))
    assert pa.table(t).equals(rows(0, 4))


def test_requested_schema_is_honoured():
    t = td.TableDataService(partitioned(), page_size=2).make_table(Key("t"))
    same = pa.RecordBatchReader.from_stream(t, schema=t.schema)
    assert same.schema == t.schema and same.read_all().num_rows == 8
    large = pa.schema([("P", pa.large_string()), ("x", pa.int64()), ("s", pa.large_string())])
    got = pa.RecordBatchReader.from_stream(t, schema=large)
    assert got.schema == large
    assert got.read_all().column("s").to_pylist()[:3] == ["s0", "s1", "s2"]
    assert pa.table(t, schema=large).schema == large
    with pytest.raises(ValueError, match="requested schema"):  # other fields: not a representation
        t.__arrow_c_stream__(pa.schema([("x", pa.int64())]).__arrow_c_schema__())


def test_partitioned_table_is_an_arrow_stream_too():
    pt = td.TableDataService(partitioned()).make_partitioned_table(Key("t"))
    assert pa.table(pt).select(["P"]).to_pydict() == {"P": ["a", "b"]}
    assert pa.schema(pt).names[0] == "P"
    duckdb = pytest.importorskip("duckdb")
    assert duckdb.sql("select count(*) from pt").fetchall() == [(2,)]


def test_zero_copy_from_a_python_backend():
    data = pa.table({"x": pa.array(range(1000), pa.int64())})
    be = MemBackend()
    be.add_table(Key("t"), data.schema)
    be.add_location(Key("t"), Key("a"), data)
    t = td.TableDataService(be).make_table(Key("t"))
    src = data.column("x").chunk(0).buffers()[1].address
    assert [c.buffers()[1].address for c in pa.table(t).column("x").chunks] == [src]
    pl = pytest.importorskip("polars")
    assert pl.DataFrame(t)["x"].to_list() == list(range(1000))


def test_zero_copy_from_the_memory_backend():
    """The C memory backend's pages reach pyarrow at the buffer addresses they were added with."""
    from tabledata import _tabledata
    data = pa.record_batch({"x": pa.array(range(300), pa.int64())})
    addr = data.column(0).buffers()[1].address
    ds, da = data.__arrow_c_array__()
    svc = _tabledata.memory_service("m", data.schema.__arrow_c_schema__(), None, [("a", None, None, ds, da)],
                                    100, None, 30000, None)
    t = td.Table(svc.make_table("m", False, None))
    chunks = pa.table(t).column("x").chunks
    assert [(c.buffers()[1].address, c.offset) for c in chunks] == [(addr, 0), (addr, 100), (addr, 200)]
    assert pa.table(t).column("x").to_pylist() == list(range(300))


def test_stream_read_twice_and_from_another_thread():
    with ThreadPoolExecutor(4) as pool:
        be = partitioned(pool=pool)
        t = td.TableDataService(be, page_size=2).make_table(Key("t"))
        first = pa.table(t)
        assert pa.table(t).equals(first)  # each __arrow_c_stream__ is a new stream
        cap = t.__arrow_c_stream__()
        out = []

        def consume():
            out.append(pa.RecordBatchReader.from_stream(Holder(cap)).read_all())

        th = threading.Thread(target=consume)
        th.start()
        th.join(60)
        assert not th.is_alive() and out[0].equals(first)


def test_duckdb_threads_read_a_python_backend():
    duckdb = pytest.importorskip("duckdb")
    with ThreadPoolExecutor(4) as pool:
        be = MemBackend(pool=pool, max_delay=0.001)
        be.add_table(Key("t"), SCHEMA, PSCHEMA)
        for p in "abcdefgh":
            be.add_location(Key("t"), Key(p), rows(0, 3000), partition_values(P=p))
        t = td.TableDataService(be, page_size=512).make_table(Key("t"))
        con = duckdb.connect()
        con.execute("SET threads TO 4")
        got = con.execute("select P, count(*), sum(x) from t group by P order by P").fetchall()
        assert got == [(p, 3000, 2999 * 3000 // 2) for p in "abcdefgh"]


def test_stream_is_a_snapshot_of_one_version():
    be = partitioned(cls=MemBackend, locs=(("a", 3),))
    svc = td.TableDataService(be, page_size=4, update_period=0)
    t = svc.make_table(Key("t"), refreshing=True)
    cap = t.__arrow_c_stream__()
    be.append(Key("t"), Key("a"), rows(3, 5))
    be.add_location(Key("t"), Key("b"), rows(0, 2), partition_values(P="b"))
    assert t.wait_for(size=10, timeout=10)
    old = pa.RecordBatchReader.from_stream(Holder(cap)).read_all()
    assert old.column("x").to_pylist() == [0, 1, 2]  # the version current when the stream was made
    assert pa.table(t).column("x").to_pylist() == list(range(8)) + [0, 1]


# ------------------------------------------------------ adversarial backends


def test_backend_exception_is_the_cause():
    class Boom(MemBackend):
        def table_location_size(self, table_key, lkey, size_cb, failure_cb):
            raise ValueError("disk on fire")

    be = partitioned(cls=Boom)
    with pytest.raises(td.BackendError, match="disk on fire") as e:
        td.TableDataService(be).make_table(Key("t"))
    cause = e.value.__cause__
    assert isinstance(cause, ValueError) and str(cause) == "disk on fire"
    if hasattr(cause, "add_note"):  # Python 3.11: the backend's traceback as a note
        assert "in table_location_size" in cause.__notes__[-1]

    class BoomValues(MemBackend):
        def column_values(self, *a):
            raise KeyError("no column here")

    t = td.TableDataService(partitioned(cls=BoomValues)).make_table(Key("t"))
    with pytest.raises(td.BackendError, match="column_values raised KeyError") as e:
        t.to_arrow()
    assert isinstance(e.value.__cause__, KeyError)


def test_subscription_exception_is_the_cause_for_listeners():
    be = partitioned(cls=MemBackend, locs=(("a", 1),))
    svc = td.TableDataService(be, update_period=0)

    t = svc.make_table(Key("t"), refreshing=True)
    errors = []
    t.listen(lambda u: None, on_error=errors.append)

    def bad_location(*a):
        raise RuntimeError("feed exploded")

    be.subscribe_to_table_location_size = bad_location
    be.add_location(Key("t"), Key("b"), rows(0, 1), partition_values(P="b"))
    deadline = time.monotonic() + 10
    while not errors and time.monotonic() < deadline:
        time.sleep(0.01)
    assert errors and "feed exploded" in str(errors[0])
    assert isinstance(errors[0].__cause__, RuntimeError)


def test_backend_freed_after_its_exception():
    class Boom(MemBackend):
        def table_location_size(self, *a):
            raise ValueError("gone")

    be = partitioned(cls=Boom)
    ref = weakref.ref(be)
    svc = td.TableDataService(be)
    with pytest.raises(td.BackendError):
        svc.make_table(Key("t"))
    del svc, be
    gc.collect()
    assert ref() is None


@pytest.mark.parametrize("size", [9.7, "12", None])
def test_size_of_wrong_type_is_refused(size):
    class Odd(MemBackend):
        def table_location_size(self, table_key, lkey, size_cb, failure_cb):
            size_cb(size)

    with pytest.raises(td.BackendError, match="size_cb takes the row count as an int"):
        td.TableDataService(partitioned(cls=Odd)).make_table(Key("t"))


def test_numpy_sizes_are_accepted():
    np = pytest.importorskip("numpy")

    class Np(MemBackend):
        def table_location_size(self, table_key, lkey, size_cb, failure_cb):
            size_cb(np.int64(self.tables[table_key][2][lkey][1].num_rows))

    assert td.TableDataService(partitioned(cls=Np)).make_table(Key("t")).size == 8


def test_values_of_wrong_shape_say_what_was_expected():
    class Wrong(MemBackend):
        reply = None

        def column_values(self, table_key, lkey, col, offset, min_rows, max_rows, values_cb, failure_cb):
            values_cb(self.reply(max_rows))

    be = partitioned(cls=Wrong)
    t = td.TableDataService(be).make_table(Key("t"))
    be.reply = lambda n: pa.table({"x": pa.array(range(n), pa.int64()), "y": pa.array(range(n), pa.int64())})
    with pytest.raises(td.ContractError, match="expected exactly one column 'x', got 2 columns"):
        t.to_arrow(columns=["x"])
    be.reply = lambda n: pa.array([str(i) for i in range(n)])
    with pytest.raises(td.ContractError) as e:
        t.to_arrow(columns=["x"])
    assert "int64" in str(e.value) and "offset 0" in str(e.value)


def test_reentrant_calls_from_backend_methods():
    """A backend method may make and read other tables of its own service."""
    class Reentrant(MemBackend):
        svc = None

        def table_location_size(self, table_key, lkey, size_cb, failure_cb):
            if table_key == Key("t"):
                other = self.svc.make_table(Key("u"))
                size_cb(other.to_arrow(columns=["x"]).num_rows)
            else:
                super().table_location_size(table_key, lkey, size_cb, failure_cb)

        def column_values(self, table_key, lkey, col, offset, min_rows, max_rows, values_cb, failure_cb):
            if table_key == Key("t"):
                other = self.svc.make_table(Key("u"))
                values_cb(other.to_arrow(columns=[col]).column(col).slice(offset, max_rows))
            else:
                super().column_values(table_key, lkey, col, offset, min_rows, max_rows, values_cb, failure_cb)

    be = Reentrant()
    for k in ("t", "u"):
        be.add_table(Key(k), SCHEMA)
        be.add_location(Key(k), Key("a"), rows(0, 5))
    be.svc = td.TableDataService(be, request_timeout=20)
    t = be.svc.make_table(Key("t"))
    assert t.size == 5
    assert pa.table(t).equals(rows(0, 5))


def test_listener_may_read_remove_itself_but_not_flush():
    be = partitioned(cls=MemBackend, locs=(("a", 1),))
    svc = td.TableDataService(be, update_period=0)
    t = svc.make_table(Key("t"), refreshing=True)
    seen = []
    handle = []

    def listener(update):
        seen.append(t.to_arrow(columns=["x"]).num_rows)
        try:
            svc.flush(1)
        except td.StateError as e:  # would wait for itself
            seen.append(str(e))
        handle[0].remove()

    handle.append(t.listen(listener))
    be.append(Key("t"), Key("a"), rows(1, 1))
    assert t.wait_for(size=2, timeout=10)
    be.append(Key("t"), Key("a"), rows(2, 1))
    assert t.wait_for(size=3, timeout=10)
    svc.flush()
    assert seen[0] == 2 and "inside a listener" in seen[1] and len(seen) == 2


def test_listener_may_make_tables_query_and_feed_the_backend():
    """From the update thread: make_table, a derived table, and appends that cause further cycles."""
    be = partitioned(cls=MemBackend, locs=(("a", 1),))
    be.add_table(Key("u"), SCHEMA)
    be.add_location(Key("u"), Key("a"), rows(0, 4))
    svc = td.TableDataService(be, update_period=0, request_timeout=10)
    t = svc.make_table(Key("t"), refreshing=True)
    seen = []

    def listener(update):
        seen.append((svc.make_table(Key("u"), refreshing=True).size, t.where("x >= 0").size))
        if len(seen) < 4:
            be.append(Key("t"), Key("a"), rows(len(seen), 1))

    lst = t.listen(listener)
    be.append(Key("t"), Key("a"), rows(1, 1))
    assert t.wait_for(size=5, timeout=10)
    svc.flush()
    lst.remove()
    assert [u for u, _ in seen] == [4] * 4 and [n for _, n in seen] == [2, 3, 4, 5]


def test_blocking_backend_times_out_through_every_consumer():
    class Stuck(MemBackend):
        def column_values(self, *a):
            threading.Event().wait(0.01)  # returns without answering

    t = td.TableDataService(partitioned(cls=Stuck), request_timeout=0.2).make_table(Key("t"))
    with pytest.raises(td.RequestTimeoutError, match="column_values"):
        t.to_arrow()
    with pytest.raises(OSError, match="column_values"):  # pyarrow reports stream errors as OSError
        pa.table(t)


def test_non_callable_unsubscribe_is_ignored():
    class NoUnsub(MemBackend):
        def subscribe_to_table_locations(self, *a):
            super().subscribe_to_table_locations(*a)
            return None

    svc = td.TableDataService(partitioned(cls=NoUnsub), update_period=0)
    t = svc.make_table(Key("t"), refreshing=True)
    assert t.size == 8
    del t
    gc.collect()
    assert svc.make_table(Key("t"), refreshing=True).size == 8


# ------------------------------------------------------ cycles and leaks


def test_listener_referring_to_its_table_does_not_leak():
    """A listener whose closure holds its own table is a cycle the collector frees."""
    be = partitioned(cls=MemBackend)
    svc = td.TableDataService(be, update_period=0)

    def make():
        t = svc.make_table(Key("t"), refreshing=True)
        t.listen(lambda update: t.size)
        pt = svc.make_partitioned_table(Key("t"), refreshing=True)
        pt.listen(lambda update: pt.size)
        return weakref.ref(t), weakref.ref(pt)

    refs = make()
    gc.collect()
    assert [r() for r in refs] == [None, None]
    assert be.subscriptions() == 0


def test_backend_answering_from_threads_after_the_table_is_gone():
    with ThreadPoolExecutor(4) as pool:
        be = partitioned(cls=MemBackend, pool=pool, max_delay=0.02)
        svc = td.TableDataService(be, update_period=0)
        for _ in range(20):
            t = svc.make_table(Key("t"), refreshing=True)
            be.append(Key("t"), Key("a"), rows(100, 1))
            del t
        gc.collect()
    ref = weakref.ref(be)
    del svc, be
    gc.collect()
    assert ref() is None
