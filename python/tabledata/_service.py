"""The seed's table data service API over the C engine.

``TableDataService(backend)`` creates a C service whose backend is a
``_Bridge``: the engine calls the bridge (from whatever thread it is on,
taking the GIL), the bridge calls the user's backend method with the seed's
callbacks, and those callbacks answer the engine's request (from any thread,
now or later).  Python keys become C keys by name: each distinct table key
gets a name, each distinct location key an identity string (str(key), made
unique), and the partition values it was announced with.
"""
from __future__ import annotations

import abc
import operator
import threading
import traceback
from typing import Any, Callable, Optional

import pyarrow as pa

from . import _tabledata as _td
from ._convert import to_batch, to_schema, values_batch
from ._table import _backend_calls


class TableKey:
    """Names one logical table.  Subclasses define ``__hash__`` and ``__eq__``
    (equal keys must hash equally); ``str(key)`` is used in messages."""


class TableLocationKey:
    """Names one location (partition) of a table.  Subclasses define
    ``__hash__`` and ``__eq__``; ``str(key)`` is used in messages."""


class NamedKey(TableKey, TableLocationKey):
    """A key named by one string, usable as a table key and as a location key:
    equal names are equal keys, and ``str(key)`` is the name."""

    __slots__ = ("name",)

    def __init__(self, name: str):
        self.name = name

    def __hash__(self):
        return hash(self.name)

    def __eq__(self, other):
        return isinstance(other, NamedKey) and self.name == other.name

    def __repr__(self):
        return f"NamedKey({self.name!r})"

    def __str__(self):
        return self.name


class TableDataServiceBackend(abc.ABC):
    """The six methods a data source implements.  Each answers through its
    callbacks, inside the call or later from any thread; each may answer
    ``failure_cb(message)`` instead.  A plain class with these methods works
    too (subclassing is not required)."""

    @abc.abstractmethod
    def table_schema(self, table_key: TableKey, schema_cb: Callable[[pa.Schema, Optional[pa.Schema]], None],
                     failure_cb: Callable[[str], None]) -> None:
        """Answer ``schema_cb(data_schema, partition_schema or None)``; a table whose locations may
        be removed answers ``schema_cb(data_schema, partition_schema, update_mode="add_remove")``
        (modes: "static", "append_only", "add_only" (the default), "add_remove")."""

    @abc.abstractmethod
    def table_locations(self, table_key: TableKey,
                        location_cb: Callable[[TableLocationKey, Optional[pa.Table]], None],
                        success_cb: Callable[[], None], failure_cb: Callable[[str], None]) -> None:
        """Answer ``location_cb(key, partition_values)`` per location, then ``success_cb()``."""

    @abc.abstractmethod
    def table_location_size(self, table_key: TableKey, table_location_key: TableLocationKey,
                            size_cb: Callable[[int], None], failure_cb: Callable[[str], None]) -> None:
        """Answer ``size_cb(rows)``."""

    @abc.abstractmethod
    def column_values(self, table_key: TableKey, table_location_key: TableLocationKey, col: str, offset: int,
                      min_rows: int, max_rows: int, values_cb: Callable[[pa.Table], None],
                      failure_cb: Callable[[str], None]) -> None:
        """Answer ``values_cb(data)`` with column ``col``, between min_rows and max_rows rows from ``offset``."""

    @abc.abstractmethod
    def subscribe_to_table_locations(self, table_key: TableKey,
                                     location_cb: Callable[[TableLocationKey, Optional[pa.Table]], None],
                                     success_cb: Callable[[], None],
                                     failure_cb: Callable[[str], None]) -> Callable[[], None]:
        """Send every existing location, ``success_cb()``, then new locations; return an unsubscribe callable.

        In an "add_remove" table (see ``table_schema``), ``location_cb.removed(key)`` removes a
        location this subscription sent: its rows leave the live tables in the next cycle."""

    @abc.abstractmethod
    def subscribe_to_table_location_size(self, table_key: TableKey, table_location_key: TableLocationKey,
                                         size_cb: Callable[[int], None], success_cb: Callable[[], None],
                                         failure_cb: Callable[[str], None]) -> Callable[[], None]:
        """Send the current size, ``success_cb()``, then each new size; return an unsubscribe callable."""


UPDATE_MODES = {"add_only": 0, "static": 1, "append_only": 2, "add_remove": 3}


