//! `alpha-panda backtest`: see [`crate::backtest`].
//!
//! Every problem with the tick input (not a regular file, a malformed or invalid line) is an
//! error naming the input and, for a line, its number; the command exits 1 and writes no
//! report.

use super::instruments::registry;
use crate::backtest::candles;
use crate::backtest::engine::{self, BacktestError, RunOptions};
use crate::backtest::report;
use crate::backtest::ticks::{self, TickFileError, TickOptions};
use crate::settings::Settings;
use crate::strategy::StrategyRegistry;
use anyhow::{Context as _, anyhow};
use clap::Args;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::Instant;

#[derive(Debug, Args)]
pub struct BacktestArgs {
    /// The tick file: CSV with the header `ts_ns,token,bid,ask,last`, or JSON lines of
    /// `market.ticks` envelopes (as `alpha-panda record` writes them). A regular file, or
    /// `-` for standard input (a pipe or a redirected file, not a terminal).
    #[arg(
        long,
        value_name = "FILE",
        required_unless_present = "candles",
        conflicts_with = "candles"
    )]
    pub ticks: Option<PathBuf>,
    /// Candle input instead of ticks: a candle file (`history fetch` writes them) or a
    /// directory of them, merged by time. Each bar becomes four ticks: open, the nearer of
    /// high and low, the other, close (docs/BACKTEST.md, "Candles").
    #[arg(long, value_name = "FILE|DIR")]
    pub candles: Option<PathBuf>,
    /// The bar length of the `--candles` files: minute, 3minute, …, 60minute, day.
    #[arg(long, default_value = "minute")]
    pub interval: crate::market::candles::Interval,
    /// Where the report goes (created if missing): report.json, fills.csv, trades.csv,
    /// equity.svg, report.html.
    #[arg(long, value_name = "DIR", default_value = "backtest-out")]
    pub out: PathBuf,
    /// Seed of everything random in the run: the ids of CSV ticks and the paper venue's
    /// draws (it replaces paper.seed). Same file, configuration and seed: same outputs.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Log filter of the run (a tracing directive). Default "warn": the services log every
    /// signal and fill at info, which would dwarf the report.
    #[arg(long, value_name = "LEVEL", default_value = "warn")]
    pub log_level: String,
    /// The IST day the run's contracts are taken from: the embedded registry's sample
    /// futures and options (those listed that day) and the subscription rules
    /// (`NIFTY:CE,PE:ATM:current_week`). Default: today. For ticks of another day, give
    /// their first day, so the rules pick what was listed then.
    #[arg(long, value_name = "YYYY-MM-DD")]
    pub date: Option<chrono::NaiveDate>,
    /// Parameter sweep: run once per combination of strategy parameter values, in
    /// parallel, and write a ranked table (sweep.csv, sweep.md; heatmap.svg for two
    /// parameters) to --out. `name=start..end:step` (inclusive end) or `name=a|b|c`,
    /// comma-separated; `strategy_id.name` when the bare name is ambiguous. E.g.
    /// 'fast=5..20:5,slow=20..60:10'.
    #[arg(long, value_name = "SPEC")]
    pub sweep: Option<String>,
    /// Worker threads of a sweep. Default: every core.
    #[arg(long, value_name = "N", requires = "sweep")]
    pub jobs: Option<std::num::NonZeroUsize>,
    /// With --sweep: also write each combination's own report to <out>/runs/<params>/.
    #[arg(long, requires = "sweep")]
    pub sweep_reports: bool,
}

