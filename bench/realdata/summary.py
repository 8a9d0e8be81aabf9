#!/usr/bin/env python3
"""Condenses bench/realdata/run.py's Markdown table into one row per query (the
README's form): tabledata's Parquet time and peak RSS at 1 thread, then its
ratios to DuckDB and Polars (query time at 1 and 2 threads, whole process and
peak RSS at 1 thread) on Parquet and on Arrow IPC; then issue 13's joins
(run.py's "joins" section, against DuckDB only) in a table of their own.

usage: summary.py <table.md written by run.py --out>
"""
import re
import sys

txt = open(sys.argv[1]).read()
sections=re.split(r"\n\*\*(.*?)\*\*.*\n", txt)
data={}
for i in range(1,len(sections),2):
    title=sections[i]; body=sections[i+1]
    fmt=("parquet" if title.startswith("Parquet") else "arrow" if title.startswith("Arrow")
         else "joins" if title.startswith("Joins") else "many")
    for line in body.splitlines():
        c=[x.strip() for x in line.strip("|").split("|")]
        if len(c)<8 or not c[1].isdigit(): continue
        data[(fmt,c[0],int(c[1]))]=c
def r(fmt,q,t,col,k):
    c=data.get((fmt,q,t))
    if not c or c[col]=="-": return "n/a"
    return c[col].split(", ")[k]
def td(fmt,q):
    c=data.get((fmt,q,1)); 
    if not c or c[2]=="error": return "n/a"
    m=re.match(r"(\d+) \((\d+), (\d+)\)",c[2]); return f"{m.group(1)} ms, {m.group(3)} MiB"
qs=[]
for k in data:
    if k[1] not in qs and k[0] != "joins": qs.append(k[1])
if qs: print("| query | tabledata (Parquet, 1 thread) | / DuckDB 1T, 2T | / Polars 1T, 2T | whole process / DuckDB, Polars (1T) | peak RSS / DuckDB, Polars | Arrow IPC: / DuckDB 1T, 2T | / Polars 1T, 2T | peak RSS / DuckDB, Polars |")
if qs: print("|---|---|---|---|---|---|---|---|---|")
for q in qs:
    fm="many" if q.startswith("one partition of many") else "parquet"
    row=[q, td(fm,q), f"{r(fm,q,1,5,0)}, {r(fm,q,2,5,0)}", f"{r(fm,q,1,6,0)}, {r(fm,q,2,6,0)}",
         f"{r(fm,q,1,5,1)}, {r(fm,q,1,6,1)}", f"{r(fm,q,1,5,2)}, {r(fm,q,1,6,2)}"]
    if fm=="parquet":
        row+= [f"{r('arrow',q,1,5,0)}, {r('arrow',q,2,5,0)}", f"{r('arrow',q,1,6,0)}, {r('arrow',q,2,6,0)}", f"{r('arrow',q,1,5,2)}, {r('arrow',q,1,6,2)}"]
    else: row+=["", "", ""]
    print("| "+" | ".join(row)+" |")
jq=[]
for k in data:
    if k[0]=="joins" and k[1] not in jq: jq.append(k[1])
if jq:
    print()
    print("| join query | tabledata (1 thread) | / DuckDB 1T, 2T | whole process / DuckDB (1T) | peak RSS / DuckDB 1T, 2T |")
    print("|---|---|---|---|---|")
    for q in jq:
        print(f"| {q} | {td('joins',q)} | {r('joins',q,1,5,0)}, {r('joins',q,2,5,0)} | {r('joins',q,1,5,1)} "
              f"| {r('joins',q,1,5,2)}, {r('joins',q,2,5,2)} |")
