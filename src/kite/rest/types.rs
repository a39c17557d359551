//! What the Kite REST API sends and receives, typed.
//!
//! Kite writes prices as JSON numbers. They are read into [`Decimal`] from the number's
//! shortest decimal text (serde_json prints `1500.05` back as `1500.05`), never through
//! float arithmetic, so a price is exactly what Kite printed. Unknown fields are ignored:
//! Kite adds fields without notice. Timestamps are IST wall-clock text.

use crate::kite::orders::{Product, Variety};
use crate::market::hours::IST;
use crate::messages::{OrderType, Side, Validity};
use chrono::{DateTime, NaiveDateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Deserializer};
use std::str::FromStr;

/// The form of `POST /orders/{variety}`.
#[derive(Debug, Clone, PartialEq)]
pub struct OrderParams {
    pub variety: Variety,
    pub exchange: String,
    pub tradingsymbol: String,
    pub side: Side,
    pub quantity: u32,
    pub product: Product,
    pub order_type: OrderType,
    pub price: Option<Decimal>,
    pub trigger_price: Option<Decimal>,
    pub validity: Validity,
    /// Our client order id (at most 20 characters).
    pub tag: String,
    /// Kite's `market_protection` (`-1` automatic, or a percentage): mandatory for MARKET
    /// and SL-M orders placed through the API, absent for the others.
    pub market_protection: Option<i32>,
}

impl OrderParams {
    /// The form fields, in a stable order (also what a dry run logs).
    ///
    /// # Errors
    /// The order cannot be expressed on Kite (FOK validity).
    pub fn form(&self) -> Result<Vec<(&'static str, String)>, String> {
        let validity = match self.validity {
            Validity::Day => "DAY",
            Validity::Ioc => "IOC",
            Validity::Fok => return Err("Kite has no FOK validity (paper trading only)".into()),
        };
        let mut form = vec![
            ("exchange", self.exchange.clone()),
            ("tradingsymbol", self.tradingsymbol.clone()),
            ("transaction_type", side_name(self.side).to_owned()),
            ("quantity", self.quantity.to_string()),
            ("product", self.product.as_str().to_owned()),
            ("order_type", order_type_name(self.order_type).to_owned()),
            ("validity", validity.to_owned()),
            ("tag", self.tag.clone()),
        ];
        if let Some(price) = self.price {
            form.push(("price", price.to_string()));
        }
        if let Some(trigger) = self.trigger_price {
            form.push(("trigger_price", trigger.to_string()));
        }
        if let Some(protection) = self.market_protection {
            form.push(("market_protection", protection.to_string()));
        }
        Ok(form)
    }
}

pub fn side_name(side: Side) -> &'static str {
    match side {
        Side::Buy => "BUY",
        Side::Sell => "SELL",
    }
}

pub fn order_type_name(order_type: OrderType) -> &'static str {
    match order_type {
        OrderType::Market => "MARKET",
        OrderType::Limit => "LIMIT",
        OrderType::StopLimit => "SL",
        OrderType::StopMarket => "SL-M",
    }
}

/// An order's status, with every non-terminal one in flight.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OrderStatus {
    Complete,
    Cancelled,
    Rejected,
    Open,
    /// `TRIGGER PENDING`, `VALIDATION PENDING`, ... (kept as Kite wrote it).
    Pending(String),
}

impl OrderStatus {
    pub fn parse(text: &str) -> OrderStatus {
        match text {
            "COMPLETE" => OrderStatus::Complete,
            "CANCELLED" => OrderStatus::Cancelled,
            "REJECTED" => OrderStatus::Rejected,
            "OPEN" => OrderStatus::Open,
            other => OrderStatus::Pending(other.to_owned()),
        }
    }

    pub fn is_terminal(&self) -> bool {
        matches!(
            self,
            OrderStatus::Complete | OrderStatus::Cancelled | OrderStatus::Rejected
        )
    }
}

/// One order as `GET /orders` (and a ticker order update) describes it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct KiteOrder {
    pub order_id: String,
    pub status: String,
    #[serde(default)]
    pub status_message: Option<String>,
    #[serde(default)]
    pub tag: Option<String>,
    #[serde(default)]
    pub exchange: String,
    #[serde(default)]
    pub tradingsymbol: String,
    #[serde(default)]
    pub transaction_type: String,
    #[serde(default)]
    pub order_type: String,
    #[serde(default)]
    pub product: String,
    #[serde(default)]
    pub variety: String,
    pub quantity: u32,
    #[serde(default)]
    pub filled_quantity: u32,
    #[serde(default)]
    pub cancelled_quantity: u32,
    #[serde(default, deserialize_with = "decimal")]
    pub price: Decimal,
    #[serde(default, deserialize_with = "decimal")]
    pub trigger_price: Decimal,
    #[serde(default, deserialize_with = "decimal")]
    pub average_price: Decimal,
    #[serde(default)]
    pub order_timestamp: Option<String>,
}

impl KiteOrder {
    pub fn status(&self) -> OrderStatus {
        OrderStatus::parse(&self.status)
    }
}

