//! The [`Ledger`]: what one (strategy, broker) really holds and has in flight, per
//! instrument, derived only from events — the signals it sent, the risk manager's
//! rejections, the venue's acknowledgements, fills and failures.
//!
//! Invariants:
//! - A position changes only by a fill. Sending an order adds a [`PendingOrder`]; its end
//!   (full fill, failure, rejection, no answer) removes it.
//! - Applying an event twice changes nothing: a fill counts only if its
//!   `cumulative_quantity` is above what its order has filled so far, an end only if its
//!   order is still pending. So a rebuild from the topics followed by live records that
//!   overlap it gives the same state as applying each event once.
//! - A fill moves the position by its own quantity, as the portfolio books it, so the two
//!   agree fill by fill; a lost partial fill (dead-lettered) is not made up by a later one.
//! - Fills of an order the ledger never saw sent (it was sent before the history the
//!   ledger was rebuilt from) still count, and a partially filled one becomes pending.
//! - An order that no one acknowledged (no venue acknowledgement, fill, failure or
//!   rejection) within the runner's timeout ends as [`EndKind::Unanswered`]: its signal was
//!   lost (dead-lettered, or dropped by a crash before risk saw it). A fill that still comes
//!   later counts.

use crate::messages::{
    OrderFailed, OrderFailureKind, OrderFilled, OrderType, RejectionCode, Side, TradingSignal,
    client_order_id_of_signal,
};
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::Serialize;
use std::collections::{HashMap, VecDeque};
use uuid::Uuid;

/// How many ended orders are remembered to recognise a late duplicate of their events.
const ENDED_REMEMBERED: usize = 100_000;

/// An order of the strategy that has not ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PendingOrder {
    /// The raw signal's envelope id.
    pub signal_id: Uuid,
    /// The order's id at the venue side (Kite's `tag`).
    pub client_order_id: String,
    pub side: Side,
    pub quantity: u32,
    /// Filled so far.
    pub filled: u32,
    pub order_type: OrderType,
    #[serde(with = "rust_decimal::serde::str_option")]
    pub price: Option<Decimal>,
    /// When the signal was sent (event time).
    pub sent_at: DateTime<Utc>,
    /// A venue acknowledged it (submitted, or a fill): it may rest for long.
    pub acknowledged: bool,
}

/// One instrument: the real position and the orders in flight.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct InstrumentBook {
    pub position: i64,
    /// Average price of the open position (average cost: fills that grow the position
    /// move it, fills that reduce it do not, a fill through zero starts it again at its
    /// own price); 0 when flat.
    #[serde(with = "rust_decimal::serde::str")]
    pub average_price: Decimal,
    pub pending: Vec<PendingOrder>,
}

impl InstrumentBook {
    /// Applies a fill of signed `delta` at `price` to the position and its average price.
    pub(super) fn apply(&mut self, delta: i64, price: Decimal) {
        let before = self.position;
        // Saturates rather than panics; a real position is nowhere near ±9.2·10¹⁸.
        let after = before.saturating_add(delta);
        let grows = before == 0 || (before > 0) == (delta > 0);
        if after == 0 {
            self.average_price = Decimal::ZERO;
        } else if (before > 0) != (after > 0) && before != 0 {
            self.average_price = price; // through zero: the rest is a new position
        } else if grows {
            let held = Decimal::from(before.unsigned_abs());
            let added = Decimal::from(delta.unsigned_abs());
            // Checked: quantities × prices beyond Decimal's range (only a fuzzer's) keep the
            // last fill's price rather than panic.
            let average = self
                .average_price
                .checked_mul(held)
                .zip(price.checked_mul(added))
                .and_then(|(a, b)| a.checked_add(b))
                .zip(held.checked_add(added))
                .and_then(|(cost, quantity)| cost.checked_div(quantity));
            self.average_price = average.unwrap_or(price);
        }
        self.position = after;
    }
}