class _LocationCallback:
    """``location_cb(key, partition_values=None)`` of a location subscription,
    with ``location_cb.removed(key)`` for add-remove tables."""

    def __init__(self, add, remove):
        self._add, self._remove = add, remove

    def __call__(self, key, partition_values=None):
        self._add(key, partition_values)

    def removed(self, key):
        self._remove(key)


_REQUIRED = ("table_schema", "table_locations", "table_location_size", "column_values")
_SUBSCRIBE = ("subscribe_to_table_locations", "subscribe_to_table_location_size")


# Exceptions raised by backend methods, by the failure text sent for them: an
# engine error whose message carries that text gets the exception as its
# __cause__ (the C layer looks here).  The last _CAUSES_KEPT are kept without
# their tracebacks, which become a note (text): a frame keeps the frames that
# called it, and so the bridge and the backend, alive.
_CAUSES: dict = {}
_CAUSES_KEPT = 64
_td._set_causes(_CAUSES)


def _remember_cause(text: str, exc: BaseException) -> None:
    tb = exc.__traceback__
    if tb is not None and tb.tb_next is not None and hasattr(exc, "add_note"):
        exc.add_note("Backend traceback (most recent call last):\n" + "".join(traceback.format_tb(tb.tb_next)))
    seen, e = set(), exc
    while e is not None and id(e) not in seen:  # the exception and those it was raised from
        seen.add(id(e))
        e.__traceback__ = None
        e = e.__cause__ or e.__context__
    _CAUSES.pop(text, None)
    _CAUSES[text] = exc
    while len(_CAUSES) > _CAUSES_KEPT:
        _CAUSES.pop(next(iter(_CAUSES)), None)


def cause_of(message: str) -> Optional[BaseException]:
    """The backend exception whose failure text ``message`` carries, if kept."""
    for text, exc in list(_CAUSES.items()):
        if text in message:
            return exc
    return None


def _rows(n) -> int:
    """A row count from size_cb: an int (or anything with __index__, as numpy ints),
    not a bool (``size_cb(key in locations)`` is a bug, not one row)."""
    try:
        if isinstance(n, bool):
            raise TypeError
        rows = operator.index(n)
    except TypeError:
        raise TypeError(f"size_cb takes the row count as an int, got {type(n).__name__} {n!r}") from None
    if not -(1 << 63) <= rows < 1 << 63:  # other negative sizes reach the engine, which refuses them
        raise OverflowError(f"size_cb takes a row count between 0 and 2**63 - 1, got {rows}")
    return rows


def _ms(seconds: Optional[float]) -> Optional[int]:
    return None if seconds is None else int(round(seconds * 1000))


class _Subscription:
    __slots__ = ("closed", "unsubscribe", "failed")

    def __init__(self):
        self.closed = False
        self.failed = False
        self.unsubscribe = None


