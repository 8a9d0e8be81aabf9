// The web page of `tabledata serve`: pick a source or type SQL, follow the
// live query over a WebSocket (a snapshot, then one Arrow IPC delta per
// update cycle), and show it as a grid that ticks in place (changed cells
// flash, new rows appear), sortable and filterable by clicking, with a
// pause and a live line chart of one column.  Protocol: see cli/serve_live.c.
import { tableFromIPC, DataType } from "apache-arrow";
import uPlot from "uplot";

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
const token = params.get("token");
const MAX_SHOWN = 200, FLASH_MS = 900, CHART_POINTS = 600;

let ws = null, columns = [], state = [], version = 0, paused = false, dirty = false;
let sortCol = null, sortDir = 1, filters = {};
let updates = 0, rateWindow = [], chart = null, chartData = [[], []];

function api(path, opts = {}) {
  const headers = Object.assign({}, opts.headers || {});
  if (token) headers.Authorization = "Bearer " + token;
  return fetch(path, Object.assign({}, opts, { headers }));
}

function showError(msg) { $("error").textContent = msg || ""; }

function cellText(v, col) {
  if (v === null || v === undefined) return "null";
  if (col.timestamp) {
    const ms = typeof v === "bigint" ? Number(v / 1000000n) : Number(v);
    const d = new Date(ms);
    return isNaN(d) ? String(v) : d.toISOString();
  }
  if (typeof v === "number" && !Number.isInteger(v)) return String(Math.round(v * 1e6) / 1e6);
  return String(v);
}

function decode(bytes) {
  const t = tableFromIPC(bytes);
  const cols = t.schema.fields.map((f) => ({
    name: f.name,
    numeric: DataType.isInt(f.type) || DataType.isFloat(f.type) || DataType.isDecimal(f.type),
    timestamp: DataType.isTimestamp(f.type) || DataType.isDate(f.type),
  }));
  const vecs = cols.map((c) => t.getChild(c.name));
  const rows = new Array(t.numRows);
  for (let i = 0; i < t.numRows; i++) {
    const r = new Array(cols.length);
    for (let c = 0; c < cols.length; c++) r[c] = vecs[c].get(i);
    rows[i] = { v: r, changed: null, t: 0, isNew: false };
  }
  return { cols, rows };
}

function applyMessage(buf) {
  const dv = new DataView(buf);
  const hlen = dv.getUint32(0, true);
  const header = JSON.parse(new TextDecoder().decode(new Uint8Array(buf, 4, hlen)));
  if (header.type === "error") { showError(header.error); $("state").textContent = "failed"; return; }
  const body = new Uint8Array(buf, 4 + hlen);
  const { cols, rows } = body.length ? decode(body) : { cols: columns, rows: [] };
  const now = performance.now();
  let touched = null;
  if (header.type === "snapshot") {
    const first = columns.length === 0 || columns.map((c) => c.name).join() !== cols.map((c) => c.name).join();
    columns = cols;
    state = rows;
    if (first) setupColumns();
    touched = rows[rows.length - 1];
  } else {
    let i = 0;
    for (const p of header.changed) {
      const old = state[p], row = rows[i++];
      row.changed = new Set();
      row.t = now;
      if (old) old.v.forEach((x, c) => { if (String(x) !== String(row.v[c])) row.changed.add(c); });
      state[p] = row;
      touched = row;
    }
    for (const [at, n] of header.inserted) {
      const add = rows.slice(i, i + n);
      i += n;
      for (const r of add) { r.isNew = true; r.t = now; }
      state.splice(at, 0, ...add);
      if (add.length) touched = add[add.length - 1];
    }
    const added = header.inserted.reduce((s, [, n]) => s + n, 0);
    rateWindow.push([now, added]);
  }
  version = header.version;
  updates++;
  if (touched) pushChart(touched);
  dirty = true;
}

function pushChart(row) {
  const c = Number($("chartcol").value);
  if (!(c >= 0) || !columns[c]) return;
  const v = row.v[c];
  if (v === null || v === undefined) return;
  chartData[0].push(Date.now() / 1000);
  chartData[1].push(Number(v));
  if (chartData[0].length > CHART_POINTS) { chartData[0].shift(); chartData[1].shift(); }
}

