//! The events of an [`OrderRecord`]: its submission, each trade of a slice as a fill of
//! the whole order, and its end once every slice has ended.

use super::OrderRecord;
use super::slice::{Outcome, Slice};
use super::target::{charge_column, kind_of_symbol};
use crate::kite::rest::KiteTrade;
use crate::messages::{OrderFailed, OrderFailureKind, OrderFilled, OrderSubmitted, VenueEvent};
use crate::paper::ChargeSchedule;
use chrono::{DateTime, Utc};

impl OrderRecord {
    /// The submission, the first time a slice (`index`, at Kite) is known to be at Kite.
    pub(super) fn submitted_event(&mut self, index: usize) -> Option<VenueEvent> {
        let broker_order_id = self.slices[index].broker_order_id()?;
        if self.submitted {
            return None;
        }
        let order = self.order_ref(Some(broker_order_id));
        self.submitted = true;
        let s = &self.signal.data.signal;
        Some(VenueEvent::Submitted(OrderSubmitted {
            order,
            quantity: s.quantity,
            order_type: self.sent_order_type(),
            price: self.sent_price(),
            trigger_price: s.trigger_price,
            validity: s.validity,
        }))
    }

    pub(super) fn fill(
        &mut self,
        index: usize,
        trade: &KiteTrade,
        charges: &ChargeSchedule,
        now: DateTime<Utc>,
    ) -> Option<OrderFilled> {
        let slice = &self.slices[index];
        let fits = slice
            .filled_quantity
            .checked_add(trade.quantity)
            .filter(|filled| trade.quantity > 0 && *filled <= slice.quantity);
        let cumulative = self.filled_quantity.checked_add(trade.quantity);
        let (Some(slice_filled), Some(cumulative)) = (fits, cumulative) else {
            tracing::error!(order = %self.client_order_id, tag = %slice.tag, trade = %trade.trade_id, quantity = trade.quantity, filled = slice.filled_quantity, ordered = slice.quantity, "Kite trade does not fit the order; not booked");
            return None;
        };
        let side = self.signal.data.signal.side;
        let kind = kind_of_symbol(&self.target.exchange, &self.target.tradingsymbol);
        let column = charge_column(self.target.product, &kind);
        let fees = charges.charges_for_fill(
            column,
            side,
            trade.quantity,
            trade.average_price,
            slice.brokerage_paid,
        );
        let order = self.order_ref(slice.broker_order_id());
        let slice = &mut self.slices[index];
        slice.brokerage_paid += fees.brokerage;
        slice.filled_quantity = slice_filled;
        slice.fills.push(trade.trade_id.clone());
        self.filled_quantity = cumulative;
        Some(OrderFilled {
            order,
            fill_id: format!("zerodha:{}", trade.trade_id),
            quantity: trade.quantity,
            price: trade.average_price,
            fees,
            cumulative_quantity: cumulative,
            order_quantity: self.quantity(),
            filled_at: trade.executed_at().unwrap_or(now),
        })
    }

    /// Once every slice has ended: the order's outcome, and its failure event if it did
    /// not fill completely (a fully filled order cannot fail).
    pub(super) fn settle_if_ended(&mut self) -> Option<VenueEvent> {
        if self.is_settled() || !self.slices.iter().all(Slice::is_ended) {
            return None;
        }
        if self.filled_quantity >= self.quantity() {
            self.outcome = Some(Outcome::Complete);
            return None;
        }
        let (kind, message) = self.failure();
        self.outcome = Some(Outcome::Failed {
            kind,
            message: message.clone(),
        });
        Some(VenueEvent::Failed(OrderFailed {
            order: self.order_ref(self.broker_order_id()),
            quantity: self.quantity(),
            filled_quantity: self.filled_quantity,
            kind,
            message,
        }))
    }

    /// Why the order ended short: the first slice that failed says it (naming the slice
    /// when there are several).
    fn failure(&self) -> (OrderFailureKind, String) {
        let count = self.slices.len();
        let first = self
            .slices
            .iter()
            .enumerate()
            .find_map(|(i, s)| match &s.end {
                Some(Outcome::Failed { kind, message }) => Some((i, *kind, message.clone())),
                _ => None,
            });
        match first {
            Some((_, kind, message)) if count == 1 => (kind, message),
            Some((i, kind, message)) => (kind, format!("slice {}/{count}: {message}", i + 1)),
            // Unreachable: a slice ends complete only when filled completely.
            None => (
                OrderFailureKind::Cancelled,
                "every slice ended without filling the order".into(),
            ),
        }
    }
}
