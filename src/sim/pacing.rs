//! How the simulator paces its ticks.
//!
//! [`Pacing::PerInstrument`] is the original behaviour: a global clock steps every
//! instrument `ticks_per_sec` times a second and each step sends one frame with a tick of
//! every subscribed instrument. A slow reader or a late timer coalesces steps, so the
//! total rate is approximate. [`Pacing::Total`] is open loop at a fixed total: tick `k`
//! of a connection falls due at `start + k / ticks_per_sec` whatever the reader does, and
//! every due tick is sent (a late wake-up sends a larger frame, never fewer ticks), taking
//! the subscribed instruments round-robin. Benchmarks use it.
//!
//! Invariant: after the schedule has run for `t` seconds, a [`Pacer`] has handed out
//! exactly `floor(t × ticks_per_sec)` ticks (up to the last wake-up).

use super::market::Market;
use crate::kite::ticker::KiteTick;
use crate::messages::TickMode;
use std::collections::BTreeMap;
use std::sync::Mutex;
use tokio::time::Instant;

/// How ticks are paced; see the module docs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Pacing {
    /// `SimulatorOptions::ticks_per_sec` steps a second, each a frame with a tick of every
    /// subscribed instrument (the default, used by [`super::Simulator::start`]).
    #[default]
    PerInstrument,
    /// Open loop: this many ticks a second per connection in total, over its subscribed
    /// instruments round-robin (`SimulatorOptions::ticks_per_sec` is not used).
    Total { ticks_per_sec: u32 },
}

/// Most ticks put in one frame: a long stall is caught up in several frames.
pub(super) const MAX_TICKS_PER_FRAME: usize = 1024;

const NANOS_PER_SEC: u128 = 1_000_000_000;

/// One connection's open-loop schedule.
#[derive(Debug)]
pub(super) struct Pacer {
    ticks_per_sec: u64,
    start: Option<Instant>,
    handed_out: u64,
}

impl Pacer {
    pub(super) fn new(ticks_per_sec: u32) -> Self {
        Pacer {
            ticks_per_sec: u64::from(ticks_per_sec.max(1)),
            start: None,
            handed_out: 0,
        }
    }

    /// Stops the schedule (nothing subscribed, or silent); the next [`Pacer::due`] starts
    /// a new one, so a pause never turns into a burst.
    pub(super) fn pause(&mut self) {
        self.start = None;
        self.handed_out = 0;
    }

    /// Waits until the next tick is due (starting the schedule now if it is not running)
    /// and answers how many ticks are due now (at least one).
    pub(super) async fn due(&mut self) -> u64 {
        let start = *self.start.get_or_insert_with(Instant::now);
        let rate = u128::from(self.ticks_per_sec);
        let next_ns = u128::from(self.handed_out + 1) * NANOS_PER_SEC / rate;
        let next = std::time::Duration::from_nanos(u64::try_from(next_ns).unwrap_or(u64::MAX));
        tokio::time::sleep_until(start + next).await;
        let elapsed_ns = start.elapsed().as_nanos();
        let total = u64::try_from(elapsed_ns * rate / NANOS_PER_SEC).unwrap_or(u64::MAX);
        // `total` counts the tick that was slept for, except for rounding of the clock.
        let due = total.saturating_sub(self.handed_out).max(1);
        self.handed_out += due;
        due
    }
}

/// Waits for the pacer's next due ticks (never, without a pacer).
pub(super) async fn paced(pacer: &mut Option<Pacer>) -> u64 {
    match pacer {
        Some(p) => p.due().await,
        None => std::future::pending().await,
    }
}

/// The next `count` ticks of the round-robin over `subscriptions` from `cursor`, each
/// instrument stepped before it ticks (a derivative steps its underlying too).
pub(super) fn paced_ticks(
    market: &Mutex<Market>,
    subscriptions: &BTreeMap<u32, TickMode>,
    cursor: &mut usize,
    count: usize,
) -> Vec<KiteTick> {
    let now = super::server::unix_now();
    let subscribed: Vec<(u32, TickMode)> = subscriptions.iter().map(|(t, m)| (*t, *m)).collect();
    let turn = round_robin(&subscribed, cursor, count);
    let Ok(mut market) = market.lock() else {
        return Vec::new();
    };
    turn.into_iter()
        .filter_map(|(token, mode)| {
            market.step(token, now);
            market.tick(token, mode, now)
        })
        .collect()
}

/// The next `count` subscriptions round-robin from `cursor` (which advances).
pub(super) fn round_robin<T: Copy>(items: &[T], cursor: &mut usize, count: usize) -> Vec<T> {
    if items.is_empty() {
        return Vec::new();
    }
    let out = (0..count)
        .map(|i| items[(*cursor + i) % items.len()])
        .collect();
    *cursor = (*cursor + count) % items.len();
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test(start_paused = true)]
    async fn hands_out_exactly_the_rate_times_the_elapsed_time() {
        let mut pacer = Pacer::new(2_000);
        let begin = Instant::now();
        let mut total = 0;
        while total < 4_000 {
            total += pacer.due().await;
        }
        assert_eq!(total, 4_000);
        assert_eq!(begin.elapsed(), Duration::from_secs(2));
    }

    #[tokio::test(start_paused = true)]
    async fn a_late_wake_up_gets_every_tick_that_fell_due_meanwhile() {
        let mut pacer = Pacer::new(1_000);
        assert_eq!(pacer.due().await, 1);
        tokio::time::advance(Duration::from_millis(50)).await;
        assert_eq!(pacer.due().await, 50);
    }

    #[tokio::test(start_paused = true)]
    async fn a_pause_starts_a_fresh_schedule_without_a_burst() {
        let mut pacer = Pacer::new(100);
        assert_eq!(pacer.due().await, 1);
        pacer.pause();
        tokio::time::advance(Duration::from_secs(5)).await;
        assert_eq!(pacer.due().await, 1);
    }

    #[test]
    fn round_robin_wraps_and_advances_the_cursor() {
        let mut cursor = 0;
        assert_eq!(round_robin(&[1, 2, 3], &mut cursor, 2), vec![1, 2]);
        assert_eq!(round_robin(&[1, 2, 3], &mut cursor, 4), vec![3, 1, 2, 3]);
        assert_eq!(cursor, 0);
        assert!(round_robin::<u32>(&[], &mut cursor, 3).is_empty());
    }
}
