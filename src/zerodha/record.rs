//! [`OrderRecord`]: one signal's order — its journal entry and lifecycle, over the one or
//! more Kite orders ([`Slice`]s) it is sent as.
//!
//! Downstream sees one order per signal, sliced or not: one submission (when the first
//! slice is at Kite, for the whole quantity), every slice's trades as fills of that order
//! with a cumulative quantity over all slices, and one end when every slice has ended. So
//! the strategy's ledger, risk and the portfolio know nothing of slices, and an order
//! never looks ended while a slice is still open. A fill names the Kite order it came from
//! (`broker_order_id`); the submission and the end name the first slice's.

use super::slice::{Outcome, Placement, Slice};
use super::slicing::slice_tag;
use super::target::OrderTarget;
use crate::kite::rest::{KiteOrder, KiteTrade, OrderParams, OrderStatus};
use crate::messages::{
    Broker, Envelope, OrderFailureKind, OrderRef, OrderType, ValidatedSignal, VenueEvent,
};
use crate::paper::ChargeSchedule;
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// One order's journal entry. Serialised into the store under
/// `zerodha:order:{client_order_id}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(from = "super::slice::RecordJson")]
pub struct OrderRecord {
    pub client_order_id: String,
    /// The cause of every event of this order (their ids derive from its id).
    pub signal: Envelope<ValidatedSignal>,
    pub target: OrderTarget,
    /// The Kite orders it is sent as, in placement order: one, or its slices.
    pub slices: Vec<Slice>,
    /// `orders.submitted` was produced.
    pub submitted: bool,
    /// Filled over all slices.
    pub filled_quantity: u32,
    pub outcome: Option<Outcome>,
}

impl OrderRecord {
    /// A record of one Kite order for the whole quantity, claimed at `now`, before
    /// anything is sent.
    pub fn new(
        client_order_id: String,
        signal: Envelope<ValidatedSignal>,
        target: OrderTarget,
        now: DateTime<Utc>,
    ) -> OrderRecord {
        let quantity = signal.data.signal.quantity;
        Self::sliced(client_order_id, signal, target, &[quantity], now)
    }

    /// A record of one Kite order per entry of `quantities` (one entry: not sliced). The
    /// first is claimed at `now` (the record's creation is its claim); the others are
    /// planned, not sent.
    pub fn sliced(
        client_order_id: String,
        signal: Envelope<ValidatedSignal>,
        target: OrderTarget,
        quantities: &[u32],
        now: DateTime<Utc>,
    ) -> OrderRecord {
        let slices = match quantities {
            [] | [_] => vec![Slice::new(
                client_order_id.clone(),
                signal.data.signal.quantity,
                Placement::Claimed { since: now },
            )],
            _ => quantities
                .iter()
                .enumerate()
                .map(|(i, quantity)| {
                    let placement = match i {
                        0 => Placement::Claimed { since: now },
                        _ => Placement::NotSent,
                    };
                    Slice::new(slice_tag(&client_order_id, i), *quantity, placement)
                })
                .collect(),
        };
        OrderRecord {
            client_order_id,
            signal,
            target,
            slices,
            submitted: false,
            filled_quantity: 0,
            outcome: None,
        }
    }

    /// The store key of `client_order_id`'s record.
    pub fn key(client_order_id: &str) -> String {
        format!("{}:order:{client_order_id}", Broker::Zerodha)
    }

    /// Ended, with every event produced: nothing more will happen to it.
    pub fn is_settled(&self) -> bool {
        self.outcome.is_some()
    }

    /// The Kite order id of the first slice at Kite.
    pub fn broker_order_id(&self) -> Option<&str> {
        self.slices.iter().find_map(Slice::broker_order_id)
    }

    /// The slice Kite knows by `tag`.
    pub fn slice_of(&self, tag: &str) -> Option<usize> {
        self.slices.iter().position(|s| s.tag == tag)
    }

    /// The first slice planned and not sent yet.
    pub fn next_unsent(&self) -> Option<usize> {
        self.slices
            .iter()
            .position(|s| !s.is_ended() && s.placement == Placement::NotSent)
    }

