// tabledata against DuckDB on the same hive-partitioned files.
//
// Generates (once) 10M rows in 16 partitions as Parquet (snappy, by DuckDB)
// and as Arrow IPC streams (converted by `tabledata query --format arrow`),
// then times three queries with both engines on one thread, best of N runs:
// a full sum of one column, a one-partition filter, a 10-group GROUP BY sum.
// Both are timed as query execution: tabledata by `tabledata query --timing`
// (planning to the last row printed, in the process), DuckDB as the query on
// an open connection.  The whole `tabledata query` process (start-up,
// discovery, query, exit) is reported too.  DuckDB cannot read Arrow IPC files here (its
// arrow extension is not installable offline), so the Arrow IPC runs are
// compared with DuckDB on the Parquet copy of the same data.
//
// usage: node bench.mjs <tabledata program> <data dir> [rows] [repeats]
import { DuckDBInstance } from "@duckdb/node-api";
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, openSync, closeSync } from "node:fs";
import { join } from "node:path";

const [cli, dataDir, rowsArg, repArg] = process.argv.slice(2);
const rows = Number(rowsArg || 10_000_000);
const repeats = Number(repArg || 5);
const pq = join(dataDir, `parquet-${rows}`), ipc = join(dataDir, `arrow-${rows}`);

const db = await DuckDBInstance.create(":memory:", { threads: "1" });
const con = await db.connect();

if (!existsSync(pq)) {
  mkdirSync(dataDir, { recursive: true });
  await con.run(`COPY (SELECT (i % 16)::VARCHAR AS p, ((i * 7) % 10)::INTEGER AS k,
                       ((i * 2654435761) % 1000)::BIGINT AS v, ((i * 13) % 10007) / 7.0 AS x
                FROM range(${rows}) t(i))
                TO '${pq}' (FORMAT PARQUET, PARTITION_BY (p), COMPRESSION SNAPPY)`);
}
if (!existsSync(ipc)) {
  for (const part of readdirSync(pq)) {
    for (const f of readdirSync(join(pq, part))) {
      mkdirSync(join(ipc, part), { recursive: true });
      const out = openSync(join(ipc, part, f.replace(/\.parquet$/, ".arrows")), "w");
      const r = spawnSync(cli, ["query", "--format", "arrow", `SELECT * FROM '${join(pq, part, f)}'`],
                          { stdio: ["ignore", out, "inherit"] });
      closeSync(out);
      if (r.status !== 0) throw new Error(`converting ${f} failed`);
    }
  }
}

const queries = [
  ["full sum", (t) => `SELECT sum(v) AS s FROM ${t}`],
  ["one partition", (t) => `SELECT count(*) AS n, sum(v) AS s FROM ${t} WHERE p = '7'`],
  ["group by (10 keys)", (t) => `SELECT k, sum(v) AS s FROM ${t} GROUP BY k ORDER BY k`],
];

function timeOurs(sql) {
  let best = Infinity, bestProc = Infinity, out = "";
  for (let i = 0; i < repeats; i++) {
    const t0 = process.hrtime.bigint();
    const r = spawnSync(cli, ["query", "--timing", "--format", "csv", sql], { encoding: "utf8" });
    const dt = Number(process.hrtime.bigint() - t0) / 1e6;
    if (r.status !== 0) throw new Error(`tabledata failed: ${r.stderr}`);
    const m = /time: ([0-9.]+) ms/.exec(r.stderr);
    out = r.stdout;
    best = Math.min(best, Number(m[1]));
    bestProc = Math.min(bestProc, dt);
  }
  return { best, bestProc, out };
}

async function timeDuck(sql) {
  let best = Infinity, rowsOut = [];
  for (let i = 0; i < repeats; i++) {
    const t0 = process.hrtime.bigint();
    const reader = await con.runAndReadAll(sql);
    const dt = Number(process.hrtime.bigint() - t0) / 1e6;
    rowsOut = reader.getRows();
    best = Math.min(best, dt);
  }
  return { best, rows: rowsOut };
}

// Same answers (first numeric column of each row) before timing anything.
function firstNumbers(csv) {
  return csv.trim().split("\n").slice(1).map((l) => l.split(",").map(Number));
}

const duckSrc = `read_parquet('${pq}/**/*.parquet', hive_partitioning = true, hive_types_autocast = false)`;
console.log(`tabledata vs DuckDB 1 thread, ${rows} rows in 16 partitions, best of ${repeats}; ` +
            `ratio = our query time / DuckDB's (target <= 1.5x)`);
for (const [name, q] of queries) {
  const duck = await timeDuck(q(duckSrc));
  for (const [fmt, dir] of [["parquet", pq], ["arrow", ipc]]) {
    const ours = timeOurs(q(`'${dir}'`));
    const a = firstNumbers(ours.out), b = duck.rows.map((r) => r.map(Number));
    if (JSON.stringify(a) !== JSON.stringify(b)) throw new Error(`${name} on ${fmt}: ${JSON.stringify(a)} vs ${JSON.stringify(b)}`);
    const ratio = ours.best / duck.best;
    console.log(`  ${name.padEnd(20)} ${fmt.padEnd(8)} tabledata ${ours.best.toFixed(1).padStart(6)} ms  ` +
                `DuckDB(parquet) ${duck.best.toFixed(1).padStart(6)} ms  ratio ${ratio.toFixed(2)}x` +
                `${ratio <= 1 ? " (faster)" : ""}  [whole process ${ours.bestProc.toFixed(1)} ms, ` +
                `${(ours.bestProc / duck.best).toFixed(2)}x]`);
  }
}
