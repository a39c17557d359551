//! `alpha-panda bench`: the pipeline's latency and throughput, measured end to end.
//!
//! The daemon's own pipeline (feed → strategy runner → risk manager → paper execution →
//! portfolio manager, over Kafka) runs under an open-loop load from the built-in Kite
//! simulator at a fixed total tick rate ([`runner`]). A separate measuring consumer
//! ([`measurer`]) reads the ticks, signals, verdicts and fills, joins them by correlation
//! id ([`chains`]) and records each hop's latency — the difference of the records'
//! `ap-sent-ns` headers — in HDR histograms. The [`report`] gives p50, p99, p99.9 and max
//! per hop, the throughput achieved and every loss, as JSON.
//!
//! Invariants: the measurer is assigned before any load starts, so every record of the run
//! is seen; chains whose tick was sent during warm-up or drain are counted but not
//! measured; losses are counted over the whole run, after the pipeline drained.

pub mod chains;
pub mod cpu;
pub mod load;
pub mod measurer;
pub mod report;
pub mod runner;
#[cfg(test)]
mod tests;

pub use report::{BenchReport, HopStats, Hops, Loss};
pub use runner::{BenchOptions, all_tradable, bench_settings, run};

use thiserror::Error;

/// Why a benchmark could not run to its end.
#[derive(Debug, Error)]
pub enum BenchError {
    /// The benchmark's configuration or the simulator could not be set up.
    #[error("benchmark set-up: {0}")]
    Setup(String),
    /// The brokers could not be reached or read.
    #[error("kafka: {0}")]
    Kafka(String),
    /// The read-model or dedup store could not be reached.
    #[error("store: {0}")]
    Store(String),
    /// The pipeline's root supervisor gave up during the run.
    #[error("the supervision tree gave up during the run: {0}")]
    GaveUp(String),
}
