"""Python quick start (README.md "Python"): a backend in a few lines, a live
table, Arrow consumers, queries."""
import pyarrow as pa

import tabledata as td


class Prices(td.TableDataServiceBackend):
    """One table, "prices", partitioned by Sym; each location a pyarrow table."""

    def __init__(self):
        self.data = {}  # Sym -> pa.Table
        self.size_cbs = {}

    def add(self, sym, rows):
        self.data[sym] = pa.concat_tables([self.data[sym], rows]) if sym in self.data else rows
        if sym in self.size_cbs:
            self.size_cbs[sym](self.data[sym].num_rows)

    def table_schema(self, table_key, schema_cb, failure_cb):
        schema_cb(pa.schema([("Px", pa.float64())]), pa.schema([("Sym", pa.string())]))

    def table_locations(self, table_key, location_cb, success_cb, failure_cb):
        for sym in self.data:
            location_cb(td.NamedKey(sym), pa.table({"Sym": [sym]}))
        success_cb()

    def table_location_size(self, table_key, location_key, size_cb, failure_cb):
        size_cb(self.data[location_key.name].num_rows)

    def column_values(self, table_key, location_key, col, offset, min_rows, max_rows, values_cb, failure_cb):
        values_cb(self.data[location_key.name].select([col]).slice(offset, max_rows))

    def subscribe_to_table_locations(self, table_key, location_cb, success_cb, failure_cb):
        self.table_locations(table_key, location_cb, success_cb, failure_cb)
        return lambda: None

    def subscribe_to_table_location_size(self, table_key, location_key, size_cb, success_cb, failure_cb):
        self.size_cbs[location_key.name] = size_cb
        size_cb(self.data[location_key.name].num_rows)
        success_cb()
        return lambda: self.size_cbs.pop(location_key.name, None)


backend = Prices()
backend.add("AAPL", pa.table({"Px": [187.5, 188.0]}))
backend.add("MSFT", pa.table({"Px": [411.2]}))

service = td.TableDataService(backend, update_period=0)  # 0: update as soon as data arrives
t = service.make_table(td.NamedKey("prices"), refreshing=True)
print(pa.table(t))                                       # pyarrow (zero copy), or polars.DataFrame(t), duckdb.sql("... from t")

backend.add("AAPL", pa.table({"Px": [189.25]}))          # the backend grows...
t.wait_for(size=4, timeout=10)                           # ...and the table follows
print(t.where("Px > 188").to_arrow().to_pydict())        # {'Sym': ['AAPL', 'MSFT'], 'Px': [189.25, 411.2]}
print(td.sql("SELECT Sym, max(Px) AS High FROM t GROUP BY Sym", t=t).to_arrow().to_pylist())
