//! `alpha-panda bench`: runs the pipeline under a fixed open-loop tick rate and prints the
//! latency, throughput and loss report (see [`crate::bench`]) as JSON.

use crate::actors::market_feed;
use crate::bench::{self, BenchOptions};
use crate::settings::{Settings, Subscription};
use anyhow::Context as _;
use clap::Args;
use std::io::Write as _;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, Args)]
pub struct BenchArgs {
    /// Ticks a second, in total over the subscribed instruments (open loop: sent on a fixed
    /// schedule whatever the pipeline does).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    pub rate: u32,
    /// Seconds measured (after the warm-up).
    #[arg(long, value_name = "SECS")]
    pub duration: u64,
    /// Seconds of load before measuring; chains started then are not measured.
    #[arg(long, value_name = "SECS", default_value_t = 5)]
    pub warmup: u64,
    /// Also write the JSON report to this file.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Instruments to stream, `SYMBOL:mode` comma-separated (e.g. `RELIANCE:full,INFY:quote`).
    /// Default: every tradable instrument of the registry in quote mode.
    #[arg(long, value_name = "LIST", value_delimiter = ',')]
    pub subscriptions: Vec<Subscription>,
}

/// Runs the benchmark and prints its report; exit 0 once the report is out.
pub(super) async fn run(settings: &Settings, args: BenchArgs) -> anyhow::Result<u8> {
    let targets = if args.subscriptions.is_empty() {
        Vec::new()
    } else {
        let registry = settings.instruments.load_registry()?;
        market_feed::resolve_targets(&args.subscriptions, &registry).map_err(anyhow::Error::msg)?
    };
    let options = BenchOptions {
        rate: args.rate,
        duration: Duration::from_secs(args.duration),
        warmup: Duration::from_secs(args.warmup),
        targets,
    };
    tracing::info!(rate = options.rate, ?options.duration, ?options.warmup, "benchmark starting");
    let report = bench::run(settings, options).await.context("benchmark")?;
    let json = serde_json::to_string_pretty(&report)?;
    if let Some(path) = &args.out {
        std::fs::write(path, format!("{json}\n"))
            .with_context(|| format!("writing {}", path.display()))?;
    }
    // A closed stdout (`| head`) must not fail a finished run.
    let _ = writeln!(std::io::stdout(), "{json}");
    Ok(0)
}
