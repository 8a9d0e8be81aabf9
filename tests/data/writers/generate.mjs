// Writes the JavaScript writers' files of tests/data/writers: Apache Arrow JS
// (IPC file), parquet-wasm (arrow-rs Parquet), nodejs-polars 0.25.2 (Parquet
// and IPC) and DuckDB's Node API (Parquet) re-write the rows of the pyarrow
// files that generate.py made (same columns, types, nulls and extremes), and
// hyparquet-writer writes the columns it has types for from JavaScript values.
// Run generate.py first, then: npm install && node generate.mjs
// make check reads the written files; nothing here runs in the tests.
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { createRequire } from 'node:module';
import * as arrow from 'apache-arrow';
import * as pw from 'parquet-wasm';
import { parquetWriteBuffer } from 'hyparquet-writer';
import { DuckDBInstance } from '@duckdb/node-api';

const require = createRequire(import.meta.url);
const pl = require('nodejs-polars');
const dir = path.dirname(fileURLToPath(import.meta.url));
const variants = ['5rows', '1row', '0rows'];

const duck = await (await DuckDBInstance.create(':memory:')).connect();
await duck.run("SET TimeZone = 'UTC'");

for (const v of variants) {
  const src = path.join(dir, `pyarrow_${v}.arrow`);
  const table = arrow.tableFromIPC(readFileSync(src));
  writeFileSync(path.join(dir, `arrowjs_${v}.arrow`), arrow.tableToIPC(table, 'file'));
  const wasmTable = pw.Table.fromIPCStream(arrow.tableToIPC(table, 'stream'));
  writeFileSync(path.join(dir, `parquetwasm_${v}.parquet`), pw.writeParquet(wasmTable));
  const df = pl.readParquet(readFileSync(path.join(dir, `pyarrow_${v}.parquet`)));
  df.writeParquet(path.join(dir, `nodepolars_${v}.parquet`));
  df.writeIPC(path.join(dir, `nodepolars_${v}.arrow`));
  const pq = path.join(dir, `pyarrow_${v}.parquet`);
  await duck.run(`COPY (SELECT * FROM read_parquet('${pq}')) TO '${path.join(dir, `duckdbnode_${v}.parquet`)}' (FORMAT parquet)`);
}

// hyparquet-writer: from JavaScript values, the types it writes without a hand-made schema.
const rows = {
  i32: [-2147483648, 2147483647, null, 70000, 0],
  i64: [-(2n ** 63n), 2n ** 63n - 1n, null, 5000000000n, 0n],
  f64: [-1.7976931348623157e308, 1.7976931348623157e308, null, 0.1, 0],
  b: [false, true, null, true, false],
  s: ['', 'z\u00e9\u4e2d\u{1F600}', null, 'hello', '0'],
  ts_ms: [new Date(Date.UTC(1, 0, 1) - 0).setUTCFullYear(1), Date.UTC(9999, 11, 31, 23, 59, 59, 999), null,
          Date.UTC(2024, 1, 29, 12, 30, 1, 500), 0].map((t) => (t === null ? null : new Date(t))),
};
const types = { i32: 'INT32', i64: 'INT64', f64: 'DOUBLE', b: 'BOOLEAN', s: 'STRING', ts_ms: 'TIMESTAMP' };
const pick = { '5rows': [0, 5], '1row': [1, 2], '0rows': [0, 0] };
for (const v of variants) {
  const [a, b] = pick[v];
  const columnData = Object.keys(rows).map((name) => ({ name, data: rows[name].slice(a, b), type: types[name] }));
  writeFileSync(path.join(dir, `hyparquet_${v}.parquet`), Buffer.from(parquetWriteBuffer({ columnData })));
}
for (const p of ['apache-arrow', 'parquet-wasm', 'hyparquet-writer', 'nodejs-polars', '@duckdb/node-api'])
  console.log(p, JSON.parse(readFileSync(path.join(dir, 'node_modules', p, 'package.json'))).version);
