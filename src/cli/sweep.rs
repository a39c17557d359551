//! `alpha-panda backtest --sweep SPEC`: see [`crate::backtest::sweep`].
//!
//! A malformed spec, or a name no enabled strategy takes, exits 2 before anything runs; a
//! combination the configuration rules refuse is a `refused` row; a combination whose run
//! failed is a `failed` row and makes the exit code 1 (the table is still written).

use crate::backtest::sweep::{self, Outcome, Plan, Row, SweepJob, spec};
use crate::backtest::ticks::{self, TickOptions};
use crate::market::instruments::InstrumentRegistry;
use crate::settings::Settings;
use crate::strategy::StrategyRegistry;
use anyhow::{Context as _, bail};
use std::io::Write as _;
use std::path::Path;
use std::time::Instant;

/// How many ranked rows the summary on standard output shows.
const SUMMARY_ROWS: usize = 5;

/// What a sweep takes from `alpha-panda backtest`'s arguments.
pub(super) struct SweepArgs<'a> {
    /// `--ticks` (a sweep needs a tick file).
    pub ticks: Option<&'a Path>,
    pub seed: u64,
    /// `--jobs`; `None`: every core.
    pub jobs: Option<std::num::NonZeroUsize>,
    /// `--sweep-reports`.
    pub sweep_reports: bool,
    pub out: &'a Path,
}

/// Runs the sweep of `spec` over `settings` (the backtest settings) and writes its table.
pub(super) fn run(
    settings: &Settings,
    registry: &InstrumentRegistry,
    strategies: &StrategyRegistry,
    args: &SweepArgs<'_>,
    spec_text: &str,
) -> anyhow::Result<u8> {
    // Candle input is not swept yet: each worker reads a tick file (docs/BACKTEST.md).
    let Some(tick_file) = args.ticks else {
        bail!("--sweep runs on a tick file: give --ticks FILE (candle files are not swept yet)");
    };
    if tick_file == Path::new(ticks::STDIN_NAME) {
        bail!("--sweep reads the tick file once per combination: give a file, not standard input");
    }
    // Refuse a missing or irregular file once, before every worker would.
    ticks::open_input(tick_file, TickOptions::with_registry(args.seed, registry))?;
    let plan = match spec::parse(spec_text).and_then(|axes| Plan::new(axes, settings, strategies)) {
        Ok(plan) => plan,
        Err(e) => {
            let _ = writeln!(std::io::stderr(), "error: {e}");
            return Ok(super::EXIT_CONFIG);
        }
    };
    let jobs = args.jobs.map_or_else(
        || std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get),
        std::num::NonZeroUsize::get,
    );
    let total = plan.combinations().len();
    let _ = writeln!(
        std::io::stderr(),
        "sweep: {total} combinations on {} threads",
        jobs.min(total)
    );
    let job = SweepJob {
        settings,
        registry,
        strategies,
        ticks: tick_file,
        seed: args.seed,
        jobs,
        reports: args.sweep_reports.then(|| args.out.join("runs")),
    };
    let started = Instant::now();
    let mut done = 0;
    let rows = sweep::run::run(&job, &plan, |row| {
        done += 1;
        let line = progress_line(&plan, row);
        let _ = writeln!(std::io::stderr(), "[{done}/{total}] {line}");
    });
    let wall = started.elapsed();
    let title = format!(
        "Sweep `{spec_text}` of {}, seed {}",
        tick_file.display(),
        args.seed
    );
    sweep::write_outputs(args.out, &plan, &rows, &title)
        .with_context(|| format!("writing the sweep table to {}", args.out.display()))?;
    print_summary(&plan, &rows, wall.as_secs_f64(), jobs.min(total), args.out);
    let failed = rows.iter().any(|r| matches!(r.outcome, Outcome::Failed(_)));
    Ok(if failed { super::EXIT_FAILURE } else { 0 })
}

fn progress_line(plan: &Plan, row: &Row) -> String {
    let what = plan.describe(&row.combination);
    let secs = row.elapsed.as_secs_f64();
    match &row.outcome {
        Outcome::Ran(f) => format!(
            "{what}: net P&L {}, {} fills ({secs:.2} s)",
            f.net_pnl, f.fills
        ),
        Outcome::Refused(why) => format!("{what}: refused: {why}"),
        Outcome::Failed(why) => format!("{what}: failed: {why}"),
    }
}

fn print_summary(plan: &Plan, rows: &[Row], wall_secs: f64, threads: usize, out: &Path) {
    let mut stdout = std::io::stdout();
    for (rank, row) in sweep::table::ranked(rows)
        .into_iter()
        .take(SUMMARY_ROWS)
        .enumerate()
    {
        if let Outcome::Ran(f) = &row.outcome {
            let _ = writeln!(
                stdout,
                "#{} {}: net P&L {}, max drawdown {}, {} fills",
                rank + 1,
                plan.describe(&row.combination),
                f.net_pnl,
                f.max_drawdown,
                f.fills
            );
        }
    }
    let count = |p: fn(&Outcome) -> bool| rows.iter().filter(|r| p(&r.outcome)).count();
    let _ = writeln!(
        stdout,
        "sweep: {} combinations ({} ran, {} refused, {} failed) in {wall_secs:.2} s on {threads} threads; table in {}",
        rows.len(),
        count(|o| matches!(o, Outcome::Ran(_))),
        count(|o| matches!(o, Outcome::Refused(_))),
        count(|o| matches!(o, Outcome::Failed(_))),
        out.join(sweep::SWEEP_CSV).display()
    );
}
