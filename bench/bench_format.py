"""Printing doubles end to end (bench/run.sh): `tabledata query` printing ROWS
prices as a grid and as CSV, and `COPY (SELECT price ...) TO 'x.csv'`, against
DuckDB's `COPY ... TO` CSV of the same rows, both on one thread, on the
realdata Parquet tree (bench/realdata: id, ts, sym, price, ...).  Engines
alternate, each run in a fresh process; reports the best wall time and its
CPU time, and the ratios tabledata / DuckDB.  A CPU ratio is the figure to
trust on a loaded machine.
usage: bench_format.py TABLEDATA[,TABLEDATA2] DATADIR [ROWS] [REPEATS]
(DATADIR holds parquet/region=.../day=.../*.parquet; a second program, e.g.
an older build, runs alternating with the first, its ratios printed too)"""
import os
import resource
import subprocess
import sys
import tempfile
import time

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
best = {k: (float("inf"), 0.0) for k in runs}
for _ in range(REPEATS):
    for name, argv in runs.items():  # alternating
        if os.path.exists(out):
            os.remove(out)
        r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.perf_counter()
        subprocess.run(argv, check=True, stdout=subprocess.DEVNULL)
        dt = time.perf_counter() - t0
        r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        if dt < best[name][0]:
            best[name] = (dt, (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime))
print(f"printing {ROWS} doubles (price), 1 thread (best of {REPEATS}, fresh process each):")
print("run                                 seconds   cpu s")
for name, (t, cpu) in best.items():
    print(f"{name:35} {t:8.2f} {cpu:7.2f}")
duck = best["duckdb COPY TO csv"]
for name, (t, cpu) in best.items():
    if name.startswith("tabledata") and "grid" not in name:
        print(f"ratio {name} / duckdb COPY: time {t / duck[0]:.2f}x, cpu {cpu / duck[1]:.2f}x")
os.remove(out)
os.rmdir(work)
