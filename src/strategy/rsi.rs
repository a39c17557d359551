//! `rsi`: long-only RSI reversal.
//!
//! Per token: RSI(`period`) of `last_price` (Wilder). Flat and the RSI crosses below
//! `oversold` (previous value ≥ oversold, current < oversold) → BUY `quantity`; long and it
//! crosses above `overbought` (previous ≤ overbought, current > overbought) → SELL
//! `quantity`. A cross needs two consecutive defined values, so an RSI that is already below
//! `oversold` when it first becomes defined does not buy. The position is tracked from
//! emitted intents (see the module docs of [`crate::strategy`]).

use super::indicators::Rsi;
use super::{SignalIntent, Strategy};
use crate::messages::{MarketTick, Side};
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use std::collections::HashMap;

/// The `rsi` strategy; see the module docs.
#[derive(Debug, Clone)]
pub struct RsiStrategy {
    id: String,
    period: usize,
    oversold: Decimal,
    overbought: Decimal,
    quantity: u32,
    tokens: HashMap<u32, TokenState>,
}

#[derive(Debug, Clone)]
struct TokenState {
    rsi: Rsi,
    previous: Option<Decimal>,
    long: bool,
}

impl RsiStrategy {
    /// An RSI strategy over `period` changes with `(oversold, overbought)` levels.
    pub fn new(id: &str, period: usize, levels: (Decimal, Decimal), quantity: u32) -> Self {
        RsiStrategy {
            id: id.to_owned(),
            period,
            oversold: levels.0,
            overbought: levels.1,
            quantity,
            tokens: HashMap::new(),
        }
    }
}

impl Strategy for RsiStrategy {
    fn id(&self) -> &str {
        &self.id
    }

    fn on_tick(&mut self, tick: &MarketTick, _at: DateTime<Utc>) -> Option<SignalIntent> {
        let period = self.period;
        let state = self.tokens.entry(tick.token).or_insert_with(|| TokenState {
            rsi: Rsi::new(period),
            previous: None,
            long: false,
        });
        let current = state.rsi.update(tick.last_price)?;
        let previous = state.previous.replace(current)?;
        if !state.long && previous >= self.oversold && current < self.oversold {
            state.long = true;
            let reason = format!("rsi {current:.2} crossed below {}", self.oversold);
            Some(SignalIntent::market(Side::Buy, self.quantity, reason))
        } else if state.long && previous <= self.overbought && current > self.overbought {
            state.long = false;
            let reason = format!("rsi {current:.2} crossed above {}", self.overbought);
            Some(SignalIntent::market(Side::Sell, self.quantity, reason))
        } else {
            None
        }
    }
}
