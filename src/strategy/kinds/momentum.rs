//! `momentum`: long-only trend following on the rate of change of the last price.
//!
//! Per token: momentum `m = x_t / x_{t−lookback} − 1` of `last_price`. Once it is defined,
//! with no order of the instrument in flight: flat and `m > threshold` → BUY `quantity`;
//! long and `m < −threshold` → SELL the whole position (see [`super::long_only`] for
//! positions outside `0..=quantity`).

use super::params::MomentumParams;
use super::{fixed, long_only, retry_hooks};
use crate::messages::MarketTick;
use crate::strategy::Retry;
use crate::strategy::indicators::Momentum;
use crate::strategy::{Decision, Strategy, StrategyContext};
use std::collections::HashMap;

/// The `momentum` strategy; see the module docs.
#[derive(Debug, Clone)]
pub struct MomentumStrategy {
    params: MomentumParams,
    tokens: HashMap<u32, Momentum>,
    retry: Retry,
}

impl MomentumStrategy {
    pub fn new(params: MomentumParams) -> Self {
        MomentumStrategy {
            params,
            tokens: HashMap::new(),
            retry: Retry::default(),
        }
    }
}

impl Strategy for MomentumStrategy {
    retry_hooks!();

    fn on_tick(&mut self, tick: &MarketTick, ctx: &StrategyContext<'_>) -> Decision {
        let MomentumParams {
            lookback,
            threshold,
            quantity,
        } = self.params;
        let momentum = self
            .tokens
            .entry(tick.token)
            .or_insert_with(|| Momentum::new(lookback));
        let Some(m) = momentum.update(tick.last_price) else {
            return Ok(None);
        };
        let enter = (m > threshold).then(|| format!("momentum {} > {threshold}", fixed(m, 4)));
        let exit = (m < -threshold).then(|| format!("momentum {} < -{threshold}", fixed(m, 4)));
        Ok(long_only(ctx, &self.retry, quantity, enter, exit))
    }
}
