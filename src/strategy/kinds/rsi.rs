//! `rsi`: long-only RSI reversal.
//!
//! Per token: RSI(`period`) of `last_price` (Wilder). With no order of the instrument in
//! flight: flat and the RSI crosses below `oversold` (previous value ≥ oversold, current <
//! oversold) → BUY `quantity`; long and it crosses above `overbought` (previous ≤
//! overbought, current > overbought) → SELL the whole position. A cross needs two
//! consecutive defined values, so an RSI that is already below `oversold` when it first
//! becomes defined does not buy.

use super::params::RsiParams;
use super::{fixed, long_only, retry_hooks};
use crate::messages::MarketTick;
use crate::strategy::Retry;
use crate::strategy::indicators::Rsi;
use crate::strategy::{Decision, Strategy, StrategyContext};
use rust_decimal::Decimal;
use std::collections::HashMap;

/// The `rsi` strategy; see the module docs.
#[derive(Debug, Clone)]
pub struct RsiStrategy {
    params: RsiParams,
    tokens: HashMap<u32, TokenState>,
    retry: Retry,
}

#[derive(Debug, Clone)]
struct TokenState {
    rsi: Rsi,
    previous: Option<Decimal>,
}

impl RsiStrategy {
    pub fn new(params: RsiParams) -> Self {
        RsiStrategy {
            params,
            tokens: HashMap::new(),
            retry: Retry::default(),
        }
    }
}

impl Strategy for RsiStrategy {
    retry_hooks!();

    fn on_tick(&mut self, tick: &MarketTick, ctx: &StrategyContext<'_>) -> Decision {
        let RsiParams {
            period,
            oversold,
            overbought,
            quantity,
        } = self.params;
        let state = self.tokens.entry(tick.token).or_insert_with(|| TokenState {
            rsi: Rsi::new(period),
            previous: None,
        });
        let Some(current) = state.rsi.update(tick.last_price) else {
            return Ok(None);
        };
        let Some(previous) = state.previous.replace(current) else {
            return Ok(None);
        };
        let enter = (previous >= oversold && current < oversold)
            .then(|| format!("rsi {} crossed below {oversold}", fixed(current, 2)));
        let exit = (previous <= overbought && current > overbought)
            .then(|| format!("rsi {} crossed above {overbought}", fixed(current, 2)));
        Ok(long_only(ctx, &self.retry, quantity, enter, exit))
    }
}
