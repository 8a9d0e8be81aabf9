// Drives the page of `tabledata serve` in headless Chromium (see
// check_browser.sh).  usage: node browser.mjs <tabledata> <scratch dir>
import { chromium } from "playwright-core";
import { spawn, execFileSync } from "node:child_process";
import { mkdtempSync, mkdirSync, readdirSync, renameSync, rmSync } from "node:fs";
import { join } from "node:path";
import { tmpdir } from "node:os";

const [cli, work] = process.argv.slice(2);
const tmp = mkdtempSync(join(tmpdir(), "td-browser-"));
let failures = 0, checks = 0, server = null, context = null;
function check(name, ok, detail = "") {
  checks++;
  if (!ok) { failures++; console.log(`FAIL ${name} ${detail}`); } else console.log(`ok: ${name}`);
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

try {
  // A dataset whose partitions are moved into the served tree one by one.
  execFileSync(cli, ["gen-sample", join(tmp, "gen"), "--rows", "3000", "--format", "arrow"], { stdio: "ignore" });
  const gen = join(tmp, "gen", "arrow"), tree = join(tmp, "tree");
  const parts = [];
  for (const d of readdirSync(gen).sort()) for (const e of readdirSync(join(gen, d)).sort()) parts.push([d, e]);
  const move = ([d, e]) => { mkdirSync(join(tree, d), { recursive: true }); renameSync(join(gen, d, e), join(tree, d, e)); };
  move(parts[0]);

  server = spawn(cli, ["serve", "--port", "0", "--duration", "600", "--source", "ticks=" + tree, "--source", "demo", "--period", "100"],
                 { stdio: ["ignore", "pipe", "inherit"] });
  const url = await new Promise((resolve, reject) => {
    server.stdout.once("data", (b) => { const m = /listening on (\S+)/.exec(String(b)); m ? resolve(m[1].replace(/\/$/, "")) : reject(new Error(String(b))); });
    server.once("exit", (c) => reject(new Error("server exited " + c)));
  });

  context = await chromium.launchPersistentContext(join(tmp, "profile"), {
    executablePath: "/usr/bin/chromium",
    headless: true,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
           "--disable-component-update", "--disable-sync"],
    viewport: { width: 1280, height: 900 },
  });
  const page = context.pages()[0] || await context.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  page.on("crash", () => console.log("page crashed"));
  await page.goto(url + "/?source=ticks");
  const count = async () => Number(await page.textContent("#rowcount"));
  await page.waitForFunction(() => Number(document.querySelector("#rowcount").textContent) > 0, null, { timeout: 20000 });
  const first = await count();
  check("loads and shows the table", first > 0 && (await page.locator("th", { hasText: "Symbol" }).count()) === 1,
        `first=${first}`);
  check("source list", (await page.locator("#source option").count()) === 2);

  // Tick: partitions arrive; the grid grows in place, new rows marked.
  let sawNew = 0, counts = new Set([first]);
  for (const p of parts.slice(1)) {
    move(p);
    await sleep(120);
    sawNew += await page.locator("tr.new").count();
    counts.add(await count());
  }
  await page.waitForFunction(() => Number(document.querySelector("#rowcount").textContent) === 3000, null,
                             { timeout: 30000 }).catch(() => {});
  const tables = await (await fetch(url + "/api/tables")).json();
  const size = tables.tables.find((t) => t.name === "ticks").rows;
  check("the displayed count reaches the source's size", (await count()) === 3000 && size === 3000,
        `shown ${await count()}, source ${size}`);
  check("the count ticked through several values", counts.size >= 4, [...counts].join(","));
  check("new rows were marked", sawNew > 0, `${sawNew}`);
  check("version advanced", Number(await page.textContent("#version")) >= 3);

  // Sort by clicking a header: ascending, then descending.
  const priceCol = await page.$$eval("thead tr:first-child th", (ths) => ths.findIndex((t) => t.textContent.startsWith("Price")));
  const prices = () => page.$$eval(`tbody tr td:nth-child(${priceCol + 1})`, (tds) => tds.slice(0, 50).map((t) => Number(t.textContent)));
  await page.click("thead tr:first-child th:has-text('Price')");
  await sleep(300);
  const asc = await prices();
  check("sorts ascending on click", asc.length === 50 && asc.every((v, i) => i === 0 || asc[i - 1] <= v), asc.slice(0, 5).join(","));
  await page.click("thead tr:first-child th:has-text('Price')");
  await sleep(300);
  const desc = await prices();
  check("sorts descending on a second click", desc.every((v, i) => i === 0 || desc[i - 1] >= v) && desc[0] >= asc[asc.length - 1]);

  // Filter on a column.
  const exCol = await page.$$eval("thead tr:first-child th", (ths) => ths.findIndex((t) => t.textContent.startsWith("Exchange")));
  await page.fill(`tr.filters th:nth-child(${exCol + 1}) input`, "NYSE");
  await sleep(300);
  const ex = await page.$$eval(`tbody tr td:nth-child(${exCol + 1})`, (tds) => tds.map((t) => t.textContent));
  check("filters on typing", ex.length > 0 && ex.every((v) => v === "NYSE"), `${ex.length}`);
  await page.fill(`tr.filters th:nth-child(${exCol + 1}) input`, "");

  // The chart has points; pause toggles.
  check("chart drawn", (await page.locator("#chart canvas").count()) === 1);
  await page.click("#pause");
  check("pause", (await page.textContent("#pause")) === "Resume");
  await page.click("#pause");

  // The live demo: an aggregation whose cells change and flash.
  await page.fill("#sql", "SELECT Ticker, Exchange, count(*) AS n, last(Double) AS price FROM demo GROUP BY Ticker, Exchange");
  await page.click("#run");
  let flashed = 0;
  for (let i = 0; i < 30 && !flashed; i++) { await sleep(100); flashed = await page.locator("td.flash").count(); }
  check("changed cells flash (demo aggregation)", flashed > 0, `${flashed}`);
  await page.screenshot({ path: join(work, "serve_page.png"), fullPage: false });
  check("no page errors", errors.length === 0, errors.join("; "));
} catch (e) {
  console.log("FAIL exception", e);
  failures++;
} finally {
  if (context) await context.close();
  if (server) server.kill("SIGTERM");
  rmSync(tmp, { recursive: true, force: true });
}
console.log(`serve browser: ${checks} checks, ${failures} failed`);
process.exit(failures ? 1 : 0);
