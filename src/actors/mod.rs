//! Service actors (one module per service) and the supervisor.

pub mod daemon;
pub mod market_feed;
pub mod supervisor;
