//! Runs a sweep's combinations on a pool of OS threads, one backtest at a time per thread.
//!
//! Why threads, not child processes: the engine keeps no process-wide state that a run
//! reads (its actors live on the current actix system, which is per thread; the global
//! Prometheus counters are only written), so each worker gives every combination a fresh
//! actix system of its own and runs the same [`engine::run`] a single backtest runs. A
//! combination's result depends only on its settings, the tick file and the seed: which
//! worker ran it, and when, changes nothing. Each worker reads the tick file itself.
//!
//! Results arrive in completion order; [`run`] returns them sorted by combination number.

use super::plan::{Combination, Plan};
use crate::backtest::engine::{self, RunOptions};
use crate::backtest::report;
use crate::backtest::ticks::{self, TickOptions};
use crate::market::instruments::InstrumentRegistry;
use crate::settings::Settings;
use crate::strategy::StrategyRegistry;
use rust_decimal::Decimal;
use serde::Deserialize;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// What every combination shares.
pub struct SweepJob<'a> {
    /// The backtest settings ([`engine::backtest_settings`]) the combinations change.
    pub settings: &'a Settings,
    pub registry: &'a InstrumentRegistry,
    pub strategies: &'a StrategyRegistry,
    /// The tick file (a regular file: each worker opens it).
    pub ticks: &'a Path,
    pub seed: u64,
    /// Worker threads, at least 1.
    pub jobs: usize,
    /// Where each combination's own report goes (`<dir>/<combination>`), if wanted.
    pub reports: Option<PathBuf>,
}

/// The figures of a run's total, as `report.json` states them.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Figures {
    #[serde(with = "rust_decimal::serde::str")]
    pub net_pnl: Decimal,
    #[serde(with = "rust_decimal::serde::str")]
    pub starting_equity: Decimal,
    #[serde(with = "rust_decimal::serde::str")]
    pub max_drawdown: Decimal,
    pub fills: u64,
    #[serde(with = "rust_decimal::serde::str_option")]
    pub win_rate: Option<Decimal>,
    /// `None` below the report's minimum number of days.
    pub sharpe: Option<String>,
    #[serde(with = "rust_decimal::serde::str")]
    pub charges: Decimal,
}

impl Figures {
    /// Net P&L as a percentage of the starting equity, 4 decimals; `None` without equity.
    pub fn return_pct(&self) -> Option<Decimal> {
        if self.starting_equity.is_zero() {
            return None;
        }
        self.net_pnl
            .checked_mul(Decimal::ONE_HUNDRED)?
            .checked_div(self.starting_equity)
            .map(|r| {
                // Fixed 4 decimals: the column lines up and reads the same in every row.
                let mut r = r.round_dp(4);
                r.rescale(4);
                r
            })
    }
}

/// How one combination ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Ran(Figures),
    /// Its settings break a rule (the problems).
    Refused(String),
    /// The run failed (the error).
    Failed(String),
}

/// One row of the table.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub combination: Combination,
    pub outcome: Outcome,
    /// Wall time of the run (shown in progress, never written to the table).
    pub elapsed: Duration,
}

/// Runs every combination on `job.jobs` threads, calling `done` (on this thread) as each
/// finishes; returns the rows sorted by combination number.
pub fn run(job: &SweepJob<'_>, plan: &Plan, mut done: impl FnMut(&Row)) -> Vec<Row> {
    let combinations = plan.combinations();
    let next = AtomicUsize::new(0);
    let (tx, rx) = mpsc::channel::<Row>();
    let mut rows = Vec::with_capacity(combinations.len());
    std::thread::scope(|scope| {
        for _ in 0..job.jobs.clamp(1, combinations.len().max(1)) {
            let tx = tx.clone();
            let (next, combinations) = (&next, &combinations);
            scope.spawn(move || {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(combination) = combinations.get(i) else {
                        return;
                    };
                    // A panic in one run (a bug) is that row's failure, not the sweep's end.
                    let row = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                        run_one(job, plan, combination)
                    }))
                    .unwrap_or_else(|panic| Row {
                        combination: combination.clone(),
                        outcome: Outcome::Failed(format!("panicked: {}", panic_text(&*panic))),
                        elapsed: Duration::ZERO,
                    });
                    if tx.send(row).is_err() {
                        return;
                    }
                }
            });
        }
        drop(tx);
        for row in rx {
            done(&row);
            rows.push(row);
        }
    });
    rows.sort_by_key(|r| r.combination.index);
    rows
}

fn panic_text(panic: &(dyn std::any::Any + Send)) -> &str {
    panic
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| panic.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("(no message)")
}

fn run_one(job: &SweepJob<'_>, plan: &Plan, combination: &Combination) -> Row {
    let started = Instant::now();
    let outcome = match plan.settings_for(job.settings, combination, job.strategies) {
        Err(problems) => Outcome::Refused(problems),
        Ok(settings) => {
            let reports = job
                .reports
                .as_ref()
                .map(|dir| dir.join(super::plan::dir_name(plan, combination)));
            // A fresh actix system per combination: nothing of one run outlives it.
            let system = actix::System::new();
            match system.block_on(backtest(job, &settings, reports.as_deref())) {
                Ok(figures) => Outcome::Ran(figures),
                Err(e) => Outcome::Failed(e),
            }
        }
    };
    Row {
        combination: combination.clone(),
        outcome,
        elapsed: started.elapsed(),
    }
}

/// One backtest, as `alpha-panda backtest` runs it, reduced to the total's figures.
async fn backtest(
    job: &SweepJob<'_>,
    settings: &Settings,
    reports: Option<&Path>,
) -> Result<Figures, String> {
    let shown = job.ticks.display().to_string();
    let reader = ticks::open_input(
        job.ticks,
        TickOptions::with_registry(job.seed, job.registry),
    )
    .map_err(|e| format!("{shown}: {e}"))?;
    let options = RunOptions {
        input: shown.clone(),
        seed: job.seed,
        progress: Box::new(|_| {}),
    };
    let (outcome, _stats) = engine::run(settings, job.registry, job.strategies, reader, options)
        .await
        .map_err(|e| format!("backtest of {shown}: {e}"))?;
    if let Some(dir) = reports {
        report::write_all(&outcome, dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    figures(&report::report_json(&outcome))
}

/// The total's figures out of a `report.json` document.
///
/// # Errors
/// The document has no `total` with those fields (a report format this code does not know).
pub fn figures(report_json: &str) -> Result<Figures, String> {
    #[derive(Deserialize)]
    struct Document {
        total: Figures,
    }
    serde_json::from_str::<Document>(report_json)
        .map(|d| d.total)
        .map_err(|e| format!("reading the report's total: {e}"))
}
