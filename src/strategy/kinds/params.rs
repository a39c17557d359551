//! The built-in kinds' parameters, one struct per kind, read from `params` by
//! [`crate::settings::StrategyParams::parse`] (unknown fields refused).
//!
//! Decimal fields (`threshold`, `oversold`, `overbought`, `bb_k`) accept a string, an
//! integer or a float: `threshold = "0.01"`, `threshold = 0.01` and `oversold = 30` all give
//! the same exact `Decimal`. A float is converted through its shortest round-trip text
//! (`0.01_f64` becomes `"0.01"`, not `0.01000000000000000020816…`), which is
//! `rust_decimal`'s default deserialiser.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::settings::{ParamProblem, ParamsError, StrategyParams};

/// Range checks after parsing: `(field, message)` per problem.
pub(super) trait Checked: serde::de::DeserializeOwned {
    /// A valid set of the kind's parameters (TOML, without `kind`): stands in for the
    /// fields that could not be read, so the others are still range-checked.
    const EXAMPLE: &'static str;

    fn problems(&self) -> Vec<(String, String)>;
}

/// Reads and range-checks a kind's parameters, reporting every problem at once: a field
/// of the wrong type does not hide another field's range problem.
///
/// # Errors
/// Every field that is missing, unknown, of the wrong type or out of range.
pub(super) fn checked<T: Checked>(p: &StrategyParams) -> Result<T, ParamsError> {
    let unread = match p.parse::<T>() {
        Ok(params) => {
            ParamsError::check(params.problems())?;
            return Ok(params);
        }
        Err(e) => e,
    };
    // The example is a constant of this file, checked by a test; if it did not parse
    // the range checks are skipped, never the type problems.
    let example: toml::Table = toml::from_str(T::EXAMPLE).unwrap_or_default();
    let mut values = p.values().clone();
    for problem in &unread.problems {
        match example.get(&problem.field) {
            Some(value) => values.insert(problem.field.clone(), value.clone()),
            None => values.remove(&problem.field),
        };
    }
    let mut problems = unread.problems;
    // Each read may name one more missing field: stand in for it too, and read again.
    for _ in 0..=example.len() {
        let stand_in = match StrategyParams::new(p.kind(), values.clone()).parse::<T>() {
            Ok(stand_in) => stand_in,
            Err(e) => {
                let new: Vec<ParamProblem> = e
                    .problems
                    .into_iter()
                    .filter(|n| !problems.iter().any(|p| p.field == n.field))
                    .collect();
                if new.is_empty() {
                    problems.sort_by(|a, b| a.field.cmp(&b.field));
                    break;
                }
                for problem in new {
                    if let Some(value) = example.get(&problem.field) {
                        values.insert(problem.field.clone(), value.clone());
                    }
                    problems.push(problem);
                }
                continue;
            }
        };
        // The reader's problems in a stable order (serde's depends on the map's), then
        // the range rules' in theirs.
        problems.sort_by(|a, b| a.field.cmp(&b.field));
        let unread: Vec<String> = problems.iter().map(|p| p.field.clone()).collect();
        // A rule about a stand-in value says nothing about what the operator wrote.
        let about_written = |(field, message): &(String, String)| {
            !unread
                .iter()
                .any(|u| field == u || message.contains(u.as_str()))
        };
        problems.extend(
            stand_in
                .problems()
                .into_iter()
                .filter(about_written)
                .map(|(field, message)| ParamProblem { field, message }),
        );
        break;
    }
    Err(ParamsError { problems })
}

/// `momentum`: buy when the `lookback`-tick rate of change exceeds `threshold`, sell back
/// to flat when it falls below `−threshold`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct MomentumParams {
    pub lookback: usize,
    pub threshold: Decimal,
    pub quantity: u32,
}

/// `mean_reversion`: buy below the lower Bollinger band with RSI oversold; sell above the
/// upper band or with RSI overbought.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct MeanReversionParams {
    pub rsi_period: usize,
    pub oversold: Decimal,
    pub overbought: Decimal,
    pub bb_period: usize,
    pub bb_k: Decimal,
    pub quantity: u32,
}

/// `rsi`: buy when RSI crosses below `oversold`, sell when it crosses above `overbought`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RsiParams {
    pub period: usize,
    pub oversold: Decimal,
    pub overbought: Decimal,
    pub quantity: u32,
}

