//! The fake's book: orders, their histories, trades, recorded requests and the test's script.
//!
//! Invariants: order ids (15 digits), exchange order ids (16 digits) and trade ids (8 digits)
//! are unique and increase in creation order; every state change of an order appends one
//! snapshot to its history, so `GET /orders/{id}` is the full story, oldest first;
//! `filled_quantity <= quantity` always, and `average_price` is the exact quantity-weighted
//! mean of the order's trades. Prices are [`Decimal`]s here and become JSON numbers only when
//! rendered.

use super::execution::AutoExecution;
use super::instruments::Master;
use super::market::Market;
use super::portfolio::Portfolio;
use super::rate::OrderRate;
use super::{Placement, RecordedRequest};
use chrono::{DateTime, FixedOffset, Utc};
use rust_decimal::Decimal;
use serde_json::{Value, json};
use std::collections::{HashSet, VecDeque};

/// The user every fake session belongs to (`user_id` in answers and order updates).
pub const FAKE_USER_ID: &str = "AB1234";

/// India Standard Time, UTC+05:30; Kite's timestamps are IST wall clock.
const IST: FixedOffset = match FixedOffset::east_opt(5 * 3600 + 30 * 60) {
    Some(offset) => offset,
    // Unreachable: 19,800 s is well inside the ±24 h range; checked at compile time.
    None => panic!("IST offset out of range"),
};

const ORDER_ID_BASE: u64 = 151_220_000_000_000;
const EXCHANGE_ORDER_ID_BASE: u64 = 1_100_000_000_000_000;
const TRADE_ID_BASE: u64 = 10_000_000;

/// Statuses after which an order never changes again.
pub(super) fn is_terminal(status: &str) -> bool {
    matches!(status, "COMPLETE" | "CANCELLED" | "REJECTED")
}

/// Now, as Kite writes it: `YYYY-MM-DD HH:MM:SS` in IST.
pub(super) fn ist_now() -> DateTime<FixedOffset> {
    Utc::now().with_timezone(&IST)
}

fn timestamp(at: DateTime<FixedOffset>) -> String {
    at.format("%Y-%m-%d %H:%M:%S").to_string()
}

/// An exact decimal as a JSON number, from its text (no detour through a computed `f64`).
pub(super) fn price_json(price: Decimal) -> Value {
    price
        .normalize()
        .to_string()
        .parse::<serde_json::Number>()
        .map(Value::Number)
        // Unreachable: a Decimal's Display is always a plain JSON number.
        .unwrap_or(Value::Null)
}

/// One order as the fake holds it (its latest state).
#[derive(Debug, Clone, PartialEq)]
pub struct FakeOrder {
    pub order_id: String,
    pub exchange_order_id: String,
    pub variety: String,
    pub status: String,
    /// The reason of a rejection or cancellation; `None` otherwise.
    pub status_message: Option<String>,
    /// The `tag` form field; `None` when absent or empty.
    pub tag: Option<String>,
    pub exchange: String,
    pub tradingsymbol: String,
    pub transaction_type: String,
    pub order_type: String,
    pub product: String,
    pub validity: String,
    pub validity_ttl: Option<u64>,
    pub quantity: u64,
    pub disclosed_quantity: u64,
    /// 0 when not sent.
    pub price: Decimal,
    /// 0 when not sent.
    pub trigger_price: Decimal,
    pub market_protection: i64,
    /// Who placed it: [`FAKE_USER_ID`] for API and app orders, e.g. "ADMINSQF" for
    /// Zerodha's auto square-off.
    pub placed_by: String,
    /// Whether a `PUT /orders/{variety}/{id}` changed it.
    pub modified: bool,
    pub filled_quantity: u64,
    /// Exact quantity-weighted mean of the fills (0 before the first fill).
    pub average_price: Decimal,
    /// IST, `YYYY-MM-DD HH:MM:SS`.
    pub order_timestamp: String,
    /// IST time of the latest state change.
    pub exchange_update_timestamp: String,
    /// The form fields of the `POST /orders/{variety}` that created it, as received.
    pub form: Vec<(String, String)>,
}

impl FakeOrder {
    /// Whether the order can no longer change (COMPLETE, CANCELLED, REJECTED).
    pub fn is_terminal(&self) -> bool {
        is_terminal(&self.status)
    }

    fn pending_and_cancelled(&self) -> (u64, u64) {
        let open = self.quantity.saturating_sub(self.filled_quantity);
        match self.status.as_str() {
            "CANCELLED" => (0, open),
            "COMPLETE" | "REJECTED" => (0, 0),
            _ => (open, 0),
        }
    }

