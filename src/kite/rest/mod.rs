//! The Kite Connect REST client: orders (place, modify, cancel), trades, positions,
//! holdings, the login session, the instrument master (`instruments`) and historical
//! candles ([`historical`]).
//!
//! Every request carries `X-Kite-Version: 3` and `Authorization: token KEY:TOKEN`, sends
//! its parameters form-encoded, waits at most the configured timeout, and draws on the
//! app's rate limits ([`rate`]) before it goes out. A 429 is retried after an exponential
//! backoff (it had no effect, so repeating it is safe, placements included) — within a
//! deadline where the caller gives one (a placement never outlives its handler); every other
//! error is returned typed ([`KiteError`]) for the caller to decide.
//!
//! Invariant: the access token and the API secret appear only in the `Authorization`
//! header and the session checksum — never in a URL, a log line or an error message
//! (transport errors are reported without their URL, and the URLs carry no secrets
//! anyway).

mod client;
mod error;
pub mod historical;
mod instruments;
mod portfolio;
mod quote;
pub mod rate;
mod types;

pub use client::{KiteClient, KiteClientConfig, session_checksum};
pub use error::KiteError;
pub use historical::{HistoricalClient, HistoryError, HistoryQuery};
pub use instruments::{MASTER_TIMEOUT_FLOOR, MAX_MASTER_BYTES};
pub use portfolio::{KiteHolding, KitePosition, KitePositions, ModifyParams};
pub use quote::MAX_LTP_INSTRUMENTS;
pub use rate::{Budget, RateLimiter, RateLimits};
pub use types::{
    KiteOrder, KiteTrade, OrderParams, OrderStatus, Session, ist_timestamp, order_type_name,
    side_name,
};
