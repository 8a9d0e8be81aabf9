"""Deephaven's own tests of its table data service
(deephaven-core py/server/tests/test_table_data_service.py), ported to
tabledata: each test below is named after the original and checks the same
behaviour; the backend is re-expressed (same protocol: one new ticker per
location announcement, threads that add locations and grow sizes every
0.1 s, optional failures).

Differences, each noted at its test:
- Deephaven's `table.columns` equal `dharrow.to_table(pa_table).columns`; here
  columns are compared with Column(name, Arrow type, column type) built from
  the same pyarrow schema.
- `PartitionedTable.merge()` here is a new table of the same key, so a static
  merge lists the locations once more (Deephaven reuses the constituents).
- A subscription that fails before its initial answers are complete fails
  make_table itself (Deephaven builds the table and fails it later).
- A liveness scope does not release tables here: dropping the last Python
  reference does (the port drops it inside the scope).
"""
import threading
import time
from typing import Optional

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

import tabledata as td
from tabledata.compat import (bool_col, byte_col, char_col, double_col, datetime_col, float_col, int_col,
                              long_col, new_table, short_col, string_col, liveness_scope)

TICKERS = ["AAPL", "FB", "GOOG", "MSFT", "NVDA", "TMSC", "TSLA", "VZ", "WMT", "XOM"]
PC_SCHEMA = pa.schema([pa.field("Ticker", pa.string()), pa.field("Exchange", pa.string())])


class TableKeyImpl(td.TableKey):
    def __init__(self, key: str):
        self.key = key

    def __hash__(self):
        return hash(self.key)


class TableLocationKeyImpl(td.TableLocationKey):
    def __init__(self, key: str):
        self.key = key

    def __hash__(self):
        return hash(self.key)


def ticker_tables():
    for ticker in TICKERS:
        yield new_table([
            string_col("Ticker", [ticker, ticker]), string_col("Exchange", ["NYSE", "NYSE"]),
            bool_col("Boolean", [True, False]), byte_col("Byte", (1, -1)), char_col("Char", "-1"),
            short_col("Short", [1, -1]), int_col("Int", [1, -1]), long_col("Long", [1, -1]),
            long_col("NPLong", np.array([1, -1], dtype=np.int8)), float_col("Float", [1.01, -1.01]),
            double_col("Double", [1.01, -1.01]), string_col("String", ["foo", "bar"]),
            datetime_col("Datetime", [1, -1])])


class DeephavenTestBackend(td.TableDataServiceBackend):
    """Deephaven's test backend, re-expressed."""

    def __init__(self, tables, pt_schema: pa.Schema, pc_schema: Optional[pa.Schema] = None):
        self.tables = tables
        self.pt_schema, self.pc_schema = pt_schema, pc_schema
        self.subscriptions_enabled_for_test = True
        self.sub_new_partition_cancelled = False
        self.sub_new_partition_fail_test = False
        self.sub_partition_size_fail_test = False
        self.partitions = {}
        self.partitions_size_subscriptions = {}
        self.existing_partitions_called = 0
        self.partition_size_called = 0

    def _announce(self, location_cb) -> bool:
        """Takes the next ticker's table and announces it as a location."""
        try:
            data = next(self.tables)
        except StopIteration:
            return False
        ticker = data.column("Ticker")[0].as_py()
        key = TableLocationKeyImpl(f"{ticker}/NYSE")
        self.partitions[key] = data
        mask = pc.and_(pc.equal(data["Ticker"], ticker), pc.equal(data["Exchange"], "NYSE"))
        location_cb(key, data.filter(mask).select(["Ticker", "Exchange"]).slice(0, 1))
        return True

    def table_schema(self, table_key, schema_cb, failure_cb):
        if table_key.key == "test":
            schema_cb(self.pt_schema, self.pc_schema)
        else:
            failure_cb("table key not found")

    def table_locations(self, table_key, location_cb, success_cb, failure_cb):
        if table_key.key != "test":
            return failure_cb("table key not found")
        self._announce(location_cb)
        self.existing_partitions_called += 1
        success_cb()

    def table_location_size(self, table_key, table_location_key, size_cb, failure_cb):
        size_cb(self.partitions[table_location_key].num_rows)
        self.partition_size_called += 1

    def column_values(self, table_key, table_location_key, col, offset, min_rows, max_rows, values_cb, failure_cb):
        if table_key.key != "test":
            return failure_cb("table key not found")
        values_cb(self.partitions[table_location_key].select([col]).slice(offset, max_rows))

    def _new_partitions(self, location_cb, failure_cb):
        while not self.sub_new_partition_cancelled and self.subscriptions_enabled_for_test:
            if not self._announce(location_cb):
                break
            if self.sub_new_partition_fail_test:
                failure_cb(Exception("table location subscription failure"))
                return
            time.sleep(0.1)

    def subscribe_to_table_locations(self, table_key, location_cb, success_cb, failure_cb):
        if table_key.key != "test":
            return lambda: None
        self._announce(location_cb)  # an existing partition
        threading.Thread(target=self._new_partitions, args=(location_cb, failure_cb), daemon=True).start()

        def cancel():
            self.sub_new_partition_cancelled = True

        success_cb()
        return cancel

    def _size_changes(self, key, size_cb, failure_cb):
        while self.subscriptions_enabled_for_test and self.partitions_size_subscriptions[key]:
            data = self.partitions[key]
            grown = pa.Table.from_batches(data.to_batches() + data.to_batches()[:1])
            self.partitions[key] = grown
            size_cb(grown.num_rows)
            if self.sub_partition_size_fail_test:
                failure_cb(Exception("table location size subscription failure"))
                return
            time.sleep(0.1)

    def subscribe_to_table_location_size(self, table_key, table_location_key, size_cb, success_cb, failure_cb):
        if table_key.key != "test" or table_location_key not in self.partitions:
            return lambda: None
        size_cb(self.partitions[table_location_key].num_rows)
        self.partitions_size_subscriptions[table_location_key] = True
        threading.Thread(target=self._size_changes, args=(table_location_key, size_cb, failure_cb),
                         daemon=True).start()

        def cancel():
            self.partitions_size_subscriptions[table_location_key] = False

        success_cb()
        return cancel


