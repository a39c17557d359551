//! The account's positions and holdings as Kite reports them, and the modify form.
//!
//! Reconciliation compares these with what our fills say; only the fields it needs are
//! read (Kite sends many more, ignored). Quantities are signed: negative is short.

use super::types::{decimal, order_type_name};
use crate::messages::OrderType;
use rust_decimal::Decimal;
use serde::Deserialize;

/// `GET /portfolio/positions`: `net` (overnight + today) and `day` (today only).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct KitePositions {
    #[serde(default)]
    pub net: Vec<KitePosition>,
    #[serde(default)]
    pub day: Vec<KitePosition>,
}

/// One position: an (exchange, trading symbol, product).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct KitePosition {
    pub tradingsymbol: String,
    pub exchange: String,
    pub product: String,
    pub quantity: i64,
    #[serde(default)]
    pub overnight_quantity: i64,
    #[serde(default, deserialize_with = "decimal")]
    pub average_price: Decimal,
}

/// One delivery holding (`GET /portfolio/holdings`): settled `quantity` plus `t1_quantity`
/// bought but not yet settled.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct KiteHolding {
    pub tradingsymbol: String,
    pub exchange: String,
    pub quantity: i64,
    #[serde(default)]
    pub t1_quantity: i64,
    #[serde(default, deserialize_with = "decimal")]
    pub average_price: Decimal,
}

impl KiteHolding {
    /// Shares held, settled or not.
    pub fn total(&self) -> i64 {
        self.quantity.saturating_add(self.t1_quantity)
    }
}

/// The form of `PUT /orders/{variety}/{order_id}`: only what changes is sent.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ModifyParams {
    pub quantity: Option<u32>,
    pub price: Option<Decimal>,
    pub trigger_price: Option<Decimal>,
    pub order_type: Option<OrderType>,
}

impl ModifyParams {
    pub fn form(&self) -> Vec<(&'static str, String)> {
        let mut form = Vec::new();
        if let Some(quantity) = self.quantity {
            form.push(("quantity", quantity.to_string()));
        }
        if let Some(price) = self.price {
            form.push(("price", price.to_string()));
        }
        if let Some(trigger) = self.trigger_price {
            form.push(("trigger_price", trigger.to_string()));
        }
        if let Some(order_type) = self.order_type {
            form.push(("order_type", order_type_name(order_type).to_owned()));
        }
        form
    }
}