/// `ema_cross`: hold `+quantity` while the fast EMA of the mid is above the slow one and
/// `−quantity` while below.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct EmaCrossParams {
    pub fast: usize,
    pub slow: usize,
    pub quantity: u32,
}

impl Checked for MomentumParams {
    const EXAMPLE: &'static str = "lookback = 20\nthreshold = \"0.0005\"\nquantity = 10";

    fn problems(&self) -> Vec<(String, String)> {
        let mut problems = Vec::new();
        at_least(&mut problems, "lookback", self.lookback, 1);
        positive(&mut problems, "threshold", self.threshold);
        positive_quantity(&mut problems, self.quantity, u32::MAX);
        problems
    }
}

impl Checked for MeanReversionParams {
    const EXAMPLE: &'static str =
        "rsi_period = 14\noversold = 30\noverbought = 70\nbb_period = 20\nbb_k = 2\nquantity = 10";

    fn problems(&self) -> Vec<(String, String)> {
        let mut problems = Vec::new();
        at_least(&mut problems, "rsi_period", self.rsi_period, 1);
        rsi_levels(&mut problems, self.oversold, self.overbought);
        at_least(&mut problems, "bb_period", self.bb_period, 2);
        positive(&mut problems, "bb_k", self.bb_k);
        positive_quantity(&mut problems, self.quantity, u32::MAX);
        problems
    }
}

impl Checked for RsiParams {
    const EXAMPLE: &'static str = "period = 14\noversold = 30\noverbought = 70\nquantity = 10";

    fn problems(&self) -> Vec<(String, String)> {
        let mut problems = Vec::new();
        at_least(&mut problems, "period", self.period, 1);
        rsi_levels(&mut problems, self.oversold, self.overbought);
        positive_quantity(&mut problems, self.quantity, u32::MAX);
        problems
    }
}

impl Checked for EmaCrossParams {
    const EXAMPLE: &'static str = "fast = 10\nslow = 20\nquantity = 10";

    fn problems(&self) -> Vec<(String, String)> {
        let mut problems = Vec::new();
        at_least(&mut problems, "fast", self.fast, 1);
        at_least(&mut problems, "slow", self.slow, 1);
        if self.fast >= self.slow {
            problems.push((
                "fast".into(),
                format!("must be below slow ({} >= {})", self.fast, self.slow),
            ));
        }
        // A flip trades twice the quantity in one order.
        positive_quantity(&mut problems, self.quantity, u32::MAX / 2);
        problems
    }
}

type Problems = Vec<(String, String)>;

/// The longest indicator window, in ticks: each window keeps that many prices, so a typo
/// such as `lookback = 4294967296000` would otherwise abort the process allocating it on
/// the first tick (`config check` now refuses it).
pub const MAX_WINDOW: usize = 100_000;

fn at_least(problems: &mut Problems, field: &str, value: usize, min: usize) {
    if value < min {
        problems.push((
            field.into(),
            format!("must be at least {min} (got {value})"),
        ));
    } else if value > MAX_WINDOW {
        problems.push((
            field.into(),
            format!("must be at most {MAX_WINDOW} ticks (got {value})"),
        ));
    }
}

fn positive(problems: &mut Problems, field: &str, value: Decimal) {
    if value <= Decimal::ZERO {
        problems.push((field.into(), format!("must be positive (got {value})")));
    }
}

fn positive_quantity(problems: &mut Problems, quantity: u32, max: u32) {
    if quantity == 0 {
        problems.push(("quantity".into(), "must be positive (got 0)".into()));
    } else if quantity > max {
        problems.push((
            "quantity".into(),
            format!("must be at most {max} (got {quantity}; a flip trades twice the quantity)"),
        ));
    }
}

fn rsi_levels(problems: &mut Problems, oversold: Decimal, overbought: Decimal) {
    for (field, level) in [("oversold", oversold), ("overbought", overbought)] {
        if level <= Decimal::ZERO || level >= Decimal::ONE_HUNDRED {
            problems.push((
                field.into(),
                format!("must be strictly between 0 and 100 (got {level})"),
            ));
        }
    }
    if oversold >= overbought {
        problems.push((
            "oversold".into(),
            format!("must be below overbought ({oversold} >= {overbought})"),
        ));
    }
}
