//! NSE/BSE market hours: which session is running at an instant.
//!
//! Both exchanges trade equities Monday to Friday in Indian Standard Time (UTC+05:30, no
//! daylight saving): pre-open 09:00–09:15 (order collection and price discovery), normal
//! market 09:15–15:30. Weekends and the configured holidays are closed all day. Other
//! sessions (post-close, block deals, muhurat trading) are not modelled.
//!
//! Interval convention: every session is half-open, `[start, end)`. 09:00:00 is pre-open,
//! 09:15:00 is normal, 15:29:59.999 is normal and 15:30:00 is closed.
//!
//! Invariants: pure functions of the instant and the holiday list (no clock is read);
//! nothing here panics, whatever the instant.

use std::collections::BTreeSet;

use chrono::{
    DateTime, Datelike, FixedOffset, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc, Weekday,
};

/// Indian Standard Time, UTC+05:30.
pub const IST: FixedOffset = match FixedOffset::east_opt(5 * 3600 + 30 * 60) {
    Some(offset) => offset,
    None => panic!("UTC+05:30 is a valid offset"),
};

/// Start of the pre-open session, IST.
pub const PRE_OPEN_START: NaiveTime = hm(9, 0);
/// Start of the normal market (end of pre-open), IST.
pub const NORMAL_START: NaiveTime = hm(9, 15);
/// Close of the normal market, IST.
pub const NORMAL_END: NaiveTime = hm(15, 30);

/// `hh:mm:00`, checked when compiling.
const fn hm(hour: u32, minute: u32) -> NaiveTime {
    match NaiveTime::from_hms_opt(hour, minute, 0) {
        Some(time) => time,
        None => panic!("invalid time of day"),
    }
}

/// The session of the exchange at an instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Session {
    /// No trading: outside the hours below, a weekend or a holiday.
    Closed,
    /// 09:00–09:15 IST: orders are collected and the opening price is discovered.
    PreOpen,
    /// 09:15–15:30 IST: continuous trading.
    Normal,
}

/// Trading days and sessions of NSE/BSE: weekdays minus a holiday list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MarketCalendar {
    holidays: BTreeSet<NaiveDate>,
}

impl MarketCalendar {
    /// A calendar closed on weekends and on `holidays` (IST dates; duplicates are fine).
    pub fn new(holidays: impl IntoIterator<Item = NaiveDate>) -> Self {
        Self {
            holidays: holidays.into_iter().collect(),
        }
    }

    /// The session at `at`.
    pub fn session_at(&self, at: DateTime<Utc>) -> Session {
        let local = ist_local(at);
        if !self.is_trading_day(local.date()) {
            return Session::Closed;
        }
        let time = local.time();
        if time < PRE_OPEN_START {
            Session::Closed
        } else if time < NORMAL_START {
            Session::PreOpen
        } else if time < NORMAL_END {
            Session::Normal
        } else {
            Session::Closed
        }
    }

    /// True if `date` (an IST date) is a weekday that is not a holiday.
    pub fn is_trading_day(&self, date: NaiveDate) -> bool {
        !matches!(date.weekday(), Weekday::Sat | Weekday::Sun) && !self.holidays.contains(&date)
    }

    /// The IST date of an instant, i.e. the trading date daily limits count against.
    /// 2026-11-26T19:00Z is 2026-11-27 00:30 IST, so the 27th.
    pub fn ist_date(at: DateTime<Utc>) -> NaiveDate {
        ist_local(at).date()
    }

    /// The close (15:30 IST) of the IST day containing `at`, if that day is a trading day;
    /// it is in the past when `at` is after the close.
    pub fn session_close(&self, at: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let date = Self::ist_date(at);
        if self.is_trading_day(date) {
            ist_instant(date, NORMAL_END)
        } else {
            None
        }
    }

    /// The first instant ≥ `at` at which the session is [`Session::PreOpen`] or
    /// [`Session::Normal`]: `at` itself during a session, else 09:00 IST of the next
    /// trading day (today's, if `at` is before 09:00 on a trading day). At the very end
    /// of the representable calendar, [`DateTime::<Utc>::MAX_UTC`].
    pub fn next_open(&self, at: DateTime<Utc>) -> DateTime<Utc> {
        if self.session_at(at) != Session::Closed {
            return at;
        }
        let local = ist_local(at);
        let today = local.date();
        if self.is_trading_day(today) && local.time() < PRE_OPEN_START {
            return ist_instant(today, PRE_OPEN_START).unwrap_or(DateTime::<Utc>::MAX_UTC);
        }
        // The holiday list is finite, so a weekday that is not a holiday comes soon.
        today
            .iter_days()
            .skip(1)
            .find(|day| self.is_trading_day(*day))
            .and_then(|day| ist_instant(day, PRE_OPEN_START))
            .unwrap_or(DateTime::<Utc>::MAX_UTC)
    }

    /// The holidays, in date order.
    pub fn holidays(&self) -> impl Iterator<Item = NaiveDate> + '_ {
        self.holidays.iter().copied()
    }
}

/// The IST wall-clock time of `at`. The offset is positive, so only instants within
/// 5 h 30 min of [`DateTime::<Utc>::MAX_UTC`] overflow; they read as the last instant.
fn ist_local(at: DateTime<Utc>) -> NaiveDateTime {
    at.naive_utc()
        .checked_add_offset(IST)
        .unwrap_or(NaiveDateTime::MAX)
}

/// The UTC instant of `time` IST on `date`; `None` only beyond the representable range.
fn ist_instant(date: NaiveDate, time: NaiveTime) -> Option<DateTime<Utc>> {
    IST.from_local_datetime(&date.and_time(time))
        .single()
        .map(|local| local.with_timezone(&Utc))
}
