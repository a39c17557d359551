//! `report.html`: one self-contained page a trader reads top to bottom — the title (strategies,
//! instruments, period, seed), the headline figures against buy and hold, the chart (the
//! SVG inlined), the per-day table, the trade list, the per-strategy summary, charges by
//! component, exposure, the final positions and the benchmark's holdings (the long tables
//! are in [`super::html_tables`]).
//!
//! Money is in Indian format (`₹1,23,45,678.90`, see [`money`]); times are IST. Inline CSS
//! only: no script, stylesheet, font or image is fetched. Every text is escaped.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;

use super::curve::{DailySharpe, MIN_DAYS};
use super::html_tables::{benchmark, charges, days, header, name, positions, trades};
use super::metrics::{Metrics, Report};
use super::money::{inr, percent_2dp};
use super::text::{self, escape};
use super::trades::RoundTrip;
use super::{svg, title};
use crate::market::hours::IST;

const STYLE: &str = "\
body{font-family:sans-serif;margin:2em;color:#222;max-width:1200px}\
h1{font-size:1.5em;margin-bottom:0.2em}h2{font-size:1.2em;margin-top:1.8em}\
p.sub{color:#555;margin-top:0}\
table{border-collapse:collapse;font-size:0.9em;margin-bottom:0.5em}\
th,td{border:1px solid #ccc;padding:0.3em 0.6em}\
thead th{background:#f0f0f0}\
td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}\
td.neg{color:#b00020}td.pos{color:#0a6b2c}\
tr.total{font-weight:bold;background:#fafafa}\
table.run th,table.headline th{text-align:left;background:#f0f0f0}\
p.note{color:#555;font-size:0.85em;max-width:60em}";

const SUMMARY_COLUMNS: [&str; 16] = [
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
    "Sortino (daily, annualised)",
    "Win rate (closing fills)",
];

/// The whole page, ending with a newline.
pub(super) fn render(report: &Report<'_>) -> String {
    let mut html = format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <title>{}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n\
         <h1>Backtest: {}</h1>\n<p class=\"sub\">{} · {} · seed {}</p>\n",
        escape(&title::heading(report)),
        escape(&title::strategies(report)),
        escape(&title::instruments(report)),
        escape(&title::period(report)),
        report.outcome.seed
    );
    run_info(&mut html, report);
    headline(&mut html, report);
    html.push_str("<h2>Equity and drawdown</h2>\n<figure>\n");
    html.push_str(&svg::render(report));
    html.push_str(
        "<figcaption>Top: the portfolio's equity and, dashed, buy and hold of the traded \
         instruments. Bottom: the portfolio's fall from its running peak, the maximum marked. \
         The time axis shows trading sessions only.</figcaption>\n</figure>\n",
    );
    days(&mut html, report);
    trades(&mut html, report);
    summary(&mut html, report);
    charges(&mut html, report);
    positions(&mut html, report);
    benchmark(&mut html, report);
    html.push_str(&format!(
        "<p class=\"note\">Sharpe and Sortino are computed from daily returns (the IST day's \
         last equity over the previous day's), annualised with √252, and shown only from \
         {MIN_DAYS} days on: fewer returns make a number with no meaning. Sortino divides by \
         the downside deviation (losing days only, target 0). Exposure is the cost basis of \
         the open positions; its average and the time in market count trading-session time \
         only. The benchmark buys the traded instruments with the starting equity split \
         equally at the first tick, pays the paper venue's delivery charges, and sells at \
         the last tick.</p>\n</body>\n</html>\n"
    ));
    html
}

