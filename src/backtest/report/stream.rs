//! `fills.csv` written while the run goes, so that a long backtest keeps no fill in memory:
//! each fill is replayed through its strategy's [`Replay`] as it happens, its row appended
//! to a part file of its strategy in the output directory, and its figures added to the
//! strategy's [`FillFigures`]. At the end the parts are joined into `fills.csv` in the
//! outcome's order (strategies sorted by (broker, strategy_id), fills in their order) and
//! removed: the bytes are those [`super::fills_csv`] gives for the same fills.
//!
//! Memory: one replay portfolio and one buffered writer per strategy, whatever the run's
//! length.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufWriter, Write as _};
use std::path::{Path, PathBuf};

use rust_decimal::Decimal;

use super::csv;
use super::metrics::FillFigures;
use super::replay::Replay;
use super::{FILLS_CSV, Outcome};
use crate::messages::{Broker, OrderFilled};

/// One strategy's part of `fills.csv`.
struct Part {
    path: PathBuf,
    out: BufWriter<File>,
    replay: Replay,
    figures: FillFigures,
}

/// Streams every fill of a run into `fills.csv` (see the module docs).
pub struct FillsWriter {
    dir: PathBuf,
    starting_cash: Decimal,
    parts: BTreeMap<(Broker, String), Part>,
    /// Reused for each row.
    row: String,
}

impl FillsWriter {
    /// A writer into `dir` (created if missing), each strategy's replay starting with
    /// `starting_cash`.
    ///
    /// # Errors
    /// Creating `dir`.
    pub fn create(dir: &Path, starting_cash: Decimal) -> std::io::Result<Self> {
        std::fs::create_dir_all(dir)?;
        Ok(FillsWriter {
            dir: dir.to_owned(),
            starting_cash,
            parts: BTreeMap::new(),
            row: String::new(),
        })
    }

    /// Replays `fill`, appends its row to its strategy's part and counts it.
    ///
    /// # Errors
    /// Creating or writing the part file.
    pub fn push(&mut self, fill: &OrderFilled) -> std::io::Result<()> {
        let order = &fill.order;
        let key = (order.broker, order.strategy_id.clone());
        let part = match self.parts.get_mut(&key) {
            Some(part) => part,
            None => {
                // Named by number: a strategy id need not be a valid file name.
                let path = self.dir.join(format!(".fills-{}.part", self.parts.len()));
                let part = Part {
                    out: BufWriter::new(File::create(&path)?),
                    path,
                    replay: Replay::new(order.broker, &order.strategy_id, self.starting_cash),
                    figures: FillFigures::default(),
                };
                self.parts.entry(key).or_insert(part)
            }
        };
        let result = part.replay.apply(fill);
        part.figures.add(fill, &result);
        self.row.clear();
        csv::push_fill(&mut self.row, fill, &result);
        part.out.write_all(self.row.as_bytes())
    }

    /// Writes `fills.csv` (the header, then each part in (broker, strategy_id) order),
    /// removes the parts and gives each strategy's figures.
    ///
    /// # Errors
    /// Writing `fills.csv` or reading a part.
    pub fn finish(self) -> std::io::Result<BTreeMap<(Broker, String), FillFigures>> {
        let mut fills = BufWriter::new(File::create(self.dir.join(FILLS_CSV))?);
        fills.write_all(csv::header().as_bytes())?;
        let mut figures = BTreeMap::new();
        for (key, part) in self.parts {
            let file = part.out.into_inner().map_err(|e| e.into_error())?;
            drop(file);
            std::io::copy(&mut File::open(&part.path)?, &mut fills)?;
            std::fs::remove_file(&part.path)?;
            figures.insert(key, part.figures);
        }
        fills.flush()?;
        Ok(figures)
    }
}

/// Whether `outcome`'s fills were streamed (`fills.csv` is written already).
pub(super) fn streamed(outcome: &Outcome) -> bool {
    outcome.fills_written
}
