//! The portfolio manager: `{broker}.orders.filled` and `market.ticks` in; the read model
//! in the store and `{broker}.pnl.snapshots` out.
//!
//! Positions net per (broker, strategy, instrument) in [`crate::portfolio::Book`]. Each
//! portfolio is written to the store as JSON at `{broker}:portfolio:{strategy}`, listed in
//! the index `{broker}:portfolios`. Snapshots are published when a portfolio changes, at
//! most once per `snapshot_interval` each (marks move prices every tick); a changed
//! portfolio not yet published is flushed by a timer, so the last state always goes out.
//!
//! Each portfolio keeps a trading day (IST; [`crate::portfolio::day`]): the read model's
//! `day` holds that day's realized P&L, charges, turnover and fill count, the unrealized P&L
//! and the positions carried into the day. A fill's `filled_at` and a tick's event time
//! move the day forward; when it rolls, every portfolio is rewritten once due.
//!
//! Beside each read model, a capped list holds the day's P&L curve
//! (`{broker}:pnl_curve:{strategy}`, [`crate::portfolio::curve`]): a point with a write of
//! the read model once [`CURVE_STEP`](crate::portfolio::curve::CURVE_STEP) of event time has
//! passed since the last, in the same store step.
//!
//! After a restart the book is rebuilt from the fills topics from the start (the record of
//! truth), before any message is handled: each partition up to the later of its high
//! watermark and this service's consumer group's committed offset
//! ([`crate::streaming::history::read_topics_for`]), whole or not at all — a partial history
//! fails the actor, and its supervisor restarts it. The live consumer resumes from the
//! committed offsets, so every fill is read by one or the other; fills are deduplicated by
//! fill id, so the overlap changes nothing.

mod actor;
#[cfg(test)]
mod tests;

pub use actor::{GetPortfolio, PortfolioArgs, PortfolioManager};

pub const SERVICE: &str = "portfolio_manager";

/// The read-model key of one portfolio.
pub fn portfolio_key(broker: crate::messages::Broker, strategy: &str) -> String {
    format!("{broker}:portfolio:{strategy}")
}

/// The store list of one portfolio's day P&L curve ([`crate::portfolio::curve`]).
pub fn pnl_curve_key(broker: crate::messages::Broker, strategy: &str) -> String {
    format!("{broker}:pnl_curve:{strategy}")
}

/// The read-model index of a broker's portfolios.
pub fn portfolio_index(broker: crate::messages::Broker) -> String {
    format!("{broker}:portfolios")
}