fn run_info(html: &mut String, report: &Report<'_>) {
    let outcome = report.outcome;
    let rows = [
        ("Strategies", title::strategies(report)),
        ("Instruments", title::instruments(report)),
        ("Period", title::period(report)),
        ("First tick", instant(outcome.first_tick)),
        ("Last tick", instant(outcome.last_tick)),
        ("Seed", outcome.seed.to_string()),
        ("Starting cash per strategy", inr(outcome.starting_cash)),
        ("Starting equity (total)", inr(report.total.starting_equity)),
        ("Input", outcome.input.clone()),
        ("Ticks", outcome.ticks.to_string()),
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

/// IST wall time, and RFC 3339 UTC; `none` when absent.
fn instant(ts: Option<DateTime<Utc>>) -> String {
    match ts {
        Some(ts) => format!(
            "{} IST ({})",
            ts.with_timezone(&IST).format("%Y-%m-%d %H:%M:%S"),
            text::timestamp(ts)
        ),
        None => "none".to_owned(),
    }
}

/// The portfolio against buy and hold, then the risk and activity figures.
fn headline(html: &mut String, report: &Report<'_>) {
    let t = &report.total;
    html.push_str(
        "<h2>Result</h2>\n<table class=\"headline\">\n<thead><tr><th></th><th>Start</th>\
         <th>Final</th><th>Net P&amp;L</th><th>Return</th><th>Max drawdown</th>\
         <th>Charges</th></tr></thead>\n<tbody>\n",
    );
    let portfolio = [
        inr(t.starting_equity),
        inr(t.final_equity),
        inr(t.net_pnl),
        ret(t.net_pnl, t.starting_equity),
        drawdown_text(t),
        inr(t.charges),
    ];
    row(html, "Portfolio", &portfolio);
    match &report.benchmark {
        Some(b) => {
            let drawdown = super::curve::max_drawdown(b.start, &b.curve);
            let net = b.final_value.saturating_sub(b.start);
            let cells = [
                inr(b.start),
                inr(b.final_value),
                inr(net),
                ret(net, b.start),
                format!(
                    "{}{}",
                    inr(drawdown.amount),
                    drawdown
                        .fraction
                        .map(|f| format!(" ({}%)", percent_2dp(f)))
                        .unwrap_or_default()
                ),
                inr(b.charges),
            ];
            row(html, "Buy & hold", &cells);
        }
        None => html.push_str(
            "<tr><th>Buy &amp; hold</th><td colspan=\"6\">n/a: no traded instrument \
             with prices in the run</td></tr>\n",
        ),
    }
    html.push_str("</tbody>\n</table>\n<table class=\"headline\">\n");
    let e = &report.exposure;
    let trips: Vec<&RoundTrip> = report
        .strategies
        .iter()
        .flat_map(|s| s.ledger.trips.closed())
        .collect();
    let winners = trips.iter().filter(|r| r.net_pnl() > Decimal::ZERO).count();
    let figures = [
        (
            "Sharpe (daily, annualised)",
            ratio(&t.sharpe, t.sharpe.ratio),
        ),
        (
            "Sortino (daily, annualised)",
            ratio(&t.sharpe, t.sharpe.sortino),
        ),
        ("Turnover", inr(t.turnover)),
        ("Charges", inr(t.charges)),
        (
            "Round trips (winning, net of charges)",
            format!("{} ({winners})", trips.len()),
        ),
        ("Max gross exposure", inr(e.max_gross)),
        ("Average gross exposure", inr(e.average_gross)),
        (
            "Time in market",
            e.time_in_market
                .map_or("n/a".to_owned(), |f| format!("{}%", percent_2dp(f))),
        ),
    ];
    for (name, value) in figures {
        html.push_str(&format!(
            "<tr><th>{}</th><td class=\"num\">{}</td></tr>\n",
            escape(name),
            escape(&value)
        ));
    }
    html.push_str("</table>\n");
}

/// A row of money cells, coloured by sign when they are P&L.
fn row(html: &mut String, name: &str, cells: &[String]) {
    html.push_str(&format!("<tr><th>{}</th>", escape(name)));
    for cell in cells {
        html.push_str(&format!("<td class=\"num\">{}</td>", escape(cell)));
    }
    html.push_str("</tr>\n");
}

/// `net / start` as a percentage with two decimals; `n/a` at a non-positive start.
fn ret(net: Decimal, start: Decimal) -> String {
    if start <= Decimal::ZERO {
        return "n/a".to_owned();
    }
    net.checked_div(start)
        .map_or("n/a".to_owned(), |f| format!("{}%", percent_2dp(f)))
}

/// A Sharpe or Sortino ratio with its day count, or why there is none.
fn ratio(daily: &DailySharpe, value: Option<f64>) -> String {
    if daily.days < MIN_DAYS {
        return format!("needs at least {MIN_DAYS} days (have {})", daily.days);
    }
    match value {
        Some(v) => format!("{} ({} days)", text::ratio_2dp(v), daily.days),
        None => format!("n/a ({} days; no variation or no losing day)", daily.days),
    }
}

fn drawdown_text(m: &Metrics) -> String {
    let mut text = inr(m.drawdown.amount);
    if let Some(fraction) = m.drawdown.fraction {
        text.push_str(&format!(" ({}%)", percent_2dp(fraction)));
    }
    if let Some(at) = m.drawdown.trough {
        text.push_str(&format!(
            " at {}",
            at.with_timezone(&IST).format("%d %b %H:%M")
        ));
    }
    text
}

fn summary(html: &mut String, report: &Report<'_>) {
    html.push_str("<h2>By strategy</h2>\n<table class=\"summary\">\n");
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
        inr(m.turnover),
        inr(m.charges),
        inr(m.realized_pnl),
        inr(m.unrealized_pnl),
        inr(m.net_pnl),
        inr(m.final_equity),
        drawdown_text(m),
        ratio(&m.sharpe, m.sharpe.ratio),
        ratio(&m.sharpe, m.sharpe.sortino),
        win_rate,
    ];
    html.push_str(&format!("<tr{class}><th>{}</th>", escape(name)));
    for cell in cells {
        html.push_str(&format!("<td class=\"num\">{}</td>", escape(&cell)));
    }
    html.push_str("</tr>\n");
}

/// A ratio as a percentage, without trailing zeros (`0.0125` → `1.25`).
fn percent(ratio: Decimal) -> String {
    ratio
        .saturating_mul(Decimal::ONE_HUNDRED)
        .normalize()
        .to_string()
}
