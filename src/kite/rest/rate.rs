//! Client-side rate limits: Kite allows about 10 order requests a second and 200 a
//! minute, and about 10 other requests a second; going over earns a 429. Each limit is
//! a GCRA token bucket (a burst of the whole allowance, then an even pace), kept here as
//! plain arithmetic on instants so it is tested without a clock.

use std::time::{Duration, Instant};

/// `count` requests per `per`: a burst of `count`, then one every `per / count`.
#[derive(Debug, Clone)]
pub struct Bucket {
    interval: Duration,
    tolerance: Duration,
    /// Theoretical arrival time of the next request; `None` before the first.
    next: Option<Instant>,
}

impl Bucket {
    /// # Panics
    /// Never for `count >= 1` (settings validate that); `count = 0` is treated as 1.
    pub fn new(count: u32, per: Duration) -> Bucket {
        let interval = per / count.max(1);
        Bucket {
            interval,
            tolerance: per.saturating_sub(interval),
            next: None,
        }
    }

    /// Reserves the next slot: how long to wait from `now` before sending.
    pub fn reserve(&mut self, now: Instant) -> Duration {
        let tat = self.next.map_or(now, |t| t.max(now));
        // Allowed once `now >= tat - tolerance`.
        let allowed_at = tat.checked_sub(self.tolerance).map_or(now, |t| t.max(now));
        self.next = Some(tat + self.interval);
        allowed_at - now
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

impl RateLimiter {
    pub fn new(limits: RateLimits) -> RateLimiter {
        RateLimiter {
            orders_per_sec: Bucket::new(limits.orders_per_sec, Duration::from_secs(1)),
            orders_per_min: Bucket::new(limits.orders_per_min, Duration::from_secs(60)),
            requests_per_sec: Bucket::new(limits.requests_per_sec, Duration::from_secs(1)),
        }
    }

    /// How long to wait before a request of `budget` may go out.
    pub fn reserve(&mut self, budget: Budget, now: Instant) -> Duration {
        match budget {
            Budget::Order => self
                .orders_per_sec
                .reserve(now)
                .max(self.orders_per_min.reserve(now)),
            Budget::Other => self.requests_per_sec.reserve(now),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn allows_a_burst_of_the_allowance_then_an_even_pace() {
        let t0 = Instant::now();
        let mut bucket = Bucket::new(10, Duration::from_secs(1));
        let waits: Vec<Duration> = (0..12).map(|_| bucket.reserve(t0)).collect();
        assert!(waits[..10].iter().all(|w| w.is_zero()), "{waits:?}");
        assert_eq!(waits[10], 100 * MS);
        assert_eq!(waits[11], 200 * MS);
        // After a quiet second the full burst is available again.
        let later = t0 + Duration::from_secs(3);
        assert!((0..10).all(|_| bucket.reserve(later).is_zero()));
        assert_eq!(bucket.reserve(later), 100 * MS);
    }

    #[test]
    fn order_requests_respect_both_the_second_and_the_minute_limits() {
        let t0 = Instant::now();
        let mut limiter = RateLimiter::new(RateLimits {
            orders_per_sec: 10,
            orders_per_min: 20,
            requests_per_sec: 5,
        });
        let mut now = t0;
        let mut sent = 0;
        // Send as fast as allowed for 30 s of simulated time.
        while now < t0 + Duration::from_secs(30) {
            now += limiter.reserve(Budget::Order, now);
            sent += 1;
        }
        // 20 in the first burst, then one every 3 s: never more than 20 in any minute.
        assert_eq!(sent, 20 + 10);
        // Other requests have their own allowance.
        assert!((0..5).all(|_| limiter.reserve(Budget::Other, t0).is_zero()));
        assert_eq!(limiter.reserve(Budget::Other, t0), 200 * MS);
    }
}
