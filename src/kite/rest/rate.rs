//! Client-side rate limits: Kite allows about 10 order requests a second and 200 a
//! minute, and about 10 other requests a second; going over earns a 429. Each limit is a
//! sliding window — never more than `count` requests in any `per`-long interval — kept
//! as plain arithmetic on instants so it is tested without a clock.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// At most `count` requests in any window of `per`.
#[derive(Debug, Clone)]
pub struct Bucket {
    count: usize,
    per: Duration,
    /// Send times of the last `count` requests (some may lie in the future: reserved
    /// slots), ascending.
    sent: VecDeque<Instant>,
}

impl Bucket {
    /// `count = 0` is treated as 1 (settings require at least 1).
    pub fn new(count: u32, per: Duration) -> Bucket {
        let count = count.max(1) as usize;
        Bucket {
            count,
            per,
            sent: VecDeque::with_capacity(count + 1),
        }
    }

    /// Reserves the next slot: how long to wait from `now` before sending.
    pub fn reserve(&mut self, now: Instant) -> Duration {
        let at = self.earliest(now);
        self.record(at);
        at - now
    }

    /// The earliest instant from `now` at which one more request keeps the limit.
    fn earliest(&self, now: Instant) -> Instant {
        // The `count`-th most recent send must be a full window before this one.
        let mut at = match self.sent.len().checked_sub(self.count) {
            Some(i) => (self.sent[i] + self.per).max(now),
            None => now,
        };
        if let Some(&last) = self.sent.back() {
            at = at.max(last);
        }
        at
    }

    /// Records a send at `at` (not before any earlier one).
    fn record(&mut self, at: Instant) {
        self.sent.push_back(at);
        while self.sent.len() > self.count {
            self.sent.pop_front();
        }
    }
}

/// The limits of one Kite app.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimits {
    pub orders_per_sec: u32,
    pub orders_per_min: u32,
    pub requests_per_sec: u32,
}

impl Default for RateLimits {
    /// Kite's published limits.
    fn default() -> Self {
        RateLimits {
            orders_per_sec: 10,
            orders_per_min: 200,
            requests_per_sec: 10,
        }
    }
}

/// Which allowance a request draws on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Budget {
    /// Placing, modifying or cancelling an order.
    Order,
    /// Everything else (order book, trades, session).
    Other,
}

/// Every bucket of one app.
#[derive(Debug, Clone)]
pub struct RateLimiter {
    orders_per_sec: Bucket,
    orders_per_min: Bucket,
    requests_per_sec: Bucket,
}

/// How much longer than Kite's windows ours are. Requests reserved exactly a window apart
/// can reach Kite closer together (the earlier one delayed on the way, the later not): a run
/// against a strict fake saw 11 order requests within 0.97 s and 201 within 59.97 s. A tenth
/// of each window absorbs that jitter, at a tenth of the throughput.
pub const SAFETY_MARGIN_DIVISOR: u32 = 10;

fn with_margin(window: Duration) -> Duration {
    window + window / SAFETY_MARGIN_DIVISOR
}

impl RateLimiter {
    pub fn new(limits: RateLimits) -> RateLimiter {
        let (second, minute) = (Duration::from_secs(1), Duration::from_secs(60));
        RateLimiter {
            orders_per_sec: Bucket::new(limits.orders_per_sec, with_margin(second)),
            orders_per_min: Bucket::new(limits.orders_per_min, with_margin(minute)),
            requests_per_sec: Bucket::new(limits.requests_per_sec, with_margin(second)),
        }
    }

    /// How long to wait before a request of `budget` may go out.
    pub fn reserve(&mut self, budget: Budget, now: Instant) -> Duration {
        match self.reserve_by(budget, now, None) {
            Some(wait) => wait,
            // Unreachable: without a deadline a slot is always reserved.
            None => Duration::ZERO,
        }
    }

