//! Synthetic CSV tick files for the backtest's throughput benchmark and tests.
//!
//! One instrument's quote as a seeded random walk: the mid moves by at most ₹0.05 (one tick
//! size) a tick, the spread is 1–3 ticks, bid and ask sit on the ₹0.05 grid and the last
//! price is on the grid between them. Event times strictly increase by 1–200 ms and stay
//! inside the NSE normal market (09:15–15:30 IST, weekdays; holidays are not modelled): at
//! the close the clock jumps to the next weekday's open, so 10^6 ticks (about 225,000 a
//! day) span several trading days. The same options give the same bytes.

use crate::market::hours::{IST, NORMAL_END, NORMAL_START};
use chrono::{DateTime, Datelike, Days, NaiveDate, NaiveTime, TimeZone, Utc, Weekday};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rust_decimal::Decimal;
use std::io::{self, BufWriter, Write};

/// Prices move on this grid: ₹0.05 (NSE equities' tick size), in paise.
const TICK_PAISE: i64 = 5;
/// Bounds of the spread, in ticks.
const SPREAD_TICKS: std::ops::RangeInclusive<i64> = 1..=3;
/// Bounds of the gap between two ticks, in nanoseconds (1–200 ms).
const GAP_NS: std::ops::RangeInclusive<i64> = 1_000_000..=200_000_000;

/// What to generate.
#[derive(Debug, Clone)]
pub struct SyntheticOptions {
    /// Number of ticks (rows after the header).
    pub ticks: u64,
    /// Seed of the walk, the spreads and the gaps.
    pub seed: u64,
    /// Kite instrument token of every row.
    pub token: u32,
    /// The first mid, rounded to the ₹0.05 grid.
    pub start_price: Decimal,
    /// The first tick's time, moved forward to the next open if outside market hours.
    pub start: DateTime<Utc>,
}

/// Writes a CSV tick file (header, then `options.ticks` rows) and returns the number of rows.
///
/// # Errors
/// The writer's errors; `InvalidInput` if the start price is under ₹0.20 (the walk needs
/// room for the widest spread above zero) or the start is beyond the representable dates.
pub fn write_csv(out: impl Write, options: SyntheticOptions) -> io::Result<u64> {
    let invalid = |message: &str| io::Error::new(io::ErrorKind::InvalidInput, message.to_owned());
    let paise = (options.start_price * Decimal::ONE_HUNDRED).round();
    let start_ticks = i64::try_from(paise)
        .map_err(|_| invalid("start price out of range"))?
        .div_euclid(TICK_PAISE);
    if start_ticks <= *SPREAD_TICKS.end() {
        return Err(invalid("start price must be at least ₹0.20"));
    }
    let mut clock = SessionClock::starting_at(options.start)
        .ok_or_else(|| invalid("start time out of range"))?;
    let mut rng = StdRng::seed_from_u64(options.seed);
    let mut out = BufWriter::with_capacity(1 << 16, out);
    writeln!(out, "{}", super::ticks::CSV_HEADER)?;
    // The mid in half ticks, so that an odd spread centres on it.
    let mut mid2 = 2 * start_ticks;
    let floor2 = 2 * SPREAD_TICKS.end();
    for i in 0..options.ticks {
        if i > 0 {
            let step = 2 * rng.random_range(-1..=1);
            // Reflect at the floor: prices stay positive with room for the spread.
            mid2 = if mid2 + step < floor2 {
                mid2 + 2
            } else {
                mid2 + step
            };
            clock
                .advance(rng.random_range(GAP_NS))
                .ok_or_else(|| invalid("ran past the representable dates"))?;
        }
        let spread = rng.random_range(SPREAD_TICKS);
        let bid = (mid2 - spread).div_euclid(2);
        let ask = bid + spread;
        let last = bid + rng.random_range(0..=spread);
        writeln!(
            out,
            "{},{},{},{},{}",
            clock.now_ns,
            options.token,
            Rupees(bid * TICK_PAISE),
            Rupees(ask * TICK_PAISE),
            Rupees(last * TICK_PAISE)
        )?;
    }
    out.flush()?;
    Ok(options.ticks)
}

/// Paise shown as rupees with two decimals.
struct Rupees(i64);

impl std::fmt::Display for Rupees {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{:02}", self.0 / 100, self.0 % 100)
    }
}

/// Event time in nanoseconds that only runs during market hours.
struct SessionClock {
    now_ns: i64,
    date: NaiveDate,
    close_ns: i64,
}

impl SessionClock {
    /// At `start` if the market is open then, else at the next open.
    fn starting_at(start: DateTime<Utc>) -> Option<Self> {
        let start_ns = start.timestamp_nanos_opt()?;
        let mut date = start.with_timezone(&IST).date_naive();
        loop {
            let (open_ns, close_ns) = session(date)?;
            if is_weekday(date) && start_ns < close_ns {
                return Some(SessionClock {
                    now_ns: start_ns.max(open_ns),
                    date,
                    close_ns,
                });
            }
            date = date.checked_add_days(Days::new(1))?;
        }
    }

