//! Exponential backoff with jitter, shared by handler retries, output redelivery and (later)
//! reconnects. Pure arithmetic: the caller sleeps.

use crate::settings::RetrySettings;
use rand::Rng;
use std::time::Duration;

/// Delays of `base * factor^(n-1)`, capped at `max`, each scaled by a random factor in
/// `[1 - jitter, 1 + jitter]` (then capped again) so that many consumers failing together do
/// not retry in lockstep.
#[derive(Debug, Clone)]
pub struct Backoff {
    base: Duration,
    factor: f64,
    max: Duration,
    jitter: f64,
    attempts: u32,
}

impl Backoff {
    pub fn new(settings: &RetrySettings) -> Self {
        Backoff {
            base: settings.base(),
            factor: settings.factor,
            max: settings.max(),
            jitter: settings.jitter,
            attempts: settings.attempts,
        }
    }

    /// Total tries, the first included.
    pub fn attempts(&self) -> u32 {
        self.attempts
    }

    /// The delay before retry number `retry` (1-based), without jitter.
    pub fn nominal_delay(&self, retry: u32) -> Duration {
        let exp = self.factor.powi(retry.saturating_sub(1).min(64) as i32);
        let ms = (self.base.as_millis() as f64 * exp).min(self.max.as_millis() as f64);
        Duration::from_millis(ms as u64)
    }

    /// The delay before retry number `retry` (1-based), with jitter.
    pub fn delay(&self, retry: u32) -> Duration {
        let nominal = self.nominal_delay(retry).as_millis() as f64;
        let scale = if self.jitter > 0.0 {
            rand::rng().random_range((1.0 - self.jitter)..=(1.0 + self.jitter))
        } else {
            1.0
        };
        let ms = (nominal * scale).min(self.max.as_millis() as f64).max(0.0);
        Duration::from_millis(ms as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(jitter: f64) -> RetrySettings {
        RetrySettings {
            base_ms: 100,
            factor: 2.0,
            max_ms: 1000,
            attempts: 5,
            jitter,
        }
    }

    #[test]
    fn grows_exponentially_and_caps() {
        let b = Backoff::new(&settings(0.0));
        let got: Vec<u64> = (1..=6).map(|n| b.delay(n).as_millis() as u64).collect();
        assert_eq!(got, vec![100, 200, 400, 800, 1000, 1000]);
    }

    #[test]
    fn jitter_stays_within_its_band_and_under_the_cap() {
        let b = Backoff::new(&settings(0.5));
        for _ in 0..1000 {
            let d = b.delay(2).as_millis();
            assert!((100..=300).contains(&d), "{d}");
            assert!(b.delay(10).as_millis() <= 1000);
        }
    }
}
