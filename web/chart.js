// The day's P&L curve and its drawdown, drawn as SVG from the curve's points.
//
// Amounts are exact decimal text until here; the chart turns them into numbers only to
// place pixels. Every label shows the exact amount, formatted by format.js.

import { inr, inrCompact, istTime } from "./format.js";

const SVG = "http://www.w3.org/2000/svg";
const WIDTH = 640;
const CURVE_HEIGHT = 170;
const DRAWDOWN_HEIGHT = 80;
const GAP = 18;
const LEFT = 78;
const RIGHT = 12;
const TOP = 10;
const BOTTOM = 22;

function node(tag, attrs = {}, text) {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  if (text !== undefined) el.textContent = text;
  return el;
}

/**
 * The drawdown of each point: net minus the highest net so far (0 at a new high), and
 * where the deepest one is. Works on the exact text through BigInt paisa.
 */
export function drawdowns(points) {
  const paisa = (text) => {
    const [int, frac = ""] = String(text).split(".");
    const negative = int.startsWith("-");
    const units = BigInt(int.replace("-", "") || "0") * 100n + BigInt((frac + "00").slice(0, 2));
    return negative ? -units : units;
  };
  let peak = null;
  let deepest = { index: -1, paisa: 0n };
  const out = points.map((p, index) => {
    const net = paisa(p.net);
    peak = peak === null || net > peak ? net : peak;
    const dd = net - peak;
    if (dd < deepest.paisa) deepest = { index, paisa: dd };
    return dd;
  });
  return { paisa: out, deepest };
}

function paisaText(units) {
  const negative = units < 0n;
  const abs = negative ? -units : units;
  return `${negative ? "-" : ""}${abs / 100n}.${String(abs % 100n).padStart(2, "0")}`;
}

function scale(min, max, from, to) {
  const span = max - min || 1;
  return (v) => to - ((v - min) / span) * (to - from);
}

/** Replaces `container`'s content with the chart of `points` ({at, net}), or a note. */
export function drawCurve(container, points, title) {
  container.replaceChildren();
  if (!points.length) {
    const empty = document.createElement("p");
    empty.className = "muted";
    empty.textContent = "No P&L points yet today: the curve starts with the first fill or mark.";
    container.append(empty);
    return;
  }
  const height = TOP + CURVE_HEIGHT + GAP + DRAWDOWN_HEIGHT + BOTTOM;
  const svg = node("svg", {
    viewBox: `0 0 ${WIDTH} ${height}`,
    role: "img",
    "aria-label": `${title}: net P&L and drawdown through the day`,
    class: "curve",
  });
  const times = points.map((p) => new Date(p.at).getTime());
  const nets = points.map((p) => Number(p.net));
  const { paisa, deepest } = drawdowns(points);
  const dds = paisa.map((u) => Number(u) / 100);
  const t0 = times[0];
  const t1 = times[times.length - 1] === t0 ? t0 + 1 : times[times.length - 1];
  const x = (t) => LEFT + ((t - t0) / (t1 - t0)) * (WIDTH - LEFT - RIGHT);
  const lo = Math.min(0, ...nets);
  const hi = Math.max(0, ...nets);
  const y = scale(lo, hi, TOP, TOP + CURVE_HEIGHT);
  const ddTop = TOP + CURVE_HEIGHT + GAP;
  const ddLo = Math.min(...dds, -0.01);
  const yd = scale(ddLo, 0, ddTop, ddTop + DRAWDOWN_HEIGHT);

  // Frames, zero line and scale labels.
  svg.append(node("rect", { x: LEFT, y: TOP, width: WIDTH - LEFT - RIGHT, height: CURVE_HEIGHT, class: "frame" }));
  svg.append(node("rect", { x: LEFT, y: ddTop, width: WIDTH - LEFT - RIGHT, height: DRAWDOWN_HEIGHT, class: "frame" }));
  svg.append(node("line", { x1: LEFT, x2: WIDTH - RIGHT, y1: y(0), y2: y(0), class: "zero" }));
  const maxIdx = nets.indexOf(hi);
  const minIdx = nets.indexOf(lo);
  for (const [value, label] of [
    [hi, maxIdx >= 0 ? points[maxIdx].net : "0"],
    [lo, minIdx >= 0 ? points[minIdx].net : "0"],
  ]) {
    svg.append(node("text", { x: LEFT - 6, y: y(value) + 4, class: "axis", "text-anchor": "end" }, inrCompact(label)));
  }
  svg.append(node("text", { x: LEFT - 6, y: ddTop + 10, class: "axis", "text-anchor": "end" }, "₹0"));
  svg.append(node("text", { x: LEFT + 4, y: ddTop + 12, class: "panel-label" }, "Drawdown"));
  svg.append(node("text", { x: LEFT + 4, y: TOP + 12, class: "panel-label" }, "Net P&L today"));

  // The curve.
  const line = points.map((_, i) => `${i ? "L" : "M"}${x(times[i]).toFixed(1)},${y(nets[i]).toFixed(1)}`).join("");
  svg.append(node("path", { d: line, class: nets[nets.length - 1] >= 0 ? "net up" : "net down" }));

  // The drawdown, as an area below zero, with its deepest point marked.
  const area =
    `M${x(times[0]).toFixed(1)},${yd(0).toFixed(1)}` +
    dds.map((d, i) => `L${x(times[i]).toFixed(1)},${yd(d).toFixed(1)}`).join("") +
    `L${x(times[times.length - 1]).toFixed(1)},${yd(0).toFixed(1)}Z`;
  svg.append(node("path", { d: area, class: "drawdown" }));
  if (deepest.index >= 0) {
    const cx = x(times[deepest.index]);
    const cy = yd(dds[deepest.index]);
    svg.append(node("circle", { cx, cy, r: 4, class: "max-dd" }));
    const anchor = cx > WIDTH / 2 ? "end" : "start";
    const dx = anchor === "end" ? -8 : 8;
    svg.append(
      node(
        "text",
        { x: cx + dx, y: Math.min(cy + 4, ddTop + DRAWDOWN_HEIGHT - 4), class: "max-dd-label", "text-anchor": anchor },
        `max ${inr(paisaText(deepest.paisa))} at ${istTime(times[deepest.index]).slice(0, 5)}`,
      ),
    );
  }

  // Time axis: IST, first, middle and last point.
  const baseline = ddTop + DRAWDOWN_HEIGHT + 16;
  for (const [t, anchor] of [[t0, "start"], [(t0 + t1) / 2, "middle"], [t1, "end"]]) {
    svg.append(node("text", { x: x(t), y: baseline, class: "axis", "text-anchor": anchor }, istTime(t).slice(0, 5)));
  }
  container.append(svg);
}