function setupColumns() {
  sortCol = null;
  filters = {};
  const sel = $("chartcol");
  sel.innerHTML = "";
  columns.forEach((c, i) => {
    if (!c.numeric) return;
    const o = document.createElement("option");
    o.value = i;
    o.textContent = c.name;
    sel.appendChild(o);
  });
  chartData = [[], []];
  buildHeader();
}

let thead = null, tbody = null;
function buildHeader() {
  const grid = $("grid");
  grid.innerHTML = "";
  const table = document.createElement("table");
  thead = document.createElement("thead");
  const tr = document.createElement("tr");
  columns.forEach((c, i) => {
    const th = document.createElement("th");
    th.dataset.col = i;
    th.textContent = c.name;
    th.title = "click to sort";
    th.addEventListener("click", () => {
      if (sortCol === i) { if (sortDir === 1) sortDir = -1; else sortCol = null; } else { sortCol = i; sortDir = 1; }
      dirty = true;
      render(true);
    });
    tr.appendChild(th);
  });
  const fr = document.createElement("tr");
  fr.className = "filters";
  columns.forEach((c, i) => {
    const th = document.createElement("th");
    const inp = document.createElement("input");
    inp.placeholder = "filter";
    inp.dataset.col = i;
    inp.addEventListener("input", () => { filters[i] = inp.value.trim().toLowerCase(); dirty = true; render(true); });
    th.appendChild(inp);
    fr.appendChild(th);
  });
  thead.append(tr, fr);
  tbody = document.createElement("tbody");
  table.append(thead, tbody);
  grid.appendChild(table);
}

function compare(a, b) {
  if (a === b) return 0;
  if (a === null || a === undefined) return -1;
  if (b === null || b === undefined) return 1;
  if (typeof a === "bigint" || typeof b === "bigint") { a = BigInt(a); b = BigInt(b); }
  return a < b ? -1 : a > b ? 1 : 0;
}

function visibleRows() {
  let rows = state;
  const active = Object.entries(filters).filter(([, f]) => f);
  if (active.length)
    rows = rows.filter((r) => active.every(([c, f]) => cellText(r.v[c], columns[c]).toLowerCase().includes(f)));
  if (sortCol !== null) {
    rows = rows.map((r, i) => [r, i]);
    rows.sort((x, y) => compare(x[0].v[sortCol], y[0].v[sortCol]) * sortDir || x[1] - y[1]);
    rows = rows.map((x) => x[0]);
  }
  return rows;
}

function render(force) {
  if (!tbody || (!dirty && !force) || (paused && !force)) return;
  dirty = false;
  const now = performance.now();
  // Unsorted, the newest rows (the tail) are shown; sorted, the first ones.
  let rows = visibleRows();
  const total = rows.length;
  if (sortCol === null && rows.length > MAX_SHOWN) rows = rows.slice(rows.length - MAX_SHOWN);
  const n = Math.min(rows.length, MAX_SHOWN);
  // Reuse row and cell elements: the grid ticks in place.
  while (tbody.rows.length > n) tbody.deleteRow(-1);
  for (let i = 0; i < n; i++) {
    const r = rows[i];
    let tr = tbody.rows[i];
    if (!tr) {
      tr = tbody.insertRow();
      columns.forEach((c) => { const td = tr.insertCell(); if (c.numeric) td.className = "num"; });
    }
    const fresh = now - r.t < FLASH_MS;
    tr.className = fresh && r.isNew ? "new" : "";
    for (let c = 0; c < columns.length; c++) {
      const td = tr.cells[c];
      const text = cellText(r.v[c], columns[c]);
      if (td.textContent !== text) td.textContent = text;
      const flash = fresh && r.changed && r.changed.has(c);
      td.classList.toggle("flash", !!flash);
    }
  }
  $("shown").textContent = total > n ? `showing ${sortCol === null ? "the last" : "the first"} ${n} of ${total}` : total !== state.length ? `${total} match` : "";
  for (const th of thead.rows[0].cells) {
    const c = Number(th.dataset.col);
    th.textContent = columns[c].name + (sortCol === c ? (sortDir === 1 ? " \u25b2" : " \u25bc") : "");
  }
  if (chart) chart.setData(chartData);
}

