//! Zerodha execution: `zerodha.signals.validated` in; real orders on Kite Connect;
//! `zerodha.orders.submitted|filled|failed` out.
//!
//! For each validated signal:
//! 1. the order's journal entry is created in the store (`zerodha:order:{client order
//!    id}`, index `zerodha:orders:open`) with one atomic `SET NX` — the dedup claim on the
//!    signal id, which never expires — *before* the placement request goes out;
//! 2. a signal older than `zerodha.max_signal_age_secs`, a dry run, or a session Kite
//!    already refused is not sent (`orders.failed`, kind `not_placed`);
//! 3. `POST /orders/{variety}` carries the client order id (derived from the signal id)
//!    as its `tag`. The answer decides:
//!    - an order id → `orders.submitted`;
//!    - a 4xx → `orders.failed` (kind `rejected`) with Kite's message; a 403 token error
//!      also HALTS zerodha trading (the kill switch, and an in-process hold), stops this
//!      run from sending anything more, and says so loudly;
//!    - a 429 (after the client's own backoff retries) → not placed; the record is
//!      retried on redelivery;
//!    - a timeout or 5xx → the order may exist: it stays in flight and polling settles
//!      it by tag. If Kite still has no order with that tag `zerodha.settle_secs` after
//!      the answer was lost, it fails as `not_placed`. It is never sent a second time;
//!      should it turn up at Kite later anyway, zerodha is halted and its fills booked.
//! 4. Order updates from the ticker's text frames and a poll of `GET /orders` every
//!    `zerodha.poll_interval_ms` (while any order is in flight) move orders through their
//!    states; each new trade is published once to `orders.filled`, then a cancellation
//!    or rejection to `orders.failed`.
//!
//! An order above the freeze quantity of its underlying goes out as slices, each its own
//! Kite order and tag, under the one journal entry and the one order downstream sees
//! (`placement`, [`crate::zerodha::slicing`]).
//!
//! A redelivered signal finds the journal entry: already placed → nothing is sent;
//! placement outcome unknown (an earlier incarnation died mid-request) → looked up by
//! tag in `GET /orders`; never journaled → never sent, so placed now.
//!
//! At start-up the actor reconciles: it reads the journal's open orders, fetches Kite's
//! orders and trades, publishes what happened while it was down (each fill once), and
//! until that has succeeded the zerodha broker is held HALTED ([`TradingHolds`]) and no
//! signal is placed. It retries with backoff for as long as it takes.
//!
//! Orders still open `zerodha.order_timeout_secs` after their placement are cancelled
//! (`DELETE /orders/{variety}/{id}`); the cancellation, with any partial fill, reaches
//! the strategy as an `orders.failed` of kind `cancelled`.
//!
//! A placement never outlives its handler: it must go out before a deadline below the
//! consumer's handler timeout and within the signal's age; if the rate limits (ours or
//! Kite's 429s) allow no slot before then, the order fails once as `rate_limited` (or
//! `stale`), releasing its risk slot — it is never retried later.
//!
//! Positions are reconciled with Kite's after the start-up reconciliation and every
//! `zerodha.reconcile_interval_secs` (see `positions`): untagged trades are booked, an
//! unexplained difference halts zerodha.
//!
//! With `zerodha.dry_run = true` nothing is sent at all: each order's exact request is
//! logged and the order fails as `not_placed` ("dry run").
//!
//! [`TradingHolds`]: crate::actors::risk_manager::TradingHolds

mod actor;
mod core;
mod placement;
mod positions;
mod reconcile;
#[cfg(test)]
mod test_rig;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_positions;
#[cfg(test)]
mod tests_recovery;
#[cfg(test)]
mod tests_slices;
mod tracking;

pub use actor::{GetZerodhaStats, ReconcilePositions, ZerodhaExecution, ZerodhaExecutionArgs};
pub use core::{OPEN_INDEX, SETTLED_INDEX, ZerodhaStats};
pub use positions::{EXTERNAL_INDEX, PositionReport};
pub use reconcile::hold_until_reconciled;

pub const SERVICE: &str = "zerodha_execution";
