//! The resting orders of the paper venue and the pure rules that price them against a tick.
//!
//! What a tick says about the book ([`Quote::of`]):
//! - Full mode (depth): each side's best level — its price and quantity. A side whose best
//!   level is empty (quantity 0: Kite pads missing levels with zeros) has *no* liquidity:
//!   no sellers at the upper circuit, no buyers at the lower one.
//! - Quote mode (no depth, `total_buy_quantity` / `total_sell_quantity`): each side's total
//!   pending quantity; 0 is an empty side. No touch price: takers trade at the last price.
//! - Ltp mode: nothing about the book. Liquidity is then assumed (the venue cannot know
//!   better), as it always was.
//!
//! Pricing rules (rupees):
//! - The *taker price* of a side is the best ask (buy) / best bid (sell) when the tick
//!   carries depth and `fill_at_touch` is set, else the last price.
//! - Slippage moves the taker price against the order: `× (1 ± bps/10000)`, then the
//!   result goes onto the instrument's tick grid in the adverse direction — a buy rounds
//!   up, a sell rounds down — when the tick size is known; else to the paisa, half-up.
//! - A market order fills at the slipped taker price.
//! - A limit order *arriving* (worked for the first time: at submission, on its first
//!   eligible tick, or on the tick that triggers a stop-limit) is crossed when the taker
//!   price is at or better than the limit and fills at `min(limit, slipped taker price)`
//!   for a buy, `max` for a sell: a marketable limit takes the touch, as on an exchange.
//! - A limit order *resting* (worked before and still open) is crossed on the same
//!   condition but fills at its limit: it is the passive side of the trade, and an
//!   exchange trades at the resting order's price (no price improvement).
//! - No order fills against a side the tick shows empty (a buy with no sellers, a sell
//!   with no buyers), whatever the last price.
//! - Stops trigger on the *last* price: a buy stop when `last >= trigger`, a sell stop when
//!   `last <= trigger`. SL-M then behaves as a market order and SL as a limit order at its
//!   price, from the triggering tick on.
//! - Kite's placement rules for stops ([`Stage::of`], [`Stage::refusal_at`]): an SL's limit
//!   may not be on the wrong side of its trigger (a buy's trigger above its price, a sell's
//!   below), and a stop's trigger must be on the far side of the last traded price.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;

use super::charges::{ChargeColumn, Product, paisa};
use super::config::MAX_PRICE;
use super::venue::VenueEvent;
use crate::messages::{
    DepthLevel, MarketTick, OrderFailed, OrderFailureKind, OrderRef, OrderType, Side, Validity,
};

/// What a tick shows on one side of the book.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(super) struct Touch {
    /// The best price, when the tick carries depth and its best level is not empty.
    pub price: Option<Decimal>,
    /// What a taker may take on this side: the best level's quantity (full mode) or the
    /// side's total pending quantity (quote mode); `None` when the tick does not say.
    pub quantity: Option<u64>,
}

impl Touch {
    /// The side of a tick: `levels` from its depth if it has depth, else its `total`.
    fn of(levels: Option<&Vec<DepthLevel>>, total: Option<u32>) -> Self {
        let Some(levels) = levels else {
            return Touch {
                price: None,
                quantity: total.map(u64::from),
            };
        };
        match levels.first() {
            None => Touch {
                price: None,
                quantity: Some(0),
            },
            Some(level) if level.quantity == 0 => Touch {
                price: None,
                quantity: Some(0),
            },
            // A level with an absurd price says nothing usable.
            Some(level) if !sane(&level.price) => Touch::default(),
            Some(level) => Touch {
                price: Some(level.price),
                quantity: Some(u64::from(level.quantity)),
            },
        }
    }

    /// True when the tick shows no liquidity at all on this side.
    pub fn is_empty(&self) -> bool {
        self.quantity == Some(0)
    }
}

fn sane(price: &Decimal) -> bool {
    *price > Decimal::ZERO && *price <= MAX_PRICE
}

/// What the venue remembers of an instrument's latest tick.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Quote {
    pub last: Decimal,
    pub bid: Touch,
    pub ask: Touch,
}

