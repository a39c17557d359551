//! `mean_reversion`: long-only Bollinger-band reversion confirmed by RSI.
//!
//! Per token, on `last_price` `x`: Bollinger bands (SMA ± `bb_k`·std over `bb_period`
//! ticks, the current tick included) and RSI(`rsi_period`). Flat, `x` below the lower band
//! AND RSI < `oversold` → BUY `quantity`; long, `x` above the upper band OR RSI >
//! `overbought` → SELL `quantity`. A condition on an indicator that is still warming up is
//! false. The position is tracked from emitted intents (see the module docs of
//! [`crate::strategy`]).

use super::indicators::{Bollinger, Rsi};
use super::{SignalIntent, Strategy};
use crate::messages::{MarketTick, Side};
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use std::collections::HashMap;

/// The `mean_reversion` strategy; see the module docs.
#[derive(Debug, Clone)]
pub struct MeanReversionStrategy {
    id: String,
    rsi_period: usize,
    oversold: Decimal,
    overbought: Decimal,
    bb_period: usize,
    bb_k: Decimal,
    quantity: u32,
    tokens: HashMap<u32, TokenState>,
}

#[derive(Debug, Clone)]
struct TokenState {
    rsi: Rsi,
    bands: Bollinger,
    long: bool,
}

impl MeanReversionStrategy {
    /// A mean-reversion strategy: RSI over `rsi_period` changes with `(oversold,
    /// overbought)` levels, bands over `bb_period` ticks `bb_k` deviations wide.
    pub fn new(
        id: &str,
        rsi_period: usize,
        levels: (Decimal, Decimal),
        bb_period: usize,
        bb_k: Decimal,
        quantity: u32,
    ) -> Self {
        MeanReversionStrategy {
            id: id.to_owned(),
            rsi_period,
            oversold: levels.0,
            overbought: levels.1,
            bb_period,
            bb_k,
            quantity,
            tokens: HashMap::new(),
        }
    }
}

impl Strategy for MeanReversionStrategy {
    fn id(&self) -> &str {
        &self.id
    }

    fn on_tick(&mut self, tick: &MarketTick, _at: DateTime<Utc>) -> Option<SignalIntent> {
        let (rsi_period, bb_period, bb_k) = (self.rsi_period, self.bb_period, self.bb_k);
        let state = self.tokens.entry(tick.token).or_insert_with(|| TokenState {
            rsi: Rsi::new(rsi_period),
            bands: Bollinger::new(bb_period, bb_k),
            long: false,
        });
        let x = tick.last_price;
        let rsi = state.rsi.update(x);
        let bands = state.bands.update(x);
        if !state.long {
            let lower = bands.map(|b| b.lower).filter(|lower| x < *lower)?;
            let rsi = rsi.filter(|r| *r < self.oversold)?;
            state.long = true;
            let reason = format!("price {x} below lower band {lower:.2}, rsi {rsi:.2}");
            return Some(SignalIntent::market(Side::Buy, self.quantity, reason));
        }
        let reason = if let Some(upper) = bands.map(|b| b.upper).filter(|upper| x > *upper) {
            format!("price {x} above upper band {upper:.2}")
        } else {
            let rsi = rsi.filter(|r| *r > self.overbought)?;
            format!("rsi {rsi:.2} above {}", self.overbought)
        };
        state.long = false;
        Some(SignalIntent::market(Side::Sell, self.quantity, reason))
    }
}
