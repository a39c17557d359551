//! Start-up reconciliation with Kite: the journal's open orders against Kite's order
//! book and trades, before anything is placed.

use super::core::{Core, OPEN_INDEX};
use crate::actors::risk_manager::TradingHolds;
use crate::kite::rest::{KiteError, KiteOrder, KiteTrade};
use crate::messages::Broker;
use crate::zerodha::{OrderRecord, Placement};
use chrono::Utc;
use std::rc::Rc;

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
            let id = record.client_order_id.clone();
            let found = orders.iter().find(|o| o.tag.as_deref() == Some(&id));
            self.settle_from(&id, found, &trades, asked_at).await?;
        }
        self.report_strangers(&orders).await;
        Ok(())
    }

    /// Applies Kite's order and trades to one journaled order during reconciliation.
    async fn settle_from(
        self: &Rc<Self>,
        id: &str,
        found: Option<&KiteOrder>,
        trades: &[KiteTrade],
        asked_at: chrono::DateTime<Utc>,
    ) -> Result<(), ReconcileError> {
        let Some(order) = found else {
            // Not at Kite: an unknown placement keeps waiting until its settle time is
            // over; anything else stays as journaled.
            self.refresh(id, None, asked_at).await;
            return Ok(());
        };
        let Some(_busy) = self.claim_busy(id) else {
            return Ok(());
        };
        let Some(record) = self.state.borrow().open.get(id).cloned() else {
            return Ok(());
        };
        let mut next = record.clone();
        let events = next.apply(order, trades, &self.args.charges, Utc::now());
        if next != record {
            tracing::info!(order = %id, events = events.len(), "reconciled order with Kite");
            self.commit(next, events)
                .await
                .map_err(|e| ReconcileError(e.to_string(), None))?;
        }
        Ok(())
    }

    /// Kite orders carrying our tag prefix that are not open in the journal: unknown to
    /// it (only possible if the journal was lost: reported, never touched), or declared
    /// not placed (their request reached Kite after all: tracked again, and zerodha
    /// halted).
    async fn report_strangers(self: &Rc<Self>, orders: &[KiteOrder]) {
        for order in orders {
            let Some(tag) = order
                .tag
                .as_deref()
                .filter(|t| t.starts_with("ap") && t.len() == 20)
            else {
                continue;
            };
            if self.state.borrow().open.contains_key(tag) {
                continue;
            }
            match self.load(tag).await {
                Ok(None) => {
                    tracing::error!(order = %order.order_id, tag, "Kite holds an order with our tag that the journal does not know; left alone — check it by hand");
                }
                Ok(Some(record)) if record.placement == Placement::NotPlaced => {
                    self.resurrect(tag, order).await;
                }
                _ => {}
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
