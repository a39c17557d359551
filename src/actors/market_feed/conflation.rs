//! The buffer between the socket reader and the publisher: every tick in arrival order
//! while the publisher keeps up, latest-wins per instrument once it does not.
//!
//! The reader never waits: it pushes every tick here. Up to `capacity` ticks
//! (`feed.max_pending_ticks`) wait in a plain queue and all of them are published, in
//! order: a reader that takes several frames in one read (a burst, or a busy thread) does
//! not cost any tick. Past that the publisher is behind for real, and the overflow is
//! conflated: a newer tick for an instrument replaces its older unpublished one (counted),
//! so under pressure each instrument still gets its latest price out and memory stays
//! bounded by the capacity plus one tick per instrument.
//!
//! Per-instrument order is kept: while the overflow holds anything, new ticks join it
//! (not the queue), and the queue is always published before the overflow.

use crate::kite::ticker::KiteTick;
use std::collections::{HashMap, VecDeque};

#[derive(Debug)]
pub struct Conflator {
    queue: VecDeque<KiteTick>,
    capacity: usize,
    /// The overflow: instruments in the order their first unpublished tick arrived, and
    /// each one's latest tick.
    order: VecDeque<u32>,
    latest: HashMap<u32, KiteTick>,
    conflated: u64,
}

impl Conflator {
    /// A buffer that queues up to `capacity` ticks before conflating (at least 1).
    pub fn new(capacity: usize) -> Self {
        Conflator {
            queue: VecDeque::new(),
            capacity: capacity.max(1),
            order: VecDeque::new(),
            latest: HashMap::new(),
            conflated: 0,
        }
    }

    /// Adds a tick; returns `true` if it replaced an unpublished one.
    pub fn push(&mut self, tick: KiteTick) -> bool {
        if self.order.is_empty() && self.queue.len() < self.capacity {
            self.queue.push_back(tick);
            return false;
        }
        match self.latest.insert(tick.token, tick) {
            Some(_) => {
                // The metric is the caller's (`FeedStats::add`): counted once, there.
                self.conflated += 1;
                true
            }
            None => {
                self.order.push_back(tick.token);
                false
            }
        }
    }

    /// The next tick to publish: the queue's oldest, then the overflow's oldest instrument.
    pub fn pop(&mut self) -> Option<KiteTick> {
        if let Some(tick) = self.queue.pop_front() {
            return Some(tick);
        }
        let token = self.order.pop_front()?;
        self.latest.remove(&token)
    }

    pub fn len(&self) -> usize {
        self.queue.len() + self.order.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Ticks replaced before they were published, since the start.
    pub fn conflated(&self) -> u64 {
        self.conflated
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kite::ticker::PacketKind;
    use rust_decimal::Decimal;

    fn tick(token: u32, price: i64) -> KiteTick {
        let mut t = KiteTick::empty(PacketKind::Ltp, token);
        t.last_price = Decimal::new(price, 2);
        t
    }

    #[test]
    fn below_capacity_every_tick_is_kept_in_arrival_order() {
        let mut c = Conflator::new(10);
        for (token, price) in [(1, 100), (1, 101), (2, 200), (1, 102)] {
            assert!(!c.push(tick(token, price)));
        }
        let out: Vec<(u32, Decimal)> = std::iter::from_fn(|| c.pop())
            .map(|t| (t.token, t.last_price))
            .collect();
        assert_eq!(
            out,
            [(1, 100), (1, 101), (2, 200), (1, 102)].map(|(t, p)| (t, Decimal::new(p, 2)))
        );
        assert_eq!(c.conflated(), 0);
    }

    #[test]
    fn past_capacity_the_overflow_keeps_the_latest_tick_per_instrument_after_the_queue() {
        let mut c = Conflator::new(2);
        assert!(!c.push(tick(1, 100)));
        assert!(!c.push(tick(2, 200)));
        // Full: the overflow starts, latest-wins.
        assert!(!c.push(tick(1, 101)));
        assert!(!c.push(tick(3, 300)));
        assert!(c.push(tick(1, 102)), "replaces the waiting 101");
        assert_eq!(c.len(), 4);
        let out: Vec<(u32, Decimal)> = std::iter::from_fn(|| c.pop())
            .map(|t| (t.token, t.last_price))
            .collect();
        assert_eq!(
            out,
            [(1, 100), (2, 200), (1, 102), (3, 300)].map(|(t, p)| (t, Decimal::new(p, 2)))
        );
        assert_eq!(c.conflated(), 1);
    }

    #[test]
    fn while_the_overflow_drains_new_ticks_join_it_so_no_instrument_goes_backwards() {
        let mut c = Conflator::new(1);
        c.push(tick(1, 100));
        c.push(tick(1, 101)); // overflow
        assert_eq!(c.pop(), Some(tick(1, 100)));
        // The queue has room again, but the overflow still holds 1's 101: a newer tick
        // must not overtake it.
        assert!(c.push(tick(1, 102)), "joins the overflow, replacing 101");
        assert_eq!(c.pop(), Some(tick(1, 102)));
        assert_eq!(c.pop(), None);
        assert!(!c.push(tick(1, 103)), "empty again: queued");
        assert_eq!(c.pop(), Some(tick(1, 103)));
    }
}
