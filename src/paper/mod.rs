//! The paper venue: a deterministic simulated exchange that fills validated signals against
//! market ticks, with Zerodha's charges, for the `paper` broker namespace.
//!
//! - [`charges`]: the configurable [`ChargeSchedule`] (NSE equity MIS/CNC, futures and
//!   options defaults; the column chosen by instrument kind, then product) and the
//!   [`Fees`](crate::messages::Fees) of one execution, each charge rounded to the paisa.
//! - [`config`]: [`PaperConfig`], the fill model (slippage, partial fills, depth, latency,
//!   seed) and the simulated account, with `validate`.
//! - [`venue`]: [`PaperVenue`], orders in, [`VenueEvent`]s out; cash and positions per
//!   strategy; Kite's placement rules; DAY expiry and the order timeout. `book` prices
//!   orders against a tick (the touch, empty sides, the tick grid, resting limits).
//! - `delivery`: the CNC day of each scrip (same-day sells, the DP charge).
//! - [`square_off`]: the broker's own auto square-off of MIS positions (Zerodha's, about
//!   15:20 IST) with its charge, once per (strategy, instrument) and trading day.
//! - [`expiry`]: futures and options at expiry — cash-settled at the close of their expiry
//!   date at the underlying's last price (options at intrinsic value), one fill per open
//!   position, with the settlement charges.
//! - [`restore`]: what a restart puts back — the orders the last life left open, from the
//!   journal and the order topics.
//! - [`tradable`]: indices are not tradable; the start-up check of paper strategies.
//!
//! Why: paper trading must behave like the real venue closely enough that a strategy's
//! P&L means something (charges, slippage, partial and delayed fills), yet be exactly
//! reproducible, so tests and replays can compare outputs byte for byte.
//!
//! Invariants: pure domain code (no actors, Kafka, Redis or clocks; instants are passed
//! in); money is `Decimal`, never a float; same configuration (seed included) and same
//! inputs give the same events in the same order.

mod accounts;
mod book;
pub mod charges;
pub mod config;
mod delivery;
pub mod expiry;
pub mod restore;
pub mod square_off;
pub mod tradable;
pub mod venue;

#[cfg(test)]
mod charges_tests;
#[cfg(test)]
mod clock_tests;
#[cfg(test)]
mod config_tests;
#[cfg(test)]
mod expiry_tests;
#[cfg(test)]
mod fno_charges_tests;
#[cfg(test)]
mod realism_tests;
#[cfg(test)]
mod restart_tests;
#[cfg(test)]
mod testutil;
#[cfg(test)]
mod venue_rules_tests;
#[cfg(test)]
mod venue_tests;

pub use charges::{ChargeColumn, ChargeSchedule, FillCharge, Product, ProductCharges};
pub use config::{MAX_PRICE, PaperConfig};
pub use expiry::{Contract, ContractKind, expiry_settlement_id};
pub use restore::{
    History, JournalEntry, ORPHAN_MESSAGE, RestingOrder, Restoration, TriggerRecord, restoration,
};
pub use square_off::{auto_square_off_id, is_auto_square_off};
pub use tradable::index_problems;
pub use venue::{PaperVenue, TriggeredStop, VenueEvent};