/// Why an order ended without a full fill.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum EndKind {
    /// The risk manager refused the signal, with these rules.
    RejectedByRisk { codes: Vec<RejectionCode> },
    /// The venue (paper or Kite) ended the order: rejected, cancelled, expired, not placed,
    /// insufficient funds, shorting not allowed.
    Failed { failure: OrderFailureKind },
    /// Nothing answered within the timeout.
    Unanswered,
}

/// An order that ended without a full fill.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OrderEnded {
    pub order: PendingOrder,
    pub token: u32,
    pub kind: EndKind,
    /// The venue's or risk manager's words.
    pub message: String,
}

/// What a fill did to the ledger.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FillApplied {
    pub token: u32,
    /// Signed change of the position.
    pub delta: i64,
    /// The fill completed its order.
    pub completed: bool,
}

/// The real positions and orders in flight of one (strategy, broker), per instrument.
#[derive(Debug, Clone, Default)]
pub struct Ledger {
    instruments: HashMap<u32, InstrumentBook>,
    /// Pending orders: client order id → token.
    by_order: HashMap<String, u32>,
    /// Recently ended orders and what they had filled, to ignore their duplicates.
    ended: HashMap<String, u32>,
    ended_order: VecDeque<String>,
}

fn signed(side: Side, quantity: u32) -> i64 {
    match side {
        Side::Buy => i64::from(quantity),
        Side::Sell => -i64::from(quantity),
    }
}

impl Ledger {
    /// The signed position in `token`.
    pub fn position(&self, token: u32) -> i64 {
        self.instruments.get(&token).map_or(0, |i| i.position)
    }

    /// The average price of the open position in `token`; `None` when flat.
    pub fn average_price(&self, token: u32) -> Option<Decimal> {
        self.instruments
            .get(&token)
            .filter(|i| i.position != 0)
            .map(|i| i.average_price)
    }

    /// The orders of `token` in flight, oldest first.
    pub fn pending(&self, token: u32) -> &[PendingOrder] {
        self.instruments
            .get(&token)
            .map_or(&[], |i| i.pending.as_slice())
    }

    /// Every instrument with a position or an order in flight, by token.
    pub fn instruments(&self) -> impl Iterator<Item = (u32, &InstrumentBook)> {
        self.instruments
            .iter()
            .filter(|(_, i)| i.position != 0 || !i.pending.is_empty())
            .map(|(t, i)| (*t, i))
    }

    /// A signal was sent (its envelope id is `signal_id`): its order is pending.
    pub fn sent(&mut self, signal_id: Uuid, signal: &TradingSignal, at: DateTime<Utc>) {
        let client_order_id = client_order_id_of_signal(signal_id);
        if self.by_order.contains_key(&client_order_id) || self.ended.contains_key(&client_order_id)
        {
            return;
        }
        self.by_order.insert(client_order_id.clone(), signal.token);
        self.instruments
            .entry(signal.token)
            .or_default()
            .pending
            .push(PendingOrder {
                signal_id,
                client_order_id,
                side: signal.side,
                quantity: signal.quantity,
                filled: 0,
                order_type: signal.order_type,
                price: signal.price,
                sent_at: at,
                acknowledged: false,
            });
    }

    /// The risk manager rejected the signal `signal_id`.
    pub fn rejected(
        &mut self,
        signal_id: Uuid,
        codes: Vec<RejectionCode>,
        message: String,
    ) -> Option<OrderEnded> {
        let client_order_id = client_order_id_of_signal(signal_id);
        self.end(&client_order_id, EndKind::RejectedByRisk { codes }, message)
    }

    /// A venue acknowledged the order.
    pub fn acknowledged(&mut self, client_order_id: &str) {
        if let Some(order) = self.pending_mut(client_order_id) {
            order.acknowledged = true;
        }
    }

