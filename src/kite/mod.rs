//! Zerodha Kite Connect: the broker's wire protocols, as pure domain code (no actors, no
//! runtime, no I/O), so the market feed actor and the Kite simulator share one definition.
//!
//! - [`ticker`]: the ticker WebSocket's binary frames — decode into [`ticker::KiteTick`]s
//!   without allocating, and encode them back (for the simulator and tests).
//! - [`text`]: the ticker's JSON text frames (requests, order updates, errors).
//! - [`orders`]: Kite's product and variety.
//! - [`rest`]: the Kite Connect REST client (orders, trades, session) and its typed errors.
//! - `fake` (feature `testkit`): a fake Kite REST server on 127.0.0.1 that checks requests
//!   the way the real API does, for tests.

#[cfg(any(test, feature = "testkit"))]
pub mod fake;
pub mod orders;
pub mod rest;
pub mod text;
pub mod ticker;
