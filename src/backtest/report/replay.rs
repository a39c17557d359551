//! Per-fill realized P&L, by replaying a strategy's fills through a fresh
//! [`Portfolio`] — the netting rules live there and only there.

use rust_decimal::Decimal;

use super::StrategyOutcome;
use crate::messages::{Broker, OrderFilled, Side};
use crate::portfolio::Portfolio;

/// What one fill did to its position.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FillResult {
    /// Realized P&L of this fill, before its fees: the position's realized P&L after it
    /// minus before it. Zero for an opening fill.
    pub realized: Decimal,
    /// The fill reduced or closed an existing position (a flip counts: its closing part).
    pub closing: bool,
}

impl FillResult {
    /// A closing fill whose realized P&L, net of the whole fill's own fees, is positive.
    /// (A flip's fees are not split between its closing and opening parts.)
    pub fn is_win(&self, fill: &OrderFilled) -> bool {
        self.closing && self.realized.saturating_sub(fill.fees.total) > Decimal::ZERO
    }
}

/// One result per fill, in fill order. A fill the portfolio refuses (another strategy's,
/// or out of decimal range) or ignores (a repeated `fill_id`) realizes nothing and does not
/// count as closing: it did not change the position.
pub(super) fn replay(strategy: &StrategyOutcome, starting_cash: Decimal) -> Vec<FillResult> {
    let mut replay = Replay::new(strategy.broker, &strategy.strategy_id, starting_cash);
    strategy
        .fills
        .iter()
        .map(|fill| replay.apply(fill))
        .collect()
}

/// The replay of one strategy's fills, one at a time (as they happen, for a report that
/// streams its fills; or all at once, [`replay`]).
#[derive(Debug, Clone)]
pub struct Replay {
    portfolio: Portfolio,
}

impl Replay {
    /// A fresh portfolio of `strategy_id` at `broker` with `starting_cash`.
    pub fn new(broker: Broker, strategy_id: &str, starting_cash: Decimal) -> Self {
        Replay {
            portfolio: Portfolio::new(broker, strategy_id, starting_cash),
        }
    }

    /// What `fill` does to its position (see [`replay`] for refused and repeated fills).
    pub fn apply(&mut self, fill: &OrderFilled) -> FillResult {
        let portfolio = &mut self.portfolio;
        let token = fill.order.token;
        let (held, realized_before) = portfolio
            .position(token)
            .map_or((0, Decimal::ZERO), |p| (p.quantity, p.realized_pnl));
        if !matches!(portfolio.apply_fill(fill), Ok(true)) {
            return FillResult {
                realized: Decimal::ZERO,
                closing: false,
            };
        }
        let realized_after = portfolio
            .position(token)
            .map_or(Decimal::ZERO, |p| p.realized_pnl);
        let reduces = match fill.order.side {
            Side::Buy => held < 0,
            Side::Sell => held > 0,
        };
        FillResult {
            realized: realized_after.saturating_sub(realized_before),
            closing: reduces,
        }
    }
}
