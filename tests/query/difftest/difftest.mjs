// Differential test: the generated queries (gen.mjs) run through
// `tabledata query --format jsonl` and DuckDB (@duckdb/node-api) over the same
// Parquet tree; results are compared typed, column by column by name:
// numbers with a relative tolerance of 1e-7 (float32 columns print as the
// shortest float text on one side and as the double value on the other), timestamps as instants to the
// microsecond (DuckDB's unit), strings and booleans exactly, nulls as nulls.
// Rows are compared in order when the query's ORDER BY is total, else as
// multisets.
//
//   node difftest.mjs <tabledata> <parquet dir> [count] [seed]
// Exit status 0 when every query agrees; the disagreements are printed.
import { execFileSync } from 'node:child_process';
import { DuckDBInstance } from '@duckdb/node-api';
import { generate } from './gen.mjs';
import { FIXTURES, fixedQueries } from './fixed.mjs';

const [cli, dir, countArg, seedArg] = process.argv.slice(2);
if (!cli || !dir) {
  console.error('usage: node difftest.mjs <tabledata> <parquet dir> [count] [seed]');
  process.exit(2);
}
// DIFFTEST_ONLY=fixed runs only the fixed adversarial cases (fixed.mjs)
const queries = [...(process.env.DIFFTEST_ONLY === 'fixed' ? [] : generate(Number(countArg || 400), Number(seedArg || 13))),
  ...fixedQueries()];

const ISO = /^(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:\.(\d{1,9}))?Z$/;

// A canonical typed value: ['n', number] | ['s', string] | ['b', bool] |
// ['t', BigInt microseconds] | ['d', days] | null.
function fromTabledata(v) {
  if (v === null || v === undefined) return null;
  if (typeof v === 'number') return ['n', v];
  if (typeof v === 'boolean') return ['b', v];
  const m = ISO.exec(v);
  if (m) {
    const d = new Date(0); /* not Date.UTC, which reads the years 0-99 as 1900-1999 */
    d.setUTCFullYear(+m[1], +m[2] - 1, +m[3]);
    d.setUTCHours(+m[4], +m[5], +m[6], 0);
    const ms = d.getTime();
    const frac = (m[7] || '').padEnd(9, '0');
    return ['t', BigInt(ms) * 1000n + BigInt(frac.slice(0, 6))]; /* to the microsecond, rounded down */
  }
  return ['s', v];
}

function fromDuck(v) {
  if (v === null || v === undefined) return null;
  if (typeof v === 'number') return ['n', v];
  if (typeof v === 'bigint') return ['n', Number(v)];
  if (typeof v === 'boolean') return ['b', v];
  if (typeof v === 'string') return ['s', v];
  if ('scale' in v && 'value' in v) return ['n', Number(v.value) / 10 ** v.scale]; // DECIMAL
  if ('micros' in v) return ['t', BigInt(v.micros)];
  if ('nanos' in v) return ['t', BigInt(v.nanos) / 1000n];
  if ('days' in v) return ['s', new Date(Number(v.days) * 86400000).toISOString().slice(0, 10)];
  return ['s', String(v)];
}

// string_agg (sagg*) as the sorted parts, approximate counts (approx*) within 5 % of the exact count
function same(a, b, col = '') {
  if (a === null || b === null) return a === b;
  if (col.startsWith('sagg') && a[0] === 's' && b[0] === 's') return a[1].split('|').sort().join('|') === b[1].split('|').sort().join('|');
  if (col.startsWith('approx') && a[0] === 'n' && b[0] === 'n') return Math.abs(a[1] - b[1]) <= 0.05 * Math.max(a[1], b[1]);
  if (a[0] !== b[0]) return false;
  if (a[0] === 'n') {
    const x = a[1], y = b[1];
    if (Number.isNaN(x) || Number.isNaN(y)) return Number.isNaN(x) && Number.isNaN(y);
    return x === y || Math.abs(x - y) <= 1e-7 * Math.max(Math.abs(x), Math.abs(y)) + 1e-12;
  }
  return a[1] === b[1];
}

