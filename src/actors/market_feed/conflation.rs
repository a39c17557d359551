//! Latest-wins buffering between the socket reader and the publisher.
//!
//! The reader never waits: it pushes every tick here. The publisher takes instruments in
//! the order their first unpublished tick arrived. If a newer tick for an instrument comes
//! before the publisher took the older one, the older one is replaced (conflated) and
//! counted — under pressure each instrument still gets its latest price out, and the
//! buffer never holds more than one tick per instrument.

use crate::kite::ticker::KiteTick;
use std::collections::{HashMap, VecDeque};

#[derive(Debug, Default)]
pub struct Conflator {
    order: VecDeque<u32>,
    latest: HashMap<u32, KiteTick>,
    conflated: u64,
}

impl Conflator {
    /// Adds a tick; returns `true` if it replaced an unpublished one.
    pub fn push(&mut self, tick: KiteTick) -> bool {
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

    /// The oldest waiting instrument's latest tick.
    pub fn pop(&mut self) -> Option<KiteTick> {
        let token = self.order.pop_front()?;
        self.latest.remove(&token)
    }

    pub fn len(&self) -> usize {
        self.order.len()
    }

    pub fn is_empty(&self) -> bool {
        self.order.is_empty()
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
    fn keeps_arrival_order_and_the_latest_tick_per_instrument() {
        let mut c = Conflator::default();
        assert!(!c.push(tick(1, 100)));
        assert!(!c.push(tick(2, 200)));
        assert!(
            c.push(tick(1, 101)),
            "newer tick for 1 replaces the waiting one"
        );
        assert_eq!(c.len(), 2);
        assert_eq!(c.pop(), Some(tick(1, 101)));
        assert_eq!(c.pop(), Some(tick(2, 200)));
        assert_eq!(c.pop(), None);
        assert_eq!(c.conflated(), 1);
    }

    #[test]
    fn a_published_instrument_queues_again_behind_the_others() {
        let mut c = Conflator::default();
        c.push(tick(1, 100));
        c.push(tick(2, 200));
        assert_eq!(c.pop().map(|t| t.token), Some(1));
        c.push(tick(1, 102));
        assert_eq!(c.pop().map(|t| t.token), Some(2));
        assert_eq!(c.pop(), Some(tick(1, 102)));
        assert_eq!(c.conflated(), 0);
    }
}
