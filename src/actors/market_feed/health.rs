//! [`FeedHealth`]: the feed's link state for readiness, shared by every incarnation of the
//! feed actor and whoever answers `GET /health/ready`.
//!
//! Why: a feed that cannot connect, or is connected but silent while the market trades,
//! must turn readiness false and say why (issue 16: a hung handshake left readiness true).
//! The feed writes it at each transition (connected, disconnected with the cause, waiting
//! for the market open) and at each frame carrying ticks; readers take a snapshot.
//!
//! Invariants and costs: the hot path (a tick frame) is one atomic store of a timestamp
//! (and one more for `alpha_panda_feed_last_tick_timestamp_seconds`); transitions take a
//! short lock and happen once per connect attempt, and set `alpha_panda_feed_connected`. "Disconnected since"
//! is the first failure of a streak: repeated failed dials keep the time the link was lost
//! and update only the cause. [`FeedHealth::readiness`] is a pure function of the snapshot
//! and its arguments (no clock is read), so it is tested as a table.

use crate::telemetry::metrics;
use crate::telemetry::readiness::ReadinessCheck;
use chrono::{DateTime, SecondsFormat, Utc};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

/// The readiness check's name.
pub const CHECK: &str = "feed";

/// The default of "no tick for longer than this while the market is open is stale" (a
/// setting `feed.stale_after_secs` would override it). Liquid instruments tick every
/// second; a minute of silence on every subscribed instrument is an outage, not a lull.
pub const DEFAULT_STALE_AFTER: Duration = Duration::from_secs(60);

/// The link as the feed last reported it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Link {
    /// No dial has finished yet.
    Starting { since: DateTime<Utc> },
    /// A WebSocket session is up and subscribed.
    Connected { since: DateTime<Utc> },
    /// The last session ended or the last dial failed; the feed is redialling.
    Disconnected {
        since: DateTime<Utc>,
        last_error: String,
    },
    /// Deliberately not connected: `market_hours.enforce` and the market is closed.
    WaitingForOpen { until: DateTime<Utc> },
}

/// The feed's health at one moment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedStatus {
    pub link: Link,
    /// The last frame that carried ticks, in any session of this process.
    pub last_tick: Option<DateTime<Utc>>,
}

/// A cheap, shared handle on the feed's health (clones share it).
#[derive(Debug, Clone)]
pub struct FeedHealth(Arc<Inner>);

#[derive(Debug)]
struct Inner {
    link: Mutex<Link>,
    /// Unix milliseconds of the last tick frame; `i64::MIN`: none yet.
    last_tick_ms: AtomicI64,
}

impl Default for FeedHealth {
    fn default() -> Self {
        FeedHealth::starting_at(Utc::now())
    }
}

impl FeedHealth {
    /// A feed that has not connected yet, as of `now`.
    pub fn starting_at(now: DateTime<Utc>) -> Self {
        FeedHealth(Arc::new(Inner {
            link: Mutex::new(Link::Starting { since: now }),
            last_tick_ms: AtomicI64::new(i64::MIN),
        }))
    }

    fn set(&self, f: impl FnOnce(&Link) -> Link) {
        let mut link = self.0.link.lock().unwrap_or_else(PoisonError::into_inner);
        *link = f(&link);
        metrics::feed_connected(matches!(*link, Link::Connected { .. }));
    }

    /// A session is up (handshake done, instruments subscribed).
    pub fn connected(&self, at: DateTime<Utc>) {
        self.set(|_| Link::Connected { since: at });
    }

    /// A session ended or a dial failed, for `why` (without credentials).
    pub fn disconnected(&self, at: DateTime<Utc>, why: String) {
        self.set(|link| {
            let since = match link {
                // Still down: keep when the link was lost (or never came up).
                Link::Disconnected { since, .. } | Link::Starting { since } => *since,
                Link::Connected { .. } | Link::WaitingForOpen { .. } => at,
            };
            Link::Disconnected {
                since,
                last_error: why,
            }
        });
    }

