//! The execution logic of the Zerodha actor, as async code over shared state.
//!
//! The actor is single-threaded, so its state lives in a `RefCell` that every step
//! borrows briefly — never across an `.await`. One operation at a time touches an order
//! (`busy`): a placement in flight is not also refreshed by a poll.
//!
//! Commit rule: a record's new state is written to the journal only after the events it
//! produced were published, and becomes the in-memory state only after that write. If a
//! publication or the write fails, the last journaled state stays in force and the same
//! events (same envelope ids) are produced again from Kite's view on the next poll or
//! redelivery. Facts that must never be forgotten — "this order may exist at Kite" — are
//! journaled *before* the request that creates them.

use super::{SERVICE, ZerodhaExecutionArgs};
use crate::actors::risk_manager::SetTradingState;
use crate::actors::venue_events::publish_venue_event;
use crate::kite::rest::{KiteError, KiteOrder};
use crate::messages::{
    Broker, Envelope, OrderFailureKind, ValidatedSignal, VenueEvent, client_order_id,
};
use crate::risk::TradingState;
use crate::streaming::consumer::{Completion, HandlerError, HandlerResult};
use crate::streaming::dedup::Claim;
use crate::zerodha::{OrderRecord, Placement, order_target};
use chrono::Utc;
use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::rc::Rc;

/// Store index of orders that are not settled yet (reconciliation reads it).
pub const OPEN_INDEX: &str = "zerodha:orders:open";
/// Store index of settled orders.
pub const SETTLED_INDEX: &str = "zerodha:orders:settled";

/// Counters for tests and the API.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ZerodhaStats {
    /// Placement requests sent to Kite (dry runs excluded).
    pub placements_sent: u64,
    /// Completed poll cycles (a cycle with nothing in flight asks Kite nothing).
    pub polls: u64,
    /// Orders not settled yet.
    pub open_orders: usize,
    /// The start-up reconciliation succeeded.
    pub reconciled: bool,
}

#[derive(Default)]
pub(super) struct State {
    pub(super) open: BTreeMap<String, OrderRecord>,
    busy: BTreeSet<String>,
    polling: bool,
    pub(super) stats: ZerodhaStats,
}

pub(super) struct Core {
    pub(super) args: ZerodhaExecutionArgs,
    pub(super) state: RefCell<State>,
    pub(super) reconciled: tokio::sync::watch::Sender<bool>,
}

/// Marks an order busy for as long as it lives.
struct Busy {
    core: Rc<Core>,
    id: String,
}

impl Drop for Busy {
    fn drop(&mut self) {
        self.core.state.borrow_mut().busy.remove(&self.id);
    }
}

impl Core {
    pub(super) fn new(args: ZerodhaExecutionArgs) -> Rc<Core> {
        Rc::new(Core {
            args,
            state: RefCell::default(),
            reconciled: tokio::sync::watch::channel(false).0,
        })
    }

    pub(super) fn stats(&self) -> ZerodhaStats {
        let state = self.state.borrow();
        ZerodhaStats {
            open_orders: state.open.len(),
            ..state.stats.clone()
        }
    }

    fn claim_busy(self: &Rc<Self>, id: &str) -> Option<Busy> {
        let fresh = self.state.borrow_mut().busy.insert(id.to_owned());
        fresh.then(|| Busy {
            core: self.clone(),
            id: id.to_owned(),
        })
    }

    /// A validated signal: place its order once, whatever happens around it.
    pub(super) async fn on_signal(
        self: Rc<Self>,
        envelope: Envelope<ValidatedSignal>,
    ) -> HandlerResult {
        // Nothing is placed before the start-up reconciliation has succeeded.
        let mut reconciled = self.reconciled.subscribe();
        if reconciled.wait_for(|done| *done).await.is_err() {
            return Err(HandlerError::Transient("execution is stopping".into()));
        }
        let id = client_order_id(envelope.id);
        let Some(busy) = self.claim_busy(&id) else {
            return Err(HandlerError::Transient(format!("order {id} is busy")));
        };
        let args = &self.args;
        let claim = args
            .dedup
            .claim(SERVICE, envelope.id, args.dedup_ttl)
            .await
            .map_err(HandlerError::from)?;
        let journaled = match claim {
            Claim::First => None,
            Claim::Duplicate => self.load(&id).await?,
        };
        let Some(record) = journaled else {
            // Never journaled, hence never sent (the journal is written first).
            return match self.journal_new(&id, envelope).await? {
                Ok(record) => self.send(record).await,
                Err(refused) => Ok(refused),
            };
        };
        match &record.placement {
            Placement::Claimed { .. } => {
                // Journaled by an earlier handling that may have sent it: Kite's order
                // book decides, never a second placement.
                tracing::warn!(order = %id, "placement outcome unknown; looking the order up by tag");
                self.state.borrow_mut().open.insert(id, record);
                drop(busy);
                self.poll().await;
                Ok(Completion::done())
            }
            Placement::NotSent => self.send(record).await,
            Placement::Placed { .. } | Placement::NotPlaced => {
                tracing::info!(order = %id, "validated signal already executed; nothing sent");
                Ok(Completion::done())
            }
        }
    }

