//! The risk engine: decides whether a strategy's [`TradingSignal`] may reach execution.
//!
//! What: one [`BrokerRisk`] per broker namespace holds that broker's state — net positions
//! per (strategy, instrument) from fills, last tick prices, the IST day's validated-signal
//! counts and realized P&L, the open-order count and the kill switch ([`TradingState`]) —
//! and applies that broker's [`RiskLimits`]. [`BrokerRisk::check`] returns every rule a
//! signal fails, each as a [`Rejection`] with a stable [`RejectionCode`] and a message with
//! the numbers. Besides the limits it applies the market's own rules ([`MarketRules`]).
//!
//! Why separate from the actor: the rules are pure decisions over owned state, so they are
//! tested table-style without Kafka, benchmarked on their own, and snapshotted to Redis
//! ([`RiskSnapshot`]) by whoever owns the I/O. This module imports nothing from actix,
//! tokio, rdkafka or redis and reads no clock: every time-dependent call takes `at`.
//!
//! Invariants:
//! - Paper and zerodha never share state: each [`BrokerRisk`] ignores the other's events.
//! - Money is `Decimal` end to end; arithmetic saturates, nothing panics.
//! - HALTED refuses everything and only [`BrokerRisk::set_state`] lifts it; a new IST day
//!   resets daily counters but not the state. The daily loss limit, once reached, halts the
//!   broker (reported once, by [`BrokerRisk::on_fill`]) and refuses new exposure for the
//!   rest of the day even if the operator re-activates; reducing orders still pass it.
//! - Position rules see real positions from fills, not pending orders.
//! - The market's rules ([`MarketRules`]: tick and lot sizes, the MIS entry cutoff) come
//!   from configuration with the limits and are not part of the snapshot. Off-grid prices
//!   and part lots are refused, never rounded.
//!
//! [`TradingSignal`]: crate::messages::TradingSignal
//! [`Rejection`]: crate::messages::Rejection
//! [`RejectionCode`]: crate::messages::RejectionCode

mod book;
mod engine;
mod limits;
mod market_rules;
mod rules;
mod snapshot;

#[cfg(test)]
mod test_support;
#[cfg(test)]
mod tests_book;
#[cfg(test)]
mod tests_isolation;
#[cfg(test)]
mod tests_limits;
#[cfg(test)]
mod tests_market;
#[cfg(test)]
mod tests_rules;
#[cfg(test)]
mod tests_state;

pub use engine::{BrokerRisk, LossLimitBreach, TradingState};
pub use limits::RiskLimits;
pub use market_rules::{MarketRules, ProductRule};
pub use snapshot::{LastPrice, PositionRecord, RiskSnapshot};
