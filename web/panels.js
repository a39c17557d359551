// Each panel of the dashboard as a function from the API's JSON to DOM nodes. Text goes
// in through textContent only, so nothing the server relays (a venue's message, a
// strategy's reason) can become markup.

import { inr, inrCompact, signOf, quantity, istTime } from "./format.js";

/** An element with attributes, children (nodes or text) and optional event handlers. */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (key === "class") node.className = value;
    else node.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

/** A money cell: exact rupees, green or red by sign when `colour`. */
function money(text, { colour = false, signed = false, compact = false } = {}) {
  const sign = signOf(text);
  const shown = compact ? inrCompact(text, { signed }) : inr(text, { signed });
  return el("td", { class: `num${colour && sign > 0 ? " up" : ""}${colour && sign < 0 ? " down" : ""}`, title: text ?? "" }, shown);
}

function num(value) {
  return el("td", { class: "num" }, quantity(value));
}

function head(...names) {
  return el("thead", {}, el("tr", {}, names.map((n) => el("th", { class: n.startsWith("#") ? "num" : "" }, n.replace(/^#/, "")))));
}

function emptyRow(columns, text) {
  return el("tr", {}, el("td", { colspan: columns, class: "muted" }, text));
}

/** Portfolios: one row each, with the totals a trader reads first. */
export function portfolios(table, list) {
  const rows = list.map((p) =>
    el(
      "tr",
      { "data-portfolio": `${p.broker}/${p.strategy_id}` },
      el("td", {}, p.broker),
      el("td", {}, p.strategy_id),
      money(p.cash),
      money(p.realized_pnl, { colour: true, signed: true }),
      money(p.unrealized_pnl, { colour: true, signed: true }),
      money(p.charges),
      money(p.net_pnl, { colour: true, signed: true }),
      money(p.day ? dayNet(p.day) : null, { colour: true, signed: true }),
      num(p.fill_count),
    ),
  );
  table.replaceChildren(
    head("Broker", "Strategy", "#Cash", "#Realized", "#Unrealized", "#Charges", "#Net P&L", "#Net today", "#Fills"),
    el("tbody", {}, rows.length ? rows : emptyRow(9, "No portfolio yet: the first fill makes one.")),
  );
}

/** The day's net as the curve computes it: realized + unrealized − charges, exactly. */
export function dayNet(day) {
  const units = (t) => {
    const [i, f = ""] = String(t).split(".");
    const neg = i.startsWith("-");
    const scale = 10n ** 10n;
    const v = BigInt(i.replace("-", "") || "0") * scale + BigInt((f + "0".repeat(10)).slice(0, 10));
    return neg ? -v : v;
  };
  const total = units(day.realized_pnl) + units(day.unrealized_pnl) - units(day.charges);
  const neg = total < 0n;
  const abs = neg ? -total : total;
  const scale = 10n ** 10n;
  return `${neg ? "-" : ""}${abs / scale}.${String(abs % scale).padStart(10, "0")}`;
}

/** Positions: open ones first, then the flat ones of the day. */
export function positions(table, list) {
  const open = list.filter((p) => p.quantity !== 0);
  const rows = open.map((p) =>
    el(
      "tr",
      {},
      el("td", {}, p.symbol),
      el("td", { class: "muted" }, `${p.broker}/${p.strategy_id}`),
      el("td", { class: `num ${p.quantity > 0 ? "up" : "down"}` }, quantity(p.quantity)),
      money(p.average_price),
      money(p.last_price),
      money(p.unrealized_pnl, { colour: true, signed: true }),
      money(p.realized_pnl, { colour: true, signed: true }),
    ),
  );
  table.replaceChildren(
    head("Instrument", "Portfolio", "#Qty", "#Avg", "#LTP", "#Unrealized", "#Realized"),
    el("tbody", {}, rows.length ? rows : emptyRow(7, "No open position.")),
  );
}

const OPEN_STATES = new Set(["new", "submitted", "partially_filled"]);

/** Orders still working at the venue. */
export function openOrders(table, list) {
  const open = list.filter((o) => OPEN_STATES.has(o.state));
  const rows = open.map((o) =>
    el(
      "tr",
      {},
      el("td", {}, istTime(o.updated_at)),
      el("td", {}, o.symbol),
      el("td", { class: o.side === "BUY" ? "up" : "down" }, o.side),
      num(o.quantity),
      num(o.filled_quantity),
      el("td", {}, o.state),
      el("td", { class: "muted" }, `${o.broker}/${o.strategy_id}`),
    ),
  );
  table.replaceChildren(
    head("Updated", "Instrument", "Side", "#Qty", "#Filled", "State", "Portfolio"),
    el("tbody", {}, rows.length ? rows : emptyRow(7, "No open order.")),
  );
}

/** Recent fills, newest first; `fresh` marks the ones that just arrived. */
export function fills(table, list, fresh = new Set()) {
  const rows = list.map((f) =>
    el(
      "tr",
      { class: fresh.has(f.fill_id) ? "flash" : "", "data-fill": f.fill_id, "data-order": f.order.client_order_id },
      el("td", {}, istTime(f.filled_at)),
      el("td", {}, f.order.symbol),
      el("td", { class: f.order.side === "BUY" ? "up" : "down" }, f.order.side),
      num(f.quantity),
      money(f.price),
      money(f.fees?.total),
      el("td", { class: "muted" }, `${f.order.broker}/${f.order.strategy_id}`),
    ),
  );
  table.replaceChildren(
    head("Time (IST)", "Instrument", "Side", "#Qty", "#Price", "#Charges", "Portfolio"),
    el("tbody", {}, rows.length ? rows : emptyRow(7, "Waiting for fills…")),
  );
}

/** One broker's risk state with the kill-switch buttons. */
export function risk(container, views, onAction) {
  const blocks = views.map(({ broker, view, error }) => {
    if (error) {
      return el("div", { class: "risk-broker" }, el("div", { class: "head" }, el("strong", {}, broker)), el("p", { class: "muted" }, error));
    }
    const buttons = [
      ["halt", "danger", "Halt"],
      ["reduce", "warn", "Reduce only"],
      ["resume", "good", "Resume"],
      ["flatten", "danger", "Flatten all"],
    ].map(([action, cls, label]) =>
      el("button", { class: cls, "data-action": action, "data-broker": broker, onclick: () => onAction(broker, action) }, label),
    );
    return el(
      "div",
      { class: "risk-broker", "data-broker": broker },
      el(
        "div",
        { class: "head" },
        el("strong", {}, broker),
        el("span", { class: `badge state-${view.state}`, "data-state": view.state }, view.state),
        view.held ? el("span", { class: "muted small" }, `held: ${view.held}`) : null,
      ),
      el(
        "dl",
        {},
        el("dt", {}, "Realized today"),
        el("dd", { class: signOf(view.realized_pnl) < 0 ? "down" : "up" }, inr(view.realized_pnl, { signed: true })),
        el("dt", {}, "Unrealized"),
        el("dd", { class: signOf(view.unrealized_pnl) < 0 ? "down" : "up" }, inr(view.unrealized_pnl, { signed: true })),
        el("dt", {}, "Loss limit"),
        el("dd", {}, view.loss_limit_reached ? "REACHED" : "not reached"),
        el("dt", {}, "Open orders"),
        el("dd", {}, String(view.open_orders.length)),
        el("dt", {}, "Kill switch"),
        el("dd", {}, view.kill_switch),
      ),
      el("div", { class: "buttons" }, buttons),
    );
  });
  container.replaceChildren(...(blocks.length ? blocks : [el("p", { class: "muted" }, "No broker enabled.")]));
}

/** Strategies: per broker, whether it runs, its positions and last signal. */
export function strategies(table, list, onSwitch) {
  const rows = [];
  for (const s of list) {
    for (const b of s.by_broker) {
      const live = b.live;
      const enabled = live ? live.enabled : null;
      const held = live ? live.instruments.filter((i) => i.position !== 0) : [];
      const signal = live?.last_signal;
      rows.push(
        el(
          "tr",
          { "data-strategy": `${s.id}/${b.broker}` },
          el("td", {}, s.id),
          el("td", { class: "muted" }, s.kind),
          el("td", {}, b.broker),
          el(
            "td",
            {},
            live
              ? el("span", { class: `badge ${enabled ? "ok" : "bad"}` }, enabled ? "enabled" : `disabled${live.disabled_by ? ` by ${live.disabled_by}` : ""}`)
              : el("span", { class: "muted" }, b.note || "not run here"),
            live?.disabled_reason ? el("div", { class: "muted small" }, live.disabled_reason) : null,
          ),
          el("td", {}, held.length ? held.map((i) => `${i.symbol ?? i.token} ${quantity(i.position)}`).join(", ") : "flat"),
          el("td", {}, signal ? `${istTime(signal.at)} ${signal.side} ${quantity(signal.quantity)} ${signal.symbol ?? signal.token}` : "—"),
          el(
            "td",
            {},
            live
              ? el(
                  "button",
                  { class: enabled ? "warn" : "good", onclick: () => onSwitch(s.id, b.broker, enabled ? "disable" : "enable") },
                  enabled ? "Disable" : "Enable",
                )
              : null,
          ),
        ),
      );
    }
  }
  table.replaceChildren(
    head("Strategy", "Kind", "Broker", "State", "Position", "Last signal", ""),
    el("tbody", {}, rows.length ? rows : emptyRow(7, "No strategy configured.")),
  );
}

/** Readiness checks as a list. */
export function checks(list, ready) {
  list.replaceChildren(
    ...ready.checks.map((c) => el("li", { class: c.ready ? "ok" : "bad" }, el("strong", {}, c.name), " ", el("span", { class: "muted" }, c.detail))),
  );
}

const FLOW = [
  ["alpha_panda_feed_connects_total", "Feed sessions opened"],
  ["alpha_panda_feed_disconnects_total", "Feed disconnects"],
  ["alpha_panda_feed_connect_failures_total", "Feed connect failures"],
  ["alpha_panda_feed_malformed_frames_total", "Malformed frames"],
  ["alpha_panda_signals_total", "Signals"],
  ["alpha_panda_fills_total", "Fills"],
  ["alpha_panda_orders_failed_total", "Orders failed"],
  ["alpha_panda_dlq_records_total", "DLQ records"],
  ["alpha_panda_dlq_write_failures_total", "DLQ write failures"],
  ["alpha_panda_handler_retries_total", "Handler retries"],
  ["alpha_panda_actor_restarts_total", "Actor restarts"],
];

/** Counters of the feed and the queues, summed over labels, with the tick rate. */
export function flow(table, samples, ticksPerSecond) {
  // A labelled counter nothing has counted yet has no sample: 0. (Every name here is checked
  // against a running daemon's /metrics by tests/grafana_metrics.rs.)
  const total = (name) => samples.filter((s) => s.name === name).reduce((sum, s) => sum + s.value, 0);
  const rows = FLOW.map(([name, label]) => el("tr", { "data-metric": name }, el("td", {}, label), num(total(name))));
  const rate = ticksPerSecond === null ? "measuring…" : `${ticksPerSecond.toFixed(1)}`;
  rows.unshift(el("tr", {}, el("td", {}, "Ticks per second"), el("td", { class: "num", "data-ticks-per-second": rate }, rate)));
  table.replaceChildren(el("tbody", {}, rows));
}

/** Ticks per second between two scrapes of the ticks counter, or null on the first. */
export function tickRate(previous, samples, now) {
  const count = samples.find((s) => s.name === "alpha_panda_ticks_received_total")?.value;
  if (count === undefined) return { rate: null, at: previous };
  const at = { count, now };
  if (!previous || now <= previous.now || count < previous.count) return { rate: null, at };
  return { rate: ((count - previous.count) * 1000) / (now - previous.now), at };
}

/** Consumer lag per service and topic (summed over partitions). */
export function lag(table, samples) {
  const by = new Map();
  for (const s of samples.filter((x) => x.name === "alpha_panda_consumer_lag")) {
    const key = `${s.labels.service} · ${s.labels.topic}`;
    by.set(key, (by.get(key) || 0) + s.value);
  }
  const rows = [...by.entries()].sort().map(([key, value]) => el("tr", {}, el("td", {}, key), num(value)));
  table.replaceChildren(head("Consumer · topic", "#Lag"), el("tbody", {}, rows.length ? rows : emptyRow(2, "No consumer has reported lag yet.")));
}

/** The supervision tree: each actor under its parent, with restarts and last failure. */
export function actors(table, tree) {
  const depth = new Map();
  const rows = tree.actors.map((a) => {
    const d = a.parent ? (depth.get(a.parent) ?? 0) + 1 : 0;
    depth.set(a.name, d);
    const failure = a.last_failure;
    return el(
      "tr",
      {},
      // Non-breaking spaces: ordinary ones collapse, and the page's policy allows no inline style.
      el("td", {}, `${"\u00a0\u00a0\u00a0".repeat(Math.max(0, d - 1))}${d ? "└\u00a0" : ""}${a.name}`),
      el("td", { class: "muted" }, typeof a.kind === "string" ? a.kind : JSON.stringify(a.kind)),
      el("td", {}, el("span", { class: `badge ${a.state === "running" ? "ok" : "bad"}` }, typeof a.state === "string" ? a.state : JSON.stringify(a.state))),
      num(a.restarts_in_window),
      num(a.restarts_total),
      el("td", { class: "muted" }, failure ? `${failure.reason ?? ""} ${failure.at ? istTime(failure.at) : ""}`.trim() : "—"),
    );
  });
  table.replaceChildren(head("Actor", "Kind", "State", "#Restarts (window)", "#Restarts (total)", "Last failure"), el("tbody", {}, rows));
}