@pytest.fixture
def pa_table():
    return next(ticker_tables())


def expected_columns(schema: pa.Schema, partitioning=()):
    return [td.Column(f.name, f.type, td.ColumnType.PARTITIONING if f.name in partitioning else td.ColumnType.NORMAL)
            for f in schema]


def wait_ticking_table_update(table, row_count, timeout):
    """Deephaven's test helper: the table reaches row_count rows within timeout."""
    assert table.wait_for(size=row_count, timeout=timeout), f"{table.size} rows, expected {row_count}"


def service(backend):
    return td.TableDataService(backend)  # Deephaven's 1 s update period


def test_make_table_without_partition_schema(pa_table):
    backend = DeephavenTestBackend(ticker_tables(), pt_schema=pa_table.schema)
    table = service(backend).make_table(TableKeyImpl("test"), refreshing=False)
    assert table is not None
    assert table.columns == expected_columns(pa_table.schema)


def test_make_partitioned_table_without_partition_schema(pa_table):
    backend = DeephavenTestBackend(ticker_tables(), pt_schema=pa_table.schema)
    partitioned_table = service(backend).make_partitioned_table(TableKeyImpl("test"), refreshing=False)
    assert partitioned_table is not None
    constituents = partitioned_table.constituent_tables
    assert len(constituents) == 1
    for constituent_table in constituents:
        assert constituent_table.columns == expected_columns(pa_table.schema)


def test_make_static_table_with_partition_schema(pa_table):
    backend = DeephavenTestBackend(ticker_tables(), pt_schema=pa_table.schema, pc_schema=PC_SCHEMA)
    table = service(backend).make_table(TableKeyImpl("test"), refreshing=False)
    assert table.columns[0].column_type == td.ColumnType.PARTITIONING
    assert table.columns[1].column_type == td.ColumnType.PARTITIONING
    assert table.columns[2:] == expected_columns(pa_table.schema)[2:]
    assert table.size == 2
    assert backend.existing_partitions_called == 1
    assert backend.partition_size_called == 1


def test_make_static_partitioned_table_with_partition_schema(pa_table):
    backend = DeephavenTestBackend(ticker_tables(), pt_schema=pa_table.schema, pc_schema=PC_SCHEMA)
    partitioned_table = service(backend).make_partitioned_table(TableKeyImpl("test"), refreshing=False)
    assert partitioned_table is not None
    merged = partitioned_table.merge()
    assert [(c.name, c.data_type) for c in merged.columns] == [(f.name, f.type) for f in pa_table.schema]
    assert merged.size == 2
    # differs: merge() lists the locations again (Deephaven: 1 and 1)
    assert backend.existing_partitions_called == 2
    assert backend.partition_size_called == 1


