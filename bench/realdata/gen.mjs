// Generates the issue-11 dataset for bench/realdata/run.py: N rows in a hive
// tree of 64 locations (region=r0..r7 / day=2024-01-01..08), written by
// DuckDB as snappy Parquet (gen_ipc.py writes the same rows as Arrow IPC).  Columns: id int64, ts timestamp (inside its day), sym
// string (~5k values), price double, qty int32 (1..1000), flag bool, note
// nullable string (10% null).  Rows are laid out in id order, so location k
// holds ids [k*N/64, (k+1)*N/64).  Does nothing when the tree exists.
// For the issue-13 joins (run.py --formats joins) it also writes, each once:
//   ref/ref.parquet  5,003 rows, one per sym: sym, sector (12 values), lot
//   quotes/day=.../  N quotes: ts (distinct, inside its day), sym, bid, ask,
//                    8 locations (one per day)
//
// usage: node gen.mjs <out dir> <rows>   -> <out dir>/parquet, ref, quotes
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

const db = await DuckDBInstance.create(":memory:");
const con = await db.connect();
// One file per location (DuckDB writes one per partition and thread).
await con.run("SET threads = 1");

// Writes `select` with COPY options `opts` to dir (through dir.tmp) unless dir exists.
async function write(dir, select, opts, what) {
  if (existsSync(dir)) return;
  const tmp = dir + ".tmp";
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  await con.run(`COPY (${select}) TO '${opts.file ? join(tmp, opts.file) : tmp}' (${opts.copy})`);
  renameSync(tmp, dir);
  console.error(`gen: ${what} in ${dir}`);
}

await write(pq, `
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
      ORDER BY i`,
  { copy: "FORMAT PARQUET, PARTITION_BY (region, day), COMPRESSION SNAPPY, OVERWRITE_OR_IGNORE" },
  `${rows} rows of Parquet by DuckDB`);

// The reference table: one row per sym of the trades (S0000..S5002).
await write(join(outDir, "ref"), `
      SELECT 'S' || lpad(CAST(k AS VARCHAR), 4, '0') AS sym,
             'sector' || CAST(k % 12 AS VARCHAR) AS sector,
             CAST(k % 7 + 1 AS INTEGER) * 100 AS lot
      FROM range(5003) t(k) ORDER BY k`,
  { copy: "FORMAT PARQUET, COMPRESSION SNAPPY", file: "ref.parquet" }, "5,003 reference rows");

// Quotes: as many as trades, 8 days; the multiplier is prime, so no two
// quotes share a timestamp and an as-of match is unique.
await write(join(outDir, "quotes"), `
      SELECT TIMESTAMP '2024-01-01' + to_days(CAST(p AS INTEGER))
               + to_microseconds((i * 2246822519) % 86400000000) AS ts,
             'S' || lpad(CAST((i * 7877) % 5003 AS VARCHAR), 4, '0') AS sym,
             CAST((i * 16807) % 1000003 AS DOUBLE) / 100.0 AS bid,
             CAST((i * 16807) % 1000003 + (i % 17) + 1 AS DOUBLE) / 100.0 AS ask,
             strftime(DATE '2024-01-01' + CAST(p AS INTEGER), '%Y-%m-%d') AS day
      FROM (SELECT i, (i * 8) // ${rows} AS p FROM range(${rows}) t(i))
      ORDER BY i`,
  { copy: "FORMAT PARQUET, PARTITION_BY (day), COMPRESSION SNAPPY, OVERWRITE_OR_IGNORE" },
  `${rows} quotes of Parquet by DuckDB`);