    /// The journaled record of `id`: the in-memory open one, else the store's.
    async fn load(&self, id: &str) -> Result<Option<OrderRecord>, HandlerError> {
        if let Some(record) = self.state.borrow().open.get(id) {
            return Ok(Some(record.clone()));
        }
        let json = self
            .args
            .store
            .get(&OrderRecord::key(id))
            .await
            .map_err(|e| HandlerError::Transient(e.to_string()))?;
        json.map(|j| {
            serde_json::from_str(&j).map_err(|e| {
                HandlerError::Permanent(format!("journal entry of order {id} is unreadable: {e}"))
            })
        })
        .transpose()
    }

    /// Journals a new order before anything is sent. `Ok(Err(completion))`: the signal
    /// cannot become a Kite order and its failure was published instead.
    async fn journal_new(
        self: &Rc<Self>,
        id: &str,
        envelope: Envelope<ValidatedSignal>,
    ) -> Result<Result<OrderRecord, Completion>, HandlerError> {
        let args = &self.args;
        let strategy = envelope.data.signal.strategy_id.clone();
        let (product, variety) = args.order_kind(&strategy);
        let target = order_target(&envelope.data, &args.registry, product, variety);
        let now = Utc::now();
        let target = match target {
            Ok(target) => target,
            Err(message) => {
                // Journal it (settled) so a redelivery finds it, and report the failure.
                let fallback = crate::zerodha::OrderTarget {
                    exchange: String::new(),
                    tradingsymbol: envelope.data.signal.symbol.clone(),
                    product,
                    variety,
                };
                let mut record = OrderRecord::new(id.to_owned(), envelope, fallback, now);
                let events = record.not_placed(OrderFailureKind::Rejected, &message);
                self.commit(record, events).await?;
                return Ok(Err(Completion::done()));
            }
        };
        let mut record = OrderRecord::new(id.to_owned(), envelope, target, now);
        if let Err(message) = record.params().form() {
            let events = record.not_placed(OrderFailureKind::Rejected, &message);
            self.commit(record, events).await?;
            return Ok(Err(Completion::done()));
        }
        self.persist(&record).await?;
        Ok(Ok(record))
    }

    /// Sends the placement of a journaled order and acts on the answer.
    async fn send(self: &Rc<Self>, record: OrderRecord) -> HandlerResult {
        let args = &self.args;
        let params = record.params();
        let form = params.form().map_err(HandlerError::Permanent)?;
        let id = record.client_order_id.clone();
        if args.dry_run {
            let body = serde_urlencoded::to_string(&form).unwrap_or_default();
            tracing::warn!(order = %id, request = %format!("POST {}/orders/{} {body}", args.client.base_url(), params.variety), "DRY RUN: order not sent");
            let mut next = record;
            let events = next.not_placed(OrderFailureKind::NotPlaced, "dry run: order not sent");
            self.commit(next, events).await?;
            return Ok(Completion::done());
        }
        self.state.borrow_mut().stats.placements_sent += 1;
        let answer = args.client.place_order(&params).await;
        let mut next = record.clone();
        let events = match answer {
            Ok(order_id) => {
                tracing::info!(order = %id, broker_order = %order_id, correlation_id = %record.signal.correlation_id, "order placed on Kite");
                next.placed(&order_id)
            }
            Err(KiteError::RateLimited { message }) => {
                // A 429 had no effect: the order may be sent again on redelivery.
                next.placement = Placement::NotSent;
                self.persist(&next).await?;
                return Err(HandlerError::Transient(format!(
                    "Kite kept rate-limiting the placement: {message}"
                )));
            }
            Err(e) if e.rejects_order() => {
                if e.is_token_error() {
                    self.halt_on_token_error(&e);
                }
                tracing::warn!(order = %id, error = %e, "Kite refused the order");
                next.not_placed(OrderFailureKind::Rejected, e.message())
            }
            Err(e) => {
                // Timeout or 5xx: it may exist at Kite. The record stays Claimed (as
                // journaled) and polling settles it by tag.
                tracing::warn!(order = %id, error = %e, "placement outcome unknown; polling Kite's order book to settle it");
                self.state.borrow_mut().open.insert(id, record);
                return Ok(Completion::done());
            }
        };
        self.commit(next, events).await?;
        Ok(Completion::done())
    }

