//! The risk manager: `{broker}.signals.raw` in, `{broker}.signals.validated` or
//! `{broker}.signals.rejected` out, with every failed rule's code.
//!
//! It also consumes `market.ticks` (last prices for the price band and the mark-to-market
//! loss limits) and `{broker}.orders.filled` / `.failed` (positions, orders in flight, the
//! daily loss limits). State is kept separately per broker ([`crate::risk::BrokerRisk`]);
//! paper and zerodha never mix. Besides each broker's limits it applies the market's rules
//! ([`crate::risk::MarketRules`], given with [`RiskManager::with_market`]): prices on the
//! instrument's tick grid, whole lots, derivative orders within their freeze quantity ×
//! the slices allowed, and no new MIS exposure from the entry cutoff, judged at the
//! signal's timestamp. The instruments there also let the F&O limits (lots per underlying,
//! premium at risk, notional) tell futures and options apart.
//!
//! Derived, not counted: at start each broker's book is rebuilt from its topics
//! (`rebuild`: validated and rejected signals, fills, failures), so positions, orders in
//! flight, the day's counts and P&L, and every raw signal's verdict are what the events
//! say, whatever a crash interrupted. The store keeps only each broker's kill switch
//! (`persist`, [`state_key`]), which no event records. A raw signal redelivered after a
//! restart gets the verdict it got before, published again with the same id.
//!
//! A reached loss limit is announced and, with `on_loss_limit = "flatten"`, the risk
//! manager closes the scope's positions with its own market orders, published on
//! `{broker}.signals.validated`; [`Flatten`] does the same for a whole broker on the
//! operator's request.
//!
//! Besides the kill switch ([`SetTradingState`]), other services may hold a broker HALTED
//! for a while ([`TradingHolds`]): Zerodha execution does until it has reconciled with
//! Kite at start-up.

mod actor;
mod holds;
mod persist;
mod rebuild;
#[cfg(test)]
mod tests;

pub use actor::{
    Flatten, FlattenReport, GetRiskView, GetTradingState, RiskManager, SetTradingState,
};
pub use holds::TradingHolds;

/// The service name.
pub const SERVICE: &str = "risk_manager";

/// The store key of a broker's kill switch.
pub fn state_key(broker: crate::messages::Broker) -> String {
    format!("{broker}:risk")
}

/// The store index of the kill switches.
pub const STATE_INDEX: &str = "risk:states";
