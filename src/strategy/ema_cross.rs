//! `ema_cross`: long/short EMA crossover on the mid price. Exact behaviour (a backtest
//! benchmark reproduces it):
//!
//! - On every tick, mid = (best bid + best ask) / 2 when both are present, else
//!   `last_price`; the fast and slow EMAs ([`Ema`]: periods `fast`, `slow`) take the mid.
//! - Signals start once the slow EMA has seen `slow` inputs (the `slow`-th tick of a token
//!   is the first that can trade). Signal +1 if fast > slow, −1 if fast < slow, unchanged
//!   if equal (so equal EMAs before any signal leave the strategy flat).
//! - Target position = `quantity` × signal. When the target changes, ONE market order for
//!   the difference, side by its sign: `quantity` from flat, 2 × `quantity` on each flip.
//!   The position is tracked from emitted intents (see [`crate::strategy`]).

use super::indicators::Ema;
use super::{SignalIntent, Strategy};
use crate::messages::{MarketTick, Side};
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use std::cmp::Ordering;
use std::collections::HashMap;

/// The `ema_cross` strategy; see the module docs.
#[derive(Debug, Clone)]
pub struct EmaCrossStrategy {
    id: String,
    fast: usize,
    slow: usize,
    quantity: u32,
    tokens: HashMap<u32, TokenState>,
}

#[derive(Debug, Clone)]
struct TokenState {
    fast: Ema,
    slow: Ema,
    /// −1, 0 (before the first signal) or +1.
    signal: i8,
    /// Signed position implied by the intents emitted so far.
    position: i64,
}

impl EmaCrossStrategy {
    /// An EMA crossover with `fast` and `slow` periods (clamped to at least 1).
    pub fn new(id: &str, fast: usize, slow: usize, quantity: u32) -> Self {
        EmaCrossStrategy {
            id: id.to_owned(),
            fast,
            slow,
            quantity,
            tokens: HashMap::new(),
        }
    }
}

/// The mid of the best bid and ask when both are present, else the last price.
pub(super) fn mid_price(tick: &MarketTick) -> Decimal {
    match (tick.best_bid(), tick.best_ask()) {
        (Some(bid), Some(ask)) => (bid + ask) / Decimal::TWO,
        _ => tick.last_price,
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
    fn id(&self) -> &str {
        &self.id
    }

    fn on_tick(&mut self, tick: &MarketTick, _at: DateTime<Utc>) -> Option<SignalIntent> {
        let (fast_period, slow_period) = (self.fast, self.slow);
        let state = self.tokens.entry(tick.token).or_insert_with(|| TokenState {
            fast: Ema::new(fast_period),
            slow: Ema::new(slow_period),
            signal: 0,
            position: 0,
        });
        let mid = mid_price(tick);
        let fast = state.fast.update(mid)?;
        let slow = state.slow.update(mid)?;
        let warm = u64::try_from(slow_period.max(1)).unwrap_or(u64::MAX);
        if state.slow.count() < warm {
            return None;
        }
        state.signal = next_signal(state.signal, fast, slow);
        let target = i64::from(self.quantity) * i64::from(state.signal);
        let difference = target - state.position;
        // Unrepresentable only for a quantity above u32::MAX / 2, which validation refuses.
        let quantity = u32::try_from(difference.unsigned_abs()).ok()?;
        if quantity == 0 {
            return None;
        }
        state.position = target;
        let side = if difference > 0 {
            Side::Buy
        } else {
            Side::Sell
        };
        let reason =
            format!("ema{fast_period} {fast:.4} vs ema{slow_period} {slow:.4}: target {target}");
        Some(SignalIntent::market(side, quantity, reason))
    }
}
