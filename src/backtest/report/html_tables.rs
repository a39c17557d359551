//! The long tables of `report.html`: days, trades, charges by component, final positions
//! and the benchmark's holdings (see [`super::html`] for the page and its rules).

use chrono::{DateTime, TimeDelta, Utc};
use rust_decimal::Decimal;

use super::StrategyOutcome;
use super::metrics::{Metrics, Report};
use super::money::inr;
use super::text::escape;
use super::trades::RoundTrip;
use crate::market::hours::IST;
use crate::messages::Fees;

/// Trade-list rows shown at each end of a longer list (all of them are in `trades.csv`).
const TRADES_SHOWN_EACH_END: usize = 100;

const POSITION_COLUMNS: [&str; 9] = [
    "Strategy",
    "Token",
    "Symbol",
    "Quantity",
    "Average price",
    "Last price",
    "Realized P&L",
    "Unrealized P&L",
    "Flat",
];

pub(super) fn days(html: &mut String, report: &Report<'_>) {
    html.push_str("<h2>Days</h2>\n");
    if report.days.is_empty() {
        html.push_str("<p>No trading day.</p>\n");
        return;
    }
    html.push_str("<table class=\"days\">\n");
    header(
        html,
        &[
            "Date (IST)",
            "Fills",
            "Turnover",
            "Charges",
            "Realized P&L",
            "Net change",
            "End equity",
            "Drawdown",
        ],
    );
    html.push_str("<tbody>\n");
    for day in &report.days {
        html.push_str(&format!(
            "<tr><th>{}</th><td class=\"num\">{}</td>",
            day.date.format("%a %d %b %Y"),
            day.fills.fills
        ));
        money_cell(html, day.fills.turnover, false);
        money_cell(html, day.fills.charges, false);
        money_cell(html, day.fills.realized, true);
        money_cell(html, day.net, true);
        money_cell(html, day.end_equity, false);
        money_cell(html, day.drawdown, false);
        html.push_str("</tr>\n");
    }
    html.push_str("</tbody>\n</table>\n");
}

/// A right-aligned rupee cell; coloured by sign when `signed`.
pub(super) fn money_cell(html: &mut String, amount: Decimal, signed: bool) {
    let class = match (signed, amount.cmp(&Decimal::ZERO)) {
        (true, std::cmp::Ordering::Less) => "num neg",
        (true, std::cmp::Ordering::Greater) => "num pos",
        _ => "num",
    };
    html.push_str(&format!(
        "<td class=\"{class}\">{}</td>",
        escape(&inr(amount))
    ));
}

pub(super) fn trades(html: &mut String, report: &Report<'_>) {
    let trips: Vec<(&StrategyOutcome, &RoundTrip)> = report
        .strategies
        .iter()
        .flat_map(|s| s.ledger.trips.closed().iter().map(move |r| (s.outcome, r)))
        .collect();
    html.push_str("<h2>Trades</h2>\n");
    if trips.is_empty() {
        html.push_str("<p>No round trip was closed.</p>\n");
        return;
    }
    html.push_str(
        "<p class=\"note\">Round trips, first in first out per strategy and instrument: an \
         exit closes the oldest entries first, so a partial exit makes its own row. Charges \
         are each fill's fees shared by quantity. Every round trip is in trades.csv.</p>\n\
         <table class=\"trades\">\n",
    );
    header(
        html,
        &[
            "#",
            "Strategy",
            "Symbol",
            "Side",
            "Quantity",
            "Entry (IST)",
            "Entry price",
            "Exit (IST)",
            "Exit price",
            "Gross P&L",
            "Charges",
            "Net P&L",
            "Duration",
        ],
    );
    html.push_str("<tbody>\n");
    let n = trips.len();
    for (i, (strategy, trip)) in trips.iter().enumerate() {
        if n > 2 * TRADES_SHOWN_EACH_END && i == TRADES_SHOWN_EACH_END {
            html.push_str(&format!(
                "<tr><td colspan=\"13\">… {} more round trips (see trades.csv) …</td></tr>\n",
                n - 2 * TRADES_SHOWN_EACH_END
            ));
        }
        if n > 2 * TRADES_SHOWN_EACH_END
            && i >= TRADES_SHOWN_EACH_END
            && i < n - TRADES_SHOWN_EACH_END
        {
            continue;
        }
        html.push_str(&format!(
            "<tr><td class=\"num\">{}</td><td>{}</td><td>{}</td><td>{}</td>\
             <td class=\"num\">{}</td><td>{}</td><td class=\"num\">{}</td><td>{}</td>\
             <td class=\"num\">{}</td>",
            i + 1,
            escape(&name(strategy)),
            escape(&trip.symbol),
            trip.direction.as_str(),
            trip.quantity,
            ist_time(trip.entry_at),
            escape(&inr(trip.entry_price)),
            ist_time(trip.exit_at),
            escape(&inr(trip.exit_price)),
        ));
        money_cell(html, trip.gross_pnl, true);
        money_cell(html, trip.charges, false);
        money_cell(html, trip.net_pnl(), true);
        html.push_str(&format!(
            "<td class=\"num\">{}</td></tr>\n",
            duration(trip.duration())
        ));
    }
    html.push_str("</tbody>\n</table>\n");
}

fn ist_time(ts: DateTime<Utc>) -> String {
    ts.with_timezone(&IST).format("%d %b %H:%M:%S").to_string()
}

