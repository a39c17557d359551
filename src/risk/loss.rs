//! The daily loss limits: what they count and what reaching one reports.
//!
//! A limit's P&L is the day's realized P&L net of fees of its scope (the broker, or one
//! strategy) plus, on the `mark_to_market` basis, the unrealized P&L of the scope's open
//! positions at their last price (against their cost basis, so a position carried from an
//! earlier day counts its whole open gain or loss). It is judged after every fill and
//! every tick of an instrument the scope holds, so an open loss trips the limit before
//! the position is closed.

use super::engine::TradingState;
use super::prices::to_paisa;
use crate::messages::{Broker, Rejection, RejectionCode};
use chrono::NaiveDate;
use rust_decimal::Decimal;
use std::collections::BTreeSet;
use std::fmt;

/// A loss limit was reached. Returned once per scope and IST day, for the actor to
/// announce (and, with `on_loss_limit = "flatten"`, to close the scope's positions).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LossLimitBreach {
    pub broker: Broker,
    /// `None`: the broker's limit; `Some(id)`: that strategy's.
    pub strategy: Option<String>,
    /// The IST day whose loss it is.
    pub day: NaiveDate,
    /// Realized P&L of the day in the scope, net of fees.
    pub realized_pnl: Decimal,
    /// Unrealized P&L of the scope's open positions (zero on the `realized` basis).
    pub unrealized_pnl: Decimal,
    /// The configured limit, a positive amount.
    pub limit: Decimal,
    /// The broker's state before the breach.
    pub previous_state: TradingState,
    /// The broker's state after it (REDUCING if it was ACTIVE and the scope is the broker).
    pub state: TradingState,
}

impl LossLimitBreach {
    /// The breach as a `daily_loss_limit` rejection reason.
    pub fn rejection(&self) -> Rejection {
        Rejection {
            code: RejectionCode::DailyLossLimit,
            message: self.to_string(),
        }
    }

    /// Realized plus unrealized.
    pub fn pnl(&self) -> Decimal {
        self.realized_pnl.saturating_add(self.unrealized_pnl)
    }
}

impl fmt::Display for LossLimitBreach {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scope = match &self.strategy {
            Some(strategy) => format!("{} strategy {strategy}", self.broker),
            None => self.broker.to_string(),
        };
        write!(
            f,
            "{scope}: P&L {} (realized {}, unrealized {}) on {} (IST) reached the daily loss \
             limit -{}; {} -> {}",
            to_paisa(self.pnl()),
            to_paisa(self.realized_pnl),
            to_paisa(self.unrealized_pnl),
            self.day,
            self.limit,
            self.previous_state,
            self.state
        )
    }
}

/// Which scopes reached their limit on the current day.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Tripped {
    pub(crate) broker: bool,
    pub(crate) strategies: BTreeSet<String>,
}

impl Tripped {
    /// Whether new exposure of `strategy` is refused by a reached limit.
    pub(crate) fn refuses(&self, strategy: &str) -> bool {
        self.broker || self.strategies.contains(strategy)
    }
}
