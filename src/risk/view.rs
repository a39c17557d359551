//! [`RiskView`]: what one broker's risk state believes, as plain data for the API
//! (`GET /api/v1/risk/{broker}`) and for whoever checks it against the topics. Money as
//! decimal strings, exact (rounded nowhere); lists in key order.

use super::engine::{BrokerRisk, TradingState};
use crate::messages::{Broker, Side};
use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::Serialize;
use std::collections::BTreeMap;

/// One broker's risk state.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RiskView {
    pub broker: Broker,
    /// The state in force (HALTED while a hold is on).
    pub state: TradingState,
    /// The kill switch's own state.
    pub kill_switch: TradingState,
    /// Why a hold keeps the broker HALTED, if one does.
    pub held: Option<String>,
    /// The IST day the daily figures belong to.
    pub day: Option<NaiveDate>,
    /// The day's realized P&L net of fees, every strategy.
    #[serde(with = "rust_decimal::serde::str")]
    pub realized_pnl: Decimal,
    /// The open positions' unrealized P&L at the last prices.
    #[serde(with = "rust_decimal::serde::str")]
    pub unrealized_pnl: Decimal,
    /// The broker's daily loss limit was reached today.
    pub loss_limit_reached: bool,
    /// Strategies whose own daily loss limit was reached today.
    pub strategies_at_loss_limit: Vec<String>,
    /// Validated signals per strategy today.
    pub daily_trades: BTreeMap<String, u32>,
    pub positions: Vec<RiskPosition>,
    pub open_orders: Vec<OpenOrder>,
}

/// One open position from fills.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RiskPosition {
    pub strategy_id: String,
    pub token: u32,
    pub quantity: i64,
    #[serde(with = "rust_decimal::serde::str")]
    pub cost_basis: Decimal,
}

/// One order in flight.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OpenOrder {
    pub client_order_id: String,
    pub strategy_id: String,
    pub token: u32,
    pub side: Side,
    /// Not yet filled.
    pub remaining: u32,
}

impl BrokerRisk {
    /// What this state believes now.
    pub fn view(&self) -> RiskView {
        RiskView {
            broker: self.broker,
            state: self.effective_state(),
            kill_switch: self.state,
            held: self.hold.clone(),
            day: self.day,
            realized_pnl: self.daily_realized_pnl(),
            unrealized_pnl: self.unrealized_pnl(None),
            loss_limit_reached: self.tripped.broker,
            strategies_at_loss_limit: self.tripped.strategies.iter().cloned().collect(),
            daily_trades: self.daily_trades.clone(),
            positions: self
                .book
                .iter()
                .map(|(strategy, token, net)| RiskPosition {
                    strategy_id: strategy.to_owned(),
                    token,
                    quantity: net.quantity,
                    cost_basis: net.cost_basis,
                })
                .collect(),
            open_orders: self
                .in_flight
                .iter()
                .map(|(id, p)| OpenOrder {
                    client_order_id: id.to_owned(),
                    strategy_id: p.strategy_id.clone(),
                    token: p.token,
                    side: p.side,
                    remaining: p.remaining,
                })
                .collect(),
        }
    }
}
