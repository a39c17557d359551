//! Following orders at Kite: polls of `GET /orders`, ticker order updates, and the
//! settling of orders whose placement answer was lost.

use super::core::Core;
use crate::actors::risk_manager::SetTradingState;
use crate::kite::rest::KiteOrder;
use crate::messages::{Broker, OrderFailureKind};
use crate::risk::TradingState;
use crate::zerodha::{CancelRequest, OrderRecord, Placement};
use chrono::{DateTime, Utc};
use std::rc::Rc;
use std::time::Duration;

/// A cancellation that had no visible effect (its answer lost, a 429, Kite still showing
/// the order open) is asked again after this long.
const CANCEL_RETRY: Duration = Duration::from_secs(10);

impl Core {
    /// Polls `GET /orders` and settles what changed. At most one poll runs at a time,
    /// and none before the start-up reconciliation has succeeded (it owns the records
    /// until then).
    pub(super) async fn poll(self: Rc<Self>) {
        if self.state.borrow().polling {
            return;
        }
        self.flush_journal().await;
        {
            let mut state = self.state.borrow_mut();
            if state.polling {
                return;
            }
            let idle = state.open.is_empty() && state.declared_not_placed.is_empty();
            if idle || self.args.dry_run || !*self.reconciled.borrow() {
                state.stats.polls += 1;
                return;
            }
            state.polling = true;
        }
        // Kite's answer describes the book as of the request, not as of its arrival.
        let asked_at = Utc::now();
        match self.args.client.orders().await {
            Ok(orders) => {
                let ids: Vec<String> = self.state.borrow().open.keys().cloned().collect();
                for id in ids {
                    let found = orders.iter().find(|o| o.tag.as_deref() == Some(&id));
                    self.refresh(&id, found, asked_at).await;
                }
                self.watch_declared_not_placed(&orders).await;
                self.cancel_timed_out().await;
            }
            Err(e) => self.kite_failed("polling GET /orders", &e),
        }
        let mut state = self.state.borrow_mut();
        state.polling = false;
        state.stats.polls += 1;
    }

    /// An order update pushed on the ticker.
    pub(super) async fn on_update(self: Rc<Self>, order: KiteOrder) {
        let Some(id) = order.tag.clone() else { return };
        if self.state.borrow().open.contains_key(&id) {
            self.refresh(&id, Some(&order), Utc::now()).await;
        }
    }

    /// Brings one open order up to date with Kite's view of it, as of `asked_at`
    /// (`None`: Kite had no order with its tag).
    pub(super) async fn refresh(
        self: &Rc<Self>,
        id: &str,
        found: Option<&KiteOrder>,
        asked_at: DateTime<Utc>,
    ) {
        let Some(_busy) = self.claim_busy(id) else {
            return;
        };
        let Some(record) = self.state.borrow().open.get(id).cloned() else {
            return;
        };
        let mut next = record.clone();
        let events = match found {
            Some(order) => {
                let trades = if next.needs_trades(order) {
                    match self.args.client.order_trades(&order.order_id).await {
                        Ok(trades) => trades,
                        Err(e) => return self.kite_failed("fetching an order's trades", &e),
                    }
                } else {
                    Vec::new()
                };
                next.apply(order, &trades, &self.args.charges, Utc::now())
            }
            None => match record.placement {
                Placement::Claimed { since } if asked_at - since > self.args.settle_delta() => {
                    let message = format!(
                        "Kite has no order tagged {id} {} s after its placement answer was lost; not re-sent",
                        self.args.settle.as_secs()
                    );
                    tracing::error!(order = %id, "{message}");
                    self.state
                        .borrow_mut()
                        .declared_not_placed
                        .insert(id.to_owned());
                    next.not_placed(OrderFailureKind::NotPlaced, &message)
                }
                _ => return,
            },
        };
        if next == record {
            return;
        }
        if let Err(e) = self.commit(next, events).await {
            tracing::warn!(order = %id, error = %e, "order update not recorded; retried on the next poll");
        }
    }

