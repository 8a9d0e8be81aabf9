#!/usr/bin/env python3
"""tabledata against DuckDB and Polars on the issue-11 dataset, as a user runs them.

Each query runs in a fresh process per engine (`tabledata query`, a Python
process with the `duckdb` module, a Python process with `polars`), engines
alternating inside every repeat, best of N.  For each process the parent
records the whole-process wall time and the peak RSS (GNU time's %M); the query time is what the process reports itself: tabledata's
`--timing` (planning to the last row printed), and for DuckDB and Polars the
time from the query call to the last CSV row written, after the interpreter,
the module import and the connection are set up.  The answers of every engine
are compared (numbers within a relative 1e-6) before anything is reported.

Thread counts: DuckDB `SET threads`, Polars `POLARS_MAX_THREADS`, tabledata
`--threads N` when `tabledata query --help` lists it (otherwise tabledata's
single default run is compared at every thread count, marked so).

DuckDB reads the Parquet tree with read_parquet(hive_partitioning); for the
Arrow IPC tree it scans a pyarrow dataset (DuckDB's own arrow extension needs
the network to install).  Polars scans both with scan_parquet / scan_ipc
(hive_partitioning) through its SQL context, so all three run the same SQL.

usage: run.py <tabledata program> <data dir> [--repeats N] [--threads 1,2]
              [--out table.md] [--formats parquet,arrow]
The data dir holds parquet/ and arrow/ (bench/realdata/gen.mjs, gen_ipc.py).
"""
import argparse
import csv
import io
import math
import os
import re
import subprocess
import sys
import tempfile
import time

QUERIES = [
    ("count", "SELECT count(*) AS n FROM {T}"),
    ("sum", "SELECT sum(price) AS s FROM {T}"),
    ("filtered sum (10%)", "SELECT sum(price) AS s FROM {T} WHERE qty > 900"),
    ("one partition", "SELECT count(*) AS n, sum(price) AS s FROM {T} WHERE region = 'r3' AND day = '2024-01-05'"),
    ("group by sym (5k strings)", "SELECT sym, count(*) AS n, sum(price) AS s FROM {T} GROUP BY sym ORDER BY sym"),
    ("group by two keys", "SELECT sym, flag, count(*) AS n, sum(qty) AS q FROM {T} GROUP BY sym, flag ORDER BY sym, flag"),
    ("group by 1M groups", "SELECT id % 1000000 AS g, sum(qty) AS q FROM {T} GROUP BY g ORDER BY q DESC, g LIMIT 10"),
    ("min/max ts", "SELECT min(ts) AS lo, max(ts) AS hi FROM {T}"),
    ("ORDER BY price DESC LIMIT 10", "SELECT id, price FROM {T} ORDER BY price DESC LIMIT 10"),
    ("selective SELECT (all columns)",
     "SELECT id, ts, sym, price, qty, flag, note, region, day FROM {T} WHERE sym = 'S0042' AND qty > 990"),
    ("distinct partition values", "SELECT DISTINCT region, day FROM {T} ORDER BY region, day"),
    ("count(DISTINCT)", "SELECT count(DISTINCT sym) AS a, count(DISTINCT qty) AS b, count(DISTINCT id % 1000000) AS c FROM {T}"),
    ("count(DISTINCT) by sym", "SELECT sym, count(DISTINCT qty) AS n FROM {T} GROUP BY sym ORDER BY sym"),
    # note: a nullable string column DuckDB writes dictionary-encoded (97 values, 10% null)
    ("dictionary filter (nullable strings)", "SELECT count(*) AS n FROM {T} WHERE note = 'note 42'"),
]
# The "many" tree (gen_many.py): planning and pruning over many tiny locations.
MANY_QUERIES = [("one partition of many tiny locations", "SELECT count(*) AS n, sum(v) AS s FROM {T} WHERE a = 'x1'")]
# Issue 13's joins (gen.mjs's ref and quotes trees beside the Parquet trades;
# against DuckDB only: Polars' SQL has no as-of join nor QUALIFY).
JOIN_QUERIES = [
    ("hash join trades x ref on sym, GROUP BY sector",
     "SELECT r.sector, count(*) AS n, sum(t.price * t.qty) AS v FROM {T} t JOIN {R} r USING (sym) "
     "GROUP BY r.sector ORDER BY r.sector"),
    ("hash join trades x ref on sym, count", "SELECT count(*) AS n, sum(r.lot) AS s FROM {T} t JOIN {R} r USING (sym)"),
    ("as-of join trades to quotes (sym, ts)",
     "SELECT count(*) AS n, sum(q.bid) AS b, sum(q.ask - q.bid) AS spread FROM {T} t "
     "ASOF JOIN {Q} q ON t.sym = q.sym AND t.ts >= q.ts"),
    ("last-by per symbol (QUALIFY row_number)",
     "SELECT sym, ts, price FROM {T} QUALIFY row_number() OVER (PARTITION BY sym ORDER BY ts DESC, id DESC) = 1 "
     "ORDER BY sym"),
    ("rolling 1-minute avg per symbol",
     "SELECT sym, round(avg(price) OVER (PARTITION BY sym ORDER BY ts RANGE BETWEEN INTERVAL 1 MINUTE PRECEDING "
     "AND CURRENT ROW), 4) AS m FROM {T} ORDER BY m DESC, sym LIMIT 5"),
    ("count(DISTINCT)", "SELECT count(DISTINCT sym) AS a, count(DISTINCT qty) AS b, count(DISTINCT id % 1000000) AS c "
     "FROM {T}"),
]
ALL_ENGINES = ("tabledata", "duckdb", "polars")
TITLES = {"parquet": "Parquet (snappy, written by DuckDB)", "arrow": "Arrow IPC (written by Polars)",
          "many": "Many tiny locations (Parquet, one file of 3 rows each)",
          "joins": "Joins, last-by, windows (Parquet trades, a 5,003-row ref table, as many quotes as trades)"}


