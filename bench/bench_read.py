"""The Parquet read path (bench/run.sh): `tabledata query` against DuckDB
(the project's .venv) on the same files, each engine in a fresh process,
alternating, best of REPEATS; wall time, MB/s of the file's compressed
column bytes the query needs, and peak RSS of the process (DuckDB's includes
the Python interpreter, about 40 MB; its query runs with one thread).

Queries: a full sum (decompression, PLAIN decoding), a dictionary-encoded
nullable string compared with a constant, a selective SELECT * (late
materialization), the same filter on a pyarrow file with a page index (pages
skipped inside a row group), and a filtered sum.

usage: bench_read.py TABLEDATA WORKDIR [ROWS] [REPEATS]"""
import os
import subprocess
import sys
import time

EXE = sys.argv[1]
WORK = sys.argv[2]
ROWS = int(sys.argv[3]) if len(sys.argv) > 3 else 10_000_000
REPEATS = int(sys.argv[4]) if len(sys.argv) > 4 else 3
PY = sys.executable

os.makedirs(WORK, exist_ok=True)
duck_file = os.path.join(WORK, f"read_{ROWS}.parquet")
index_file = os.path.join(WORK, f"read_{ROWS}_index.parquet")
if not os.path.exists(duck_file) or not os.path.exists(index_file):
    gen = f"""
import duckdb, pyarrow.parquet as pq
c = duckdb.connect()
c.execute('SET threads=2')
c.execute('SET enable_progress_bar=false')
c.execute(\"\"\"COPY (SELECT i AS id, TIMESTAMP '2024-01-01' + to_microseconds(i*1000) AS ts,
 'S'||(hash(i)%5000)::VARCHAR AS sym, (hash(i*7)%100000)/100.0 AS price, (hash(i*13)%1000)::INTEGER AS qty,
 (i%3=0) AS flag, CASE WHEN i%5=0 THEN NULL ELSE CASE WHEN i%2=0 THEN 'B' ELSE 'S' END END AS side
 FROM range({ROWS}) t(i)) TO '{duck_file}.tmp' (FORMAT parquet, COMPRESSION snappy)\"\"\")
t = pq.read_table('{duck_file}.tmp')
pq.write_table(t, '{index_file}.tmp', row_group_size=1 << 20, write_page_index=True, compression='snappy')
"""
    subprocess.run([PY, "-c", gen], check=True)
    os.replace(duck_file + ".tmp", duck_file)
    os.replace(index_file + ".tmp", index_file)


def col_bytes(path, cols):
    import pyarrow.parquet as pq
    m = pq.ParquetFile(path).metadata
    names = [m.schema.column(i).name for i in range(m.num_columns)]
    total = 0
    for g in range(m.num_row_groups):
        for i, n in enumerate(names):
            if n in cols:
                total += m.row_group(g).column(i).total_compressed_size
    return total


def run(argv):
    """Query seconds (as the engine reports it), wall seconds and peak RSS
    (MiB) of one fresh process."""
    t0 = time.perf_counter()
    p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, errs = p.communicate()
    _, status, ru = os.wait4(p.pid, 0) if p.returncode is None else (0, p.returncode, None)
    wall = time.perf_counter() - t0
    if p.returncode != 0:
        raise SystemExit(f"bench_read: {argv[0]} failed: {errs.decode()}")
    text = (out + errs).decode()
    q = float(text.split("time: ")[1].split()[0]) / 1e3
    return q, wall


def rss_of(argv):
    """Peak RSS (MiB) of one fresh process (os.wait4 reports the child's own)."""
    p = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, ru = os.wait4(p.pid, 0)
    if status != 0:
        raise SystemExit(f"bench_read: {argv[0]} failed")
    return ru.ru_maxrss / 1024


def duck_argv(sql):
    code = ("import duckdb, time; c = duckdb.connect(); c.execute('SET threads=1'); t = time.perf_counter(); "
            f"c.execute({sql!r}).fetchall(); print('time: %f ms' % ((time.perf_counter() - t) * 1e3))")
    return [PY, "-c", code]


ALL = {"id", "ts", "sym", "price", "qty", "flag", "side"}
queries = [
    ("sum(price)", duck_file, "SELECT sum(price) FROM {f}", {"price"}),
    ("count(*) WHERE side = 'B' (nullable dict)", duck_file, "SELECT count(*) FROM {f} WHERE side = 'B'", {"side"}),
    ("SELECT * WHERE very selective", duck_file, "SELECT * FROM {f} WHERE price = 123.45 AND qty = 7", {"price", "qty"}),
    ("sum(price) WHERE qty > 900", duck_file, "SELECT sum(price) FROM {f} WHERE qty > 900", {"price", "qty"}),
    ("SELECT * WHERE id range (page index)", index_file,
     f"SELECT * FROM {{f}} WHERE id >= {ROWS // 2} AND id < {ROWS // 2 + 100}", ALL),
]
print(f"bench_read: {ROWS} rows, snappy Parquet written by DuckDB (and by pyarrow with a page index); "
      f"best of {REPEATS}, fresh processes, alternating; query time as each engine reports it "
      "(tabledata --timing: planning to the last row; DuckDB: execute and fetch, 1 thread)")
print(f"{'query':44} {'ours s':>8} {'DuckDB s':>9} {'ratio':>6} {'ours MB/s':>10} {'RSS MiB':>8} {'DuckDB RSS':>10}")
for label, path, sql, cols in queries:
    q = sql.format(f=f"'{path}'")
    ours, theirs = [], []
    for _ in range(REPEATS):
        ours.append(run([EXE, "query", "--timing", q]))
        theirs.append(run(duck_argv(q)))
    t_o = min(t for t, _ in ours)
    t_d = min(t for t, _ in theirs)
    rss_o = rss_of([EXE, "query", q])
    rss_d = rss_of(duck_argv(q))
    mbs = col_bytes(path, cols) / t_o / 1e6
    print(f"{label:44} {t_o:8.3f} {t_d:9.3f} {t_o / t_d:6.2f} {mbs:10.1f} {rss_o:8.0f} {rss_d:10.0f}", flush=True)
