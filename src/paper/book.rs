//! The resting orders of the paper venue and the pure rules that price them against a tick.
//!
//! Pricing rules (all prices in rupees, rounded to the paisa, never to the tick size):
//! - The *taker price* of a side is the best ask (buy) / best bid (sell) when the tick
//!   carries depth and `fill_at_touch` is set, else the last price.
//! - Slippage moves the taker price against the order: `× (1 ± bps/10000)`, half-up.
//! - A market order fills at the slipped taker price.
//! - A buy limit is crossed when the taker price is at or below the limit and fills at
//!   `min(limit, slipped taker price)`; a sell limit mirrors it (`>=`, `max`). A limit
//!   order therefore never fills beyond its limit.
//! - Stops trigger on the *last* price: a buy stop when `last >= trigger`, a sell stop when
//!   `last <= trigger`. SL-M then behaves as a market order and SL as a limit order at its
//!   price, from the triggering tick on.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;

use super::charges::paisa;
use super::config::MAX_PRICE;
use super::venue::VenueEvent;
use crate::messages::{
    MarketTick, OrderFailed, OrderFailureKind, OrderRef, OrderType, Side, TradingSignal, Validity,
};

/// What the venue remembers of an instrument's latest tick.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Quote {
    pub last: Decimal,
    pub bid: Option<Decimal>,
    pub ask: Option<Decimal>,
}

impl Quote {
    /// The quote of a tick, or `None` when its last price is outside `(0, MAX_PRICE]`
    /// (such a tick is ignored). A touch price outside that range counts as absent.
    pub fn of(tick: &MarketTick) -> Option<Self> {
        let sane = |p: &Decimal| *p > Decimal::ZERO && *p <= MAX_PRICE;
        Some(Self {
            last: Some(tick.last_price).filter(sane)?,
            bid: tick.best_bid().filter(sane),
            ask: tick.best_ask().filter(sane),
        })
    }

    /// The price a taker on `side` would trade at before slippage.
    pub fn taker_price(&self, side: Side, at_touch: bool) -> Decimal {
        let touch = match side {
            Side::Buy => self.ask,
            Side::Sell => self.bid,
        };
        touch.filter(|_| at_touch).unwrap_or(self.last)
    }
}

/// `price` moved against a taker on `side` by `bps` basis points, rounded to the paisa.
pub(super) fn slipped(price: Decimal, side: Side, bps: Decimal) -> Decimal {
    let shift = price * bps / Decimal::from(10_000);
    paisa(match side {
        Side::Buy => price + shift,
        Side::Sell => price - shift,
    })
}

/// The order's current behaviour; stops turn into `Market` / `Limit` when triggered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Stage {
    Market,
    Limit(Decimal),
    StopMarket { trigger: Decimal },
    StopLimit { trigger: Decimal, limit: Decimal },
}

impl Stage {
    /// The stage of a new order, or why the signal cannot become one.
    pub fn of(signal: &TradingSignal) -> Result<Self, String> {
        let price = |name: &str, value: Option<Decimal>| match value {
            Some(p) if p > Decimal::ZERO && p <= MAX_PRICE => Ok(p),
            Some(p) => Err(format!("{name} {p} is outside (0, {MAX_PRICE}]")),
            None => Err(format!(
                "{name} is missing for a {} order",
                kite_name(signal.order_type)
            )),
        };
        Ok(match signal.order_type {
            OrderType::Market => Stage::Market,
            OrderType::Limit => Stage::Limit(price("price", signal.price)?),
            OrderType::StopMarket => Stage::StopMarket {
                trigger: price("trigger_price", signal.trigger_price)?,
            },
            OrderType::StopLimit => Stage::StopLimit {
                trigger: price("trigger_price", signal.trigger_price)?,
                limit: price("price", signal.price)?,
            },
        })
    }

    /// True while a stop waits for its trigger.
    pub fn is_stop(self) -> bool {
        matches!(self, Stage::StopMarket { .. } | Stage::StopLimit { .. })
    }
}

