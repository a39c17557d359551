//! The day's P&L curve of one portfolio: a point of its day figures every few seconds of
//! event time, which the dashboard draws with its drawdown.
//!
//! A point is an observation of figures derived from fills and marks, not a belief of its
//! own: a lost point loses a dot on a chart, never money. The points live in a capped store
//! list beside the read model (`{broker}:pnl_curve:{strategy}`), oldest first; a reader keeps
//! those of the portfolio's current day ([`CurvePoint::day`]), so points of an earlier day
//! left by a restart across midnight are never drawn.
//!
//! `net` is the day's: realized by the day's fills, plus the unrealized P&L of the open
//! positions at their marks, minus the day's charges ([`DayFigures`]). A position carried
//! into the day brings its unrealized P&L from before the day with it: the curve starts the
//! day at that value, not at 0.

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::{DayFigures, Portfolio};

/// Least event time between two points of one portfolio: a 6¼-hour session is at most
/// 4,500 points.
pub const CURVE_STEP: chrono::TimeDelta = chrono::TimeDelta::seconds(5);

/// Most points a curve keeps (the newest): a whole session at [`CURVE_STEP`], with room.
pub const CURVE_CAP: usize = 6_000;

/// One point of a portfolio's day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CurvePoint {
    /// Event time of the tick or fill the figures are as of.
    pub at: DateTime<Utc>,
    /// The IST trading day the figures belong to.
    pub day: NaiveDate,
    #[serde(with = "rust_decimal::serde::str")]
    pub realized: Decimal,
    #[serde(with = "rust_decimal::serde::str")]
    pub unrealized: Decimal,
    #[serde(with = "rust_decimal::serde::str")]
    pub charges: Decimal,
    /// `realized + unrealized − charges`.
    #[serde(with = "rust_decimal::serde::str")]
    pub net: Decimal,
}

impl CurvePoint {
    /// The point of `portfolio` at `at`, or `None` before its first trading day.
    pub fn of(portfolio: &Portfolio, at: DateTime<Utc>) -> Option<CurvePoint> {
        portfolio.day().map(|day| CurvePoint::from_day(&day, at))
    }

    /// The point of a day's figures at `at` (saturating: an absurd book draws a flat top,
    /// it does not fail the write).
    pub fn from_day(day: &DayFigures, at: DateTime<Utc>) -> CurvePoint {
        CurvePoint {
            at,
            day: day.date,
            realized: day.realized_pnl,
            unrealized: day.unrealized_pnl,
            charges: day.charges,
            net: day
                .realized_pnl
                .saturating_add(day.unrealized_pnl)
                .saturating_sub(day.charges),
        }
    }
}

/// When the last point of a portfolio was taken, to space the next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LastPoint {
    pub at: DateTime<Utc>,
    pub day: NaiveDate,
}

/// What to do with a new point, given the last one written (none since start).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CurveWrite {
    /// Too soon after the last point: nothing.
    Skip,
    /// Append it.
    Append,
    /// A new day: the list starts again with it.
    Restart,
}

/// Decides a point's fate: one per [`CURVE_STEP`] of event time, and a new day restarts
/// the list. After a restart of the process (`last` is `None`) the point is appended: the
/// list may hold today's earlier points, which a reader keeps.
pub fn curve_write(last: Option<LastPoint>, point: &CurvePoint) -> CurveWrite {
    match last {
        None => CurveWrite::Append,
        Some(last) if last.day != point.day => CurveWrite::Restart,
        Some(last) if point.at.signed_duration_since(last.at) >= CURVE_STEP => CurveWrite::Append,
        Some(_) => CurveWrite::Skip,
    }
}

/// The points of `day` among stored members, oldest first; a member that is not a point
/// (a newer or damaged format) is skipped and counted in the second value.
pub fn points_of_day(members: &[String], day: NaiveDate) -> (Vec<CurvePoint>, usize) {
    let mut unreadable = 0;
    let points = members
        .iter()
        .filter_map(|m| match serde_json::from_str::<CurvePoint>(m) {
            Ok(p) => Some(p),
            Err(_) => {
                unreadable += 1;
                None
            }
        })
        .filter(|p| p.day == day)
        .collect();
    (points, unreadable)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::portfolio::tests_support::d as dec;
    use chrono::TimeZone;

    fn day(date: NaiveDate) -> DayFigures {
        DayFigures {
            date,
            realized_pnl: dec("1200.50"),
            unrealized_pnl: dec("-300.25"),
            charges: dec("45.10"),
            turnover: dec("100000"),
            fill_count: 4,
            carried: Vec::new(),
        }
    }

    fn at(secs: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(1_796_000_000 + secs, 0).unwrap()
    }

    fn date(n: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 12, n).unwrap()
    }

    #[test]
    fn net_is_realized_plus_unrealized_minus_charges() {
        let p = CurvePoint::from_day(&day(date(7)), at(0));
        assert_eq!(p.net, dec("1200.50") + dec("-300.25") - dec("45.10"));
        assert_eq!(p.net, dec("855.15"));
    }

    #[test]
    fn one_point_per_step_and_a_new_day_restarts() {
        let first = CurvePoint::from_day(&day(date(7)), at(0));
        assert_eq!(curve_write(None, &first), CurveWrite::Append);
        let last = Some(LastPoint {
            at: at(0),
            day: date(7),
        });
        let soon = CurvePoint::from_day(&day(date(7)), at(4));
        assert_eq!(curve_write(last, &soon), CurveWrite::Skip);
        let due = CurvePoint::from_day(&day(date(7)), at(5));
        assert_eq!(curve_write(last, &due), CurveWrite::Append);
        let tomorrow = CurvePoint::from_day(&day(date(8)), at(1));
        assert_eq!(curve_write(last, &tomorrow), CurveWrite::Restart);
    }

    #[test]
    fn a_reader_keeps_the_days_points_and_counts_unreadable_ones() {
        let today = CurvePoint::from_day(&day(date(7)), at(10));
        let yesterday = CurvePoint::from_day(&day(date(6)), at(0));
        let members = vec![
            serde_json::to_string(&yesterday).unwrap(),
            "not a point".to_owned(),
            serde_json::to_string(&today).unwrap(),
        ];
        let (points, unreadable) = points_of_day(&members, date(7));
        assert_eq!(points, vec![today]);
        assert_eq!(unreadable, 1);
    }

    #[test]
    fn money_round_trips_as_exact_text() {
        let p = CurvePoint::from_day(&day(date(7)), at(0));
        let json = serde_json::to_string(&p).unwrap();
        assert!(json.contains(r#""net":"855.15""#), "{json}");
        assert_eq!(serde_json::from_str::<CurvePoint>(&json).unwrap(), p);
    }
}
