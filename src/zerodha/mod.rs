//! Live execution on Zerodha, as pure domain code: what to send to Kite for a validated
//! signal, and what each answer or order-book view means for the order's lifecycle.
//!
//! The actor ([`crate::actors::zerodha_execution`]) does the I/O; everything it decides
//! is decided here, on plain values:
//!
//! - [`order_target`]: exchange and trading symbol from the instrument registry, product
//!   and variety from the strategy's settings.
//! - [`OrderRecord`]: the journal entry of one order — written *before* the placement
//!   request goes out, updated as Kite answers — and the state machine that turns Kite's
//!   view of the order (its status, its trades) into [`VenueEvent`]s, each exactly once.
//! - [`plan_slices`]: an order above the freeze quantity of its underlying becomes at
//!   most `fno.max_slices` Kite orders ([`Slice`]s of one record, one tag each); the
//!   rest of the system still sees one order ([`slicing`], [`OrderRecord`]).
//!
//! - [`positions`]: position reconciliation — our journal's positions against Kite's,
//!   and the booking of trades we did not place.
//!
//! Invariants:
//! - A record exists before its order is sent, so an order Kite might hold is always
//!   known to us; if we find a record whose placement outcome is unknown, Kite is asked
//!   (by tag) before anything else happens, and nothing is ever sent a second time.
//! - Each trade becomes one fill, in execution order; the record remembers which were
//!   published. The terminal event (failure) follows the last fill.
//! - Kite's trades carry no charges; fills carry charges estimated with the configured
//!   schedule (`paper.charges`; MIS → intraday, others → delivery). The contract note is
//!   the authority.
//!
//! [`VenueEvent`]: crate::messages::VenueEvent

pub mod positions;
#[cfg(test)]
mod positions_tests;
mod record;
mod record_events;
mod slice;
pub mod slicing;
mod target;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_slices;

pub use record::OrderRecord;
pub use slice::{CancelRequest, Outcome, Placement, Slice};
pub use slicing::{SliceRules, is_slice_tag, plan_slices, slice_tag};
pub use target::{OrderTarget, charge_column, kind_of_symbol, market_as_limit, order_target};
