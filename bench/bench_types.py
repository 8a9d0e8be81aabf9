"""Reading every type of issue 10 that tabledata reads, against int64 and utf8 (the baseline),
as MB/s of decoded values (tabledata's reader: bench_types --files; variable-length types
count 4 bytes of offset a row plus their bytes) and, for the Parquet files, as DuckDB's
time for the same file's column (SELECT sum(hash(x)), one thread: every value is read, not
the Parquet statistics that max(x) would use).  Files are written with pyarrow from the
project's .venv: Parquet for the types Parquet stores (decimal128 as INT32, INT64 and
FIXED_LEN_BYTE_ARRAY; pyarrow writes no BYTE_ARRAY decimals), Arrow IPC for the types only
Arrow has (date64, timestamp[s], large_utf8, large_binary, utf8_view, binary_view,
fixed_size_binary).

usage: bench_types.py BENCH_TYPES_PROGRAM [ROWS] [REPEATS]
"""
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
mask = pa.array(nulls)
words = pa.array(np.char.add("abcdefg", (ints % 10).astype(str)))  # 8 bytes each
utf8 = pc.if_else(mask, None, words)
blobs = utf8.cast(pa.binary())
fixed16 = pa.array(rng.integers(0, 256, (rows, 16), dtype=np.uint8).view("S16").ravel(), pa.binary(16), mask=nulls)


def i64(unit_type):
    return pa.array(ints, pa.int64(), mask=nulls).cast(unit_type)


# (name, array, format): Parquet files also go to DuckDB
cols = [
    ("int64", pa.array(ints, mask=nulls), "parquet"),
    ("utf8", utf8, "parquet"),
    ("date32", pa.array((ints % 100000).astype(np.int32), pa.int32(), mask=nulls).cast(pa.date32()), "parquet"),
    ("time64_us", pa.array(np.abs(ints) % 86_400_000_000, pa.int64(), mask=nulls).cast(pa.time64("us")), "parquet"),
    ("timestamp_ms", i64(pa.timestamp("ms")), "parquet"),
    ("timestamp_us", i64(pa.timestamp("us")), "parquet"),
    # decimal128 from the same unscaled integers (exact): INT32, INT64 and FIXED_LEN_BYTE_ARRAY(16)
    ("decimal9_int32", pa.array(ints % 10**7, mask=nulls).cast(pa.decimal128(38, 2)).cast(pa.decimal128(9, 2)),
     "parquet"),
    ("decimal18_int64", pa.array(ints, mask=nulls).cast(pa.decimal128(38, 6)).cast(pa.decimal128(18, 6)), "parquet"),
    ("decimal38_flba", pa.array(ints, mask=nulls).cast(pa.decimal128(38, 10)), "parquet"),
    ("uint8", pa.array((ints % 256).astype(np.uint8), mask=nulls), "parquet"),
    ("uint32", pa.array((ints % 2**32).astype(np.uint32), mask=nulls), "parquet"),
    # uint64 with half the values above INT64_MAX (Parquet INT(64, unsigned))
    ("uint64", pa.array(ints.astype(np.uint64) + np.uint64(2**63), mask=nulls), "parquet"),
    ("float16", pa.array((ints % 2048).astype(np.float16), mask=nulls), "parquet"),
    ("binary", blobs, "parquet"),
    ("flba16_binary", fixed16, "parquet"),
    ("int64", pa.array(ints, mask=nulls), "arrow"),
    ("utf8", utf8, "arrow"),
    ("date64", pa.array((ints % 100000) * 86_400_000, pa.int64(), mask=nulls).cast(pa.date64()), "arrow"),
    ("timestamp_s", pa.array(ints % 10**10, pa.int64(), mask=nulls).cast(pa.timestamp("s")), "arrow"),
    ("large_utf8", utf8.cast(pa.large_string()), "arrow"),
    ("utf8_view", utf8.cast(pa.string_view()), "arrow"),
    ("binary", blobs, "arrow"),
    ("large_binary", blobs.cast(pa.large_binary()), "arrow"),
    ("binary_view", blobs.cast(pa.binary_view()), "arrow"),
    ("fixed_binary16", fixed16, "arrow"),
]


def decoded_bytes(arr):
    """The engine's bytes of the column: values, or 4-byte offsets plus the bytes."""
    t = arr.type
    if pa.types.is_decimal(t):
        return rows * 16
    if pa.types.is_float16(t):
        return rows * 4  # read as float32
    try:
        if not pa.types.is_fixed_size_binary(t):
            return rows * t.bit_width // 8
    except ValueError:  # variable width
        pass
    return rows * 4 + pc.sum(pc.binary_length(arr.cast(pa.large_binary()))).as_py()


with tempfile.TemporaryDirectory() as tmp:
    files, nbytes = [], {}
    for name, arr, fmt in cols:
        path = f"{tmp}/{name}.{fmt}"
        table = pa.table({"x": arr})
        if fmt == "parquet":
            pq.write_table(table, path, store_decimal_as_integer=name.endswith("_int32") or name.endswith("_int64"),
                           compression="none")
        else:
            feather.write_feather(table, path, compression="uncompressed")
        files.append(path)
        nbytes[path] = decoded_bytes(arr)
    print(subprocess.run([prog, "--files", str(repeats)] + files, check=True, capture_output=True,
                         text=True).stdout, end="")
    con = duckdb.connect()
    con.execute("SET threads = 1")
    print("DuckDB (1 thread), SELECT sum(hash(x)) over the same Parquet files (the same bytes counted):")
    for path in files:
        if not path.endswith(".parquet"):
            continue
        best = 1e30
        try:
            for _ in range(repeats):
                t0 = time.perf_counter()
                con.execute(f"SELECT sum(hash(x)) FROM read_parquet('{path}')").fetchall()
                best = min(best, time.perf_counter() - t0)
        except duckdb.Error as e:
            print(f"  {os.path.basename(path):28s} not read: {str(e).splitlines()[0][:60]}")
            continue
        print(f"  {os.path.basename(path):28s} {rows / best / 1e6:7.1f} Mrows/s"
              f" {nbytes[path] / best / 1e6:8.1f} MB/s of values")
