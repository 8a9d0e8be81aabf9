// bench/duckdb/windows.mjs - SQL window functions and COUNT(DISTINCT) over
// the sample data (tabledata gen-sample) against DuckDB at the same thread
// count (harness: compare.mjs): a rolling 1-minute average price per symbol,
// the latest row per symbol (last-by) and distinct counts (issue 13).  Both compute the window over every row;
// ORDER BY ... LIMIT 1 keeps the printed answer small.
//   node windows.mjs TABLEDATA SAMPLE_DIR [repeats]
import { compareWithDuckDB } from "./compare.mjs";

await compareWithDuckDB("windows", [
  ["rolling 1-minute average per symbol",
    (s) => `SELECT coalesce(Symbol, '-') AS s, round(avg(Price) OVER (PARTITION BY Symbol ORDER BY Timestamp RANGE BETWEEN INTERVAL 1 MINUTE ` +
      `PRECEDING AND CURRENT ROW), 4) AS m FROM ${s} ORDER BY m DESC, Symbol LIMIT 1`],
  ["latest row per symbol (QUALIFY row_number)",
    (s) => `SELECT coalesce(Symbol, '-') AS s, Price FROM ${s} QUALIFY row_number() OVER (PARTITION BY Symbol ORDER BY Timestamp DESC, Price) = 1 ` +
      `ORDER BY Symbol LIMIT 1`],
  ["three latest rows per symbol (QUALIFY row_number <= 3)",
    (s) => `SELECT coalesce(Symbol, '-') AS s, Price FROM ${s} QUALIFY row_number() OVER (PARTITION BY Symbol ORDER BY Timestamp DESC, Price) <= 3 ` +
      `ORDER BY Symbol, Price LIMIT 1`],
  ["COUNT(DISTINCT) of a string, an integer and a double",
    (s) => `SELECT count(DISTINCT Symbol) AS a, count(DISTINCT Size) AS b, count(DISTINCT Price) AS c FROM ${s}`],
]);
