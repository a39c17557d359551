//! The arithmetic of restarting: how many restarts the budget allows and how long to wait
//! before the next one. Plain values and `Instant`s — no actors, no clocks of its own.

use crate::settings::RestartPolicy;
use rand::Rng;
use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// At most `max_restarts` restarts within any `within` window.
#[derive(Debug, Clone)]
pub struct RestartBudget {
    max_restarts: u32,
    within: Duration,
    recent: VecDeque<Instant>,
}

impl RestartBudget {
    pub fn new(policy: &RestartPolicy) -> Self {
        RestartBudget {
            max_restarts: policy.max_restarts,
            within: policy.within(),
            recent: VecDeque::new(),
        }
    }

    /// Records a restart wanted at `now`. `false` means the budget is spent: escalate
    /// instead of restarting.
    pub fn allow(&mut self, now: Instant) -> bool {
        self.forget_before(now);
        if self.recent.len() as u32 >= self.max_restarts {
            return false;
        }
        self.recent.push_back(now);
        true
    }

    /// Restarts inside the current window.
    pub fn in_window(&mut self, now: Instant) -> u32 {
        self.forget_before(now);
        self.recent.len() as u32
    }

    fn forget_before(&mut self, now: Instant) {
        while let Some(first) = self.recent.front() {
            if now.saturating_duration_since(*first) >= self.within {
                self.recent.pop_front();
            } else {
                break;
            }
        }
    }
}

/// Exponential backoff between restarts, reset after a healthy run.
#[derive(Debug, Clone)]
pub struct RestartBackoff {
    initial: Duration,
    max: Duration,
    multiplier: f64,
    jitter: f64,
    reset_after: Duration,
    /// Restarts since the last reset (0 → the next delay is `initial`).
    consecutive: u32,
}

impl RestartBackoff {
    pub fn new(policy: &RestartPolicy) -> Self {
        RestartBackoff {
            initial: policy.backoff_initial(),
            max: policy.backoff_max(),
            multiplier: policy.backoff_multiplier,
            jitter: policy.jitter,
            reset_after: policy.reset_after(),
            consecutive: 0,
        }
    }

    /// The delay before restarting a child that had been running for `ran_for`, without
    /// jitter: `initial · multiplier^n`, capped, where `n` counts the restarts since the child
    /// last stayed up for `reset_after`.
    pub fn next_nominal(&mut self, ran_for: Duration) -> Duration {
        if ran_for >= self.reset_after {
            self.consecutive = 0;
        }
        let exp = self.multiplier.powi(self.consecutive.min(64) as i32);
        self.consecutive = self.consecutive.saturating_add(1);
        let ms = (self.initial.as_millis() as f64 * exp).min(self.max.as_millis() as f64);
        Duration::from_millis(ms as u64)
    }

    /// [`Self::next_nominal`] spread by ±`jitter` and capped at `backoff_max`.
    pub fn next(&mut self, ran_for: Duration) -> Duration {
        let nominal = self.next_nominal(ran_for).as_millis() as f64;
        let scale = if self.jitter > 0.0 {
            rand::rng().random_range((1.0 - self.jitter)..=(1.0 + self.jitter))
        } else {
            1.0
        };
        Duration::from_millis((nominal * scale).min(self.max.as_millis() as f64) as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::RestartType;

    fn policy(jitter: f64) -> RestartPolicy {
        RestartPolicy {
            restart: RestartType::Permanent,
            max_restarts: 3,
            within_secs: 10,
            backoff_initial_ms: 100,
            backoff_max_ms: 1000,
            backoff_multiplier: 2.0,
            jitter,
            reset_after_secs: 30,
            stop_timeout_ms: 1000,
        }
    }

    #[test]
    fn budget_allows_max_restarts_per_window_then_refuses() {
        let mut b = RestartBudget::new(&policy(0.0));
        let t0 = Instant::now();
        assert!(b.allow(t0));
        assert!(b.allow(t0 + Duration::from_secs(1)));
        assert!(b.allow(t0 + Duration::from_secs(2)));
        assert!(
            !b.allow(t0 + Duration::from_secs(3)),
            "a 4th restart within 10 s"
        );
        assert_eq!(b.in_window(t0 + Duration::from_secs(3)), 3);
        // Once the first restart is 10 s old, there is room again.
        assert!(b.allow(t0 + Duration::from_secs(10)));
        assert_eq!(b.in_window(t0 + Duration::from_secs(10)), 3);
    }

    #[test]
    fn zero_budget_escalates_on_the_first_failure() {
        let mut p = policy(0.0);
        p.max_restarts = 0;
        assert!(!RestartBudget::new(&p).allow(Instant::now()));
    }

    #[test]
    fn backoff_multiplies_caps_and_resets_after_a_healthy_run() {
        let mut b = RestartBackoff::new(&policy(0.0));
        let quick = Duration::from_secs(1);
        let delays: Vec<u128> = (0..6).map(|_| b.next(quick).as_millis()).collect();
        assert_eq!(delays, vec![100, 200, 400, 800, 1000, 1000]);
        assert_eq!(b.next(Duration::from_secs(30)).as_millis(), 100, "reset");
        assert_eq!(b.next(quick).as_millis(), 200);
    }

    #[test]
    fn jitter_stays_within_its_band_and_under_the_cap() {
        let mut b = RestartBackoff::new(&policy(0.5));
        for _ in 0..500 {
            let first = b.next(Duration::from_secs(60)).as_millis();
            assert!((50..=150).contains(&first), "{first}");
        }
        for _ in 0..10 {
            b.next(Duration::ZERO);
        }
        assert!(b.next(Duration::ZERO).as_millis() <= 1000);
    }
}
