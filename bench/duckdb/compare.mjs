// bench/duckdb/compare.mjs - the shared harness of joins.mjs and windows.mjs:
// each query over the sample data's Parquet tree (tabledata gen-sample) runs
// through `tabledata query --timing --threads N` and through DuckDB
// (@duckdb/node-api, SET threads = N) at each thread count of
// TD_BENCH_THREADS (default "1,2"); the first answer row must agree, then
// the best of `repeats` times is reported, the engines alternating, with
// tabledata's peak RSS (GNU time's %M, when /usr/bin/time exists) and the
// DuckDB process's high-water mark so far (Node's maxRSS: the whole process,
// every query before included).
//   compareWithDuckDB(label, queries) with argv TABLEDATA SAMPLE_DIR [repeats];
//   queries: [name, (source) => sql] pairs.
import { DuckDBInstance } from "@duckdb/node-api";
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";

export async function compareWithDuckDB(label, queries) {
  const [cli, dir, repeatsArg] = process.argv.slice(2);
  const repeats = Number(repeatsArg || 3);
  const threadCounts = (process.env.TD_BENCH_THREADS || "1,2").split(",").map(Number);
  const pq = `${dir}/parquet`;
  const db = await DuckDBInstance.create(":memory:", { threads: "1" });
  const con = await db.connect();
  const duckSrc = `read_parquet('${pq}/**/*.parquet', hive_partitioning = true)`;
  const oursSrc = `'${pq}'`;
  const gnuTime = existsSync("/usr/bin/time");

  const runOurs = (sql, threads) => {
    const args = ["query", "--timing", "--threads", String(threads), "--format", "csv", sql];
    const r = gnuTime ? spawnSync("/usr/bin/time", ["-f", "maxrss %M", cli, ...args], { encoding: "utf8" })
      : spawnSync(cli, args, { encoding: "utf8" });
    if (r.status !== 0) throw new Error(`tabledata failed: ${r.stderr}`);
    const rss = gnuTime ? Number(/maxrss (\d+)/.exec(r.stderr)[1]) / 1024 : NaN;
    return { ms: Number(/time: ([0-9.]+) ms/.exec(r.stderr)[1]), out: r.stdout.trim().split("\n")[1], rss };
  };
  const runDuck = async (sql) => {
    const t0 = process.hrtime.bigint();
    const reader = await con.runAndReadAll(sql);
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    return { ms, out: reader.getRows()[0].map(String).join(",") };
  };

  for (const threads of threadCounts) {
    await con.run(`SET threads = ${threads}`);
    for (const [name, q] of queries) {
      let ours = { best: Infinity, rss: 0 }, duck = { best: Infinity };
      for (let i = 0; i < repeats; i++) { // alternating, best of each
        const o = runOurs(q(oursSrc), threads);
        ours = { best: Math.min(ours.best, o.ms), out: o.out, rss: Math.max(ours.rss, o.rss) };
        const d = await runDuck(q(duckSrc));
        duck = { best: Math.min(duck.best, d.ms), out: d.out };
      }
      if (ours.out !== duck.out) throw new Error(`${name}: tabledata ${ours.out} vs DuckDB ${duck.out}`);
      const duckRss = process.resourceUsage().maxRSS / 1024;
      console.log(`${label} vs DuckDB (${threads} thread${threads > 1 ? "s" : ""}): ${name}: tabledata ${ours.best.toFixed(0)} ms, ` +
        `DuckDB ${duck.best.toFixed(0)} ms, ratio ${(ours.best / duck.best).toFixed(2)}x; peak RSS tabledata ` +
        `${ours.rss.toFixed(0)} MiB, DuckDB process ${duckRss.toFixed(0)} MiB (answer ${ours.out})`);
    }
  }
}