/// Runs the backtest, writes the report and prints a one-line summary; exit 0.
pub(super) async fn run(
    settings: Settings,
    strategies: &StrategyRegistry,
    args: BacktestArgs,
) -> anyhow::Result<u8> {
    let day = args.date.unwrap_or_else(super::rules::today);
    let registry = match settings.instruments.path() {
        None => crate::market::InstrumentRegistry::embedded_on(day)?,
        Some(_) => registry(&settings, None)?,
    };
    let (settings, rules) = super::rules::resolve(&settings, &registry, day)?;
    for line in super::rules::describe(&rules) {
        let _ = writeln!(std::io::stderr(), "rule {line}");
    }
    let settings = engine::backtest_settings(&settings, args.seed);
    if let Some(spec) = &args.sweep {
        let sweep = super::sweep::SweepArgs {
            ticks: args.ticks.as_deref(),
            seed: args.seed,
            jobs: args.jobs,
            sweep_reports: args.sweep_reports,
            out: &args.out,
        };
        return super::sweep::run(&settings, &registry, strategies, &sweep, spec);
    }
    let (path, reader, ticks_checked) = input(&args, &registry)?;
    let input = path.display().to_string();
    let shown = shown_name(&path);
    let bar = progress_bar();
    let progress = {
        let bar = bar.clone();
        Box::new(move |n: u64| bar.set_position(n))
    };
    let started = Instant::now();
    let options = RunOptions {
        input: input.clone(),
        seed: args.seed,
        progress,
    };
    // The fills go to the report's fills.csv as they happen (memory flat in run length).
    let streaming = engine::Streaming {
        out: &args.out,
        ticks_checked,
    };
    let run =
        engine::run_streaming(&settings, &registry, strategies, reader, options, streaming).await;
    bar.finish_and_clear();
    let (outcome, stats) = run.map_err(|e| match e {
        BacktestError::Ticks(_) => anyhow!("{shown}: {e}"),
        _ => anyhow!(e).context(format!("backtest of {shown}")),
    })?;
    let elapsed = started.elapsed();
    report::write_all(&outcome, &args.out)
        .with_context(|| format!("writing the report to {}", args.out.display()))?;
    let fills: u64 = outcome.strategies.iter().map(|s| s.fill_count()).sum();
    let rate = outcome.ticks as f64 / elapsed.as_secs_f64().max(1e-9);
    let _ = writeln!(
        std::io::stdout(),
        "backtest: {} ticks in {:.2} s ({rate:.0} ticks/s), {} skipped outside market hours, {fills} fills, {} handler errors; report in {}",
        outcome.ticks,
        elapsed.as_secs_f64(),
        stats.skipped,
        stats.handler_errors,
        args.out.display()
    );
    // The result in the report's own words and ₹ format, for the terminal.
    let _ = write!(std::io::stdout(), "{}", report::summary_text(&outcome));
    Ok(0)
}

/// Ticks or candles, as asked: the input's path, its ticks, and whether every tick has
/// passed the door's checks already.
type Input = (
    PathBuf,
    Box<
        dyn Iterator<Item = Result<crate::messages::Envelope<crate::messages::MarketTick>, String>>,
    >,
    bool,
);

fn input(
    args: &BacktestArgs,
    registry: &crate::market::InstrumentRegistry,
) -> anyhow::Result<Input> {
    let options = TickOptions::with_registry(args.seed, registry);
    if let Some(path) = &args.candles {
        let source = candles::open(path, args.interval, options)?;
        return Ok((
            path.clone(),
            Box::new(source.map(|t| t.map_err(|e| e.to_string()))),
            false,
        ));
    }
    let path = args
        .ticks
        .clone()
        .unwrap_or_else(|| PathBuf::from(ticks::STDIN_NAME));
    let shown = shown_name(&path);
    let reader = ticks::open_input(&path, options).map_err(|e| match e {
        // A line error names only its line: say which input it is in.
        TickFileError::Line { .. } => anyhow!("{shown}: {e}"),
        // The others name the path (or standard input) already.
        _ => anyhow!(e),
    })?;
    let checked = reader.checks_every_tick();
    Ok((
        path,
        Box::new(reader.map(|t| t.map_err(|e| e.to_string()))),
        checked,
    ))
}

/// How errors name the tick input.
fn shown_name(ticks: &Path) -> String {
    if ticks == Path::new(ticks::STDIN_NAME) {
        "standard input".to_owned()
    } else {
        ticks.display().to_string()
    }
}

/// A spinner with the tick count and rate on stderr; drawn only when stderr is a terminal.
fn progress_bar() -> ProgressBar {
    let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
    let style = ProgressStyle::with_template("{spinner} {human_pos} ticks  {rate}  {elapsed}")
        .unwrap_or_else(|_| ProgressStyle::default_spinner())
        .with_key(
            "rate",
            |state: &indicatif::ProgressState, w: &mut dyn std::fmt::Write| {
                let _ = write!(w, "{:.0} ticks/s", state.per_sec());
            },
        );
    bar.set_style(style);
    bar
}