class _Bridge:
    """The engine's view of a Python backend (called by the C vtable)."""

    def __init__(self, backend):
        self.backend = backend
        self.ref = None  # the service's answering handle, set by TableDataService
        self._lock = threading.Lock()
        self._tables: dict[str, Any] = {}  # name -> table key
        self._table_names: dict[Any, str] = {}
        self._locations: dict[str, Any] = {}  # identity -> location key
        self._identities: dict[Any, str] = {}
        self._schemas: dict[str, pa.Schema] = {}  # table name -> data schema
        self._pschemas: dict[str, pa.Schema] = {}  # table name -> partition schema
        self._unpartitioned: set = set()  # names of tables without a partition schema
        self._subs: dict[int, _Subscription] = {}
        self._pvs: dict[str, Any] = {}  # identity -> the partition values last answered

    # -- keys --
    @staticmethod
    def _intern(key, by_key: dict, by_name: dict) -> str:
        name = by_key.get(key)
        if name is None:
            base = str(key)
            name, n = base, 1
            while name in by_name:
                n += 1
                name = f"{base}#{n}"
            by_key[key] = name
            by_name[name] = key
        return name

    def table_name(self, key) -> str:
        with self._lock:
            return self._intern(key, self._table_names, self._tables)

    def location_identity(self, key) -> str:
        with self._lock:
            return self._intern(key, self._identities, self._locations)

    def location_key(self, identity: str):
        return self._locations.get(identity, identity)

    # -- answering --
    def _answer_location(self, req: int, table: str, key, partition_values) -> None:
        if isinstance(key, list):
            raise TypeError("location_cb takes (location_key, partition_values), not a list "
                            "(the seed example's table_locations bug)")
        ident = self.location_identity(key)
        if partition_values is None or table in self._unpartitioned:
            # a table without a partition schema ignores partition values (as Deephaven)
            self._pvs.pop(ident, None)
            _td.answer_location(self.ref, req, ident, None, None)
        else:
            batch = to_batch(partition_values, self._pschemas.get(table))
            self._pvs[ident] = batch  # a removal names the same key, values included
            s, a = batch.__arrow_c_array__()
            _td.answer_location(self.ref, req, ident, s, a)

    def _answer_removed(self, req: int, key) -> None:
        ident = self.location_identity(key)
        batch = self._pvs.get(ident)
        if batch is None:
            _td.answer_location_removed(self.ref, req, ident, None, None)
        else:
            s, a = batch.__arrow_c_array__()
            _td.answer_location_removed(self.ref, req, ident, s, a)

    def _fail(self, req: int, message) -> None:
        # any message reaches the engine: a NUL or a lone surrogate is escaped, not an encoding error
        text = str(message).replace("\0", "\\0").encode("utf-8", "backslashreplace").decode("utf-8")
        _td.answer_failure(self.ref, req, text)

    def _run(self, method: str, req: int, *args, fail: Optional[Callable] = None):
        """Calls the backend; an exception becomes a failure answer naming the method."""
        _backend_calls.depth = getattr(_backend_calls, "depth", 0) + 1
        try:
            return getattr(self.backend, method)(*args)
        except Exception as e:  # noqa: BLE001 - any backend error fails the request
            text = f"{method} raised {type(e).__name__}: {e}"
            _remember_cause(text, e)
            try:
                (fail or (lambda m: self._fail(req, m)))(text)
            except _td.TableDataError:
                pass  # answered already (for example by a callback that raised)
            return None
        finally:
            _backend_calls.depth -= 1

    # -- the six methods, as the C vtable calls them --
    def table_schema(self, req: int, table: str) -> None:
        def schema_cb(data_schema, partition_schema=None, update_mode="add_only"):
            if update_mode not in UPDATE_MODES:
                raise ValueError(f"update_mode must be one of {sorted(UPDATE_MODES)}, not {update_mode!r}")
            ds = to_schema(data_schema)
            ps = to_schema(partition_schema) if partition_schema is not None else None
            self._schemas[table] = ds
            if ps is not None:
                self._pschemas[table] = ps
            if ps is None:
                self._unpartitioned.add(table)
            else:
                self._unpartitioned.discard(table)
            _td.answer_schema(self.ref, req, ds.__arrow_c_schema__(),
                              ps.__arrow_c_schema__() if ps is not None else None, UPDATE_MODES[update_mode])

        self._run("table_schema", req, self._tables[table], schema_cb, lambda m: self._fail(req, m))

    def table_locations(self, req: int, table: str) -> None:
        self._run("table_locations", req, self._tables[table],
                  lambda key, pv=None: self._answer_location(req, table, key, pv),
                  lambda: _td.answer_success(self.ref, req), lambda m: self._fail(req, m))

    def table_location_size(self, req: int, table: str, location: str) -> None:
        self._run("table_location_size", req, self._tables[table], self._locations[location],
                  lambda n: _td.answer_size(self.ref, req, _rows(n)), lambda m: self._fail(req, m))

    def column_values(self, req: int, table: str, location: str, col: str, offset: int, min_rows: int,
                      max_rows: int) -> None:
        schema = self._schemas.get(table)
        expected = schema.field(col).type if schema is not None and col in schema.names else None

        def values_cb(values):
            s, a = values_batch(values, col, expected).__arrow_c_array__()
            _td.answer_values(self.ref, req, s, a)

        self._run("column_values", req, self._tables[table], self._locations[location], col, offset, min_rows,
                  max_rows, values_cb, lambda m: self._fail(req, m))

    def _subscribe(self, method: str, req: int, args: tuple, answer: Callable) -> None:
        sub = _Subscription()
        with self._lock:
            self._subs[req] = sub

        def guarded(fn):
            def cb(*a):
                if sub.closed:
                    return  # unsubscribed: nothing sent has any effect
                try:
                    fn(*a)
                except _td.StateError as e:
                    # Unsubscribed: the engine retires the request ("no longer
                    # pending", backend/answer.c), then calls unsubscribe (which
                    # sets `closed`); an answer in between does nothing either.
                    if not sub.closed and "is no longer pending" not in str(e):
                        raise

            return cb

        def failure_cb(message):
            if sub.closed:
                return
            sub.failed = True
            with self._lock:
                self._subs.pop(req, None)
            try:
                self._fail(req, message)
            except _td.StateError:
                pass

        if isinstance(answer, _LocationCallback):
            answer_cb = _LocationCallback(guarded(answer._add), guarded(answer._remove))
        else:
            answer_cb = guarded(answer)
        result = self._run(method, req, *args, answer_cb, guarded(lambda: _td.answer_success(self.ref, req)),
                           failure_cb, fail=failure_cb)
        with self._lock:
            sub.unsubscribe = result
            late = sub.closed  # unsubscribed while the method was still running
        if late and callable(result):
            result()

    def subscribe_to_table_locations(self, req: int, table: str) -> None:
        self._subscribe("subscribe_to_table_locations", req, (self._tables[table],),
                        _LocationCallback(lambda key, pv=None: self._answer_location(req, table, key, pv),
                                          lambda key: self._answer_removed(req, key)))

    def subscribe_to_table_location_size(self, req: int, table: str, location: str) -> None:
        self._subscribe("subscribe_to_table_location_size", req, (self._tables[table], self._locations[location]),
                        lambda n: _td.answer_size(self.ref, req, _rows(n)))

    def unsubscribe(self, req: int) -> None:
        with self._lock:
            sub = self._subs.pop(req, None)
            if sub is None:
                return
            sub.closed = True
            fn = sub.unsubscribe
        if callable(fn):
            fn()


