//! The sending policy as plain structs: [`Deduper`] (the same alert once per window) and
//! [`RateLimiter`] (at most N messages per window per target, the rest summarised).
//!
//! Both take the time as an argument and read no clock, so they are tested with made-up
//! instants. Memory is bounded: the deduper forgets keys whose window has passed once it
//! holds more than [`Deduper::PRUNE_ABOVE`] keys, and the limiter keeps at most `max`
//! send times plus one counter per kind.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::time::{Duration, Instant};

use super::{AlertKey, AlertKind};

/// Sends an alert key at most once per window.
#[derive(Debug)]
pub struct Deduper {
    window: Duration,
    seen: HashMap<AlertKey, Seen>,
}

#[derive(Debug)]
struct Seen {
    sent_at: Instant,
    /// Repeats held back since `sent_at`.
    held: u32,
}

impl Deduper {
    /// Keys kept before expired ones are forgotten.
    pub const PRUNE_ABOVE: usize = 1_024;

    pub fn new(window: Duration) -> Self {
        Deduper {
            window,
            seen: HashMap::new(),
        }
    }

    /// `Some(held)` if the alert with `key` is to be sent at `now` (`held`: its repeats
    /// held back since it was last sent); `None` if it repeats one sent within the window.
    pub fn admit(&mut self, key: &AlertKey, now: Instant) -> Option<u32> {
        if self.window.is_zero() {
            return Some(0);
        }
        if let Some(seen) = self.seen.get_mut(key) {
            if now.saturating_duration_since(seen.sent_at) < self.window {
                seen.held = seen.held.saturating_add(1);
                return None;
            }
            let held = seen.held;
            *seen = Seen {
                sent_at: now,
                held: 0,
            };
            return Some(held);
        }
        if self.seen.len() >= Self::PRUNE_ABOVE {
            let window = self.window;
            self.seen
                .retain(|_, s| now.saturating_duration_since(s.sent_at) < window);
        }
        self.seen.insert(
            key.clone(),
            Seen {
                sent_at: now,
                held: 0,
            },
        );
        Some(0)
    }

    /// Keys remembered (for the bound's test).
    pub fn len(&self) -> usize {
        self.seen.len()
    }

    pub fn is_empty(&self) -> bool {
        self.seen.is_empty()
    }
}

/// At most `max` messages in any `window` for one target. Alerts over the limit are
/// counted per kind and reported by one summary, which takes the next free slot before
/// any new alert does.
#[derive(Debug)]
pub struct RateLimiter {
    max: usize,
    window: Duration,
    /// Send times within the last window, oldest first.
    sent: VecDeque<Instant>,
    suppressed: BTreeMap<AlertKind, u32>,
}

/// Alerts held back by the rate limit, by kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Suppressed(pub BTreeMap<AlertKind, u32>);

impl Suppressed {
    pub fn total(&self) -> u32 {
        self.0.values().fold(0u32, |a, n| a.saturating_add(*n))
    }
}

impl RateLimiter {
    /// `max` is at least 1 (a limit of zero would hold every alert back forever).
    pub fn new(max: u32, window: Duration) -> Self {
        RateLimiter {
            max: (max as usize).max(1),
            window,
            sent: VecDeque::new(),
            suppressed: BTreeMap::new(),
        }
    }

    fn forget_old(&mut self, now: Instant) {
        while let Some(first) = self.sent.front() {
            if now.saturating_duration_since(*first) >= self.window {
                self.sent.pop_front();
            } else {
                break;
            }
        }
    }

    fn has_slot(&mut self, now: Instant) -> bool {
        self.forget_old(now);
        self.sent.len() < self.max
    }

    /// The summary of what was held back, if there is one and a slot is free at `now`
    /// (the slot is taken). Send it before any new alert.
    pub fn take_summary(&mut self, now: Instant) -> Option<Suppressed> {
        if self.suppressed.is_empty() || !self.has_slot(now) {
            return None;
        }
        self.sent.push_back(now);
        Some(Suppressed(std::mem::take(&mut self.suppressed)))
    }

    /// `true`: an alert of `kind` may be sent at `now` (a slot is taken); `false`: it is
    /// over the limit and counted for the summary. A pending summary goes first: call
    /// [`take_summary`](Self::take_summary) before this.
    pub fn admit(&mut self, kind: AlertKind, now: Instant) -> bool {
        if self.suppressed.is_empty() && self.has_slot(now) {
            self.sent.push_back(now);
            return true;
        }
        let n = self.suppressed.entry(kind).or_insert(0);
        *n = n.saturating_add(1);
        false
    }

    /// When a held-back summary can go out, seen at `now`: `now` if a slot is free, else
    /// the moment the oldest send leaves the window; `None` if nothing is held back.
    pub fn summary_at(&mut self, now: Instant) -> Option<Instant> {
        if self.suppressed.is_empty() {
            return None;
        }
        if self.has_slot(now) {
            return Some(now);
        }
        self.sent.front().map(|first| *first + self.window)
    }
}
