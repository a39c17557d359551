//! Strategy parameters as configured, one tagged variant per strategy kind.
//!
//! In TOML a strategy reads `kind = "ema_cross"` plus that kind's fields; unknown fields are
//! refused. Decimal fields (`threshold`, `oversold`, `overbought`, `bb_k`) accept a string,
//! an integer or a float: `threshold = "0.01"`, `threshold = 0.01` and `oversold = 30` all
//! give the same exact `Decimal`. A float is converted through its shortest round-trip text
//! (`0.01_f64` becomes `"0.01"`, not `0.01000000000000000020816…`), which is `rust_decimal`'s
//! default deserialiser; serialising writes strings, which read back exactly.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// The configuration of one strategy instance.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum StrategyParams {
    /// Long-only: buy when the `lookback`-tick rate of change exceeds `threshold`, sell back
    /// to flat when it falls below `−threshold`.
    Momentum {
        lookback: usize,
        threshold: Decimal,
        quantity: u32,
    },
    /// Long-only: buy below the lower Bollinger band with RSI oversold; sell above the upper
    /// band or with RSI overbought.
    MeanReversion {
        rsi_period: usize,
        oversold: Decimal,
        overbought: Decimal,
        bb_period: usize,
        bb_k: Decimal,
        quantity: u32,
    },
    /// Long-only: buy when RSI crosses below `oversold`, sell when it crosses above
    /// `overbought`.
    Rsi {
        period: usize,
        oversold: Decimal,
        overbought: Decimal,
        quantity: u32,
    },
    /// Long/short: hold `+quantity` while the fast EMA of the mid is above the slow one and
    /// `−quantity` while below.
    EmaCross {
        fast: usize,
        slow: usize,
        quantity: u32,
    },
}

impl StrategyParams {
    /// The `kind` tag, as written in configuration.
    pub fn kind(&self) -> &'static str {
        match self {
            StrategyParams::Momentum { .. } => "momentum",
            StrategyParams::MeanReversion { .. } => "mean_reversion",
            StrategyParams::Rsi { .. } => "rsi",
            StrategyParams::EmaCross { .. } => "ema_cross",
        }
    }

    /// Every problem with the parameters, one sentence each (`"fast: must be below slow
    /// (10 >= 5)"`); empty when they are usable.
    pub fn validate(&self) -> Vec<String> {
        let mut problems = Vec::new();
        match self {
            StrategyParams::Momentum {
                lookback,
                threshold,
                quantity,
            } => {
                at_least(&mut problems, "lookback", *lookback, 1);
                positive(&mut problems, "threshold", *threshold);
                positive_quantity(&mut problems, *quantity, u32::MAX);
            }
            StrategyParams::MeanReversion {
                rsi_period,
                oversold,
                overbought,
                bb_period,
                bb_k,
                quantity,
            } => {
                at_least(&mut problems, "rsi_period", *rsi_period, 1);
                rsi_levels(&mut problems, *oversold, *overbought);
                at_least(&mut problems, "bb_period", *bb_period, 2);
                positive(&mut problems, "bb_k", *bb_k);
                positive_quantity(&mut problems, *quantity, u32::MAX);
            }
            StrategyParams::Rsi {
                period,
                oversold,
                overbought,
                quantity,
            } => {
                at_least(&mut problems, "period", *period, 1);
                rsi_levels(&mut problems, *oversold, *overbought);
                positive_quantity(&mut problems, *quantity, u32::MAX);
            }
            StrategyParams::EmaCross {
                fast,
                slow,
                quantity,
            } => {
                at_least(&mut problems, "fast", *fast, 1);
                at_least(&mut problems, "slow", *slow, 1);
                if fast >= slow {
                    problems.push(format!("fast: must be below slow ({fast} >= {slow})"));
                }
                // A flip trades twice the quantity in one order.
                positive_quantity(&mut problems, *quantity, u32::MAX / 2);
            }
        }
        problems
    }
}

fn at_least(problems: &mut Vec<String>, field: &str, value: usize, min: usize) {
    if value < min {
        problems.push(format!("{field}: must be at least {min} (got {value})"));
    }
}

fn positive(problems: &mut Vec<String>, field: &str, value: Decimal) {
    if value <= Decimal::ZERO {
        problems.push(format!("{field}: must be positive (got {value})"));
    }
}

fn positive_quantity(problems: &mut Vec<String>, quantity: u32, max: u32) {
    if quantity == 0 {
        problems.push("quantity: must be positive (got 0)".into());
    } else if quantity > max {
        problems.push(format!(
            "quantity: must be at most {max} (got {quantity}; a flip trades twice the quantity)"
        ));
    }
}

fn rsi_levels(problems: &mut Vec<String>, oversold: Decimal, overbought: Decimal) {
    for (field, level) in [("oversold", oversold), ("overbought", overbought)] {
        if level <= Decimal::ZERO || level >= Decimal::ONE_HUNDRED {
            problems.push(format!(
                "{field}: must be strictly between 0 and 100 (got {level})"
            ));
        }
    }
    if oversold >= overbought {
        problems.push(format!(
            "oversold: must be below overbought ({oversold} >= {overbought})"
        ));
    }
}
