//! The venue's clock: what happens to open orders and positions as time passes, on a tick
//! or on [`PaperVenue::on_clock`] — DAY expiry at the session close, the order timeout,
//! the broker's auto square-off of MIS orders and positions (see
//! [`crate::paper::square_off`]), and the expiry settlement of futures and options (see
//! [`crate::paper::expiry`] and `settlement.rs`).
//!
//! The square-off closes at the last quote even when the tick shows the side empty (a
//! circuit): the broker's order is modelled as filled, not left hanging.

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;

use super::PaperVenue;
use crate::messages::{OrderRef, Side, VenueEvent};
use crate::paper::accounts::{Execution, OpenPosition};
use crate::paper::book::{Order, Quote};
use crate::paper::charges::Product;
use crate::paper::square_off::{auto_square_off_id, square_off_events};

impl PaperVenue {
    /// The clock reached `at` with no tick (the actor's wall-clock sweep): ends the
    /// orders whose session has closed or whose timeout has passed, settles the contracts
    /// expired by `at`, and runs the broker's square-off if due, at the quotes there are.
    pub fn on_clock(&mut self, at: DateTime<Utc>) -> Vec<VenueEvent> {
        let mut events = self.end_due_orders(at);
        self.settle_expired(at, &mut events);
        self.broker_square_off(at, &mut events);
        events
    }

    /// Ends, in arrival order, every open order whose session has closed by `at`
    /// (`Expired`) or whose timeout has passed (`Cancelled`).
    pub(super) fn end_due_orders(&mut self, at: DateTime<Utc>) -> Vec<VenueEvent> {
        let closed = |o: &Order| o.expires_at.is_some_and(|close| close <= at);
        let timed_out = |o: &Order| o.times_out_at.is_some_and(|deadline| deadline <= at);
        let due: Vec<u64> = self
            .orders
            .iter()
            .filter(|(_, o)| closed(o) || timed_out(o))
            .map(|(seq, _)| *seq)
            .collect();
        if due.is_empty() {
            return Vec::new();
        }
        let why = format!(
            "unfilled after paper.order_timeout_secs ({} s): cancelled",
            self.config.order_timeout_secs
        );
        due.into_iter()
            .filter_map(|seq| self.orders.remove(&seq))
            .map(|o| {
                if closed(&o) {
                    o.expired_at_close()
                } else {
                    o.cancelled(&why)
                }
            })
            .collect()
    }

    /// The broker's auto square-off at `at`, if due (see [`super::square_off`]): on the
    /// day's first event, cancels every resting MIS order; closes each open MIS position
    /// not yet closed that day whose instrument has a quote.
    pub(super) fn broker_square_off(&mut self, at: DateTime<Utc>, events: &mut Vec<VenueEvent>) {
        let Some(date) = self.square_offs.due(at) else {
            return;
        };
        if self.square_offs.first_event_of(date) {
            let why = format!(
                "MIS order pending at the broker's auto square-off ({} IST): cancelled",
                self.square_offs.time()
            );
            let (mis, others) = std::mem::take(&mut self.orders)
                .into_iter()
                .partition(|(_, o)| o.product == Product::Mis);
            self.orders = others;
            let mis: std::collections::BTreeMap<u64, Order> = mis;
            events.extend(mis.into_values().map(|o| o.cancelled(&why)));
        }
        for position in self.accounts.open_positions() {
            if position.product != Product::Mis
                || self
                    .square_offs
                    .is_closed(date, &position.strategy, position.token)
            {
                continue;
            }
            let Some(quote) = self.quotes.get(&position.token).copied() else {
                continue; // closed on the instrument's first tick inside the window
            };
            self.square_offs
                .mark(date, &position.strategy, position.token);
            events.extend(self.close_position(date, position, &quote, at));
        }
    }

    /// The broker's square-off order closing `position` at `quote` (as a market order),
    /// booked with the auto square-off charge.
    fn close_position(
        &mut self,
        date: NaiveDate,
        position: OpenPosition,
        quote: &Quote,
        at: DateTime<Utc>,
    ) -> [VenueEvent; 2] {
        let OpenPosition {
            strategy,
            token,
            quantity: position,
            product,
        } = position;
        let side = if position > 0 { Side::Sell } else { Side::Buy };
        // A position is a sum of u32 fills; one beyond u32 closes u32::MAX of it.
        let quantity = u32::try_from(position.unsigned_abs()).unwrap_or(u32::MAX);
        let pricing = self.pricing(token);
        let price = Some(pricing.slipped(quote.taker_price(side, pricing.at_touch), side))
            .filter(|p| *p > Decimal::ZERO)
            .unwrap_or(quote.last);
        let column = self.column(token, product);
        let fees = self
            .config
            .charges
            .auto_square_off_charges(column, side, quantity, price);
        self.book(&Execution {
            strategy: &strategy,
            token,
            side,
            quantity,
            notional: Decimal::from(quantity).saturating_mul(price),
            fees: fees.total,
            product,
        });
        let seq = self.next_seq();
        let order = OrderRef {
            client_order_id: auto_square_off_id(date, &strategy, token),
            broker_order_id: Some(format!("paper-{seq}")),
            strategy_id: strategy,
            broker: self.broker,
            token,
            symbol: self.symbols.get(&token).cloned().unwrap_or_default(),
            side,
        };
        square_off_events(order, quantity, price, fees, at)
    }

    /// Expires, in arrival order, every open order whose session close is at or before
    /// `at` (DAY orders, and IOC/FOK or stops still waiting for a tick or a trigger).
    pub fn expire_day_orders(&mut self, at: DateTime<Utc>) -> Vec<VenueEvent> {
        let due: Vec<u64> = self
            .orders
            .iter()
            .filter(|(_, o)| o.expires_at.is_some_and(|close| close <= at))
            .map(|(seq, _)| *seq)
            .collect();
        due.into_iter()
            .filter_map(|seq| self.orders.remove(&seq))
            .map(Order::expired_at_close)
            .collect()
    }
}
