//! Writes a synthetic CSV tick file for `alpha-panda backtest` (the throughput benchmark's
//! input): a seeded random walk of one instrument inside NSE market hours.
//!
//! ```text
//! cargo run --release --example gen_ticks -- --out ticks.csv --ticks 1000000 [--seed 1] [--token 738561] [--verify]
//! ```
//!
//! `--verify` reads the file back through the backtest's tick reader and prints its rate.

use alpha_panda::backtest::synthetic::{SyntheticOptions, write_csv};
use alpha_panda::backtest::ticks::{self, TickOptions};
use anyhow::Context as _;
use chrono::{NaiveDate, TimeZone, Utc};
use clap::Parser;
use rust_decimal::Decimal;
use std::fs::File;
use std::path::PathBuf;
use std::time::Instant;

#[derive(Debug, Parser)]
#[command(about = "Writes a synthetic CSV tick file (ts_ns,token,bid,ask,last).")]
struct Args {
    /// The CSV file to write (replaced if it exists).
    #[arg(long, value_name = "FILE")]
    out: PathBuf,
    /// Number of ticks.
    #[arg(long)]
    ticks: u64,
    /// Seed of the walk.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Kite instrument token (default RELIANCE, as in config/instruments.csv).
    #[arg(long, default_value_t = 738561)]
    token: u32,
    /// The first mid, in rupees.
    #[arg(long, default_value = "2500.00")]
    start_price: Decimal,
    /// The first trading day (IST); ticks start at its 09:15 open.
    #[arg(long, default_value = "2026-11-02")]
    start_date: NaiveDate,
    /// Read the file back through the tick reader and print the parse rate.
    #[arg(long)]
    verify: bool,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let start = args
        .start_date
        .and_hms_opt(0, 0, 0)
        .and_then(|midnight| Utc.from_local_datetime(&midnight).single())
        .context("start date out of range")?;
    let file =
        File::create(&args.out).with_context(|| format!("cannot write {}", args.out.display()))?;
    let began = Instant::now();
    let n = write_csv(
        file,
        SyntheticOptions {
            ticks: args.ticks,
            seed: args.seed,
            token: args.token,
            start_price: args.start_price,
            start,
        },
    )
    .with_context(|| format!("writing {}", args.out.display()))?;
    eprintln!(
        "wrote {n} ticks to {} in {:.2?}",
        args.out.display(),
        began.elapsed()
    );
    if args.verify {
        verify(&args.out, n)?;
    }
    Ok(())
}

/// Reads `path` back as the backtest does and prints how fast.
fn verify(path: &std::path::Path, expected: u64) -> anyhow::Result<()> {
    let began = Instant::now();
    let mut read = 0u64;
    for tick in ticks::open(path, TickOptions::default())? {
        tick?;
        read += 1;
    }
    let elapsed = began.elapsed();
    anyhow::ensure!(read == expected, "read {read} ticks back, wrote {expected}");
    eprintln!(
        "read {read} ticks back in {elapsed:.2?} ({:.0} lines/s)",
        read as f64 / elapsed.as_secs_f64().max(1e-9)
    );
    Ok(())
}
