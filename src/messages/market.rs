//! Market data: one tick of one instrument, in the Kite mode it was subscribed in.
//!
//! Prices are validated at the door. [`MarketTick::check`] is the one rule book for what a
//! tick may say; [`Payload::validate`] (so [`super::decode`], the consumer's door on
//! `market.ticks`, and the backtest's tick files) applies it, and a tick that fails goes to
//! the DLQ with the reason ([`TickProblem`], naming the field and its value), so no service
//! ever sees it. The rules:
//! - `last_price` above zero. Kite reports 0 for an instrument that has not traded yet;
//!   such a tick has no price to act on (a strategy would average it into its indicators, a
//!   portfolio would mark positions at nothing, a market order would have no reference), so
//!   it is refused like a negative one.
//! - Every price at most [`MAX_PRICE`] (₹10⁹, three orders of magnitude above any listed
//!   instrument) and with at most [`MAX_PRICE_DECIMALS`] decimals (Kite's finest is 7, for
//!   currency derivatives), so that sums and products of prices and quantities stay far from
//!   `Decimal`'s limit (7.9·10²⁸) everywhere downstream. `change` may be negative, within
//!   the same magnitude; every other price is non-negative.
//! - Depth: at most [`DEPTH_LEVELS`] a side; a level quoting a quantity has a price above
//!   zero (an empty level is all zeros); quoted bids fall and quoted asks rise, best first;
//!   the book is not crossed (best bid above best ask, both with quantity: a locked book,
//!   bid = ask, passes). Quantities are unsigned by type and any `u32` is accepted.
//! - OHLC, when present: prices as above; when the day has traded (low and high above
//!   zero) low ≤ high and a non-zero open lies between them. `close` is the previous
//!   session's close and may lie anywhere.

use super::envelope::{EventType, Payload};
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use thiserror::Error;

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

/// The highest price a tick may carry: ₹1,000,000,000 (10⁹). The dearest Indian share trades
/// near ₹1.5 lakh and the indices below 10⁶; anything above this ceiling is a corrupt
/// record, and bounding prices here keeps every downstream product of price and quantity
/// (a `u32` at most) below 10¹⁹, far inside `Decimal`'s range.
pub const MAX_PRICE: Decimal = Decimal::from_parts(1_000_000_000, 0, 0, false, 0);

/// The most decimals a tick's price may have (trailing zeros aside): Kite's finest prices
/// (currency derivatives, divisor 10⁷) have 7. Bounds how small a non-zero price can be, so
/// that dividing by one cannot overflow.
pub const MAX_PRICE_DECIMALS: u32 = 8;

/// Why a tick is refused at the door; the message names the field and its value.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum TickProblem {
    #[error("token: must be non-zero")]
    ZeroToken,
    #[error("depth: at most {DEPTH_LEVELS} levels a side, got {bids} bids and {asks} asks")]
    TooManyLevels { bids: usize, asks: usize },
    #[error("last_price: {value} is not above zero (0 means no trade yet: no price to act on)")]
    LastPriceNotPositive { value: Decimal },
    #[error("{field}: {value} is negative")]
    Negative { field: String, value: Decimal },
    #[error("{field}: {value} is beyond the ceiling of {MAX_PRICE} (MAX_PRICE)")]
    AboveCeiling { field: String, value: Decimal },
    #[error("{field}: {value} has more than {MAX_PRICE_DECIMALS} decimals")]
    TooManyDecimals { field: String, value: Decimal },
    #[error(
        "{field}: quantity {quantity} quoted at price {price} (a quoted level needs a price above zero)"
    )]
    QuantityWithoutPrice {
        field: String,
        quantity: u32,
        price: Decimal,
    },
    #[error(
        "{field}: {price} is out of order after {previous} (quoted bids must fall and asks rise, best first)"
    )]
    DepthOutOfOrder {
        field: String,
        price: Decimal,
        previous: Decimal,
    },
    #[error("depth: crossed book, best bid {bid} is above best ask {ask}")]
    CrossedBook { bid: Decimal, ask: Decimal },
    #[error("ohlc: low {low} is above high {high}")]
    LowAboveHigh { low: Decimal, high: Decimal },
    #[error("ohlc.open: {open} is outside the day's range {low}..={high}")]
    OpenOutsideRange {
        open: Decimal,
        low: Decimal,
        high: Decimal,
    },
}

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

    /// Checks the tick against the rules in the module docs; the first rule it breaks.
    ///
    /// # Errors
    /// The [`TickProblem`] naming the field at fault and its value.
    pub fn check(&self) -> Result<(), TickProblem> {
        if self.token == 0 {
            return Err(TickProblem::ZeroToken);
        }
        if self.last_price <= Decimal::ZERO {
            return Err(TickProblem::LastPriceNotPositive {
                value: self.last_price,
            });
        }
        price("last_price", self.last_price)?;
        if let Some(p) = self.average_traded_price {
            price("average_traded_price", p)?;
        }
        if let Some(change) = self.change {
            // A fall from the previous close is negative: bound the magnitude only.
            price("change", change.abs()).map_err(|e| e.with_value(change))?;
        }
        if let Some(ohlc) = &self.ohlc {
            check_ohlc(ohlc)?;
        }
        if let Some(depth) = &self.depth {
            check_depth(depth)?;
        }
        Ok(())
    }
}

