"""COPY ... TO output of tabledata read back by DuckDB and Polars.

A source Parquet file of every engine type (nulls, low- and high-cardinality
strings, decimals, dates, times and timestamps of every unit) is written by
pyarrow; `tabledata query "COPY ..."` writes it again with the project's own
Parquet writer (snappy, zstd, uncompressed, small row groups, dictionary
fallback) and hive-partitioned; DuckDB and Polars must read the same typed
values from tabledata's files as from the source.  Arrow output: the IPC file
format (.arrow, .feather; pyarrow.ipc.open_file, Polars, DuckDB over the
pyarrow table) and the stream format (.arrows, FORMAT arrows).  Prints "copy interop: N
checks, F failed".  Usage: check_copy_interop.py path/to/tabledata
"""
import decimal
import os
import subprocess
import sys
import tempfile

try:
    import duckdb
    import polars as pl
    import pyarrow as pa
    import pyarrow.feather as feather
    import pyarrow.ipc as ipc
    import pyarrow.parquet as pq
except ImportError as e:  # pragma: no cover
    print("skipped: %s (run scripts/setup-deps.sh)" % e)
    sys.exit(77)

TD = sys.argv[1]
checks = 0
failures = []


def check(name, cond, detail=""):
    global checks
    checks += 1
    if not cond:
        failures.append(name)
        print("FAIL %s %s" % (name, str(detail)[:400]))


def source(path, n=20000):
    def nul(f):
        return [None if i % 11 == 5 else f(i) for i in range(n)]

    cols = {
        "i": pa.array(range(n), pa.int64()),
        "b": pa.array(nul(lambda i: i % 3 == 0), pa.bool_()),
        "i8": pa.array(nul(lambda i: i % 256 - 128), pa.int8()),
        "i16": pa.array(nul(lambda i: i - 10000), pa.int16()),
        "i32": pa.array(nul(lambda i: i * 1000 - 7), pa.int32()),
        "u8": pa.array(nul(lambda i: i % 256), pa.uint8()),
        "u16": pa.array(nul(lambda i: i * 3 % 65536), pa.uint16()),
        "u32": pa.array(nul(lambda i: 4000000000 - i), pa.uint32()),
        "f32": pa.array(nul(lambda i: i * 0.5 - 3.25), pa.float32()),
        "f64": pa.array(nul(lambda i: i / 7.0), pa.float64()),
        "sym": pa.array(nul(lambda i: ["AAPL", "MSFT", "é\"x,y", ""][i % 4]), pa.string()),
        "uniq": pa.array(nul(lambda i: "id-%d" % (i * 7919)), pa.string()),
        "dec": pa.array(nul(lambda i: decimal.Decimal(i * 1001 - 5000).scaleb(-3)), pa.decimal128(12, 3)),
        "day": pa.array(nul(lambda i: 19000 + i % 500), pa.date32()),
        "ts": pa.array(nul(lambda i: 1700000000000000000 + i * 1234567), pa.timestamp("ns", tz="UTC")),
        "ts_ms": pa.array(nul(lambda i: 1700000000000 + i), pa.timestamp("ms")),
        "ts_us": pa.array(nul(lambda i: 1700000000000000 + i * 13), pa.timestamp("us", tz="UTC")),
        "t_ms": pa.array(nul(lambda i: i * 1000), pa.time32("ms")),
        "t_us": pa.array(nul(lambda i: i * 1000003), pa.time64("us")),
        "t_ns": pa.array(nul(lambda i: i * 1000000007), pa.time64("ns")),
        "part": pa.array(nul(lambda i: ["a", "b/c", "d e"][i % 3]), pa.string()),
    }
    pq.write_table(pa.table(cols), path)


def td(sql):
    p = subprocess.run([TD, "query", "--format", "csv", sql], capture_output=True, text=True, timeout=120)
    return p.returncode, p.stdout, p.stderr


def same_duckdb(name, a, b, cols="*"):
    q = "SELECT %s FROM read_parquet('%s') ORDER BY i"
    x = duckdb.sql(q % (cols, a))
    y = duckdb.sql(q % (cols, b))
    check(name + ": DuckDB types", x.types == y.types, (x.types, y.types))
    check(name + ": DuckDB values", x.fetchall() == y.fetchall())


