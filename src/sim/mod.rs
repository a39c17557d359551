//! A Kite-compatible ticker simulator: the default run's market feed and the tests'
//! stand-in for Zerodha, which cannot be reached from here.

pub mod model;
pub mod pacing;
pub mod server;

pub use pacing::Pacing;
pub use server::{Simulator, SimulatorOptions, SimulatorStatus};
