//! The risk manager: `{broker}.signals.raw` in, `{broker}.signals.validated` or
//! `{broker}.signals.rejected` out, with every failed rule's code.
//!
//! It also consumes `market.ticks` (last prices for the price band) and
//! `{broker}.orders.filled` / `.failed` (positions, the daily loss limit, open orders). State
//! is kept separately per broker ([`crate::risk::BrokerRisk`]); paper and zerodha never mix.
//! Each broker's state is saved to the store (`{broker}:risk`, one key — never a scan) after
//! every change and read back when the actor starts, so a restart resumes with the same
//! positions, counters and trading state. A record is complete only once its outputs are
//! published and the state is saved.
//!
//! Besides the kill switch ([`SetTradingState`]), other services may hold a broker HALTED
//! for a while ([`TradingHolds`]): Zerodha execution does until it has reconciled with
//! Kite at start-up.

mod actor;
mod holds;
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

/// The store index of risk states.
pub const STATE_INDEX: &str = "risk:states";
