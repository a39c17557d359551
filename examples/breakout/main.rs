//! A user's own trading binary: the whole `alpha-panda` command line (`run`, `backtest`,
//! `config check`, `bench`, …) with one more strategy kind, `breakout` (see
//! [`strategy`]), registered beside the built-in ones.
//!
//! ```text
//! cargo run --example breakout -- config check --config config/examples/breakout.toml
//! cargo run --example breakout -- run --config config/examples/breakout.toml
//! cargo run --example breakout -- backtest --ticks /tmp/ticks.csv --config config/examples/breakout.toml
//! ```
//!
//! docs/STRATEGIES.md walks through writing, testing and running such a strategy.

mod strategy;

use alpha_panda::Daemon;
use std::process::ExitCode;

fn main() -> ExitCode {
    Daemon::builder()
        .strategy(strategy::KIND, strategy::factory)
        .run()
}