    /// Publishes `events`, then journals `record`, then adopts it in memory.
    pub(super) async fn commit(
        &self,
        record: OrderRecord,
        events: Vec<VenueEvent>,
    ) -> Result<(), HandlerError> {
        let args = &self.args;
        let now = Utc::now();
        let deliveries: Vec<_> = events
            .into_iter()
            .map(|event| {
                publish_venue_event(
                    &args.producer,
                    Broker::Zerodha,
                    SERVICE,
                    &record.signal,
                    event,
                    now,
                )
            })
            .collect();
        for delivery in deliveries {
            delivery
                .await
                .map_err(|e| HandlerError::Transient(format!("publishing order events: {e}")))?;
        }
        self.persist(&record).await?;
        let mut state = self.state.borrow_mut();
        if record.is_settled() {
            state.open.remove(&record.client_order_id);
        } else {
            state.open.insert(record.client_order_id.clone(), record);
        }
        Ok(())
    }

    async fn persist(&self, record: &OrderRecord) -> Result<(), HandlerError> {
        let json = serde_json::to_string(record)
            .map_err(|e| HandlerError::Permanent(format!("journal entry: {e}")))?;
        let key = OrderRecord::key(&record.client_order_id);
        let write = if record.is_settled() {
            self.args
                .store
                .put_and_move(OPEN_INDEX, SETTLED_INDEX, &key, json)
        } else {
            self.args.store.put(OPEN_INDEX, &key, json)
        };
        write
            .await
            .map_err(|e| HandlerError::Transient(format!("journal write: {e}")))
    }

    /// Polls `GET /orders` and settles what changed. At most one poll runs at a time.
    pub(super) async fn poll(self: Rc<Self>) {
        {
            let mut state = self.state.borrow_mut();
            if state.polling {
                return;
            }
            if state.open.is_empty() || self.args.dry_run {
                state.stats.polls += 1;
                return;
            }
            state.polling = true;
        }
        let orders = self.args.client.orders().await;
        match orders {
            Ok(orders) => {
                let ids: Vec<String> = self.state.borrow().open.keys().cloned().collect();
                for id in ids {
                    let found = orders.iter().find(|o| o.tag.as_deref() == Some(&id));
                    self.refresh(&id, found).await;
                }
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
            self.refresh(&id, Some(&order)).await;
        }
    }

    /// Brings one open order up to date with Kite's view of it (`None`: Kite has no
    /// order with its tag).
    pub(super) async fn refresh(self: &Rc<Self>, id: &str, found: Option<&KiteOrder>) {
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
                Placement::Claimed { since } if Utc::now() - since > self.args.settle_delta() => {
                    let message = format!(
                        "Kite has no order tagged {id} {} s after its placement answer was lost; not re-sent",
                        self.args.settle.as_secs()
                    );
                    tracing::error!(order = %id, "{message}");
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

    fn kite_failed(&self, what: &str, e: &KiteError) {
        if e.is_token_error() {
            self.halt_on_token_error(e);
        } else {
            tracing::warn!(error = %e, "{what} failed; retried on the next poll");
        }
    }

    pub(super) fn halt_on_token_error(&self, e: &KiteError) {
        tracing::error!(error = %e, "KITE REJECTED THE ACCESS TOKEN: zerodha trading is HALTED. Log in again (alpha-panda zerodha session --request-token T), restart, then resume trading");
        if let Some(kill_switch) = &self.args.kill_switch {
            kill_switch.do_send(SetTradingState {
                broker: Broker::Zerodha,
                state: TradingState::Halted,
            });
        }
    }
}
