// Drives Debian's Chromium (through playwright-core, which downloads no browser) against
// a running daemon's dashboard, and prints one JSON line of what it saw. The Rust test
// `tests/browser.rs` starts the daemon on its defaults, runs this, and checks the answer
// and the daemon's own state independently.
//
//   node tests/browser/dashboard.mjs <base url> <control token> [screenshot.png]
//
// Exit 0 with {"ok": true, ...} when every step held; exit 1 with {"ok": false, "step",
// "error", ...} naming the step that failed. Steps:
//  1. the page loads with every panel, with no console error, no failed request and no
//     request to another origin (the page must work offline);
//  2. a fill arrives on the live stream and shows in the fills table within 30 s;
//  3. the page updates live: another fill arrives without a reload;
//  4. the kill switch refuses a wrong token (the server's 401 shown, the state unchanged),
//     does nothing on Cancel, halts with the right token, and resumes with the token kept
//     in memory (no second prompt).
import { chromium } from "playwright-core";

const [base, token, screenshot] = process.argv.slice(2);
if (!base || !token) {
  console.error("usage: dashboard.mjs <base url> <control token> [screenshot.png]");
  process.exit(2);
}
const origin = new URL(base).origin;
const seen = { consoleErrors: [], failedRequests: [], foreignRequests: [], steps: [] };
let step = "launch";

function done(ok, error) {
  console.log(JSON.stringify({ ok, step, error: error ? String(error.message || error) : undefined, ...seen }));
  process.exit(ok ? 0 : 1);
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  headless: true,
  args: [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
  ],
}).catch((error) => done(false, error));

try {
  const page = await browser.newPage({ viewport: { width: 1440, height: 1100 } });
  // Chromium logs every 4xx/5xx answer as a console error, without its address. Two are
  // answers the page expects and shows: the wrong-token step's 401, and a 503 from
  // /health/ready (the daemon saying it is not ready, which the header badge shows).
  // Every other error answer, and every other console error, fails the test.
  const errorAnswers = [];
  page.on("response", (response) => {
    if (response.status() >= 400) errorAnswers.push({ status: response.status(), path: new URL(response.url()).pathname, step });
  });
  const expected = (status) =>
    errorAnswers.length > 0 &&
    errorAnswers.every(
      (a) => (a.status === 401 && a.step === "halt refused") || (a.status === 503 && a.path === "/health/ready"),
    ) &&
    errorAnswers.some((a) => a.status === status);
  page.on("console", (message) => {
    if (message.type() !== "error") return;
    const status = Number(/status of (\d{3})/.exec(message.text())?.[1]);
    if (status && expected(status)) {
      seen.expectedErrorAnswers = errorAnswers.map((a) => `${a.status} ${a.path} (${a.step})`);
      return;
    }
    seen.consoleErrors.push(`${step}: ${message.text()}`);
  });
  page.on("pageerror", (error) => seen.consoleErrors.push(`uncaught: ${error.message}`));
  page.on("request", (request) => {
    const url = request.url();
    if (!url.startsWith(origin) && !url.startsWith("data:")) seen.foreignRequests.push(url);
  });
  page.on("requestfailed", (request) => {
    // The event stream is cut when the page closes; anything else failing is a fault.
    if (!request.url().includes("/api/v1/events")) {
      seen.failedRequests.push(`${request.url()}: ${request.failure()?.errorText}`);
    }
  });

  step = "load";
  const response = await page.goto(base, { waitUntil: "load" });
  if (!response || response.status() !== 200) throw new Error(`GET / answered ${response?.status()}`);
  await page.waitForSelector("#stream.ok", { timeout: 10_000 });
  await page.waitForSelector('[data-panel="strategies"] tbody tr[data-strategy]', { timeout: 10_000 });
  await page.waitForSelector('[data-panel="risk"] [data-state]', { timeout: 10_000 });
  await page.waitForSelector('[data-panel="actors"] tbody tr', { timeout: 10_000 });
  seen.steps.push("loaded");

  step = "first fill";
  await page.waitForSelector('[data-panel="fills"] tr[data-fill]', { timeout: 30_000 });
  const firstFill = await page.getAttribute('[data-panel="fills"] tr[data-fill]', "data-fill");
  await page.waitForSelector('[data-panel="portfolios"] tr[data-portfolio]', { timeout: 10_000 });
  seen.firstFill = firstFill;
  seen.firstOrder = await page.getAttribute('[data-panel="fills"] tr[data-fill]', "data-order");
  seen.steps.push("fill shown");

  step = "live update";
  await page.waitForFunction(
    (first) => document.querySelector('[data-panel="fills"] tr[data-fill]')?.getAttribute("data-fill") !== first,
    firstFill,
    { timeout: 30_000 },
  );
  seen.fillsShown = await page.locator('[data-panel="fills"] tr[data-fill]').count();
  seen.steps.push("updated live");

  step = "curve";
  await page.waitForSelector('[data-panel="curve"] svg.curve path.net', { timeout: 20_000 });
  await page.waitForSelector('[data-ticks-per-second]:not([data-ticks-per-second="measuring…"])', { timeout: 15_000 });
  seen.steps.push("curve drawn");
  if (screenshot) {
    await page.screenshot({ path: screenshot, fullPage: true });
    seen.screenshot = screenshot;
  }

  const paper = '[data-panel="risk"] [data-broker="paper"]';
  const stateOf = () => page.getAttribute(`${paper} [data-state]`, "data-state");

  step = "halt cancelled";
  await page.click(`${paper} button[data-action="halt"]`);
  await page.waitForSelector("#token-dialog[open]");
  await page.click("#token-cancel");
  await page.waitForSelector("#toast div:has-text('cancelled')", { timeout: 5_000 });
  if ((await stateOf()) !== "ACTIVE") throw new Error(`state after cancel: ${await stateOf()}`);
  seen.steps.push("cancel sends nothing");

  step = "halt refused";
  await page.click(`${paper} button[data-action="halt"]`);
  await page.waitForSelector("#token-dialog[open]");
  await page.fill("#token-input", `wrong-${token}`);
  await page.click("#token-ok");
  await page.waitForSelector("#toast div.bad:has-text('refused (401)')", { timeout: 10_000 });
  seen.refusal = await page.textContent("#toast div.bad");
  if ((await stateOf()) !== "ACTIVE") throw new Error(`state after a wrong token: ${await stateOf()}`);
  seen.steps.push("wrong token refused");

  step = "halt";
  await page.click(`${paper} button[data-action="halt"]`);
  await page.waitForSelector("#token-dialog[open]");
  await page.fill("#token-input", token);
  await page.click("#token-ok");
  await page.waitForSelector(`${paper} [data-state="HALTED"]`, { timeout: 10_000 });
  seen.steps.push("halted");

  step = "resume";
  await page.click(`${paper} button[data-action="resume"]`);
  // The token is kept in memory: no second prompt.
  await page.waitForSelector(`${paper} [data-state="ACTIVE"]`, { timeout: 10_000 });
  if (await page.isVisible("#token-dialog[open]")) throw new Error("asked for the token again");
  seen.steps.push("resumed");

  step = "stored nothing";
  const stored = await page.evaluate(() => JSON.stringify({ ...localStorage }) + JSON.stringify({ ...sessionStorage }) + document.cookie);
  if (stored.includes(token)) throw new Error("the token was stored by the page");
  seen.steps.push("token not stored");

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
