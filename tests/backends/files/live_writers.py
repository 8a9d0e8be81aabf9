"""Live directories fed by real writers (issue 10, item 5).

`tabledata follow` watches an empty directory, started with a declared
schema and partition types, while DuckDB appends to it with
COPY ... (PARTITION_BY, APPEND) (UUID file names, which do not sort in
arrival order), Polars writes new partitions with a partitioned write, and
files being written (tmp_*, *.tmp, hidden, _SUCCESS) lie around.  At the end
the followed count and sum equal what the writers wrote.

Also static: a tree DuckDB writes with WRITE_PARTITION_COLUMNS (the
partition columns stored in the files too) reads as DuckDB reads it, and a
file whose stored value disagrees with its directory fails naming the row.

usage: live_writers.py <tabledata>   (run with the project's .venv python)
"""
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

import duckdb
import polars as pl

prog = sys.argv[1]
root = tempfile.mkdtemp(prefix="td_live_writers_")
lines = []


def reader(stream):
    for line in stream:
        lines.append(line.rstrip("\n"))


def last_values():
    """The last record of the follow output (csv: op,version,n,sx), as (n, sx)."""
    for line in reversed(lines):
        if line.startswith(("add,", "update,")):
            _op, _version, n, sx = line.split(",")
            return int(n), int(sx or 0)
    return None


def wait_for(want, seconds=20):
    end = time.time() + seconds
    while time.time() < end:
        if last_values() == want:
            return True
        if follow.poll() is not None:
            return False
        time.sleep(0.05)
    return False


# ---- static: partition columns stored in the files ----
wpc = os.path.join(root, "wpc")
con0 = duckdb.connect()
con0.execute(f"COPY (SELECT i AS x, i % 3 AS k, DATE '2024-01-01' + (i % 2)::INT AS d FROM range(100) t(i)) "
             f"TO '{wpc}' (FORMAT parquet, PARTITION_BY (k, d), WRITE_PARTITION_COLUMNS true)")
want = con0.execute(f"SELECT count(*), sum(x), sum(k) FROM read_parquet('{wpc}/**/*.parquet')").fetchone()
out = subprocess.run([prog, "query", "--format", "csv", f"SELECT count(*), sum(x), sum(k) FROM '{wpc}'"],
                     capture_output=True, text=True)
got = out.stdout.strip().splitlines()[-1] if out.returncode == 0 else out.stderr
early_fail = []
if got != ",".join(map(str, want)):
    early_fail.append(f"WRITE_PARTITION_COLUMNS: DuckDB reads {want}, tabledata {got!r}")
con0.execute(f"COPY (SELECT 5::BIGINT AS x, 2::BIGINT AS k, DATE '2024-01-01' AS d) TO '{wpc}/k=1/d=2024-01-01/zz.parquet'")
out = subprocess.run([prog, "query", f"SELECT count(*) FROM '{wpc}'"], capture_output=True, text=True)
if out.returncode == 0 or "zz.parquet' row 1: column 'k' holds '2' but its partition directory says '1'" not in out.stderr:
    early_fail.append(f"a disagreeing stored partition value: exit {out.returncode}, {out.stderr.strip()!r}")
shutil.rmtree(wpc)

follow = subprocess.Popen(
    [prog, "follow", "--format", "csv", "--period", "100", "--schema", "x BIGINT, s VARCHAR",
     "--partition-types", "k BIGINT", f"SELECT count(*) AS n, sum(x) AS sx FROM '{root}'"],
    stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
threading.Thread(target=reader, args=(follow.stdout,), daemon=True).start()
fail = early_fail
try:
    time.sleep(0.5)
    n = sx = 0
    con = duckdb.connect()
    for batch in range(4):
        lo, hi = batch * 100, batch * 100 + 100
        # DuckDB writes each file in place under its final (UUID) name; a
        # Parquet file seen half-written can fail its location (the coarse
        # modification time cannot tell a finished file from one still being
        # written: see docs/FILES.md).  So it appends into a staging tree and
        # each new file is renamed into the followed tree, as writers that
        # publish atomically do; names and layout stay DuckDB's.
        staging = root + "_staging"
        con.execute(f"COPY (SELECT i AS x, 'v' || i AS s, i % 3 AS k FROM range({lo}, {hi}) t(i)) TO '{staging}' "
                    "(FORMAT parquet, PARTITION_BY (k), APPEND)")
        for d, _, fs in os.walk(staging):
            for fname in fs:
                rel = os.path.relpath(os.path.join(d, fname), staging)
                dst = os.path.join(root, rel)
                if not os.path.exists(dst):
                    os.makedirs(os.path.dirname(dst), exist_ok=True)
                    os.link(os.path.join(d, fname), dst)
        n += 100
        sx += sum(range(lo, hi))
        if batch == 1:  # files being written, and bookkeeping files, are not read
            for rel in ("k=0/tmp_part.parquet", "k=1/.part.parquet", "k=2/x.parquet.tmp", "k=0/_SUCCESS"):
                with open(os.path.join(root, rel), "wb") as f:
                    f.write(b"PAR1 not finished")
        if not wait_for((n, sx)):
            fail.append(f"after DuckDB append {batch}: expected {(n, sx)}, follow shows {last_values()}")
            break
    files = sorted(os.listdir(os.path.join(root, "k=0")))
    print("k=0 holds", files)
    # Polars: new partitions by a partitioned write (its own file names)
    df = pl.DataFrame({"x": list(range(1000, 1050)), "s": [f"p{i}" for i in range(50)],
                       "k": [10 + i % 2 for i in range(50)]})
    pstaging = root + "_pstaging"  # published by links, as DuckDB's files above
    df.write_parquet(pstaging, partition_by="k")
    for d, _, fs in os.walk(pstaging):
        for fname in fs:
            dst = os.path.join(root, os.path.relpath(os.path.join(d, fname), pstaging))
            os.makedirs(os.path.dirname(dst), exist_ok=True)
            os.link(os.path.join(d, fname), dst)
    n += 50
    sx += sum(range(1000, 1050))
    if not fail and not wait_for((n, sx)):
        fail.append(f"after the Polars write: expected {(n, sx)}, follow shows {last_values()}")
    # the table equals the files at the end (DuckDB reads the same files)
    data = [os.path.join(d, f) for d, _, fs in os.walk(root) for f in fs
            if f.endswith(".parquet") and not f.startswith((".", "_", "tmp_"))]
    got = con.execute("SELECT count(*), sum(x) FROM read_parquet(?, hive_partitioning = true)", [data]).fetchone()
    if not fail and (tuple(got) != (n, sx) or last_values() != (n, sx)):
        fail.append(f"at the end: DuckDB reads {tuple(got)} from the files, follow shows {last_values()}")
finally:
    follow.send_signal(signal.SIGINT)
    try:
        follow.wait(10)
    except subprocess.TimeoutExpired:
        follow.kill()
        follow.wait()
    err = follow.stderr.read()
    shutil.rmtree(root, ignore_errors=True)
    shutil.rmtree(root + "_staging", ignore_errors=True)
    shutil.rmtree(root + "_pstaging", ignore_errors=True)
if err.strip():
    fail.append("follow printed to stderr: " + err.strip())
if fail:
    print("FAIL:", *fail, sep="\n  ")
    print("follow output (last 10 lines):", *lines[-10:], sep="\n  ")
    sys.exit(1)
print(f"live writers: passed ({n} rows)")
