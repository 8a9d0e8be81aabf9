"""Writes the Python writers' files of tests/data/writers (pyarrow, Polars and
DuckDB from the project's .venv): every column type tabledata reads, with
nulls and extremes, as 5-row, 1-row and 0-row files.  Run it only to
regenerate the vendored files (their README says which versions made them);
make check reads the files and runs nothing here.

usage: .venv/bin/python tests/data/writers/generate.py [OUT_DIR]
"""
import datetime as dt
import decimal as D
import os
import sys

import duckdb
import polars as pl
import pyarrow as pa
import pyarrow.feather as feather
import pyarrow.parquet as pq

out = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__))

# Rows: 0 the minimum of each type, 1 the maximum, 2 all null, 3 ordinary
# values, 4 zeros (the epoch).
TS_MIN, TS_MAX = dt.datetime(1, 1, 1), dt.datetime(9999, 12, 31, 23, 59, 59, 999999)
DEC38 = "9" * 28 + "." + "9" * 10  # text: Python arithmetic would round to 28 digits


def col(values, t):
    return pa.array(values, t)


def table():
    return pa.table({
        "i8": col([-128, 127, None, 7, 0], pa.int8()),
        "i16": col([-32768, 32767, None, 300, 0], pa.int16()),
        "i32": col([-2**31, 2**31 - 1, None, 70000, 0], pa.int32()),
        "i64": col([-2**63, 2**63 - 1, None, 5000000000, 0], pa.int64()),
        "u8": col([0, 255, None, 7, 0], pa.uint8()),
        "u16": col([0, 65535, None, 300, 0], pa.uint16()),
        "u32": col([0, 2**32 - 1, None, 70000, 0], pa.uint32()),
        "u64": col([0, 2**64 - 1, None, 2**63, 0], pa.uint64()),
        "f32": col([-3.4028234663852886e38, 3.4028234663852886e38, None, 0.5, 0.0], pa.float32()),
        "f64": col([-1.7976931348623157e308, 1.7976931348623157e308, None, 0.1, 0.0], pa.float64()),
        "b": col([False, True, None, True, False], pa.bool_()),
        "s": col(["", "z\u00e9\u4e2d\U0001F600", None, "hello", "0"], pa.string()),
        "d": col([dt.date(1, 1, 1), dt.date(9999, 12, 31), None, dt.date(2024, 2, 29), dt.date(1970, 1, 1)],
                 pa.date32()),
        "ts_us": col([TS_MIN, TS_MAX, None, dt.datetime(2024, 2, 29, 12, 30, 1, 500000), dt.datetime(1970, 1, 1)],
                     pa.timestamp("us")),
        "ts_ms": col([TS_MIN, TS_MAX.replace(microsecond=999000), None, dt.datetime(2024, 2, 29, 12, 30, 1, 500000),
                      dt.datetime(1970, 1, 1)], pa.timestamp("ms", tz="UTC")),
        "ts_ns": col([-(2**63) + 10**9, 2**63 - 10**9, None, 1709209801500000123, 0], pa.timestamp("ns", tz="UTC")),
        "t_us": col([dt.time(0), dt.time(23, 59, 59, 999999), None, dt.time(12, 34, 56, 123456), dt.time(0)],
                    pa.time64("us")),
        "dec9": col([D.Decimal("-9999999.99"), D.Decimal("9999999.99"), None, D.Decimal("1.25"), D.Decimal("0")],
                    pa.decimal128(9, 2)),
        "dec18": col([D.Decimal("-999999999999.999999"), D.Decimal("999999999999.999999"), None,
                      D.Decimal("123456789012.345678"), D.Decimal("0")], pa.decimal128(18, 6)),
        "dec38": col([D.Decimal("-" + DEC38), D.Decimal(DEC38), None, D.Decimal("12345678901234567890.0123456789"), D.Decimal("0")],
                     pa.decimal128(38, 10)),
    })


def variants(t):
    return {"5rows": t, "1row": t.slice(1, 1), "0rows": t.slice(0, 0)}


def main():
    t = table()
    for name, v in variants(t).items():
        pq.write_table(v, os.path.join(out, f"pyarrow_{name}.parquet"))
        feather.write_feather(v, os.path.join(out, f"pyarrow_{name}.arrow"), compression="uncompressed")
        df = pl.from_arrow(v)
        df.write_parquet(os.path.join(out, f"polars_{name}.parquet"))
        df.write_ipc(os.path.join(out, f"polars_{name}.arrow"), compression="uncompressed")
        con = duckdb.connect()
        con.execute("SET TimeZone = 'UTC'")
        con.register("v", v)
        con.execute(f"COPY (SELECT * FROM v) TO '{os.path.join(out, f'duckdb_{name}.parquet')}' (FORMAT parquet)")
        con.close()
    print("pyarrow", pa.__version__, "polars", pl.__version__, "duckdb", duckdb.__version__)


if __name__ == "__main__":
    main()
