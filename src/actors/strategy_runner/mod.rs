//! The strategy runner: `market.ticks` in, `{broker}.signals.raw` out.
//!
//! Strategies are configured instances; an index from instrument token to the strategies
//! trading it makes routing a tick O(1) in the number of strategies. Each strategy's
//! `on_tick` runs inside `catch_unwind`: a strategy that panics `MAX_FAILURES` times in a
//! row is disabled and reported, and the others keep running. A signal goes to every
//! broker the strategy targets, as a child of the tick's envelope (deterministic id per
//! strategy and broker, so a redelivered tick yields the same signal ids).

mod actor;
#[cfg(test)]
mod tests;

pub use actor::{GetRunnerStatus, RunnerStatus, StrategyRunner, StrategySlot};

/// The service name, in logs, envelopes, the consumer group and the supervision tree.
pub const SERVICE: &str = "strategy_runner";

/// Consecutive panics after which a strategy is disabled.
pub const MAX_FAILURES: u32 = 3;
