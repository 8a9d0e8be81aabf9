"""Date, time and timestamp columns (and uint8/uint32, decimal128 at precisions 9, 18 and
38) of every unit in Parquet and Arrow IPC
files written by pyarrow (nulls, 0001-01-01 and 9999-12-31, 0-row and 1-row
files) read by tabledata: the result of `tabledata query --format arrow`
must equal, typed and value for value, what pyarrow reads from the same
file; aggregates and filters must equal DuckDB's; jsonl and csv print the
values as ISO-8601 text.

usage: check_types.py TABLEDATA_PROGRAM
"""
import csv
import datetime as dt
import decimal as D
import io
import json
import subprocess
import sys
import tempfile

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.feather as feather
import pyarrow.parquet as pq

prog = sys.argv[1]

D_MIN, D_MAX = dt.date(1, 1, 1), dt.date(9999, 12, 31)
T_MIN = dt.datetime(1, 1, 1)
T_MAX = dt.datetime(9999, 12, 31, 23, 59, 59, 999999)


def table(rows):
    dates = [D_MIN, D_MAX, None, dt.date(2024, 2, 29), dt.date(1969, 12, 31)][:rows]
    stamps = [T_MIN, T_MAX, None, dt.datetime(2024, 2, 29, 12, 30, 1, 500000), dt.datetime(1970, 1, 1)][:rows]
    times = [dt.time(0), dt.time(23, 59, 59, 999999), None, dt.time(12, 34, 56, 123456), dt.time(0, 0, 1)][:rows]
    ns = [-2**62, 2**62, None, 1709209801500000123, 0][:rows]
    secs = lambda t: None if t is None else t.hour * 3600 + t.minute * 60 + t.second
    return pa.table({
        "i": pa.array(range(rows), pa.int64()),
        "u8": pa.array([0, 255, None, 7, 1][:rows], pa.uint8()),
        "u32": pa.array([0, 2**32 - 1, None, 5, 1][:rows], pa.uint32()),
        "d32": pa.array(dates, pa.date32()),
        "d64": pa.array(dates, pa.date64()),
        "ts_s": pa.array([None if s is None else s.replace(microsecond=0) for s in stamps], pa.timestamp("s")),
        "ts_ms": pa.array([None if s is None else s.replace(microsecond=s.microsecond // 1000 * 1000) for s in stamps],
                          pa.timestamp("ms", tz="UTC")),
        "ts_us": pa.array(stamps, pa.timestamp("us")),
        "ts_ns": pa.array(ns, pa.timestamp("ns", tz="UTC")),
        "t32s": pa.array([secs(t) for t in times], pa.time32("s")),
        "t32ms": pa.array([None if t is None else secs(t) * 1000 + t.microsecond // 1000 for t in times],
                          pa.time32("ms")),
        "t64us": pa.array(times, pa.time64("us")),
        "t64ns": pa.array([None if t is None else (secs(t) * 10**6 + t.microsecond) * 1000 + 7 for t in times],
                          pa.time64("ns")),
        "dec9": pa.array([D.Decimal("-9999999.99"), D.Decimal("9999999.99"), None, D.Decimal("1.25"),
                          D.Decimal("0")][:rows], pa.decimal128(9, 2)),
        "dec18": pa.array([D.Decimal("-0.000001"), D.Decimal("999999999999.999999"), None,
                           D.Decimal("123456789012.345678"), D.Decimal("1")][:rows], pa.decimal128(18, 6)),
        "dec38": pa.array([D.Decimal("-" + "9" * 38), D.Decimal("9" * 38), None, D.Decimal("12345678901234567890"),
                           D.Decimal("-1")][:rows], pa.decimal128(38, 0)),
        "dec38s": pa.array([D.Decimal("-0." + "9" * 10), D.Decimal("9" * 27 + "." + "9" * 10), None,
                            D.Decimal("0.0000000001"), D.Decimal("2.5")][:rows], pa.decimal128(38, 10)),
    })


def ours(path, sql="SELECT * FROM {src}"):
    out = subprocess.run([prog, "query", "--format", "arrow", sql.format(src=f"'{path}'")], check=True,
                         capture_output=True).stdout
    return pa.ipc.open_stream(out).read_all()


def text(path, sql, fmt):
    return subprocess.run([prog, "query", "--format", fmt, sql.format(src=f"'{path}'")], check=True,
                          capture_output=True, text=True).stdout


def same(got, want, where):
    assert got.column_names == want.column_names, (where, got.schema, want.schema)
    for name in want.column_names:
        g, w = got.column(name), want.column(name)
        # Parquet has no seconds unit or date64: tabledata reads the file's own
        # type, pyarrow restores the written one from its metadata; the values
        # must still be equal exactly (a safe cast fails on any loss).
        if g.type != w.type:
            assert where.endswith(".parquet"), (where, name, g.type, w.type)
            g = g.cast(w.type, safe=True)
        assert g.equals(w), (where, name, g, w)


checked = 0
with tempfile.TemporaryDirectory() as tmp:
    for rows in (5, 1, 0):
        t = table(rows)
        files = {f"{tmp}/t{rows}.parquet": lambda p: pq.write_table(t, p),
                 # decimals of precision <= 18 as INT32 / INT64 instead of FIXED_LEN_BYTE_ARRAY
                 f"{tmp}/t{rows}i.parquet": lambda p: pq.write_table(t, p, store_decimal_as_integer=True),
                 f"{tmp}/t{rows}.arrow": lambda p: feather.write_feather(t, p, compression="uncompressed"),
                 f"{tmp}/t{rows}.arrows": lambda p: p}
        for path, write in files.items():
            if path.endswith(".arrows"):
                with pa.OSFile(path, "wb") as f, pa.ipc.new_stream(f, t.schema) as w:
                    w.write_table(t)
            else:
                write(path)
            want = pq.read_table(path) if path.endswith(".parquet") else t
            got = ours(path, "SELECT * FROM {src} ORDER BY i")
            if path.endswith(".arrow") or path.endswith(".arrows"):
                assert got.schema.types == t.schema.types, (path, got.schema, t.schema)
            same(got, want, path)
            checked += 1
    # Filters and aggregates against DuckDB over the same Parquet file.
    path = f"{tmp}/t5.parquet"
    for sql in ("SELECT min(d32), max(d32), count(d32), min(ts_ms), max(ts_us) FROM {src}",
                "SELECT i FROM {src} WHERE d32 >= '1970-01-01' ORDER BY i",
                "SELECT i FROM {src} WHERE ts_us > '2024-02-29T12:30:01.4999995' ORDER BY i",
                "SELECT i FROM {src} WHERE d32 = '9999-12-31' OR d32 = '0001-01-01' ORDER BY i",
                "SELECT i FROM {src} WHERE t64us < '12:34:56.123457' ORDER BY i",
                "SELECT sum(u8), max(u8), sum(u32), max(u32), min(u32) FROM {src}",
                "SELECT i FROM {src} WHERE u32 > 4294967294 OR u8 = 255 ORDER BY u32 DESC",
                "SELECT sum(dec9), min(dec9), max(dec9), sum(dec18), sum(dec38), min(dec38), max(dec38s), "
                "count(dec38), sum(dec38s) FROM {src}",
                "SELECT avg(dec9), avg(dec18) FROM {src}",
                "SELECT i FROM {src} WHERE dec9 > 1.2 AND dec18 >= 1 ORDER BY i",
                "SELECT i FROM {src} WHERE dec9 < 1.251 ORDER BY i",
                "SELECT i FROM {src} WHERE dec38 = '99999999999999999999999999999999999999' OR dec38s < 0 ORDER BY i",
                "SELECT dec9, count(*), sum(dec38s) FROM {src} GROUP BY dec9 ORDER BY dec9",
                "SELECT i, dec18 FROM {src} ORDER BY dec18 DESC, i",
                # the aggregates of query/agg_more.c over decimals, dates, times, timestamps
                "SELECT count(DISTINCT dec9), sum(DISTINCT dec18), median(dec9), quantile_disc(dec38, 0.5), "
                "quantile_cont(dec18, 0.25), avg(DISTINCT dec9) FROM {src}",
                "SELECT count(DISTINCT d32), quantile_disc(d32, 0.5), median(ts_us), quantile_disc(ts_ms, 0.75), "
                "quantile_disc(t64us, 0.9), count(DISTINCT ts_ns), approx_count_distinct(d64) FROM {src}",
                "SELECT dec9 IS NULL AS k, count(DISTINCT u8), median(u32), string_agg(i, ',') FILTER (WHERE i > 0) "
                "FROM {src} GROUP BY k ORDER BY k",
                # decimals cast to text keep their scale (string_agg casts its input)
                "SELECT i, CAST(dec9 AS VARCHAR), dec18::VARCHAR || '!', string_agg(dec38s, ';') FROM {src} "
                "GROUP BY ALL ORDER BY i"):
        got = ours(path, sql)
        theirs = duckdb.sql(sql.format(src=f"read_parquet('{path}')").replace(
            "'2024-02-29T12:30:01.4999995'", "TIMESTAMP '2024-02-29 12:30:01.4999995'").replace(
            "'12:34:56.123457'", "TIME '12:34:56.123457'").replace(
            "'99999999999999999999999999999999999999'", "99999999999999999999999999999999999999::DECIMAL(38,0)")).fetchall()
        mine = [tuple(r.values()) for r in got.to_pylist()]
        norm = lambda v: v.replace(tzinfo=None) if isinstance(v, dt.datetime) else v
        assert [tuple(map(norm, r)) for r in mine] == [tuple(map(norm, r)) for r in theirs], (sql, mine, theirs)
        checked += 1
    # Printed forms.
    lines = [json.loads(x) for x in text(path, "SELECT d32, ts_ms, t64us, d64 FROM {src} ORDER BY i", "jsonl").splitlines()]
    assert lines[0] == {"d32": "0001-01-01", "ts_ms": "0001-01-01T00:00:00.000Z", "t64us": "00:00:00.000000",
                        "d64": "0001-01-01"}, lines[0]
    assert lines[1]["d32"] == "9999-12-31" and lines[1]["ts_ms"] == "9999-12-31T23:59:59.999Z", lines[1]
    assert lines[2] == {"d32": None, "ts_ms": None, "t64us": None, "d64": None}, lines[2]
    rows = list(csv.reader(io.StringIO(text(path, "SELECT d32, ts_s, t64ns FROM {src} ORDER BY i", "csv"))))
    assert rows[1] == ["0001-01-01", "0001-01-01T00:00:00.000Z", "00:00:00.000000007"], rows
    # decimals print exactly: text, csv, and jsonl as exact JSON numbers
    lines = [json.loads(x, parse_float=D.Decimal) for x in
             text(path, "SELECT dec9, dec38, dec38s FROM {src} ORDER BY i", "jsonl").splitlines()]
    assert lines[1] == {"dec9": D.Decimal("9999999.99"), "dec38": int("9" * 38),
                        "dec38s": D.Decimal("9" * 27 + "." + "9" * 10)}, lines[1]
    assert lines[2] == {"dec9": None, "dec38": None, "dec38s": None}, lines[2]
    raw = text(path, "SELECT dec9, dec38s FROM {src} ORDER BY i", "jsonl").splitlines()
    assert raw[4] == '{"dec9":0.00,"dec38s":2.5000000000}', raw[4]
    rows = list(csv.reader(io.StringIO(text(path, "SELECT dec9, dec18, dec38 FROM {src} ORDER BY i", "csv"))))
    assert rows[1] == ["-9999999.99", "-0.000001", "-" + "9" * 38], rows
    grid = text(path, "SELECT sum(dec38s) FROM {src}", "grid")
    assert "sum(dec38s)" in grid and "1" + "0" * 26 + "1.5000000001" in grid, grid
    got = ours(path, "SELECT sum(dec9), avg(dec9), min(dec38) FROM {src}")
    assert [str(x) for x in got.schema.types] == ["decimal128(38, 2)", "double", "decimal128(38, 0)"], got.schema
    # decimals as group-by keys (two keys: the column-wise hash) and through functions
    q = "SELECT dec9, dec38, count(*) AS n FROM {src} GROUP BY dec9, dec38 ORDER BY dec9 NULLS FIRST, dec38"
    got = [tuple(r.values()) for r in ours(path, q).to_pylist()]
    theirs = duckdb.sql(q.replace("{src}", f"read_parquet('{path}')")).fetchall()
    assert got == theirs, (got, theirs)
    q = "SELECT i, coalesce(dec9, dec9) AS c, CASE WHEN i > 2 THEN dec9 END AS w FROM {src} ORDER BY i"
    got = [tuple(r.values()) for r in ours(path, q).to_pylist()]
    theirs = duckdb.sql(q.replace("{src}", f"read_parquet('{path}')")).fetchall()
    assert got == theirs, (got, theirs)
    # DuckDB's own Parquet decimals (INT32, INT64, FIXED_LEN_BYTE_ARRAY by precision)
    dpath = f"{tmp}/duck_dec.parquet"
    duckdb.sql(f"""COPY (SELECT i, (i * 1.25 - 2)::DECIMAL(4,2) AS a, (i * 1000000.000001)::DECIMAL(18,6) AS b,
                   CASE WHEN i = 2 THEN NULL ELSE ('-' || repeat('9', 38))::DECIMAL(38,0) + i END AS c
                   FROM range(5) t(i)) TO '{dpath}' (FORMAT PARQUET)""")
    got = [tuple(r.values()) for r in ours(dpath, "SELECT * FROM {src} ORDER BY i").to_pylist()]
    theirs = duckdb.sql(f"SELECT * FROM read_parquet('{dpath}') ORDER BY i").fetchall()
    assert got == theirs, (got, theirs)
    checked += 2
    # error paths: each names what was expected
    def fails(args, *needles):
        r = subprocess.run([prog, "query"] + args, capture_output=True, text=True)
        assert r.returncode != 0 and all(n in r.stderr for n in needles), (args, r.stderr)
    fails([f"SELECT dec9 FROM '{path}' WHERE dec9 = 1.255"], "more fraction digits than decimal128(9,2)")
    fails([f"SELECT dec9 FROM '{path}' WHERE dec9 < dec18"], "cannot compare decimal128(9,2) with decimal128(18,6)")
    fails([f"SELECT dec9 FROM '{path}' WHERE dec9 < i"], "cannot compare decimal128(9,2) with int64")
    fails([f"SELECT dec9 FROM '{path}' WHERE dec9 < 'abc'"], "cannot compare decimal128(9,2) with 'abc'")
    ovf = f"{tmp}/ovf.parquet"
    pq.write_table(pa.table({"x": pa.array([D.Decimal("9" * 38)] * 2, pa.decimal128(38, 0))}), ovf)
    fails([f"SELECT sum(x) FROM '{ovf}'"], "decimal overflow in sum(x)", "38 digits")
    cpath = f"{tmp}/d.csv"
    with open(cpath, "w") as f:
        f.write("a,b\n1.5,255\n-2.25,0\n,7\n")
    r = subprocess.run([prog, "query", "--format", "csv", "--schema", "a DECIMAL(5,2), b UTINYINT",
                        f"SELECT sum(a), min(a), max(b) FROM '{cpath}'"], check=True, capture_output=True, text=True)
    assert r.stdout.splitlines() == ["sum(a),min(a),max(b)", "-0.75,-2.25,255"], r.stdout
    fails(["--schema", "a DECIMAL(5,1), b UTINYINT", f"SELECT * FROM '{cpath}'"], "line 3", "cannot parse '-2.25' as decimal128(5,1)")
    fails(["--schema", "a DECIMAL(39,1), b UTINYINT", f"SELECT * FROM '{cpath}'"], "bad decimal type 'DECIMAL(39,1)'")
    fails(["--schema", "a DECIMAL(5,2), b DECIMAL(1,0)", f"SELECT * FROM '{cpath}'"], "cannot parse '255' as decimal128(1,0)")
    checked += 9
    # a declared UBIGINT CSV column: 0..2^64-1 exact; 2^64 and a negative number are errors naming the line
    upath = f"{tmp}/u.csv"
    with open(upath, "w") as f:
        f.write("u\n18446744073709551615\n9223372036854775808\n\n+5\n")
    r = subprocess.run([prog, "query", "--format", "csv", "--schema", "u UBIGINT",
                        f"SELECT sum(u), max(u), count(u) FROM '{upath}' WHERE u > 9223372036854775807"],
                       check=True, capture_output=True, text=True)
    assert r.stdout.splitlines() == ["sum(u),max(u),count(u)", "27670116110564327423,18446744073709551615,2"], r.stdout
    for bad in ("18446744073709551616", "-1"):
        with open(upath, "w") as f:
            f.write(f"u\n1\n{bad}\n")
        fails(["--schema", "u UBIGINT", f"SELECT * FROM '{upath}'"], "line 3", bad)
    checked += 3
    # Arrow IPC Utf8View (Polars' strings) read as utf8, BinaryView as binary, Float16 as float32;
    # plain, LZ4-compressed, and a stream of two batches
    vt = pa.table({"i": pa.array(range(5), pa.int64()),
                   "s": pa.array(["a", None, "a string longer than twelve bytes", "", "héllo wörld, out of line"],
                                 pa.string_view()),
                   "b": pa.array([b"\x01\x02", None, b"x" * 40, b"", b"abc"], pa.binary_view()),
                   "h": pa.array(np.array([1.5, -0.0, 65504, np.inf, 0.000061035156], dtype=np.float16))})
    for name, write in (("v.arrow", lambda p: feather.write_feather(vt, p, compression="uncompressed")),
                        ("vz.arrow", lambda p: feather.write_feather(vt, p, compression="lz4"))):
        write(f"{tmp}/{name}")
        got = ours(f"{tmp}/{name}", "SELECT * FROM {src} ORDER BY i")
        assert [str(x) for x in got.schema.types] == ["int64", "string", "binary", "float"], got.schema
        assert got.column("s").to_pylist() == vt.column("s").to_pylist(), got
        assert got.column("b").to_pylist() == vt.column("b").to_pylist()
        assert got.column("h").to_pylist() == [float(x) if x is not None else None for x in vt.column("h").to_pylist()]
        checked += 1
    try:
        import polars as pl
    except ImportError:
        pl = None
    if pl is not None:
        df = pl.DataFrame({"name": ["alpha", None, "a string that is longer than twelve bytes"], "v": [1, 2, 3]})
        df.write_ipc(f"{tmp}/p.arrow")
        df.write_ipc_stream(f"{tmp}/p.arrows")
        for name in ("p.arrow", "p.arrows"):
            got = ours(f"{tmp}/{name}", "SELECT name, v FROM {src} WHERE v > 0 ORDER BY v")
            assert got.column("name").to_pylist() == df["name"].to_list(), got
            checked += 1
    # nested columns: listed by schema, named when a query needs them, left out of * with a note
    npath = f"{tmp}/nested.parquet"
    pq.write_table(pa.table({"a": [1, 2], "l": pa.array([[1, 2], None], pa.list_(pa.int32())),
                             "s": pa.array([{"x": 1}, {"x": 2}]), "b": ["x", "y"]}), npath)
    r = subprocess.run([prog, "schema", npath], check=True, capture_output=True, text=True)
    assert "l     not queryable: nested type list<int32> is not supported" in r.stdout, r.stdout
    assert "s     not queryable: nested type struct<x: int64> is not supported" in r.stdout, r.stdout
    r = subprocess.run([prog, "query", "--format", "csv", f"SELECT * FROM '{npath}'"], check=True,
                       capture_output=True, text=True)
    assert r.stdout.splitlines() == ["a,b", "1,x", "2,y"], r.stdout
    assert "leaves out the columns that cannot be queried" in r.stderr and "l: nested type list<int32>" in r.stderr, r.stderr
    r = subprocess.run([prog, "query", "--format", "csv", f"SELECT b FROM '{npath}' WHERE a > 1"], check=True,
                       capture_output=True, text=True)
    assert r.stdout.splitlines() == ["b", "y"] and r.stderr == "", r
    fails([f"SELECT a, l FROM '{npath}'"], "column 'l' cannot be queried: nested type list<int32> is not supported")
    fails([f"SELECT count(*) FROM '{npath}' WHERE s IS NULL"], "column 's' cannot be queried")
    checked += 5
    # hive partition values that are dates are date32 (DuckDB's hive_types_autocast), with a
    # declared override; CSV columns declared DATE
    import os
    for d in ("dt=2024-01-02", "dt=0001-01-01", "dt=9999-12-31"):
        os.makedirs(f"{tmp}/hv/{d}")
        pq.write_table(pa.table({"x": pa.array([1, 2], pa.int64())}), f"{tmp}/hv/{d}/f.parquet")
    r = subprocess.run([prog, "schema", f"{tmp}/hv"], check=True, capture_output=True, text=True)
    assert "dt    date32" in r.stdout, r.stdout
    sql = "SELECT dt, sum(x) FROM {src} WHERE dt >= '2000-01-01' GROUP BY dt ORDER BY dt"
    mine = [tuple(r.values()) for r in ours(f"{tmp}/hv", sql).to_pylist()]
    theirs = duckdb.sql(sql.format(src=f"read_parquet('{tmp}/hv/*/*.parquet', hive_partitioning=true)").replace(
        "'2000-01-01'", "DATE '2000-01-01'")).fetchall()
    assert mine == theirs, (mine, theirs)
    assert duckdb.sql(f"SELECT typeof(dt) FROM read_parquet('{tmp}/hv/*/*.parquet', hive_partitioning=true) "
                      "LIMIT 1").fetchall() == [("DATE",)]
    r = subprocess.run([prog, "schema", "--partition-types", "dt VARCHAR", f"{tmp}/hv"], check=True,
                       capture_output=True, text=True)
    assert "dt    utf8" in r.stdout, r.stdout
    with open(f"{tmp}/dd.csv", "w") as f:
        f.write("a,d\n1,2024-02-29\n2,\n3,0001-01-01\n")
    r = subprocess.run([prog, "query", "--format", "csv", "--schema", "a INTEGER, d DATE",
                        f"SELECT a, d FROM '{tmp}/dd.csv' WHERE d < '2024-01-01' OR d IS NULL ORDER BY a"],
                       check=True, capture_output=True, text=True)
    assert r.stdout.splitlines() == ["a,d", "2,", "3,0001-01-01"], r.stdout
    with open(f"{tmp}/de.csv", "w") as f:
        f.write("a,d\n1,2023-02-29\n")
    fails(["--schema", "a INTEGER, d DATE", f"SELECT * FROM '{tmp}/de.csv'"], "line 2", "cannot parse '2023-02-29' as date32")
    checked += 5
    grid = text(path, "SELECT d32 FROM {src} ORDER BY i", "grid")
    assert "9999-12-31" in grid and "0001-01-01" in grid, grid
    checked += 3
print(f"types: {checked} checks: pyarrow and DuckDB agree with tabledata")