    /// Moves `gap_ns` on, or to the next weekday's open if that reaches the close.
    fn advance(&mut self, gap_ns: i64) -> Option<()> {
        let next = self.now_ns.checked_add(gap_ns)?;
        if next < self.close_ns {
            self.now_ns = next;
            return Some(());
        }
        loop {
            self.date = self.date.checked_add_days(Days::new(1))?;
            if is_weekday(self.date) {
                break;
            }
        }
        let (open_ns, close_ns) = session(self.date)?;
        self.now_ns = open_ns;
        self.close_ns = close_ns;
        Some(())
    }
}

fn is_weekday(date: NaiveDate) -> bool {
    !matches!(date.weekday(), Weekday::Sat | Weekday::Sun)
}

/// The normal market's open and close on an IST date, in nanoseconds since the epoch.
fn session(date: NaiveDate) -> Option<(i64, i64)> {
    let at = |time: NaiveTime| {
        IST.from_local_datetime(&date.and_time(time))
            .single()?
            .timestamp_nanos_opt()
    };
    Some((at(NORMAL_START)?, at(NORMAL_END)?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backtest::ticks::{TickFormat, TickOptions, TickReader};
    use crate::market::hours::{MarketCalendar, Session};
    use std::collections::BTreeSet;

    fn options(ticks: u64, seed: u64, start: &str) -> SyntheticOptions {
        SyntheticOptions {
            ticks,
            seed,
            token: 738561,
            start_price: Decimal::new(250000, 2),
            start: DateTime::parse_from_rfc3339(start).unwrap().to_utc(),
        }
    }

    fn generate(options: SyntheticOptions) -> Vec<u8> {
        let mut out = Vec::new();
        let n = options.ticks;
        assert_eq!(write_csv(&mut out, options).unwrap(), n);
        out
    }

    #[test]
    fn output_reads_back_on_the_grid_within_market_hours() {
        // Friday 15:29:30 IST: the close comes after a few hundred ticks, then Monday.
        let csv = generate(options(5_000, 7, "2026-11-06T15:29:30+05:30"));
        let reader = TickReader::new(csv.as_slice(), TickOptions::default()).unwrap();
        assert_eq!(reader.format(), TickFormat::Csv);
        let ticks: Vec<_> = reader.collect::<Result<_, _>>().unwrap();
        assert_eq!(ticks.len(), 5_000);
        let calendar = MarketCalendar::default();
        let grid = Decimal::new(5, 2);
        let mut days = BTreeSet::new();
        let mut mid = Decimal::new(250000, 2);
        for e in &ticks {
            assert_eq!(calendar.session_at(e.ts), Session::Normal, "{}", e.ts);
            days.insert(MarketCalendar::ist_date(e.ts));
            let (bid, ask) = (e.data.best_bid().unwrap(), e.data.best_ask().unwrap());
            let last = e.data.last_price;
            for price in [bid, ask, last] {
                assert!((price % grid).is_zero(), "{price} is off the grid");
            }
            let spread = (ask - bid) / grid;
            assert!(
                (Decimal::ONE..=Decimal::from(3)).contains(&spread),
                "{bid} {ask}"
            );
            assert!(bid <= last && last <= ask);
            let new_mid = (bid + ask) / Decimal::TWO;
            assert!(
                (new_mid - mid).abs() <= Decimal::new(10, 2),
                "{mid} → {new_mid}"
            );
            mid = new_mid;
        }
        let friday = NaiveDate::from_ymd_opt(2026, 11, 6).unwrap();
        let monday = NaiveDate::from_ymd_opt(2026, 11, 9).unwrap();
        assert_eq!(days, BTreeSet::from([friday, monday]));
        let first = ticks[0].ts.with_timezone(&IST);
        assert_eq!(first.to_rfc3339(), "2026-11-06T15:29:30+05:30");
    }

    #[test]
    fn output_is_deterministic_per_seed() {
        let start = "2026-11-02T09:15:00+05:30";
        assert_eq!(
            generate(options(2_000, 1, start)),
            generate(options(2_000, 1, start))
        );
        assert_ne!(
            generate(options(2_000, 1, start)),
            generate(options(2_000, 2, start))
        );
    }

    #[test]
    fn a_start_outside_market_hours_moves_to_the_next_open() {
        for (start, first) in [
            ("2026-11-07T10:00:00+05:30", "2026-11-09T09:15:00+05:30"), // Saturday
            ("2026-11-02T08:00:00+05:30", "2026-11-02T09:15:00+05:30"), // before the open
            ("2026-11-02T15:30:00+05:30", "2026-11-03T09:15:00+05:30"), // at the close
        ] {
            let csv = generate(options(1, 0, start));
            let tick = TickReader::new(csv.as_slice(), TickOptions::default())
                .unwrap()
                .next()
                .unwrap()
                .unwrap();
            assert_eq!(tick.ts.with_timezone(&IST).to_rfc3339(), first, "{start}");
        }
    }

    #[test]
    fn zero_ticks_is_a_header_only_file_and_a_tiny_price_is_refused() {
        let csv = generate(options(0, 0, "2026-11-02T09:15:00+05:30"));
        assert_eq!(csv, b"ts_ns,token,bid,ask,last\n");
        let mut cheap = options(1, 0, "2026-11-02T09:15:00+05:30");
        cheap.start_price = Decimal::new(15, 2);
        let e = write_csv(Vec::new(), cheap).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::InvalidInput);
    }
}
