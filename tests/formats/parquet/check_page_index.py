"""The Parquet page index (ColumnIndex + OffsetIndex, pyarrow
write_page_index=True) skips pages a filter rejects inside a row group:
the same file with and without the index gives the same rows, and with it
only the pages that can match are requested (counted by --stats).

usage: check_page_index.py TABLEDATA_PROGRAM
"""
import re
import subprocess
import sys
import tempfile

import pyarrow as pa
import pyarrow.parquet as pq

prog = sys.argv[1]
N = 1_000_000  # one row group; 16 engine pages of 65,536 rows


def run(sql):
    p = subprocess.run([prog, "query", "--stats", "--format", "csv", sql], check=True, capture_output=True, text=True)
    m = re.search(r"column_values=(\d+)", p.stderr)
    calls = int(m.group(1)) if m else 0
    skipped = int(re.search(r"rows skipped by statistics: (\d+)", p.stderr).group(1))
    return p.stdout, calls, skipped


with tempfile.TemporaryDirectory() as tmp:
    t = pa.table({
        "id": pa.array(range(N), pa.int64()),
        "v": pa.array([i % 1000 for i in range(N)], pa.int64()),
        "s": pa.array([f"k{i // 1000:04d}" for i in range(N)]),
        "n": pa.array([None if i % 3 == 0 else float(i) for i in range(N)], pa.float64()),
    })
    for name, index in (("with", True), ("without", False)):
        pq.write_table(t, f"{tmp}/{name}.parquet", row_group_size=N, data_page_size=64 * 1024,
                       write_page_index=index, compression="snappy")
    assert pq.ParquetFile(f"{tmp}/with.parquet").metadata.row_group(0).column(0).has_column_index
    cases = [
        ("SELECT * FROM {f} WHERE id >= 500000 AND id < 500003", 3, 3),
        ("SELECT count(*) FROM {f} WHERE s = 'k0777'", 1, 1000),
        ("SELECT sum(v) FROM {f} WHERE n > 999990", None, 1),
        ("SELECT * FROM {f} WHERE id BETWEEN 500000 AND 500002", 3, 3),
        ("SELECT count(*) FROM {f} WHERE id IN (500001, 7, NULL) AND v IN (1, 7)", None, 2),
        ("SELECT count(*) FROM {f} WHERE s IN ('k0777', 'k0778')", None, 2000),
        # a top-N's key scan skips the pages the filter's terms reject too
        ("SELECT * FROM {f} WHERE id >= 500000 AND id < 500003 ORDER BY v DESC LIMIT 2", None, 2),
        # a subquery's list (100 ids, sorted once: a binary search a page)
        ("SELECT count(*) FROM {f} WHERE id IN (SELECT id FROM {f} WHERE v = 7 AND id >= 500000 AND id < 600000)",
         None, 100),
    ]
    for sql, _, rows in cases:
        out_with, calls_with, skipped_with = run(sql.format(f=f"'{tmp}/with.parquet'"))
        out_without, calls_without, skipped_without = run(sql.format(f=f"'{tmp}/without.parquet'"))
        assert out_with == out_without, (sql, out_with, out_without)
        lines = out_with.strip().split("\n")
        got = len(lines) - 1 if sql.startswith("SELECT *") else int(float(lines[1]))
        if "sum(" not in sql:
            assert got == rows, (sql, got, rows)
        # One row group: without the index nothing can be skipped.
        assert skipped_without == 0, (sql, skipped_without)
        assert skipped_with >= N - 3 * 65536, (sql, skipped_with)
        assert calls_with < calls_without, (sql, calls_with, calls_without)
    out, calls, skipped = run(cases[0][0].format(f=f"'{tmp}/with.parquet'"))
    # The page of id holding the matches, then v, s and n for it only.
    assert calls == 4 and out.count("\n") == 4, (calls, out)
    # A row-group index only (statistics off): nothing skipped, results right.
    pq.write_table(t, f"{tmp}/nostats.parquet", row_group_size=N, write_statistics=False, write_page_index=True)
    out, calls, skipped = run(cases[0][0].format(f=f"'{tmp}/nostats.parquet'"))
    assert skipped == 0 and out.count("\n") == 4, (skipped, out)
print("page index: pages skipped, results equal to reads without the index")
