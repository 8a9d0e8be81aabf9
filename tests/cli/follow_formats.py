#!/usr/bin/env python3
"""`tabledata follow --format jsonl|csv|arrow` read by a program.

A writer (this script) grows a hive tree of CSV files (appended lines, a new
partition, a new symbol that overtakes the others, then deletes the new
partition's directory: a location removal) while `follow` runs five
queries in each format: a plain select (adds only), a grouped aggregation
(adds and updates), a top-2 by count (updates and a remove), and two
recomputed results without group columns (a top-3 by price; an aggregation
whose GROUP BY column is not selected), whose changes are removes and adds.  The records
of each output are applied in order to an empty result (add: insert; update:
replace the row with the same group columns; remove: delete one equal row)
and the outcome must equal `tabledata query` over the final files, in the
same format; each follow is stopped (SIGTERM) once its output gives that
result (a fixed --duration raced the writes on a loaded machine).  Also checked: every record has an op among add/update/remove
and a version; versions never decrease; version 0 is only adds; the CSV has
its header op,version,... and no other non-record line.

Arrow IPC is decoded by pyarrow when it is importable (the project's venv),
else by Apache Arrow JS (npm apache-arrow, as tests/interop does).  Exit 77
(skip) only when neither decoder is available and everything else passed.

usage: follow_formats.py <tabledata> <scratch dir> <tests/interop dir>
"""
import csv
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

prog, scratch, interop = sys.argv[1], sys.argv[2], sys.argv[3]
os.makedirs(scratch, exist_ok=True)
work = tempfile.mkdtemp(dir=scratch)
tree = os.path.join(work, "ticks")
failures = []


MUTED = [False]  # while polling outputs that may not have caught up yet


def fail(msg):
    if MUTED[0]:
        return
    failures.append(msg)
    print("FAIL:", msg)


# ---- Arrow decoding ----

def arrow_decoder():
    try:
        import pyarrow.ipc  # noqa: F401
        return "pyarrow"
    except ImportError:
        pass
    node_dir = os.path.join(scratch, "node")
    if shutil.which("node") and shutil.which("npm"):
        if not os.path.isdir(os.path.join(node_dir, "node_modules", "apache-arrow")):
            os.makedirs(node_dir, exist_ok=True)
            shutil.copy(os.path.join(interop, "package.json"), node_dir)
            subprocess.run(["npm", "install", "--no-audit", "--no-fund", "--silent"], cwd=node_dir,
                           stdout=subprocess.DEVNULL, check=False)
        if os.path.isdir(os.path.join(node_dir, "node_modules", "apache-arrow")):
            shutil.copy(os.path.join(interop, "read_arrow.mjs"), node_dir)
            return "node"
    return None


DECODER = arrow_decoder()


def read_arrow(path):
    """Rows of an Arrow IPC stream as dicts, and the number of batches."""
    if DECODER == "pyarrow":
        import pyarrow.ipc
        with open(path, "rb") as f:
            reader = pyarrow.ipc.open_stream(f)
            batches = list(reader)
        rows = [r for b in batches for r in b.to_pylist()]
        return rows, len(batches)
    with open(path, "rb") as f:
        out = subprocess.run(["node", os.path.join(scratch, "node", "read_arrow.mjs")], stdin=f,
                             capture_output=True, check=True, text=True).stdout
    return [json.loads(line) for line in out.splitlines()], None


# ---- records ----

def parse(fmt, path):
    """The records of a follow output: a list of (op, version, row dict)."""
    if fmt == "jsonl":
        recs = []
        with open(path) as f:
            for line in f:
                d = json.loads(line)
                recs.append((d.pop("op"), d.pop("version"), d))
        return recs
    if fmt == "csv":
        with open(path, newline="") as f:
            text = f.read()
        lines = text.splitlines()
        if not lines or not lines[0].startswith("op,version,"):
            fail(f"{path}: the CSV header is not op,version,...: {lines[:1]}")
        for ln in lines:
            if ln.startswith("--") or ln.startswith("#"):
                fail(f"{path}: a comment line in the CSV: {ln}")
                break
        recs = []
        for d in csv.DictReader(io.StringIO(text)):
            recs.append((d.pop("op"), int(d.pop("version")), d))
        return recs
    rows, batches = read_arrow(path)
    recs = [(r.pop("op"), r.pop("version"), r) for r in rows]
    if batches is not None:
        versions = {v for _, v, _ in recs}
        if batches < len(versions):
            fail(f"{path}: {batches} record batches for {len(versions)} versions (one batch per cycle expected)")
        else:
            print(f"  {path}: {batches} record batches, {len(versions)} versions with records")
    return recs


