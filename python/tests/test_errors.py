"""Contract violations and failures reachable from Python: each raises a
clear exception carrying the engine's message; exceptions inside backend
methods become failure answers naming the method; nothing crashes."""
import threading
import time

import pyarrow as pa
import pytest

import tabledata as td
from conftest import Key, MemBackend, partition_values

SCHEMA = pa.schema([("x", pa.int64())])


def one_location(cls=MemBackend, rows=10, **kw):
    be = cls(**kw)
    be.add_table(Key("t"), SCHEMA)
    be.add_location(Key("t"), Key("a"), pa.table({"x": pa.array(range(rows), pa.int64())}))
    return be


class Answers(MemBackend):
    """column_values answers with whatever `self.reply(col, offset, min, max)` gives."""

    reply = None

    def column_values(self, table_key, lkey, col, offset, min_rows, max_rows, values_cb, failure_cb):
        values_cb(self.reply(col, offset, min_rows, max_rows))


def test_wrong_type_is_a_contract_error():
    be = one_location(Answers)
    be.reply = lambda col, o, lo, hi: pa.table({"x": pa.array(range(o, o + hi), pa.int32())})
    t = td.TableDataService(be).make_table(Key("t"))
    with pytest.raises(td.ContractError) as e:
        t.to_arrow(rows=(0, 5))
    msg = str(e.value)
    assert "int64" in msg and "int32" in msg and "x" in msg and e.value.code == "TD_ECONTRACT"
    with pytest.raises(Exception, match="int32"):  # through the Arrow stream too
        pa.table(t)


@pytest.mark.parametrize("count", ["few", "many"])
def test_wrong_row_count_is_a_contract_error(count):
    be = one_location(Answers)
    be.reply = lambda col, o, lo, hi: pa.array(range(lo - 1 if count == "few" else hi + 1), pa.int64())
    t = td.TableDataService(be).make_table(Key("t"))
    with pytest.raises(td.ContractError, match="rows"):
        t.to_arrow(rows=(0, 10))


def test_wrong_column_name_is_a_contract_error():
    be = one_location(Answers)
    be.reply = lambda col, o, lo, hi: pa.table({"y": pa.array(range(hi), pa.int64())})
    t = td.TableDataService(be).make_table(Key("t"))
    with pytest.raises(td.ContractError):
        t.to_arrow()


def test_exception_in_backend_method_names_the_method():
    class Boom(MemBackend):
        def table_location_size(self, *a):
            raise ValueError("disk on fire")

    be = one_location(Boom)
    with pytest.raises(td.BackendError, match="table_location_size raised ValueError: disk on fire"):
        td.TableDataService(be).make_table(Key("t"))


def test_exception_in_column_values_names_the_method():
    class Boom(MemBackend):
        def column_values(self, *a):
            raise KeyError("x")

    t = td.TableDataService(one_location(Boom)).make_table(Key("t"))
    with pytest.raises(td.BackendError, match="column_values raised KeyError"):
        t.to_arrow()


def test_failure_cb_message_reaches_the_caller():
    be = one_location()
    with pytest.raises(td.BackendError, match="nope does not exist"):
        td.TableDataService(be).make_table(Key("nope"))


def test_second_answer_raises_state_error_in_the_backend():
    seen = []

    class Twice(MemBackend):
        def table_location_size(self, table_key, lkey, size_cb, failure_cb):
            size_cb(10)
            try:
                size_cb(11)
            except td.StateError as e:
                seen.append(str(e))

    t = td.TableDataService(one_location(Twice)).make_table(Key("t"))
    assert t.size == 10
    assert len(seen) == 1 and "table_location_size" in seen[0]


def test_request_timeout_names_the_method():
    class Silent(MemBackend):
        def column_values(self, *a):
            pass  # never answers

    svc = td.TableDataService(one_location(Silent), request_timeout=0.2)
    t = svc.make_table(Key("t"))
    with pytest.raises(td.RequestTimeoutError, match="column_values") as e:
        t.to_arrow()
    assert isinstance(e.value, TimeoutError)
    assert svc.counters["timeouts"] == 1


def test_late_answer_after_timeout_is_refused_not_a_crash():
    kept = []

    class Late(MemBackend):
        def column_values(self, table_key, lkey, col, offset, lo, hi, values_cb, failure_cb):
            kept.append(values_cb)

    svc = td.TableDataService(one_location(Late), request_timeout=0.1)
    t = svc.make_table(Key("t"))
    with pytest.raises(td.RequestTimeoutError):
        t.to_arrow()
    with pytest.raises(td.StateError):
        kept[0](pa.array(range(10), pa.int64()))
    assert any("column_values" in m for _, m in svc.errors())
    del t, svc
    import gc
    gc.collect()
    with pytest.raises(td.StateError):  # the service is gone: still refused, no crash
        kept[0](pa.array(range(10), pa.int64()))


def test_partitioned_location_without_values():
    be = MemBackend()
    be.add_table(Key("t"), SCHEMA, pa.schema([("P", pa.string())]))
    be.add_location(Key("t"), Key("a"), pa.table({"x": pa.array([1], pa.int64())}), None)
    with pytest.raises(td.TableDataError, match="partition"):
        td.TableDataService(be).make_table(Key("t"))


