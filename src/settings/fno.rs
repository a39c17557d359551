//! `[fno]`: the exchange's rules for futures and options that the instrument master does
//! not carry: each underlying's freeze quantity, how many slices one order may become,
//! and which instrument gives an underlying's price.
//!
//! Invariants: a freeze quantity is positive; `max_slices` is `1..=10` (Kite's
//! auto-slicing allows at most 10); an underlying's price instrument is written
//! `EXCHANGE:SYMBOL` and checked against the registry where it is used.
//! Underlyings are keyed by Kite's `name` of their derivatives (`NIFTY`, `BANKNIFTY`).
//! An underlying missing from `underlyings` is priced by `NSE:<name>` (stock F&O).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::error::Problem;

/// Kite's auto-slicing limit: one order is at most this many exchange orders.
pub const KITE_MAX_SLICES: u32 = 10;

/// `[fno]`: freeze quantities, slicing and underlyings.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct FnoSettings {
    /// Largest single order quantity (units, not lots) the exchange accepts, per
    /// underlying. An underlying not listed has no freeze limit here.
    pub freeze_quantities: BTreeMap<String, u32>,
    /// Most orders one signal may be sliced into (1..=10).
    pub max_slices: u32,
    /// The instrument whose price is an underlying's price (ATM strikes, futures basis,
    /// settlement at expiry), `EXCHANGE:SYMBOL`.
    pub underlyings: BTreeMap<String, String>,
}

impl FnoSettings {
    /// The freeze quantity of `underlying` (Kite's `name`), if one is configured.
    pub fn freeze_quantity(&self, underlying: &str) -> Option<u32> {
        self.freeze_quantities.get(underlying).copied()
    }

    /// The `EXCHANGE:SYMBOL` of the instrument that prices `underlying`.
    pub fn underlying_key(&self, underlying: &str) -> String {
        self.underlyings
            .get(underlying)
            .cloned()
            .unwrap_or_else(|| format!("NSE:{underlying}"))
    }
}

/// Every broken rule of `[fno]`.
pub(super) fn problems(fno: &FnoSettings) -> Vec<Problem> {
    let mut out = Vec::new();
    if !(1..=KITE_MAX_SLICES).contains(&fno.max_slices) {
        out.push(Problem::new(
            "fno.max_slices",
            format!(
                "must be between 1 and {KITE_MAX_SLICES} (Kite slices an order into at most \
                 {KITE_MAX_SLICES}), got {}",
                fno.max_slices
            ),
        ));
    }
    for (underlying, quantity) in &fno.freeze_quantities {
        if *quantity == 0 {
            out.push(Problem::new(
                format!("fno.freeze_quantities.{underlying}"),
                "must be positive (units the exchange accepts in one order), got 0".to_owned(),
            ));
        }
    }
    for (underlying, key) in &fno.underlyings {
        let shaped = key
            .split_once(':')
            .is_some_and(|(exchange, symbol)| !exchange.is_empty() && !symbol.is_empty());
        if !shaped {
            out.push(Problem::new(
                format!("fno.underlyings.{underlying}"),
                format!("expected EXCHANGE:SYMBOL (e.g. \"NSE:NIFTY 50\"), got {key:?}"),
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::test_support::load;

    #[test]
    fn defaults_hold_the_index_freeze_limits_and_underlyings() {
        let s = load(None, &[]).unwrap();
        assert_eq!(s.fno.max_slices, 10);
        assert_eq!(s.fno.freeze_quantity("NIFTY"), Some(1800));
        assert_eq!(s.fno.freeze_quantity("RELIANCE"), None);
        assert_eq!(s.fno.underlying_key("BANKNIFTY"), "NSE:NIFTY BANK");
        assert_eq!(s.fno.underlying_key("RELIANCE"), "NSE:RELIANCE");
    }

    #[test]
    fn a_file_adds_an_underlying_and_changes_a_limit() {
        let file = "[fno.freeze_quantities]\nNIFTY = 1755\nRELIANCE = 12000\n\
                    [fno.underlyings]\nSTOCKX = \"BSE:STOCKX\"\n";
        let s = load(Some(file), &[]).unwrap();
        assert_eq!(s.fno.freeze_quantity("NIFTY"), Some(1755));
        assert_eq!(s.fno.freeze_quantity("RELIANCE"), Some(12_000));
        assert_eq!(
            s.fno.freeze_quantity("BANKNIFTY"),
            Some(900),
            "defaults stay"
        );
        assert_eq!(s.fno.underlying_key("STOCKX"), "BSE:STOCKX");
    }

    #[test]
    fn bad_values_are_named_by_key() {
        let file = "[fno]\nmax_slices = 11\n[fno.freeze_quantities]\nNIFTY = 0\n\
                    [fno.underlyings]\nNIFTY = \"NIFTY 50\"\n";
        let error = load(Some(file), &[]).unwrap_err().to_string();
        for expected in [
            "fno.max_slices: must be between 1 and 10",
            "fno.freeze_quantities.NIFTY: must be positive",
            "fno.underlyings.NIFTY: expected EXCHANGE:SYMBOL",
        ] {
            assert!(error.contains(expected), "{expected}: {error}");
        }
    }
}
