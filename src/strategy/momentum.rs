//! `momentum`: long-only trend following on the rate of change of the last price.
//!
//! Per token: momentum `m = x_t / x_{t−lookback} − 1` of `last_price`. Flat and
//! `m > threshold` → BUY `quantity` (go long); long and `m < −threshold` → SELL `quantity`
//! (back to flat). The position is tracked from emitted intents (see the module docs of
//! [`crate::strategy`]).

use super::indicators::Momentum;
use super::{SignalIntent, Strategy};
use crate::messages::{MarketTick, Side};
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use std::collections::HashMap;

/// The `momentum` strategy; see the module docs.
#[derive(Debug, Clone)]
pub struct MomentumStrategy {
    id: String,
    lookback: usize,
    threshold: Decimal,
    quantity: u32,
    tokens: HashMap<u32, TokenState>,
}

#[derive(Debug, Clone)]
struct TokenState {
    momentum: Momentum,
    long: bool,
}

impl MomentumStrategy {
    /// A momentum strategy over `lookback` ticks (clamped to at least 1).
    pub fn new(id: &str, lookback: usize, threshold: Decimal, quantity: u32) -> Self {
        MomentumStrategy {
            id: id.to_owned(),
            lookback,
            threshold,
            quantity,
            tokens: HashMap::new(),
        }
    }
}

impl Strategy for MomentumStrategy {
    fn id(&self) -> &str {
        &self.id
    }

    fn on_tick(&mut self, tick: &MarketTick, _at: DateTime<Utc>) -> Option<SignalIntent> {
        let lookback = self.lookback;
        let state = self.tokens.entry(tick.token).or_insert_with(|| TokenState {
            momentum: Momentum::new(lookback),
            long: false,
        });
        let m = state.momentum.update(tick.last_price)?;
        if !state.long && m > self.threshold {
            state.long = true;
            let reason = format!("momentum {m:.4} > {}", self.threshold);
            Some(SignalIntent::market(Side::Buy, self.quantity, reason))
        } else if state.long && m < -self.threshold {
            state.long = false;
            let reason = format!("momentum {m:.4} < -{}", self.threshold);
            Some(SignalIntent::market(Side::Sell, self.quantity, reason))
        } else {
            None
        }
    }
}
