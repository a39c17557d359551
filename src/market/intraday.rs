//! The intraday (MIS) day: when new MIS exposure stops, when the engine flattens MIS
//! positions, and when the broker would flatten them itself.
//!
//! Zerodha squares off open MIS positions itself at about 15:20 IST, with a charge per
//! order; an engine that trades MIS flattens them earlier with its own orders, and stops
//! opening new ones before that so nothing opened late is left to the broker.
//!
//! Windows (IST, trading days of the [`MarketCalendar`] only, half-open like the
//! sessions): entries are closed in `[entry_cutoff, 15:30)`; the engine's square-off is
//! due in `[square_off_at, 15:30)`; the broker's in `[broker_square_off_at, 15:30)`. A
//! caller acts once per due day (the functions return the IST date the window belongs
//! to) and on whichever clock it runs on: the tick's event time in the backtest, the
//! wall clock in the daemon. Pure functions: no clock is read here.

use super::hours::{IST, MarketCalendar, NORMAL_END};
use chrono::{DateTime, NaiveDate, NaiveTime, Utc};

/// The day's intraday deadlines, IST.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IntradayDay {
    /// From here on, signals that would open or grow an MIS position are refused.
    pub entry_cutoff: NaiveTime,
    /// From here on, the engine flattens open MIS positions with orders.
    pub square_off_at: NaiveTime,
    /// From here on, the broker flattens what is still open (the paper venue models it).
    pub broker_square_off_at: NaiveTime,
    calendar: MarketCalendar,
}

impl IntradayDay {
    /// The day with these deadlines on `calendar`'s trading days.
    pub fn new(
        entry_cutoff: NaiveTime,
        square_off_at: NaiveTime,
        broker_square_off_at: NaiveTime,
        calendar: MarketCalendar,
    ) -> IntradayDay {
        IntradayDay {
            entry_cutoff,
            square_off_at,
            broker_square_off_at,
            calendar,
        }
    }

    /// The IST trading date of `at` if its time of day lies in `[from, 15:30)`.
    fn window(&self, at: DateTime<Utc>, from: NaiveTime) -> Option<NaiveDate> {
        let local = at.with_timezone(&IST);
        let (date, time) = (local.date_naive(), local.time());
        (self.calendar.is_trading_day(date) && time >= from && time < NORMAL_END).then_some(date)
    }

    /// New MIS exposure is refused at `at` (entry cutoff reached, market not closed).
    pub fn entries_closed(&self, at: DateTime<Utc>) -> bool {
        self.window(at, self.entry_cutoff).is_some()
    }

    /// The engine's square-off is due at `at`: the trading date it is due for.
    pub fn square_off_due(&self, at: DateTime<Utc>) -> Option<NaiveDate> {
        self.window(at, self.square_off_at)
    }

    /// The broker's own square-off is due at `at`: the trading date it is due for.
    pub fn broker_square_off_due(&self, at: DateTime<Utc>) -> Option<NaiveDate> {
        self.window(at, self.broker_square_off_at)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn hm(h: u32, m: u32) -> NaiveTime {
        NaiveTime::from_hms_opt(h, m, 0).unwrap()
    }

    fn ist(d: u32, h: u32, m: u32, s: u32) -> DateTime<Utc> {
        IST.with_ymd_and_hms(2026, 12, d, h, m, s)
            .unwrap()
            .with_timezone(&Utc)
    }

    fn day() -> IntradayDay {
        let holiday = NaiveDate::from_ymd_opt(2026, 12, 9).unwrap();
        IntradayDay::new(
            hm(15, 0),
            hm(15, 15),
            hm(15, 20),
            MarketCalendar::new([holiday]),
        )
    }

    #[test]
    fn windows_are_half_open_and_end_at_the_close() {
        let d = day();
        // Monday 2026-12-07.
        assert!(!d.entries_closed(ist(7, 14, 59, 59)));
        assert!(d.entries_closed(ist(7, 15, 0, 0)));
        assert!(d.entries_closed(ist(7, 15, 29, 59)));
        assert!(!d.entries_closed(ist(7, 15, 30, 0)));
        let monday = NaiveDate::from_ymd_opt(2026, 12, 7);
        assert_eq!(d.square_off_due(ist(7, 15, 14, 59)), None);
        assert_eq!(d.square_off_due(ist(7, 15, 15, 0)), monday);
        assert_eq!(d.broker_square_off_due(ist(7, 15, 19, 59)), None);
        assert_eq!(d.broker_square_off_due(ist(7, 15, 20, 0)), monday);
        assert_eq!(d.broker_square_off_due(ist(7, 15, 30, 0)), None);
    }

    #[test]
    fn weekends_and_holidays_have_no_intraday_day() {
        let d = day();
        // Sunday 2026-12-06, holiday Wednesday 2026-12-09.
        assert!(!d.entries_closed(ist(6, 15, 10, 0)));
        assert_eq!(d.square_off_due(ist(6, 15, 16, 0)), None);
        assert_eq!(d.square_off_due(ist(9, 15, 16, 0)), None);
        assert!(d.square_off_due(ist(10, 15, 16, 0)).is_some());
    }
}
