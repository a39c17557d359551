//! Zerodha Kite Connect: the broker's wire protocols, as pure domain code (no actors, no
//! runtime, no I/O), so the market feed actor and the Kite simulator share one definition.
//!
//! - [`ticker`]: the ticker WebSocket's binary frames — decode into [`ticker::KiteTick`]s
//!   without allocating, and encode them back (for the simulator and tests).

pub mod text;
pub mod ticker;
