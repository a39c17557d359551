//! The feed's counters: every outcome of every frame is counted.

use std::sync::atomic::{AtomicU64, Ordering};

#[derive(Debug, Default)]
pub struct FeedStats {
    pub connects: AtomicU64,
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
}

/// The counters at one moment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FeedStatsSnapshot {
    pub connects: u64,
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
}

impl FeedStats {
    pub fn snapshot(&self) -> FeedStatsSnapshot {
        let g = |a: &AtomicU64| a.load(Ordering::Relaxed);
        FeedStatsSnapshot {
            connects: g(&self.connects),
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
        }
    }
}
