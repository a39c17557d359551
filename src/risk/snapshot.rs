//! [`RiskSnapshot`]: everything a [`BrokerRisk`] knows, as plain serializable data, for
//! persistence (Redis) and rebuild after a restart.
//!
//! `BrokerRisk::restore(b.snapshot(), limits).with_market(rules)` makes the same decisions
//! as `b` for any sequence of inputs when given the same limits and market rules. Neither
//! is part of the snapshot: they come from configuration (and the instrument registry),
//! which may have changed across the restart.
//!
//! Wire shape: JSON-friendly (lists of records rather than maps with compound keys),
//! amounts as decimal strings (never floats), unknown fields refused, positions and prices
//! in key order so equal states give byte-identical snapshots.

use super::book::{Book, Position};
use super::engine::{BrokerRisk, TradingState};
use super::limits::RiskLimits;
use crate::messages::Broker;
use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The state of one broker's risk engine.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RiskSnapshot {
    pub broker: Broker,
    pub state: TradingState,
    /// The IST day the daily counters belong to.
    pub day: Option<NaiveDate>,
    #[serde(with = "rust_decimal::serde::str")]
    pub daily_realized_pnl: Decimal,
    /// The loss limit already halted the broker on `day`.
    pub loss_limit_tripped: bool,
    /// Validated signals per strategy on `day`.
    pub daily_trades: BTreeMap<String, u32>,
    pub open_orders: u32,
    /// Open (non-flat) positions.
    pub positions: Vec<PositionRecord>,
    pub last_prices: Vec<LastPrice>,
}

/// One open position: signed quantity and the cost basis of its open quantity
/// (|quantity| × average entry price).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PositionRecord {
    pub strategy_id: String,
    pub token: u32,
    pub quantity: i64,
    #[serde(with = "rust_decimal::serde::str")]
    pub cost_basis: Decimal,
}

/// The last tick price of one instrument.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LastPrice {
    pub token: u32,
    #[serde(with = "rust_decimal::serde::str")]
    pub price: Decimal,
}

impl BrokerRisk {
    /// Serializable snapshot for persistence (Redis) and rebuild; [`Self::restore`] is
    /// its inverse.
    pub fn snapshot(&self) -> RiskSnapshot {
        RiskSnapshot {
            broker: self.broker,
            state: self.state,
            day: self.day,
            daily_realized_pnl: self.daily_realized_pnl,
            loss_limit_tripped: self.loss_limit_tripped,
            daily_trades: self.daily_trades.clone(),
            open_orders: self.open_orders,
            positions: self
                .book
                .iter()
                .map(|(strategy, token, p)| PositionRecord {
                    strategy_id: strategy.to_owned(),
                    token,
                    quantity: p.quantity,
                    cost_basis: p.cost_basis,
                })
                .collect(),
            last_prices: self
                .last_prices
                .iter()
                .map(|(&token, &price)| LastPrice { token, price })
                .collect(),
        }
    }

    /// Rebuilds the state a [`Self::snapshot`] captured, under `limits` and no market rules
    /// (add them with [`Self::with_market`]). Flat positions
    /// and non-positive prices in the snapshot are dropped; a later record for the same
    /// key replaces an earlier one.
    pub fn restore(snapshot: RiskSnapshot, limits: RiskLimits) -> Self {
        let mut book = Book::default();
        for record in snapshot.positions {
            let position = Position {
                quantity: record.quantity,
                cost_basis: record.cost_basis,
            };
            book.set(&record.strategy_id, record.token, position);
        }
        let mut risk = BrokerRisk::new(snapshot.broker, limits);
        risk.state = snapshot.state;
        risk.day = snapshot.day;
        risk.daily_realized_pnl = snapshot.daily_realized_pnl;
        risk.loss_limit_tripped = snapshot.loss_limit_tripped;
        risk.daily_trades = snapshot.daily_trades;
        risk.open_orders = snapshot.open_orders;
        risk.book = book;
        for LastPrice { token, price } in snapshot.last_prices {
            risk.on_tick(token, price);
        }
        risk
    }
}
