"""Parquet files written by tabledata (gen-sample uses the project's Parquet
writer) read by pyarrow and DuckDB: schema, row-group statistics, and
aggregates equal to what tabledata computes over the same files.

usage: check_pyarrow.py TABLEDATA_PROGRAM
"""
import csv
import io
import subprocess
import sys
import tempfile

import duckdb
import pyarrow.compute as pc
import pyarrow.parquet as pq

prog = sys.argv[1]
with tempfile.TemporaryDirectory() as tmp:
    subprocess.run([prog, "gen-sample", tmp, "--rows", "150000", "--days", "2", "--format", "parquet"],
                   check=True, stdout=subprocess.DEVNULL)
    root = f"{tmp}/parquet"
    f = pq.ParquetFile(f"{root}/Date=2024-01-02/Exchange=NYSE/data.parquet")
    schema = f.schema_arrow
    assert str(schema.field("Timestamp").type) == "timestamp[ns, tz=UTC]", schema
    assert str(schema.field("Code").type) == "uint16", schema
    assert str(schema.field("Tick").type) == "int8", schema
    assert schema.field("Symbol").nullable and not schema.field("Price").nullable, schema
    table = f.read()
    assert f.metadata.num_row_groups == 1 and table.num_rows == 25000, f.metadata
    for name in ("Price", "Size", "Volume", "Symbol", "Timestamp"):
        col = f.metadata.row_group(0).column(schema.get_field_index(name))
        st = col.statistics
        assert col.compression == "SNAPPY", col
        assert st.has_min_max, (name, st)
        assert st.null_count == table[name].null_count, (name, st)
        mm = pc.min_max(table[name])
        if name == "Timestamp":  # nanoseconds do not fit Python's datetime
            assert st.min_raw == mm["min"].value and st.max_raw == mm["max"].value, (name, st, mm)
        else:
            assert st.min == mm["min"].as_py() and st.max == mm["max"].as_py(), (name, st, mm)

    sql = ("SELECT Symbol, count(*) AS n, sum(Size) AS size, sum(Volume) AS vol, count(Flag) AS flags, "
           "sum(Tick) AS ticks, sum(Code) AS codes, min(Price) AS lo, max(Bid) AS hi "
           "FROM {src} GROUP BY Symbol ORDER BY Symbol")
    got = subprocess.run([prog, "query", "--format", "csv", sql.format(src=f"'{root}'")], check=True,
                         capture_output=True, text=True).stdout
    ours = [tuple(r) for r in csv.reader(io.StringIO(got))][1:]
    theirs = duckdb.sql(sql.format(src=f"read_parquet('{root}/*/*/*.parquet', hive_partitioning=true)")
                        .replace("ORDER BY Symbol", "ORDER BY Symbol NULLS LAST")).fetchall()
    assert len(ours) == len(theirs) == 11, (ours, theirs)
    for a, b in zip(ours, theirs):
        assert (a[0] or None) == b[0], (a, b)
        assert [int(x) for x in a[1:7]] == [int(x) for x in b[1:7]], (a, b)
        assert float(a[7]) == b[7] and abs(float(a[8]) - b[8]) < 1e-4, (a, b)
print("parquet writer: pyarrow and DuckDB agree with tabledata")