const show = (v) => (v === null ? 'null' : `${v[0]}:${String(v[1])}`);
// A sort key for multiset comparison: numbers rounded so that tolerance
// differences do not reorder rows.
const key = (row, cols) =>
  cols.map((c) => { const v = row[c]; return v === null ? '~' : c.startsWith('approx') ? 'a' : c.startsWith('sagg') ? `s${v[1].split('|').sort()}` : v[0] === 'n' ? `n${Number(v[1]).toPrecision(8)}` : `${v[0]}${v[1]}`; }).join('\u0001');

const inst = await DuckDBInstance.create(':memory:');
const con = await inst.connect();
await con.run("SET TimeZone = 'UTC'");
const fixture = {};
for (const [name, sql] of Object.entries(FIXTURES)) {
  fixture[`{${name}}`] = `'${dir}/../fixture_${name}.parquet'`;
  await con.run(`COPY (${sql}) TO ${fixture[`{${name}}`]} (FORMAT parquet)`);
}
const sources = (sql, src) => Object.entries(fixture).reduce((s, [k, v]) => s.replaceAll(k, v), sql.replaceAll('{src}', src));
await con.run(`CREATE VIEW t AS SELECT * FROM read_parquet('${dir}/**/*.parquet', hive_partitioning = true, hive_types_autocast = false)`);

let failed = 0, rows = 0;
for (const [i, q] of queries.entries()) {
  // approximate counts are checked against DuckDB's exact count (its own sketch is coarser)
  const tdSql = sources(q.sql, `'${dir}'`),
    duckSql = sources(q.sql, 't').replaceAll('approx_count_distinct(', 'count(DISTINCT ');
  let td, duck, cols;
  try {
    const text = execFileSync(cli, ['query', '--format', 'jsonl', tdSql], { encoding: 'utf8', maxBuffer: 1 << 28 });
    td = text.split('\n').filter((l) => l).map((l) => Object.fromEntries(Object.entries(JSON.parse(l)).map(([k, v]) => [k, fromTabledata(v)])));
  } catch (e) {
    const msg = (e.stderr || e.message).toString().split('\n')[0];
    if (q.error && (q.error === true || msg.includes(q.error))) {
      if (q.refuse) continue;
      try { await con.runAndReadAll(duckSql); } catch { continue; }
      console.log(`FAIL ${i}: DuckDB accepts what tabledata refuses (${msg})\n  ${tdSql}`);
      failed++;
      continue;
    }
    console.log(`FAIL ${i}: tabledata: ${(e.stderr || e.message).toString().split('\n')[0]}\n  ${tdSql}`);
    failed++;
    continue;
  }
  try {
    const r = await con.runAndReadAll(duckSql);
    cols = r.columnNames();
    duck = r.getRowObjects().map((o) => Object.fromEntries(Object.entries(o).map(([k, v]) => [k, fromDuck(v)])));
  } catch (e) {
    console.log(`SKIP ${i}: DuckDB refused: ${e.message.split('\n')[0]}\n  ${duckSql}`);
    failed++; // every generated query must be valid DuckDB
    continue;
  }
  if (q.error) {
    console.log(`FAIL ${i}: expected an error (${q.error})\n  ${tdSql}`);
    failed++;
    continue;
  }
  const tdCols = td.length ? Object.keys(td[0]) : cols;
  let why = '';
  if (q.fixed ? tdCols.join() !== cols.join() : [...tdCols].sort().join() !== [...cols].sort().join()) why = `columns ${tdCols} vs ${cols}`;
  else if (td.length !== duck.length) why = `${td.length} rows vs ${duck.length}`;
  else {
    if (!q.ordered) {
      td.sort((a, b) => (key(a, cols) < key(b, cols) ? -1 : key(a, cols) > key(b, cols)));
      duck.sort((a, b) => (key(a, cols) < key(b, cols) ? -1 : key(a, cols) > key(b, cols)));
    }
    for (let r = 0; r < td.length && !why; r++)
      for (const c of cols)
        if (!same(td[r][c], duck[r][c], c)) {
          why = `row ${r} column ${c}: tabledata ${show(td[r][c])}, DuckDB ${show(duck[r][c])}`;
          break;
        }
  }
  rows += td.length;
  if (why) {
    failed++;
    console.log(`FAIL ${i}: ${why}\n  ${q.sql}`);
  }
}
console.log(`${queries.length} queries, ${rows} rows compared; ${failed} failed`);
process.exit(failed ? 1 : 0);
