//! Rupee amounts as an Indian trader reads them, for every human-facing output (HTML, SVG,
//! the text summary): `₹1,23,45,678.90` (the last three digits, then groups of two: lakh,
//! crore) and, where space is short (axis labels), `₹12.35 L` and `₹4.50 Cr`.
//!
//! Invariants:
//! - exact: the amount is a [`Decimal`] and is rounded once, to the shown decimals, half
//!   away from zero (₹0.005 → ₹0.01, −₹0.005 → −₹0.01), as a contract note rounds;
//! - a negative amount is written `-₹…`; an amount that rounds to zero has no sign;
//! - `report.json` and `fills.csv` keep plain decimal strings (machines read them).

use rust_decimal::{Decimal, RoundingStrategy};

/// One lakh, 10^5 rupees.
const LAKH: Decimal = Decimal::from_parts(100_000, 0, 0, false, 0);
/// One crore, 10^7 rupees.
const CRORE: Decimal = Decimal::from_parts(10_000_000, 0, 0, false, 0);

/// `₹1,23,45,678.90`: grouped the Indian way, always two decimals (paise).
pub(super) fn inr(amount: Decimal) -> String {
    with_decimals(amount, 2)
}

/// `₹1,23,45,679`: grouped, rounded to the rupee.
pub(super) fn inr_whole(amount: Decimal) -> String {
    with_decimals(amount, 0)
}

/// Short form: `₹4.50 Cr` from a crore, `₹12.35 L` from a lakh, else whole rupees
/// `₹95,000` (two decimals when below ₹100, where paise matter).
pub(super) fn inr_compact(amount: Decimal) -> String {
    let size = amount.abs();
    if size >= CRORE {
        scaled(amount, CRORE, "Cr", 2)
    } else if size >= LAKH {
        scaled(amount, LAKH, "L", 2)
    } else if size >= Decimal::ONE_HUNDRED {
        inr_whole(amount)
    } else {
        inr(amount)
    }
}

/// An axis label of `value` on an axis whose ticks are `step` apart: the short form
/// (`₹99.50 L`) when two decimals of its unit tell neighbouring ticks apart, else the whole
/// grouped amount (`₹99,50,500`), with paise only for steps below a rupee.
pub(super) fn inr_axis(value: Decimal, step: Decimal) -> String {
    let size = value.abs();
    let (unit, suffix) = if size >= CRORE {
        (CRORE, "Cr")
    } else if size >= LAKH {
        (LAKH, "L")
    } else {
        (Decimal::ONE, "")
    };
    let fine = step.abs() < Decimal::ONE;
    let short_enough = step.abs().checked_div(unit).unwrap_or(Decimal::ONE) >= pow10_neg(2);
    if !suffix.is_empty() && short_enough {
        scaled(value, unit, suffix, 2)
    } else if fine {
        inr(value)
    } else {
        inr_whole(value)
    }
}

/// `10^-decimals`.
fn pow10_neg(decimals: u32) -> Decimal {
    Decimal::new(1, decimals)
}

fn scaled(amount: Decimal, unit: Decimal, suffix: &str, decimals: u32) -> String {
    let value = amount.checked_div(unit).unwrap_or(Decimal::ZERO);
    format!("{} {suffix}", with_decimals(value, decimals))
}

/// `amount` rounded half away from zero to `decimals`, Indian-grouped, with `₹`.
fn with_decimals(amount: Decimal, decimals: u32) -> String {
    let rounded = amount.round_dp_with_strategy(decimals, RoundingStrategy::MidpointAwayFromZero);
    let negative = rounded.is_sign_negative() && !rounded.is_zero();
    // `{:.N}` of a value already rounded to N places pads with zeros and never rounds again.
    let text = format!("{:.*}", decimals as usize, rounded.abs());
    let (whole, fraction) = match text.split_once('.') {
        Some((whole, fraction)) => (whole, Some(fraction)),
        None => (text.as_str(), None),
    };
    let mut out = String::with_capacity(text.len() + 8);
    if negative {
        out.push('-');
    }
    out.push('₹');
    out.push_str(&group_indian(whole));
    if let Some(fraction) = fraction {
        out.push('.');
        out.push_str(fraction);
    }
    out
}