    /// Reserves the earliest slot for a request of `budget` if it comes no later than
    /// `deadline` (any slot when `None`): how long to wait from `now`. `None`: the limits
    /// allow nothing before the deadline, and nothing was reserved — the request must not
    /// go out (a placement that would wait past its handler or its signal's age).
    pub fn reserve_by(
        &mut self,
        budget: Budget,
        now: Instant,
        deadline: Option<Instant>,
    ) -> Option<Duration> {
        let at = match budget {
            // One send time that keeps both limits, recorded in both.
            Budget::Order => self
                .orders_per_sec
                .earliest(now)
                .max(self.orders_per_min.earliest(now)),
            Budget::Other => self.requests_per_sec.earliest(now),
        };
        if deadline.is_some_and(|deadline| at > deadline) {
            return None;
        }
        match budget {
            Budget::Order => {
                self.orders_per_sec.record(at);
                self.orders_per_min.record(at);
            }
            Budget::Other => self.requests_per_sec.record(at),
        }
        Some(at - now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    /// Sends as fast as `reserve` allows for `span`, returning the send times.
    fn flood(
        limiter: &mut RateLimiter,
        budget: Budget,
        t0: Instant,
        span: Duration,
    ) -> Vec<Instant> {
        let mut now = t0;
        let mut times = Vec::new();
        loop {
            now += limiter.reserve(budget, now);
            if now >= t0 + span {
                return times;
            }
            times.push(now);
        }
    }

    /// The most sends within any window of `per`.
    fn busiest(times: &[Instant], per: Duration) -> usize {
        (0..times.len())
            .map(|i| {
                times[i..]
                    .iter()
                    .take_while(|t| **t < times[i] + per)
                    .count()
            })
            .max()
            .unwrap_or(0)
    }

    #[test]
    fn allows_the_allowance_at_once_then_waits_for_the_window() {
        let t0 = Instant::now();
        let mut bucket = Bucket::new(10, Duration::from_secs(1));
        let waits: Vec<Duration> = (0..12).map(|_| bucket.reserve(t0)).collect();
        assert!(waits[..10].iter().all(|w| w.is_zero()), "{waits:?}");
        assert_eq!(waits[10], 1000 * MS);
        assert_eq!(waits[11], 1000 * MS);
        // After a quiet window the full allowance is available again.
        let later = t0 + Duration::from_secs(3);
        assert!((0..10).all(|_| bucket.reserve(later).is_zero()));
        assert_eq!(bucket.reserve(later), 1000 * MS);
    }

    #[test]
    fn a_slot_beyond_the_deadline_is_refused_and_not_reserved() {
        let t0 = Instant::now();
        let mut limiter = RateLimiter::new(RateLimits::default());
        for _ in 0..10 {
            assert_eq!(
                limiter.reserve_by(Budget::Order, t0, Some(t0)),
                Some(Duration::ZERO)
            );
        }
        // The 11th slot is a window (with its margin) later: 1.1 s.
        let deadline = t0 + 1000 * MS;
        assert_eq!(limiter.reserve_by(Budget::Order, t0, Some(deadline)), None);
        assert_eq!(
            limiter.reserve_by(Budget::Order, t0, Some(t0 + 1100 * MS)),
            Some(1100 * MS)
        );
        // The refused attempt took nothing: the 12th slot is the next one after the 11th.
        assert_eq!(limiter.reserve(Budget::Order, t0), 1100 * MS);
    }

    #[test]
    fn never_more_than_the_limit_in_any_window() {
        let t0 = Instant::now();
        let limits = RateLimits {
            orders_per_sec: 10,
            orders_per_min: 20,
            requests_per_sec: 5,
        };
        let mut limiter = RateLimiter::new(limits);
        let orders = flood(&mut limiter, Budget::Order, t0, Duration::from_secs(150));
        assert_eq!(busiest(&orders, Duration::from_secs(1)), 10);
        assert_eq!(busiest(&orders, Duration::from_secs(60)), 20);
        // 20 a minute for two and a half minutes: three windows' worth.
        assert_eq!(orders.len(), 60);
        // Other requests have their own allowance.
        let other = flood(&mut limiter, Budget::Other, t0, Duration::from_secs(10));
        assert_eq!(busiest(&other, Duration::from_secs(1)), 5);
        assert_eq!(other.len(), 50);
    }

    #[test]
    fn the_margin_keeps_the_limits_when_requests_arrive_late_by_up_to_a_tenth_of_a_window() {
        let t0 = Instant::now();
        let mut limiter = RateLimiter::new(RateLimits::default());
        let sent = flood(&mut limiter, Budget::Order, t0, Duration::from_secs(200));
        // Every other request reaches Kite 90 ms late (the worst case for the second
        // window is an early request followed by late ones, and the reverse).
        let arrived: Vec<Instant> = sent
            .iter()
            .enumerate()
            .map(|(i, t)| if i % 2 == 0 { *t + 90 * MS } else { *t })
            .collect();
        let mut arrived = arrived;
        arrived.sort();
        assert!(busiest(&arrived, Duration::from_secs(1)) <= 10);
        assert!(busiest(&arrived, Duration::from_secs(60)) <= 200);
        // The margin costs a tenth, not more: 200 orders every 66 s.
        assert_eq!(busiest(&sent, Duration::from_secs(66)), 200);
    }
}
