//! Parameter sweeps: `alpha-panda backtest --sweep 'fast=5..20:5,slow=20..60:10'` runs the
//! backtest once per combination of strategy parameter values, in parallel on all cores,
//! and writes a ranked table (`sweep.csv`, `sweep.md`) and, for two parameters, a heatmap
//! (`heatmap.svg`).
//!
//! - [`spec`]: the grammar (text to values);
//! - [`plan`]: names to strategies, the combinations, each combination's checked settings;
//! - [`run`]: the worker pool (one actix system per combination, on OS threads);
//! - [`table`] and [`heatmap`]: the outputs.
//!
//! Invariants: a combination's figures are those a single `backtest` with its parameters
//! and the same seed reports (same engine, same report); the outputs depend only on the
//! rows, never on scheduling or wall time, so a rerun writes the same bytes.

pub mod heatmap;
pub mod plan;
pub mod run;
pub mod spec;
pub mod table;
#[cfg(test)]
mod tests;

pub use plan::{Combination, Plan};
pub use run::{Figures, Outcome, Row, SweepJob};
pub use spec::{MAX_COMBINATIONS, ParamValue, SweepError};

use std::path::Path;

/// File names written by [`write_outputs`].
pub const SWEEP_CSV: &str = "sweep.csv";
pub const SWEEP_MD: &str = "sweep.md";
pub const HEATMAP_SVG: &str = "heatmap.svg";

/// Writes `sweep.csv`, `sweep.md` and (two parameters) `heatmap.svg` into `dir`.
///
/// # Errors
/// The I/O error of creating `dir` or writing a file.
pub fn write_outputs(dir: &Path, plan: &Plan, rows: &[Row], title: &str) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    std::fs::write(dir.join(SWEEP_CSV), table::csv(plan, rows))?;
    std::fs::write(dir.join(SWEEP_MD), table::markdown(plan, rows, title))?;
    let heatmap = dir.join(HEATMAP_SVG);
    match heatmap::render(plan, rows) {
        Some(svg) => std::fs::write(heatmap, svg)?,
        // A heatmap of an earlier two-parameter sweep into the same directory would
        // contradict this table.
        None if heatmap.exists() => std::fs::remove_file(heatmap)?,
        None => {}
    }
    Ok(())
}
