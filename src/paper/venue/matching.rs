//! Working an order against a tick: trigger, price (`book.rs`), size (partial fills and
//! the displayed depth), the account's refusals, the execution with its charges, and
//! what is left — resting (DAY) or ended (IOC/FOK).

use chrono::{DateTime, Utc};
use rand::Rng;
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;

use super::{PaperVenue, TriggeredStop};
use crate::market::MarketCalendar;
use crate::messages::{OrderFilled, Side, Validity, VenueEvent};
use crate::paper::accounts::Execution;
use crate::paper::book::{NoFill, Order, Quote};
use crate::paper::charges::FillCharge;

impl PaperVenue {
    /// Works an eligible order against `quote`; returns it if it stays open.
    pub(super) fn work(
        &mut self,
        mut order: Order,
        quote: &Quote,
        at: DateTime<Utc>,
        events: &mut Vec<VenueEvent>,
    ) -> Option<Order> {
        let triggered = order.trigger(quote);
        if order.stage.is_stop() {
            return Some(order);
        }
        let price = match order.execution_price(quote, &self.pricing(order.order.token)) {
            Ok(price) => price,
            Err(why) => return self.unexecuted(order, why, triggered, at, events),
        };
        let remaining = order.remaining();
        let drawn = self.fill_quantity(remaining);
        let shown = quote.against(order.order.side).quantity;
        let quantity = match shown.filter(|_| self.config.depth_limited) {
            Some(shown) => drawn.min(u32::try_from(shown).unwrap_or(u32::MAX)),
            None => drawn,
        };
        if order.validity == Validity::Fok && quantity < remaining {
            let message = match shown.filter(|_| self.config.depth_limited) {
                Some(shown) if u64::from(remaining) > shown => format!(
                    "only {quantity} of {remaining} could fill on the tick ({shown} shown on \
                     the {})",
                    side_taken(order.order.side)
                ),
                _ => format!("only {quantity} of {remaining} could fill on the tick"),
            };
            events.push(order.unfilled(&message));
            return None;
        }
        let refusal = self
            .accounts
            .refusal(&self.config, &order, quantity, Some(price));
        if let Some(refusal) = refusal {
            events.push(refusal);
            return None;
        }
        events.push(self.execute(&mut order, quantity, price, at));
        if order.remaining() == 0 {
            None
        } else if order.validity == Validity::Ioc {
            events.push(order.unfilled("IOC remainder cancelled"));
            None
        } else {
            self.rest(order, triggered, at)
        }
    }

    /// An order that did not execute on its tick: a DAY order rests, an IOC/FOK ends.
    fn unexecuted(
        &mut self,
        order: Order,
        why: NoFill,
        triggered: bool,
        at: DateTime<Utc>,
        events: &mut Vec<VenueEvent>,
    ) -> Option<Order> {
        if order.validity == Validity::Day {
            return self.rest(order, triggered, at);
        }
        events.push(order.unfilled(&why.reason()));
        None
    }

    /// `order` stays open in the book: a limit now rests at its price; a stop that has just
    /// triggered is noted for [`Self::take_triggered`].
    fn rest(&mut self, mut order: Order, triggered: bool, at: DateTime<Utc>) -> Option<Order> {
        order.resting = true;
        if triggered {
            self.triggered.push(TriggeredStop {
                client_order_id: order.order.client_order_id.clone(),
                triggered_at: at,
            });
        }
        Some(order)
    }

    /// The stops that triggered and stayed open since the last call, oldest first: the
    /// actor records them so that a restart restores them triggered.
    pub fn take_triggered(&mut self) -> Vec<TriggeredStop> {
        std::mem::take(&mut self.triggered)
    }

    /// How much of `remaining` one tick fills.
    fn fill_quantity(&mut self, remaining: u32) -> u32 {
        if !self.config.partial_fills || remaining <= 1 {
            return remaining;
        }
        let cap = (self.config.max_fill_fraction * Decimal::from(remaining))
            .floor()
            .to_u32()
            .unwrap_or(remaining)
            .clamp(1, remaining);
        self.rng.random_range(1..=cap)
    }

    /// Fills `quantity` of `order` at `price`: charges, moves cash and position.
    fn execute(
        &mut self,
        order: &mut Order,
        quantity: u32,
        price: Decimal,
        at: DateTime<Utc>,
    ) -> VenueEvent {
        let o = &order.order;
        let (token, side) = (o.token, o.side);
        let date = MarketCalendar::ist_date(at);
        let delivery =
            self.deliveries
                .on_fill(order.column, &o.strategy_id, token, side, quantity, date);
        let charges = &self.config.charges;
        let fees = charges.fill_charges(&FillCharge {
            brokerage_paid: order.brokerage_paid,
            same_day_quantity: delivery.same_day_quantity,
            dp_charge: delivery.dp_charge,
            ..FillCharge::plain(order.column, side, quantity, price)
        });
        // The DP charge rides in the brokerage but is not brokerage under the cap.
        let dp = if delivery.dp_charge {
            charges.dp_charge(order.column)
        } else {
            Decimal::ZERO
        };
        self.book(&Execution {
            strategy: &order.order.strategy_id,
            token,
            side,
            quantity,
            notional: Decimal::from(quantity).saturating_mul(price),
            fees: fees.total,
            product: order.product,
        });
        order.filled = order.filled.saturating_add(quantity);
        order.fills = order.fills.saturating_add(1);
        order.brokerage_paid = order
            .brokerage_paid
            .saturating_add(fees.brokerage.saturating_sub(dp));
        VenueEvent::Filled(OrderFilled {
            order: order.order.clone(),
            fill_id: format!("{}-{}", order.order.client_order_id, order.fills),
            quantity,
            price,
            fees,
            cumulative_quantity: order.filled,
            order_quantity: order.quantity,
            filled_at: at,
        })
    }
}

/// The side of the book a taker on `side` trades against, for messages.
fn side_taken(side: Side) -> &'static str {
    match side {
        Side::Buy => "ask",
        Side::Sell => "bid",
    }
}