def test_make_live_table_with_partition_schema(pa_table):
    backend = DeephavenTestBackend(ticker_tables(), pt_schema=pa_table.schema, pc_schema=PC_SCHEMA)
    table = service(backend).make_table(TableKeyImpl("test"), refreshing=True)
    assert table.columns[0].column_type == td.ColumnType.PARTITIONING
    assert table.columns[1].column_type == td.ColumnType.PARTITIONING
    assert table.columns[2:] == expected_columns(pa_table.schema)[2:]
    wait_ticking_table_update(table, 20, 5)
    assert table.size >= 20
    assert backend.existing_partitions_called == 0
    assert backend.partition_size_called == 0


def test_make_live_partitioned_table_with_partition_schema(pa_table):
    backend = DeephavenTestBackend(ticker_tables(), pt_schema=pa_table.schema, pc_schema=PC_SCHEMA)
    partitioned_table = service(backend).make_partitioned_table(TableKeyImpl("test"), refreshing=True)
    merged = partitioned_table.merge()
    assert [(c.name, c.data_type) for c in merged.columns] == [(f.name, f.type) for f in pa_table.schema]
    wait_ticking_table_update(merged, 20, 5)
    assert merged.size >= 20
    assert backend.existing_partitions_called == 0
    assert backend.partition_size_called == 0


def test_make_live_table_with_partition_schema_ops(pa_table):
    backend = DeephavenTestBackend(ticker_tables(), pt_schema=pa_table.schema, pc_schema=PC_SCHEMA)
    table = service(backend).make_table(TableKeyImpl("test"), refreshing=True)
    assert table.columns[2:] == expected_columns(pa_table.schema)[2:]
    wait_ticking_table_update(table, 100, 5)
    assert table.size >= 100
    t = table.select_distinct([c.name for c in table.columns])
    assert t.size >= len(TICKERS)
    # the result has no partitioning columns
    assert t.columns == expected_columns(pa_table.schema)


def test_make_live_table_observe_subscription_cancellations(pa_table):
    backend = DeephavenTestBackend(ticker_tables(), pt_schema=pa_table.schema, pc_schema=PC_SCHEMA)
    data_service = service(backend)
    with liveness_scope():
        table = data_service.make_table(TableKeyImpl("test"), refreshing=True)
        wait_ticking_table_update(table, 100, 5)
        del table  # differs: the last reference releases the table (and its subscriptions)
    assert backend.sub_new_partition_cancelled
    assert not all(backend.partitions_size_subscriptions.values())


def test_make_live_table_ensure_initial_partitions_exist(pa_table):
    backend = DeephavenTestBackend(ticker_tables(), pt_schema=pa_table.schema, pc_schema=PC_SCHEMA)
    backend.subscriptions_enabled_for_test = False
    table = service(backend).make_table(TableKeyImpl("test"), refreshing=True)
    table.coalesce()
    assert table.size == 2


def test_partition_sub_failure(pa_table):
    backend = DeephavenTestBackend(ticker_tables(), pt_schema=pa_table.schema, pc_schema=PC_SCHEMA)
    backend.sub_new_partition_fail_test = True
    made = []
    # differs: the failure may come before success_cb (see the module notes)
    with pytest.raises(Exception, match="table location subscription failure"):
        made.append(service(backend).make_table(TableKeyImpl("test"), refreshing=True))
        wait_ticking_table_update(made[0], 600, 3)
    assert not made or made[0].is_failed


def test_partition_size_sub_failure(pa_table):
    backend = DeephavenTestBackend(ticker_tables(), pt_schema=pa_table.schema, pc_schema=PC_SCHEMA)
    backend.sub_partition_size_fail_test = True
    made = []
    # differs: the backend's thread may fail the size subscription before it
    # answered success_cb, while make_table still waits for the initial
    # answers; then make_table itself raises the failure
    with pytest.raises(Exception, match="table location size subscription failure"):
        made.append(service(backend).make_table(TableKeyImpl("test"), refreshing=True))
        wait_ticking_table_update(made[0], 600, 3)
    assert not made or made[0].is_failed
