//! The risk engine: decides whether a strategy's [`TradingSignal`] may reach execution.
//!
//! What: one [`BrokerRisk`] per broker namespace holds that broker's state — net positions
//! per (strategy, instrument) from fills, the orders in flight, last tick prices, the IST
//! day's validated-signal counts and realized P&L, the loss limits reached, every raw
//! signal's verdict, and the kill switch ([`TradingState`]) — and applies that broker's
//! [`RiskLimits`]. [`BrokerRisk::check`] returns every rule a signal fails, each as a
//! [`Rejection`] with a stable [`RejectionCode`] and a message with the numbers. Besides
//! the limits it applies the market's own rules ([`MarketRules`]).
//!
//! Why separate from the actor: the rules are pure decisions over owned state, so they are
//! tested table-style without Kafka and benchmarked on their own. This module imports
//! nothing from actix, tokio, rdkafka or redis and reads no clock: every time-dependent
//! call takes `at`.
//!
//! Invariants:
//! - Paper and zerodha never share state: each [`BrokerRisk`] ignores the other's events.
//! - Derived, not counted: everything but the kill switch comes from events (validated and
//!   rejected signals, fills, failures), which the actor reads back from the topics at
//!   start and applies with the same functions as live; nothing derived is persisted.
//! - Money is `Decimal` end to end and netted by the one accounting core
//!   ([`crate::accounting`]); arithmetic is checked or saturates, nothing panics.
//! - Position rules count filled plus in-flight quantity in the order's direction.
//! - HALTED refuses everything and only [`BrokerRisk::set_state`] lifts it. A reached
//!   broker loss limit moves ACTIVE to REDUCING; a reached limit (the broker's or a
//!   strategy's) refuses new exposure for the rest of the IST day, but never a reducing
//!   order, so a losing position can always be closed.
//! - The market's rules ([`MarketRules`]: tick and lot sizes, freeze quantities, the MIS
//!   entry cutoff) come from configuration with the limits. Off-grid prices and part lots
//!   are refused, never rounded.
//! - The F&O limits (gross lots per underlying, premium at risk, notional) are the broker's,
//!   over every strategy, recomputed for each derivative order from positions and orders
//!   in flight; margin is out of scope.
//!
//! [`TradingSignal`]: crate::messages::TradingSignal
//! [`Rejection`]: crate::messages::Rejection
//! [`RejectionCode`]: crate::messages::RejectionCode

mod book;
mod engine;
mod exposure;
mod fno;
mod fno_exposure;
mod limits;
mod loss;
mod market_rules;
mod prices;
mod rules;
mod view;

#[cfg(test)]
mod test_support;
#[cfg(test)]
mod tests_book;
#[cfg(test)]
mod tests_exposure;
#[cfg(test)]
mod tests_fno;
#[cfg(test)]
mod tests_fno_limits;
#[cfg(test)]
mod tests_isolation;
#[cfg(test)]
mod tests_limits;
#[cfg(test)]
mod tests_loss;
#[cfg(test)]
mod tests_market;
#[cfg(test)]
mod tests_rules;
#[cfg(test)]
mod tests_state;

pub use engine::{BrokerRisk, TradingState, Verdict};
pub use fno::FnoRules;
pub use limits::{LossAction, LossBasis, RiskLimits};
pub use loss::LossLimitBreach;
pub use market_rules::{MarketRules, ProductRule};
pub use view::{OpenOrder, RiskPosition, RiskView};
