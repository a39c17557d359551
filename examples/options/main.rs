//! A user's own trading binary with an options strategy: the whole `alpha-panda` command
//! line with one more strategy kind, `short_straddle` (see [`strategy`]), which sells the
//! call and the put a subscription rule picks (`NIFTY:CE,PE:ATM:current_week`) in lots,
//! each leg with its own stop.
//!
//! ```text
//! cargo run --example options -- config check --config config/examples/options.toml
//! cargo run --example options -- run --config config/examples/options.toml
//! ```
//!
//! docs/TRADING.md ("Futures and options") walks through it.

mod strategy;

use alpha_panda::Daemon;
use std::process::ExitCode;

fn main() -> ExitCode {
    Daemon::builder()
        .strategy(strategy::KIND, strategy::factory)
        .run()
}