    /// A fill; `None` if it was applied before.
    pub fn filled(&mut self, fill: &OrderFilled) -> Option<FillApplied> {
        let id = &fill.order.client_order_id;
        let token = fill.order.token;
        let delta = signed(fill.order.side, fill.quantity);
        let complete = fill.cumulative_quantity >= fill.order_quantity;
        if let Some(order) = self.pending_mut(id) {
            if fill.cumulative_quantity <= order.filled {
                return None;
            }
            order.filled = fill.cumulative_quantity;
            order.acknowledged = true;
        } else {
            let before = self.ended.get(id).copied();
            if before.is_some_and(|filled| fill.cumulative_quantity <= filled) {
                return None;
            }
            if before.is_none() && !complete {
                // An order sent before the history this ledger was built from.
                self.adopt(fill);
            } else {
                self.remember_ended(id, fill.cumulative_quantity);
            }
        }
        self.instruments
            .entry(token)
            .or_default()
            .apply(delta, fill.price);
        if complete {
            self.remove(id);
            self.remember_ended(id, fill.cumulative_quantity);
        }
        Some(FillApplied {
            token,
            delta,
            completed: complete,
        })
    }

    /// The venue ended the order; `None` if it was not pending.
    pub fn failed(&mut self, failed: &OrderFailed) -> Option<OrderEnded> {
        let kind = EndKind::Failed {
            failure: failed.kind,
        };
        let ended = self.end(&failed.order.client_order_id, kind, failed.message.clone());
        if ended.is_none() {
            self.remember_ended(&failed.order.client_order_id, failed.filled_quantity);
        }
        ended
    }

    /// Ends the orders of `token` sent before `deadline` that nothing has answered.
    pub fn expire_unanswered(&mut self, token: u32, deadline: DateTime<Utc>) -> Vec<OrderEnded> {
        let stale: Vec<String> = self
            .pending(token)
            .iter()
            .filter(|o| !o.acknowledged && o.sent_at < deadline)
            .map(|o| o.client_order_id.clone())
            .collect();
        stale
            .iter()
            .filter_map(|id| {
                let message = "no answer from risk or the venue in time".to_owned();
                self.end(id, EndKind::Unanswered, message)
            })
            .collect()
    }

    fn end(&mut self, client_order_id: &str, kind: EndKind, message: String) -> Option<OrderEnded> {
        let token = *self.by_order.get(client_order_id)?;
        let order = self.remove(client_order_id)?;
        self.remember_ended(client_order_id, order.filled);
        Some(OrderEnded {
            order,
            token,
            kind,
            message,
        })
    }

    fn adopt(&mut self, fill: &OrderFilled) {
        let id = fill.order.client_order_id.clone();
        self.by_order.insert(id.clone(), fill.order.token);
        self.instruments
            .entry(fill.order.token)
            .or_default()
            .pending
            .push(PendingOrder {
                signal_id: Uuid::nil(),
                client_order_id: id,
                side: fill.order.side,
                quantity: fill.order_quantity,
                filled: fill.cumulative_quantity,
                order_type: OrderType::Market,
                price: None,
                sent_at: fill.filled_at,
                acknowledged: true,
            });
    }

    fn pending_mut(&mut self, client_order_id: &str) -> Option<&mut PendingOrder> {
        let token = self.by_order.get(client_order_id)?;
        self.instruments
            .get_mut(token)?
            .pending
            .iter_mut()
            .find(|o| o.client_order_id == client_order_id)
    }

    fn remove(&mut self, client_order_id: &str) -> Option<PendingOrder> {
        let token = self.by_order.remove(client_order_id)?;
        let book = self.instruments.get_mut(&token)?;
        let at = book
            .pending
            .iter()
            .position(|o| o.client_order_id == client_order_id)?;
        Some(book.pending.remove(at))
    }

    /// Remembers an ended order with the most it is known to have filled (a late fill or a
    /// replayed end must not lower it, or a replayed late fill would count twice).
    fn remember_ended(&mut self, client_order_id: &str, filled: u32) {
        let before = self.ended.get(client_order_id).copied();
        let filled = before.map_or(filled, |b| b.max(filled));
        if self
            .ended
            .insert(client_order_id.to_owned(), filled)
            .is_none()
        {
            self.ended_order.push_back(client_order_id.to_owned());
            if self.ended_order.len() > ENDED_REMEMBERED
                && let Some(oldest) = self.ended_order.pop_front()
            {
                self.ended.remove(&oldest);
            }
        }
    }
}
