//! Position reconciliation with Kite: at start (after the order reconciliation) and every
//! `zerodha.reconcile_interval_secs`.
//!
//! 1. Kite's trades of orders we never placed (untagged: the broker's auto square-off,
//!    an RMS square-off, a manual trade) are booked: split over the strategies whose
//!    positions they reduce ([`allocate`]), each part published to `zerodha.orders.filled`
//!    as a fill of order `ext-{kite order id}`, then journaled (`zerodha:external:{trade
//!    id}`), so risk, the portfolio and each strategy's ledger follow the account.
//! 2. The account's positions (`GET /portfolio/positions`, holdings for CNC) are compared
//!    with the journal's. A difference on an instrument with an order of ours still open
//!    is in flight and only reported; any other difference seen in two reconciliations in
//!    a row (one reading can race a trade between Kite's two lists) HALTS zerodha through
//!    the kill switch and says so loudly. The last report is kept for the API and metrics.

use super::SERVICE;
use super::core::{Core, SETTLED_INDEX};
use crate::actors::risk_manager::SetTradingState;
use crate::kite::orders::Product;
use crate::kite::rest::{KiteOrder, KiteTrade};
use crate::market::MarketCalendar;
use crate::messages::{Broker, EXTERNAL_ORDER_PREFIX, Envelope, OrderFilled, OrderRef, Side};
use crate::risk::TradingState;
use crate::streaming::{Stream, Topic};
use crate::telemetry::metrics;
use crate::zerodha::positions::{
    Difference, ExternalBooking, Holdings, PositionKey, allocate, differences, kites, ours,
    untagged,
};
use crate::zerodha::{OrderRecord, charge_column};
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::collections::BTreeSet;
use std::rc::Rc;

/// Store index of booked untagged trades.
pub const EXTERNAL_INDEX: &str = "zerodha:external";

/// The last position reconciliation.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct PositionReport {
    /// When Kite was asked; `None` before the first reconciliation ran.
    pub at: Option<DateTime<Utc>>,
    /// Untagged trades booked by this reconciliation (Kite trade ids).
    pub booked: Vec<String>,
    /// Positions that differ, after booking.
    pub differences: Vec<Difference>,
    /// The differences on instruments with orders of ours still open (not halting).
    pub in_flight: Vec<Difference>,
    /// This reconciliation halted zerodha.
    pub halted: bool,
    /// Why it could not complete, if it could not.
    pub error: Option<String>,
}

fn booking_key(trade_id: &str) -> String {
    format!("{}:external:{trade_id}", Broker::Zerodha)
}

impl Core {
    /// Runs one position reconciliation and returns its report. None runs before the
    /// order reconciliation or in a dry run (the last report is answered); while another
    /// runs, `wait` waits for it and then runs (an explicit request), else nothing runs (a
    /// timer tick).
    pub(super) async fn reconcile_positions(self: Rc<Self>, wait: bool) -> PositionReport {
        let _running = if wait {
            self.positions_running.lock().await
        } else {
            match self.positions_running.try_lock() {
                Ok(guard) => guard,
                Err(_) => return self.state.borrow().positions.clone(),
            }
        };
        {
            let mut state = self.state.borrow_mut();
            if !*self.reconciled.borrow() {
                return state.positions.clone();
            }
            if self.args.dry_run {
                state.stats.position_reconciliations += 1;
                return state.positions.clone();
            }
        }
        let report = match self.positions_once().await {
            Ok(report) => report,
            Err(error) => {
                tracing::warn!(%error, "position reconciliation with Kite failed; retried at the next interval");
                PositionReport {
                    error: Some(error),
                    ..self.state.borrow().positions.clone()
                }
            }
        };
        metrics::reconciliation(Broker::Zerodha, report.differences.len(), report.at);
        let mut state = self.state.borrow_mut();
        state.positions = report.clone();
        state.stats.position_reconciliations += 1;
        report
    }

