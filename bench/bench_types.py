"""Reading the newer types (decimal128 stored as INT64 and as FIXED_LEN_BYTE_ARRAY, uint64
above INT64_MAX, date32, timestamp[ms], Arrow IPC Utf8View and LargeUtf8) against int64 and utf8, as MB/s of decoded values (tabledata's
reader: bench_types --files) and as DuckDB's time for the same Parquet file's column
(SELECT sum(hash(x)), one thread: every value is read, not the
Parquet statistics that max(x) would use).  Files are written with pyarrow from the project's .venv.

usage: bench_types.py BENCH_TYPES_PROGRAM [ROWS] [REPEATS]
"""
import decimal as D
import os
import subprocess
import sys
import tempfile
import time

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.feather as feather
import pyarrow.parquet as pq

prog = sys.argv[1]
rows = int(sys.argv[2]) if len(sys.argv) > 2 else 4_000_000
repeats = int(sys.argv[3]) if len(sys.argv) > 3 else 5
rng = np.random.default_rng(7)
ints = rng.integers(-10**11, 10**11, rows)
nulls = rng.random(rows) < 1 / 16
words = pa.array(np.char.add("abcdefg", (ints % 10).astype(str)))  # 8 bytes each
cols = {
    "int64": pa.array(ints, mask=nulls),
    "utf8": pc.if_else(pa.array(nulls), None, words),
    # decimal128 from the same unscaled integers (exact): precision 18 stored as INT64,
    # precision 38 as FIXED_LEN_BYTE_ARRAY(16)
    "decimal18": pa.array(ints, mask=nulls).cast(pa.decimal128(38, 6)).cast(pa.decimal128(18, 6)),
    "decimal38": pa.array(ints, mask=nulls).cast(pa.decimal128(38, 10)),
    # uint64 with half the values above INT64_MAX (Parquet INT(64, unsigned))
    "uint64": pa.array(ints.astype(np.uint64) + np.uint64(2**63), mask=nulls),
    "date32": pa.array((ints % 100000).astype(np.int32), pa.int32(), mask=nulls).cast(pa.date32()),
    "timestamp_ms": pa.array(ints, pa.int64(), mask=nulls).cast(pa.timestamp("ms")),
}
width = {"int64": 8, "utf8": 8, "decimal18": 16, "decimal38": 16, "uint64": 8, "date32": 4, "timestamp_ms": 8}
with tempfile.TemporaryDirectory() as tmp:
    files = []
    for name, arr in cols.items():
        path = f"{tmp}/{name}.parquet"
        pq.write_table(pa.table({"x": arr}), path, store_decimal_as_integer=name == "decimal18",
                       compression="none")
        files.append(path)
    for name, arr in (("utf8", cols["utf8"]), ("utf8_view", cols["utf8"].cast(pa.string_view())),
                      ("large_utf8", cols["utf8"].cast(pa.large_string()))):
        path = f"{tmp}/{name}.arrow"
        feather.write_feather(pa.table({"x": arr}), path, compression="uncompressed")
        files.append(path)
    print(subprocess.run([prog, "--files", str(repeats)] + files, check=True, capture_output=True,
                         text=True).stdout, end="")
    con = duckdb.connect()
    con.execute("SET threads = 1")
    print("DuckDB (1 thread), SELECT sum(hash(x)) over the same Parquet files:")
    for path in files:
        if not path.endswith(".parquet"):
            continue
        best = 1e30
        for _ in range(repeats):
            t0 = time.perf_counter()
            con.execute(f"SELECT sum(hash(x)) FROM read_parquet('{path}')").fetchall()
            best = min(best, time.perf_counter() - t0)
        name = os.path.basename(path).split(".")[0]
        print(f"  {os.path.basename(path):28s} {rows / best / 1e6:7.1f} Mrows/s"
              f" {rows * width[name] / best / 1e6:8.1f} MB/s of values")