def engines_of(fmt):
    return ALL_ENGINES[:2] if fmt == "joins" else ALL_ENGINES


def sources_of(fmt, data, table):
    """The DuckDB read_parquet call of `table` (T, R or Q) of format fmt."""
    sub = {"T": "parquet", "R": "ref", "Q": "quotes"}[table] if fmt == "joins" else fmt
    return (f"read_parquet('{data}/{sub}/**/*.parquet', hive_partitioning = true, "
            f"hive_types_autocast = false)")


# ---------------------------------------------------------------- children
def child(engine, fmt, threads, data, sql):
    """Runs one query in this (fresh) process; CSV on stdout, 'time: X ms' on stderr."""
    if engine == "duckdb":
        import duckdb
        con = duckdb.connect(config={"threads": threads})
        if fmt in ("parquet", "many", "joins"):
            src = sources_of(fmt, data, "T")
        else:
            import pyarrow as pa
            import pyarrow.dataset as ds
            part = ds.partitioning(pa.schema([("region", pa.string()), ("day", pa.string())]), flavor="hive")
            arrow_t = ds.dataset(f"{data}/arrow", format="ipc", partitioning=part)  # noqa: F841 (scanned by name)
            src = "arrow_t"
        t0 = time.perf_counter()
        if fmt == "joins":
            rel = con.sql(sql.format(T=src, R=sources_of(fmt, data, "R"), Q=sources_of(fmt, data, "Q")))
        else:
            rel = con.sql(sql.format(T=src))
        header = rel.columns
        rows = rel.fetchall()
        w = csv.writer(sys.stdout, lineterminator="\n")
        w.writerow(header)
        w.writerows(rows)
        sys.stdout.flush()
    else:
        import polars as pl
        if fmt in ("parquet", "many"):
            lf = pl.scan_parquet(f"{data}/{fmt}/**/*.parquet", hive_partitioning=True, try_parse_hive_dates=False)
        else:
            lf = pl.scan_ipc(f"{data}/arrow/**/*.arrow", hive_partitioning=True, try_parse_hive_dates=False)
        t0 = time.perf_counter()
        ctx = pl.SQLContext(t=lf)
        df = ctx.execute(sql.format(T="t"), eager=True)
        df.write_csv(sys.stdout)
        sys.stdout.flush()
    print(f"time: {(time.perf_counter() - t0) * 1e3:.3f} ms", file=sys.stderr)


