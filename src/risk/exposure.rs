//! Orders in flight: every order this broker's risk validated that has not yet completely
//! filled or ended, with what is left of it. Derived from events only — a validation adds
//! one, a fill lowers what is left (by its cumulative quantity, so a repeated fill changes
//! nothing), a failure removes it — so a rebuild from the topics gives the same set, and
//! the open-order count is its size, never a counter that drifts after a crash.
//!
//! Every order is a DAY order: one validated on an earlier IST day than the current one
//! cannot still be working, and is dropped when the day rolls (its failure may have been
//! lost with a dead-lettered record).

use crate::messages::Side;
use chrono::NaiveDate;
use rust_decimal::Decimal;
use std::collections::BTreeMap;

/// One order in flight.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Pending {
    pub(crate) strategy_id: String,
    pub(crate) token: u32,
    pub(crate) side: Side,
    /// Not yet filled.
    pub(crate) remaining: u32,
    /// Its price (limit, else trigger, else the reference price of a market order): what
    /// a buy of an option puts at risk per unit.
    pub(crate) price: Decimal,
    /// The IST day it was validated on.
    pub(crate) day: NaiveDate,
}

/// Every order in flight, by client order id.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct InFlight {
    orders: BTreeMap<String, Pending>,
}

impl InFlight {
    /// A validated order (a repeat of a known id changes nothing).
    pub(crate) fn add(&mut self, order_id: String, pending: Pending) {
        if pending.remaining > 0 {
            self.orders.entry(order_id).or_insert(pending);
        }
    }

    /// A fill of `order_id`: what is left is `order_quantity − cumulative`; at zero the
    /// order is done. A fill of an unknown order (one the venue made, or one validated
    /// before the history) changes nothing.
    pub(crate) fn filled(&mut self, order_id: &str, cumulative: u32, order_quantity: u32) {
        let Some(pending) = self.orders.get_mut(order_id) else {
            return;
        };
        let left = order_quantity.saturating_sub(cumulative);
        if left == 0 {
            self.orders.remove(order_id);
        } else {
            pending.remaining = pending.remaining.min(left);
        }
    }

    /// The order ended without (complete) execution.
    pub(crate) fn ended(&mut self, order_id: &str) {
        self.orders.remove(order_id);
    }

    /// Drops orders validated before `day` (see the module docs); how many went.
    pub(crate) fn drop_before(&mut self, day: NaiveDate) -> usize {
        let before = self.orders.len();
        self.orders.retain(|_, p| p.day >= day);
        before - self.orders.len()
    }

    /// Quantity in flight for (`strategy`, `token`) on `side`.
    pub(crate) fn quantity(&self, strategy: &str, token: u32, side: Side) -> i64 {
        self.orders
            .values()
            .filter(|p| p.token == token && p.side == side && p.strategy_id == strategy)
            .map(|p| i64::from(p.remaining))
            .sum()
    }

    /// Orders in flight.
    pub(crate) fn len(&self) -> usize {
        self.orders.len()
    }

    /// Every order in flight, by client order id.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (&str, &Pending)> + '_ {
        self.orders.iter().map(|(id, p)| (id.as_str(), p))
    }
}
