//! `report.json`: run info, each strategy's metrics and final positions, the total.
//!
//! Money, ratios (drawdown fraction, win rate) and the Sharpe ratio are strings (exact
//! decimals; the Sharpe with 6 fixed decimals); counts are integers; a figure that does not
//! exist (no closing fill, too few days) is `null`. Fields keep the order of the view
//! structs below, so the text is deterministic.

use rust_decimal::Decimal;
use serde::Serialize;

use super::benchmark::Benchmark;
use super::curve::MIN_DAYS;
use super::daily::DayRow;
use super::metrics::{Metrics, Report};
use super::{text, title};
use crate::messages::{Broker, Fees, PositionSnapshot};

#[derive(Serialize)]
struct Document<'a> {
    input: &'a str,
    seed: u64,
    ticks: u64,
    first_tick: Option<String>,
    last_tick: Option<String>,
    #[serde(with = "rust_decimal::serde::str")]
    starting_cash: Decimal,
    strategies: Vec<StrategyView<'a>>,
    total: MetricsView,
    /// The report's title line.
    title: String,
    /// Fewest daily returns `sharpe` and `sortino` are given for.
    ratio_min_days: usize,
    per_day: Vec<DayView>,
    exposure: ExposureView,
    benchmark: Option<BenchmarkView>,
}

#[derive(Serialize)]
struct DayView {
    date: String,
    fills: u64,
    #[serde(with = "rust_decimal::serde::str")]
    turnover: Decimal,
    #[serde(with = "rust_decimal::serde::str")]
    charges: Decimal,
    #[serde(with = "rust_decimal::serde::str")]
    realized_pnl: Decimal,
    #[serde(with = "rust_decimal::serde::str")]
    net_change: Decimal,
    #[serde(with = "rust_decimal::serde::str")]
    end_equity: Decimal,
    #[serde(with = "rust_decimal::serde::str")]
    drawdown: Decimal,
}

impl DayView {
    fn of(d: &DayRow) -> Self {
        Self {
            date: d.date.to_string(),
            fills: d.fills.fills,
            turnover: d.fills.turnover,
            charges: d.fills.charges,
            realized_pnl: d.fills.realized,
            net_change: d.net,
            end_equity: d.end_equity,
            drawdown: d.drawdown,
        }
    }
}

#[derive(Serialize)]
struct ExposureView {
    #[serde(with = "rust_decimal::serde::str")]
    max_gross: Decimal,
    #[serde(with = "rust_decimal::serde::str")]
    average_gross: Decimal,
    #[serde(with = "rust_decimal::serde::str_option")]
    time_in_market: Option<Decimal>,
}

#[derive(Serialize)]
struct HoldingView<'a> {
    token: u32,
    symbol: &'a str,
    quantity: u32,
    #[serde(with = "rust_decimal::serde::str")]
    entry_price: Decimal,
    #[serde(with = "rust_decimal::serde::str")]
    exit_price: Decimal,
    buy_charges: &'a Fees,
    sell_charges: &'a Fees,
}

#[derive(Serialize)]
struct BenchmarkView {
    #[serde(with = "rust_decimal::serde::str")]
    starting_equity: Decimal,
    #[serde(with = "rust_decimal::serde::str")]
    final_equity: Decimal,
    #[serde(with = "rust_decimal::serde::str")]
    net_pnl: Decimal,
    #[serde(with = "rust_decimal::serde::str")]
    charges: Decimal,
    #[serde(with = "rust_decimal::serde::str")]
    cash_left: Decimal,
    #[serde(with = "rust_decimal::serde::str")]
    max_drawdown: Decimal,
    holdings: serde_json::Value,
}

impl BenchmarkView {
    fn of(b: &Benchmark) -> Self {
        let holdings: Vec<HoldingView<'_>> = b
            .holdings
            .iter()
            .map(|h| HoldingView {
                token: h.token,
                symbol: &h.symbol,
                quantity: h.quantity,
                entry_price: h.entry_price,
                exit_price: h.exit_price,
                buy_charges: &h.buy_charges,
                sell_charges: &h.sell_charges,
            })
            .collect();
        Self {
            starting_equity: b.start,
            final_equity: b.final_value,
            net_pnl: b.final_value.saturating_sub(b.start),
            charges: b.charges,
            cash_left: b.cash_left,
            max_drawdown: super::curve::max_drawdown(b.start, &b.curve).amount,
            // Infallible: strings, integers and decimal strings only.
            holdings: serde_json::to_value(holdings).unwrap_or_default(),
        }
    }
}

