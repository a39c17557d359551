//! The report's title: which strategies, on which instruments, over which period, with
//! which seed — the first line a reader sees, in the HTML heading and the SVG.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};

use super::metrics::Report;
use crate::market::hours::IST;

/// `paper/trend (ema_cross), paper/x (breakout)`; `no strategy` when none ran.
pub(super) fn strategies(report: &Report<'_>) -> String {
    if report.strategies.is_empty() {
        return "no strategy".to_owned();
    }
    report
        .strategies
        .iter()
        .map(|s| {
            format!(
                "{}/{} ({})",
                s.outcome.broker, s.outcome.strategy_id, s.outcome.kind
            )
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// The symbols the strategies traded (every position, flat ones included), sorted;
/// otherwise the symbols of the tick file, with `(no trades)`.
pub(super) fn instruments(report: &Report<'_>) -> String {
    let traded: BTreeSet<&str> = report
        .strategies
        .iter()
        .flat_map(|s| s.outcome.final_portfolio.positions.iter())
        .map(|p| p.symbol.as_str())
        .collect();
    if !traded.is_empty() {
        return traded.into_iter().collect::<Vec<_>>().join(", ");
    }
    let seen: BTreeSet<&str> = report
        .outcome
        .prices
        .iter()
        .map(|s| s.symbol.as_str())
        .collect();
    if seen.is_empty() {
        "no instruments".to_owned()
    } else {
        format!(
            "{} (no trades)",
            seen.into_iter().collect::<Vec<_>>().join(", ")
        )
    }
}

/// `26 Nov 2026 09:15 – 27 Nov 2026 15:29 IST (2 sessions)`; `no ticks` without any.
pub(super) fn period(report: &Report<'_>) -> String {
    let (Some(first), Some(last)) = (report.outcome.first_tick, report.outcome.last_tick) else {
        return "no ticks".to_owned();
    };
    let sessions = report.timeline.sessions().len();
    let plural = if sessions == 1 { "" } else { "s" };
    format!(
        "{} – {} IST ({sessions} session{plural})",
        ist(first),
        ist(last)
    )
}

fn ist(ts: DateTime<Utc>) -> String {
    ts.with_timezone(&IST).format("%d %b %Y %H:%M").to_string()
}

/// The one-line title: strategies · instruments · period · seed.
pub(super) fn heading(report: &Report<'_>) -> String {
    format!(
        "Backtest: {} · {} · {} · seed {}",
        strategies(report),
        instruments(report),
        period(report),
        report.outcome.seed
    )
}
