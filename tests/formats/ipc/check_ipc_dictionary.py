"""Arrow IPC dictionary-encoded string columns (answered to the engine as codes into one shared
dictionary per generation) read exactly as pyarrow decodes them: files and streams from pyarrow
with int8/int16/int32/int64 and unsigned index types, nulls in the indices, dictionaries
replaced between batches and extended by deltas, and Polars' categoricals (dictionaries of
utf8 views, uint32 indices).  Filters and group-bys on the column (the codes paths) must give
pyarrow's answers and the same answers with codes turned off (TD_IPC_DICT_CODES=0); an index
beyond the dictionary (an int64 index above the int32 range) fails naming the row, never wraps.

usage: check_ipc_dictionary.py TABLEDATA_PROGRAM
"""
import os
import random
import subprocess
import sys
import tempfile

import pyarrow as pa

prog = sys.argv[1]
rnd = random.Random(11)
WORDS = ["alpha", "beta", "x", "gamma", "", "delta é", "zeta"]


def run(path, sql, codes=True):
    env = dict(os.environ)
    if not codes:
        env["TD_IPC_DICT_CODES"] = "0"
    r = subprocess.run([prog, "query", "--format", "arrow", sql.format(src=f"'{path}'")], capture_output=True,
                       env=env)
    assert r.returncode == 0, (path, sql, codes, r.stderr.decode(errors="replace")[:3000])
    out = r.stdout
    return [tuple(r.values()) for r in pa.ipc.open_stream(out).read_all().to_pylist()]


def batches(index_type, n_batches, rows, mode):
    """Batches of (i, s): s dictionary-encoded; mode 'same' shares one dictionary,
    'replace' gives each batch a new one, 'delta' grows it."""
    out, start, dict_vals = [], 0, list(WORDS)
    for b in range(n_batches):
        if mode == "replace":
            dict_vals = rnd.sample(WORDS, 4) + [f"w{b}"]
        elif mode == "delta" and b:
            dict_vals = dict_vals + [f"d{b}"]
        idx = [None if rnd.random() < 0.1 else rnd.randrange(len(dict_vals)) for _ in range(rows)]
        s = pa.DictionaryArray.from_arrays(pa.array(idx, index_type), pa.array(dict_vals, pa.string()))
        out.append(pa.record_batch({"i": pa.array(range(start, start + rows), pa.int64()), "s": s}))
        start += rows
    return out


def write(path, bs, stream, delta=False):
    opts = pa.ipc.IpcWriteOptions(emit_dictionary_deltas=delta)
    sink = pa.OSFile(path, "wb")
    w = (pa.ipc.new_stream if stream else pa.ipc.new_file)(sink, bs[0].schema, options=opts)
    for b in bs:
        w.write_batch(b)
    w.close()
    sink.close()


def decoded(bs):
    rows = []
    for b in bs:
        rows += list(zip(b.column(0).to_pylist(), b.column(1).to_pylist()))
    return rows


QUERIES = [
    ("SELECT count(*) FROM {src} WHERE s = 'x'", lambda r: [(sum(1 for _, s in r if s == "x"),)]),
    ("SELECT s, count(*) FROM {src} GROUP BY s ORDER BY s NULLS FIRST", None),
    ("SELECT count(*), count(s) FROM {src} WHERE s IN ('alpha', 'zeta') OR s IS NULL OR s LIKE 'w%'", None),
]


def grouped(rows):
    g = {}
    for _, s in rows:
        g[s] = g.get(s, 0) + 1
    return sorted(g.items(), key=lambda kv: (kv[0] is not None, kv[0] or ""))


checked = 0
with tempfile.TemporaryDirectory() as tmp:
    types = [pa.int8(), pa.int16(), pa.int32(), pa.int64(), pa.uint8(), pa.uint16(), pa.uint32(), pa.uint64()]
    for k, it in enumerate(types):
        for mode in ("same", "replace", "delta"):
            for stream in (True, False):
                if mode == "replace" and not stream:
                    continue  # the file format allows no replacement
                bs = batches(it, 4, 300 + k, mode)
                path = f"{tmp}/d_{it}_{mode}_{stream}.arrow{'s' if stream else ''}"
                write(path, bs, stream, delta=mode == "delta")
                want = decoded(bs)
                got = run(path, "SELECT i, s FROM {src} ORDER BY i")
                assert got == want, (path, got[:5], want[:5])
                for sql, expect in QUERIES:
                    mine = run(path, sql)
                    assert mine == run(path, sql, codes=False), (path, sql)
                    if expect:
                        assert mine == expect(want), (path, sql, mine)
                    elif "GROUP BY" in sql:
                        assert mine == grouped(want), (path, sql, mine)
                    checked += 1
                checked += 1
    # Polars categoricals and enums: dictionaries of utf8 views (uint32 / uint8 indices)
    try:
        import polars as pl
    except ImportError:
        pl = None
    if pl is not None:
        vals = [rnd.choice(WORDS + [None]) for _ in range(5000)]
        df = pl.DataFrame({"i": list(range(5000)), "s": pl.Series(vals, dtype=pl.Categorical)})
        for name, w in (("c.arrow", df.write_ipc), ("c.arrows", df.write_ipc_stream)):
            w(f"{tmp}/{name}")
            want = list(zip(range(5000), vals))
            assert run(f"{tmp}/{name}", "SELECT i, s FROM {src} ORDER BY i") == want, name
            assert run(f"{tmp}/{name}", QUERIES[1][0]) == grouped(want), name
            assert run(f"{tmp}/{name}", QUERIES[0][0]) == QUERIES[0][1](want), name
            checked += 3
    # An index outside the dictionary: an int64 index beyond the int32 range must fail, not wrap
    # (2^32 + 1 would wrap to 1); likewise a uint64 index above INT64_MAX.
    for it, bad in ((pa.int64(), 2**32 + 1), (pa.uint64(), 2**64 - 1), (pa.int32(), 7)):
        s = pa.DictionaryArray.from_arrays(pa.array([0, bad, None], it), pa.array(["a", "b"]), safe=False)
        path = f"{tmp}/bad_{it}.arrows"
        write(path, [pa.record_batch({"i": pa.array([0, 1, 2], pa.int64()), "s": s})], True)
        for codes in (True, False):
            env = dict(os.environ)
            if not codes:
                env["TD_IPC_DICT_CODES"] = "0"
            for sql in ("SELECT count(*) FROM {src} WHERE s = 'b'", "SELECT s FROM {src}"):
                r = subprocess.run([prog, "query", sql.format(src=f"'{path}'")], capture_output=True, text=True,
                                   env=env)
                assert r.returncode != 0 and "dictionary index" in r.stderr and "out of range" in r.stderr, (
                    it, codes, sql, r.stdout, r.stderr)
                checked += 1
print(f"IPC dictionaries: {checked} checks: pyarrow agrees with tabledata, codes on and off")