# ---------------------------------------------------------------- parent
def run_process(argv, env=None, timeout=900):
    """(stdout, stderr, rc, wall ms, peak RSS MiB) of one child process.

    The peak RSS comes from GNU time (%M) when /usr/bin/time exists: Linux keeps
    the high-water mark of the process that forked across exec, so os.wait4 on
    a child of this (larger) Python process would report at least our own size.
    The wall time includes time's own fork and exec (about a millisecond)."""
    rss = float("nan")
    with tempfile.NamedTemporaryFile("r", prefix="td-bench-rss.") as f:
        if os.access("/usr/bin/time", os.X_OK):
            argv = ["/usr/bin/time", "-f", "%M", "-o", f.name, *argv]
        t0 = time.perf_counter()
        p = subprocess.run(argv, capture_output=True, env=env, timeout=timeout)
        wall = (time.perf_counter() - t0) * 1e3
        try:
            rss = float(f.read().strip().splitlines()[-1]) / 1024.0
        except (ValueError, IndexError):
            pass
    return p.stdout.decode(), p.stderr.decode(), p.returncode, wall, rss


def norm_cell(s):
    s = s.strip()
    if s.lower() in ("", "null", "none", "nan"):
        return ("", None)
    low = s.lower()
    if low in ("true", "false"):
        return ("b", low)
    try:
        return ("n", float(s))
    except ValueError:
        pass
    m = re.fullmatch(r"(\d{4}-\d\d-\d\d)[T ](\d\d:\d\d:\d\d)(\.\d+)?Z?", s)
    if m:
        frac = (m.group(3) or "").rstrip("0").rstrip(".")
        return ("t", f"{m.group(1)} {m.group(2)}{frac}")
    return ("s", s)


def parse_answer(text):
    rows = list(csv.reader(io.StringIO(text)))
    return sorted((tuple(norm_cell(c) for c in r) for r in rows[1:]), key=repr)


