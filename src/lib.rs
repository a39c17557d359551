//! alpha-panda: an actor-based algorithmic trading daemon for Indian markets.
//!
//! Map of the tree:
//!
//! - [`settings`]: the one typed configuration (`config/default.toml` < file < environment),
//!   validated at start-up.
//! - [`messages`]: the typed vocabulary carried on Kafka — the [`messages::Envelope`] and
//!   every payload (ticks, signals, orders, fills, P&L, DLQ records).
//! - [`market`]: market reference data — the instrument registry (Kite tokens, symbols,
//!   tick and lot sizes) and NSE/BSE market hours in IST. Pure domain code.
//! - [`streaming`]: everything Kafka — the topic map (the only place that names topics), the
//!   producer actor, the consumer actor with its routing table, retries and DLQ, dedup stores,
//!   the embedded broker and topic administration.
//! - [`actors`]: one module per service actor, plus the supervisor.
//! - [`kite`]: Zerodha Kite wire protocols as pure domain code — the ticker's binary frame
//!   codec (decode without allocating, encode for the simulator).
//! - [`testkit`] (feature `testkit`): probe actors for mailbox assertions in actor tests.
//! - [`cli`] and [`telemetry`]: the binary's glue.

pub mod actors;
pub mod cli;
pub mod kite;
pub mod market;
pub mod messages;
pub mod settings;
pub mod sim;
pub mod store;
pub mod streaming;
pub mod telemetry;
#[cfg(feature = "testkit")]
pub mod testkit;
