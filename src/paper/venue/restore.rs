//! Putting back what an earlier life of the venue left: its fills into the accounts
//! ([`PaperVenue::restore_fill`]), what its journal says of each placement
//! ([`PaperVenue::learn_placement`]), and the orders it left open (see
//! [`crate::paper::restore`] for where they come from): each order with what it filled,
//! its submission time and its trigger state, in its original arrival order.
//!
//! A restored order is eligible at once (its latency was served before the restart) and
//! counts as resting: a limit fills at its price, not at the touch. Its arrival number is
//! the one in its broker order id (`paper-N`), and new orders are numbered after every
//! number an earlier life used, so broker order ids stay unique across lives.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;

use super::PaperVenue;
use crate::market::MarketCalendar;
use crate::messages::{OrderFailed, OrderFailureKind, OrderFilled, VenueEvent};
use crate::paper::accounts::Execution;
use crate::paper::book::{Order, Stage};
use crate::paper::restore::{JournalEntry, RestingOrder};

/// A stop that triggered on a tick and stayed open ([`PaperVenue::take_triggered`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TriggeredStop {
    pub client_order_id: String,
    pub triggered_at: DateTime<Utc>,
}

impl PaperVenue {
    /// Books a fill of an earlier life of the venue (read back from its fills topic or its
    /// journal after a restart) into the accounts, once per fill id; answers whether it
    /// was new. Positions and cash are then those the fills made, so a sell the position
    /// covers is not refused as a short after a restart; an auto square-off's fill marks
    /// its position as squared off for its day.
    pub fn restore_fill(&mut self, fill: &OrderFilled) -> bool {
        if !self.restored.insert(fill.fill_id.clone()) {
            return false;
        }
        self.square_offs.remember(fill);
        self.symbols
            .entry(fill.order.token)
            .or_insert_with(|| fill.order.symbol.clone());
        self.reserve_seq(fill.order.broker_order_id.as_deref());
        let token = fill.order.token;
        let product = self
            .restored_products
            .get(&fill.order.client_order_id)
            .copied()
            .unwrap_or_else(|| self.config.product_for(self.contracts.contains_key(&token)));
        self.deliveries.on_fill(
            self.column(token, product),
            &fill.order.strategy_id,
            token,
            fill.order.side,
            fill.quantity,
            MarketCalendar::ist_date(fill.filled_at),
        );
        // Saturating: a fill the door let in at an absurd price must not panic the venue.
        let notional = Decimal::from(fill.quantity).saturating_mul(fill.price);
        self.book(&Execution {
            strategy: &fill.order.strategy_id,
            token,
            side: fill.order.side,
            quantity: fill.quantity,
            notional,
            fees: fill.fees.total,
            product,
        });
        true
    }

    /// Learns what a journal entry of an earlier life says beyond its events, before its
    /// fills are restored ([`PaperVenue::restore_fill`]): the contract its order is in
    /// (kept if the registry no longer lists it: an expired contract still settles) and the
    /// product it was placed as (a restored fill opens its position as that product).
    pub fn learn_placement(&mut self, entry: &JournalEntry) {
        for event in &entry.events {
            let VenueEvent::Submitted(submitted) = event else {
                continue;
            };
            let token = submitted.order.token;
            if let Some(contract) = &entry.contract {
                self.contracts
                    .entry(token)
                    .or_insert_with(|| contract.clone());
            }
            let default = self.config.product_for(self.contracts.contains_key(&token));
            if let Some(product) = entry.product.filter(|p| *p != default) {
                self.restored_products
                    .insert(submitted.order.client_order_id.clone(), product);
            }
        }
    }

    /// Puts back `orders` (see the module documentation); answers the cancellation of each
    /// that cannot be worked again (its prices no longer make an order). An order this
    /// venue already knows is left alone.
    pub fn restore_orders(&mut self, orders: Vec<RestingOrder>) -> Vec<OrderFailed> {
        let mut refused = Vec::new();
        let mut numbered: Vec<(Option<u64>, RestingOrder)> = orders
            .into_iter()
            .map(|o| (arrival(o.submitted.order.broker_order_id.as_deref()), o))
            .collect();
        // Known arrival numbers first, in order; the rest after them, as listed.
        numbered.sort_by_key(|(seq, _)| seq.map_or((1, 0), |n| (0, n)));
        for (seq, _) in &numbered {
            if let Some(seq) = seq {
                self.next_seq = self.next_seq.max(seq.saturating_add(1));
            }
        }
        for (seq, resting) in numbered {
            if !self
                .placements
                .claim(&resting.submitted.order.client_order_id)
            {
                continue;
            }
            match self.restored_order(&resting) {
                Ok(order) => {
                    let seq = match seq.filter(|n| !self.orders.contains_key(n)) {
                        Some(seq) => seq,
                        None => self.next_seq(),
                    };
                    self.symbols
                        .entry(order.order.token)
                        .or_insert_with(|| order.order.symbol.clone());
                    self.orders.insert(seq, order);
                }
                Err(why) => {
                    let s = resting.submitted;
                    refused.push(OrderFailed {
                        order: s.order,
                        quantity: s.quantity,
                        filled_quantity: resting.filled,
                        kind: OrderFailureKind::Cancelled,
                        message: format!(
                            "the paper venue restarted and cannot restore this order: {why}"
                        ),
                    });
                }
            }
        }
        refused
    }

    /// The open order `resting` was.
    fn restored_order(&self, resting: &RestingOrder) -> Result<Order, String> {
        let s = &resting.submitted;
        let side = s.order.side;
        let mut stage = Stage::of(side, s.order_type, s.price, s.trigger_price)?;
        if resting.triggered {
            stage = match stage {
                Stage::StopMarket { .. } => Stage::Market,
                Stage::StopLimit { limit, .. } => Stage::Limit(limit),
                other => other,
            };
        }
        let at = resting.submitted_at;
        let token = s.order.token;
        let product = resting
            .product
            .unwrap_or_else(|| self.config.product_for(self.contracts.contains_key(&token)));
        Ok(Order {
            order: s.order.clone(),
            quantity: s.quantity,
            filled: resting.filled,
            stage,
            validity: s.validity,
            ticks_seen: self.config.latency_ticks,
            resting: true,
            expires_at: self.session_end(at),
            times_out_at: self.times_out_at(at),
            fills: resting.fills,
            brokerage_paid: resting.brokerage_paid,
            product,
            column: self.column(token, product),
        })
    }

    /// Numbers new orders after the arrival number in `broker_order_id`, if it has one.
    pub(super) fn reserve_seq(&mut self, broker_order_id: Option<&str>) {
        if let Some(seq) = arrival(broker_order_id) {
            self.next_seq = self.next_seq.max(seq.saturating_add(1));
        }
    }
}

/// The arrival number of a broker order id `paper-N`.
fn arrival(broker_order_id: Option<&str>) -> Option<u64> {
    broker_order_id?.strip_prefix("paper-")?.parse().ok()
}
