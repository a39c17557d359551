//! `report.html`: one self-contained page — run info, the summary table (one row per
//! strategy and a Total row), the final positions and the equity chart (the SVG inlined).
//! Inline CSS only: no script, stylesheet, font or image is fetched. Every text is escaped.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;

use super::metrics::{Metrics, Report};
use super::text::{self, escape};
use super::{StrategyOutcome, svg};
use crate::market::hours::IST;

const STYLE: &str = "\
body{font-family:sans-serif;margin:2em;color:#222}\
h1{font-size:1.6em}h2{font-size:1.2em;margin-top:1.6em}\
table{border-collapse:collapse;font-size:0.9em}\
th,td{border:1px solid #ccc;padding:0.3em 0.6em}\
thead th{background:#f0f0f0}\
td.num{text-align:right;font-variant-numeric:tabular-nums}\
tr.total{font-weight:bold;background:#fafafa}\
table.run th{text-align:left;background:#f0f0f0}";

const SUMMARY_COLUMNS: [&str; 15] = [
    "Strategy",
    "Signals",
    "Rejected",
    "Orders",
    "Failed orders",
    "Fills",
    "Turnover",
    "Charges",
    "Realized P&L",
    "Unrealized P&L",
    "Net P&L",
    "Final equity",
    "Max drawdown",
    "Sharpe (daily, annualised)",
    "Win rate",
];

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

/// The whole page, ending with a newline.
pub(super) fn render(report: &Report<'_>) -> String {
    let mut html = format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <title>Backtest report: {}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n\
         <h1>Backtest report</h1>\n",
        escape(&report.outcome.input)
    );
    run_info(&mut html, report);
    summary(&mut html, report);
    positions(&mut html, report);
    html.push_str("<h2>Equity</h2>\n<figure>\n");
    html.push_str(&svg::render(report));
    html.push_str(
        "<figcaption>Equity of each strategy; shaded: its drawdown from the running \
         peak.</figcaption>\n</figure>\n</body>\n</html>\n",
    );
    html
}

fn run_info(html: &mut String, report: &Report<'_>) {
    let outcome = report.outcome;
    let rows = [
        ("Input", outcome.input.clone()),
        ("Seed", outcome.seed.to_string()),
        ("Ticks", outcome.ticks.to_string()),
        ("First tick", instant(outcome.first_tick)),
        ("Last tick", instant(outcome.last_tick)),
        (
            "Starting cash per strategy",
            outcome.starting_cash.to_string(),
        ),
        ("Strategies", outcome.strategies.len().to_string()),
    ];
    html.push_str("<h2>Run</h2>\n<table class=\"run\">\n");
    for (name, value) in rows {
        html.push_str(&format!(
            "<tr><th>{name}</th><td>{}</td></tr>\n",
            escape(&value)
        ));
    }
    html.push_str("</table>\n");
}

/// RFC 3339 UTC, and the IST wall time; `none` when absent.
fn instant(ts: Option<DateTime<Utc>>) -> String {
    match ts {
        Some(ts) => format!(
            "{} ({} IST)",
            text::timestamp(ts),
            ts.with_timezone(&IST).format("%Y-%m-%d %H:%M:%S")
        ),
        None => "none".to_owned(),
    }
}

fn summary(html: &mut String, report: &Report<'_>) {
    html.push_str("<h2>Summary</h2>\n<table class=\"summary\">\n");
    header(html, &SUMMARY_COLUMNS);
    html.push_str("<tbody>\n");
    for strategy in &report.strategies {
        summary_row(html, "", &name(strategy.outcome), &strategy.metrics);
    }
    html.push_str("</tbody>\n<tfoot>\n");
    summary_row(html, " class=\"total\"", "Total", &report.total);
    html.push_str("</tfoot>\n</table>\n");
}

fn summary_row(html: &mut String, class: &str, name: &str, m: &Metrics) {
    let drawdown = match m.drawdown.fraction {
        Some(fraction) => format!("{} ({}%)", m.drawdown.amount, percent(fraction)),
        None => m.drawdown.amount.to_string(),
    };
    let win_rate = match m.win_rate() {
        Some(rate) => format!("{}% ({}/{})", percent(rate), m.wins, m.closing_fills),
        None => "n/a".to_owned(),
    };
    let cells = [
        m.signals.to_string(),
        m.rejected.to_string(),
        m.orders.to_string(),
        m.failed_orders.to_string(),
        m.fills.to_string(),
        m.turnover.to_string(),
        m.charges.to_string(),
        m.realized_pnl.to_string(),
        m.unrealized_pnl.to_string(),
        m.net_pnl.to_string(),
        m.final_equity.to_string(),
        drawdown,
        m.sharpe.ratio.map_or("n/a".to_owned(), text::sharpe),
        win_rate,
    ];
    html.push_str(&format!("<tr{class}><th>{}</th>", escape(name)));
    for cell in cells {
        html.push_str(&format!("<td class=\"num\">{}</td>", escape(&cell)));
    }
    html.push_str("</tr>\n");
}

fn positions(html: &mut String, report: &Report<'_>) {
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
                p.average_price.to_string(),
                p.last_price.to_string(),
                p.realized_pnl.to_string(),
                p.unrealized_pnl.to_string(),
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

fn header(html: &mut String, columns: &[&str]) {
    html.push_str("<thead><tr>");
    for column in columns {
        html.push_str(&format!("<th>{}</th>", escape(column)));
    }
    html.push_str("</tr></thead>\n");
}

fn name(strategy: &StrategyOutcome) -> String {
    format!("{}/{}", strategy.broker, strategy.strategy_id)
}

/// A ratio as a percentage, without trailing zeros (`0.0125` → `1.25`).
fn percent(ratio: Decimal) -> String {
    ratio
        .saturating_mul(Decimal::ONE_HUNDRED)
        .normalize()
        .to_string()
}