impl Quote {
    /// The quote of a tick, or `None` when its last price is outside `(0, MAX_PRICE]`
    /// (such a tick is ignored). A touch price outside that range counts as absent.
    pub fn of(tick: &MarketTick) -> Option<Self> {
        let depth = tick.depth.as_ref();
        Some(Self {
            last: Some(tick.last_price).filter(sane)?,
            bid: Touch::of(depth.map(|d| &d.bids), tick.total_buy_quantity),
            ask: Touch::of(depth.map(|d| &d.asks), tick.total_sell_quantity),
        })
    }

    /// The side a taker on `side` trades against: the asks for a buy, the bids for a sell.
    pub fn against(&self, side: Side) -> &Touch {
        match side {
            Side::Buy => &self.ask,
            Side::Sell => &self.bid,
        }
    }

    /// The price a taker on `side` would trade at before slippage.
    pub fn taker_price(&self, side: Side, at_touch: bool) -> Decimal {
        self.against(side)
            .price
            .filter(|_| at_touch)
            .unwrap_or(self.last)
    }
}

/// How the venue prices a taker in one instrument.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Pricing {
    /// Take the touch when the tick has depth (`paper.fill_at_touch`).
    pub at_touch: bool,
    /// `paper.slippage_bps`.
    pub slippage_bps: Decimal,
    /// The instrument's tick size; `None` (not in the registry): prices round to the paisa.
    pub tick_size: Option<Decimal>,
}

impl Pricing {
    /// `price` moved against a taker on `side` by the slippage, then onto the grid
    /// against the taker (see [`on_grid`]).
    pub fn slipped(&self, price: Decimal, side: Side) -> Decimal {
        let shift = price.saturating_mul(self.slippage_bps) / Decimal::from(10_000);
        let moved = match side {
            Side::Buy => price.saturating_add(shift),
            Side::Sell => price.saturating_sub(shift),
        };
        on_grid(moved, side, self.tick_size)
    }
}

/// `price` on the tick grid of `tick_size`, rounded against a taker on `side` (a buy up,
/// a sell down); to the paisa, half-up, when the tick size is unknown or unusable.
pub(super) fn on_grid(price: Decimal, side: Side, tick_size: Option<Decimal>) -> Decimal {
    let Some(tick) = tick_size.filter(|t| *t > Decimal::ZERO) else {
        return paisa(price);
    };
    let steps = match price.checked_div(tick) {
        Some(steps) => steps,
        None => return paisa(price),
    };
    let steps = match side {
        Side::Buy => steps.ceil(),
        Side::Sell => steps.floor(),
    };
    steps.checked_mul(tick).unwrap_or_else(|| paisa(price))
}

/// Why an order did not execute on a tick.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum NoFill {
    /// A stop still waiting for its trigger.
    Untriggered,
    /// A limit not crossed.
    NotMarketable,
    /// The side it would trade against shows no quantity.
    EmptySide(Side),
}

impl NoFill {
    /// The reason, for an IOC/FOK that ends on it.
    pub fn reason(self) -> String {
        match self {
            NoFill::Untriggered => "not triggered on its first eligible tick".into(),
            NoFill::NotMarketable => "not marketable on its first eligible tick".into(),
            NoFill::EmptySide(Side::Buy) => {
                "no sellers on the tick (ask quantity 0, as at the upper circuit)".into()
            }
            NoFill::EmptySide(Side::Sell) => {
                "no buyers on the tick (bid quantity 0, as at the lower circuit)".into()
            }
        }
    }
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
    /// The stage of a new `side` order of `order_type` with `price` and `trigger`, or why
    /// Kite would refuse it: a price missing or absurd, or an SL whose limit is on the
    /// wrong side of its trigger (Kite: "Trigger price can't be higher than price" for a
    /// buy, "... lesser than price" for a sell).
    pub fn of(
        side: Side,
        order_type: OrderType,
        price: Option<Decimal>,
        trigger: Option<Decimal>,
    ) -> Result<Self, String> {
        let checked = |name: &str, value: Option<Decimal>| match value {
            Some(p) if sane(&p) => Ok(p),
            Some(p) => Err(format!("{name} {p} is outside (0, {MAX_PRICE}]")),
            None => Err(format!(
                "{name} is missing for a {} order",
                kite_name(order_type)
            )),
        };
        Ok(match order_type {
            OrderType::Market => Stage::Market,
            OrderType::Limit => Stage::Limit(checked("price", price)?),
            OrderType::StopMarket => Stage::StopMarket {
                trigger: checked("trigger_price", trigger)?,
            },
            OrderType::StopLimit => {
                let trigger = checked("trigger_price", trigger)?;
                let limit = checked("price", price)?;
                match side {
                    Side::Buy if trigger > limit => {
                        return Err(format!(
                            "Trigger price can't be higher than price (SL buy: trigger \
                             {trigger} above price {limit})"
                        ));
                    }
                    Side::Sell if trigger < limit => {
                        return Err(format!(
                            "Trigger price can't be lesser than price (SL sell: trigger \
                             {trigger} below price {limit})"
                        ));
                    }
                    _ => Stage::StopLimit { trigger, limit },
                }
            }
        })
    }

