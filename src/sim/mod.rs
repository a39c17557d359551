//! A Kite-compatible ticker simulator: the default run's market feed and the tests'
//! stand-in for Zerodha, which cannot be reached from here.
//!
//! Equities and indices follow seeded random walks ([`model`]); futures and options are
//! priced from their underlying's walk ([`contract`], [`black76`]) and keep their own
//! day of trading ([`derivative`]); [`market`] holds them all and ties each derivative to
//! its underlying; [`export`] writes its ticks as a backtest file; [`server`] speaks Kite's protocol, paced by [`pacing`].

pub mod black76;
pub mod contract;
pub mod derivative;
pub mod export;
pub mod market;
#[cfg(test)]
mod market_tests;
pub mod model;
pub mod pacing;
pub mod server;
#[cfg(test)]
mod server_tests;

pub use market::{Derivatives, Market};
pub use pacing::Pacing;
pub use server::{Simulator, SimulatorOptions, SimulatorStatus};
