//! `alpha-panda backtest`: see [`crate::backtest`].

use crate::settings::Settings;
use clap::Args;
use std::path::PathBuf;

#[derive(Debug, Args)]
pub struct BacktestArgs {
    /// The tick file: CSV with the header `ts_ns,token,bid,ask,last`, or JSON lines of
    /// `market.ticks` envelopes (as `alpha-panda record` writes them).
    #[arg(long, value_name = "FILE")]
    pub ticks: PathBuf,
    /// Where the report goes (created if missing).
    #[arg(long, value_name = "DIR", default_value = "backtest-out")]
    pub out: PathBuf,
    /// Seed of everything random in the run (tick ids, the paper venue's draws).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
}

pub(super) async fn run(_settings: Settings, _args: BacktestArgs) -> anyhow::Result<u8> {
    anyhow::bail!("backtest: not built yet")
}