def test_partition_value_of_wrong_type():
    be = MemBackend()
    be.add_table(Key("t"), SCHEMA, pa.schema([("P", pa.string())]))
    be.add_location(Key("t"), Key("a"), pa.table({"x": pa.array([1], pa.int64())}), partition_values(P=5))
    with pytest.raises(td.TableDataError, match="P"):
        td.TableDataService(be).make_table(Key("t"))


def test_unsupported_type_names_the_column():
    be = MemBackend()
    be.add_table(Key("t"), pa.schema([("lst", pa.list_(pa.int32()))]))
    with pytest.raises(td.TableDataError, match="lst"):
        td.TableDataService(be).make_table(Key("t"))


def test_seed_table_locations_bug_is_reported():
    class SeedBug(MemBackend):
        def table_locations(self, table_key, location_cb, success_cb, failure_cb):
            for key, loc in self.tables[table_key][2].items():
                location_cb([key, loc[0]])
            success_cb()

    with pytest.raises(td.BackendError, match="table_locations raised TypeError: location_cb takes"):
        td.TableDataService(one_location(SeedBug)).make_table(Key("t"))


def test_smaller_size_is_reported_and_rows_stay():
    be = one_location()
    svc = td.TableDataService(be, update_period=0)
    t = svc.make_table(Key("t"), refreshing=True)
    (size_cb,) = be.size_subs[(Key("t"), Key("a"))]
    # A shrink breaks the contract the moment it arrives: the answer raises
    # with the C message, the table fails in the next cycle, its rows stay.
    with pytest.raises(td.ContractError, match="shrank from 10 to 5"):
        size_cb(5)
    svc.flush()
    assert t.size == 10
    assert t.is_failed


def test_subscription_failure_fails_the_table():
    be = one_location()
    svc = td.TableDataService(be, update_period=0)
    t = svc.make_table(Key("t"), refreshing=True)
    errors = []
    t.listen(lambda u: None, on_error=errors.append)
    (_, failure_cb), = be.loc_subs[Key("t")]
    failure_cb("feed lost")
    with pytest.raises(td.TableDataError, match="feed lost"):
        t.wait_for(version=100, timeout=10)
    assert t.is_failed
    assert errors and "feed lost" in str(errors[0])


def test_query_errors_carry_position():
    t = td.TableDataService(one_location()).make_table(Key("t"))
    with pytest.raises(td.QueryError) as e:
        t.where("x > ")
    assert e.value.position >= 0
    with pytest.raises(td.QueryError, match="nope"):
        t.where("nope = 1")
    with pytest.raises(KeyError):
        t.to_arrow(columns=["nope"])
    with pytest.raises(td.OutOfRangeError):
        t.to_arrow(rows=(5, 100))


def test_backend_checks():
    class NotABackend:
        def table_schema(self, *a):
            pass

    with pytest.raises(TypeError, match="table_locations"):
        td.TableDataService(NotABackend())

    class StaticOnly:  # a plain class, not a subclass: fine for static tables
        def __init__(self):
            self.be = one_location()

        def __getattr__(self, name):
            if name.startswith("subscribe"):
                raise AttributeError(name)
            return getattr(self.be, name)

    svc = td.TableDataService(StaticOnly())
    assert svc.make_table(Key("t")).size == 10
    with pytest.raises(TypeError, match="subscribe_to_table_locations"):
        svc.make_table(Key("t"), refreshing=True)


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_listener_exception_does_not_break_updates():
    be = one_location()
    svc = td.TableDataService(be, update_period=0)
    t = svc.make_table(Key("t"), refreshing=True)
    calls = []

    def bad(update):
        calls.append(update.version)
        raise RuntimeError("listener bug")

    t.listen(bad)
    be.append(Key("t"), Key("a"), pa.table({"x": pa.array([10], pa.int64())}))
    assert t.wait_for(size=11, timeout=10)
    be.append(Key("t"), Key("a"), pa.table({"x": pa.array([11], pa.int64())}))
    assert t.wait_for(size=12, timeout=10)
    svc.flush()
    assert len(calls) >= 2


def test_answer_of_wrong_kind_from_thread_does_not_crash():
    """Garbage from a backend thread: a TypeError in that thread, a failure for the request."""
    errors = []

    class Garbage(MemBackend):
        def column_values(self, table_key, lkey, col, offset, lo, hi, values_cb, failure_cb):
            def run():
                try:
                    values_cb("not arrow")
                except TypeError as e:
                    errors.append(e)
                    failure_cb(str(e))

            threading.Thread(target=run).start()

    t = td.TableDataService(one_location(Garbage)).make_table(Key("t"))
    with pytest.raises(td.BackendError, match="values_cb expects"):
        t.to_arrow()
    assert errors


def test_exception_in_subscribe_fails_make_table_and_forgets_the_subscription():
    class Boom(MemBackend):
        def subscribe_to_table_location_size(self, *a):
            raise RuntimeError("no feed")

    svc = td.TableDataService(one_location(Boom))
    with pytest.raises(td.BackendError, match="subscribe_to_table_location_size raised RuntimeError: no feed"):
        svc.make_table(Key("t"), refreshing=True)
    import gc
    gc.collect()
    assert list(svc._bridge._subs) == []  # the location subscription was unsubscribed, the failed one dropped
