//! Paper execution: `paper.signals.validated` and `market.ticks` in;
//! `paper.orders.submitted|filled|failed` out.
//!
//! Each validated signal is claimed in the dedup store first (its envelope id, one atomic
//! step), so a redelivery never places, or fills, an order twice; a store that cannot
//! answer makes the record retry. A redelivery (after a failed publication of the first
//! attempt's outputs) re-publishes the events the placement produced — the same envelope
//! ids, which downstream dedup absorbs — so nothing is lost either. The fill model is [`crate::paper::PaperVenue`]: market
//! orders fill at the current tick, limit and stop orders rest until a tick crosses them.
//! Events are children of their cause (the signal, or the tick that filled a resting
//! order), with deterministic ids.
//!
//! Resting orders and placement events live in memory: a restart of this actor forgets
//! orders that were still open (they end without a terminal event), and a signal claimed
//! before the restart whose outputs never got out is not re-published. Fills that were
//! published are never lost — they are on the topic.

mod actor;
#[cfg(test)]
mod tests;

pub use actor::{PaperExecution, PaperExecutionArgs};

pub const SERVICE: &str = "paper_execution";
