//! `alpha-panda history fetch`: Kite's historical candles of some instruments into candle
//! files ([`crate::market::candles`] format), resumable.
//!
//! On disk, in `--out`:
//! - one file per instrument, `{EXCHANGE}_{SYMBOL}_{token}_{interval}_{from}_{to}.csv`
//!   (characters other than letters, digits, `-` and `.` become `_`), written only when every
//!   chunk of the range is in: temp file, fsync, rename, directory fsync, as the instrument
//!   master cache does — so a file under that name is always complete;
//! - while an instrument is in progress, its chunks as
//!   `.parts/{that name without .csv}/{first day}_{last day}.csv`, each written the same
//!   atomic way the moment its answer is in and checked. They are merged (re-read and
//!   checked, concatenated in order) into the instrument's file, then removed.
//!
//! Resume: a rerun skips an instrument whose file exists and a chunk whose part exists; an
//! interruption (Ctrl-C, a crash, a failed request) costs at most the chunks in flight.
//! A chunk that failed (Kite's refusal, retries exhausted, a malformed answer) leaves no
//! part: the command stops with the error naming the request and exits 1; the rerun fetches
//! it again. Caveat: a range reaching today stores today's chunk as complete; fetch up to
//! yesterday, or delete that part to refetch.
//!
//! Instruments are `EXCHANGE:SYMBOL` (or a symbol the registry knows) and subscription
//! rules without ATM (`NIFTY:FUT:current_month`, `NIFTY:CE:26000:2026-01-29`), resolved
//! against the instrument registry for the IST day `--date` (default today). Credentials are
//! `instruments sync`'s.

use super::EXIT_FAILURE;
use crate::kite::rest::historical::{Chunk, RetryPolicy, chunks};
use crate::kite::rest::{HistoricalClient, HistoryError, HistoryQuery, KiteClient};
use crate::market::candles::{self, CandleReader, Interval};
use crate::market::{ChainRule, InstrumentRegistry, OptionChains, RuleInputs};
use crate::settings::Settings;
use anyhow::Context as _;
use chrono::NaiveDate;
use clap::{Args, Subcommand};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::fs;
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};
use thiserror::Error;

#[derive(Debug, Subcommand)]
pub enum HistoryCommand {
    /// Download Kite's historical candles into candle files (resumable; docs/MARKET_DATA.md).
    Fetch(FetchArgs),
}

#[derive(Debug, Args)]
pub struct FetchArgs {
    /// Comma-separated instruments: `NSE:INFY`, or rules like `NIFTY:FUT:current_month`.
    #[arg(long, value_delimiter = ',', required = true)]
    pub instruments: Vec<String>,
    /// minute, 3minute, 5minute, 10minute, 15minute, 30minute, 60minute or day.
    #[arg(long, default_value = "minute")]
    pub interval: Interval,
    /// First IST day (YYYY-MM-DD).
    #[arg(long)]
    pub from: NaiveDate,
    /// Last IST day, included (YYYY-MM-DD).
    #[arg(long)]
    pub to: NaiveDate,
    /// Output directory (created if missing).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Ask for continuous data (expired futures stitched; `continuous=1`).
    #[arg(long)]
    pub continuous: bool,
    /// Ask for open interest (`oi=1`); the `oi` column is empty without it.
    #[arg(long)]
    pub oi: bool,
    /// The IST day rules are resolved for (default: today).
    #[arg(long, value_name = "YYYY-MM-DD")]
    pub date: Option<NaiveDate>,
}

/// One instrument to fetch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Job {
    /// `EXCHANGE:SYMBOL`.
    pub key: String,
    pub query: HistoryQuery,
}

/// Why a fetch stopped.
#[derive(Debug, Error)]
pub enum FetchError {
    #[error("{0}")]
    Request(#[from] HistoryError),
    #[error("{action} {}: {error}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        error: io::Error,
    },
    #[error("{}: {error}", path.display())]
    Part {
        path: PathBuf,
        error: candles::CandleFileError,
    },
}

/// What a fetch did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FetchSummary {
    /// Instrument files written by this run.
    pub written: Vec<PathBuf>,
    /// Instruments whose file was already complete.
    pub skipped_instruments: usize,
    /// Chunks requested (each one answered) by this run.
    pub fetched_chunks: usize,
    /// Chunks found on disk from an earlier run.
    pub resumed_chunks: usize,
}

