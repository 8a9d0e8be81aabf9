"""COPY ... TO Parquet (bench/run.sh): tabledata's own Parquet writer against
DuckDB's COPY on the speed dataset of bench_read.py (read_<ROWS>.parquet:
id, ts, sym, price, qty, flag, side; made by bench_read.py, which run.sh runs
first).  Each engine runs in a fresh process, best of REPEATS wall time, for
snappy and zstd; reports seconds, rows/s, the output size and the ratios
(tabledata / DuckDB).  DuckDB runs with 1 thread (as tabledata's COPY, whose
query streams on the calling thread) and with 2.
usage: bench_copy.py TABLEDATA WORKDIR [ROWS] [REPEATS]"""
import os
import sys

from bench_timing import timed

EXE = sys.argv[1]
WORK = sys.argv[2]
ROWS = int(sys.argv[3]) if len(sys.argv) > 3 else 10_000_000
REPEATS = int(sys.argv[4]) if len(sys.argv) > 4 else 3
PY = sys.executable
src = os.path.join(WORK, f"read_{ROWS}.parquet")
if not os.path.exists(src):
    print(f"bench_copy: {src} missing (bench/bench_read.py makes it); skipped")
    sys.exit(0)


def best(argv, out):
    """Best wall seconds, the CPU seconds (user + system) of that run, size."""
    t, cpu = float("inf"), 0.0
    for _ in range(REPEATS):
        dt, c = timed(argv, out)
        if dt < t:
            t, cpu = dt, c
    return t, cpu, os.path.getsize(out)


print(f"COPY {ROWS} rows to Parquet (best of {REPEATS}, fresh process each):")
print("codec   engine            seconds   cpu s   Mrows/s   size MiB")
for codec in ("snappy", "zstd"):
    ours_out = os.path.join(WORK, f"copy_td_{codec}.parquet")
    duck_out = os.path.join(WORK, f"copy_duck_{codec}.parquet")
    ours = best([EXE, "query", f"COPY '{src}' TO '{ours_out}' (COMPRESSION {codec})"], ours_out)
    res = {"tabledata": ours}
    for threads in (1, 2):
        code = (f"import duckdb; c = duckdb.connect(); c.execute('SET threads={threads}'); "
                f"c.execute('SET enable_progress_bar=false'); "
                f"c.execute(\"COPY (SELECT * FROM '{src}') TO '{duck_out}' (FORMAT parquet, COMPRESSION {codec})\")")
        res[f"duckdb {threads} thread"] = best([PY, "-c", code], duck_out)
    for name, (t, cpu, size) in res.items():
        print(f"{codec:7} {name:16} {t:8.2f} {cpu:7.2f} {ROWS / t / 1e6:9.1f} {size / 2**20:10.1f}")
    for threads in (1, 2):
        t, cpu, size = res[f"duckdb {threads} thread"]
        print(f"{codec:7} ratio vs DuckDB {threads} thread: time {ours[0] / t:.2f}x, cpu {ours[1] / cpu:.2f}x, "
              f"size {ours[2] / size:.2f}x")
    os.remove(ours_out)
    os.remove(duck_out)
