"""Printing doubles end to end (bench/run.sh): `tabledata query` printing ROWS
prices as a grid and as CSV, and `COPY (SELECT price ...) TO 'x.csv'`, against
DuckDB's `COPY ... TO` CSV of the same rows, both on one thread, on the
realdata Parquet tree (bench/realdata: id, ts, sym, price, ...).  Engines
alternate, each run in a fresh process; reports the best wall time and its
CPU time, and the ratios tabledata / DuckDB (DuckDB's COPY less the time of
a Python process that only imports duckdb and connects).  A CPU ratio is
the figure to trust on a loaded machine.
usage: bench_format.py TABLEDATA[,TABLEDATA2] DATADIR [ROWS] [REPEATS]
(DATADIR holds parquet/region=.../day=.../*.parquet; a second program, e.g.
an older build, runs alternating with the first, its ratios printed too)"""
import os
import sys
import tempfile

from bench_timing import timed

EXES = sys.argv[1].split(",")
DATA = sys.argv[2]
ROWS = int(sys.argv[3]) if len(sys.argv) > 3 else 1_000_000
REPEATS = int(sys.argv[4]) if len(sys.argv) > 4 else 3
PY = sys.executable
tree = os.path.join(DATA, "parquet")
if not os.path.isdir(tree):
    print(f"bench_format: {tree} missing (bench/realdata makes it); skipped")
    sys.exit(0)
work = tempfile.mkdtemp(prefix="td-bench-format-")
out = os.path.join(work, "x.csv")
sel = f"SELECT price FROM '{tree}' LIMIT {ROWS}"
duck_sel = f"SELECT price FROM read_parquet('{tree}/**/*.parquet', hive_partitioning=true) LIMIT {ROWS}"
runs = {}
for i, exe in enumerate(EXES):
    tag = f" #{i + 1}" if len(EXES) > 1 else ""
    runs[f"tabledata query (grid){tag}"] = [exe, "query", "--threads", "1", sel]
    runs[f"tabledata query --format csv{tag}"] = [exe, "query", "--threads", "1", "--format", "csv", sel]
    runs[f"tabledata COPY TO csv{tag}"] = [exe, "query", "--threads", "1", f"COPY ({sel}) TO '{out}'"]
runs["duckdb COPY TO csv"] = [PY, "-c", "import duckdb; c = duckdb.connect(config={'threads': 1}); "
                              "c.execute('SET enable_progress_bar=false'); "
                              f"c.execute(\"COPY ({duck_sel}) TO '{out}' (HEADER)\")"]
# DuckDB's Python start (import, connect), subtracted from its COPY below
runs["duckdb start"] = [PY, "-c", "import duckdb; duckdb.connect(config={'threads': 1})"]
best = {k: (float("inf"), 0.0) for k in runs}
for _ in range(REPEATS):
    for name, argv in runs.items():  # alternating
        dt, cpu = timed(argv, out)
        if dt < best[name][0]:
            best[name] = (dt, cpu)
print(f"printing {ROWS} doubles (price), 1 thread (best of {REPEATS}, fresh process each):")
print("run                                 seconds   cpu s")
for name, (t, cpu) in best.items():
    print(f"{name:35} {t:8.2f} {cpu:7.2f}")
duck = [a - b for a, b in zip(best["duckdb COPY TO csv"], best["duckdb start"])]
for name, (t, cpu) in best.items():
    if name.startswith("tabledata") and "grid" not in name:
        print(f"ratio {name} / duckdb COPY (less its start): time {t / duck[0]:.2f}x, cpu {cpu / duck[1]:.2f}x")
if os.path.exists(out):
    os.remove(out)
os.rmdir(work)
