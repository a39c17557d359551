//! Kite's strict order rate, as the fake enforces it: order requests (place, modify,
//! cancel) per account, at most 10 in any sliding 1 s window and 200 in any sliding 60 s
//! window, measured by arrival time at the fake.
//!
//! Why: since April 2026 Kite answers 429 above 10 orders a second (KITE.md). The engine's
//! limiter must keep under it with whatever jitter the network adds; a soak test asserts
//! [`FakeKite::rate_violations`] is zero.
//!
//! Invariants:
//! - A request is let through when fewer than `per_second` admitted requests arrived less
//!   than 1 s before it and fewer than `per_minute` less than 60 s before it (so requests
//!   exactly a window apart never collide). Above it: 429 NetworkException
//!   "Too many requests", no effect, counted in `rate_violations`.
//! - Only requests let through count in the windows (a 429 had no effect). They count even
//!   when a later check refuses them: they reached the order endpoint.
//! - The window is checked after the route and `Authorization` checks (it is per account)
//!   and after the scripted `rate_limit_next`, whose 429s are neither counted here nor in
//!   the windows.
//! - Arrival time is read under the state lock, so it is monotonic in the order the fake
//!   acts. The clock is Tokio's (a test with paused time sees the client's sleeps), or a
//!   [`ManualClock`] a test advances by hand.

use super::FakeKite;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use tokio::time::Instant;

const SECOND: Duration = Duration::from_secs(1);
const MINUTE: Duration = Duration::from_secs(60);

/// How many order requests the windows let through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OrderRateLimits {
    /// In any sliding 1 s window.
    pub per_second: usize,
    /// In any sliding 60 s window.
    pub per_minute: usize,
}

impl Default for OrderRateLimits {
    /// Kite's: 10 a second, 200 a minute.
    fn default() -> Self {
        OrderRateLimits {
            per_second: 10,
            per_minute: 200,
        }
    }
}

/// The sliding windows (pure arithmetic on arrival times, tested with plain values).
#[derive(Debug, Default)]
pub(super) struct OrderWindow {
    limits: OrderRateLimits,
    /// Arrival times of the requests let through in the last minute, oldest first.
    admitted: VecDeque<Instant>,
}

impl OrderWindow {
    #[cfg(test)]
    pub fn new(limits: OrderRateLimits) -> OrderWindow {
        OrderWindow {
            limits,
            admitted: VecDeque::new(),
        }
    }

    /// Whether a request arriving at `now` (never before the previous arrival) may pass;
    /// records it when it may.
    pub fn admit(&mut self, now: Instant) -> bool {
        while self
            .admitted
            .front()
            .is_some_and(|&at| now.saturating_duration_since(at) >= MINUTE)
        {
            self.admitted.pop_front();
        }
        let in_second = self
            .admitted
            .iter()
            .rev()
            .take_while(|&&at| now.saturating_duration_since(at) < SECOND)
            .count();
        if in_second >= self.limits.per_second || self.admitted.len() >= self.limits.per_minute {
            return false;
        }
        self.admitted.push_back(now);
        true
    }
}

/// A clock a test moves by hand (see [`FakeKite::use_manual_clock`]).
#[derive(Debug, Clone)]
pub struct ManualClock(Arc<Mutex<Instant>>);

impl ManualClock {
    /// The time it shows.
    pub fn now(&self) -> Instant {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Moves it forward.
    pub fn advance(&self, by: Duration) {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner) += by;
    }
}

/// The windows, their clock and the count of refusals.
#[derive(Debug, Default)]
pub(super) struct OrderRate {
    pub window: OrderWindow,
    /// `None`: Tokio's clock.
    pub clock: Option<ManualClock>,
    pub violations: usize,
}

