//! The execution logic of the Zerodha actor, as async code over shared state.
//!
//! The actor is single-threaded, so its state lives in a `RefCell` that every step
//! borrows briefly — never across an `.await`. One operation at a time touches an order
//! (`busy`): a placement in flight is not also refreshed by a poll.
//!
//! Commit rule: a record's new state is written to the journal only after the events it
//! produced were published. If a publication fails, the last state stays in force and the
//! same events (same envelope ids) are produced again from Kite's view on the next poll or
//! redelivery. Once they are published they happened: the record becomes the in-memory
//! state at once, whether or not its journal write succeeds. A write that fails (the store
//! down) is kept in `unjournaled` and written again before every poll until it lands —
//! never re-derived and re-published, so an outage of the store publishes each event once
//! (before this rule, every poll of a 20 s Redis outage published the same fill again).
//! A crash before the write lands leaves the journal's older state, and the start-up
//! reconciliation derives the rest from Kite (same ids, absorbed downstream). Facts that
//! must never be forgotten — "this order may exist at Kite" — are journaled *before* the
//! request that creates them.

use super::{SERVICE, ZerodhaExecutionArgs};
use crate::actors::risk_manager::SetTradingState;
use crate::actors::venue_events::publish_venue_event;
use crate::kite::rest::KiteError;
use crate::messages::{Broker, VenueEvent};
use crate::risk::TradingState;
use crate::streaming::consumer::HandlerError;
use crate::zerodha::{OrderRecord, is_slice_tag};
use chrono::Utc;
use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::rc::Rc;

/// Store index of orders that are not settled yet (reconciliation reads it).
pub const OPEN_INDEX: &str = "zerodha:orders:open";
/// Store index of settled orders.
pub const SETTLED_INDEX: &str = "zerodha:orders:settled";
/// Store index of slice tags: `zerodha:slice:{tag}` holds the client order id of the
/// order the slice belongs to (a slice's tag cannot carry it: the id alone fills Kite's
/// 20 characters).
pub const SLICES_INDEX: &str = "zerodha:slices";
/// The holder name of the hold a token error sets.
const TOKEN_HOLD: &str = "zerodha_execution.token";

/// The store key of a slice tag's owner.
fn slice_key(tag: &str) -> String {
    format!("{}:slice:{tag}", Broker::Zerodha)
}

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
    /// Position reconciliations finished (or skipped: dry run), the first right after the
    /// start-up reconciliation.
    pub position_reconciliations: u64,
}

#[derive(Default)]
pub(super) struct State {
    /// Orders not settled yet, as last committed.
    pub(super) open: BTreeMap<String, OrderRecord>,
    /// Committed records whose journal write has not landed yet (the store was down),
    /// newest state per order; written again before every poll.
    unjournaled: BTreeMap<String, OrderRecord>,
    busy: BTreeSet<String>,
    pub(super) polling: bool,
    /// Kite refused the session earlier in this run: nothing more is sent.
    pub(super) token_rejected: bool,
    /// Orders this run declared not placed, watched in case one turns up at Kite after all.
    pub(super) declared_not_placed: BTreeSet<String>,
    pub(super) stats: ZerodhaStats,
    /// The last position reconciliation's report.
    pub(super) positions: super::positions::PositionReport,
}

pub(super) struct Core {
    pub(super) args: ZerodhaExecutionArgs,
    pub(super) state: RefCell<State>,
    pub(super) reconciled: tokio::sync::watch::Sender<bool>,
    /// Woken whenever an order stops being busy.
    pub(super) released: tokio::sync::Notify,
    /// Held while a position reconciliation runs: one at a time.
    pub(super) positions_running: tokio::sync::Mutex<()>,
}

/// Marks an order busy for as long as it lives.
pub(super) struct Busy {
    core: Rc<Core>,
    id: String,
}

impl Drop for Busy {
    fn drop(&mut self) {
        self.core.state.borrow_mut().busy.remove(&self.id);
        self.core.released.notify_waiters();
    }
}

impl Core {
    pub(super) fn new(args: ZerodhaExecutionArgs) -> Rc<Core> {
        Rc::new(Core {
            args,
            state: RefCell::default(),
            reconciled: tokio::sync::watch::channel(false).0,
            released: tokio::sync::Notify::new(),
            positions_running: tokio::sync::Mutex::new(()),
        })
    }

    pub(super) fn stats(&self) -> ZerodhaStats {
        let state = self.state.borrow();
        ZerodhaStats {
            open_orders: state.open.len(),
            ..state.stats.clone()
        }
    }

    pub(super) fn claim_busy(self: &Rc<Self>, id: &str) -> Option<Busy> {
        let fresh = self.state.borrow_mut().busy.insert(id.to_owned());
        fresh.then(|| Busy {
            core: self.clone(),
            id: id.to_owned(),
        })
    }

    /// The journaled record of `id`: the in-memory open one, else the store's.
    pub(super) async fn load(&self, id: &str) -> Result<Option<OrderRecord>, HandlerError> {
        if let Some(record) = self.state.borrow().open.get(id) {
            return Ok(Some(record.clone()));
        }
        let json = self
            .args
            .store
            .get(&OrderRecord::key(id))
            .await
            .map_err(|e| HandlerError::Unavailable(format!("journal read: {e}")))?;
        json.map(|j| {
            serde_json::from_str(&j).map_err(|e| {
                HandlerError::Permanent(format!("journal entry of order {id} is unreadable: {e}"))
            })
        })
        .transpose()
    }

    /// The client order id of the open order one of whose slices is tagged `tag`.
    pub(super) fn open_owner_of(&self, tag: &str) -> Option<String> {
        self.state
            .borrow()
            .open
            .values()
            .find(|r| r.slice_of(tag).is_some())
            .map(|r| r.client_order_id.clone())
    }

