"""The writer matrix (issue 10): every file in tests/data/writers (written by
pyarrow, Polars, DuckDB, Arrow JS, nodejs-polars, parquet-wasm,
hyparquet-writer and DuckDB's Node API; see its README) read by tabledata
must equal, column by column, typed and value for value, what DuckDB reads
from the same Parquet file (Arrow IPC files: what pyarrow reads, DuckDB
having no offline Arrow reader).  Also `sum`, `min` and `max` of every
numeric column against DuckDB's.

usage: check_writers.py TABLEDATA_PROGRAM WRITERS_DIR
"""
import glob
import os
import subprocess
import sys

import duckdb
import pyarrow as pa
import pyarrow.compute  # noqa: F401 (pa.compute)
import pyarrow.feather as feather

prog, folder = sys.argv[1], sys.argv[2]
con = duckdb.connect()
con.execute("SET TimeZone = 'UTC'")


def ours(sql):
    out = subprocess.run([prog, "query", "--format", "arrow", sql], capture_output=True)
    if out.returncode:
        raise AssertionError(f"{sql}: {out.stderr.decode()}")
    return pa.ipc.open_stream(out.stdout).read_all()


def norm_type(t):
    """The logical type both sides must agree on; string layouts are one type."""
    if t in (pa.string(), pa.large_string(), pa.string_view()):
        return pa.string()
    return t


def reference(path):
    if path.endswith(".parquet"):
        return con.sql(f"SELECT * FROM read_parquet('{path}')").to_arrow_table()
    return feather.read_table(path)


def same_table(got, want, where):
    assert got.column_names == want.column_names, (where, got.column_names, want.column_names)
    for name in want.column_names:
        g, w = got.column(name), want.column(name)
        gt, wt = norm_type(g.type), norm_type(w.type)
        if pa.types.is_timestamp(gt) and pa.types.is_timestamp(wt):
            # We keep the file's unit; DuckDB reads TIMESTAMP(MILLIS) as microseconds, and gives a
            # UTC column in the session's zone (UTC here): the instants are compared, as counts of
            # the finer unit (ns values are beyond datetime's range).
            assert (gt.tz or "UTC") == (wt.tz or "UTC"), (where, name, g.type, w.type)
            assert (gt.unit, wt.unit) in ((gt.unit, gt.unit), ("ms", "us")), (where, name, g.type, w.type)
            g = pa.compute.multiply(g.cast(pa.int64()), 1000 if gt.unit != wt.unit else 1)
            w = w.cast(pa.int64())
        else:
            assert gt == wt, (where, name, g.type, w.type)
        assert g.to_pylist() == w.to_pylist(), (where, name, g.to_pylist(), w.to_pylist())


NUMERIC = ("int", "uint", "float", "double", "decimal")


def check_aggregates(path, table):
    cols = [f.name for f in table.schema if any(str(f.type).startswith(p) for p in NUMERIC)]
    if not cols or not path.endswith(".parquet"):
        return
    parts = []
    for c in cols:
        agg = ["min", "max"] + (["sum"] if not str(table.schema.field(c).type).startswith(("float", "double")) else [])
        parts += [f"{a}({c}) AS {a}_{c}" for a in agg]
    sql = "SELECT " + ", ".join(parts) + " FROM {src}"
    got = ours(sql.format(src=f"'{path}'")).to_pylist()
    want = con.sql(sql.format(src=f"read_parquet('{path}')")).to_arrow_table().to_pylist()
    for k in want[0]:
        # DuckDB sums integers to INT128 and decimals to DECIMAL(38, s); we to int64 (overflow is an error)
        # and decimal128(38, s): the values must agree
        assert got[0][k] == want[0][k], (path, k, got[0][k], want[0][k])


def main():
    files = sorted(glob.glob(os.path.join(folder, "*.parquet")) + glob.glob(os.path.join(folder, "*.arrow")))
    assert len(files) >= 15, files
    for path in files:
        want = reference(path)
        got = ours(f"SELECT * FROM '{path}'")
        assert got.num_rows == want.num_rows, (path, got.num_rows, want.num_rows)
        same_table(got, want, os.path.basename(path))
        try:
            check_aggregates(path, got)
        except subprocess.CalledProcessError:
            raise
        print(f"ok: {os.path.basename(path)}: {want.num_rows} rows, {want.num_columns} columns")


if __name__ == "__main__":
    main()
