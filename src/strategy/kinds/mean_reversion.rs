//! `mean_reversion`: long-only Bollinger-band reversion confirmed by RSI.
//!
//! Per token, on `last_price` `x`: Bollinger bands (SMA ± `bb_k`·std over `bb_period`
//! ticks, the current tick included) and RSI(`rsi_period`). With no order of the
//! instrument in flight: flat, `x` below the lower band AND RSI < `oversold` → BUY
//! `quantity`; long, `x` above the upper band OR RSI > `overbought` → SELL the whole
//! position. A condition on an indicator that is still warming up is false.

use super::params::MeanReversionParams;
use super::{fixed, long_only, retry_hooks};
use crate::messages::MarketTick;
use crate::strategy::Retry;
use crate::strategy::indicators::{Bollinger, Rsi};
use crate::strategy::{Decision, Strategy, StrategyContext};
use std::collections::HashMap;

/// The `mean_reversion` strategy; see the module docs.
#[derive(Debug, Clone)]
pub struct MeanReversionStrategy {
    params: MeanReversionParams,
    tokens: HashMap<u32, TokenState>,
    retry: Retry,
}

#[derive(Debug, Clone)]
struct TokenState {
    rsi: Rsi,
    bands: Bollinger,
}

impl MeanReversionStrategy {
    pub fn new(params: MeanReversionParams) -> Self {
        MeanReversionStrategy {
            params,
            tokens: HashMap::new(),
            retry: Retry::default(),
        }
    }
}

impl Strategy for MeanReversionStrategy {
    retry_hooks!();

    fn on_tick(&mut self, tick: &MarketTick, ctx: &StrategyContext<'_>) -> Decision {
        let p = &self.params;
        let state = self.tokens.entry(tick.token).or_insert_with(|| TokenState {
            rsi: Rsi::new(p.rsi_period),
            bands: Bollinger::new(p.bb_period, p.bb_k),
        });
        let x = tick.last_price;
        let rsi = state.rsi.update(x);
        let bands = state.bands.update(x);
        if rsi.is_none() && bands.is_none() {
            return Ok(None);
        }
        let enter = match (bands, rsi) {
            (Some(b), Some(r)) if x < b.lower && r < p.oversold => Some(format!(
                "price {x} below lower band {}, rsi {}",
                fixed(b.lower, 2),
                fixed(r, 2)
            )),
            _ => None,
        };
        let exit = match (bands, rsi) {
            (Some(b), _) if x > b.upper => {
                Some(format!("price {x} above upper band {}", fixed(b.upper, 2)))
            }
            (_, Some(r)) if r > p.overbought => {
                Some(format!("rsi {} above {}", fixed(r, 2), p.overbought))
            }
            _ => None,
        };
        Ok(long_only(ctx, &self.retry, p.quantity, enter, exit))
    }
}
