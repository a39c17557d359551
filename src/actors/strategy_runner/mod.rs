//! The strategy runner: `market.ticks` in, `{broker}.signals.raw` out, and every outcome of
//! its own orders back in.
//!
//! One strategy instance per (strategy id, broker), each with its own [`Ledger`]: the real
//! position and the orders in flight per instrument, derived from the signals it sent, the
//! risk manager's rejections (`{broker}.signals.rejected`), the venue's acknowledgements,
//! fills and failures (`{broker}.orders.{submitted,filled,failed}`). A strategy reads them
//! through its context; nothing is counted from what was sent.
//!
//! Start: before any tick is handled, the ledgers are rebuilt from those topics read from
//! the beginning ([`crate::streaming::history`]): the topics, not the portfolio read model,
//! because only they know the orders in flight (a signal whose answer has not come), and
//! they are what the ledger is derived from live too, so a rebuilt ledger and a live one
//! cannot disagree. The outcomes are then followed live from exactly where the rebuild
//! stopped ([`crate::streaming::tail`]): per process, not through the shared consumer
//! group, because a runner needs the outcomes of every order of its strategies whichever
//! process's group member got their partitions. Indicators are not rebuilt: they warm up
//! from live ticks, and a strategy trades only once they are defined.
//!
//! Each strategy call runs inside `catch_unwind`: a strategy that panics or returns a
//! fault [`MAX_FAILURES`] times in a row is disabled for the run (visible in
//! `/api/v1/strategies`, metrics and readiness details), and the others keep running. An
//! operator can disable and enable a strategy ([`SetStrategyEnabled`]). A signal goes out as
//! a child of the tick's envelope (deterministic id per strategy and broker), carrying the
//! position the strategy held when it decided.
//!
//! Runtime subscriptions (`subscriptions.rs`): a strategy may subscribe instruments while it
//! runs; after the call the runner routes their ticks to it and publishes the slot's whole
//! runtime set to `market.subscriptions` for the feed; at start the sets are rebuilt from
//! that topic with the ledgers.
//!
//! The intraday day ([`IntradayArgs`], `intraday.rs`): when the square-off is due, each
//! slot whose positions are MIS sends a closing market order per open position, through
//! the same path (`{broker}.signals.raw` → risk → venue), again after a failure (with the
//! back-off), never twice while one is in flight; once entries are closed, its strategy's
//! decisions that would open or grow an MIS position are not sent. Event time in the
//! backtest, the wall clock and a timer in the daemon ([`RunnerClock`]).

mod actor;
mod intraday;
mod outcomes;
mod rebuild;
mod status;
mod subscriptions;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_subscriptions;

pub use actor::{RunnerArgs, StrategyRunner, StrategySlot};
pub use intraday::{IntradayArgs, Now, RunnerClock, WALL_CLOCK_EVERY};
pub use outcomes::outcome_routes;
pub use status::{
    GetRunnerStatus, InstrumentView, RunnerStatus, SetStrategyEnabled, StrategyView, SwitchError,
};

/// The service name, in logs, envelopes, the consumer group and the supervision tree.
pub const SERVICE: &str = "strategy_runner";

/// Consecutive failures (panics or faults) after which a strategy is disabled.
pub const MAX_FAILURES: u32 = 3;