    async fn positions_once(self: &Rc<Self>) -> Result<PositionReport, String> {
        let client = &self.args.client;
        let at = Utc::now();
        let kite = |what: &'static str| {
            move |e: crate::kite::rest::KiteError| {
                self.kite_failed(what, &e);
                format!("{what}: {e}")
            }
        };
        // Trades before orders: every trade's order exists before the trade, so each
        // trade read here finds its order (and our tag on it) in the list read after.
        let trades = client.trades().await.map_err(kite("GET /trades"))?;
        let orders = client.orders().await.map_err(kite("GET /orders"))?;
        let positions = client
            .positions()
            .await
            .map_err(kite("GET /portfolio/positions"))?;
        let holdings = client
            .holdings()
            .await
            .map_err(kite("GET /portfolio/holdings"))?;
        let records = self.journal().await?;
        let mut bookings = self.bookings().await?;
        let today = MarketCalendar::ist_date(at);
        let booked_ids: BTreeSet<String> = bookings.iter().map(|b| b.trade_id.clone()).collect();
        let mut booked = Vec::new();
        for trade in untagged(&trades, &orders, &booked_ids) {
            let held = ours(&records, &bookings, today);
            let booking = match self.book(trade, &orders, &held, at).await {
                Ok(booking) => booking,
                Err(e) => {
                    tracing::error!(trade = %trade.trade_id, error = %e, "an untagged Kite trade could not be booked");
                    continue;
                }
            };
            booked.push(booking.trade_id.clone());
            bookings.push(booking);
        }
        let held = ours(&records, &bookings, today);
        let all = differences(&held, &kites(&positions, &holdings));
        let open_keys: BTreeSet<PositionKey> = records
            .iter()
            .filter(|r| !r.is_settled())
            .map(|r| PositionKey {
                exchange: r.target.exchange.clone(),
                tradingsymbol: r.target.tradingsymbol.clone(),
                product: r.target.product,
            })
            .collect();
        let (in_flight, differences): (Vec<Difference>, Vec<Difference>) =
            all.into_iter().partition(|d| open_keys.contains(&d.key));
        let previous = self.state.borrow().positions.differences.clone();
        let confirmed: Vec<&Difference> = differences
            .iter()
            .filter(|d| previous.contains(d))
            .collect();
        let halted = !confirmed.is_empty();
        if halted {
            let listed: Vec<String> = confirmed
                .iter()
                .map(|d| format!("{} ours {} Kite {}", d.key, d.ours, d.kite))
                .collect();
            tracing::error!(differences = %listed.join("; "), "POSITIONS DIFFER FROM KITE'S and no trade explains it: zerodha trading is HALTED — check the account, fix by hand, then resume");
            crate::alerts::raise(
                crate::alerts::Alert::new(
                    crate::alerts::AlertKind::ReconciliationDifference,
                    "positions",
                    format!("POSITIONS DIFFER FROM KITE'S in two reconciliations in a row and no trade explains it: {}. zerodha trading is HALTED — check the account, fix by hand, then resume", listed.join("; ")),
                )
                .on(Broker::Zerodha),
            );
            if let Some(kill_switch) = self.args.kill_switch.clone() {
                kill_switch.do_send(SetTradingState {
                    broker: Broker::Zerodha,
                    state: TradingState::Halted,
                });
            }
        } else if !differences.is_empty() {
            tracing::warn!(
                count = differences.len(),
                "positions differ from Kite's; halting if the next reconciliation sees the same"
            );
        }
        Ok(PositionReport {
            at: Some(at),
            booked,
            differences,
            in_flight,
            halted,
            error: None,
        })
    }

    /// Every journaled order: the open ones in memory, the settled ones from the store.
    async fn journal(&self) -> Result<Vec<OrderRecord>, String> {
        let mut records: Vec<OrderRecord> = self.state.borrow().open.values().cloned().collect();
        let open: BTreeSet<String> = records.iter().map(|r| r.client_order_id.clone()).collect();
        for json in self.read_index(SETTLED_INDEX).await? {
            match serde_json::from_str::<OrderRecord>(&json) {
                Ok(r) if !open.contains(&r.client_order_id) => records.push(r),
                Ok(_) => {}
                Err(e) => {
                    tracing::error!(error = %e, "unreadable journal entry left out of the position reconciliation")
                }
            }
        }
        Ok(records)
    }

    async fn bookings(&self) -> Result<Vec<ExternalBooking>, String> {
        let mut out = Vec::new();
        for json in self.read_index(EXTERNAL_INDEX).await? {
            match serde_json::from_str(&json) {
                Ok(booking) => out.push(booking),
                Err(e) => tracing::error!(error = %e, "unreadable external trade booking left out"),
            }
        }
        Ok(out)
    }

    async fn read_index(&self, index: &str) -> Result<Vec<String>, String> {
        let store = &self.args.store;
        let keys = store.members(index).await.map_err(|e| e.to_string())?;
        let mut out = Vec::with_capacity(keys.len());
        for key in keys {
            if let Some(json) = store.get(&key).await.map_err(|e| e.to_string())? {
                out.push(json);
            }
        }
        Ok(out)
    }

    /// Books one untagged trade: publishes a fill per strategy it moved, then journals it.
    async fn book(
        &self,
        trade: &KiteTrade,
        orders: &[KiteOrder],
        held: &Holdings,
        at: DateTime<Utc>,
    ) -> Result<ExternalBooking, String> {
        let product: Product = trade.product.parse()?;
        let side = match trade.transaction_type.as_str() {
            "BUY" => Side::Buy,
            "SELL" => Side::Sell,
            other => return Err(format!("unknown transaction type {other:?}")),
        };
        let key = PositionKey {
            exchange: trade.exchange.clone(),
            tradingsymbol: trade.tradingsymbol.clone(),
            product,
        };
        let instrument = self
            .args
            .registry
            .by_symbol(&format!("{}:{}", key.exchange, key.tradingsymbol))
            .ok_or_else(|| format!("{key} is not in the instrument registry"))?;
        let holders = held.get(&key).cloned().unwrap_or_default();
        let allocations = allocate(side, trade.quantity, &holders);
        let executed_at = trade.executed_at().unwrap_or(at);
        let placed_by = orders
            .iter()
            .find(|o| o.order_id == trade.order_id)
            .map(|o| o.status.clone())
            .unwrap_or_default();
        tracing::warn!(trade = %trade.trade_id, order = %trade.order_id, %key, ?side, quantity = trade.quantity, price = %trade.average_price, allocations = ?allocations, order_status = %placed_by, "booking a Kite trade alpha-panda did not place (auto or RMS square-off, or a manual trade)");
        let count = allocations.len();
        for (n, (strategy, quantity)) in allocations.iter().enumerate() {
            let fill_id = if count == 1 {
                format!("zerodha:{}", trade.trade_id)
            } else {
                format!("zerodha:{}:{n}", trade.trade_id)
            };
            let fill = OrderFilled {
                order: OrderRef {
                    client_order_id: format!("{EXTERNAL_ORDER_PREFIX}{}", trade.order_id),
                    broker_order_id: Some(trade.order_id.clone()),
                    strategy_id: strategy.clone(),
                    broker: Broker::Zerodha,
                    token: instrument.token,
                    symbol: instrument.symbol.clone(),
                    side,
                },
                fees: self.args.charges.charges_for_fill(
                    charge_column(product, &instrument.kind),
                    side,
                    *quantity,
                    trade.average_price,
                    rust_decimal::Decimal::ZERO,
                ),
                fill_id: fill_id.clone(),
                quantity: *quantity,
                price: trade.average_price,
                cumulative_quantity: *quantity,
                order_quantity: *quantity,
                filled_at: executed_at,
            };
            let id = uuid::Uuid::new_v5(&uuid::Uuid::NAMESPACE_OID, fill_id.as_bytes());
            let envelope = Envelope::root_with_id(fill, SERVICE, at, id);
            metrics::order_filled(Broker::Zerodha);
            self.args
                .producer
                .publish_envelope(Topic::of(Broker::Zerodha, Stream::OrdersFilled), &envelope)
                .await
                .map_err(|e| format!("publishing the fill of untagged trade: {e}"))?;
        }
        let booking = ExternalBooking {
            trade_id: trade.trade_id.clone(),
            order_id: trade.order_id.clone(),
            key,
            side,
            quantity: trade.quantity,
            price: trade.average_price,
            executed_at,
            allocations,
        };
        let json = serde_json::to_string(&booking).map_err(|e| e.to_string())?;
        self.args
            .store
            .put(EXTERNAL_INDEX, &booking_key(&booking.trade_id), json)
            .await
            .map_err(|e| format!("journaling the booking: {e}"))?;
        Ok(booking)
    }
}
