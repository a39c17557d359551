//! `alpha-panda record`: writes a running system's `market.ticks` to a JSON-lines file.

use crate::settings::Settings;
use clap::Args;
use std::path::PathBuf;

#[derive(Debug, Args)]
pub struct RecordArgs {
    /// The JSON-lines file to write (one `market.ticks` envelope per line).
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
    /// Stop after this many seconds (default: until SIGINT/SIGTERM).
    #[arg(long, value_name = "SECS")]
    pub duration: Option<u64>,
}

/// Records ticks until the duration is over or a signal arrives.
pub(super) async fn run(_settings: &Settings, _args: RecordArgs) -> anyhow::Result<u8> {
    anyhow::bail!("record: not built yet")
}
