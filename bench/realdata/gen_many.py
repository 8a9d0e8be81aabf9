#!/usr/bin/env python3
"""Writes <data>/many: N tiny locations (a=x0|x1 / b=y0..y{N/2-1}), one Parquet
file of 3 rows each (columns v int64, x double), for the planning-and-pruning
row of bench/realdata/run.py ("one partition of N tiny locations": half the
tree selected by a = 'x1').  Does nothing when the tree exists.

usage: gen_many.py <data dir> <locations>
"""
import os
import shutil
import sys

import pyarrow as pa
import pyarrow.parquet as pq

data, n = sys.argv[1], int(sys.argv[2])
root = os.path.join(data, "many")
if not os.path.isdir(root):
    tmp = root + ".tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    for a in range(2):
        for b in range(n // 2):
            d = os.path.join(tmp, f"a=x{a}", f"b=y{b}")
            os.makedirs(d)
            k = a * n + b
            pq.write_table(pa.table({"v": pa.array([k, k + 1, k + 2], pa.int64()), "x": pa.array([0.5, 1.5, 2.5])}),
                           os.path.join(d, "data.parquet"), compression="snappy")
    os.rename(tmp, root)
    print(f"gen: {n} tiny locations in {root}", file=sys.stderr)