    /// The order object of `GET /orders` and `GET /orders/{id}`.
    pub(super) fn to_json(&self) -> Value {
        let (pending, cancelled) = self.pending_and_cancelled();
        json!({
            "placed_by": self.placed_by,
            "order_id": self.order_id,
            "exchange_order_id": self.exchange_order_id,
            "parent_order_id": null,
            "status": self.status,
            "status_message": self.status_message,
            "status_message_raw": self.status_message,
            "order_timestamp": self.order_timestamp,
            "exchange_update_timestamp": self.exchange_update_timestamp,
            "exchange_timestamp": self.order_timestamp,
            "variety": self.variety,
            "modified": self.modified,
            "exchange": self.exchange,
            "tradingsymbol": self.tradingsymbol,
            "instrument_token": 0,
            "order_type": self.order_type,
            "transaction_type": self.transaction_type,
            "validity": self.validity,
            "validity_ttl": self.validity_ttl.unwrap_or(0),
            "product": self.product,
            "quantity": self.quantity,
            "disclosed_quantity": self.disclosed_quantity,
            "price": price_json(self.price),
            "trigger_price": price_json(self.trigger_price),
            // Display precision only; the exact mean stays in `average_price`.
            "average_price": price_json(self.average_price.round_dp(4)),
            "filled_quantity": self.filled_quantity,
            "pending_quantity": pending,
            "cancelled_quantity": cancelled,
            "market_protection": self.market_protection,
            "meta": {},
            "tag": self.tag,
            "tags": self.tag.as_ref().map(|tag| vec![tag.clone()]),
            "guid": format!("fake-guid-{}", self.order_id),
        })
    }
}

/// One execution of an order.
#[derive(Debug, Clone, PartialEq)]
pub struct FakeTrade {
    pub trade_id: String,
    pub order_id: String,
    pub quantity: u64,
    pub price: Decimal,
    /// IST, `YYYY-MM-DD HH:MM:SS`.
    pub fill_timestamp: String,
}

struct Entry {
    order: FakeOrder,
    history: Vec<Value>,
}

/// Everything the fake knows; lives behind the shared mutex.
pub(super) struct State {
    pub access_token: String,
    pub token_expired: bool,
    pub request_tokens: HashSet<String>,
    pub sessions: u64,
    pub requests: Vec<RecordedRequest>,
    pub script: VecDeque<Placement>,
    pub rate_limited: usize,
    pub failing_gets: usize,
    pub failing_get_status: u16,
    pub placements: usize,
    pub market: Market,
    pub rate: OrderRate,
    pub portfolio: Portfolio,
    /// `Some` while auto-execution is on.
    pub auto: Option<AutoExecution>,
    /// What `GET /instruments` serves.
    pub master: Master,
    /// Historical candle requests and their script.
    pub historical: super::historical::Historical,
    orders: Vec<Entry>,
    trades: Vec<FakeTrade>,
    next_order: u64,
    next_trade: u64,
}

/// What a valid `POST /orders/{variety}` asks for (built by the form validation).
pub(super) struct NewOrder {
    pub variety: String,
    pub exchange: String,
    pub tradingsymbol: String,
    pub transaction_type: String,
    pub order_type: String,
    pub product: String,
    pub validity: String,
    pub validity_ttl: Option<u64>,
    pub quantity: u64,
    pub disclosed_quantity: u64,
    pub price: Decimal,
    pub trigger_price: Decimal,
    pub market_protection: i64,
    pub tag: Option<String>,
    pub placed_by: String,
    pub form: Vec<(String, String)>,
}

impl State {
    pub fn new(access_token: String) -> State {
        State {
            access_token,
            token_expired: false,
            request_tokens: HashSet::new(),
            sessions: 0,
            requests: Vec::new(),
            script: VecDeque::new(),
            rate_limited: 0,
            failing_gets: 0,
            failing_get_status: 503,
            placements: 0,
            market: Market::default(),
            rate: OrderRate::default(),
            portfolio: Portfolio::default(),
            auto: None,
            master: Master::default(),
            historical: Default::default(),
            orders: Vec::new(),
            trades: Vec::new(),
            next_order: 0,
            next_trade: 0,
        }
    }

    pub fn orders(&self) -> impl Iterator<Item = &FakeOrder> {
        self.orders.iter().map(|entry| &entry.order)
    }

    pub fn order(&self, order_id: &str) -> Option<&FakeOrder> {
        self.orders().find(|order| order.order_id == order_id)
    }

    pub fn history(&self, order_id: &str) -> Option<&[Value]> {
        self.orders
            .iter()
            .find(|entry| entry.order.order_id == order_id)
            .map(|entry| entry.history.as_slice())
    }

