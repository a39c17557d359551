//! The feed's counters: every outcome of every dial, frame and tick is counted.
//!
//! Each count goes two places through [`FeedStats::add`]: this incarnation's atomics (read
//! by `GetFeedStats` and the progress line) and the process-wide Prometheus counter
//! `alpha_panda_feed_<name>_total` ([`FeedCounter`]), which survives a restart of the actor.

use crate::telemetry::metrics::{self, FeedCounter};
use std::sync::atomic::{AtomicU64, Ordering};

#[derive(Debug, Default)]
pub struct FeedStats {
    pub connects: AtomicU64,
    /// Dials that did not end in a WebSocket session (refused, timed out, handshake
    /// refused).
    pub connect_failures: AtomicU64,
    /// Sessions ended and dials failed: each is followed by a reconnect.
    pub disconnects: AtomicU64,
    pub heartbeats: AtomicU64,
    pub frames: AtomicU64,
    pub ticks: AtomicU64,
    pub malformed_frames: AtomicU64,
    pub packet_errors: AtomicU64,
    pub conflated: AtomicU64,
    pub published: AtomicU64,
    pub publish_failures: AtomicU64,
    pub order_updates: AtomicU64,
    pub server_errors: AtomicU64,
    /// Valid packets for instruments this feed did not subscribe (not published).
    pub unsubscribed: AtomicU64,
    /// Ticks that failed the tick checks (`MarketTick::check`; not published).
    pub invalid: AtomicU64,
    /// Runtime subscription wishes that changed what is streamed.
    pub subscription_changes: AtomicU64,
    /// Runtime subscription wishes refused (past one connection's limit).
    pub subscriptions_refused: AtomicU64,
}

/// The counters at one moment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FeedStatsSnapshot {
    pub connects: u64,
    pub connect_failures: u64,
    pub disconnects: u64,
    pub heartbeats: u64,
    pub frames: u64,
    pub ticks: u64,
    pub malformed_frames: u64,
    pub packet_errors: u64,
    pub conflated: u64,
    pub published: u64,
    pub publish_failures: u64,
    pub order_updates: u64,
    pub server_errors: u64,
    pub unsubscribed: u64,
    pub invalid: u64,
    pub subscription_changes: u64,
    pub subscriptions_refused: u64,
}

impl FeedStats {
    /// Adds `n` to `counter` here and in `/metrics`; returns the value before.
    pub fn add(&self, counter: FeedCounter, n: u64) -> u64 {
        metrics::feed_count(counter, n);
        if counter == FeedCounter::Conflated {
            // The older, label-less name the bench reads.
            metrics::ticks_conflated(n);
        }
        self.atomic(counter).fetch_add(n, Ordering::Relaxed)
    }

    fn atomic(&self, counter: FeedCounter) -> &AtomicU64 {
        match counter {
            FeedCounter::Connects => &self.connects,
            FeedCounter::ConnectFailures => &self.connect_failures,
            FeedCounter::Disconnects => &self.disconnects,
            FeedCounter::Heartbeats => &self.heartbeats,
            FeedCounter::Frames => &self.frames,
            FeedCounter::Ticks => &self.ticks,
            FeedCounter::MalformedFrames => &self.malformed_frames,
            FeedCounter::PacketErrors => &self.packet_errors,
            FeedCounter::Conflated => &self.conflated,
            FeedCounter::Published => &self.published,
            FeedCounter::PublishFailures => &self.publish_failures,
            FeedCounter::OrderUpdates => &self.order_updates,
            FeedCounter::ServerErrors => &self.server_errors,
            FeedCounter::Unsubscribed => &self.unsubscribed,
            FeedCounter::Invalid => &self.invalid,
            FeedCounter::SubscriptionChanges => &self.subscription_changes,
            FeedCounter::SubscriptionsRefused => &self.subscriptions_refused,
        }
    }

    pub fn snapshot(&self) -> FeedStatsSnapshot {
        let g = |a: &AtomicU64| a.load(Ordering::Relaxed);
        FeedStatsSnapshot {
            connects: g(&self.connects),
            connect_failures: g(&self.connect_failures),
            disconnects: g(&self.disconnects),
            heartbeats: g(&self.heartbeats),
            frames: g(&self.frames),
            ticks: g(&self.ticks),
            malformed_frames: g(&self.malformed_frames),
            packet_errors: g(&self.packet_errors),
            conflated: g(&self.conflated),
            published: g(&self.published),
            publish_failures: g(&self.publish_failures),
            order_updates: g(&self.order_updates),
            server_errors: g(&self.server_errors),
            unsubscribed: g(&self.unsubscribed),
            invalid: g(&self.invalid),
            subscription_changes: g(&self.subscription_changes),
            subscriptions_refused: g(&self.subscriptions_refused),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_counter_has_its_own_atomic() {
        let stats = FeedStats::default();
        for (i, c) in FeedCounter::ALL.iter().enumerate() {
            stats.add(*c, i as u64 + 1);
        }
        let s = stats.snapshot();
        let got = [
            s.connects,
            s.connect_failures,
            s.disconnects,
            s.heartbeats,
            s.frames,
            s.ticks,
            s.malformed_frames,
            s.packet_errors,
            s.conflated,
            s.published,
            s.publish_failures,
            s.order_updates,
            s.server_errors,
            s.unsubscribed,
            s.invalid,
            s.subscription_changes,
            s.subscriptions_refused,
        ];
        let expected: Vec<u64> = (1..=FeedCounter::ALL.len() as u64).collect();
        assert_eq!(got.to_vec(), expected);
    }
}
