// The dashboard's money formatting, against amounts worked out by hand (Indian grouping:
// the last three digits, then pairs; half away from zero at the paisa).
// Run: node --test tests/web/
import { test } from "node:test";
import assert from "node:assert/strict";
import { inr, inrCompact, groupIndian, parseDecimal, signOf, quantity } from "../../web/format.js";

test("groups digits in lakh and crore", () => {
  assert.equal(groupIndian("1"), "1");
  assert.equal(groupIndian("999"), "999");
  assert.equal(groupIndian("1000"), "1,000");
  assert.equal(groupIndian("100000"), "1,00,000");
  assert.equal(groupIndian("12345678"), "1,23,45,678");
  assert.equal(groupIndian("1234567890123"), "12,34,56,78,90,123");
});

test("formats rupees exactly, rounding half away from zero", () => {
  assert.equal(inr("99500000"), "₹9,95,00,000.00");
  assert.equal(inr("1234.005"), "₹1,234.01");
  assert.equal(inr("1234.0049999"), "₹1,234.00");
  assert.equal(inr("-1234.005"), "-₹1,234.01");
  assert.equal(inr("0.004"), "₹0.00");
  assert.equal(inr("-0.004"), "₹0.00");
  assert.equal(inr("12.5", { signed: true }), "+₹12.50");
  assert.equal(inr("0", { signed: true }), "₹0.00");
  // Beyond a float's 15–17 digits: still exact.
  assert.equal(inr("123456789012345678.995"), "₹1,23,45,67,89,01,23,45,679.00");
  assert.equal(inr("not a number"), "—");
  assert.equal(inr(null), "—");
});

test("compacts to lakh and crore", () => {
  assert.equal(inrCompact("99500000"), "₹9.95 Cr");
  assert.equal(inrCompact("250000"), "₹2.50 L");
  assert.equal(inrCompact("-1234567.89"), "-₹12.35 L");
  assert.equal(inrCompact("99999"), "₹99,999.00");
  assert.equal(inrCompact("10000000"), "₹1.00 Cr");
});

test("reads decimal text and its sign", () => {
  assert.deepEqual(parseDecimal("-12.50"), { negative: true, digits: 1250n, scale: 2 });
  assert.equal(parseDecimal("1e5"), null);
  assert.equal(parseDecimal(""), null);
  assert.equal(signOf("-0.00"), 0);
  assert.equal(signOf("-3"), -1);
  assert.equal(signOf("7.1"), 1);
});

test("quantities", () => {
  assert.equal(quantity(150000), "1,50,000");
  assert.equal(quantity(-65), "-65");
  assert.equal(quantity(null), "—");
});
