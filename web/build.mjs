// Builds web/dist/index.html: src/main.js bundled with esbuild (Apache Arrow
// JS, uPlot) and inlined into src/index.html with uPlot's CSS, so the page is
// one self-contained file that `tabledata serve` embeds.  usage: node build.mjs
import { build } from "esbuild";
import { readFileSync, writeFileSync, mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const out = await build({
  entryPoints: [join(here, "src/main.js")],
  bundle: true,
  minify: true,
  format: "iife",
  target: "es2020",
  write: false,
  legalComments: "none",
});
const js = out.outputFiles[0].text.replace(/<\/script/gi, "<\\/script");
const css = readFileSync(join(here, "node_modules/uplot/dist/uPlot.min.css"), "utf8");
const html = readFileSync(join(here, "src/index.html"), "utf8")
  .replace("/*UPLOT_CSS*/", () => css)
  .replace("/*BUNDLE*/", () => js);
mkdirSync(join(here, "dist"), { recursive: true });
writeFileSync(join(here, "dist/index.html"), html);
console.log(`web/dist/index.html: ${html.length} bytes`);
