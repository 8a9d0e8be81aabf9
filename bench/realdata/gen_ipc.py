#!/usr/bin/env python3
"""Writes the Parquet tree of bench/realdata/gen.mjs again as Arrow IPC files, by Polars.

Polars (Python) reads each location's Parquet files and writes the same rows
to <data>/arrow/<region=..>/<day=..>/data_<n>.arrow with CompatLevel.oldest()
(plain large_string columns).  nodejs-polars 0.25.2 can only write Arrow's
string-view type (utf8 view), which tabledata does not read yet, so the
Python package writes these files.  Does nothing when <data>/arrow exists.

usage: gen_ipc.py <data dir>
"""
import os
import shutil
import sys

import polars as pl

data = sys.argv[1]
pq, ipc = os.path.join(data, "parquet"), os.path.join(data, "arrow")
if not os.path.isdir(ipc):
    tmp = ipc + ".tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    for region in sorted(os.listdir(pq)):
        for day in sorted(os.listdir(os.path.join(pq, region))):
            src = os.path.join(pq, region, day)
            os.makedirs(os.path.join(tmp, region, day))
            files = sorted(f for f in os.listdir(src) if f.endswith(".parquet"))
            for n, f in enumerate(files):
                df = pl.read_parquet(os.path.join(src, f))
                df.write_ipc(os.path.join(tmp, region, day, f"data_{n}.arrow"),
                             compat_level=pl.CompatLevel.oldest())
    os.rename(tmp, ipc)
    print(f"gen: the same rows as Arrow IPC by Polars {pl.__version__} in {ipc}", file=sys.stderr)