def static(fmt, sql):
    """The rows of `tabledata query` over the final files, as dicts."""
    if fmt == "arrow":
        path = os.path.join(work, "static.arrows")
        with open(path, "wb") as f:
            subprocess.run([prog, "query", "--format", "arrow", sql], stdout=f, check=True)
        return read_arrow(path)[0]
    out = subprocess.run([prog, "query", "--format", fmt, sql], capture_output=True, text=True, check=True).stdout
    if fmt == "jsonl":
        return [json.loads(line) for line in out.splitlines()]
    return list(csv.DictReader(io.StringIO(out)))


def canon(row):
    return json.dumps(row, sort_keys=True, default=str)


def apply(recs, keys, label):
    """Applies the records in order; returns the resulting rows and op counts."""
    state = []
    counts = {"add": 0, "update": 0, "remove": 0}
    last_version = -1
    for op, version, row in recs:
        if op not in counts:
            fail(f"{label}: unknown op {op!r}")
            continue
        counts[op] += 1
        if not isinstance(version, int) or version < last_version:
            fail(f"{label}: version {version!r} after {last_version}")
        if version == 0 and op != "add":
            fail(f"{label}: version 0 record with op {op}")
        last_version = version
        if op == "add":
            state.append(row)
        elif op == "update":
            k = [row[c] for c in keys]
            hit = [i for i, r in enumerate(state) if [r[c] for c in keys] == k]
            if len(hit) != 1:
                fail(f"{label}: update of {k} matches {len(hit)} rows")
            else:
                state[hit[0]] = row
        else:
            c = canon(row)
            hit = [i for i, r in enumerate(state) if canon(r) == c]
            if not hit:
                fail(f"{label}: remove of a row not in the result: {row}")
            else:
                del state[hit[0]]
    return state, counts, last_version


# ---- the writer ----

EXCHANGES = ["NYSE", "BZX"]


def append(exchange, symbol, price, size):
    d = os.path.join(tree, f"Exchange={exchange}")
    path = os.path.join(d, "data.csv")
    new = not os.path.exists(path)
    os.makedirs(d, exist_ok=True)
    with open(path, "a") as f:
        if new:
            f.write("Symbol,Price,Size\n")
        f.write(f"{symbol},{price:.2f},{size}\n")


# Initial rows: A 3, B 2, C 1.
seq = 0
for sym, n in (("A", 3), ("B", 2), ("C", 1)):
    for _ in range(n):
        seq += 1
        append(EXCHANGES[seq % 2], sym, 100 + seq * 0.25, 100 * seq)

QUERIES = [
    # (name, SQL, group columns for updates, expected ops)
    ("select", f"SELECT Exchange, Symbol, Price, Size FROM '{tree}'", [], {"add", "remove"}),
    ("groupby", f"SELECT Symbol, count(*) AS n, sum(Size) AS s, max(Price) AS hi FROM '{tree}' GROUP BY Symbol",
     ["Symbol"], {"add", "update"}),
    ("top2", f"SELECT Symbol, count(*) AS n FROM '{tree}' GROUP BY Symbol ORDER BY n DESC LIMIT 2",
     ["Symbol"], {"update", "remove"}),
    # Recomputed without group columns: whole rows, so changes are remove + add.
    ("top3price", f"SELECT Symbol, Price FROM '{tree}' ORDER BY Price DESC LIMIT 3", [], {"add", "remove"}),
    ("nokey", f"SELECT count(*) AS n, sum(Size) AS s FROM '{tree}' GROUP BY Exchange", [], {"add", "remove"}),
]
FORMATS = ["jsonl", "csv"] + (["arrow"] if DECODER else [])

procs = []
for name, sql, _, _ in QUERIES:
    for fmt in FORMATS:
        out = os.path.join(work, f"{name}.{fmt}")
        f = open(out, "wb")
        p = subprocess.Popen([prog, "follow", "--format", fmt, "--duration", "120", "--period", "100", sql], stdout=f,
                             stderr=subprocess.PIPE)
        procs.append((name, fmt, out, p, f))
# Wait until every follow has built its result and written version 0 (its
# output is not empty), so that the writes below arrive as changes.
deadline = time.time() + 60
while time.time() < deadline and not all(os.path.getsize(out) > 0 for _, _, out, _, _ in procs):
    time.sleep(0.1)
time.sleep(0.3)

# Final counts: D 40, A 25, B 16, C 9 (distinct, so the top 2 is D, A).
plan = ["A"] * 22 + ["B"] * 14 + ["C"] * 8
for i, sym in enumerate(plan):
    seq += 1
    append(EXCHANGES[seq % 2], sym, 100 + (seq % 37) * 0.5, 10 * seq)
    if i == 15:
        seq += 1
        append("IEX", "A", 99.5, 5)  # a new partition
    if i % 4 == 0:
        time.sleep(0.06)