    /// Some slice was sent and its outcome is unknown.
    pub fn has_unknown(&self) -> bool {
        self.slices.iter().any(Slice::is_unknown)
    }

    /// Slice `index` may be at Kite from `now` on: journal this before sending it.
    pub fn claim(&mut self, index: usize, now: DateTime<Utc>) {
        self.slices[index].placement = Placement::Claimed { since: now };
    }

    /// The placement request of slice `index`.
    pub fn params(&self, index: usize) -> OrderParams {
        let s = &self.signal.data.signal;
        let slice = &self.slices[index];
        OrderParams {
            variety: self.target.variety,
            exchange: self.target.exchange.clone(),
            tradingsymbol: self.target.tradingsymbol.clone(),
            side: s.side,
            quantity: slice.quantity,
            product: self.target.product,
            order_type: self.sent_order_type(),
            price: self.sent_price(),
            trigger_price: s.trigger_price,
            validity: s.validity,
            tag: slice.tag.clone(),
            market_protection: self.target.market_protection,
        }
    }

    pub(super) fn order_ref(&self, broker_order_id: Option<&str>) -> OrderRef {
        let s = &self.signal.data.signal;
        OrderRef {
            client_order_id: self.client_order_id.clone(),
            broker_order_id: broker_order_id.map(str::to_owned),
            strategy_id: s.strategy_id.clone(),
            broker: Broker::Zerodha,
            token: s.token,
            symbol: s.symbol.clone(),
            side: s.side,
        }
    }

    pub(super) fn quantity(&self) -> u32 {
        self.signal.data.signal.quantity
    }

    /// Kite accepted slice `index` as `broker_order_id` at `now`.
    pub fn placed(
        &mut self,
        index: usize,
        broker_order_id: &str,
        now: DateTime<Utc>,
    ) -> Vec<VenueEvent> {
        let slice = &mut self.slices[index];
        slice.placement = Placement::Placed {
            broker_order_id: broker_order_id.to_owned(),
        };
        slice.placed_at.get_or_insert(now);
        self.submitted_event(index).into_iter().collect()
    }

    /// The slices due for a cancel at `now` (see [`Slice::cancel_due`]).
    pub fn cancel_due(&self, now: DateTime<Utc>, timeout: Duration, retry: Duration) -> Vec<usize> {
        if self.is_settled() {
            return Vec::new();
        }
        (0..self.slices.len())
            .filter(|i| self.slices[*i].cancel_due(now, timeout, retry))
            .collect()
    }

    /// Nothing of the order was placed, or will be (Kite's 4xx, our own refusal, a dry
    /// run): every slice not ended fails with `kind`.
    pub fn not_placed(&mut self, kind: OrderFailureKind, message: &str) -> Vec<VenueEvent> {
        self.not_placed_from(0, kind, message)
    }

    /// Slice `index` was definitively not placed, and the slices after it that were not
    /// sent will not be either: each ends with `kind` and `message`. Then the order ends
    /// if nothing else is open.
    pub fn not_placed_from(
        &mut self,
        index: usize,
        kind: OrderFailureKind,
        message: &str,
    ) -> Vec<VenueEvent> {
        for i in index..self.slices.len() {
            if i == index || self.slices[i].placement == Placement::NotSent {
                self.end_not_placed(i, kind, message);
            }
        }
        self.settle_if_ended().into_iter().collect()
    }

    /// Slice `index` alone was definitively not placed (Kite never listed it after its
    /// answer was lost); the order ends if nothing else is open.
    pub fn slice_not_placed(
        &mut self,
        index: usize,
        kind: OrderFailureKind,
        message: &str,
    ) -> Vec<VenueEvent> {
        self.end_not_placed(index, kind, message);
        self.settle_if_ended().into_iter().collect()
    }

    fn end_not_placed(&mut self, index: usize, kind: OrderFailureKind, message: &str) {
        let slice = &mut self.slices[index];
        if slice.is_ended() {
            return;
        }
        slice.placement = Placement::NotPlaced;
        slice.end = Some(Outcome::Failed {
            kind,
            message: message.to_owned(),
        });
    }

