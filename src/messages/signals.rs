//! Trading signals: what a strategy wants, and what the risk manager made of it.
//!
//! Only a [`ValidatedSignal`] reaches execution; the type is the approval.

use super::common::{Broker, OrderType, Product, Side, Validity};
use super::envelope::{EventType, Payload};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::fmt;

/// A strategy's order intent for one broker.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TradingSignal {
    pub strategy_id: String,
    pub broker: Broker,
    pub token: u32,
    pub symbol: String,
    pub side: Side,
    pub quantity: u32,
    pub order_type: OrderType,
    /// Limit price (LIMIT and SL orders).
    #[serde(with = "rust_decimal::serde::str_option")]
    pub price: Option<Decimal>,
    /// Trigger price (SL and SL-M orders).
    #[serde(with = "rust_decimal::serde::str_option")]
    pub trigger_price: Option<Decimal>,
    pub validity: Validity,
    /// The market price the strategy saw when it decided (for risk checks and audit; market
    /// orders fill at the market, not at this price).
    #[serde(with = "rust_decimal::serde::str")]
    pub reference_price: Decimal,
    /// Why the strategy fired, for humans.
    pub reason: String,
    /// Kite product of a Zerodha order, when the strategy chose one (else the strategy's
    /// configured product applies).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product: Option<Product>,
    /// The strategy's real position in the instrument when it decided (from its fills at
    /// this broker), for audit: the next signal's position must equal this one plus the
    /// fills of this signal's order.
    #[serde(default)]
    pub position: i64,
}

impl TradingSignal {
    /// Checks shared by every signal-carrying payload.
    fn check(&self) -> Result<(), String> {
        if self.strategy_id.is_empty() {
            return Err("strategy_id: must not be empty".into());
        }
        if self.quantity == 0 {
            return Err("quantity: must be positive".into());
        }
        let positive = |v: Option<Decimal>| v.is_some_and(|p| p > Decimal::ZERO);
        match self.order_type {
            OrderType::Market => Ok(()),
            OrderType::Limit if !positive(self.price) => {
                Err("price: a LIMIT order needs a positive price".into())
            }
            OrderType::StopLimit if !positive(self.price) || !positive(self.trigger_price) => {
                Err("price/trigger_price: an SL order needs both, positive".into())
            }
            OrderType::StopMarket if !positive(self.trigger_price) => {
                Err("trigger_price: an SL-M order needs a positive trigger price".into())
            }
            _ => Ok(()),
        }
    }

    /// `strategy:token`, the key of every signal, order and fill.
    pub fn key(&self) -> String {
        strategy_key(&self.strategy_id, self.token)
    }
}

/// The partition key for per-strategy, per-instrument streams.
pub fn strategy_key(strategy_id: &str, token: u32) -> String {
    format!("{strategy_id}:{token}")
}

impl Payload for TradingSignal {
    const TYPE: EventType = EventType::TradingSignal;
    fn partition_key(&self) -> String {
        self.key()
    }
    fn broker(&self) -> Option<Broker> {
        Some(self.broker)
    }
    fn validate(&self) -> Result<(), String> {
        self.check()
    }
}

/// A signal that passed every risk rule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ValidatedSignal {
    pub signal: TradingSignal,
}

impl Payload for ValidatedSignal {
    const TYPE: EventType = EventType::ValidatedSignal;
    fn partition_key(&self) -> String {
        self.signal.key()
    }
    fn broker(&self) -> Option<Broker> {
        Some(self.signal.broker)
    }
    fn validate(&self) -> Result<(), String> {
        self.signal.check()
    }
}

