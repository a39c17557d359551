//! The built-in strategy kinds, registered in every [`StrategyRegistry`] by default.
//!
//! Shared rules, each enforced here rather than left to luck:
//! - They decide from the real position ([`StrategyContext::position`]), never from what
//!   they sent.
//! - At most one order per instrument is in flight: while one is pending they update their
//!   indicators and send nothing.
//! - Every order is a DAY market order. A refused order leaves the position unchanged; the
//!   kind tries again on a later tick whose conditions hold, once it has waited 1 s of tick
//!   time (doubling on each further refusal of that instrument, at most 60 s; a fill resets
//!   it: [`Retry`]), so a refusal that keeps holding is not retried on every tick.
//! - Warm-up: a kind trades only once its indicators are defined (ema_cross: `slow` ticks;
//!   momentum: `lookback + 1`; rsi: `period + 2`; mean_reversion: the bands or the RSI).
//!   After a restart the indicators warm up again from live ticks, while the position and
//!   pending orders are the real ones from the start.
//! - No panic on any input: indicators refuse an input whose arithmetic overflows (no
//!   value, no signal, a warning logged), and reasons format numbers through [`fixed`]. The
//!   door keeps prices within ₹10⁹, where none of this happens.

mod ema_cross;
mod mean_reversion;
mod momentum;
mod params;
mod rsi;

#[cfg(test)]
mod params_tests;
#[cfg(test)]
mod tests;

pub use ema_cross::EmaCrossStrategy;
pub use mean_reversion::MeanReversionStrategy;
pub use momentum::MomentumStrategy;
pub use params::{EmaCrossParams, MeanReversionParams, MomentumParams, RsiParams};
pub use rsi::RsiStrategy;

use super::{OrderIntent, Strategy, StrategyContext, StrategyRegistry};
use crate::messages::Side;
use crate::settings::{ParamsError, StrategyParams};
use crate::strategy::Retry;

/// The built-in kinds' names.
pub const BUILTIN_KINDS: [&str; 4] = ["momentum", "mean_reversion", "rsi", "ema_cross"];

/// Registers the four built-in kinds.
pub fn register(registry: &mut StrategyRegistry) {
    registry
        .register("momentum", |p: &StrategyParams| {
            let params: MomentumParams = checked(p)?;
            Ok(Box::new(MomentumStrategy::new(params)) as Box<dyn Strategy>)
        })
        .register("mean_reversion", |p: &StrategyParams| {
            let params: MeanReversionParams = checked(p)?;
            Ok(Box::new(MeanReversionStrategy::new(params)) as Box<dyn Strategy>)
        })
        .register("rsi", |p: &StrategyParams| {
            let params: RsiParams = checked(p)?;
            Ok(Box::new(RsiStrategy::new(params)) as Box<dyn Strategy>)
        })
        .register("ema_cross", |p: &StrategyParams| {
            let params: EmaCrossParams = checked(p)?;
            Ok(Box::new(EmaCrossStrategy::new(params)) as Box<dyn Strategy>)
        });
}

/// `value` with `dp` decimals, for reasons. `format!("{value:.4}")` panics inside
/// `rust_decimal` when the digits do not fit its 32-byte buffer (a 28-digit value at 4
/// decimals); beyond 20 whole digits the value is rounded first and shown as it is.
pub(super) fn fixed(value: rust_decimal::Decimal, dp: u32) -> String {
    let limit = rust_decimal::Decimal::from_i128_with_scale(10i128.pow(20), 0);
    if value.abs() < limit {
        format!("{value:.prec$}", prec = dp as usize)
    } else {
        value.round_dp(dp).to_string()
    }
}

/// Parses and range-checks a kind's parameters.
fn checked<T: params::Checked>(p: &StrategyParams) -> Result<T, ParamsError> {
    params::checked(p)
}

/// Implements the fill and order-end hooks of a kind with a `retry: Retry` field.
macro_rules! retry_hooks {
    () => {
        fn on_fill(
            &mut self,
            fill: &crate::messages::OrderFilled,
            _ctx: &crate::strategy::StrategyContext<'_>,
        ) {
            self.retry.filled(fill.order.token);
        }

        fn on_order_ended(
            &mut self,
            ended: &crate::strategy::OrderEnded,
            ctx: &crate::strategy::StrategyContext<'_>,
        ) {
            self.retry.refused(ended.token, ctx.now);
        }
    };
}
pub(super) use retry_hooks;

/// The decision of a long-only kind holding `0..=quantity`, from its real position:
/// nothing while an order is in flight; a position outside the range (a short, or more
/// than `quantity`, e.g. from before a restart with other settings) is brought back into
/// it first; flat and `enter` → BUY `quantity`; long and `exit` → SELL the whole position.
pub(super) fn long_only(
    ctx: &StrategyContext<'_>,
    retry: &Retry,
    quantity: u32,
    enter: Option<String>,
    exit: Option<String>,
) -> Option<OrderIntent> {
    if ctx.has_pending() || !retry.ready(ctx.token, ctx.now) {
        return None;
    }
    let position = ctx.position();
    let quantity = i64::from(quantity);
    if position < 0 {
        return OrderIntent::towards(position, 0, "long-only: closing a short position");
    }
    if position > quantity {
        return OrderIntent::towards(position, quantity, "long-only: above its quantity");
    }
    match (position, enter, exit) {
        (0, Some(reason), _) => Some(OrderIntent::market(
            Side::Buy,
            u32::try_from(quantity).ok()?,
            reason,
        )),
        (p, _, Some(reason)) if p > 0 => OrderIntent::towards(p, 0, reason),
        _ => None,
    }
}