/// `2d 03h 05m`, `1h 05m`, `4m 10s`, `12s`, `0.250s` (wall-clock time).
pub(super) fn duration(delta: TimeDelta) -> String {
    let ms = delta.num_milliseconds().max(0);
    let secs = ms / 1000;
    let (d, h, m, s) = (secs / 86_400, secs / 3600 % 24, secs / 60 % 60, secs % 60);
    if d > 0 {
        format!("{d}d {h:02}h {m:02}m")
    } else if h > 0 {
        format!("{h}h {m:02}m")
    } else if m > 0 {
        format!("{m}m {s:02}s")
    } else if secs > 0 {
        format!("{s}s")
    } else {
        format!("{:.3}s", ms as f64 / 1000.0)
    }
}

pub(super) fn charges(html: &mut String, report: &Report<'_>) {
    html.push_str("<h2>Charges by component</h2>\n<table class=\"charges\">\n");
    header(
        html,
        &[
            "Strategy",
            "Brokerage",
            "STT",
            "Exchange",
            "SEBI",
            "Stamp duty",
            "GST",
            "Total",
            "% of turnover",
        ],
    );
    html.push_str("<tbody>\n");
    let row = |html: &mut String, class: &str, name: &str, m: &Metrics| {
        let Fees {
            brokerage,
            stt,
            exchange_txn,
            sebi,
            stamp_duty,
            gst,
            total,
        } = &m.charge_parts;
        html.push_str(&format!("<tr{class}><th>{}</th>", escape(name)));
        for amount in [brokerage, stt, exchange_txn, sebi, stamp_duty, gst, total] {
            money_cell(html, *amount, false);
        }
        let share = if m.turnover > Decimal::ZERO {
            total.checked_div(m.turnover).map_or("n/a".to_owned(), |f| {
                format!(
                    "{}%",
                    f.saturating_mul(Decimal::ONE_HUNDRED)
                        .round_dp(4)
                        .normalize()
                )
            })
        } else {
            "n/a".to_owned()
        };
        html.push_str(&format!("<td class=\"num\">{share}</td></tr>\n"));
    };
    for strategy in &report.strategies {
        row(html, "", &name(strategy.outcome), &strategy.metrics);
    }
    html.push_str("</tbody>\n<tfoot>\n");
    row(html, " class=\"total\"", "Total", &report.total);
    html.push_str("</tfoot>\n</table>\n");
}

pub(super) fn positions(html: &mut String, report: &Report<'_>) {
    html.push_str("<h2>Final positions</h2>\n");
    let any = report
        .strategies
        .iter()
        .any(|s| !s.outcome.final_portfolio.positions.is_empty());
    if !any {
        html.push_str("<p>No positions.</p>\n");
        return;
    }
    html.push_str("<table class=\"positions\">\n");
    header(html, &POSITION_COLUMNS);
    html.push_str("<tbody>\n");
    for strategy in &report.strategies {
        for p in &strategy.outcome.final_portfolio.positions {
            let cells = [
                p.token.to_string(),
                p.symbol.clone(),
                p.quantity.to_string(),
                inr(p.average_price),
                inr(p.last_price),
                inr(p.realized_pnl),
                inr(p.unrealized_pnl),
                if p.quantity == 0 { "yes" } else { "no" }.to_owned(),
            ];
            html.push_str(&format!("<tr><th>{}</th>", escape(&name(strategy.outcome))));
            for cell in cells {
                html.push_str(&format!("<td class=\"num\">{}</td>", escape(&cell)));
            }
            html.push_str("</tr>\n");
        }
    }
    html.push_str("</tbody>\n</table>\n");
}

pub(super) fn benchmark(html: &mut String, report: &Report<'_>) {
    let Some(b) = &report.benchmark else {
        return;
    };
    html.push_str(&format!(
        "<h2>Buy and hold</h2>\n<p class=\"note\">{} split equally over {} instrument(s), \
         bought at the first tick with delivery charges, sold at the last tick; \
         {} left in cash.</p>\n<table class=\"benchmark\">\n",
        escape(&inr(b.start)),
        b.holdings.len(),
        escape(&inr(b.cash_left))
    ));
    header(
        html,
        &[
            "Symbol",
            "Quantity",
            "Entry price",
            "Exit price",
            "Buy charges",
            "Sell charges",
            "Net P&L",
        ],
    );
    html.push_str("<tbody>\n");
    for h in &b.holdings {
        let quantity = Decimal::from(h.quantity);
        let net = h
            .exit_price
            .saturating_sub(h.entry_price)
            .saturating_mul(quantity)
            .saturating_sub(h.buy_charges.total)
            .saturating_sub(h.sell_charges.total);
        html.push_str(&format!(
            "<tr><th>{}</th><td class=\"num\">{}</td>",
            escape(&h.symbol),
            h.quantity
        ));
        money_cell(html, h.entry_price, false);
        money_cell(html, h.exit_price, false);
        money_cell(html, h.buy_charges.total, false);
        money_cell(html, h.sell_charges.total, false);
        money_cell(html, net, true);
        html.push_str("</tr>\n");
    }
    html.push_str("</tbody>\n</table>\n");
}

/// A table's header row.
pub(super) fn header(html: &mut String, columns: &[&str]) {
    html.push_str("<thead><tr>");
    for column in columns {
        html.push_str(&format!("<th>{}</th>", escape(column)));
    }
    html.push_str("</tr></thead>\n");
}

/// How a strategy is named in the tables: `broker/strategy`.
pub(super) fn name(strategy: &StrategyOutcome) -> String {
    format!("{}/{}", strategy.broker, strategy.strategy_id)
}