/// Stable, machine-readable reasons a risk rule refuses a signal. The wire names never change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RejectionCode {
    MaxOrderQuantity,
    MaxOrderValue,
    MaxPosition,
    MaxDailyTrades,
    PriceBand,
    DailyLossLimit,
    MaxOpenOrders,
    TradingHalted,
    TradingReducing,
    NoMarketPrice,
    MarketClosed,
    /// A limit or trigger price off the instrument's tick grid.
    TickSize,
    /// A quantity that is not a whole number of the instrument's lots.
    LotSize,
    /// New MIS exposure at or after the intraday entry cutoff.
    EntryCutoff,
    /// The position's value after the order (filled plus in flight) above the limit.
    MaxPositionValue,
    /// A derivative order larger than its underlying's freeze quantity × the most slices
    /// one order may become: it cannot be placed, even sliced.
    FreezeQuantity,
    /// The gross lots of one underlying's futures and options after the order above the limit.
    MaxLotsPerUnderlying,
    /// The premium of bought options at risk after the order above the limit.
    MaxPremiumAtRisk,
    /// The gross notional of derivative positions after the order above the limit.
    MaxNotional,
}

impl RejectionCode {
    /// Every code, in declaration order (the metrics declare one series per code at start,
    /// so a quiet reason reads 0 rather than no data).
    pub const ALL: [RejectionCode; 19] = [
        RejectionCode::MaxOrderQuantity,
        RejectionCode::MaxOrderValue,
        RejectionCode::MaxPosition,
        RejectionCode::MaxDailyTrades,
        RejectionCode::PriceBand,
        RejectionCode::DailyLossLimit,
        RejectionCode::MaxOpenOrders,
        RejectionCode::TradingHalted,
        RejectionCode::TradingReducing,
        RejectionCode::NoMarketPrice,
        RejectionCode::MarketClosed,
        RejectionCode::TickSize,
        RejectionCode::LotSize,
        RejectionCode::EntryCutoff,
        RejectionCode::MaxPositionValue,
        RejectionCode::FreezeQuantity,
        RejectionCode::MaxLotsPerUnderlying,
        RejectionCode::MaxPremiumAtRisk,
        RejectionCode::MaxNotional,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            RejectionCode::MaxOrderQuantity => "max_order_quantity",
            RejectionCode::MaxOrderValue => "max_order_value",
            RejectionCode::MaxPosition => "max_position",
            RejectionCode::MaxDailyTrades => "max_daily_trades",
            RejectionCode::PriceBand => "price_band",
            RejectionCode::DailyLossLimit => "daily_loss_limit",
            RejectionCode::MaxOpenOrders => "max_open_orders",
            RejectionCode::TradingHalted => "trading_halted",
            RejectionCode::TradingReducing => "trading_reducing",
            RejectionCode::NoMarketPrice => "no_market_price",
            RejectionCode::MarketClosed => "market_closed",
            RejectionCode::TickSize => "tick_size",
            RejectionCode::LotSize => "lot_size",
            RejectionCode::EntryCutoff => "entry_cutoff",
            RejectionCode::MaxPositionValue => "max_position_value",
            RejectionCode::FreezeQuantity => "freeze_quantity",
            RejectionCode::MaxLotsPerUnderlying => "max_lots_per_underlying",
            RejectionCode::MaxPremiumAtRisk => "max_premium_at_risk",
            RejectionCode::MaxNotional => "max_notional",
        }
    }
}

impl fmt::Display for RejectionCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One failed rule: its code and a sentence with the numbers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rejection {
    pub code: RejectionCode,
    pub message: String,
}

/// A signal the risk manager refused, with every rule it failed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RejectedSignal {
    pub signal: TradingSignal,
    pub reasons: Vec<Rejection>,
}

impl Payload for RejectedSignal {
    const TYPE: EventType = EventType::RejectedSignal;
    fn partition_key(&self) -> String {
        self.signal.key()
    }
    fn broker(&self) -> Option<Broker> {
        Some(self.signal.broker)
    }
    fn validate(&self) -> Result<(), String> {
        if self.reasons.is_empty() {
            return Err("reasons: a rejected signal needs at least one reason".into());
        }
        self.signal.check()
    }
}
