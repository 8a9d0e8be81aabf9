"""Dictionary-encoded Parquet columns with nulls (the decoder gathers the
dictionary entries with the nulls in place, no scatter pass; short strings
move as one 16-byte copy): filters and group-bys over files pyarrow writes
dictionary-encoded give the same answers as the same rows written PLAIN and
as DuckDB over the dictionary file.  The files have a new dictionary in
every row group (different values), chunks whose dictionary overflows so
later pages fall back to PLAIN, all-null pages, empty strings, strings
longer than 16 bytes, multi-byte UTF-8, and nullable integer and double
dictionaries.

usage: check_dictionary.py TABLEDATA_PROGRAM
"""
import subprocess
import sys
import tempfile

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

prog = sys.argv[1]
N = 300_000  # 3 row groups of 100,000 rows; engine pages of 65,536 rows span them


def vocab(g):
    """The strings of row group g: mostly different from the other groups'."""
    words = [f"g{g}-w{k}" for k in range(40)]
    words += ["", "B", "S", "é€𝄞", "a string longer than sixteen bytes", f"g{g}-" + "x" * 40, "shared"]
    return words


def s_value(i):
    g = i // 100_000
    if (i // 5000) % 7 == 3:  # whole runs (pages) of nulls
        return None
    if i % 10 == 0 or i % 13 == 0:
        return None
    v = vocab(g)
    return v[(i * 7919) % len(v)]


rows_s = [s_value(i) for i in range(N)]
# From row 200,000 on, (nearly) every value is new: the chunk's dictionary
# page fills up and pyarrow writes the remaining pages PLAIN.
rows_u = [None if i % 11 == 0 else (f"u{i % 50}" if i < 200_000 else f"unique-{i}") for i in range(N)]
rows_i = [None if i % 9 == 0 else (i * 31) % 17 for i in range(N)]
rows_f = [None if i % 4 == 1 else float((i * 13) % 5) / 4 for i in range(N)]
table = pa.table({
    "id": pa.array(range(N), pa.int64()),
    "s": pa.array(rows_s, pa.string()),
    "u": pa.array(rows_u, pa.string()),
    "i": pa.array(rows_i, pa.int64()),
    "f": pa.array(rows_f, pa.float64()),
})

QUERIES = [
    "SELECT count(*) AS n FROM {T} WHERE s = 'B'",
    "SELECT count(*) AS n FROM {T} WHERE s <> 'B'",
    "SELECT count(*) AS n FROM {T} WHERE s = ''",
    "SELECT count(*) AS n FROM {T} WHERE s = 'a string longer than sixteen bytes'",
    "SELECT count(*) AS n FROM {T} WHERE s = 'é€𝄞'",
    "SELECT count(*) AS n FROM {T} WHERE s IN ('g0-w1', 'g1-w2', 'g2-w3', 'shared')",
    "SELECT count(*) AS n FROM {T} WHERE s LIKE 'g1-%'",
    "SELECT count(*) AS n FROM {T} WHERE s IS NULL",
    "SELECT count(*) AS n, count(s) AS c, min(s) AS lo, max(s) AS hi FROM {T}",
    "SELECT s, count(*) AS n, sum(i) AS si, sum(f) AS sf FROM {T} GROUP BY s ORDER BY s",
    "SELECT s, i, count(*) AS n FROM {T} GROUP BY s, i ORDER BY s, i",
    "SELECT id, s, u, i, f FROM {T} WHERE id % 997 = 0 ORDER BY id",
    "SELECT id, s FROM {T} WHERE s = 'shared' AND id % 101 = 0 ORDER BY id",
    "SELECT count(*) AS n, count(u) AS c, sum(length(u)) AS l FROM {T}",
    "SELECT count(*) AS n FROM {T} WHERE u = 'u7' OR u = 'unique-250001'",
    "SELECT i, count(*) AS n, sum(f) AS sf FROM {T} GROUP BY i ORDER BY i",
    "SELECT f, count(*) AS n FROM {T} WHERE f IS NOT NULL GROUP BY f ORDER BY f",
]


def td(path, sql, threads):
    p = subprocess.run([prog, "query", "--format", "csv", "--threads", str(threads), sql.format(T=f"'{path}'")],
                       capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit(f"tabledata failed on {sql}: {p.stderr}")
    # (no cell holds a comma; an empty cell is NULL, "" the empty string)
    return [tuple(None if c == "" else "" if c == '""' else c for c in line.split(","))
            for line in p.stdout.splitlines()[1:]]


def canon(cell):
    if cell is None:
        return "<null>"
    if cell == "":
        return ""
    if isinstance(cell, float):
        return repr(round(cell, 9))
    try:
        return repr(round(float(cell), 9)) if not str(cell).strip().lstrip("-").isalpha() else str(cell)
    except ValueError:
        return str(cell)


def rows_of(rs):
    return [tuple(canon(c) for c in r) for r in rs]


with tempfile.TemporaryDirectory() as tmp:
    dict_path, plain_path = f"{tmp}/dict.parquet", f"{tmp}/plain.parquet"
    pq.write_table(table, dict_path, row_group_size=100_000, data_page_size=4096, use_dictionary=True,
                   dictionary_pagesize_limit=64 * 1024, compression="snappy")
    pq.write_table(table, plain_path, row_group_size=100_000, data_page_size=4096, use_dictionary=False,
                   compression="snappy")
    md = pq.ParquetFile(dict_path).metadata
    assert md.num_row_groups == 3
    encs = [set(md.row_group(g).column(c).encodings) for g in range(3) for c in range(1, 5)]
    assert all("RLE_DICTIONARY" in e for e in encs), encs
    assert "PLAIN" in md.row_group(2).column(2).encodings, "column u should fall back to PLAIN"
    con = duckdb.connect()
    failed = 0
    for sql in QUERIES:
        # DuckDB prints NULL keys as None; tabledata's CSV as empty cells.
        ref = rows_of(con.sql(sql.format(T=f"'{dict_path}'")).fetchall())
        for path, threads in ((dict_path, 1), (dict_path, 2), (plain_path, 1)):
            got = rows_of(td(path, sql, threads))
            if got != ref:
                failed += 1
                bad = next((k for k in range(min(len(got), len(ref))) if got[k] != ref[k]), None)
                print(f"FAIL {sql} ({path.split('/')[-1]}, {threads} threads): {len(got)} rows vs {len(ref)};"
                      f" first difference {got[bad] if bad is not None else None} vs"
                      f" {ref[bad] if bad is not None else None}")
    if failed:
        sys.exit(1)
    print(f"dictionary columns: {len(QUERIES)} queries, dictionary file at 1 and 2 threads and PLAIN file,"
          " equal to DuckDB")