function renderStatus() {
  const now = performance.now();
  rateWindow = rateWindow.filter(([t]) => now - t < 5000);
  const added = rateWindow.reduce((s, [, n]) => s + n, 0);
  $("version").textContent = version;
  $("rowcount").textContent = state.length;
  $("rate").textContent = (added / 5).toFixed(1);
  $("updates").textContent = updates;
}

function start(sql) {
  if (ws) { ws.onclose = null; ws.close(); }
  showError("");
  columns = [];
  state = [];
  updates = 0;
  rateWindow = [];
  chartData = [[], []];
  $("grid").innerHTML = "";
  tbody = null;
  const proto = location.protocol === "https:" ? "wss:" : "ws:";
  let url = `${proto}//${location.host}/api/live?sql=${encodeURIComponent(sql)}`;
  if (token) url += "&token=" + encodeURIComponent(token);
  ws = new WebSocket(url);
  ws.binaryType = "arraybuffer";
  $("state").textContent = "connecting";
  ws.onopen = () => { $("state").textContent = "live"; };
  ws.onmessage = (e) => {
    try { applyMessage(e.data); } catch (err) { showError(String(err)); }
  };
  ws.onerror = () => showError("the live query could not start: check the SQL and the source (see POST /api/query for the message)");
  ws.onclose = () => { if ($("state").textContent !== "failed") $("state").textContent = "closed"; };
  // A rejected query: ask POST /api/query for the server's message.
  api("/api/query?format=json", { method: "POST", body: sql + " LIMIT 0" }).then(async (r) => {
    if (r.status >= 400) { const j = await r.json().catch(() => ({})); if (j.error) showError(j.error); }
  }).catch(() => {});
}

async function loadSources() {
  const r = await api("/api/tables");
  if (!r.ok) { showError(`GET /api/tables: ${r.status}`); return; }
  const doc = await r.json();
  const sel = $("source");
  for (const t of doc.tables) {
    const o = document.createElement("option");
    o.value = t.name;
    o.textContent = `${t.name} (${t.rows ?? "?"} rows)`;
    sel.appendChild(o);
  }
  sel.addEventListener("change", () => { $("sql").value = `SELECT * FROM ${sel.value}`; start($("sql").value); });
  const sql = params.get("sql") || (params.get("source") ? `SELECT * FROM ${params.get("source")}` : null);
  if (params.get("source")) sel.value = params.get("source");
  $("sql").value = sql || `SELECT * FROM ${sel.value}`;
  if (sql) start(sql);
}

function setupChart() {
  const el = $("chart");
  chart = new uPlot({
    width: Math.max(300, el.clientWidth || 800), height: 180,
    series: [{}, { label: "value", stroke: "#2c6bed", width: 1.5 }],
    axes: [{}, {}], scales: { x: { time: true } }, legend: { show: false },
  }, chartData, el);
  window.addEventListener("resize", () => chart.setSize({ width: Math.max(300, el.clientWidth), height: 180 }));
}

$("run").addEventListener("click", () => start($("sql").value));
$("sql").addEventListener("keydown", (e) => { if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) start($("sql").value); });
$("pause").addEventListener("click", () => {
  paused = !paused;
  $("pause").textContent = paused ? "Resume" : "Pause";
  $("pause").classList.toggle("primary", paused);
  if (!paused) render(true);
});
$("chartcol").addEventListener("change", () => { chartData = [[], []]; });
setupChart();
setInterval(() => { render(false); renderStatus(); }, 100);
// Rows stop flashing once FLASH_MS passed: redraw once more after an update.
let lastUpdates = 0;
setInterval(() => { if (updates !== lastUpdates) { lastUpdates = updates; setTimeout(() => { dirty = true; }, FLASH_MS); } }, 100);
loadSources();
