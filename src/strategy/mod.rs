//! Trading strategies: ticks in, order intents out. Pure domain code.
//!
//! A [`Strategy`] sees one [`MarketTick`] at a time (with the envelope's time) and may answer
//! with a [`SignalIntent`]; the strategy runner turns intents into `TradingSignal`s (adding
//! the strategy id, broker, token, symbol and reference price) and forwards this strategy's
//! fills back through [`Strategy::on_fill`].
//!
//! - [`indicators`]: O(1)-per-update EMA, SMA, rolling std / Bollinger bands, RSI, momentum.
//! - [`StrategyParams`]: the configured kinds (`momentum`, `mean_reversion`, `rsi`,
//!   `ema_cross`) with [`StrategyParams::validate`]; [`build`] / [`try_build`] make one
//!   instance per configured strategy id.
//!
//! Invariants:
//! - One instance per strategy id keeps independent state per instrument token (a map from
//!   token to state): ticks of other tokens never influence a token's decisions.
//! - `on_tick` is O(1) (amortised, for the map) and allocates only when it emits an intent.
//! - Every strategy here emits MARKET orders with DAY validity and the configured quantity
//!   (`ema_cross` trades twice it on a flip).
//! - Strategies track their own position from the intents they emit, not from fills: an
//!   emitted BUY counts as long at once. This keeps a backtest deterministic and stops a
//!   strategy from repeating an order while the first is in flight; the cost is that a
//!   rejected or failed order leaves the strategy believing it holds the position.
//! - Nothing here imports actix, tokio, Kafka or Redis, and nothing reads a clock: time comes
//!   in with the tick.

mod ema_cross;
pub mod indicators;
mod mean_reversion;
mod momentum;
mod params;
mod rsi;

#[cfg(test)]
mod indicators_tests;
#[cfg(test)]
mod params_tests;
#[cfg(test)]
mod tests;

pub use ema_cross::EmaCrossStrategy;
pub use mean_reversion::MeanReversionStrategy;
pub use momentum::MomentumStrategy;
pub use params::StrategyParams;
pub use rsi::RsiStrategy;

use crate::messages::{MarketTick, OrderType, Side, Validity};
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;

/// What a strategy wants after a tick: a target position change expressed as an order intent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignalIntent {
    pub side: Side,
    pub quantity: u32,
    pub order_type: OrderType,
    /// Limit price (LIMIT and SL orders); `None` for market orders.
    pub price: Option<Decimal>,
    /// Trigger price (SL and SL-M orders); `None` otherwise.
    pub trigger_price: Option<Decimal>,
    pub validity: Validity,
    /// Why the strategy fired, for humans.
    pub reason: String,
}

impl SignalIntent {
    /// A MARKET order valid for the DAY.
    pub fn market(side: Side, quantity: u32, reason: String) -> Self {
        SignalIntent {
            side,
            quantity,
            order_type: OrderType::Market,
            price: None,
            trigger_price: None,
            validity: Validity::Day,
            reason,
        }
    }
}

/// A trading strategy: one instance per configured id, trading any number of instruments.
pub trait Strategy: Send {
    /// The configured strategy id.
    fn id(&self) -> &str;

    /// One tick of one of the strategy's instruments. O(1).
    fn on_tick(&mut self, tick: &MarketTick, at: DateTime<Utc>) -> Option<SignalIntent>;

    /// A fill of this strategy's order (the runner forwards them), so position-tracking
    /// strategies stay in step. Default: ignore.
    fn on_fill(&mut self, _token: u32, _side: Side, _quantity: u32) {}
}

/// Why a strategy could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StrategyError {
    /// The parameters failed [`StrategyParams::validate`].
    #[error("strategy {id} ({kind}): invalid parameters: {}", problems.join("; "))]
    InvalidParams {
        id: String,
        kind: &'static str,
        problems: Vec<String>,
    },
}

/// Builds a strategy instance (one per configured id; it keeps per-instrument state for
/// every token it trades).
///
/// The parameters are expected to have passed [`StrategyParams::validate`] (settings
/// validation does it at start-up); unvalidated values never panic — periods below 1 are
/// treated as 1 — but may make a strategy meaningless. [`try_build`] validates first.
pub fn build(id: &str, params: &StrategyParams) -> Box<dyn Strategy> {
    match params {
        StrategyParams::Momentum {
            lookback,
            threshold,
            quantity,
        } => Box::new(MomentumStrategy::new(id, *lookback, *threshold, *quantity)),
        StrategyParams::MeanReversion {
            rsi_period,
            oversold,
            overbought,
            bb_period,
            bb_k,
            quantity,
        } => Box::new(MeanReversionStrategy::new(
            id,
            *rsi_period,
            (*oversold, *overbought),
            *bb_period,
            *bb_k,
            *quantity,
        )),
        StrategyParams::Rsi {
            period,
            oversold,
            overbought,
            quantity,
        } => Box::new(RsiStrategy::new(
            id,
            *period,
            (*oversold, *overbought),
            *quantity,
        )),
        StrategyParams::EmaCross {
            fast,
            slow,
            quantity,
        } => Box::new(EmaCrossStrategy::new(id, *fast, *slow, *quantity)),
    }
}

/// Validates the parameters, then [`build`]s.
///
/// # Errors
///
/// [`StrategyError::InvalidParams`] with every problem [`StrategyParams::validate`] found.
pub fn try_build(id: &str, params: &StrategyParams) -> Result<Box<dyn Strategy>, StrategyError> {
    let problems = params.validate();
    if problems.is_empty() {
        Ok(build(id, params))
    } else {
        Err(StrategyError::InvalidParams {
            id: id.to_owned(),
            kind: params.kind(),
            problems,
        })
    }
}
