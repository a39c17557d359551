//! Paper execution: `paper.signals.validated` and `market.ticks` in;
//! `paper.orders.submitted|filled|failed` out.
//!
//! Each placement is journaled in the store (`paper:order:{client order id}`, index
//! `paper:orders`: the events it produced, created atomically) *before* anything is
//! published, so a redelivery — in this life or after a restart — never places or fills an
//! order twice: it re-publishes exactly the journaled events, with the same envelope ids,
//! which downstream dedup absorbs. A store that cannot answer makes the record retry. The fill model is [`crate::paper::PaperVenue`]: market
//! orders fill at the current tick, limit and stop orders rest until a tick crosses them.
//! Events are children of their cause (the signal, or the tick that filled a resting
//! order), with deterministic ids.
//!
//! Resting (limit and stop) orders live in memory: a restart of this actor forgets orders
//! that were still open (they end without a terminal event). Market orders end at
//! placement, so their whole outcome is in the journal.

mod actor;
#[cfg(test)]
mod tests;

pub use actor::{JOURNAL_INDEX, PaperExecution, PaperExecutionArgs, journal_key};

pub const SERVICE: &str = "paper_execution";