    /// The client order id of the order Kite knows a Kite order of by `tag`: an open
    /// order with a slice so tagged, an order whose id is the tag, or the order a slice
    /// tag was journaled for.
    ///
    /// # Errors
    /// The store could not be read.
    pub(super) async fn owner_of(&self, tag: &str) -> Result<Option<String>, HandlerError> {
        let open = self.open_owner_of(tag);
        if open.is_some() {
            return Ok(open);
        }
        let read = |key: String| {
            let store = self.args.store.clone();
            async move {
                store
                    .get(&key)
                    .await
                    .map_err(|e| HandlerError::Unavailable(format!("journal read: {e}")))
            }
        };
        if is_slice_tag(tag) {
            return read(slice_key(tag)).await;
        }
        Ok(read(OrderRecord::key(tag)).await?.map(|_| tag.to_owned()))
    }

    /// Journals each slice's tag as belonging to `record`, before any slice is sent.
    pub(super) async fn journal_slice_tags(
        &self,
        record: &OrderRecord,
    ) -> Result<(), HandlerError> {
        for slice in &record.slices {
            self.args
                .store
                .put(
                    SLICES_INDEX,
                    &slice_key(&slice.tag),
                    record.client_order_id.clone(),
                )
                .await
                .map_err(|e| HandlerError::Unavailable(format!("journal write: {e}")))?;
        }
        Ok(())
    }

    /// Publishes `events` one after the other (so a retry can never reorder them), then
    /// journals `record`, then adopts it in memory.
    pub(super) async fn commit(
        &self,
        record: OrderRecord,
        events: Vec<VenueEvent>,
    ) -> Result<(), HandlerError> {
        let now = Utc::now();
        for event in events {
            let delivery = publish_venue_event(
                &self.args.producer,
                Broker::Zerodha,
                SERVICE,
                &record.signal,
                event,
                now,
            );
            delivery
                .await
                .map_err(|e| HandlerError::Transient(format!("publishing order events: {e}")))?;
        }
        // Published: it happened. Adopted now, journaled now or later.
        let id = record.client_order_id.clone();
        {
            let mut state = self.state.borrow_mut();
            if record.is_settled() {
                state.open.remove(&id);
            } else {
                state.open.insert(id.clone(), record.clone());
            }
        }
        match self.persist(&record).await {
            Ok(()) => {
                self.state.borrow_mut().unjournaled.remove(&id);
            }
            Err(e) => {
                tracing::warn!(order = %id, error = %e, "order state published but not journaled (store down); written again before every poll");
                self.state.borrow_mut().unjournaled.insert(id, record);
            }
        }
        Ok(())
    }

    /// Writes the committed records whose journal write failed earlier; those that fail
    /// again wait for the next call.
    pub(super) async fn flush_journal(&self) {
        let waiting: Vec<OrderRecord> = self.state.borrow().unjournaled.values().cloned().collect();
        for record in waiting {
            if self.persist(&record).await.is_ok() {
                let mut state = self.state.borrow_mut();
                // Unless a newer state was committed meanwhile (it is waiting itself).
                if state.unjournaled.get(&record.client_order_id) == Some(&record) {
                    state.unjournaled.remove(&record.client_order_id);
                    tracing::info!(order = %record.client_order_id, "order state journaled after the store came back");
                }
            }
        }
    }

    pub(super) async fn persist(&self, record: &OrderRecord) -> Result<(), HandlerError> {
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
            .map_err(|e| HandlerError::Unavailable(format!("journal write: {e}")))
    }

    /// Kite refused the session (403): latch it (no further order is sent in this run),
    /// hold zerodha HALTED, pull the kill switch (persisted by the risk manager), and say
    /// so loudly. Logging in again and restarting is the way out.
    pub(super) fn halt_on_token_error(&self, e: &KiteError) {
        tracing::error!(error = %e, "KITE REJECTED THE ACCESS TOKEN: zerodha trading is HALTED. Log in again (alpha-panda zerodha session --request-token T), restart, then resume trading");
        crate::alerts::raise(
            crate::alerts::Alert::new(
                crate::alerts::AlertKind::KiteTokenRejected,
                "rest",
                format!("Kite rejected the access token ({e}): zerodha trading is HALTED. Log in again (alpha-panda zerodha session --request-token T), restart, then resume trading"),
            )
            .on(Broker::Zerodha),
        );
        self.state.borrow_mut().token_rejected = true;
        self.args.holds.hold(
            Broker::Zerodha,
            TOKEN_HOLD,
            "Kite rejected the access token",
        );
        if let Some(kill_switch) = self.args.kill_switch.clone() {
            actix::spawn(async move {
                let halt = SetTradingState {
                    broker: Broker::Zerodha,
                    state: TradingState::Halted,
                };
                match kill_switch.send(halt).await {
                    Ok(Ok(_)) => {}
                    Ok(Err(e)) => {
                        tracing::error!(error = %e, "the kill switch did not save HALTED for zerodha; the in-process hold still stops trading")
                    }
                    Err(e) => {
                        tracing::error!(error = %e, "the kill switch could not be reached; the in-process hold still stops trading")
                    }
                }
            });
        }
    }

    /// Kite answered a read with an error: a token error halts, anything else waits for
    /// the next poll.
    pub(super) fn kite_failed(&self, what: &str, e: &KiteError) {
        if e.is_token_error() {
            self.halt_on_token_error(e);
        } else {
            tracing::warn!(error = %e, "{what} failed; retried on the next poll");
        }
    }
}
