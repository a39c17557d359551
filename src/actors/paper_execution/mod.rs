//! Paper execution: `paper.signals.validated` and `market.ticks` in;
//! `paper.orders.submitted|filled|failed` out.
//!
//! Each placement is journaled in the store (`paper:order:{client order id}`, index
//! `paper:orders`: the events it produced, created atomically, with the order's product
//! and, for a future or an option, its contract) *before* anything is
//! published, so a redelivery — in this life or after a restart — never places or fills an
//! order twice: it re-publishes exactly the journaled events, with the same envelope ids,
//! which downstream dedup absorbs. A store that cannot answer makes the record retry.
//! The venue keeps a placement's events in memory only until every delivery of them is
//! acknowledged (a retry after a failed journal write or publication gets the same
//! events; after that the journal answers), and every order id for its life, so a
//! duplicate is never placed, even where the journal keeps nothing (the backtest). The fill model is [`crate::paper::PaperVenue`]: market
//! orders fill at the current tick, limit and stop orders rest until a tick crosses them.
//! Events are children of their cause (the signal, or the tick that filled a resting
//! order), with deterministic ids.
//!
//! Open orders live in the venue's memory, and a restart puts them back ([`restart`]): a
//! new life reads the journal (each entry also holds the submission time), the order
//! topics (fills on later ticks are only there; every end is there) and the trigger
//! records (`paper:trigger:{client order id}`, index `paper:triggers`, written when a
//! stop triggers and stays open), rebuilds the accounts from the fills and restores every
//! order still open with its remaining quantity, submission time and trigger state
//! ([`crate::paper::restoration`]), before it handles anything.
//!
//! The venue's clock: ticks advance it (their envelope time: event time in the backtest,
//! the feed's wall-clock stamp in the daemon). The order timeout
//! (`paper.order_timeout_secs`), the broker's auto square-off of MIS positions
//! (`market_hours.broker_square_off_at`) and the expiry settlement of futures and options
//! (15:30 IST on their expiry date, [`crate::paper::expiry`]) happen on whichever tick — of
//! any instrument — first reaches their instant. A tick may never come (a quiet instrument, the feed down
//! or disconnected at the close), so in the daemon a wall-clock sweep
//! ([`AdvanceClock`] every [`WALL_CLOCK_SWEEP`]) advances the clock too, while the wall
//! clock agrees with the ticks' (no tick yet, or the latest on today's IST date: ticks of
//! another time fed to the daemon's tree are never overtaken by it); its events are roots
//! with ids derived from the orders. The backtest has no sweep: it lives in event time,
//! and a day whose ticks end before 15:20 has no square-off.

mod actor;
pub mod restart;
#[cfg(test)]
mod tests;

pub use actor::{
    AdvanceClock, GetPaperAccount, PaperAccount, PaperExecution, PaperExecutionArgs,
    WALL_CLOCK_SWEEP,
};
pub use restart::{JOURNAL_INDEX, TRIGGER_INDEX, journal_key, trigger_key};

pub const SERVICE: &str = "paper_execution";
