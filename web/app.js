// The dashboard: polls the read models, listens to the live event stream, and runs the
// kill switch and the strategy switch with a token asked for when needed.
//
// The control token lives in `token` below and nowhere else: not in storage, not in the
// address, not in a cookie. A refused token (401) is forgotten at once.

import { getJson, control, getMetrics, parseMetrics, subscribe } from "./api.js";
import { drawCurve } from "./chart.js";
import { istTime } from "./format.js";
import * as panels from "./panels.js";

const FAST_MS = 2000;
const SLOW_MS = 5000;
const FILLS_KEPT = 50;

let token = null;
let brokers = [];
let recentFills = [];
const freshFills = new Set();
let lastTicks = null;
let curveChoice = null;

const $ = (selector) => document.querySelector(selector);
const panel = (name) => document.querySelector(`[data-panel="${name}"]`);

function toast(text, kind = "") {
  const note = document.createElement("div");
  note.className = kind;
  note.textContent = text;
  $("#toast").prepend(note);
  setTimeout(() => note.remove(), 8000);
}

/** Runs `work`, showing a failure in the panel's place rather than in the console. */
async function guarded(name, work) {
  try {
    await work();
  } catch (error) {
    const target = panel(name);
    if (target) target.setAttribute("data-error", error.message);
    console.warn(`${name}: ${error.message}`);
  }
}

// ---- the control token --------------------------------------------------------------

/** Asks for the token (or reuses the one in memory); resolves to it, or null if cancelled. */
function askToken(what) {
  if (token) return Promise.resolve(token);
  const dialog = $("#token-dialog");
  $("#token-what").textContent = what;
  $("#token-input").value = "";
  dialog.showModal();
  return new Promise((resolve) => {
    dialog.addEventListener(
      "close",
      () => {
        const value = $("#token-input").value.trim();
        $("#token-input").value = "";
        resolve(dialog.returnValue === "ok" && value ? value : null);
      },
      { once: true },
    );
  });
}

/** A control call: asks for the token, sends it, shows the answer, forgets a bad token. */
async function controlCall(what, path, body) {
  const given = await askToken(what);
  if (!given) {
    toast(`${what}: cancelled`);
    return;
  }
  const answer = await control(path, given, body);
  if (answer.ok) {
    token = given;
    toast(`${what}: done${answer.body.state ? ` (${answer.body.state})` : ""}`, "ok");
  } else {
    if (answer.status === 401) token = null;
    toast(`${what}: refused (${answer.status}) ${answer.body.error ?? ""}`, "bad");
  }
  await refreshFast();
}

function onRiskAction(broker, action) {
  const words = { halt: "Halt", reduce: "Reduce only", resume: "Resume", flatten: "Flatten every position" };
  return controlCall(`${words[action]} on ${broker}`, `/api/v1/trading/${broker}/${action}`);
}

function onStrategySwitch(id, broker, action) {
  return controlCall(`${action === "disable" ? "Disable" : "Enable"} ${id} on ${broker}`, `/api/v1/strategies/${encodeURIComponent(id)}/${action}?broker=${broker}`, {
    reason: "from the dashboard",
  });
}

// ---- refreshing ---------------------------------------------------------------------

async function refreshFast() {
  await Promise.all([
    guarded("portfolios", async () => {
      const list = await getJson("/api/v1/portfolios");
      panels.portfolios(panel("portfolios"), list);
      updateCurveChoices(list);
    }),
    guarded("positions", async () => panels.positions(panel("positions"), await getJson("/api/v1/positions"))),
    guarded("orders", async () => panels.openOrders(panel("orders"), await getJson("/api/v1/orders?limit=200"))),
    guarded("strategies", async () => {
      const list = await getJson("/api/v1/strategies");
      brokers = [...new Set(list.flatMap((s) => s.brokers))].sort();
      panels.strategies(panel("strategies"), list, onStrategySwitch);
    }),
    guarded("risk", async () => {
      const views = await Promise.all(
        brokers.map((broker) =>
          getJson(`/api/v1/risk/${broker}`).then(
            (view) => ({ broker, view }),
            (error) => ({ broker, error: error.message }),
          ),
        ),
      );
      panels.risk(panel("risk"), views, onRiskAction);
    }),
  ]);
}

async function refreshSlow() {
  await Promise.all([
    guarded("checks", async () => {
      const response = await fetch("/health/ready");
      const ready = await response.json();
      panels.checks(panel("checks"), ready);
      const badge = $("#ready");
      badge.textContent = ready.ready ? "ready" : "not ready";
      badge.className = `badge ${ready.ready ? "ok" : "bad"}`;
    }),
    guarded("actors", async () => panels.actors(panel("actors"), await getJson("/api/v1/actors"))),
    guarded("flow", async () => {
      const samples = parseMetrics(await getMetrics());
      const { rate, at } = panels.tickRate(lastTicks, samples, Date.now());
      lastTicks = at;
      panels.flow(panel("flow"), samples, rate);
      panels.lag(panel("lag"), samples);
    }),
    guarded("curve", refreshCurve),
  ]);
}

function updateCurveChoices(list) {
  const select = $("#curve-choice");
  const keys = list.map((p) => `${p.broker}/${p.strategy_id}`);
  const shown = [...select.options].map((o) => o.value);
  if (keys.join() !== shown.join()) {
    select.replaceChildren(...keys.map((k) => new Option(k, k)));
    if (curveChoice && keys.includes(curveChoice)) select.value = curveChoice;
  }
  if (!curveChoice && keys.length) {
    curveChoice = keys[0];
    refreshCurve();
  }
}

async function refreshCurve() {
  if (!curveChoice) return;
  const [broker, strategy] = curveChoice.split("/");
  const curve = await getJson(`/api/v1/portfolios/${broker}/${encodeURIComponent(strategy)}/curve`);
  drawCurve(panel("curve"), curve.points, curveChoice);
}

// ---- live events --------------------------------------------------------------------

function onFill(event) {
  const fill = event.data;
  if (recentFills.some((f) => f.fill_id === fill.fill_id)) return;
  recentFills = [fill, ...recentFills].slice(0, FILLS_KEPT);
  freshFills.add(fill.fill_id);
  setTimeout(() => freshFills.delete(fill.fill_id), 1500);
  panels.fills(panel("fills"), recentFills, freshFills);
  refreshFast();
}

function onStream(state) {
  const badge = $("#stream");
  badge.textContent = state === "open" ? "live" : "reconnecting…";
  badge.className = `badge ${state === "open" ? "ok" : "bad"}`;
}

function start() {
  panels.fills(panel("fills"), recentFills);
  $("#curve-choice").addEventListener("change", (e) => {
    curveChoice = e.target.value;
    refreshCurve();
  });
  subscribe(
    {
      order_filled: onFill,
      order_submitted: () => guarded("orders", async () => panels.openOrders(panel("orders"), await getJson("/api/v1/orders?limit=200"))),
      order_failed: (event) => toast(`order failed: ${event.data.order?.symbol ?? ""} ${event.data.kind ?? ""} ${event.data.message ?? ""}`, "bad"),
    },
    onStream,
  );
  const tick = () => {
    $("#clock").textContent = `${istTime(Date.now())} IST`;
  };
  tick();
  setInterval(tick, 1000);
  refreshFast().then(refreshSlow);
  setInterval(refreshFast, FAST_MS);
  setInterval(refreshSlow, SLOW_MS);
}

start();