/// `12345678` → `1,23,45,678`: the last three digits, then pairs.
fn group_indian(digits: &str) -> String {
    if digits.len() <= 3 {
        return digits.to_owned();
    }
    let (head, last_three) = digits.split_at(digits.len() - 3);
    let mut out = String::with_capacity(digits.len() + digits.len() / 2);
    let first_pair = head.len() % 2;
    for (i, c) in head.chars().enumerate() {
        if i > 0 && (i + 2 - first_pair).is_multiple_of(2) {
            out.push(',');
        }
        out.push(c);
    }
    out.push(',');
    out.push_str(last_three);
    out
}

/// A ratio as a percentage with two decimals, half away from zero (`0.022333` → `2.23`).
pub(super) fn percent_2dp(ratio: Decimal) -> String {
    let value = ratio
        .saturating_mul(Decimal::ONE_HUNDRED)
        .round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero);
    format!("{value:.2}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    fn d(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }

    #[test]
    fn groups_the_indian_way_with_paise() {
        let cases = [
            ("0", "₹0.00"),
            ("7", "₹7.00"),
            ("999.9", "₹999.90"),
            ("1000", "₹1,000.00"),
            ("99999.99", "₹99,999.99"),
            ("100000", "₹1,00,000.00"),
            ("1234567", "₹12,34,567.00"),
            ("12345678.9", "₹1,23,45,678.90"),
            ("99500000", "₹9,95,00,000.00"),
            ("1234567890123", "₹12,34,56,78,90,123.00"),
            ("-2500.5", "-₹2,500.50"),
        ];
        for (amount, shown) in cases {
            assert_eq!(inr(d(amount)), shown, "{amount}");
        }
    }

    #[test]
    fn rounds_half_away_from_zero() {
        let cases = [
            ("0.005", "₹0.01"),
            ("0.015", "₹0.02"),
            ("0.025", "₹0.03"),
            ("-0.005", "-₹0.01"),
            ("-0.0049", "₹0.00"),
            ("1234.994999", "₹1,234.99"),
            ("99999.995", "₹1,00,000.00"),
        ];
        for (amount, shown) in cases {
            assert_eq!(inr(d(amount)), shown, "{amount}");
        }
        assert_eq!(inr_whole(d("2500.5")), "₹2,501");
        assert_eq!(inr_whole(d("-2500.5")), "-₹2,501");
        assert_eq!(inr_whole(d("0.4")), "₹0");
    }

    #[test]
    fn compact_in_lakh_and_crore() {
        let cases = [
            ("45000000", "₹4.50 Cr"),
            ("99500000", "₹9.95 Cr"),
            ("1235000", "₹12.35 L"),
            ("1234999", "₹12.35 L"),
            ("100000", "₹1.00 L"),
            ("99999", "₹99,999"),
            ("-250000", "-₹2.50 L"),
            ("95000.4", "₹95,000"),
            ("12.345", "₹12.35"),
            ("123456789012", "₹12,345.68 Cr"),
        ];
        for (amount, shown) in cases {
            assert_eq!(inr_compact(d(amount)), shown, "{amount}");
        }
    }

    #[test]
    fn axis_labels_keep_neighbouring_ticks_apart() {
        assert_eq!(inr_axis(d("99500000"), d("500000")), "₹9.95 Cr");
        assert_eq!(inr_axis(d("99505000"), d("5000")), "₹9,95,05,000");
        assert_eq!(inr_axis(d("9950000"), d("50000")), "₹99.50 L");
        assert_eq!(inr_axis(d("9950000"), d("1000")), "₹99.50 L");
        assert_eq!(inr_axis(d("9950500"), d("500")), "₹99,50,500");
        assert_eq!(inr_axis(d("-2000"), d("1000")), "-₹2,000");
        assert_eq!(inr_axis(d("0.5"), d("0.1")), "₹0.50");
        assert_eq!(inr_axis(d("0"), d("1000")), "₹0");
    }
}