    /// Not connecting until the market opens at `until`.
    pub fn waiting_for_open(&self, until: DateTime<Utc>) {
        self.set(|_| Link::WaitingForOpen { until });
    }

    /// A frame with ticks arrived (the hot path: one atomic store).
    pub fn tick(&self, at: DateTime<Utc>) {
        self.0
            .last_tick_ms
            .store(at.timestamp_millis(), Ordering::Relaxed);
        metrics::feed_ticked(at);
    }

    /// The state now.
    pub fn status(&self) -> FeedStatus {
        let link = self
            .0
            .link
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        let ms = self.0.last_tick_ms.load(Ordering::Relaxed);
        let last_tick = (ms != i64::MIN)
            .then(|| DateTime::<Utc>::from_timestamp_millis(ms))
            .flatten();
        FeedStatus { link, last_tick }
    }

    /// The `feed` readiness check at `now`: not ready while disconnected (since when, and
    /// the last error), nor when connected with no tick for longer than `stale_after`
    /// while `market_open`. Waiting for the open (market hours enforced) is ready.
    pub fn readiness(
        &self,
        now: DateTime<Utc>,
        market_open: bool,
        stale_after: Duration,
    ) -> ReadinessCheck {
        self.status().readiness(now, market_open, stale_after)
    }
}

impl FeedStatus {
    /// See [`FeedHealth::readiness`].
    pub fn readiness(
        &self,
        now: DateTime<Utc>,
        market_open: bool,
        stale_after: Duration,
    ) -> ReadinessCheck {
        let ago = |t: DateTime<Utc>| secs((now - t).to_std().unwrap_or_default());
        match &self.link {
            Link::Starting { since } => ReadinessCheck::not_ready(
                CHECK,
                format!(
                    "not connected yet (starting since {}, {} ago)",
                    stamp(*since),
                    ago(*since)
                ),
            ),
            Link::Disconnected { since, last_error } => ReadinessCheck::not_ready(
                CHECK,
                format!(
                    "disconnected since {} ({} ago); last error: {last_error}",
                    stamp(*since),
                    ago(*since)
                ),
            ),
            Link::WaitingForOpen { until } => ReadinessCheck::ready(
                CHECK,
                format!("market closed; connects at {}", stamp(*until)),
            ),
            Link::Connected { since } => {
                // Silence counts from the later of the last tick and this session's start,
                // so a fresh session gets `stale_after` to deliver its first tick.
                let quiet_from = self.last_tick.map_or(*since, |t| t.max(*since));
                let quiet = (now - quiet_from).to_std().unwrap_or_default();
                let last = match self.last_tick {
                    Some(t) => format!("last tick {} ago", ago(t)),
                    None => "no tick yet".to_owned(),
                };
                if market_open && quiet > stale_after {
                    ReadinessCheck::not_ready(
                        CHECK,
                        format!(
                            "connected since {} but stale: {last} (more than {} while the market is open)",
                            stamp(*since),
                            secs(stale_after)
                        ),
                    )
                } else {
                    let market = if market_open { "" } else { "; market closed" };
                    ReadinessCheck::ready(
                        CHECK,
                        format!("connected since {}; {last}{market}", stamp(*since)),
                    )
                }
            }
        }
    }
}