pub(super) async fn dispatch(command: HistoryCommand, settings: &Settings) -> anyhow::Result<u8> {
    match command {
        HistoryCommand::Fetch(args) => fetch_command(settings, args).await,
    }
}

async fn fetch_command(settings: &Settings, args: FetchArgs) -> anyhow::Result<u8> {
    if args.from > args.to {
        anyhow::bail!("--from {} is after --to {}", args.from, args.to);
    }
    let credentials = super::instruments::credentials(settings)
        .map_err(|why| anyhow::anyhow!("history fetch needs the Kite credentials: {why}"))?;
    let registry = super::instruments::registry_for_run(settings).await?;
    let day = args.date.unwrap_or_else(super::rules::today);
    let jobs = resolve(&registry, &args, day)?;
    let client = KiteClient::new(settings.kite_client_config(credentials))
        .context("building the Kite client")?;
    let client = HistoricalClient::new(client, RetryPolicy::default());
    let total = jobs.len() * chunks(args.interval, args.from, args.to).len();
    let bar = ProgressBar::with_draw_target(
        Some(u64::try_from(total).unwrap_or(u64::MAX)),
        ProgressDrawTarget::stderr(),
    );
    if let Ok(style) = ProgressStyle::with_template("{bar:30} {pos}/{len} chunks  {msg}  {elapsed}")
    {
        bar.set_style(style);
    }
    let range = (args.from, args.to);
    let result = fetch(&client, &jobs, range, &args.out, &mut |key: &str| {
        bar.set_message(key.to_owned());
        bar.inc(1);
    })
    .await;
    bar.finish_and_clear();
    match result {
        Ok(summary) => {
            let _ = writeln!(
                io::stdout(),
                "history: {} files written, {} already complete, {} chunks fetched, {} resumed; in {}",
                summary.written.len(),
                summary.skipped_instruments,
                summary.fetched_chunks,
                summary.resumed_chunks,
                args.out.display()
            );
            Ok(0)
        }
        Err(e) => {
            let _ = writeln!(
                io::stderr(),
                "history fetch stopped: {e}\n(what is on disk is complete; run the same command again to resume)"
            );
            Ok(EXIT_FAILURE)
        }
    }
}

/// The instruments of `args`, in order, without repeats.
///
/// # Errors
/// Every entry the registry does not know or whose rule does not resolve, at once.
pub fn resolve(
    registry: &InstrumentRegistry,
    args: &FetchArgs,
    day: NaiveDate,
) -> anyhow::Result<Vec<Job>> {
    let chains = OptionChains::build(registry);
    let mut jobs: Vec<Job> = Vec::new();
    let mut problems = Vec::new();
    for entry in args
        .instruments
        .iter()
        .map(|e| e.trim())
        .filter(|e| !e.is_empty())
    {
        let tokens = if ChainRule::looks_like_rule(entry) {
            entry.parse::<ChainRule>().and_then(|rule| {
                let inputs = RuleInputs {
                    today: day,
                    price: None,
                };
                rule.resolve(&chains, inputs)
            })
        } else {
            registry
                .by_symbol(entry)
                .map(|i| vec![i.token])
                .ok_or_else(|| "not in the instrument registry".to_owned())
        };
        match tokens {
            Ok(tokens) => {
                for token in tokens {
                    let Some(instrument) = registry.by_token(token) else {
                        continue;
                    };
                    if jobs.iter().any(|j| j.query.token == token) {
                        continue;
                    }
                    jobs.push(Job {
                        key: instrument.key(),
                        query: HistoryQuery {
                            token,
                            interval: args.interval,
                            continuous: args.continuous,
                            oi: args.oi,
                        },
                    });
                }
            }
            Err(why) => problems.push(format!("{entry}: {why}")),
        }
    }
    if !problems.is_empty() {
        anyhow::bail!("--instruments: {}", problems.join("; "));
    }
    Ok(jobs)
}

