//! The `feed_stale` alert: the readiness check's verdict on the feed ([`FeedStatus::readiness`],
//! where staleness is decided), looked at on a timer, raised when it fails.
//!
//! Readiness is only computed when someone asks (`GET /health/ready`); an alert must not
//! wait for a probe, so [`watch`] asks every [`CHECK_EVERY`]. A failing check is raised
//! at every look; the dispatcher's dedup turns that into one message per window (a
//! reminder while it lasts). Invariant: a link that went down (or has not come up) less
//! than `stale_after` ago is not alerted on — a reconnect blip or the start-up dial is
//! readiness's business, not a human's; a connected feed is alerted as soon as readiness
//! calls it stale, which already waited `stale_after`.

use std::time::Duration;

use chrono::{DateTime, Utc};

use super::health::{FeedHealth, FeedStatus, Link};
use crate::alerts::{self, Alert, AlertKind};
use crate::market::MarketCalendar;
use crate::market::hours::Session;

/// How often the watcher looks.
pub const CHECK_EVERY: Duration = Duration::from_secs(15);

impl FeedStatus {
    /// Why the feed deserves a `feed_stale` alert at `now`, if it does (see the module's
    /// invariant); the text is the readiness check's.
    pub fn stale_alert(
        &self,
        now: DateTime<Utc>,
        market_open: bool,
        stale_after: Duration,
    ) -> Option<String> {
        let down_since = match &self.link {
            Link::WaitingForOpen { .. } => return None,
            Link::Starting { since } | Link::Disconnected { since, .. } => Some(*since),
            Link::Connected { .. } => None,
        };
        if down_since.is_some_and(|since| (now - since).to_std().unwrap_or_default() <= stale_after)
        {
            return None;
        }
        let check = self.readiness(now, market_open, stale_after);
        (!check.ready).then_some(check.detail)
    }
}

/// Looks at `health` every `every` and raises `feed_stale` while it deserves it; ticks
/// are expected while `calendar` says the market is open (always without one). Runs until
/// the returned task is aborted.
pub fn watch(
    health: FeedHealth,
    calendar: Option<MarketCalendar>,
    stale_after: Duration,
    every: Duration,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut timer = tokio::time::interval(every);
        timer.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            timer.tick().await;
            let now = Utc::now();
            let open = calendar
                .as_ref()
                .is_none_or(|c| c.session_at(now) == Session::Normal);
            if let Some(why) = health.status().stale_alert(now, open, stale_after) {
                alerts::raise(Alert::new(
                    AlertKind::FeedStale,
                    super::SERVICE,
                    format!(
                        "market feed: {why}. No ticks: strategies see nothing new; check the Kite ticker, the network and the logs"
                    ),
                ));
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: i64) -> DateTime<Utc> {
        DateTime::<Utc>::from_timestamp(1_790_000_000 + secs, 0).unwrap()
    }

    const STALE: Duration = Duration::from_secs(60);

    #[test]
    fn alerts_when_readiness_calls_the_feed_stale_and_not_on_blips() {
        let connected_silent = FeedHealth::starting_at(at(0));
        connected_silent.connected(at(0));
        connected_silent.tick(at(10));
        let down_briefly = FeedHealth::starting_at(at(0));
        down_briefly.connected(at(0));
        down_briefly.disconnected(at(100), "closed by the server".into());
        let waiting = FeedHealth::starting_at(at(0));
        waiting.waiting_for_open(at(10_000));
        let never_up = FeedHealth::starting_at(at(0));
        // (case, health, now, market open, alerted)
        let cases: [(&str, &FeedHealth, i64, bool, bool); 8] = [
            (
                "silent past stale_after while open",
                &connected_silent,
                71,
                true,
                true,
            ),
            (
                "silent exactly stale_after",
                &connected_silent,
                70,
                true,
                false,
            ),
            (
                "silent while the market is closed",
                &connected_silent,
                500,
                false,
                false,
            ),
            (
                "down for less than stale_after",
                &down_briefly,
                150,
                true,
                false,
            ),
            (
                "down for longer than stale_after",
                &down_briefly,
                161,
                true,
                true,
            ),
            ("waiting for the open", &waiting, 500, true, false),
            ("still dialling at start", &never_up, 30, true, false),
            ("never came up", &never_up, 61, true, true),
        ];
        for (case, health, now, open, alerted) in cases {
            let got = health.status().stale_alert(at(now), open, STALE);
            assert_eq!(got.is_some(), alerted, "{case}: {got:?}");
        }
        let why = connected_silent
            .status()
            .stale_alert(at(71), true, STALE)
            .unwrap();
        assert!(why.contains("stale: last tick 61s ago"), "{why}");
    }

    #[tokio::test(start_paused = true)]
    async fn the_watcher_raises_feed_stale_on_its_timer() {
        let capture = crate::alerts::capture::Capture::start();
        let health = FeedHealth::starting_at(Utc::now() - chrono::Duration::seconds(120));
        let task = watch(health, None, STALE, CHECK_EVERY);
        // Paused time: the first tick of the interval is immediate; yield until it ran.
        for _ in 0..10 {
            if !capture.of(AlertKind::FeedStale).is_empty() {
                break;
            }
            tokio::task::yield_now().await;
        }
        task.abort();
        let raised = capture.of(AlertKind::FeedStale);
        assert_eq!(raised.len(), 1, "{raised:?}");
        assert!(
            raised[0].message.contains("not connected yet"),
            "{}",
            raised[0].message
        );
    }
}
