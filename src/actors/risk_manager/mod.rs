//! The risk manager: `{broker}.signals.raw` in, `{broker}.signals.validated` or
//! `{broker}.signals.rejected` out, with every failed rule's code.
//!
//! It also consumes `market.ticks` (last prices for the price band) and
//! `{broker}.orders.filled` / `.failed` (positions, the daily loss limit, open orders). State
//! is kept separately per broker ([`crate::risk::BrokerRisk`]); paper and zerodha never mix.
//! Besides each broker's limits it applies the market's rules ([`crate::risk::MarketRules`],
//! given with [`RiskManager::with_market`]): prices on the instrument's tick grid, whole
//! lots, and no new MIS exposure from the entry cutoff, judged at the signal's timestamp.
//! Each broker's state is saved to the store after every change and read back when the
//! actor starts, so a restart resumes with the same positions, counters and trading state.
//! A record is complete only once its outputs are published and the state is saved.
//!
//! The state is three keys per broker, never a scan: the book at [`state_key`]
//! (`{broker}:risk`), and the most recent fill ids applied to it and raw signal ids
//! validated by it, so that redeliveries count once, in capped lists at
//! [`applied_fills_key`] and [`validated_key`]. A save writes the book and appends the new
//! ids in one step, so its cost does not grow with the ids remembered (`persist`).
//!
//! Besides the kill switch ([`SetTradingState`]), other services may hold a broker HALTED
//! for a while ([`TradingHolds`]): Zerodha execution does until it has reconciled with
//! Kite at start-up.

mod actor;
mod holds;
mod persist;
mod recent;
#[cfg(test)]
mod tests;

pub use actor::{GetTradingState, RiskManager, SetTradingState};
pub use holds::TradingHolds;

/// The service name.
pub const SERVICE: &str = "risk_manager";

/// The store key of a broker's risk state.
pub fn state_key(broker: crate::messages::Broker) -> String {
    format!("{broker}:risk")
}

/// The store key of the list of fill ids applied to a broker's risk state (oldest first,
/// the newest 5,000 kept).
pub fn applied_fills_key(broker: crate::messages::Broker) -> String {
    format!("{}:applied_fills", state_key(broker))
}

/// The store key of the list of raw signal ids a broker's risk state validated (oldest
/// first, the newest 5,000 kept).
pub fn validated_key(broker: crate::messages::Broker) -> String {
    format!("{}:validated", state_key(broker))
}

/// The store index of risk states (the books only, not their id lists).
pub const STATE_INDEX: &str = "risk:states";
