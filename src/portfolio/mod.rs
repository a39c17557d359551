//! Portfolio accounting: positions, cash, charges and P&L per (broker, strategy), in exact
//! decimals.
//!
//! - [`Position`]: one instrument, netted at average cost (adding moves the weighted
//!   average; reducing realizes `(exit − avg) × qty` for a long, `(avg − exit) × qty` for a
//!   short; crossing zero realizes the closed part and opens the rest at the fill price).
//! - [`Portfolio`]: one (broker, strategy): positions, cash, applied fill ids (fills are
//!   applied once), marks, and the [`PnlSnapshot`](crate::messages::PnlSnapshot) it
//!   publishes. Its JSON form is the read model.
//! - [`Book`]: every portfolio of a process, routing fills and marks; [`recompute`] rebuilds
//!   one from scratch to check a live one.
//! - [`curve`]: the day's P&L curve, a point every few seconds of event time, for the
//!   dashboard.
//! - [`day`]: each portfolio's trading day (IST), moved forward by event time only: the
//!   day's realized P&L, charges and turnover, and the positions carried into it
//!   ([`DayFigures`]).
//!
//! An expired future or option leaves through a fill like any other: the paper venue's
//! expiry settlement ([`crate::paper::expiry`]) closes it at its settlement value (0 for a
//! worthless option) with its charges, so nothing here knows about expiry.
//!
//! Conventions: realized P&L is before charges; `net_pnl = realized + unrealized −
//! charges`; `equity = cash + market value = starting_cash + net_pnl`. Money is never a
//! float, and nothing is rounded until it is shown: a partial close releases its exact
//! share of the entry value (the netting is [`crate::accounting::Net`]'s).
//!
//! Pure domain code: no I/O, clocks, actors, Kafka or Redis.

mod account;
mod book;
pub mod curve;
pub mod day;
pub mod position;

#[cfg(test)]
mod tests_book;
#[cfg(test)]
mod tests_day;
#[cfg(test)]
mod tests_expiry;
#[cfg(test)]
mod tests_netting;
#[cfg(test)]
mod tests_recompute;
#[cfg(test)]
pub(crate) mod tests_support;

pub use account::{Portfolio, ReadModel};
pub use book::{Book, recompute};
pub use day::{CarriedPosition, DayFigures};
pub use position::Position;

use crate::messages::Broker;
use thiserror::Error;

/// Why a fill could not be applied. Nothing changes when one is returned.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum PortfolioError {
    /// The fill's (broker, strategy) is not the portfolio's.
    #[error(
        "fill {fill_id} is for {broker}/{strategy_id}, not for portfolio {portfolio_broker}/{portfolio_strategy_id}"
    )]
    WrongPortfolio {
        fill_id: String,
        broker: Broker,
        strategy_id: String,
        portfolio_broker: Broker,
        portfolio_strategy_id: String,
    },
    /// A value, cash or P&L figure would exceed the decimal range (an absurd price or
    /// quantity).
    #[error("fill {fill_id}: an amount exceeds the decimal range")]
    Overflow { fill_id: String },
}
