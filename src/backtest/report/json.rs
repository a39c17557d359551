//! `report.json`: run info, each strategy's metrics and final positions, the total.
//!
//! Money, ratios (drawdown fraction, win rate) and the Sharpe ratio are strings (exact
//! decimals; the Sharpe with 6 fixed decimals); counts are integers; a figure that does not
//! exist (no closing fill, too few days) is `null`. Fields keep the order of the view
//! structs below, so the text is deterministic.

use rust_decimal::Decimal;
use serde::Serialize;

use super::metrics::{Metrics, Report};
use super::text;
use crate::messages::{Broker, PositionSnapshot};

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
    days: usize,
    #[serde(with = "rust_decimal::serde::str_option")]
    win_rate: Option<Decimal>,
    wins: u64,
    closing_fills: u64,
}

impl MetricsView {
    fn of(m: &Metrics) -> Self {
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
            days: m.sharpe.days,
            win_rate: m.win_rate(),
            wins: m.wins,
            closing_fills: m.closing_fills,
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
                metrics: MetricsView::of(&s.metrics),
                positions: &s.outcome.final_portfolio.positions,
            })
            .collect(),
        total: MetricsView::of(&report.total),
    };
    // Infallible: the view holds only strings, integers, decimals as strings and sequences
    // of them (no map with non-string keys, no failing Serialize impl).
    let mut json = serde_json::to_string_pretty(&document).expect("the report view serialises");
    json.push('\n');
    json
}