fn stamp(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn secs(d: Duration) -> String {
    format!("{}s", d.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: i64) -> DateTime<Utc> {
        DateTime::<Utc>::from_timestamp(1_790_000_000 + secs, 0).unwrap()
    }

    const STALE: Duration = Duration::from_secs(60);

    /// (name, health as built, now, market open, ready, detail)
    type Case = (
        &'static str,
        FeedHealth,
        DateTime<Utc>,
        bool,
        bool,
        &'static str,
    );

    fn health(build: impl FnOnce(&FeedHealth)) -> FeedHealth {
        let h = FeedHealth::starting_at(at(0));
        build(&h);
        h
    }

    #[test]
    fn readiness_by_link_state_ticks_and_market_hours() {
        let cases: Vec<Case> = vec![
            (
                "starting",
                health(|_| {}),
                at(3),
                true,
                false,
                "not connected yet (starting since 2026-09-21T14:13:20Z, 3s ago)",
            ),
            (
                "never connected: since the start, with the cause",
                health(|h| {
                    h.disconnected(
                        at(5),
                        "cannot connect: no WebSocket handshake within 5s".into(),
                    );
                    h.disconnected(at(10), "cannot connect: connection refused".into());
                }),
                at(12),
                true,
                false,
                "disconnected since 2026-09-21T14:13:20Z (12s ago); last error: cannot connect: connection refused",
            ),
            (
                "lost after a session: since the loss, even with the market closed",
                health(|h| {
                    h.connected(at(1));
                    h.tick(at(2));
                    h.disconnected(at(30), "closed by the server".into());
                    h.disconnected(at(31), "cannot connect: connection refused".into());
                }),
                at(40),
                false,
                false,
                "disconnected since 2026-09-21T14:13:50Z (10s ago); last error: cannot connect: connection refused",
            ),
            (
                "connected and fresh",
                health(|h| {
                    h.connected(at(1));
                    h.tick(at(50));
                }),
                at(100),
                true,
                true,
                "connected since 2026-09-21T14:13:21Z; last tick 50s ago",
            ),
            (
                "connected, silent for longer than stale_after while open",
                health(|h| {
                    h.connected(at(1));
                    h.tick(at(10));
                }),
                at(71),
                true,
                false,
                "connected since 2026-09-21T14:13:21Z but stale: last tick 61s ago (more than 60s while the market is open)",
            ),
            (
                "exactly stale_after is still fresh",
                health(|h| {
                    h.connected(at(1));
                    h.tick(at(10));
                }),
                at(70),
                true,
                true,
                "connected since 2026-09-21T14:13:21Z; last tick 60s ago",
            ),
            (
                "silent while the market is closed is ready",
                health(|h| {
                    h.connected(at(1));
                    h.tick(at(10));
                }),
                at(5_000),
                false,
                true,
                "connected since 2026-09-21T14:13:21Z; last tick 4990s ago; market closed",
            ),
            (
                "no tick since connecting, past stale_after",
                health(|h| h.connected(at(1))),
                at(62),
                true,
                false,
                "connected since 2026-09-21T14:13:21Z but stale: no tick yet (more than 60s while the market is open)",
            ),
            (
                "a new session gets stale_after for its first tick",
                health(|h| {
                    h.connected(at(1));
                    h.tick(at(2));
                    h.disconnected(at(100), "closed by the server".into());
                    h.connected(at(101));
                }),
                at(130),
                true,
                true,
                "connected since 2026-09-21T14:15:01Z; last tick 128s ago",
            ),
            (
                "waiting for the open (market hours enforced)",
                health(|h| {
                    h.connected(at(1));
                    h.waiting_for_open(at(60_000));
                }),
                at(100),
                false,
                true,
                "market closed; connects at 2026-09-22T06:53:20Z",
            ),
        ];
        for (name, health, now, market_open, ready, detail) in cases {
            let check = health.readiness(now, market_open, STALE);
            assert_eq!(check.name, "feed", "{name}");
            assert_eq!(
                (check.ready, check.detail.as_str()),
                (ready, detail),
                "{name}"
            );
        }
    }

    #[test]
    fn clones_share_the_state() {
        let a = FeedHealth::starting_at(at(0));
        let b = a.clone();
        a.connected(at(1));
        a.tick(at(2));
        assert_eq!(
            b.status(),
            FeedStatus {
                link: Link::Connected { since: at(1) },
                last_tick: Some(at(2)),
            }
        );
    }
}