def same_polars(name, a, b):
    x = pl.read_parquet(a).sort("i")
    y = pl.read_parquet(b).sort("i")
    check(name + ": Polars schema", x.schema == y.schema, (x.schema, y.schema))
    check(name + ": Polars values", x.equals(y))


def main():
    d = tempfile.mkdtemp(prefix="td_copy_interop.")
    src = os.path.join(d, "src.parquet")
    source(src)
    for name, opts in [("snappy", ""), ("zstd", "(COMPRESSION zstd)"),
                       ("uncompressed", "(COMPRESSION uncompressed, ROW_GROUP_SIZE 3000)"),
                       ("row groups of 7", "(FORMAT parquet, ROW_GROUP_SIZE 7)")]:
        out = os.path.join(d, name.replace(" ", "_") + ".parquet")
        rc, so, se = td("COPY '%s' TO '%s' %s" % (src, out, opts))
        check(name + ": COPY ran", rc == 0 and so.strip().splitlines() == ["Count", "20000"], (rc, so, se))
        if rc:
            continue
        same_duckdb(name, src, out)
        same_polars(name, src, out)
        meta = pq.ParquetFile(out).metadata
        col = meta.row_group(0).column(10)  # sym: low cardinality
        check(name + ": sym is dictionary-encoded", "RLE_DICTIONARY" in col.encodings, col.encodings)
        col = meta.row_group(0).column(11)  # uniq: every value new (a dictionary is tried from 64 values)
        check(name + ": uniq stays PLAIN", "RLE_DICTIONARY" not in col.encodings or "7" in name, col.encodings)
        st = meta.row_group(0).column(0).statistics
        check(name + ": statistics", st is not None and st.has_min_max and st.min == 0, st)
        st = meta.row_group(0).column(10).statistics  # of a dictionary-encoded column
        check(name + ": dictionary column statistics", st.has_min_max and st.min == "" and st.max == "é\"x,y" and
              st.null_count == sum(1 for i in range(meta.row_group(0).num_rows) if i % 11 == 5), st)
    # A query with a filter and computed columns.
    out = os.path.join(d, "query.parquet")
    rc, so, se = td("COPY (SELECT i, sym, f64 * 2 AS f2 FROM '%s' WHERE i %% 2 = 0) TO '%s'" % (src, out))
    check("query: COPY ran", rc == 0 and "10000" in so, (rc, so, se))
    got = duckdb.sql("SELECT count(*), sum(f2), count(sym) FROM '%s'" % out).fetchall()
    want = duckdb.sql("SELECT count(*), sum(f64 * 2), count(sym) FROM '%s' WHERE i %% 2 = 0" % src).fetchall()
    check("query: DuckDB sums", got == want, (got, want))
    # Hive partitions: DuckDB and Polars put the partition column back.
    out = os.path.join(d, "parts")
    rc, so, se = td("COPY '%s' TO '%s' (FORMAT parquet, PARTITION_BY (part))" % (src, out))
    check("partitioned: COPY ran", rc == 0, (rc, so, se))
    names = sorted(os.listdir(out))
    check("partitioned: escaped names as DuckDB writes them",
          names == ["part=__HIVE_DEFAULT_PARTITION__", "part=a", "part=b%2Fc", "part=d%20e"], names)
    ref = os.path.join(d, "ref")
    duckdb.sql("COPY (SELECT * FROM '%s') TO '%s' (FORMAT parquet, PARTITION_BY (part))" % (src, ref))
    check("partitioned: same directories as DuckDB's", names == sorted(os.listdir(ref)), sorted(os.listdir(ref)))
    q = "SELECT * EXCLUDE (part), part FROM read_parquet('%s/**/*.parquet', hive_partitioning = true) ORDER BY i"
    x, y = duckdb.sql(q % out), duckdb.sql(q % ref)
    check("partitioned: DuckDB reads it as its own", x.types == y.types and x.fetchall() == y.fetchall())
    f = pq.ParquetFile(os.path.join(out, "part=a", "data_0.parquet"))
    check("partitioned: no partition column in the files", "part" not in f.schema_arrow.names)
    px = pl.read_parquet(os.path.join(out, "**", "*.parquet"), hive_partitioning=True).sort("i")
    check("partitioned: Polars rows", px.height == 20000 and px["f64"].sum() == pl.read_parquet(src)["f64"].sum())
    # CSV and Arrow output.
    out = os.path.join(d, "out.csv")
    rc, so, se = td("COPY (SELECT i, sym, f64, day, ts FROM '%s') TO '%s'" % (src, out))
    got = duckdb.sql("SELECT count(*), count(sym), sum(f64), max(day) FROM read_csv('%s')" % out).fetchall()
    # (DuckDB's CSV reader takes the quoted empty string "" for a null.)
    want = duckdb.sql("SELECT count(*), count(NULLIF(sym, '')), sum(f64), max(day) FROM '%s'" % src).fetchall()
    check("csv: DuckDB reads the same values", rc == 0 and got[0][:2] == want[0][:2] and
          abs(got[0][2] - want[0][2]) < 1e-6 and got[0][3] == want[0][3], (got, want, se))
    # .arrow / .feather: the IPC file format (magic, footer); .arrows: the stream format
    want = pq.read_table(src).sort_by("i")
    out = os.path.join(d, "out.arrow")
    rc, so, se = td("COPY '%s' TO '%s'" % (src, out))
    t = pl.read_ipc(out).sort("i")
    check("arrow: Polars reads the same values", rc == 0 and t.equals(pl.read_parquet(src).sort("i")), se)
    with open(out, "rb") as f:
        head = f.read(8)
        f.seek(-6, 2)
        tail = f.read(6)
    check("arrow: the file format's magic at both ends", head == b"ARROW1\0\0" and tail == b"ARROW1", (head, tail))
    r = ipc.open_file(out)
    got = r.read_all()
    check("arrow: pyarrow.ipc.open_file reads every batch", r.num_record_batches >= 1 and
          got.sort_by("i").equals(want), (r.num_record_batches, got.schema))
    last = r.get_batch(r.num_record_batches - 1)
    check("arrow: the footer's last block is the last batch", last.num_rows > 0 and
          last.column(0).to_pylist()[-1] == got.column("i").to_pylist()[-1])
    arrow_t = got  # noqa: F841 (DuckDB scans the pyarrow table by name)
    x = duckdb.sql("SELECT count(*), sum(i), count(sym), max(ts) FROM arrow_t").fetchall()
    y = duckdb.sql("SELECT count(*), sum(i), count(sym), max(ts) FROM read_parquet('%s')" % src).fetchall()
    check("arrow: DuckDB reads the same values", x == y, (x, y))
    out = os.path.join(d, "out.feather")
    rc, so, se = td("COPY (SELECT i, sym, f64 FROM '%s' WHERE i < 5000) TO '%s'" % (src, out))
    ft = feather.read_table(out)
    check("feather: pyarrow.feather reads it", rc == 0 and ft.num_rows == 5000 and ft.column_names == ["i", "sym", "f64"],
          (se, ft.schema))
    out = os.path.join(d, "out.arrows")
    rc, so, se = td("COPY '%s' TO '%s'" % (src, out))
    st = ipc.open_stream(out).read_all()
    check("arrows: the stream format", rc == 0 and st.sort_by("i").equals(want), se)
    out = os.path.join(d, "out.ipcs")
    rc, so, se = td("COPY (SELECT i FROM '%s') TO '%s' (FORMAT arrows)" % (src, out))
    check("FORMAT arrows: the stream format", rc == 0 and ipc.open_stream(out).read_all().num_rows == 20000, se)
    # Errors: an existing file without OVERWRITE; nothing partial left.
    rc, so, se = td("COPY '%s' TO '%s'" % (src, src))
    check("existing file is an error naming it", rc != 0 and "src.parquet' already exists" in se, se)
    rc, so, se = td("COPY (SELECT nope FROM '%s') TO '%s'" % (src, os.path.join(d, "bad.parquet")))
    check("failed COPY leaves nothing", rc != 0 and not [n for n in os.listdir(d) if "bad" in n or ".tmp-" in n])
    print("copy interop: %d checks, %d failed%s" % (checks, len(failures),
                                                   (": " + ", ".join(failures)) if failures else ""))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