    /// Applies Kite's view of slice `index` (from `GET /orders` or an order update) and
    /// its trades, returning the events not produced before: the submission, each new
    /// fill in execution order, then the order's failure if this was the last slice to
    /// end and the order is not filled completely. When Kite reports more filled than the
    /// trades explain, the slice's end waits for the missing trades
    /// ([`Self::needs_trades`]).
    pub fn apply(
        &mut self,
        index: usize,
        order: &KiteOrder,
        trades: &[KiteTrade],
        charges: &ChargeSchedule,
        now: DateTime<Utc>,
    ) -> Vec<VenueEvent> {
        if self.is_settled() || self.slices[index].is_ended() {
            return Vec::new();
        }
        let mut events = Vec::new();
        let slice = &mut self.slices[index];
        if slice.broker_order_id() != Some(order.order_id.as_str()) {
            slice.placement = Placement::Placed {
                broker_order_id: order.order_id.clone(),
            };
        }
        slice.placed_at.get_or_insert(now);
        events.extend(self.submitted_event(index));
        let known = &self.slices[index].fills;
        let mut new: Vec<&KiteTrade> = trades
            .iter()
            .filter(|t| t.order_id == order.order_id && !known.contains(&t.trade_id))
            .collect();
        new.sort_by(|a, b| (a.executed_at(), &a.trade_id).cmp(&(b.executed_at(), &b.trade_id)));
        for trade in new {
            if let Some(fill) = self.fill(index, trade, charges, now) {
                events.push(VenueEvent::Filled(fill));
            }
        }
        let slice = &mut self.slices[index];
        if slice.filled_quantity < order.filled_quantity {
            return events;
        }
        slice.end = match order.status() {
            OrderStatus::Complete if slice.filled_quantity >= slice.quantity => {
                Some(Outcome::Complete)
            }
            OrderStatus::Cancelled => {
                let message = match (&slice.cancel, order.status_message.clone()) {
                    (Some(asked), _) => asked.reason.clone(),
                    (None, Some(kite)) => kite,
                    (None, None) => "cancelled".into(),
                };
                Some(Outcome::Failed {
                    kind: OrderFailureKind::Cancelled,
                    message,
                })
            }
            OrderStatus::Rejected => Some(Outcome::Failed {
                kind: OrderFailureKind::Rejected,
                message: order
                    .status_message
                    .clone()
                    .unwrap_or_else(|| "rejected".into()),
            }),
            _ => None,
        };
        events.extend(self.settle_if_ended());
        events
    }

    /// When the earliest of `trades` of slice `index` (Kite's `order`) not booked yet was
    /// executed; `None`: no such trade, or none with a time.
    pub fn first_new_trade_at(
        &self,
        index: usize,
        order: &KiteOrder,
        trades: &[KiteTrade],
    ) -> Option<DateTime<Utc>> {
        let known = &self.slices[index].fills;
        trades
            .iter()
            .filter(|t| t.order_id == order.order_id && !known.contains(&t.trade_id))
            .filter_map(KiteTrade::executed_at)
            .min()
    }

    /// Kite says more of slice `index` is filled than the trades we have explain: fetch
    /// its trades.
    pub fn needs_trades(&self, index: usize, order: &KiteOrder) -> bool {
        order.filled_quantity > self.slices[index].filled_quantity
    }

    /// Opens slice `index` again because Kite holds it after all (it was declared not
    /// placed): the record is open again until that slice ends.
    pub fn reopen(&mut self, index: usize, now: DateTime<Utc>) {
        self.outcome = None;
        let slice = &mut self.slices[index];
        slice.end = None;
        slice.placement = Placement::Claimed { since: now };
    }

    /// The order type sent to Kite: the signal's, or LIMIT for a market order sent as one.
    pub(super) fn sent_order_type(&self) -> OrderType {
        match self.target.limit_price {
            Some(_) => OrderType::Limit,
            None => self.signal.data.signal.order_type,
        }
    }

    /// The price sent to Kite.
    pub(super) fn sent_price(&self) -> Option<Decimal> {
        self.target.limit_price.or(self.signal.data.signal.price)
    }
}
