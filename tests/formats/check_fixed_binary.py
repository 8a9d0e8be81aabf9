"""Parquet FIXED_LEN_BYTE_ARRAY without a logical type (pyarrow's fixed_size_binary) and
with the UUID logical type (DuckDB's UUID), and Arrow IPC FixedSizeBinary, read as binary:
each value its fixed-width bytes.  Parquet files cover PLAIN, dictionary, DELTA_BYTE_ARRAY
and BYTE_STREAM_SPLIT encodings, nullable and required columns, data page v1 and v2,
uncompressed and snappy, 0-, 1- and many-row files; every file read by tabledata
(`query --format arrow`) must equal pyarrow's (or DuckDB's) reading of the same file
exactly, and filters and aggregates on the column must equal DuckDB's.

usage: check_fixed_binary.py TABLEDATA_PROGRAM
"""
import random
import subprocess
import sys
import tempfile

import duckdb
import pyarrow as pa
import pyarrow.feather as feather
import pyarrow.parquet as pq

prog = sys.argv[1]
rnd = random.Random(10)


def ours(path, sql="SELECT * FROM {src} ORDER BY i"):
    out = subprocess.run([prog, "query", "--format", "arrow", sql.format(src=f"'{path}'")], check=True,
                         capture_output=True).stdout
    return pa.ipc.open_stream(out).read_all()


def as_binary(col):
    """A fixed_size_binary (or uuid extension) column as plain binary values."""
    if isinstance(col.type, pa.ExtensionType):
        col = col.cast(col.type.storage_type)
    return col.cast(pa.binary())


def table(rows, width, nullable=True):
    pool = [bytes(rnd.randrange(256) for _ in range(width)) for _ in range(7)]
    pool += [b"\x00" * width, b"\xff" * width]  # extremes of the unsigned byte order
    vals = [pool[rnd.randrange(len(pool))] if not nullable or i % 5 != 2 else None for i in range(rows)]
    fields = [pa.field("i", pa.int64(), nullable=False), pa.field("b", pa.binary(width), nullable=nullable)]
    return pa.table({"i": pa.array(range(rows), pa.int64()), "b": pa.array(vals, pa.binary(width))},
                    schema=pa.schema(fields))


def same(path, want):
    got = ours(path)
    assert got.schema.field("b").type == pa.binary(), (path, got.schema)
    assert got.column("i").to_pylist() == want.column("i").to_pylist(), path
    assert got.column("b").to_pylist() == as_binary(want.column("b")).to_pylist(), (path, got, want)


