// Generates the issue-11 dataset for bench/realdata/run.py: N rows in a hive
// tree of 64 locations (region=r0..r7 / day=2024-01-01..08), written by
// DuckDB as snappy Parquet (gen_ipc.py writes the same rows as Arrow IPC).  Columns: id int64, ts timestamp (inside its day), sym
// string (~5k values), price double, qty int32 (1..1000), flag bool, note
// nullable string (10% null).  Rows are laid out in id order, so location k
// holds ids [k*N/64, (k+1)*N/64).  Does nothing when the tree exists.
//
// usage: node gen.mjs <out dir> <rows>   -> <out dir>/parquet
import { DuckDBInstance } from "@duckdb/node-api";
import { existsSync, mkdirSync, renameSync, rmSync } from "node:fs";
import { join } from "node:path";

const [outDir, rowsArg] = process.argv.slice(2);
const rows = Number(rowsArg);
if (!outDir || !(rows >= 64)) {
  console.error("usage: node gen.mjs <out dir> <rows (>= 64)>");
  process.exit(2);
}
const pq = join(outDir, "parquet");
mkdirSync(outDir, { recursive: true });

if (!existsSync(pq)) {
  const db = await DuckDBInstance.create(":memory:");
  const con = await db.connect();
  const tmp = pq + ".tmp";
  rmSync(tmp, { recursive: true, force: true });
  // One file per location (DuckDB writes one per partition and thread).
  await con.run("SET threads = 1");
  await con.run(`COPY (
      SELECT i AS id,
             TIMESTAMP '2024-01-01' + to_days(CAST(p % 8 AS INTEGER))
               + to_microseconds((i * 2654435761) % 86400000000) AS ts,
             'S' || lpad(CAST((i * 40503) % 5003 AS VARCHAR), 4, '0') AS sym,
             CAST((i * 48271) % 2147483647 AS DOUBLE) / 1000.0 AS price,
             CAST((i * 7919) % 1000 + 1 AS INTEGER) AS qty,
             i % 3 = 0 AS flag,
             CASE WHEN i % 10 = 0 THEN NULL ELSE 'note ' || CAST(i % 97 AS VARCHAR) END AS note,
             'r' || CAST(p // 8 AS VARCHAR) AS region,
             strftime(DATE '2024-01-01' + CAST(p % 8 AS INTEGER), '%Y-%m-%d') AS day
      FROM (SELECT i, (i * 64) // ${rows} AS p FROM range(${rows}) t(i))
      ORDER BY i)
    TO '${tmp}' (FORMAT PARQUET, PARTITION_BY (region, day), COMPRESSION SNAPPY)`);
  renameSync(tmp, pq);
  console.error(`gen: ${rows} rows of Parquet by DuckDB in ${pq}`);
}
