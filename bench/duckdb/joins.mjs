// bench/duckdb/joins.mjs - joins of the sample data (tabledata gen-sample)
// against DuckDB at the same thread count (harness: compare.mjs).  Both sides are the
// same Parquet tree; the answers are compared before timing.
//   node joins.mjs TABLEDATA SAMPLE_DIR [repeats]
import { compareWithDuckDB } from "./compare.mjs";

await compareWithDuckDB("joins", [
  ["hash join on (Symbol, Timestamp)",
    (s) => `SELECT count(*) AS n, sum(b.Size) AS s FROM ${s} a JOIN ${s} b USING (Symbol, Timestamp)`],
  ["as-of join on Symbol, Timestamp",
    (s) => `SELECT count(*) AS n, sum(q.Size) AS s FROM ${s} t ASOF JOIN ${s} q ON t.Symbol = q.Symbol AND t.Timestamp > q.Timestamp`],
]);
