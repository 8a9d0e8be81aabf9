// bench/duckdb/compare.mjs - the shared harness of joins.mjs and windows.mjs:
// each query over the sample data's Parquet tree (tabledata gen-sample) runs
// through `tabledata query --timing` and through DuckDB (@duckdb/node-api, one
// thread, as tabledata's join and window operators are single-threaded); the
// first answer row must agree, then the best of `repeats` times is reported.
//   compareWithDuckDB(label, queries) with argv TABLEDATA SAMPLE_DIR [repeats];
//   queries: [name, (source) => sql] pairs.
import { DuckDBInstance } from "@duckdb/node-api";
import { spawnSync } from "node:child_process";

export async function compareWithDuckDB(label, queries) {
  const [cli, dir, repeatsArg] = process.argv.slice(2);
  const repeats = Number(repeatsArg || 3);
  const pq = `${dir}/parquet`;
  const db = await DuckDBInstance.create(":memory:", { threads: "1" });
  const con = await db.connect();
  const duckSrc = `read_parquet('${pq}/**/*.parquet', hive_partitioning = true)`;
  const oursSrc = `'${pq}'`;

  const timeOurs = (sql) => {
    let best = Infinity, out = "";
    for (let i = 0; i < repeats; i++) {
      const r = spawnSync(cli, ["query", "--timing", "--format", "csv", sql], { encoding: "utf8" });
      if (r.status !== 0) throw new Error(`tabledata failed: ${r.stderr}`);
      best = Math.min(best, Number(/time: ([0-9.]+) ms/.exec(r.stderr)[1]));
      out = r.stdout.trim().split("\n")[1];
    }
    return { best, out };
  };
  const timeDuck = async (sql) => {
    let best = Infinity, out = "";
    for (let i = 0; i < repeats; i++) {
      const t0 = process.hrtime.bigint();
      const reader = await con.runAndReadAll(sql);
      best = Math.min(best, Number(process.hrtime.bigint() - t0) / 1e6);
      out = reader.getRows()[0].map(String).join(",");
    }
    return { best, out };
  };

  for (const [name, q] of queries) {
    const ours = timeOurs(q(oursSrc));
    const duck = await timeDuck(q(duckSrc));
    if (ours.out !== duck.out) throw new Error(`${name}: tabledata ${ours.out} vs DuckDB ${duck.out}`);
    console.log(`${label} vs DuckDB (1 thread): ${name}: tabledata ${ours.best.toFixed(0)} ms, DuckDB ${duck.best.toFixed(0)} ms, ` +
      `ratio ${(ours.best / duck.best).toFixed(2)}x (answer ${ours.out})`);
  }
}
