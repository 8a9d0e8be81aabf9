// bench/duckdb/windows.mjs - SQL window functions over the sample data
// (tabledata gen-sample) through `tabledata query --timing` against DuckDB
// (@duckdb/node-api, one thread, as tabledata's window operator is
// single-threaded): a rolling 1-minute average price per symbol (issue 13).
// Both compute the window over every row; ORDER BY ... LIMIT 1 keeps the
// printed answer small, and the answers are compared before timing.
//   node windows.mjs TABLEDATA SAMPLE_DIR [repeats]
import { DuckDBInstance } from "@duckdb/node-api";
import { spawnSync } from "node:child_process";

const [cli, dir, repeatsArg] = process.argv.slice(2);
const repeats = Number(repeatsArg || 3);
const pq = `${dir}/parquet`;
const db = await DuckDBInstance.create(":memory:", { threads: "1" });
const con = await db.connect();
const duckSrc = `read_parquet('${pq}/**/*.parquet', hive_partitioning = true)`;
const oursSrc = `'${pq}'`;
const queries = [
  ["rolling 1-minute average per symbol",
    (s) => `SELECT coalesce(Symbol, '-') AS s, round(avg(Price) OVER (PARTITION BY Symbol ORDER BY Timestamp RANGE BETWEEN INTERVAL 1 MINUTE ` +
      `PRECEDING AND CURRENT ROW), 4) AS m FROM ${s} ORDER BY m DESC, Symbol LIMIT 1`],
  ["latest row per symbol (QUALIFY row_number)",
    (s) => `SELECT coalesce(Symbol, '-') AS s, Price FROM ${s} QUALIFY row_number() OVER (PARTITION BY Symbol ORDER BY Timestamp DESC, Price) = 1 ` +
      `ORDER BY Symbol LIMIT 1`],
];

function timeOurs(sql) {
  let best = Infinity, out = "";
  for (let i = 0; i < repeats; i++) {
    const r = spawnSync(cli, ["query", "--timing", "--format", "csv", sql], { encoding: "utf8" });
    if (r.status !== 0) throw new Error(`tabledata failed: ${r.stderr}`);
    best = Math.min(best, Number(/time: ([0-9.]+) ms/.exec(r.stderr)[1]));
    out = r.stdout.trim().split("\n")[1];
  }
  return { best, out };
}

async function timeDuck(sql) {
  let best = Infinity, out = "";
  for (let i = 0; i < repeats; i++) {
    const t0 = process.hrtime.bigint();
    const reader = await con.runAndReadAll(sql);
    best = Math.min(best, Number(process.hrtime.bigint() - t0) / 1e6);
    out = reader.getRows()[0].map(String).join(",");
  }
  return { best, out };
}

for (const [name, q] of queries) {
  const ours = timeOurs(q(oursSrc));
  const duck = await timeDuck(q(duckSrc));
  if (ours.out !== duck.out) throw new Error(`${name}: tabledata ${ours.out} vs DuckDB ${duck.out}`);
  console.log(`windows vs DuckDB (1 thread): ${name}: tabledata ${ours.best.toFixed(0)} ms, DuckDB ${duck.best.toFixed(0)} ms, ` +
    `ratio ${(ours.best / duck.best).toFixed(2)}x (answer ${ours.out})`);
}