    /// True while a stop waits for its trigger.
    pub fn is_stop(self) -> bool {
        matches!(self, Stage::StopMarket { .. } | Stage::StopLimit { .. })
    }

    /// Kite's refusal of a new stop of `side` when the last traded price is `last`: a buy
    /// stop's trigger must be above it, a sell stop's below (else the stop would fire at
    /// once, and Kite rejects it).
    pub fn refusal_at(self, side: Side, last: Decimal) -> Option<String> {
        let (Stage::StopMarket { trigger } | Stage::StopLimit { trigger, .. }) = self else {
            return None;
        };
        match side {
            Side::Buy if trigger <= last => Some(format!(
                "Trigger price for stoploss buy orders should be higher than the last traded \
                 price (trigger {trigger}, last {last})"
            )),
            Side::Sell if trigger >= last => Some(format!(
                "Trigger price for stoploss sell orders should be lower than the last traded \
                 price (trigger {trigger}, last {last})"
            )),
            _ => None,
        }
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
    /// Worked before and still open: a limit now rests in the book (see the module doc).
    pub resting: bool,
    /// The close of the session the order lives in; it expires there.
    pub expires_at: Option<DateTime<Utc>>,
    /// Submission time + `order_timeout_secs`: still open then, it is cancelled.
    pub times_out_at: Option<DateTime<Utc>>,
    /// Executions so far (numbers the fill ids).
    pub fills: u32,
    /// Brokerage paid by earlier fills (the cap is per order).
    pub brokerage_paid: Decimal,
    /// The product it is placed as (MIS orders are cancelled by the broker's square-off).
    pub product: Product,
    /// The charge column of its fills.
    pub column: ChargeColumn,
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

    /// The price this order executes at against `quote`, or why it does not.
    pub fn execution_price(&self, quote: &Quote, pricing: &Pricing) -> Result<Decimal, NoFill> {
        let side = self.order.side;
        if self.stage.is_stop() {
            return Err(NoFill::Untriggered);
        }
        if quote.against(side).is_empty() {
            return Err(NoFill::EmptySide(side));
        }
        let taker = quote.taker_price(side, pricing.at_touch);
        let price = pricing.slipped(taker, side);
        let crossed = |limit: Decimal| match side {
            Side::Buy => taker <= limit,
            Side::Sell => taker >= limit,
        };
        let execution = match self.stage {
            Stage::Market => price,
            Stage::Limit(limit) if !crossed(limit) => return Err(NoFill::NotMarketable),
            Stage::Limit(limit) if self.resting => limit,
            Stage::Limit(limit) => match side {
                Side::Buy => price.min(limit),
                Side::Sell => price.max(limit),
            },
            Stage::StopMarket { .. } | Stage::StopLimit { .. } => {
                return Err(NoFill::Untriggered);
            }
        };
        Some(execution)
            .filter(|p| *p > Decimal::ZERO)
            .ok_or(NoFill::NotMarketable)
    }

    /// A price to check the buyer's cash against at submission: the limit, the trigger, or
    /// the market price when there is a quote.
    pub fn estimate(&self, quote: Option<&Quote>, pricing: &Pricing) -> Option<Decimal> {
        let side = self.order.side;
        match self.stage {
            Stage::Limit(p) | Stage::StopLimit { limit: p, .. } => Some(p),
            Stage::StopMarket { trigger } => Some(pricing.slipped(trigger, side)),
            Stage::Market => {
                quote.map(|q| pricing.slipped(q.taker_price(side, pricing.at_touch), side))
            }
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