def same_answer(a, b):
    if len(a) != len(b):
        return f"{len(a)} rows vs {len(b)}"
    for ra, rb in zip(a, b):
        if len(ra) != len(rb):
            return f"row {ra} vs {rb}"
        for x, y in zip(ra, rb):
            if x[0] == "n" and y[0] == "n":
                if not math.isclose(x[1], y[1], rel_tol=1e-6, abs_tol=1e-6):
                    return f"{x[1]} vs {y[1]}"
            elif x != y:
                return f"{x[1]!r} vs {y[1]!r}"
    return None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("cli")
    ap.add_argument("data")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--formats", default="parquet,arrow",
                    help="parquet, arrow, many (gen_many.py's tree), joins (gen.mjs's trades, ref and quotes)")
    ap.add_argument("--out")
    ap.add_argument("--queries", help="comma-separated query numbers (1-based, of each format's list) to run")
    ap.add_argument("--child", nargs=4, metavar=("ENGINE", "FORMAT", "THREADS", "SQL"), help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.child:
        child(a.child[0], a.child[1], int(a.child[2]), a.data, a.child[3])
        return 0

    help_text = subprocess.run([a.cli, "query", "--help"], capture_output=True, text=True)
    td_threads = "--threads" in (help_text.stdout + help_text.stderr)
    threads = [int(t) for t in a.threads.split(",")]
    formats = a.formats.split(",")
    def picked(qs):  # --queries numbers the queries of each format
        return [qs[int(i) - 1] for i in a.queries.split(",")] if a.queries else qs

    def queries_of(fmt):
        return MANY_QUERIES if fmt == "many" else picked(JOIN_QUERIES if fmt == "joins" else QUERIES)

    def argv_of(engine, fmt, nthr, sql):
        if engine == "tabledata":
            src = {k: f"'{os.path.join(a.data, d)}'" for k, d in (("T", "parquet" if fmt == "joins" else fmt),
                                                                 ("R", "ref"), ("Q", "quotes"))}
            extra = ["--threads", str(nthr)] if td_threads else []
            return [a.cli, "query", "--timing", "--format", "csv", *extra, sql.format(**src)], None
        env = dict(os.environ, POLARS_MAX_THREADS=str(nthr), OMP_NUM_THREADS=str(nthr))
        return [sys.executable, os.path.abspath(__file__), a.cli, a.data, "--child", engine, fmt, str(nthr), sql], env

    results = {}  # (fmt, query, threads, engine) -> dict(best, proc, rss, err, answer)
    for fmt in formats:
        for name, sql in queries_of(fmt):
            configs = []
            for t in threads:
                for e in engines_of(fmt):
                    if e == "tabledata" and not td_threads and t != threads[0]:
                        continue
                    configs.append((e, t))
            for rep in range(a.repeats):
                for e, t in configs:
                    r = results.setdefault((fmt, name, t, e), {"best": math.inf, "proc": math.inf,
                                                                "rss": math.inf, "err": None, "answer": None})
                    if r["err"]:
                        continue
                    argv, env = argv_of(e, fmt, t, sql)
                    out, err, rc, wall, rss = run_process(argv, env)
                    m = re.search(r"time: ([0-9.]+) ms", err)
                    if rc != 0 or not m:
                        r["err"] = (err.strip().splitlines() or [f"exit {rc}"])[0][:120]
                        continue
                    if r["answer"] is None:
                        r["answer"] = parse_answer(out)
                    r["best"] = min(r["best"], float(m.group(1)))
                    r["proc"] = min(r["proc"], wall)
                    r["rss"] = min(r["rss"], rss)
            if not td_threads:
                for t in threads[1:]:
                    results[(fmt, name, t, "tabledata")] = results[(fmt, name, threads[0], "tabledata")]
            # Answers: every engine against DuckDB at the first thread count.
            ref = results[(fmt, name, threads[0], "duckdb")]
            for t in threads:
                for e in engines_of(fmt):
                    r = results[(fmt, name, t, e)]
                    if r["err"] or ref["err"] or r is ref:
                        continue
                    why = same_answer(r["answer"], ref["answer"])
                    if why:
                        r["mismatch"] = why
                        print(f"MISMATCH {fmt} '{name}' {e} {t}T vs duckdb: {why}", file=sys.stderr)
            print(f"  done: {fmt:8s} {name}", file=sys.stderr, flush=True)

    def ratio(x, y):
        if not (math.isfinite(x) and math.isfinite(y) and y > 0):
            return "-"
        return f"{x / y:.2f}x" if x / y >= 0.1 else f"{x / y:.3f}x"

    def cell(r):
        if r.get("skipped"):
            return "-"
        if r["err"]:
            return "error"
        return f"{r['best']:.0f} ({r['proc']:.0f}, {r['rss']:.0f})"

    lines = []
    for fmt in formats:
        lines.append("")
        lines.append(f"**{TITLES[fmt]}**"
                     f"{'' if td_threads else ' — tabledata has no --threads yet: its one run is compared at each thread count'}")
        lines.append("")
        lines.append("| query | threads | tabledata ms (process ms, RSS MiB) | DuckDB | Polars "
                     "| / DuckDB query, process, RSS | / Polars query, process, RSS | agree |")
        lines.append("|---|---|---|---|---|---|---|---|")
        for name, _ in queries_of(fmt):
            for t in threads:
                skipped = {"err": "not run", "skipped": True}  # Polars on the joins
                ENGINES = ALL_ENGINES
                td, dk, po = (results.get((fmt, name, t, e), skipped) for e in ENGINES)
                ok = "yes"
                bad = [e for e, r in zip(ENGINES, (td, dk, po)) if r.get("mismatch")]
                errs = [e for e, r in zip(ENGINES, (td, dk, po)) if r["err"] and not r.get("skipped")]
                if bad:
                    ok = "MISMATCH " + ",".join(bad)
                if errs:
                    ok = (ok + "; " if bad else "") + "error: " + "; ".join(
                        f"{e}: {r['err']}" for e, r in zip(ENGINES, (td, dk, po)) if e in errs)
                def rr(o):
                    if td["err"] or o["err"]:
                        return "-"
                    return f"{ratio(td['best'], o['best'])}, {ratio(td['proc'], o['proc'])}, {ratio(td['rss'], o['rss'])}"
                lines.append(f"| {name} | {t} | {cell(td)} | {cell(dk)} | {cell(po)} | {rr(dk)} | {rr(po)} | {ok} |")
    head = (f"tabledata vs DuckDB {__import__('duckdb').__version__} and Polars {__import__('polars').__version__}, "
            f"{a.data}, best of {a.repeats}, each query in a fresh process; ratios are tabledata over the other engine "
            f"(query time, whole-process time, peak RSS); below 1.00x tabledata is faster or smaller.")
    text = head + "\n" + "\n".join(lines) + "\n"
    print(text)
    if a.out:
        with open(a.out, "w") as f:
            f.write(text)
    return 1 if any(r.get("mismatch") for r in results.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