/// One execution, from `GET /trades` or `GET /orders/{id}/trades`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct KiteTrade {
    pub trade_id: String,
    pub order_id: String,
    #[serde(default)]
    pub exchange: String,
    #[serde(default)]
    pub tradingsymbol: String,
    #[serde(default)]
    pub transaction_type: String,
    #[serde(default)]
    pub product: String,
    /// The execution price (Kite calls it `average_price`).
    #[serde(deserialize_with = "decimal")]
    pub average_price: Decimal,
    pub quantity: u32,
    #[serde(default)]
    pub fill_timestamp: Option<String>,
    #[serde(default)]
    pub exchange_timestamp: Option<String>,
}

impl KiteTrade {
    /// When it executed (exchange time, else fill time), if Kite said.
    pub fn executed_at(&self) -> Option<DateTime<Utc>> {
        self.exchange_timestamp
            .as_deref()
            .or(self.fill_timestamp.as_deref())
            .and_then(ist_timestamp)
    }
}

/// `POST /session/token`'s answer (the fields the login command uses). Its `Debug`
/// masks the token.
#[derive(Clone, Deserialize)]
pub struct Session {
    pub user_id: String,
    #[serde(default)]
    pub user_name: String,
    pub access_token: String,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("user_id", &self.user_id)
            .field("user_name", &self.user_name)
            .field("access_token", &"***")
            .finish()
    }
}

#[derive(Debug, Deserialize)]
pub(super) struct PlacedOrder {
    pub order_id: String,
}

/// Parses Kite's IST wall-clock `YYYY-MM-DD HH:MM:SS`.
pub fn ist_timestamp(text: &str) -> Option<DateTime<Utc>> {
    let naive = NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S").ok()?;
    naive
        .and_local_timezone(IST)
        .single()
        .map(|t| t.with_timezone(&Utc))
}

/// A price written as a JSON number (or string, or null for "none": zero).
pub(super) fn decimal<'de, D: Deserializer<'de>>(d: D) -> Result<Decimal, D::Error> {
    use serde::de::Error;
    let value = serde_json::Value::deserialize(d)?;
    let text = match &value {
        serde_json::Value::Null => return Ok(Decimal::ZERO),
        serde_json::Value::Number(n) => n.to_string(),
        serde_json::Value::String(s) => s.clone(),
        other => return Err(D::Error::custom(format!("expected a price, got {other}"))),
    };
    Decimal::from_str(&text)
        .or_else(|_| Decimal::from_scientific(&text))
        .map_err(|e| D::Error::custom(format!("bad price {text:?}: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dec(text: &str) -> Decimal {
        Decimal::from_str(text).unwrap()
    }

    #[test]
    fn reads_prices_exactly_from_json_numbers() {
        let order: KiteOrder = serde_json::from_str(
            r#"{"order_id":"1","status":"OPEN","quantity":10,"price":1500.05,
                "trigger_price":0,"average_price":null,"future_field":{"x":1}}"#,
        )
        .unwrap();
        assert_eq!(order.price, dec("1500.05"));
        assert_eq!(order.average_price, Decimal::ZERO);
        assert_eq!(order.status(), OrderStatus::Open);
        let trade: KiteTrade = serde_json::from_str(
            r#"{"trade_id":"7","order_id":"1","average_price":0.0025,"quantity":3,
                "exchange_timestamp":"2026-11-27 10:00:01"}"#,
        )
        .unwrap();
        assert_eq!(trade.average_price, dec("0.0025"));
        assert_eq!(
            trade.executed_at().unwrap().to_rfc3339(),
            "2026-11-27T04:30:01+00:00"
        );
    }

    #[test]
    fn interim_statuses_are_in_flight() {
        for (text, terminal) in [
            ("COMPLETE", true),
            ("CANCELLED", true),
            ("REJECTED", true),
            ("OPEN", false),
            ("TRIGGER PENDING", false),
            ("PUT ORDER REQ RECEIVED", false),
        ] {
            assert_eq!(OrderStatus::parse(text).is_terminal(), terminal, "{text}");
        }
    }

    #[test]
    fn order_form_names_every_field_as_kite_does() {
        let params = OrderParams {
            variety: Variety::Regular,
            exchange: "NSE".into(),
            tradingsymbol: "INFY".into(),
            side: Side::Sell,
            quantity: 5,
            product: Product::Mis,
            order_type: OrderType::StopLimit,
            price: Some(dec("1499.50")),
            trigger_price: Some(dec("1500")),
            validity: Validity::Day,
            tag: "ap0123".into(),
            market_protection: None,
        };
        let form = params.form().unwrap();
        let text = serde_urlencoded::to_string(&form).unwrap();
        assert_eq!(
            text,
            "exchange=NSE&tradingsymbol=INFY&transaction_type=SELL&quantity=5&product=MIS&\
             order_type=SL&validity=DAY&tag=ap0123&price=1499.50&trigger_price=1500"
        );
        let market = OrderParams {
            order_type: OrderType::Market,
            price: None,
            trigger_price: None,
            market_protection: Some(-1),
            ..params.clone()
        };
        let text = serde_urlencoded::to_string(market.form().unwrap()).unwrap();
        assert_eq!(
            text,
            "exchange=NSE&tradingsymbol=INFY&transaction_type=SELL&quantity=5&product=MIS&\
             order_type=MARKET&validity=DAY&tag=ap0123&market_protection=-1"
        );
        let fok = OrderParams {
            validity: Validity::Fok,
            ..params
        };
        assert_eq!(
            fok.form().unwrap_err(),
            "Kite has no FOK validity (paper trading only)"
        );
    }
}
