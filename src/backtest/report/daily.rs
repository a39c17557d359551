//! The per-day table and the exposure figures of the whole run (all strategies together).
//!
//! A day is an IST date with an equity point or a fill. Its row: the fills, turnover,
//! charges and realized P&L of its fills; its end equity (the total curve's last point that
//! day, else the previous day's); net = end equity − the previous day's end equity (the
//! starting equity before the first day), so it includes the change of unrealized P&L; its
//! drawdown = the running peak (from the starting equity, every point up to the day's end)
//! − the end equity.
//!
//! Exposure is the cost basis of the open lots ([`super::ledger`]), summed over strategies.
//! Its average is weighted by session time ([`Timeline`]) from the first to the last
//! instant of the run; time in market is the share of that session time with a non-zero
//! exposure.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use rust_decimal::Decimal;

use super::EquityPoint;
use super::curve::ist_date;
use super::ledger::DayFills;
use super::timeline::Timeline;

/// Decimal places of the averages and fractions computed here.
const DP: u32 = 6;

/// One row of the per-day table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct DayRow {
    pub date: NaiveDate,
    pub fills: DayFills,
    pub net: Decimal,
    pub end_equity: Decimal,
    pub drawdown: Decimal,
}

/// The rows of `curve` (starting at `start`) and the per-day fills, in date order.
pub(super) fn day_rows(
    start: Decimal,
    curve: &[EquityPoint],
    fills: &BTreeMap<NaiveDate, DayFills>,
) -> Vec<DayRow> {
    // The day's end equity and the drawdown at that point.
    let mut ends: BTreeMap<NaiveDate, (Decimal, Decimal)> = BTreeMap::new();
    let mut peak = start;
    for point in curve {
        peak = peak.max(point.equity);
        ends.insert(
            ist_date(point.ts),
            (point.equity, peak.saturating_sub(point.equity)),
        );
    }
    let mut dates: Vec<NaiveDate> = ends.keys().chain(fills.keys()).copied().collect();
    dates.sort_unstable();
    dates.dedup();
    let mut previous = (start, Decimal::ZERO);
    dates
        .into_iter()
        .map(|date| {
            let (end_equity, drawdown) = ends.get(&date).copied().unwrap_or(previous);
            let row = DayRow {
                date,
                fills: fills.get(&date).cloned().unwrap_or_default(),
                net: end_equity.saturating_sub(previous.0),
                end_equity,
                drawdown,
            };
            previous = (end_equity, drawdown);
            row
        })
        .collect()
}

/// Gross exposure over the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(super) struct Exposure {
    pub max_gross: Decimal,
    /// Session-time weighted, rounded to the paisa; zero for a run without session time.
    pub average_gross: Decimal,
    /// Share of session time with an open position, rounded to 6 places; `None` for a run
    /// without session time.
    pub time_in_market: Option<Decimal>,
}

/// The exposure of the step function `steps` (zero before its first step) over `timeline`.
pub(super) fn exposure(steps: &[EquityPoint], timeline: &Timeline) -> Exposure {
    let max_gross = steps
        .iter()
        .map(|s| s.equity)
        .max()
        .unwrap_or(Decimal::ZERO)
        .max(Decimal::ZERO);
    let total_ms = timeline.total_ms();
    if total_ms <= 0 {
        return Exposure {
            max_gross,
            ..Exposure::default()
        };
    }
    let end = timeline.sessions().last().map(|s| s.end);
    let mut area = Decimal::ZERO;
    let mut held_ms: i64 = 0;
    for (i, step) in steps.iter().enumerate() {
        let until = steps.get(i + 1).map(|s| s.ts).or(end).unwrap_or(step.ts);
        let ms = timeline.between_ms(step.ts, until);
        area = area.saturating_add(step.equity.saturating_mul(Decimal::from(ms)));
        if !step.equity.is_zero() {
            held_ms = held_ms.saturating_add(ms);
        }
    }
    let total = Decimal::from(total_ms);
    Exposure {
        max_gross,
        average_gross: area.checked_div(total).unwrap_or_default().round_dp(2),
        time_in_market: Decimal::from(held_ms)
            .checked_div(total)
            .map(|f| f.round_dp(DP)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backtest::report::tests_support::{d, point};

    #[test]
    fn rows_carry_the_end_equity_net_change_and_drawdown_of_each_day() {
        let curve = [
            point("2026-11-26T04:00:00Z", "101000"),
            point("2026-11-26T09:00:00Z", "100500"),
            point("2026-11-27T04:00:00Z", "99000"),
            point("2026-11-30T04:00:00Z", "102000"),
        ];
        let mut fills = BTreeMap::new();
        fills.insert(
            NaiveDate::from_ymd_opt(2026, 11, 27).unwrap(),
            DayFills {
                fills: 2,
                turnover: d("5000"),
                charges: d("3.50"),
                realized: d("-40"),
            },
        );
        let rows = day_rows(d("100000"), &curve, &fills);
        let shown: Vec<(String, u64, Decimal, Decimal, Decimal)> = rows
            .iter()
            .map(|r| {
                (
                    r.date.to_string(),
                    r.fills.fills,
                    r.net,
                    r.end_equity,
                    r.drawdown,
                )
            })
            .collect();
        assert_eq!(
            shown,
            [
                ("2026-11-26".to_owned(), 0, d("500"), d("100500"), d("500")),
                (
                    "2026-11-27".to_owned(),
                    2,
                    d("-1500"),
                    d("99000"),
                    d("2000")
                ),
                ("2026-11-30".to_owned(), 0, d("3000"), d("102000"), d("0")),
            ]
        );
        assert_eq!(rows[1].fills.charges, d("3.50"));
    }

    #[test]
    fn exposure_is_weighted_by_session_time_only() {
        // Two sessions of one hour: Thu 09:15–10:15 and Fri 09:15–10:15 IST.
        let timeline = Timeline::of([
            crate::backtest::report::tests_support::at("2026-11-26T03:45:00Z"),
            crate::backtest::report::tests_support::at("2026-11-26T04:45:00Z"),
            crate::backtest::report::tests_support::at("2026-11-27T03:45:00Z"),
            crate::backtest::report::tests_support::at("2026-11-27T04:45:00Z"),
        ]);
        // 10,000 held from Thu 09:45 to Fri 09:45 IST (30 + 30 session minutes), then flat.
        let steps = [
            point("2026-11-26T04:15:00Z", "10000"),
            point("2026-11-27T04:15:00Z", "0"),
        ];
        let e = exposure(&steps, &timeline);
        assert_eq!(e.max_gross, d("10000"));
        // 10,000 × 60 min / 120 min.
        assert_eq!(e.average_gross, d("5000"));
        assert_eq!(e.time_in_market, Some(d("0.5")));
        assert_eq!(exposure(&[], &Timeline::default()).time_in_market, None);
    }
}
