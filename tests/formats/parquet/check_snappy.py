"""The project's snappy decoder (formats/parquet/codec.c, snappy_fast) gives
byte-identical query results to libsnappy alone (TD_PARQUET_SNAPPY_FAST=0)
on every snappy path of the reader: files pyarrow writes here (random
doubles like the benchmark's prices, which are one snappy tag per four
bytes; nullable columns with nulls in v1 and v2 data pages, which land in
place; dictionary pages and chunks that fall back to PLAIN; required
columns; small pages and row groups that engine pages straddle; zstd, gzip
and uncompressed columns beside them), and every snappy Parquet file of
tests/data.  Each file is read whole (SELECT *) and summed, in CSV.

usage: check_snappy.py TABLEDATA_PROGRAM TESTDATA_DIR
"""
import glob
import os
import random
import subprocess
import sys
import tempfile

import pyarrow as pa
import pyarrow.parquet as pq

prog, testdata = sys.argv[1], sys.argv[2]


def run(sql, fast):
    env = dict(os.environ, TD_PARQUET_SNAPPY_FAST=fast)
    p = subprocess.run([prog, "query", "--format", "csv", sql], capture_output=True, text=True, env=env)
    return p.returncode, p.stdout, p.stderr


def table(n, seed):
    rnd = random.Random(seed)
    price = [round(rnd.uniform(10, 1000), 2) for _ in range(n)]
    words = [f"w{k}" for k in range(50)]
    return pa.table({
        "price": pa.array(price, pa.float64()),
        "nprice": pa.array([None if i % 17 == 0 or (i // 3000) % 5 == 2 else p for i, p in enumerate(price)],
                           pa.float64()),
        "id": pa.array(range(n), pa.int64()),
        "qty": pa.array([None if i % 11 == 0 else rnd.randrange(1000) for i in range(n)], pa.int32()),
        # a dictionary that overflows the dictionary page limit: later pages PLAIN
        "sym": pa.array([None if i % 13 == 0 else (words[i % 50] if i < n // 2 else f"s{i}") for i in range(n)]),
        "run": pa.array([float(i // 1000) for i in range(n)], pa.float64()),  # long copies
    })


checked = 0
failures = []
with tempfile.TemporaryDirectory() as tmp:
    files = []
    t = table(40_000, 7)
    for name, kw in [
        ("v1", dict(compression="snappy", data_page_version="1.0")),
        ("v2", dict(compression="snappy", data_page_version="2.0")),
        ("small_pages", dict(compression="snappy", data_page_size=3000, row_group_size=7000)),
        ("no_dict", dict(compression="snappy", use_dictionary=False)),
        ("dict_limit", dict(compression="snappy", dictionary_pagesize_limit=2000)),
        ("mixed", dict(compression={"price": "snappy", "nprice": "zstd", "id": "gzip", "qty": "none",
                                    "sym": "snappy", "run": "snappy"})),
    ]:
        path = os.path.join(tmp, name + ".parquet")
        pq.write_table(t, path, **kw)
        files.append(path)
    schema = pa.schema([pa.field("x", pa.float64(), nullable=False)])
    req = pa.table({"x": t.column("price").combine_chunks()}, schema=schema)
    path = os.path.join(tmp, "required.parquet")
    pq.write_table(req, path, compression="snappy", data_page_size=5000)
    files.append(path)
    for f in sorted(glob.glob(os.path.join(testdata, "parquet", "**", "*.parquet"), recursive=True)):
        try:
            md = pq.ParquetFile(f).metadata
            if any(md.row_group(g).column(c).compression == "SNAPPY"
                   for g in range(md.num_row_groups) for c in range(md.row_group(g).num_columns)):
                files.append(f)
        except Exception:
            files.append(f)  # malformed on purpose: both must fail alike
    sums = {f: f"SELECT count(*) AS n, sum(price) AS s, sum(nprice) AS t FROM '{f}'" for f in files[:6]}
    for f in files:
        for sql in (f"SELECT * FROM '{f}'", sums.get(f)):
            if not sql:
                continue
            lib, own = run(sql, "0"), run(sql, "1")
            if f.startswith(tmp) and (lib[0] != 0 or lib[1].count("\n") < 2):
                failures.append(f"{sql}: no rows ({lib[2][:200]!r})")
            if lib != own:
                failures.append(f"{sql}: libsnappy {lib[0]} {lib[1][:200]!r} {lib[2][:200]!r}; "
                                f"own {own[0]} {own[1][:200]!r} {own[2][:200]!r}")
            checked += 1
    if len(files) < 20:
        failures.append(f"only {len(files)} files found")

for f in failures:
    print("FAIL", f)
print(f"snappy: {checked} queries compared, {len(failures)} failed")
sys.exit(1 if failures else 0)
