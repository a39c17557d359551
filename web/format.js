// Money and time as an Indian trader reads them: ₹ with lakh/crore grouping
// (₹1,23,45,678.90), compact as ₹12.35 L / ₹4.50 Cr, IST clock times.
//
// Amounts arrive from the API as decimal text ("12345.6789") and stay exact here: they are
// parsed into BigInt units of 10^-places and rounded half away from zero, as the server
// rounds paisa. No amount passes through a float on its way to the screen.

const PAISA_PLACES = 2;

/** Parses decimal text ("-12.5", "3", "0.004") into {negative, digits, scale}, or null. */
export function parseDecimal(text) {
  if (typeof text === "number") text = String(text);
  if (typeof text !== "string") return null;
  const m = /^\s*([+-]?)(\d*)(?:\.(\d*))?\s*$/.exec(text);
  if (!m || (m[2] === "" && (m[3] === undefined || m[3] === ""))) return null;
  const frac = m[3] || "";
  const digits = BigInt((m[2] || "0") + frac);
  return { negative: m[1] === "-" && digits !== 0n, digits, scale: frac.length };
}

/** `value` rounded to `places` decimals, half away from zero, as BigInt units of 10^-places. */
function roundedUnits(value, places) {
  const shift = places - value.scale;
  if (shift >= 0) return value.digits * 10n ** BigInt(shift);
  const divisor = 10n ** BigInt(-shift);
  const whole = value.digits / divisor;
  const rest = value.digits % divisor;
  return rest * 2n >= divisor ? whole + 1n : whole;
}

/** Groups integer digits the Indian way: the last three, then pairs (1,23,45,678). */
export function groupIndian(digits) {
  if (digits.length <= 3) return digits;
  const head = digits.slice(0, -3);
  const pairs = head.replace(/\B(?=(\d{2})+(?!\d))/g, ",");
  return `${pairs},${digits.slice(-3)}`;
}

function unitsText(units, places) {
  const text = units.toString().padStart(places + 1, "0");
  const int = text.slice(0, text.length - places);
  const frac = text.slice(text.length - places);
  return places > 0 ? `${groupIndian(int)}.${frac}` : groupIndian(int);
}

/**
 * `₹1,23,456.79` for "123456.789"; `-₹50.00` for "-50". `signed` adds `+` to a positive
 * amount (P&L columns). Text that is not a decimal is shown as `—`.
 */
export function inr(text, { places = PAISA_PLACES, signed = false } = {}) {
  const value = parseDecimal(text);
  if (!value) return "—";
  const units = roundedUnits(value, places);
  const negative = value.negative && units !== 0n;
  const sign = negative ? "-" : signed && units !== 0n ? "+" : "";
  return `${sign}₹${unitsText(units, places)}`;
}

/**
 * Large amounts in lakh (L, 10^5) or crore (Cr, 10^7) with two decimals:
 * "12345678" → `₹1.23 Cr`, "250000" → `₹2.50 L`; below a lakh, as {@link inr}.
 */
export function inrCompact(text, { signed = false } = {}) {
  const value = parseDecimal(text);
  if (!value) return "—";
  const rupees = roundedUnits(value, 0);
  const sign = value.negative ? "-" : signed ? "+" : "";
  for (const [unit, power] of [["Cr", 7], ["L", 5]]) {
    if (rupees >= 10n ** BigInt(power)) {
      const scaled = { negative: false, digits: value.digits, scale: value.scale + power };
      return `${sign}₹${unitsText(roundedUnits(scaled, 2), 2)} ${unit}`;
    }
  }
  return inr(text, { signed });
}

/** -1, 0 or 1: the sign of decimal text (0 for text that is not a decimal). */
export function signOf(text) {
  const value = parseDecimal(text);
  if (!value || value.digits === 0n) return 0;
  return value.negative ? -1 : 1;
}

/** A quantity with Indian grouping: 150000 → 1,50,000; signed keeps the minus. */
export function quantity(n) {
  if (n === null || n === undefined || Number.isNaN(Number(n))) return "—";
  const v = BigInt(Math.trunc(Number(n)));
  const digits = (v < 0n ? -v : v).toString();
  return `${v < 0n ? "-" : ""}${groupIndian(digits)}`;
}

const IST_CLOCK = new Intl.DateTimeFormat("en-GB", {
  timeZone: "Asia/Kolkata",
  hour: "2-digit",
  minute: "2-digit",
  second: "2-digit",
  hour12: false,
});

/** `09:15:02` (IST) of an RFC 3339 time or epoch milliseconds; `—` if unreadable. */
export function istTime(at) {
  const date = new Date(at);
  return Number.isNaN(date.getTime()) ? "—" : IST_CLOCK.format(date);
}
