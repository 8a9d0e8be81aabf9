// Reads an Arrow IPC stream from stdin with Apache Arrow JS and prints each
// row as JSON lines, rendering values the way `tabledata query --format
// jsonl` does (timestamps as ISO-8601 UTC with nanoseconds, read from the raw
// int64 values; date32 as YYYY-MM-DD from the raw days), so the two outputs can be compared line by line.
import { tableFromIPC } from "apache-arrow";

const chunks = [];
for await (const c of process.stdin) chunks.push(c);
const table = tableFromIPC(Buffer.concat(chunks));

// The raw int64 value of row r of a column (across its record batches).
function raw(column, r) {
  let base = 0;
  for (const d of column.data) {
    if (r < base + d.length) return d.values[d.offset + r - base];
    base += d.length;
  }
  throw new Error(`row ${r} is out of range`);
}

function isoNs(ns) {
  const sec = ns / 1000000000n - (ns < 0n && ns % 1000000000n !== 0n ? 1n : 0n);
  const frac = ns - sec * 1000000000n;
  const text = new Date(Number(sec) * 1000).toISOString().slice(0, 19);
  return `${text}.${frac.toString().padStart(9, "0")}Z`;
}

function shortest(x, single) {
  if (!Number.isFinite(x)) return null;
  for (let p = 1; p <= 17; p++) {
    const s = x.toPrecision(p);
    const back = Number(s);
    if (single ? Math.fround(back) === Math.fround(x) : back === x) return Number(s);
  }
  return x;
}

for (let r = 0; r < table.numRows; r++) {
  const parts = [];
  for (const f of table.schema.fields) {
    const col = table.getChild(f.name);
    let v = col.get(r);
    const t = String(f.type);
    let text;
    if (v === null) text = "null";
    else if (t.startsWith("Timestamp")) text = JSON.stringify(isoNs(raw(col, r)));
    else if (t === "Date32<DAY>") text = JSON.stringify(new Date(Number(raw(col, r)) * 86400000).toISOString().slice(0, 10));
    else if (typeof v === "bigint") text = v.toString();
    else if (t === "Float32") text = JSON.stringify(shortest(v, true));
    else if (t === "Float64") text = JSON.stringify(shortest(v, false));
    else text = JSON.stringify(v);
    parts.push(`${JSON.stringify(f.name)}:${text}`);
  }
  console.log(`{${parts.join(",")}}`);
}
