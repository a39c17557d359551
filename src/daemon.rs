//! The public entry point for a user's own binary: the whole `alpha-panda` command line
//! (settings, `run`, `backtest`, `bench`, `config check`, the API, supervision) with the
//! user's strategy kinds registered beside the built-in ones.
//!
//! ```no_run
//! use alpha_panda::Daemon;
//! use alpha_panda::strategy::{Strategy, StrategyParams, ParamsError};
//! # fn breakout(_: &StrategyParams) -> Result<Box<dyn Strategy>, ParamsError> { unimplemented!() }
//!
//! fn main() -> std::process::ExitCode {
//!     Daemon::builder().strategy("breakout", breakout).run()
//! }
//! ```
//!
//! A configured strategy then names the kind: `params = { kind = "breakout", ... }`, and
//! `config check` reports the factory's problems with every other one.

use crate::strategy::{StrategyFactory, StrategyRegistry};
use std::process::ExitCode;

/// The daemon as a library.
pub struct Daemon;

impl Daemon {
    /// A builder with the built-in strategy kinds.
    pub fn builder() -> DaemonBuilder {
        DaemonBuilder {
            strategies: StrategyRegistry::builtin(),
        }
    }
}

/// Adds strategy kinds, then runs the command line.
pub struct DaemonBuilder {
    strategies: StrategyRegistry,
}

impl DaemonBuilder {
    /// Registers the strategy kind `kind` (replacing a built-in of the same name).
    pub fn strategy(mut self, kind: &str, factory: impl StrategyFactory + 'static) -> Self {
        self.strategies.register(kind, factory);
        self
    }

    /// The registry built so far (for tests and embedding).
    pub fn strategies(&self) -> &StrategyRegistry {
        &self.strategies
    }

    /// Parses the process's command line and runs it; the answer is the exit code
    /// (documented in [`crate::cli`]).
    pub fn run(self) -> ExitCode {
        crate::cli::main_with(&self.strategies)
    }
}