/// The file name stem of `job` over `range`.
pub fn file_stem(job: &Job, range: (NaiveDate, NaiveDate)) -> String {
    let safe: String = job
        .key
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '.' {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!(
        "{safe}_{}_{}_{}_{}",
        job.query.token, job.query.interval, range.0, range.1
    )
}

/// Fetches every job's range into `out` (see the module docs); `on_chunk` is called with
/// the job's key after each chunk (fetched or resumed).
///
/// # Errors
/// The first failed request (nothing of its chunk written) or file operation.
pub async fn fetch(
    client: &HistoricalClient,
    jobs: &[Job],
    range: (NaiveDate, NaiveDate),
    out: &Path,
    on_chunk: &mut dyn FnMut(&str),
) -> Result<FetchSummary, FetchError> {
    let io = |action, path: &Path| {
        let path = path.to_owned();
        move |error| FetchError::Io {
            action,
            path,
            error,
        }
    };
    fs::create_dir_all(out).map_err(io("creating", out))?;
    let mut summary = FetchSummary::default();
    let parts = chunks(
        jobs.first().map_or(Interval::Day, |j| j.query.interval),
        range.0,
        range.1,
    );
    for job in jobs {
        let stem = file_stem(job, range);
        let file = out.join(format!("{stem}.csv"));
        if file.is_file() {
            summary.skipped_instruments += 1;
            for _ in &parts {
                on_chunk(&job.key);
            }
            continue;
        }
        let dir = out.join(".parts").join(&stem);
        fs::create_dir_all(&dir).map_err(io("creating", &dir))?;
        let mut paths = Vec::with_capacity(parts.len());
        for chunk in &parts {
            let path = dir.join(part_name(*chunk));
            if path.is_file() {
                summary.resumed_chunks += 1;
            } else {
                let candles = client.candles(&job.query, *chunk).await?;
                let mut bytes = Vec::new();
                candles::write_csv(&mut bytes, &candles).map_err(io("encoding", &path))?;
                write_atomically(&path, &bytes).map_err(io("writing", &path))?;
                summary.fetched_chunks += 1;
            }
            on_chunk(&job.key);
            paths.push(path);
        }
        let merged = merge(&paths)?;
        write_atomically(&file, &merged).map_err(io("writing", &file))?;
        fs::remove_dir_all(&dir).map_err(io("removing", &dir))?;
        summary.written.push(file);
    }
    // The parts directory is empty once every instrument is complete.
    let _ = fs::remove_dir(out.join(".parts"));
    Ok(summary)
}

fn part_name(chunk: Chunk) -> String {
    format!("{}_{}.csv", chunk.first_day(), chunk.last_day())
}

/// The parts' candles, re-read and checked, in order, under one header. Each part holds
/// strictly increasing times and the parts cover consecutive days, so the result does too
/// (the reader checks each part; the join is checked here).
fn merge(paths: &[PathBuf]) -> Result<Vec<u8>, FetchError> {
    let mut out = Vec::new();
    let mut rows = Vec::new();
    let mut last = None;
    for path in paths {
        let bytes = fs::read(path).map_err(|error| FetchError::Io {
            action: "reading",
            path: path.clone(),
            error,
        })?;
        let part = |error| FetchError::Part {
            path: path.clone(),
            error,
        };
        for candle in CandleReader::new(bytes.as_slice()).map_err(part)? {
            let candle = candle.map_err(part)?;
            if last.is_some_and(|t| candle.start <= t) {
                return Err(part(candles::CandleFileError::Line {
                    line: 0,
                    field: "timestamp",
                    message: "overlaps the previous part".into(),
                }));
            }
            last = Some(candle.start);
            rows.push(candle);
        }
    }
    candles::write_csv(&mut out, &rows).map_err(|error| FetchError::Io {
        action: "encoding",
        path: PathBuf::new(),
        error,
    })?;
    Ok(out)
}

/// Temp file in the same directory, fsync, rename, directory fsync.
fn write_atomically(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let temp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    let written = (|| {
        let mut file = fs::File::create(&temp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        fs::rename(&temp, path)
    })();
    if written.is_err() {
        let _ = fs::remove_file(&temp);
    }
    written?;
    // Make the rename durable; some file systems refuse to sync a directory.
    if let Ok(dir) = fs::File::open(dir) {
        let _ = dir.sync_all();
    }
    Ok(())
}

#[cfg(test)]
#[path = "history_tests.rs"]
mod tests;
