// Opens a backtest's report.html in Debian's Chromium (through playwright-core, which
// downloads no browser) and prints one JSON line of what it saw. The Rust test
// `tests/backtest_report_browser.rs` runs a backtest, runs this, and checks the answer.
//
//   node tests/browser/report.mjs <report dir> [screenshot.png]
//
// Exit 0 with {"ok": true, ...} when every step held; exit 1 with {"ok": false, "step",
// "error", ...} naming the step that failed. Steps:
//  1. the page loads from file:// with no console error, no failed request and no request
//     other than a file:// URL inside the report directory (the report must work offline);
//  2. the inline SVG renders: the equity and drawdown panels, the portfolio curve and the
//     drawdown area have a non-zero bounding box, the maximum drawdown is marked inside
//     the drawdown panel;
//  3. the tables a trader reads are there (result, days, trades, charges by component);
//  4. equity.svg on its own renders the same panels.
// With a screenshot path, the whole page is saved as a PNG after step 3.
import { chromium } from "playwright-core";
import { pathToFileURL } from "node:url";
import path from "node:path";

const [dir, screenshot] = process.argv.slice(2);
if (!dir) {
  console.error("usage: report.mjs <report dir> [screenshot.png]");
  process.exit(2);
}
const root = pathToFileURL(path.resolve(dir) + "/").href;
const seen = { consoleErrors: [], failedRequests: [], foreignRequests: [], requests: [], steps: [] };
let step = "launch";

function done(ok, error) {
  console.log(JSON.stringify({ ok, step, error: error ? String(error.message || error) : undefined, ...seen }));
  process.exit(ok ? 0 : 1);
}

const browser = await chromium
  .launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    headless: true,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  })
  .catch((error) => done(false, error));

/** The bounding box of `selector` (the first match), or null. */
async function box(page, selector) {
  const element = await page.$(selector);
  return element ? element.boundingBox() : null;
}

function nonEmpty(b) {
  return b !== null && b.width > 0 && b.height > 0;
}

/** Checks the two panels and the shapes of a rendered SVG; returns their boxes. */
async function panels(page, prefix) {
  const found = {};
  for (const [name, selector] of [
    ["equityPanel", 'rect.panel[data-panel="equity"]'],
    ["drawdownPanel", 'rect.panel[data-panel="drawdown"]'],
    ["equity", "polyline.equity"],
    ["drawdown", "polygon.drawdown"],
    ["maxDrawdown", "circle.max-drawdown"],
  ]) {
    const b = await box(page, `${prefix} ${selector}`);
    if (!nonEmpty(b) && name !== "maxDrawdown") throw new Error(`${name} (${selector}) has no size: ${JSON.stringify(b)}`);
    if (b === null) throw new Error(`${name} (${selector}) is missing`);
    found[name] = b;
  }
  const d = found.drawdownPanel;
  const m = found.maxDrawdown;
  const cx = m.x + m.width / 2;
  const cy = m.y + m.height / 2;
  // The marker's centre lies within the drawdown panel (1 px of rounding allowed).
  if (cx < d.x - 1 || cx > d.x + d.width + 1 || cy < d.y - 1 || cy > d.y + d.height + 1) {
    throw new Error(`the max drawdown mark (${cx}, ${cy}) is outside the drawdown panel ${JSON.stringify(d)}`);
  }
  if (found.drawdownPanel.y <= found.equityPanel.y + found.equityPanel.height - 1) {
    throw new Error("the drawdown panel is not below the equity panel");
  }
  return found;
}

function watch(page) {
  page.on("console", (message) => {
    if (message.type() === "error") seen.consoleErrors.push(`${step}: ${message.text()}`);
  });
  page.on("pageerror", (error) => seen.consoleErrors.push(`uncaught: ${error.message}`));
  page.on("request", (request) => {
    const url = request.url();
    seen.requests.push(url);
    if (!url.startsWith(root)) seen.foreignRequests.push(url);
  });
  page.on("requestfailed", (request) => seen.failedRequests.push(`${request.url()}: ${request.failure()?.errorText}`));
}

try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
  watch(page);

  step = "load";
  const response = await page.goto(root + "report.html", { waitUntil: "load" });
  if (!response || !response.ok()) throw new Error(`report.html answered ${response?.status()}`);
  seen.title = await page.title();
  seen.steps.push("loaded");

  step = "chart";
  seen.boxes = await panels(page, "figure svg");
  seen.maxDrawdownText = await page.textContent("figure svg text.max-drawdown, figure svg circle.max-drawdown + text");
  seen.dayLabels = await page.locator("figure svg text.date").count();
  seen.steps.push("chart rendered");

  step = "tables";
  for (const table of ["table.headline", "table.days", "table.trades", "table.charges", "table.summary"]) {
    const rows = await page.locator(`${table} tbody tr`).count();
    if (rows === 0) throw new Error(`${table} has no rows`);
    seen[table.replace("table.", "") + "Rows"] = rows;
  }
  seen.steps.push("tables shown");
  if (screenshot) {
    // The top of the page: the title, the result against buy and hold and the chart (the
    // tables below run long).
    const height = Math.min(1800, await page.evaluate(() => document.documentElement.scrollHeight));
    await page.screenshot({ path: screenshot, fullPage: true, clip: { x: 0, y: 0, width: 1280, height } });
    seen.screenshot = screenshot;
  }

  step = "equity.svg";
  const svg = await browser.newPage({ viewport: { width: 1000, height: 700 } });
  watch(svg);
  const svgResponse = await svg.goto(root + "equity.svg", { waitUntil: "load" });
  if (!svgResponse || !svgResponse.ok()) throw new Error(`equity.svg answered ${svgResponse?.status()}`);
  seen.svgBoxes = await panels(svg, "svg");
  seen.steps.push("svg rendered");

  step = "console";
  if (seen.consoleErrors.length || seen.failedRequests.length || seen.foreignRequests.length) {
    throw new Error("console errors, failed or foreign requests");
  }
  await browser.close();
  done(true);
} catch (error) {
  await browser.close().catch(() => {});
  done(false, error);
}
