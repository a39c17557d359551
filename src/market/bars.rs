//! Bars built from ticks, for strategies' bar callback ([`crate::strategy::Strategy::on_bar`]).
//!
//! Invariant: a bar is delivered once, complete, when a later bar of its token starts; its
//! prices are the ticks' last prices and its volume the rise of their cumulative volume.

use super::candles::{Candle, Interval, Ohlc};
use super::hours::IST;
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;

/// Bars of an interval built from a token's ticks, for strategies' bar callback: a bar is
/// complete when the first tick of a later bar of the same token arrives (no timer: a bar
/// whose token trades no more is never delivered). Bars start on multiples of the interval
/// since the Unix epoch, so minute bars start on IST minutes (`day` bars on IST dates).
/// Prices are last prices; the volume is the rise of the ticks' cumulative `volume_traded`
/// over the bar (0 when the ticks carry none), so the four ticks of a fetched bar rebuild
/// that bar exactly, volume included.
#[derive(Debug, Clone)]
pub struct BarBuilder {
    interval: Interval,
    open: std::collections::HashMap<u32, Building>,
}

#[derive(Debug, Clone)]
struct Building {
    candle: Candle,
    /// The cumulative volume before the bar.
    base: u64,
    /// The last cumulative volume seen.
    last: Option<u64>,
}

impl BarBuilder {
    pub fn new(interval: Interval) -> Self {
        BarBuilder {
            interval,
            open: std::collections::HashMap::new(),
        }
    }

    /// The bar `at` falls in, as its start.
    fn bar_of(&self, at: DateTime<Utc>) -> Option<DateTime<Utc>> {
        if self.interval == Interval::Day {
            let date = at.with_timezone(&IST).date_naive();
            return date
                .and_time(chrono::NaiveTime::MIN)
                .and_local_timezone(IST)
                .single()
                .map(|t| t.with_timezone(&Utc));
        }
        let secs = self.interval.length().num_seconds().max(1);
        DateTime::from_timestamp(at.timestamp().div_euclid(secs) * secs, 0)
    }

    /// Takes one tick; answers the token's previous bar when this tick starts a new one.
    pub fn on_tick(
        &mut self,
        token: u32,
        at: DateTime<Utc>,
        price: Decimal,
        volume_traded: Option<u32>,
    ) -> Option<Candle> {
        let start = self.bar_of(at)?;
        let cumulative = volume_traded.map(u64::from);
        let fresh = |base: u64| {
            let prices = Ohlc {
                open: price,
                high: price,
                low: price,
                close: price,
            };
            Candle::new(start, token, prices, 0, None)
                .ok()
                .map(|candle| Building {
                    candle,
                    base,
                    last: cumulative,
                })
        };
        let Some(building) = self.open.get_mut(&token) else {
            if let Some(b) = fresh(cumulative.unwrap_or(0)) {
                self.open.insert(token, b);
            }
            return None;
        };
        if building.candle.start >= start {
            // The same bar (or a tick late for a newer one: folded into the open bar).
            let c = &mut building.candle;
            c.high = c.high.max(price);
            c.low = c.low.min(price);
            c.close = price;
            if cumulative.is_some() {
                building.last = cumulative;
            }
            return None;
        }
        let mut done = building.candle.clone();
        done.volume = building.last.map_or(0, |l| l.saturating_sub(building.base));
        let base = building.last.unwrap_or(0);
        // A new IST day restarts the exchange's cumulative volume.
        let base = match cumulative {
            Some(now) if now < base => 0,
            _ => base,
        };
        match fresh(base) {
            Some(b) => *building = b,
            None => {
                self.open.remove(&token);
            }
        }
        Some(done)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::market::candles::synthesize;
    use chrono::{Duration, TimeZone};

    fn at(h: u32, m: u32) -> DateTime<Utc> {
        IST.with_ymd_and_hms(2026, 1, 2, h, m, 0)
            .unwrap()
            .with_timezone(&Utc)
    }

    fn d(text: &str) -> Decimal {
        text.parse().unwrap()
    }

    fn candle(open: &str, high: &str, low: &str, close: &str) -> Candle {
        let prices = Ohlc {
            open: d(open),
            high: d(high),
            low: d(low),
            close: d(close),
        };
        Candle::new(at(9, 15), 408_065, prices, 1200, None).unwrap()
    }

    #[test]
    fn the_ticks_of_fetched_bars_rebuild_those_bars_volume_included() {
        let mut first = candle("100", "100.5", "99", "99.5");
        first.volume = 30;
        let mut second = candle("99.5", "101", "99.5", "100.75");
        second.start = at(9, 16);
        second.volume = 12;
        let mut builder = BarBuilder::new(Interval::Minute);
        let mut cumulative = 0u32;
        let mut rebuilt = Vec::new();
        for bar in [&first, &second] {
            let before = cumulative;
            for (k, t) in synthesize(bar, Interval::Minute).into_iter().enumerate() {
                if k == 3 {
                    cumulative += u32::try_from(bar.volume).unwrap();
                }
                let volume = if k == 3 { cumulative } else { before };
                rebuilt.extend(builder.on_tick(bar.token, t.at, t.price, Some(volume)));
            }
        }
        // The first bar completes with the second's open; the second is still open.
        assert_eq!(rebuilt, vec![first]);
        let next = builder.on_tick(408_065, at(9, 17), d("100"), Some(cumulative));
        assert_eq!(next, Some(second));
        // Without volumes, bars carry 0.
        let mut bare = BarBuilder::new(Interval::Minute);
        assert_eq!(bare.on_tick(1, at(9, 15), d("10"), None), None);
        assert_eq!(
            bare.on_tick(1, at(9, 15) + Duration::seconds(5), d("11"), None),
            None
        );
        let bar = bare.on_tick(1, at(9, 16), d("10.5"), None).unwrap();
        assert_eq!(
            (bar.open, bar.high, bar.close, bar.volume),
            (d("10"), d("11"), d("11"), 0)
        );
    }
}