    /// Cancels every order open at Kite longer than `zerodha.order_timeout_secs`. The
    /// request is journaled first (so its reason survives a restart and labels the
    /// cancellation), then sent; Kite's order book then settles the order as cancelled
    /// with its partial fill, which reaches the strategy as an `orders.failed`.
    pub(super) async fn cancel_timed_out(self: &Rc<Self>) {
        let (timeout, now) = (self.args.order_timeout, Utc::now());
        let due: Vec<String> = self
            .state
            .borrow()
            .open
            .values()
            .filter(|r| r.cancel_due(now, timeout, CANCEL_RETRY))
            .map(|r| r.client_order_id.clone())
            .collect();
        for id in due {
            let Some(_busy) = self.claim_busy(&id) else {
                continue;
            };
            let Some(record) = self.state.borrow().open.get(&id).cloned() else {
                continue;
            };
            let Some(broker_order_id) = record.broker_order_id().map(str::to_owned) else {
                continue;
            };
            let mut next = record.clone();
            next.cancel = Some(CancelRequest {
                at: now,
                reason: format!(
                    "unfilled after zerodha.order_timeout_secs ({} s): cancelled by alpha-panda",
                    timeout.as_secs()
                ),
            });
            if let Err(e) = self.persist(&next).await {
                tracing::warn!(order = %id, error = %e, "cancel not journaled; asked again on the next poll");
                continue;
            }
            self.state
                .borrow_mut()
                .open
                .insert(id.clone(), next.clone());
            let variety = next.target.variety.as_str();
            match self
                .args
                .client
                .cancel_order(variety, &broker_order_id)
                .await
            {
                Ok(()) => {
                    tracing::info!(order = %id, broker_order = %broker_order_id, filled = next.filled_quantity, quantity = next.signal.data.signal.quantity, "order open past its timeout: cancel sent")
                }
                Err(e) if e.is_token_error() => self.halt_on_token_error(&e),
                // Already complete or cancelled (the book settles it), a 429 or a lost
                // answer: the next poll looks again.
                Err(e) => {
                    tracing::warn!(order = %id, broker_order = %broker_order_id, error = %e, "cancel not accepted; the order book decides, asked again if it stays open")
                }
            }
        }
    }

    /// An order declared not placed that Kite lists after all (its request arrived very
    /// late): halt zerodha, say so loudly, and track it again so its fills are booked.
    async fn watch_declared_not_placed(self: &Rc<Self>, orders: &[KiteOrder]) {
        let watched: Vec<String> = self
            .state
            .borrow()
            .declared_not_placed
            .iter()
            .cloned()
            .collect();
        for id in watched {
            if let Some(order) = orders.iter().find(|o| o.tag.as_deref() == Some(&id)) {
                self.state.borrow_mut().declared_not_placed.remove(&id);
                self.resurrect(&id, order).await;
            }
        }
    }

    /// Re-opens the settled record of `id` because Kite holds `order` for it.
    pub(super) async fn resurrect(self: &Rc<Self>, id: &str, order: &KiteOrder) {
        tracing::error!(order = %id, broker_order = %order.order_id, "an order declared not placed IS AT KITE: zerodha trading is HALTED; its fills are booked now — check positions and resume by hand");
        if let Some(kill_switch) = self.args.kill_switch.clone() {
            kill_switch.do_send(SetTradingState {
                broker: Broker::Zerodha,
                state: TradingState::Halted,
            });
        }
        let record = match self.load(id).await {
            Ok(Some(record)) => record,
            other => {
                tracing::error!(order = %id, result = ?other.map(|r| r.is_some()), "its journal entry cannot be read; book it by hand");
                return;
            }
        };
        let mut reopened: OrderRecord = record;
        reopened.outcome = None;
        reopened.placement = Placement::Claimed { since: Utc::now() };
        self.state.borrow_mut().open.insert(id.to_owned(), reopened);
        self.refresh(id, Some(order), Utc::now()).await;
    }
}
