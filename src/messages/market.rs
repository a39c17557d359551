//! Market data: one tick of one instrument, in the Kite mode it was subscribed in.

use super::envelope::{EventType, Payload};
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// The Kite streaming mode a tick was received in; it decides which fields are present.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TickMode {
    Ltp,
    Quote,
    Full,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Ohlc {
    #[serde(with = "rust_decimal::serde::str")]
    pub open: Decimal,
    #[serde(with = "rust_decimal::serde::str")]
    pub high: Decimal,
    #[serde(with = "rust_decimal::serde::str")]
    pub low: Decimal,
    #[serde(with = "rust_decimal::serde::str")]
    pub close: Decimal,
}

/// One level of the order book.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DepthLevel {
    pub quantity: u32,
    #[serde(with = "rust_decimal::serde::str")]
    pub price: Decimal,
    pub orders: u16,
}

/// Five levels a side, best first (Kite's full mode).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MarketDepth {
    pub bids: Vec<DepthLevel>,
    pub asks: Vec<DepthLevel>,
}

/// The market depth has five levels a side in Kite full mode.
pub const DEPTH_LEVELS: usize = 5;

/// A tick. `ltp` mode fills only the price; `quote` adds volumes and OHLC; `full` adds
/// open interest, timestamps and depth. Index instruments carry OHLC and `change` but no
/// volumes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MarketTick {
    pub token: u32,
    /// Trading symbol from the instrument registry, when known.
    pub symbol: Option<String>,
    pub mode: TickMode,
    pub tradable: bool,
    #[serde(with = "rust_decimal::serde::str")]
    pub last_price: Decimal,
    pub last_traded_quantity: Option<u32>,
    #[serde(with = "rust_decimal::serde::str_option")]
    pub average_traded_price: Option<Decimal>,
    pub volume_traded: Option<u32>,
    pub total_buy_quantity: Option<u32>,
    pub total_sell_quantity: Option<u32>,
    pub ohlc: Option<Ohlc>,
    /// Net change from the previous close (index packets carry it; for tradables it is
    /// last_price - close).
    #[serde(with = "rust_decimal::serde::str_option")]
    pub change: Option<Decimal>,
    pub last_trade_time: Option<DateTime<Utc>>,
    pub oi: Option<u32>,
    pub oi_day_high: Option<u32>,
    pub oi_day_low: Option<u32>,
    pub exchange_timestamp: Option<DateTime<Utc>>,
    pub depth: Option<MarketDepth>,
}

impl MarketTick {
    /// A last-price-only tick (ltp mode).
    pub fn ltp(token: u32, last_price: Decimal) -> Self {
        MarketTick {
            token,
            symbol: None,
            mode: TickMode::Ltp,
            tradable: true,
            last_price,
            last_traded_quantity: None,
            average_traded_price: None,
            volume_traded: None,
            total_buy_quantity: None,
            total_sell_quantity: None,
            ohlc: None,
            change: None,
            last_trade_time: None,
            oi: None,
            oi_day_high: None,
            oi_day_low: None,
            exchange_timestamp: None,
            depth: None,
        }
    }

    /// Best bid price, when depth is present and the level is non-empty.
    pub fn best_bid(&self) -> Option<Decimal> {
        best(self.depth.as_ref().map(|d| &d.bids))
    }

    /// Best ask price, when depth is present and the level is non-empty.
    pub fn best_ask(&self) -> Option<Decimal> {
        best(self.depth.as_ref().map(|d| &d.asks))
    }
}

fn best(levels: Option<&Vec<DepthLevel>>) -> Option<Decimal> {
    levels?.first().filter(|l| l.quantity > 0).map(|l| l.price)
}

impl Payload for MarketTick {
    const TYPE: EventType = EventType::MarketTick;

    fn partition_key(&self) -> String {
        self.token.to_string()
    }

    fn validate(&self) -> Result<(), String> {
        if self.token == 0 {
            return Err("token: must be non-zero".into());
        }
        if let Some(depth) = &self.depth
            && (depth.bids.len() > DEPTH_LEVELS || depth.asks.len() > DEPTH_LEVELS)
        {
            return Err(format!(
                "depth: at most {DEPTH_LEVELS} levels a side, got {} bids and {} asks",
                depth.bids.len(),
                depth.asks.len()
            ));
        }
        Ok(())
    }
}