impl TickProblem {
    /// The same problem about `value` (a signed field checked by its magnitude).
    fn with_value(self, value: Decimal) -> Self {
        match self {
            TickProblem::AboveCeiling { field, .. } => TickProblem::AboveCeiling { field, value },
            TickProblem::TooManyDecimals { field, .. } => {
                TickProblem::TooManyDecimals { field, value }
            }
            other => other,
        }
    }
}

/// A non-negative price within the ceiling and the decimals allowed.
fn price(field: &str, value: Decimal) -> Result<(), TickProblem> {
    price_named(|| field.to_owned(), value)
}

/// [`price`], with the field's name made only when it is at fault: a depth level's name
/// is formatted, and every level of every tick is checked (the daemon's door, the
/// backtest's reader), nearly always without fault.
fn price_named(field: impl FnOnce() -> String, value: Decimal) -> Result<(), TickProblem> {
    let problem = if value.is_sign_negative() && !value.is_zero() {
        TickProblem::Negative {
            field: field(),
            value,
        }
    } else if value > MAX_PRICE {
        TickProblem::AboveCeiling {
            field: field(),
            value,
        }
    // `normalize` (trailing zeros off) only when the stored scale is already too fine.
    } else if value.scale() > MAX_PRICE_DECIMALS && value.normalize().scale() > MAX_PRICE_DECIMALS {
        TickProblem::TooManyDecimals {
            field: field(),
            value,
        }
    } else {
        return Ok(());
    };
    Err(problem)
}

fn check_ohlc(ohlc: &Ohlc) -> Result<(), TickProblem> {
    let Ohlc {
        open,
        high,
        low,
        close,
    } = *ohlc;
    price("ohlc.open", open)?;
    price("ohlc.high", high)?;
    price("ohlc.low", low)?;
    price("ohlc.close", close)?;
    // Before the first trade Kite sends zeros: nothing to compare.
    if low.is_zero() || high.is_zero() {
        return Ok(());
    }
    if low > high {
        return Err(TickProblem::LowAboveHigh { low, high });
    }
    if !open.is_zero() && (open < low || open > high) {
        return Err(TickProblem::OpenOutsideRange { open, low, high });
    }
    Ok(())
}

fn check_depth(depth: &MarketDepth) -> Result<(), TickProblem> {
    if depth.bids.len() > DEPTH_LEVELS || depth.asks.len() > DEPTH_LEVELS {
        return Err(TickProblem::TooManyLevels {
            bids: depth.bids.len(),
            asks: depth.asks.len(),
        });
    }
    check_side("bids", &depth.bids, |better, worse| better >= worse)?;
    check_side("asks", &depth.asks, |better, worse| better <= worse)?;
    let best_bid = best(Some(&depth.bids));
    let best_ask = best(Some(&depth.asks));
    if let (Some(bid), Some(ask)) = (best_bid, best_ask)
        && bid > ask
    {
        return Err(TickProblem::CrossedBook { bid, ask });
    }
    Ok(())
}

/// One side's levels: valid prices, quoted levels priced, quoted levels best first.
fn check_side(
    side: &str,
    levels: &[DepthLevel],
    in_order: impl Fn(Decimal, Decimal) -> bool,
) -> Result<(), TickProblem> {
    let mut previous: Option<Decimal> = None;
    for (i, level) in levels.iter().enumerate() {
        let field = || format!("depth.{side}[{i}].price");
        price_named(field, level.price)?;
        if level.quantity == 0 {
            continue;
        }
        if level.price.is_zero() {
            return Err(TickProblem::QuantityWithoutPrice {
                field: format!("depth.{side}[{i}]"),
                quantity: level.quantity,
                price: level.price,
            });
        }
        if let Some(before) = previous
            && !in_order(before, level.price)
        {
            return Err(TickProblem::DepthOutOfOrder {
                field: field(),
                price: level.price,
                previous: before,
            });
        }
        previous = Some(level.price);
    }
    Ok(())
}

fn best(levels: Option<&Vec<DepthLevel>>) -> Option<Decimal> {
    levels?.first().filter(|l| l.quantity > 0).map(|l| l.price)
}

impl Payload for MarketTick {
    const TYPE: EventType = EventType::MarketTick;

    fn partition_key(&self) -> String {
        self.token.to_string()
    }

    /// [`MarketTick::check`]: an invalid tick is a permanent failure (DLQ at once).
    fn validate(&self) -> Result<(), String> {
        self.check().map_err(|p| p.to_string())
    }
}

#[cfg(test)]
#[path = "market_tests.rs"]
mod tests;
