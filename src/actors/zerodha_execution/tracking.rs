//! Following orders at Kite: polls of `GET /orders`, ticker order updates, and the
//! settling of orders whose placement answer was lost. An order's Kite orders (one, or
//! its slices) are each found by their own tag and followed alike; the order's events
//! come from its record ([`OrderRecord`]), which ends it once every slice has ended.

use super::core::Core;
use crate::actors::risk_manager::SetTradingState;
use crate::kite::rest::{KiteOrder, KiteTrade};
use crate::messages::{Broker, OrderFailureKind};
use crate::risk::TradingState;
use crate::streaming::consumer::HandlerError;
use crate::zerodha::{CancelRequest, OrderRecord, Placement};
use chrono::{DateTime, Utc};
use std::rc::Rc;
use std::time::Duration;

/// A cancellation that had no visible effect (its answer lost, a 429, Kite still showing
/// the order open) is asked again after this long.
const CANCEL_RETRY: Duration = Duration::from_secs(10);

/// What Kite said about an order's Kite orders.
#[derive(Clone, Copy)]
pub(super) enum KiteView<'a> {
    /// The whole order book (`GET /orders`): a slice missing from it is not at Kite.
    Book(&'a [KiteOrder]),
    /// One order (a ticker update): says nothing of the other slices.
    One(&'a KiteOrder),
}

impl<'a> KiteView<'a> {
    fn find(self, tag: &str) -> Option<&'a KiteOrder> {
        match self {
            KiteView::Book(orders) => orders.iter().find(|o| o.tag.as_deref() == Some(tag)),
            KiteView::One(order) => (order.tag.as_deref() == Some(tag)).then_some(order),
        }
    }
}

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
                    self.refresh(&id, KiteView::Book(&orders), asked_at).await;
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
        let Some(tag) = order.tag.as_deref() else {
            return;
        };
        if let Some(id) = self.open_owner_of(tag) {
            self.refresh(&id, KiteView::One(&order), Utc::now()).await;
        }
    }

    /// Brings one open order up to date with Kite's view of its Kite orders, as of
    /// `asked_at`; failures are retried on the next poll.
    pub(super) async fn refresh(
        self: &Rc<Self>,
        id: &str,
        view: KiteView<'_>,
        asked_at: DateTime<Utc>,
    ) {
        if let Err(e) = self.refresh_with(id, view, None, asked_at).await {
            tracing::warn!(order = %id, error = %e, "order update not recorded; retried on the next poll");
        }
    }

    /// [`Self::refresh`] with `trades` known already (the reconciliation's `GET /trades`;
    /// `None`: each order's trades are fetched when its filled quantity needs them).
    ///
    /// # Errors
    /// Kite's trades could not be fetched, or the events could not be published.
    pub(super) async fn refresh_with(
        self: &Rc<Self>,
        id: &str,
        view: KiteView<'_>,
        trades: Option<&[KiteTrade]>,
        asked_at: DateTime<Utc>,
    ) -> Result<(), HandlerError> {
        let Some(_busy) = self.claim_busy(id) else {
            return Ok(());
        };
        let Some(record) = self.state.borrow().open.get(id).cloned() else {
            return Ok(());
        };
        let mut next = record.clone();
        let mut events = Vec::new();
        // Kite's view and trades of each slice it shows, gathered first.
        let mut seen: Vec<(usize, &KiteOrder, Vec<KiteTrade>)> = Vec::new();
        for index in 0..next.slices.len() {
            let slice = &next.slices[index];
            if slice.is_ended() {
                continue;
            }
            match view.find(&slice.tag) {
                Some(order) => {
                    let own = |all: &[KiteTrade]| -> Vec<KiteTrade> {
                        all.iter()
                            .filter(|t| t.order_id == order.order_id)
                            .cloned()
                            .collect()
                    };
                    let trades = match trades {
                        Some(all) => own(all),
                        None if next.needs_trades(index, order) => {
                            match self.args.client.order_trades(&order.order_id).await {
                                Ok(trades) => trades,
                                Err(e) => {
                                    self.kite_failed("fetching an order's trades", &e);
                                    return Err(HandlerError::Transient(format!(
                                        "GET /orders/{}/trades: {e}",
                                        order.order_id
                                    )));
                                }
                            }
                        }
                        None => Vec::new(),
                    };
                    seen.push((index, order, trades));
                }
                None if matches!(view, KiteView::Book(_)) => {
                    let Placement::Claimed { since } = slice.placement else {
                        continue;
                    };
                    if asked_at - since <= self.args.settle_delta() {
                        continue;
                    }
                    let tag = slice.tag.clone();
                    let message = format!(
                        "Kite has no order tagged {tag} {} s after its placement answer was lost; not re-sent",
                        self.args.settle.as_secs()
                    );
                    tracing::error!(order = %id, %tag, "{message}");
                    self.state.borrow_mut().declared_not_placed.insert(tag);
                    events.extend(next.slice_not_placed(
                        index,
                        OrderFailureKind::NotPlaced,
                        &message,
                    ));
                }
                None => {}
            }
        }
        // Slices whose new trades executed first are booked first, so the fills'
        // cumulative quantities follow execution across slices — and a view derived again
        // after a crash (a fill published, its journal write lost) numbers them as the
        // first derivation did.
        seen.sort_by_key(|(index, order, trades)| {
            let first = next.first_new_trade_at(*index, order, trades);
            (first.is_none(), first, *index)
        });
        for (index, order, trades) in seen {
            events.extend(next.apply(index, order, &trades, &self.args.charges, Utc::now()));
        }
        if next == record {
            return Ok(());
        }
        self.commit(next, events).await
    }

    /// Cancels every Kite order (an order, or one slice) open at Kite longer than
    /// `zerodha.order_timeout_secs` after its own placement. The request is journaled
    /// first (so its reason survives a restart and labels the cancellation), then sent;
    /// Kite's order book then settles it as cancelled with its partial fill, which
    /// reaches the strategy as an `orders.failed` once the order's last slice has ended.
    pub(super) async fn cancel_timed_out(self: &Rc<Self>) {
        let (timeout, now) = (self.args.order_timeout, Utc::now());
        let due: Vec<(String, usize)> = self
            .state
            .borrow()
            .open
            .values()
            .flat_map(|r| {
                r.cancel_due(now, timeout, CANCEL_RETRY)
                    .into_iter()
                    .map(|index| (r.client_order_id.clone(), index))
            })
            .collect();
        for (id, index) in due {
            let Some(_busy) = self.claim_busy(&id) else {
                continue;
            };
            let Some(record) = self.state.borrow().open.get(&id).cloned() else {
                continue;
            };
            let Some(broker_order_id) = record.slices[index].broker_order_id().map(str::to_owned)
            else {
                continue;
            };
            let mut next = record.clone();
            let slice = &mut next.slices[index];
            slice.cancel = Some(CancelRequest {
                at: now,
                reason: format!(
                    "unfilled after zerodha.order_timeout_secs ({} s): cancelled by alpha-panda",
                    timeout.as_secs()
                ),
            });
            let (tag, filled, quantity) =
                (slice.tag.clone(), slice.filled_quantity, slice.quantity);
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
                    tracing::info!(order = %id, %tag, broker_order = %broker_order_id, filled, quantity, "order open past its timeout: cancel sent")
                }
                Err(e) if e.is_token_error() => self.halt_on_token_error(&e),
                // Already complete or cancelled (the book settles it), a 429 or a lost
                // answer: the next poll looks again.
                Err(e) => {
                    tracing::warn!(order = %id, %tag, broker_order = %broker_order_id, error = %e, "cancel not accepted; the order book decides, asked again if it stays open")
                }
            }
        }
    }

    /// A Kite order declared not placed that Kite lists after all (its request arrived
    /// very late): halt zerodha, say so loudly, and track it again so its fills are booked.
    async fn watch_declared_not_placed(self: &Rc<Self>, orders: &[KiteOrder]) {
        let watched: Vec<String> = self
            .state
            .borrow()
            .declared_not_placed
            .iter()
            .cloned()
            .collect();
        for tag in watched {
            if let Some(order) = orders.iter().find(|o| o.tag.as_deref() == Some(&tag)) {
                self.state.borrow_mut().declared_not_placed.remove(&tag);
                self.resurrect(&tag, order).await;
            }
        }
    }

    /// Re-opens the Kite order tagged `tag` (and its order's record, if settled) because
    /// Kite holds `order` for it.
    pub(super) async fn resurrect(self: &Rc<Self>, tag: &str, order: &KiteOrder) {
        tracing::error!(%tag, broker_order = %order.order_id, "an order declared not placed IS AT KITE: zerodha trading is HALTED; its fills are booked now — check positions and resume by hand");
        crate::alerts::raise(
            crate::alerts::Alert::new(
                crate::alerts::AlertKind::ReconciliationDifference,
                format!("order {tag}"),
                format!("an order declared not placed IS AT KITE (tag {tag}, Kite order {}): zerodha trading is HALTED; its fills are booked now — check positions and resume by hand", order.order_id),
            )
            .on(Broker::Zerodha),
        );
        if let Some(kill_switch) = self.args.kill_switch.clone() {
            kill_switch.do_send(SetTradingState {
                broker: Broker::Zerodha,
                state: TradingState::Halted,
            });
        }
        let record = match self.owner_of(tag).await {
            Ok(Some(id)) => self.load(&id).await,
            Ok(None) => Ok(None),
            Err(e) => Err(e),
        };
        let mut reopened: OrderRecord = match record {
            Ok(Some(record)) => record,
            other => {
                tracing::error!(%tag, result = ?other.map(|r| r.is_some()), "its journal entry cannot be read; book it by hand");
                return;
            }
        };
        let Some(index) = reopened.slice_of(tag) else {
            tracing::error!(%tag, order = %reopened.client_order_id, "its journal entry has no Kite order so tagged; book it by hand");
            return;
        };
        let id = reopened.client_order_id.clone();
        reopened.reopen(index, Utc::now());
        self.state.borrow_mut().open.insert(id.clone(), reopened);
        self.refresh(&id, KiteView::One(order), Utc::now()).await;
    }
}
