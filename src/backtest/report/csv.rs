//! `fills.csv`: one row per fill, strategies in outcome order, fills in their order, with
//! the fill's realized P&L from the replay; `trades.csv`: one row per FIFO round trip
//! ([`super::trades`]), strategies in outcome order, round trips in the order they closed.
//! RFC 4180: CRLF line ends, a field quoted (and its quotes doubled) when it holds a comma,
//! a quote or a line break.

use super::metrics::Report;
use super::replay::FillResult;
use super::text;
use crate::messages::OrderFilled;

const HEADER: [&str; 12] = [
    "time",
    "broker",
    "strategy_id",
    "fill_id",
    "client_order_id",
    "token",
    "symbol",
    "side",
    "quantity",
    "price",
    "fees",
    "realized_pnl",
];

/// The whole file.
pub(super) fn render(report: &Report<'_>) -> String {
    let mut out = header();
    for strategy in &report.strategies {
        for (fill, result) in strategy.outcome.fills.iter().zip(&strategy.fills) {
            push_fill(&mut out, fill, result);
        }
    }
    out
}

const TRADES_HEADER: [&str; 14] = [
    "broker",
    "strategy_id",
    "token",
    "symbol",
    "direction",
    "quantity",
    "entry_time",
    "entry_price",
    "exit_time",
    "exit_price",
    "gross_pnl",
    "charges",
    "net_pnl",
    "duration_ms",
];

/// The whole `trades.csv`.
pub(super) fn render_trades(report: &Report<'_>) -> String {
    let mut out = String::new();
    push_row(&mut out, TRADES_HEADER.iter().map(|h| (*h).to_owned()));
    for strategy in &report.strategies {
        for trip in strategy.ledger.trips.closed() {
            push_row(
                &mut out,
                [
                    strategy.outcome.broker.to_string(),
                    strategy.outcome.strategy_id.clone(),
                    trip.token.to_string(),
                    trip.symbol.clone(),
                    trip.direction.as_str().to_owned(),
                    trip.quantity.to_string(),
                    text::timestamp(trip.entry_at),
                    trip.entry_price.to_string(),
                    text::timestamp(trip.exit_at),
                    trip.exit_price.to_string(),
                    trip.gross_pnl.to_string(),
                    trip.charges.to_string(),
                    trip.net_pnl().to_string(),
                    trip.duration().num_milliseconds().to_string(),
                ],
            );
        }
    }
    out
}

/// The header row.
pub(super) fn header() -> String {
    let mut out = String::new();
    push_row(&mut out, HEADER.iter().map(|h| (*h).to_owned()));
    out
}

/// Appends the row of `fill`, whose replay gave `result`.
pub(super) fn push_fill(out: &mut String, fill: &OrderFilled, result: &FillResult) {
    let side = match fill.order.side {
        crate::messages::Side::Buy => "BUY",
        crate::messages::Side::Sell => "SELL",
    };
    push_row(
        out,
        [
            text::timestamp(fill.filled_at),
            fill.order.broker.to_string(),
            fill.order.strategy_id.clone(),
            fill.fill_id.clone(),
            fill.order.client_order_id.clone(),
            fill.order.token.to_string(),
            fill.order.symbol.clone(),
            side.to_owned(),
            fill.quantity.to_string(),
            fill.price.to_string(),
            fill.fees.total.to_string(),
            result.realized.to_string(),
        ],
    );
}

fn push_row(out: &mut String, fields: impl IntoIterator<Item = String>) {
    for (i, field) in fields.into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        push_field(out, &field);
    }
    out.push_str("\r\n");
}

fn push_field(out: &mut String, field: &str) {
    if field.contains([',', '"', '\r', '\n']) {
        out.push('"');
        out.push_str(&field.replace('"', "\"\""));
        out.push('"');
    } else {
        out.push_str(field);
    }
}