checked = 0
with tempfile.TemporaryDirectory() as tmp:
    # pyarrow: every layout of FIXED_LEN_BYTE_ARRAY(width) without a logical type
    for rows, width, nullable in ((3000, 16, True), (3000, 16, False), (1000, 3, True), (1, 16, True),
                                  (0, 16, True), (700, 1, False)):
        t = table(rows, width, nullable)
        for enc in ("dict", "PLAIN", "DELTA_BYTE_ARRAY", "BYTE_STREAM_SPLIT"):
            for version in ("1.0", "2.0"):
                for codec in ("none", "snappy"):
                    path = f"{tmp}/b_{rows}_{width}_{nullable}_{enc}_{version}_{codec}.parquet"
                    kw = dict(use_dictionary=True) if enc == "dict" else dict(
                        use_dictionary=False, column_encoding={"b": enc, "i": "PLAIN"})
                    pq.write_table(t, path, data_page_version=version, compression=codec, data_page_size=512,
                                   row_group_size=1200, **kw)
                    md = pq.ParquetFile(path).metadata
                    assert md.schema.column(1).physical_type == "FIXED_LEN_BYTE_ARRAY", md.schema
                    if rows > 1 and enc != "dict":
                        assert enc in md.row_group(0).column(1).encodings, md.row_group(0).column(1)
                    same(path, pq.read_table(path))
                    checked += 1
    # filters, aggregates and group-bys on the binary column against DuckDB (it reads the
    # column as BLOB); row-group statistics may skip pages (unsigned byte order)
    path = f"{tmp}/b_3000_16_True_dict_1.0_snappy.parquet"
    probe = next(v for v in pq.read_table(path).column("b").to_pylist() if v)
    lit = "".join(f"\\x{c:02X}" for c in probe)
    for sql in ("SELECT count(*), count(b), min(b), max(b), count(DISTINCT b) FROM {src}",
                f"SELECT count(*) FROM {{src}} WHERE b = CAST('{lit}' AS BLOB)",
                f"SELECT i FROM {{src}} WHERE b > CAST('{lit}' AS BLOB) ORDER BY i LIMIT 20",
                "SELECT b, count(*) FROM {src} GROUP BY b ORDER BY b NULLS FIRST",
                "SELECT length(b), count(*) FROM {src} GROUP BY 1 ORDER BY 1 NULLS FIRST"):
        mine = [tuple(r.values()) for r in ours(path, sql).to_pylist()]
        theirs = duckdb.sql(sql.format(src=f"read_parquet('{path}')").replace(
            f"CAST('{lit}' AS BLOB)", f"'{lit}'::BLOB").replace("length(b)", "octet_length(b)")).fetchall()
        assert mine == theirs, (sql, mine, theirs)
        checked += 1
    # DuckDB's UUID columns: FIXED_LEN_BYTE_ARRAY(16) with the UUID logical type, the 16 bytes
    # big-endian (uuid.UUID.bytes), PLAIN and dictionary-encoded, with nulls
    upath = f"{tmp}/uuid.parquet"
    duckdb.sql(f"""COPY (SELECT i, CASE WHEN i % 7 = 3 THEN NULL
                                      WHEN i % 2 = 0 THEN ('00000000-0000-0000-0000-00000000000' || (i % 5))::UUID
                                      ELSE md5(i::VARCHAR)::UUID END AS b
                   FROM range(5000) t(i)) TO '{upath}' (FORMAT PARQUET, ROW_GROUP_SIZE 2048)""")
    md = pq.ParquetFile(upath).metadata
    assert str(md.schema.column(1).logical_type) == "UUID", md.schema
    got = ours(upath)
    theirs = duckdb.sql(f"SELECT i, b FROM read_parquet('{upath}') ORDER BY i").fetchall()
    assert got.column("b").to_pylist() == [None if u is None else u.bytes for _, u in theirs], upath
    assert got.column("i").to_pylist() == [i for i, _ in theirs]
    mine = [tuple(r.values()) for r in ours(upath, "SELECT count(b), count(DISTINCT b) FROM {src}").to_pylist()]
    assert mine == duckdb.sql(f"SELECT count(b), count(DISTINCT b) FROM read_parquet('{upath}')").fetchall(), mine
    checked += 2
    # Arrow IPC FixedSizeBinary (file, LZ4 file, stream of several batches)
    t = table(2500, 16)
    for name, write in (("f.arrow", lambda p: feather.write_feather(t, p, compression="uncompressed")),
                        ("fz.arrow", lambda p: feather.write_feather(t, p, compression="lz4", chunksize=1000))):
        write(f"{tmp}/{name}")
        same(f"{tmp}/{name}", t)
        checked += 1
    with pa.OSFile(f"{tmp}/f.arrows", "wb") as f, pa.ipc.new_stream(f, t.schema) as w:
        for b in t.to_batches(max_chunksize=700):
            w.write_batch(b)
    same(f"{tmp}/f.arrows", t)
    mine = [tuple(r.values()) for r in ours(f"{tmp}/f.arrows", "SELECT b, count(*) FROM {src} GROUP BY b "
                                                             "ORDER BY b NULLS FIRST").to_pylist()]
    want = {}
    for v in t.column("b").to_pylist():
        want[v] = want.get(v, 0) + 1
    assert mine == sorted(want.items(), key=lambda kv: (kv[0] is not None, kv[0] or b"")), mine
    checked += 2
    r = subprocess.run([prog, "schema", f"{tmp}/f.arrow"], check=True, capture_output=True, text=True)
    assert "binary" in r.stdout and "not queryable" not in r.stdout, r.stdout
    checked += 1
print(f"fixed-size binary: {checked} checks: pyarrow and DuckDB agree with tabledata")
