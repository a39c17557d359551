//! `ema_cross`: long/short EMA crossover on the mid price. Exact behaviour (a backtest
//! benchmark reproduces it):
//!
//! - On every tick, mid = (best bid + best ask) / 2 when both are present, else
//!   `last_price`; the fast and slow EMAs ([`Ema`]: periods `fast`, `slow`) take the mid.
//! - Signals start once the slow EMA has seen `slow` inputs (the `slow`-th tick of a token
//!   is the first that can trade). Signal +1 if fast > slow, −1 if fast < slow, unchanged
//!   if equal (so equal EMAs before any signal leave the strategy flat).
//! - Target position = `quantity` × signal. While no order of the instrument is in flight
//!   and the real position differs from the target, ONE market order for the difference:
//!   `quantity` from flat, 2 × `quantity` on a flip when every order fills. A refused order
//!   leaves the position where it was; a later tick tries again after the kinds' back-off
//!   ([`crate::strategy::Retry`]). Once the venue refuses a short (`shorting_not_allowed`), targets
//!   below zero become flat for the rest of the run: the strategy exits its long instead of
//!   holding it against its signal.

use super::fixed;
use super::params::EmaCrossParams;
use crate::messages::{MarketTick, OrderFailureKind, OrderFilled};
use crate::strategy::Retry;
use crate::strategy::indicators::Ema;
use crate::strategy::{Decision, EndKind, OrderEnded, OrderIntent, Strategy, StrategyContext};
use rust_decimal::Decimal;
use std::cmp::Ordering;
use std::collections::HashMap;

/// The `ema_cross` strategy; see the module docs.
#[derive(Debug, Clone)]
pub struct EmaCrossStrategy {
    params: EmaCrossParams,
    tokens: HashMap<u32, TokenState>,
    retry: Retry,
    /// The venue refused a short: targets below zero become flat from then on.
    shorts_refused: bool,
}

#[derive(Debug, Clone)]
struct TokenState {
    fast: Ema,
    slow: Ema,
    /// −1, 0 (before the first signal) or +1.
    signal: i8,
}

impl EmaCrossStrategy {
    /// An EMA crossover with `fast` and `slow` periods (clamped to at least 1).
    pub fn new(params: EmaCrossParams) -> Self {
        EmaCrossStrategy {
            params,
            tokens: HashMap::new(),
            retry: Retry::default(),
            shorts_refused: false,
        }
    }
}

/// The mid of the best bid and ask when both are present, else the last price; `None`
/// when the sum of bid and ask is beyond `Decimal`'s range (no price the door lets in).
pub(super) fn mid_price(tick: &MarketTick) -> Option<Decimal> {
    match (tick.best_bid(), tick.best_ask()) {
        (Some(bid), Some(ask)) => bid.checked_add(ask).map(|sum| sum / Decimal::TWO),
        _ => Some(tick.last_price),
    }
}

/// The new signal: +1 if fast > slow, −1 if fast < slow, `previous` if equal.
pub(super) fn next_signal(previous: i8, fast: Decimal, slow: Decimal) -> i8 {
    match fast.cmp(&slow) {
        Ordering::Greater => 1,
        Ordering::Less => -1,
        Ordering::Equal => previous,
    }
}

impl Strategy for EmaCrossStrategy {
    fn on_fill(&mut self, fill: &OrderFilled, _ctx: &StrategyContext<'_>) {
        self.retry.filled(fill.order.token);
    }

    fn on_order_ended(&mut self, ended: &OrderEnded, ctx: &StrategyContext<'_>) {
        self.retry.refused(ended.token, ctx.now);
        let short_refused = ended.kind
            == (EndKind::Failed {
                failure: OrderFailureKind::ShortingNotAllowed,
            });
        if short_refused && !self.shorts_refused {
            tracing::warn!(strategy = ctx.strategy_id, broker = %ctx.broker, "the venue refuses shorts: ema_cross goes flat instead of short from now on");
            self.shorts_refused = true;
        }
    }

    fn on_tick(&mut self, tick: &MarketTick, ctx: &StrategyContext<'_>) -> Decision {
        let EmaCrossParams {
            fast: fast_period,
            slow: slow_period,
            quantity,
        } = self.params;
        let state = self.tokens.entry(tick.token).or_insert_with(|| TokenState {
            fast: Ema::new(fast_period),
            slow: Ema::new(slow_period),
            signal: 0,
        });
        let Some(mid) = mid_price(tick) else {
            tracing::warn!(
                strategy = ctx.strategy_id,
                token = tick.token,
                "ema_cross: mid price overflows; no signal"
            );
            return Ok(None);
        };
        let (Some(fast), Some(slow)) = (state.fast.update(mid), state.slow.update(mid)) else {
            return Ok(None);
        };
        let warm = u64::try_from(slow_period.max(1)).unwrap_or(u64::MAX);
        if state.slow.count() < warm {
            return Ok(None);
        }
        state.signal = next_signal(state.signal, fast, slow);
        if ctx.has_pending() || !self.retry.ready(tick.token, ctx.now) {
            return Ok(None);
        }
        // A u32 times −1, 0 or 1: always fits.
        let mut target = i64::from(quantity) * i64::from(state.signal);
        if self.shorts_refused {
            target = target.max(0);
        }
        let position = ctx.position();
        // Most ticks trade nothing: the reason is formatted only for an order.
        if position == target {
            return Ok(None);
        }
        let reason = format!(
            "ema{fast_period} {} vs ema{slow_period} {}: target {target}",
            fixed(fast, 4),
            fixed(slow, 4)
        );
        Ok(OrderIntent::towards(position, target, reason))
    }
}
