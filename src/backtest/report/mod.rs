//! The backtest report: turns the [`Outcome`] of a run into the five files of its output
//! directory — `report.json` (every figure), `fills.csv` (every fill with its realized P&L),
//! `trades.csv` (every FIFO round trip), `equity.svg` (the portfolio's equity against buy and
//! hold, and its drawdown, on a session-time axis) and `report.html` (one self-contained page
//! a trader reads: title, result, chart, days, trades, charges, exposure, positions).
//!
//! Invariants:
//! - pure and deterministic: the same outcome gives the same bytes — no clock, no hash-map
//!   order, no randomness. Floats appear only in the Sharpe and Sortino ratios and in pixel
//!   coordinates, and are always printed with a fixed number of decimals;
//! - money is exact ([`Decimal`]): decimal strings in `report.json` and the CSVs, the
//!   Indian format (`₹1,23,45,678.90`, [`money`]) for people;
//! - the realized P&L of a fill comes from replaying the strategy's fills through
//!   [`Portfolio`](crate::portfolio::Portfolio), never from netting re-implemented here;
//!   the round trips' FIFO P&L ([`trades`]) is a second, documented view, not a
//!   replacement;
//! - everything derived from fills is added up one fill at a time ([`FillFigures`],
//!   [`ledger`]), so a run that streams its fills keeps none of them.
//!
//! The metric definitions are in [`metrics`] (per strategy and total), [`curve`]
//! (drawdown, daily Sharpe and Sortino, the summed curve of the total), [`daily`] (days,
//! exposure), [`benchmark`] (buy and hold) and [`timeline`] (session time).

mod benchmark;
mod chart;
mod csv;
mod curve;
mod daily;
mod html;
mod html_tables;
mod json;
mod ledger;
mod metrics;
mod money;
mod replay;
mod stream;
mod svg;
mod text;
mod timeline;
mod title;
mod trades;

#[cfg(test)]
mod tests_metrics;
#[cfg(test)]
mod tests_render;
#[cfg(test)]
mod tests_support;

use std::path::Path;

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;

use crate::messages::{Broker, OrderFilled, PnlSnapshot};
use crate::paper::charges::ChargeSchedule;
pub use benchmark::{PricePoint, PriceRecorder, PriceSeries};
pub use ledger::FillLedger;
pub use metrics::FillFigures;
use metrics::Report;
pub use replay::{FillResult, Replay};
pub use stream::FillsWriter;

/// Everything the report is built from.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// The tick file as given on the command line (shown in the report).
    pub input: String,
    pub seed: u64,
    pub ticks: u64,
    pub first_tick: Option<DateTime<Utc>>,
    pub last_tick: Option<DateTime<Utc>>,
    /// Cash each strategy's portfolio started with.
    pub starting_cash: Decimal,
    /// One per (broker, strategy) that ran, sorted by (broker, strategy_id).
    pub strategies: Vec<StrategyOutcome>,
    /// `fills.csv` was written during the run by a [`FillsWriter`]: the fills were not
    /// kept (each strategy's `streamed` holds their figures) and [`write_all`] leaves that
    /// file alone.
    pub fills_written: bool,
    /// Each instrument's prices during the run (first tick, minute closes), by token: the
    /// benchmark's prices and the chart's session minutes.
    pub prices: Vec<PriceSeries>,
    /// The paper venue's charges: the benchmark pays its delivery column.
    pub charges: ChargeSchedule,
}

/// What one (broker, strategy) did during the run.
#[derive(Debug, Clone, PartialEq)]
pub struct StrategyOutcome {
    pub broker: Broker,
    pub strategy_id: String,
    /// Its kind (`ema_cross`…), shown in the report's title.
    pub kind: String,
    /// Raw signals the strategy emitted.
    pub signals: u64,
    /// Signals the risk manager rejected.
    pub rejected: u64,
    /// Orders placed at the venue (`OrderSubmitted` events).
    pub orders: u64,
    /// `OrderFailed` events (rejected, expired, insufficient funds...).
    pub failed_orders: u64,
    /// Every fill, in the order they happened; empty when they were streamed.
    pub fills: Vec<OrderFilled>,
    /// The figures of the fills when they were streamed to `fills.csv` instead of kept.
    pub streamed: Option<FillFigures>,
    /// The equity curve: non-decreasing `ts`; may be large (10^5..10^6 points).
    pub equity: Vec<EquityPoint>,
    /// The portfolio at the end of the run.
    pub final_portfolio: PnlSnapshot,
}

impl StrategyOutcome {
    /// How many fills the strategy had, kept or streamed.
    pub fn fill_count(&self) -> u64 {
        match &self.streamed {
            Some(figures) => figures.fills,
            None => u64::try_from(self.fills.len()).unwrap_or(u64::MAX),
        }
    }
}

/// The equity of a portfolio at an instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EquityPoint {
    pub ts: DateTime<Utc>,
    pub equity: Decimal,
}

/// File names written by [`write_all`].
pub const REPORT_JSON: &str = "report.json";
pub const FILLS_CSV: &str = "fills.csv";
pub const EQUITY_SVG: &str = "equity.svg";
pub const REPORT_HTML: &str = "report.html";
pub const TRADES_CSV: &str = "trades.csv";

/// Writes `report.json`, `fills.csv`, `trades.csv`, `equity.svg` and `report.html` into
/// `dir` (created if missing), computing the metrics once.
///
/// # Errors
/// The I/O error of creating `dir` or writing a file; files written before it stay.
pub fn write_all(outcome: &Outcome, dir: &Path) -> std::io::Result<()> {
    let report = Report::build(outcome);
    std::fs::create_dir_all(dir)?;
    std::fs::write(dir.join(REPORT_JSON), json::render(&report))?;
    if !stream::streamed(outcome) {
        std::fs::write(dir.join(FILLS_CSV), csv::render(&report))?;
    }
    std::fs::write(dir.join(TRADES_CSV), csv::render_trades(&report))?;
    std::fs::write(dir.join(EQUITY_SVG), svg::render(&report))?;
    std::fs::write(dir.join(REPORT_HTML), html::render(&report))?;
    Ok(())
}

/// The content of `report.json`: run info, then the metrics of each strategy and of the
/// total (see [`metrics`] for the definitions).
pub fn report_json(outcome: &Outcome) -> String {
    json::render(&Report::build(outcome))
}

/// The content of `fills.csv` (RFC 4180, CRLF line ends): a header, then one row per fill,
/// strategies in outcome order, fills in their order (the kept fills: none when they were
/// streamed).
pub fn fills_csv(outcome: &Outcome) -> String {
    csv::render(&Report::build(outcome))
}

/// The content of `trades.csv`: one row per FIFO round trip.
pub fn trades_csv(outcome: &Outcome) -> String {
    csv::render_trades(&Report::build(outcome))
}

/// The content of `equity.svg`: a standalone 960×620 SVG of the portfolio's equity (with the
/// buy-and-hold benchmark) and drawdown on a session-time axis.
pub fn equity_svg(outcome: &Outcome) -> String {
    svg::render(&Report::build(outcome))
}

/// The content of `report.html`: one self-contained page (no external resource).
pub fn report_html(outcome: &Outcome) -> String {
    html::render(&Report::build(outcome))
}

/// A few lines for a terminal, in the report's own words and money format: the result
/// against buy and hold, the drawdown, the ratios (or why there are none), the round trips.
/// (`alpha-panda backtest` prints its own one-line summary; this is for callers that want
/// the figures too.)
pub fn summary_text(outcome: &Outcome) -> String {
    text::summary(&Report::build(outcome))
}