for i in range(40):  # D overtakes B, then A
    seq += 1
    append(EXCHANGES[i % 2] if i % 3 else "IEX", "D", 200 + i * 0.75, seq)
    if i % 5 == 0:
        time.sleep(0.08)
# The IEX partition goes away: its rows leave every result (removes, or
# updates of the groups they were in).
time.sleep(0.3)
shutil.rmtree(os.path.join(tree, "Exchange=IEX"))


def caught_up(fmt, path, keys, want):
    """Whether the records so far give the final result (no failure recorded)."""
    MUTED[0] = True
    try:
        state, _, _ = apply(parse(fmt, path), keys, "poll")
        return sorted(canon(r) for r in state) == want
    except Exception:  # a record still being written
        return False
    finally:
        MUTED[0] = False


# Stop each follow (SIGTERM ends it cleanly) once its output has caught up
# with the final files: on a loaded machine starting eighteen follows and
# noticing the removal can take seconds, which a fixed --duration raced.
want = {(n, fmt): sorted(canon(r) for r in static(fmt, sql)) for n, sql, _, _ in QUERIES for fmt in FORMATS}
keys_of = {n: k for n, _, k, _ in QUERIES}
pending = [(name, fmt, out, p) for name, fmt, out, p, _ in procs]
deadline = time.time() + 90
while pending and time.time() < deadline:
    pending = [x for x in pending if not caught_up(x[1], x[2], keys_of[x[0]], want[(x[0], x[1])])]
    if pending:
        time.sleep(0.3)
for _, _, _, p, _ in procs:
    p.terminate()

for name, fmt, out, p, f in procs:
    _, err = p.communicate(timeout=60)
    f.close()
    if p.returncode != 0:
        fail(f"{name} {fmt}: exit status {p.returncode}: {err.decode(errors='replace')}")

for name, sql, keys, want_ops in QUERIES:
    for fmt in FORMATS:
        label = f"{name} --format {fmt}"
        recs = parse(fmt, os.path.join(work, f"{name}.{fmt}"))
        state, counts, last = apply(recs, keys, label)
        expect = static(fmt, sql)
        got_sorted = sorted(canon(r) for r in state)
        want_sorted = sorted(canon(r) for r in expect)
        if got_sorted != want_sorted:
            fail(f"{label}: the records give {len(state)} rows, the static query {len(expect)}; "
                 f"first difference: {sorted(set(got_sorted) ^ set(want_sorted))[:3]}")
        for op in want_ops:
            if counts[op] == 0:
                fail(f"{label}: no '{op}' record (counts {counts})")
        if name == "select" and counts["update"]:
            fail(f"{label}: a plain select gave {counts}")
        if not keys and counts["update"]:
            fail(f"{label}: updates without group columns: {counts}")
        print(f"ok: {label}: {len(recs)} records {counts}, last version {last}, {len(expect)} rows")

# Errors: a bad format is a usage error (2); a query error and an output that
# cannot be written are errors (1) with a message.
for args, status, text in ((["--format", "xml"], 2, "--format expects"),
                           (["--format", "jsonl"], 1, "unknown column 'Nope'")):
    r = subprocess.run([prog, "follow", "--duration", "0.3"] + args + ["SELECT Nope FROM demo"],
                       capture_output=True, text=True)
    if r.returncode != status or text not in r.stderr:
        fail(f"follow {args}: status {r.returncode}, stderr {r.stderr!r} (wanted {status}, {text!r})")
    else:
        print(f"ok: follow {' '.join(args)} with a bad column: status {status}")
if os.path.exists("/dev/full"):
    for fmt in ("jsonl", "csv", "arrow"):
        with open("/dev/full", "wb") as full:
            r = subprocess.run([prog, "follow", "--format", fmt, "--duration", "0.5", "--period", "100",
                                "SELECT * FROM demo"], stdout=full, stderr=subprocess.PIPE, text=True)
        if r.returncode != 1 or "tabledata follow:" not in r.stderr:
            fail(f"follow --format {fmt} > /dev/full: status {r.returncode}, stderr {r.stderr!r}")
        else:
            print(f"ok: follow --format {fmt} > /dev/full: status 1: {r.stderr.strip()}")

shutil.rmtree(work, ignore_errors=True)
if failures:
    print(f"follow formats: {len(failures)} failures")
    sys.exit(1)
if not DECODER:
    print("follow formats: jsonl and csv passed; SKIP arrow: neither pyarrow nor node with apache-arrow is available")
    sys.exit(77)
print(f"follow formats: passed (arrow decoded by {DECODER})")