#[derive(Serialize)]
struct StrategyView<'a> {
    broker: Broker,
    strategy_id: &'a str,
    #[serde(flatten)]
    metrics: MetricsView,
    positions: &'a [PositionSnapshot],
}

#[derive(Serialize)]
struct MetricsView {
    signals: u64,
    rejected: u64,
    orders: u64,
    failed_orders: u64,
    fills: u64,
    #[serde(with = "rust_decimal::serde::str")]
    turnover: Decimal,
    #[serde(with = "rust_decimal::serde::str")]
    charges: Decimal,
    #[serde(with = "rust_decimal::serde::str")]
    realized_pnl: Decimal,
    #[serde(with = "rust_decimal::serde::str")]
    unrealized_pnl: Decimal,
    #[serde(with = "rust_decimal::serde::str")]
    net_pnl: Decimal,
    #[serde(with = "rust_decimal::serde::str")]
    starting_equity: Decimal,
    #[serde(with = "rust_decimal::serde::str")]
    final_equity: Decimal,
    #[serde(with = "rust_decimal::serde::str")]
    max_drawdown: Decimal,
    #[serde(with = "rust_decimal::serde::str_option")]
    max_drawdown_fraction: Option<Decimal>,
    sharpe: Option<String>,
    /// `null` below `ratio_min_days`, without a losing day or at zero deviation.
    sortino: Option<String>,
    days: usize,
    #[serde(with = "rust_decimal::serde::str_option")]
    win_rate: Option<Decimal>,
    wins: u64,
    closing_fills: u64,
    /// When the maximum drawdown bottomed (RFC 3339 UTC); `null` without a fall.
    max_drawdown_at: Option<String>,
    charges_by_component: Fees,
    /// Closed FIFO round trips (see `trades.csv`).
    round_trips: usize,
}

impl MetricsView {
    fn of(m: &Metrics, round_trips: usize) -> Self {
        Self {
            signals: m.signals,
            rejected: m.rejected,
            orders: m.orders,
            failed_orders: m.failed_orders,
            fills: m.fills,
            turnover: m.turnover,
            charges: m.charges,
            realized_pnl: m.realized_pnl,
            unrealized_pnl: m.unrealized_pnl,
            net_pnl: m.net_pnl,
            starting_equity: m.starting_equity,
            final_equity: m.final_equity,
            max_drawdown: m.drawdown.amount,
            max_drawdown_fraction: m.drawdown.fraction,
            sharpe: m.sharpe.ratio.map(text::sharpe),
            sortino: m.sharpe.sortino.map(text::sharpe),
            days: m.sharpe.days,
            win_rate: m.win_rate(),
            wins: m.wins,
            closing_fills: m.closing_fills,
            max_drawdown_at: m.drawdown.trough.map(text::timestamp),
            charges_by_component: m.charge_parts.clone(),
            round_trips,
        }
    }
}

/// The pretty-printed document, ending with a newline.
pub(super) fn render(report: &Report<'_>) -> String {
    let outcome = report.outcome;
    let document = Document {
        input: &outcome.input,
        seed: outcome.seed,
        ticks: outcome.ticks,
        first_tick: outcome.first_tick.map(text::timestamp),
        last_tick: outcome.last_tick.map(text::timestamp),
        starting_cash: outcome.starting_cash,
        strategies: report
            .strategies
            .iter()
            .map(|s| StrategyView {
                broker: s.outcome.broker,
                strategy_id: &s.outcome.strategy_id,
                metrics: MetricsView::of(&s.metrics, s.ledger.trips.closed().len()),
                positions: &s.outcome.final_portfolio.positions,
            })
            .collect(),
        total: MetricsView::of(
            &report.total,
            report
                .strategies
                .iter()
                .map(|s| s.ledger.trips.closed().len())
                .sum(),
        ),
        title: title::heading(report),
        ratio_min_days: MIN_DAYS,
        per_day: report.days.iter().map(DayView::of).collect(),
        exposure: ExposureView {
            max_gross: report.exposure.max_gross,
            average_gross: report.exposure.average_gross,
            time_in_market: report.exposure.time_in_market,
        },
        benchmark: report.benchmark.as_ref().map(BenchmarkView::of),
    };
    // Infallible: the view holds only strings, integers, decimals as strings and sequences
    // of them (no map with non-string keys, no failing Serialize impl).
    let mut json = serde_json::to_string_pretty(&document).expect("the report view serialises");
    json.push('\n');
    json
}