    pub fn trades(&self) -> &[FakeTrade] {
        &self.trades
    }

    /// Creates an OPEN order; returns its id.
    pub fn create(&mut self, new: NewOrder) -> String {
        self.next_order += 1;
        let now = timestamp(ist_now());
        let order = FakeOrder {
            order_id: (ORDER_ID_BASE + self.next_order).to_string(),
            exchange_order_id: (EXCHANGE_ORDER_ID_BASE + self.next_order).to_string(),
            variety: new.variety,
            status: "OPEN".to_owned(),
            status_message: None,
            tag: new.tag,
            exchange: new.exchange,
            tradingsymbol: new.tradingsymbol,
            transaction_type: new.transaction_type,
            order_type: new.order_type,
            product: new.product,
            validity: new.validity,
            validity_ttl: new.validity_ttl,
            quantity: new.quantity,
            disclosed_quantity: new.disclosed_quantity,
            price: new.price,
            trigger_price: new.trigger_price,
            market_protection: new.market_protection,
            placed_by: new.placed_by,
            modified: false,
            filled_quantity: 0,
            average_price: Decimal::ZERO,
            order_timestamp: now.clone(),
            exchange_update_timestamp: now,
            form: new.form,
        };
        let order_id = order.order_id.clone();
        let history = vec![order.to_json()];
        self.orders.push(Entry { order, history });
        order_id
    }

    /// Applies `change` to the order and appends the new state to its history.
    ///
    /// # Errors
    /// The message of `change`, or "unknown order" — nothing is changed then.
    pub fn update<T>(
        &mut self,
        order_id: &str,
        change: impl FnOnce(&mut FakeOrder) -> Result<T, String>,
    ) -> Result<T, String> {
        let entry = self
            .orders
            .iter_mut()
            .find(|entry| entry.order.order_id == order_id)
            .ok_or_else(|| format!("fake Kite: no order {order_id}"))?;
        let mut order = entry.order.clone();
        let out = change(&mut order)?;
        order.exchange_update_timestamp = timestamp(ist_now());
        entry.history.push(order.to_json());
        entry.order = order;
        Ok(out)
    }

    /// Executes `quantity` at `price`; returns the trade id.
    ///
    /// # Errors
    /// Unknown or terminal order, zero quantity, or more than the open quantity.
    pub fn fill(
        &mut self,
        order_id: &str,
        quantity: u64,
        price: Decimal,
    ) -> Result<String, String> {
        let trade_id = (TRADE_ID_BASE + self.next_trade + 1).to_string();
        let fill_timestamp = timestamp(ist_now());
        self.update(order_id, |order| {
            if order.is_terminal() {
                return Err(format!("order {order_id} is already {}", order.status));
            }
            let filled = order.filled_quantity + quantity;
            if quantity == 0 || filled > order.quantity {
                return Err(format!(
                    "cannot fill {quantity} of order {order_id}: {} of {} already filled",
                    order.filled_quantity, order.quantity
                ));
            }
            let value = order.average_price * Decimal::from(order.filled_quantity)
                + price * Decimal::from(quantity);
            order.average_price = value / Decimal::from(filled);
            order.filled_quantity = filled;
            if filled == order.quantity {
                order.status = "COMPLETE".to_owned();
            }
            Ok(())
        })?;
        self.next_trade += 1;
        self.trades.push(FakeTrade {
            trade_id: trade_id.clone(),
            order_id: order_id.to_owned(),
            quantity,
            price,
            fill_timestamp,
        });
        Ok(trade_id)
    }

    /// The trade object of `GET /trades`.
    pub fn trade_json(&self, trade: &FakeTrade) -> Value {
        let order = self.order(&trade.order_id);
        let field = |f: fn(&FakeOrder) -> &str| order.map(f).unwrap_or_default().to_owned();
        // Kite gives the trade's time of day here, not the order's.
        let order_time = trade.fill_timestamp.get(11..).unwrap_or_default();
        json!({
            "trade_id": trade.trade_id,
            "order_id": trade.order_id,
            "exchange_order_id": field(|o| &o.exchange_order_id),
            "tradingsymbol": field(|o| &o.tradingsymbol),
            "exchange": field(|o| &o.exchange),
            "instrument_token": 0,
            "transaction_type": field(|o| &o.transaction_type),
            "product": field(|o| &o.product),
            "average_price": price_json(trade.price),
            "quantity": trade.quantity,
            "fill_timestamp": trade.fill_timestamp,
            "exchange_timestamp": trade.fill_timestamp,
            "order_timestamp": order_time,
        })
    }
}