impl OrderRate {
    /// Whether an order request arriving now may pass; counts a violation when not.
    pub fn admit(&mut self) -> bool {
        let now = self
            .clock
            .as_ref()
            .map_or_else(Instant::now, ManualClock::now);
        let admitted = self.window.admit(now);
        if !admitted {
            self.violations += 1;
        }
        admitted
    }
}

impl FakeKite {
    /// How many order requests got 429 from the strict windows (not counting scripted
    /// `rate_limit_next` ones): a client that keeps Kite's rate sees 0.
    pub fn rate_violations(&self) -> usize {
        self.lock().rate.violations
    }

    /// Changes the windows' limits (a registered algo may be allowed more); the requests
    /// already let through keep counting.
    pub fn set_order_rate_limits(&self, limits: OrderRateLimits) {
        self.script(|state| {
            state.rate.window.limits = limits;
            Ok(())
        });
    }

    /// From now on arrival times come from the returned clock, which starts at the current
    /// time and moves only when the test advances it.
    pub fn use_manual_clock(&self) -> ManualClock {
        self.script(|state| {
            let clock = ManualClock(Arc::new(Mutex::new(Instant::now())));
            state.rate.clock = Some(clock.clone());
            Ok(clock)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(start: Instant, millis: u64) -> Instant {
        start + Duration::from_millis(millis)
    }

    /// Admits requests at these offsets (ms) and returns which passed.
    fn run(limits: OrderRateLimits, offsets_ms: &[u64]) -> Vec<bool> {
        let start = Instant::now();
        let mut window = OrderWindow::new(limits);
        offsets_ms
            .iter()
            .map(|&ms| window.admit(at(start, ms)))
            .collect()
    }

    #[test]
    fn the_eleventh_request_within_a_second_is_refused() {
        let offsets: Vec<u64> = (0..11).map(|i| i * 99).collect(); // last at 990 ms
        let passed = run(OrderRateLimits::default(), &offsets);
        assert_eq!(passed, [vec![true; 10], vec![false]].concat());
    }

    #[test]
    fn a_request_exactly_one_second_after_the_first_passes() {
        let mut offsets: Vec<u64> = (0..10).map(|i| i * 10).collect();
        offsets.extend([999, 1000, 1005, 1010]);
        let passed = run(OrderRateLimits::default(), &offsets);
        // 999: ten within the second; 1000: the one at 0 has left; 1005: only 1000's room
        // was freed; 1010: the one at 10 has left.
        assert_eq!(
            passed,
            [vec![true; 10], vec![false, true, false, true]].concat()
        );
    }

    #[test]
    fn refused_requests_do_not_fill_the_window() {
        let offsets: Vec<u64> = [vec![0; 10], vec![500; 5], vec![1000]].concat();
        let passed = run(OrderRateLimits::default(), &offsets);
        assert_eq!(
            passed,
            [vec![true; 10], vec![false; 5], vec![true]].concat()
        );
    }

    #[test]
    fn at_most_two_hundred_in_any_minute() {
        // Ten a second for twenty seconds fills the minute; the 201st waits for the first
        // second to be 60 s old.
        let mut offsets: Vec<u64> = (0..20)
            .flat_map(|s| (0..10).map(move |i| s * 1000 + i))
            .collect();
        // 60 000 frees the slot of the request at 0 and takes it; at the same instant the
        // minute is full again; 60 009 frees those at 1..=9.
        offsets.extend([30_000, 59_999, 60_000, 60_000, 60_009]);
        let passed = run(OrderRateLimits::default(), &offsets);
        let tail = &passed[200..];
        assert!(passed[..200].iter().all(|&p| p));
        assert_eq!(tail, [false, false, true, false, true]);
    }

    #[test]
    fn limits_are_configurable() {
        let limits = OrderRateLimits {
            per_second: 2,
            per_minute: 3,
        };
        let passed = run(limits, &[0, 1, 2, 1000, 1500, 2000, 60_000]);
        assert_eq!(passed, [true, true, false, true, false, false, true]);
    }
}
