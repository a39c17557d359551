//! Tests of market hours: session boundaries, weekends, holidays, IST dates, next open.
//!
//! Reference week: Thu 2026-11-26, Fri 27th, Sat 28th, Sun 29th, Mon 30th.

use chrono::{DateTime, NaiveDate, NaiveDateTime, TimeZone, Utc};

use super::hours::IST;
use super::{MarketCalendar, Session};

/// `"2026-11-26 09:15:00"` (optionally with `.fff`) IST as a UTC instant.
fn ist(text: &str) -> DateTime<Utc> {
    let naive = NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S%.f").unwrap();
    IST.from_local_datetime(&naive).unwrap().with_timezone(&Utc)
}

fn utc(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .unwrap()
        .with_timezone(&Utc)
}

fn date(text: &str) -> NaiveDate {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
}

/// Closed on Republic Day (Mon 2026-01-26) and on Mon 2026-11-30.
fn calendar() -> MarketCalendar {
    MarketCalendar::new([date("2026-01-26"), date("2026-11-30")])
}

#[test]
fn session_boundaries_are_half_open_intervals() {
    use Session::*;
    #[rustfmt::skip]
    let cases = [
        ("2026-11-26 00:00:00", Closed),
        ("2026-11-26 08:59:59.999", Closed),
        ("2026-11-26 09:00:00", PreOpen),
        ("2026-11-26 09:14:59.999", PreOpen),
        ("2026-11-26 09:15:00", Normal),
        ("2026-11-26 12:00:00", Normal),
        ("2026-11-26 15:29:59", Normal),
        ("2026-11-26 15:29:59.999", Normal),
        ("2026-11-26 15:30:00", Closed),
        ("2026-11-26 23:59:59", Closed),
    ];
    let calendar = calendar();
    for (at, expected) in cases {
        assert_eq!(calendar.session_at(ist(at)), expected, "{at} IST");
    }
}

#[test]
fn sessions_follow_ist_whatever_the_utc_clock_says() {
    use Session::*;
    #[rustfmt::skip]
    let cases = [
        ("2026-11-26T03:29:59Z", Closed),  // 08:59:59 IST
        ("2026-11-26T03:30:00Z", PreOpen), // 09:00 IST
        ("2026-11-26T03:45:00Z", Normal),  // 09:15 IST
        ("2026-11-26T09:59:59Z", Normal),  // 15:29:59 IST
        ("2026-11-26T10:00:00Z", Closed),  // 15:30 IST
        ("2026-11-27T03:30:00+05:30", Closed), // 03:30 IST, 22:00 UTC the day before
    ];
    let calendar = calendar();
    for (at, expected) in cases {
        assert_eq!(calendar.session_at(utc(at)), expected, "{at}");
    }
}

#[test]
fn weekends_and_holidays_are_closed_all_day() {
    #[rustfmt::skip]
    let cases = [
        ("2026-11-26", true),  // Thursday
        ("2026-11-27", true),  // Friday
        ("2026-11-28", false), // Saturday
        ("2026-11-29", false), // Sunday
        ("2026-11-30", false), // Monday, holiday
        ("2026-12-01", true),  // Tuesday
        ("2026-01-26", false), // Monday, Republic Day
        ("2026-01-23", true),  // Friday before it
    ];
    let calendar = calendar();
    for (day, trading) in cases {
        assert_eq!(calendar.is_trading_day(date(day)), trading, "{day}");
        let midday = ist(&format!("{day} 12:00:00"));
        let expected = if trading {
            Session::Normal
        } else {
            Session::Closed
        };
        assert_eq!(calendar.session_at(midday), expected, "{day} 12:00 IST");
    }
    let plain = MarketCalendar::new([]);
    assert!(
        plain.is_trading_day(date("2026-11-30")),
        "no holidays configured"
    );
}

#[test]
fn duplicate_holidays_are_fine() {
    let day = date("2026-01-26");
    let calendar = MarketCalendar::new([day, day]);
    assert_eq!(calendar.holidays().collect::<Vec<_>>(), [day]);
    assert!(!calendar.is_trading_day(day));
}

#[test]
fn ist_date_crosses_utc_midnight() {
    #[rustfmt::skip]
    let cases = [
        ("2026-11-26T00:00:00Z", "2026-11-26"),
        ("2026-11-26T18:29:59Z", "2026-11-26"), // 23:59:59 IST
        ("2026-11-26T18:30:00Z", "2026-11-27"), // 00:00 IST
        ("2026-11-26T19:00:00Z", "2026-11-27"),
        ("2026-12-31T20:00:00Z", "2027-01-01"),
    ];
    for (at, expected) in cases {
        assert_eq!(MarketCalendar::ist_date(utc(at)), date(expected), "{at}");
    }
}

#[test]
fn session_close_is_1530_ist_of_a_trading_day() {
    #[rustfmt::skip]
    let cases = [
        ("2026-11-26 10:00:00", Some("2026-11-26T10:00:00Z")),
        ("2026-11-26 08:00:00", Some("2026-11-26T10:00:00Z")),
        ("2026-11-26 20:00:00", Some("2026-11-26T10:00:00Z")), // already past
        ("2026-11-27 00:30:00", Some("2026-11-27T10:00:00Z")), // = 2026-11-26T19:00Z
        ("2026-11-28 10:00:00", None), // Saturday
        ("2026-11-30 10:00:00", None), // holiday
    ];
    let calendar = calendar();
    for (at, expected) in cases {
        let expected = expected.map(utc);
        assert_eq!(calendar.session_close(ist(at)), expected, "{at} IST");
    }
}

#[test]
fn next_open_skips_nights_weekends_and_holidays() {
    #[rustfmt::skip]
    let cases = [
        ("2026-11-26 10:00:00", "2026-11-26 10:00:00"), // normal: now
        ("2026-11-26 09:05:00", "2026-11-26 09:05:00"), // pre-open: now
        ("2026-11-26 07:00:00", "2026-11-26 09:00:00"), // before the open: today
        ("2026-11-26 08:59:59", "2026-11-26 09:00:00"),
        ("2026-11-26 15:30:00", "2026-11-27 09:00:00"), // after the close: tomorrow
        ("2026-11-26 23:00:00", "2026-11-27 09:00:00"),
        ("2026-11-27 16:00:00", "2026-12-01 09:00:00"), // weekend, then holiday Monday
        ("2026-11-28 12:00:00", "2026-12-01 09:00:00"), // Saturday
        ("2026-11-30 07:00:00", "2026-12-01 09:00:00"), // early on the holiday
        ("2026-01-23 15:30:00", "2026-01-27 09:00:00"), // Republic Day weekend
        ("2026-01-24 09:30:00", "2026-01-27 09:00:00"),
    ];
    let calendar = calendar();
    for (at, expected) in cases {
        assert_eq!(calendar.next_open(ist(at)), ist(expected), "{at} IST");
    }
    let plain = MarketCalendar::new([]);
    let monday = ist("2026-11-30 09:00:00");
    assert_eq!(plain.next_open(ist("2026-11-28 12:00:00")), monday);
}

#[test]
fn extreme_instants_do_not_panic() {
    let calendar = calendar();
    for at in [DateTime::<Utc>::MIN_UTC, DateTime::<Utc>::MAX_UTC] {
        let _ = calendar.session_at(at);
        let _ = calendar.session_close(at);
        let _ = MarketCalendar::ist_date(at);
        assert!(calendar.next_open(at) >= at);
    }
}
