//! Backing off after a refusal, for strategies (the built-in kinds use it): an instrument
//! whose order ended without a fill may trade again only after a delay of tick time — 1 s, doubling on each further refusal of that
//! instrument up to 60 s, reset by a fill. Without it, a refusal that keeps holding (a
//! short refused by the venue, a position limit) would be retried on every tick.

use chrono::{DateTime, Duration, Utc};
use std::collections::HashMap;

const FIRST: Duration = Duration::seconds(1);
const LONGEST: Duration = Duration::seconds(60);

/// Per instrument: when it may trade again and the delay of the next refusal.
#[derive(Debug, Clone, Default)]
pub struct Retry {
    tokens: HashMap<u32, (DateTime<Utc>, Duration)>,
}

impl Retry {
    /// An order of `token` ended without a fill at `now`.
    pub fn refused(&mut self, token: u32, now: DateTime<Utc>) {
        let delay = self
            .tokens
            .get(&token)
            .map_or(FIRST, |(_, delay)| (*delay * 2).min(LONGEST));
        // At the end of time there is no later: it never trades again (no overflow panic).
        let until = now
            .checked_add_signed(delay)
            .unwrap_or(DateTime::<Utc>::MAX_UTC);
        self.tokens.insert(token, (until, delay));
    }

    /// An order of `token` filled: no more waiting.
    pub fn filled(&mut self, token: u32) {
        self.tokens.remove(&token);
    }

    /// Whether `token` may trade at `now`.
    pub fn ready(&self, token: u32, now: DateTime<Utc>) -> bool {
        self.tokens.get(&token).is_none_or(|(at, _)| now >= *at)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn waits_longer_after_each_refusal_and_a_fill_resets() {
        let t0 = Utc.with_ymd_and_hms(2026, 1, 1, 4, 0, 0).unwrap();
        let s = Duration::seconds;
        let mut retry = Retry::default();
        assert!(retry.ready(1, t0));
        retry.refused(1, t0);
        assert!(!retry.ready(1, t0 + Duration::milliseconds(999)));
        assert!(retry.ready(1, t0 + s(1)));
        assert!(retry.ready(2, t0), "other instruments are not held back");
        retry.refused(1, t0 + s(1));
        assert!(!retry.ready(1, t0 + s(2)));
        assert!(retry.ready(1, t0 + s(3)));
        for _ in 0..10 {
            retry.refused(1, t0);
        }
        assert!(!retry.ready(1, t0 + s(59)));
        assert!(
            retry.ready(1, t0 + s(60)),
            "the delay stops growing at 60 s"
        );
        retry.filled(1);
        assert!(retry.ready(1, t0));
    }
}
