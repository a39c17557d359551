// The dashboard's own arithmetic on money (exact, on decimal text): the day's net of a
// portfolio and the drawdown of the P&L curve, against values worked out by hand.
// Run: node --test tests/web/
import { test } from "node:test";
import assert from "node:assert/strict";
import { drawdowns } from "../../web/chart.js";
import { dayNet } from "../../web/panels.js";

test("the day's net is realized + unrealized − charges, exactly", () => {
  assert.equal(dayNet({ realized_pnl: "1200.50", unrealized_pnl: "-300.25", charges: "45.10" }), "855.1500000000");
  assert.equal(dayNet({ realized_pnl: "0.1", unrealized_pnl: "0.2", charges: "0" }), "0.3000000000");
  assert.equal(dayNet({ realized_pnl: "-10", unrealized_pnl: "0", charges: "2.5" }), "-12.5000000000");
});

test("drawdown is the fall from the highest net so far, its deepest point marked", () => {
  const points = ["0", "100.50", "40.25", "120", "-30.75", "10"].map((net) => ({ net }));
  const { paisa, deepest } = drawdowns(points);
  // Peaks: 0, 100.50, 100.50, 120, 120, 120.
  assert.deepEqual(paisa, [0n, 0n, -6025n, 0n, -15075n, -11000n]);
  assert.deepEqual(deepest, { index: 4, paisa: -15075n });
});

test("a curve that only rises has no drawdown", () => {
  const { paisa, deepest } = drawdowns(["-5", "1", "2"].map((net) => ({ net })));
  assert.deepEqual(paisa, [0n, 0n, 0n]);
  assert.equal(deepest.index, -1);
});

test("the tick rate is measured between two scrapes", async () => {
  const { tickRate } = await import("../../web/panels.js");
  const first = tickRate(null, [{ name: "alpha_panda_ticks_received_total", value: 100 }], 1000);
  assert.equal(first.rate, null);
  const second = tickRate(first.at, [{ name: "alpha_panda_ticks_received_total", value: 150 }], 3000);
  assert.equal(second.rate, 25);
  // A restarted daemon's counter starts again: no negative rate.
  const restarted = tickRate(second.at, [{ name: "alpha_panda_ticks_received_total", value: 3 }], 5000);
  assert.equal(restarted.rate, null);
});