class TableDataService:
    """Tables backed by a ``TableDataServiceBackend``.

    ``page_size``: rows per page (default 65,536); ``cache_bytes``: page cache
    budget (default 1 GiB); ``request_timeout``: seconds a backend request may
    take before it fails (default 30; None or <= 0: wait for ever);
    ``update_period``: seconds between update cycles of refreshing tables
    (default 1.0, as Deephaven; 0: a cycle as soon as changes arrive).
    """

    def __init__(self, backend, *, page_size: Optional[int] = None, cache_bytes: Optional[int] = None,
                 request_timeout: Optional[float] = 30.0, update_period: Optional[float] = None):
        missing = [m for m in _REQUIRED if not callable(getattr(backend, m, None))]
        if missing:
            raise TypeError(f"a backend needs the methods {', '.join(missing)} ({type(backend).__name__} lacks them)")
        self.backend = backend
        self._bridge = _Bridge(backend)
        timeout = _ms(request_timeout) if request_timeout is not None else 0
        self._native = _td.Service(self._bridge, page_size, cache_bytes, timeout, _ms(update_period))
        self._bridge.ref = self._native.ref

    def make_table(self, table_key: TableKey, *, refreshing: bool = False, where: Optional[str] = None):
        """A table of all locations of ``table_key`` (partition columns first).

        ``where``: a filter; its conditions on partition columns prune locations
        before they are sized, subscribed or read."""
        from ._table import Table, interruptible
        if refreshing:
            self._check_subscribe()
        name = self._bridge.table_name(table_key)
        return Table(interruptible(self._native.make_table, name, refreshing, where), self._bridge.location_key)

    def make_partitioned_table(self, table_key: TableKey, *, refreshing: bool = False):
        """A table with one row per location and a constituent table per location."""
        from ._table import PartitionedTable, interruptible
        if refreshing:
            self._check_subscribe()
        name = self._bridge.table_name(table_key)
        return PartitionedTable(interruptible(self._native.make_partitioned_table, name, refreshing), self._bridge.location_key,
                                lambda: self.make_table(table_key, refreshing=refreshing))

    def _check_subscribe(self):
        missing = [m for m in _SUBSCRIBE if not callable(getattr(self.backend, m, None))]
        if missing:
            raise TypeError(f"refreshing tables need the backend methods {', '.join(missing)}")

    @property
    def counters(self) -> dict:
        """The engine's counters: backend calls by method, rows received, cache, update cycles."""
        return self._native.counters()

    def errors(self) -> list:
        """Errors with no caller to return to (late or second answers...), oldest first; clears them."""
        return self._native.ref.errors()

    def flush(self, timeout: float = 30.0) -> None:
        """Runs an update cycle now and waits until every change received so far is applied."""
        self._native.flush(_ms(timeout))
