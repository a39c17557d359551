//! Session time: the run's instants with the nights, weekends and holidays taken out, for the
//! chart's x axis and the exposure's time in market.
//!
//! Each IST date with data is one session, from its first instant to its last (the data's
//! own extent: a run of ten minutes is ten minutes wide, a whole day of ticks spans
//! 09:15–15:30). Sessions are laid end to end: [`Timeline::position_ms`] is the session time
//! elapsed before an instant. An instant between two sessions sits at the boundary.
//!
//! Invariants: sessions are in date order and do not overlap (an IST date is a contiguous
//! interval); `position_ms` never decreases with time and never exceeds `total_ms`.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};

use super::curve::ist_date;

/// One IST date's extent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Session {
    pub date: NaiveDate,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    /// Session time before `start`.
    pub offset_ms: i64,
}

impl Session {
    pub fn length_ms(&self) -> i64 {
        (self.end - self.start).num_milliseconds().max(0)
    }
}

/// The sessions of a run, end to end.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct Timeline {
    sessions: Vec<Session>,
    total_ms: i64,
}

impl Timeline {
    /// The timeline of every given instant (any order).
    pub fn of(instants: impl IntoIterator<Item = DateTime<Utc>>) -> Self {
        let mut extents: BTreeMap<NaiveDate, (DateTime<Utc>, DateTime<Utc>)> = BTreeMap::new();
        for ts in instants {
            extents
                .entry(ist_date(ts))
                .and_modify(|(lo, hi)| {
                    *lo = (*lo).min(ts);
                    *hi = (*hi).max(ts);
                })
                .or_insert((ts, ts));
        }
        let mut total_ms: i64 = 0;
        let sessions = extents
            .into_iter()
            .map(|(date, (start, end))| {
                let session = Session {
                    date,
                    start,
                    end,
                    offset_ms: total_ms,
                };
                total_ms = total_ms.saturating_add(session.length_ms());
                session
            })
            .collect();
        Timeline { sessions, total_ms }
    }

    pub fn sessions(&self) -> &[Session] {
        &self.sessions
    }

    /// Session time of the whole run.
    pub fn total_ms(&self) -> i64 {
        self.total_ms
    }

    /// Session time elapsed before `ts` (0 before the first session, `total_ms` after the
    /// last).
    pub fn position_ms(&self, ts: DateTime<Utc>) -> i64 {
        // The last session starting at or before `ts`.
        let index = self.sessions.partition_point(|s| s.start <= ts);
        let Some(session) = index.checked_sub(1).and_then(|i| self.sessions.get(i)) else {
            return 0;
        };
        let within = (ts.min(session.end) - session.start).num_milliseconds();
        session.offset_ms.saturating_add(within.max(0))
    }

    /// Session time between two instants (`0` when `to` is not after `from`).
    pub fn between_ms(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> i64 {
        self.position_ms(to)
            .saturating_sub(self.position_ms(from))
            .max(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backtest::report::tests_support::at;

    /// Thursday 26 Nov 09:15–15:30 IST, Friday 27 Nov 09:15–10:15 IST, Monday 30 Nov
    /// 09:15–09:45 IST.
    fn three_sessions() -> Timeline {
        Timeline::of([
            at("2026-11-26T10:00:00Z"),
            at("2026-11-26T03:45:00Z"),
            at("2026-11-27T03:45:00Z"),
            at("2026-11-27T04:45:00Z"),
            at("2026-11-30T03:45:00Z"),
            at("2026-11-30T04:15:00Z"),
        ])
    }

    #[test]
    fn nights_and_weekends_take_no_time() {
        let t = three_sessions();
        let hour = 3_600_000;
        assert_eq!(t.sessions().len(), 3);
        assert_eq!(t.total_ms(), 6 * hour + hour / 4 + hour + hour / 2);
        // Thursday's close and Friday's open are the same position.
        assert_eq!(
            t.position_ms(at("2026-11-26T10:00:00Z")),
            t.position_ms(at("2026-11-27T03:45:00Z"))
        );
        // A Saturday instant sits at Friday's close, as does Monday's open.
        let friday_close = t.position_ms(at("2026-11-27T04:45:00Z"));
        assert_eq!(friday_close, 7 * hour + hour / 4);
        assert_eq!(t.position_ms(at("2026-11-28T06:00:00Z")), friday_close);
        assert_eq!(t.position_ms(at("2026-11-30T03:45:00Z")), friday_close);
        assert_eq!(
            t.position_ms(at("2026-11-30T04:00:00Z")),
            friday_close + hour / 4
        );
        assert_eq!(t.position_ms(at("2026-11-20T04:00:00Z")), 0);
        assert_eq!(t.position_ms(at("2026-12-20T04:00:00Z")), t.total_ms());
        assert_eq!(
            t.between_ms(at("2026-11-26T09:30:00Z"), at("2026-11-30T04:00:00Z")),
            hour / 2 + hour + hour / 4
        );
        assert_eq!(
            t.between_ms(at("2026-11-30T04:00:00Z"), at("2026-11-26T09:30:00Z")),
            0
        );
    }

    #[test]
    fn an_ist_date_is_one_session_even_across_utc_midnight() {
        // 23:00 IST on the 26th is 17:30 UTC; 00:30 IST on the 27th is 19:00 UTC on the 26th.
        let t = Timeline::of([
            at("2026-11-26T04:00:00Z"),
            at("2026-11-26T17:30:00Z"),
            at("2026-11-26T19:00:00Z"),
        ]);
        let dates: Vec<_> = t.sessions().iter().map(|s| s.date.to_string()).collect();
        assert_eq!(dates, ["2026-11-26", "2026-11-27"]);
        assert_eq!(Timeline::of([]).total_ms(), 0);
        assert_eq!(Timeline::of([]).position_ms(at("2026-11-26T04:00:00Z")), 0);
    }
}