/// One open order.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Order {
    pub order: OrderRef,
    pub quantity: u32,
    pub filled: u32,
    pub stage: Stage,
    pub validity: Validity,
    /// Ticks of the instrument seen since submission.
    pub ticks_seen: u32,
    /// The close of the session the order lives in; it expires there.
    pub expires_at: Option<DateTime<Utc>>,
    /// Submission time + `order_timeout_secs`: still open then, it is cancelled.
    pub times_out_at: Option<DateTime<Utc>>,
    /// Executions so far (numbers the fill ids).
    pub fills: u32,
    /// Brokerage paid by earlier fills (the cap is per order).
    pub brokerage_paid: Decimal,
}

impl Order {
    pub fn remaining(&self) -> u32 {
        self.quantity.saturating_sub(self.filled)
    }

    /// Turns a stop into its market / limit form if `quote.last` crosses its trigger;
    /// true if it did.
    pub fn trigger(&mut self, quote: &Quote) -> bool {
        let crossed = |trigger: Decimal| match self.order.side {
            Side::Buy => quote.last >= trigger,
            Side::Sell => quote.last <= trigger,
        };
        let next = match self.stage {
            Stage::StopMarket { trigger } if crossed(trigger) => Stage::Market,
            Stage::StopLimit { trigger, limit } if crossed(trigger) => Stage::Limit(limit),
            _ => return false,
        };
        self.stage = next;
        true
    }

    /// The price this order executes at against `quote`, or `None` if it does not execute
    /// (a limit not crossed, an untriggered stop).
    pub fn execution_price(&self, quote: &Quote, at_touch: bool, bps: Decimal) -> Option<Decimal> {
        let side = self.order.side;
        let taker = quote.taker_price(side, at_touch);
        let price = slipped(taker, side, bps);
        match (self.stage, side) {
            (Stage::Market, _) => Some(price),
            (Stage::Limit(limit), Side::Buy) => (taker <= limit).then_some(price.min(limit)),
            (Stage::Limit(limit), Side::Sell) => (taker >= limit).then_some(price.max(limit)),
            (Stage::StopMarket { .. } | Stage::StopLimit { .. }, _) => None,
        }
        .filter(|p| *p > Decimal::ZERO)
    }

    /// A price to check the buyer's cash against at submission: the limit, the trigger, or
    /// the market price when there is a quote.
    pub fn estimate(&self, quote: Option<&Quote>, at_touch: bool, bps: Decimal) -> Option<Decimal> {
        match self.stage {
            Stage::Limit(p) | Stage::StopLimit { limit: p, .. } => Some(p),
            Stage::StopMarket { trigger } => Some(slipped(trigger, self.order.side, bps)),
            Stage::Market => quote.map(|q| {
                slipped(
                    q.taker_price(self.order.side, at_touch),
                    self.order.side,
                    bps,
                )
            }),
        }
    }

    /// The IOC/FOK order ending with its remainder unfilled: `Failed(Expired)`.
    pub fn unfilled(self, why: &str) -> VenueEvent {
        let message = format!(
            "{}: {why}; {} of {} filled",
            kite_name(self.validity),
            self.filled,
            self.quantity
        );
        let kind = OrderFailureKind::Expired;
        failed(self.order, self.quantity, self.filled, kind, message)
    }

    /// The order reaching its session close: `Failed(Expired)`.
    pub fn expired_at_close(self) -> VenueEvent {
        let message = format!(
            "{} order expired at the session close; {} of {} filled",
            kite_name(self.validity),
            self.filled,
            self.quantity
        );
        let kind = OrderFailureKind::Expired;
        failed(self.order, self.quantity, self.filled, kind, message)
    }

    /// The order cancelled (`Failed(Cancelled)`) because `why`, keeping what it filled.
    pub fn cancelled(self, why: &str) -> VenueEvent {
        let message = format!("{why}; {} of {} filled", self.filled, self.quantity);
        let kind = OrderFailureKind::Cancelled;
        failed(self.order, self.quantity, self.filled, kind, message)
    }
}

/// A `Failed` event.
pub(super) fn failed(
    order: OrderRef,
    quantity: u32,
    filled_quantity: u32,
    kind: OrderFailureKind,
    message: String,
) -> VenueEvent {
    VenueEvent::Failed(OrderFailed {
        order,
        quantity,
        filled_quantity,
        kind,
        message,
    })
}

/// The wire (Kite) name of an enum value: `LIMIT`, `SL-M`, `IOC`.
pub(super) fn kite_name(value: impl serde::Serialize) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(name)) => name,
        _ => String::new(),
    }
}
