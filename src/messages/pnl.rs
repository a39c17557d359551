//! Portfolio P&L snapshots, one per broker and strategy.

use super::common::Broker;
use super::envelope::{EventType, Payload};
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// One open (or closed-today) position.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PositionSnapshot {
    pub token: u32,
    pub symbol: String,
    /// Signed: negative is short.
    pub quantity: i64,
    #[serde(with = "rust_decimal::serde::str")]
    pub average_price: Decimal,
    #[serde(with = "rust_decimal::serde::str")]
    pub last_price: Decimal,
    #[serde(with = "rust_decimal::serde::str")]
    pub realized_pnl: Decimal,
    #[serde(with = "rust_decimal::serde::str")]
    pub unrealized_pnl: Decimal,
}

/// A strategy's portfolio at a point in time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PnlSnapshot {
    pub broker: Broker,
    pub strategy_id: String,
    pub positions: Vec<PositionSnapshot>,
    #[serde(with = "rust_decimal::serde::str")]
    pub cash: Decimal,
    #[serde(with = "rust_decimal::serde::str")]
    pub realized_pnl: Decimal,
    #[serde(with = "rust_decimal::serde::str")]
    pub unrealized_pnl: Decimal,
    #[serde(with = "rust_decimal::serde::str")]
    pub fees: Decimal,
    pub as_of: DateTime<Utc>,
}

impl Payload for PnlSnapshot {
    const TYPE: EventType = EventType::PnlSnapshot;
    fn partition_key(&self) -> String {
        self.strategy_id.clone()
    }
    fn broker(&self) -> Option<Broker> {
        Some(self.broker)
    }
    fn validate(&self) -> Result<(), String> {
        if self.strategy_id.is_empty() {
            return Err("strategy_id: must not be empty".into());
        }
        Ok(())
    }
}
