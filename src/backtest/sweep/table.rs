//! The ranked table of a sweep: `sweep.csv` and `sweep.md`.
//!
//! Invariants: pure and deterministic (the same rows give the same bytes: no clock, no
//! wall times); rows that ran come first, by net P&L from highest, ties by combination
//! number (the spec's order); refused and failed rows follow by combination number with
//! no rank. Money and ratios are exact decimals as text.

use super::plan::Plan;
use super::run::{Figures, Outcome, Row};
use std::cmp::Ordering;

/// The columns after the parameters.
const COLUMNS: [&str; 9] = [
    "status",
    "net_pnl",
    "return_pct",
    "max_drawdown",
    "fills",
    "win_rate",
    "sharpe",
    "charges",
    "note",
];

/// `rows` in rank order.
pub fn ranked(rows: &[Row]) -> Vec<&Row> {
    let mut out: Vec<&Row> = rows.iter().collect();
    out.sort_by(|a, b| match (&a.outcome, &b.outcome) {
        (Outcome::Ran(x), Outcome::Ran(y)) => y
            .net_pnl
            .cmp(&x.net_pnl)
            .then(a.combination.index.cmp(&b.combination.index)),
        (Outcome::Ran(_), _) => Ordering::Less,
        (_, Outcome::Ran(_)) => Ordering::Greater,
        _ => a.combination.index.cmp(&b.combination.index),
    });
    out
}

/// A row's cells after the parameters, in [`COLUMNS`] order.
fn cells(outcome: &Outcome) -> Vec<String> {
    let blank = || String::new();
    match outcome {
        Outcome::Ran(f) => figure_cells(f),
        Outcome::Refused(why) => {
            let mut c = vec!["refused".to_owned()];
            c.extend(std::iter::repeat_with(blank).take(COLUMNS.len() - 2));
            c.push(why.clone());
            c
        }
        Outcome::Failed(why) => {
            let mut c = vec!["failed".to_owned()];
            c.extend(std::iter::repeat_with(blank).take(COLUMNS.len() - 2));
            c.push(why.clone());
            c
        }
    }
}

fn figure_cells(f: &Figures) -> Vec<String> {
    let opt = |d: Option<rust_decimal::Decimal>| d.map(|d| d.to_string()).unwrap_or_default();
    vec![
        "ok".to_owned(),
        f.net_pnl.to_string(),
        opt(f.return_pct()),
        f.max_drawdown.to_string(),
        f.fills.to_string(),
        opt(f.win_rate),
        f.sharpe.clone().unwrap_or_default(),
        f.charges.to_string(),
        String::new(),
    ]
}

fn header(plan: &Plan) -> Vec<String> {
    let mut h = vec!["rank".to_owned()];
    h.extend(plan.axes.iter().map(|a| a.label.clone()));
    h.extend(COLUMNS.iter().map(|c| (*c).to_owned()));
    h
}

fn lines(plan: &Plan, rows: &[Row]) -> Vec<Vec<String>> {
    let mut rank = 0;
    ranked(rows)
        .into_iter()
        .map(|row| {
            let mut line = Vec::new();
            if matches!(row.outcome, Outcome::Ran(_)) {
                rank += 1;
                line.push(rank.to_string());
            } else {
                line.push(String::new());
            }
            line.extend(row.combination.values.iter().map(ToString::to_string));
            line.extend(cells(&row.outcome));
            debug_assert_eq!(line.len(), plan.axes.len() + COLUMNS.len() + 1);
            line
        })
        .collect()
}

/// `sweep.csv`: RFC 4180, a header, one row per combination in rank order.
pub fn csv(plan: &Plan, rows: &[Row]) -> String {
    let mut out = String::new();
    for line in std::iter::once(header(plan)).chain(lines(plan, rows)) {
        let fields: Vec<String> = line.iter().map(|f| csv_field(f)).collect();
        out.push_str(&fields.join(","));
        out.push_str("\r\n");
    }
    out
}

fn csv_field(field: &str) -> String {
    if field.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", field.replace('"', "\"\""))
    } else {
        field.to_owned()
    }
}

/// `sweep.md`: a title line naming the input, then the table in rank order.
pub fn markdown(plan: &Plan, rows: &[Row], title: &str) -> String {
    let header = header(plan);
    let mut out = format!("# {title}\n\n");
    out.push_str(&format!("| {} |\n", header.join(" | ")));
    out.push_str(&format!("|{}\n", "---|".repeat(header.len())));
    for line in lines(plan, rows) {
        let cells: Vec<String> = line.iter().map(|c| c.replace('|', "\\|")).collect();
        out.push_str(&format!("| {} |\n", cells.join(" | ")));
    }
    out
}
