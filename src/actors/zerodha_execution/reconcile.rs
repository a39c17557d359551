//! Start-up reconciliation with Kite: the journal's open orders against Kite's order
//! book and trades, before anything is placed; then the slices an earlier incarnation
//! planned and did not send go out (or end as stale: see `placement`).

use super::core::{Core, OPEN_INDEX};
use super::tracking::KiteView;
use crate::actors::risk_manager::TradingHolds;
use crate::kite::rest::{KiteError, KiteOrder};
use crate::messages::Broker;
use crate::zerodha::positions::is_our_tag;
use crate::zerodha::{OrderRecord, Placement};
use chrono::Utc;
use std::rc::Rc;
use tokio::time::Instant;

/// The holder name of the reconciliation hold.
const RECONCILIATION_HOLD: &str = "zerodha_execution.reconciliation";

/// Holds zerodha HALTED until zerodha execution has reconciled. The daemon calls it when
/// it builds the tree, before any service starts, so the risk manager never validates a
/// zerodha signal in between; the actor sets it again when it (re)starts.
pub fn hold_until_reconciled(holds: &TradingHolds) {
    holds.hold(
        Broker::Zerodha,
        RECONCILIATION_HOLD,
        "reconciliation with Kite pending",
    );
}

impl Core {
    /// Start-up reconciliation: until it succeeds the broker is held HALTED and nothing
    /// is placed. Retries with backoff for as long as it takes.
    pub(super) async fn reconcile(self: Rc<Self>) {
        let holds = &self.args.holds;
        hold_until_reconciled(holds);
        let mut delay = self.args.reconcile_retry_initial;
        loop {
            match self.reconcile_once().await {
                Ok(()) => break,
                Err(e) => {
                    tracing::error!(error = %e, retry_in_ms = delay.as_millis() as u64, "reconciliation with Kite failed; zerodha stays HALTED");
                    if let Some(kite) = e.1.as_ref().filter(|k| k.is_token_error()) {
                        self.halt_on_token_error(kite);
                    }
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(self.args.reconcile_retry_max);
                }
            }
        }
        holds.release(Broker::Zerodha, RECONCILIATION_HOLD);
        self.state.borrow_mut().stats.reconciled = true;
        self.reconciled.send_replace(true);
        tracing::info!(
            open_orders = self.state.borrow().open.len(),
            "reconciled with Kite; zerodha may trade"
        );
        self.resume_unsent();
    }

    /// Sends, each on its own task, the slices of open orders an earlier incarnation
    /// planned and did not send (it died mid-slicing). Their signal's redelivery would
    /// too, but it may never come (its offset committed by a later record's, or the
    /// consumer elsewhere); whichever comes second finds them sent. A signal older than
    /// `zerodha.max_signal_age_secs` has them end as stale instead.
    fn resume_unsent(self: &Rc<Self>) {
        let waiting: Vec<OrderRecord> = self
            .state
            .borrow()
            .open
            .values()
            .filter(|r| r.next_unsent().is_some())
            .cloned()
            .collect();
        for record in waiting {
            let id = record.client_order_id.clone();
            let Some(busy) = self.claim_busy(&id) else {
                continue;
            };
            tracing::warn!(order = %id, "an earlier run died before sending every slice of this order: sending the rest");
            let core = self.clone();
            actix::spawn(async move {
                if let Err(e) = core.send(record, Instant::now(), false).await {
                    tracing::warn!(order = %id, error = %e, "slices not sent yet; the signal's redelivery sends them");
                }
                drop(busy);
            });
        }
    }

    async fn reconcile_once(self: &Rc<Self>) -> Result<(), ReconcileError> {
        let store = &self.args.store;
        let keys = store
            .members(OPEN_INDEX)
            .await
            .map_err(|e| ReconcileError(e.to_string(), None))?;
        let mut records = Vec::new();
        for key in keys {
            let json = store
                .get(&key)
                .await
                .map_err(|e| ReconcileError(e.to_string(), None))?;
            match json.map(|j| serde_json::from_str::<OrderRecord>(&j)) {
                Some(Ok(record)) => records.push(record),
                Some(Err(e)) => {
                    tracing::error!(%key, error = %e, "unreadable journal entry skipped")
                }
                None => {}
            }
        }
        {
            let mut state = self.state.borrow_mut();
            for record in &records {
                state
                    .open
                    .insert(record.client_order_id.clone(), record.clone());
            }
        }
        if self.args.dry_run {
            return Ok(());
        }
        let kite = |what: &str, e: KiteError| ReconcileError(format!("{what}: {e}"), Some(e));
        let asked_at = Utc::now();
        let orders = self
            .args
            .client
            .orders()
            .await
            .map_err(|e| kite("GET /orders", e))?;
        let trades = self
            .args
            .client
            .trades()
            .await
            .map_err(|e| kite("GET /trades", e))?;
        for record in records {
            let id = &record.client_order_id;
            self.refresh_with(id, KiteView::Book(&orders), Some(&trades), asked_at)
                .await
                .map_err(|e| ReconcileError(e.to_string(), None))?;
        }
        self.report_strangers(&orders).await;
        Ok(())
    }

    /// Kite orders carrying our tag prefix whose order is not open in the journal:
    /// unknown to it (only possible if the journal was lost: reported, never touched), or
    /// declared not placed (their request reached Kite after all: tracked again, and
    /// zerodha halted). A slice's tag leads to its order through the journal.
    async fn report_strangers(self: &Rc<Self>, orders: &[KiteOrder]) {
        for order in orders {
            let Some(tag) = order.tag.as_deref().filter(|t| is_our_tag(t)) else {
                continue;
            };
            let open = self
                .state
                .borrow()
                .open
                .values()
                .any(|r| r.slice_of(tag).is_some());
            if open {
                continue;
            }
            let record = match self.owner_of(tag).await {
                Ok(Some(id)) => self.load(&id).await,
                Ok(None) => Ok(None),
                Err(e) => Err(e),
            };
            match record {
                Ok(None) => {
                    tracing::error!(order = %order.order_id, tag, "Kite holds an order with our tag that the journal does not know; left alone — check it by hand");
                    crate::alerts::raise(
                        crate::alerts::Alert::new(
                            crate::alerts::AlertKind::ReconciliationDifference,
                            format!("order {tag}"),
                            format!("Kite holds an order with our tag {tag} (Kite order {}) that the journal does not know; left alone — check it by hand", order.order_id),
                        )
                        .on(Broker::Zerodha),
                    );
                }
                Ok(Some(record)) => {
                    let declared = record
                        .slice_of(tag)
                        .is_some_and(|i| record.slices[i].placement == Placement::NotPlaced);
                    if declared {
                        self.resurrect(tag, order).await;
                    }
                }
                Err(e) => {
                    tracing::warn!(tag, error = %e, "could not look up the order of a tagged Kite order");
                }
            }
        }
    }
}

#[derive(Debug)]
struct ReconcileError(String, Option<KiteError>);

impl std::fmt::Display for ReconcileError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}
