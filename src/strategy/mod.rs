//! Trading strategies: ticks, fills and order outcomes in, order intents out. Pure domain
//! code: nothing here imports actix, tokio, Kafka or Redis, and nothing reads a clock
//! (time comes in with the [`StrategyContext`]).
//!
//! The contract ([`Strategy`]):
//! - A strategy instance belongs to one (strategy id, broker): paper and zerodha never
//!   share a belief. The runner builds one instance per broker a strategy trades on.
//! - It receives the ticks of its instruments ([`Strategy::on_tick`]), their completed
//!   minute bars ([`Strategy::on_bar`], optional), the fills of its own
//!   orders ([`Strategy::on_fill`]) and every way an order of its own ends without a full
//!   fill ([`Strategy::on_order_ended`]: rejected by risk, refused by the venue, rejected by
//!   Kite, not placed, cancelled, expired, or never answered).
//! - Its position and pending orders per instrument are *not* its own bookkeeping: the
//!   [`Ledger`] derives them from those events, and the strategy reads them through the
//!   context ([`StrategyContext::position`], [`StrategyContext::pending`]). An intent it
//!   returns is only a wish: nothing assumes it happened until a fill says so.
//! - An intent ([`OrderIntent`]) says what to trade: side, quantity, order type, price,
//!   trigger, validity and (for Zerodha) product.
//! - A strategy may fail ([`StrategyFault`]) or panic; the runner disables it for the run
//!   after repeated failures, and the other strategies keep running.
//! - Besides its configured instruments, it may subscribe and unsubscribe instruments while
//!   it runs, through the context ([`StrategyContext::subscribe`]; see [`subscriptions`]).
//!
//! - [`kinds`]: the four built-in kinds (`momentum`, `mean_reversion`, `rsi`,
//!   `ema_cross`), each deciding from its real position with at most one order in flight
//!   per instrument.
//! - [`StrategyRegistry`]: kind name → factory; a user's binary registers its own kinds.
//! - [`harness`]: a pure harness for strategy authors' tests (ticks, fills and refusals
//!   in; intents out).
//! - [`square_off`]: the intraday (MIS) square-off of one slot: the closing order, what
//!   counts as opening or growing a position, the back-off after a failed closing order.
//! - [`indicators`]: O(1)-per-update EMA, SMA, rolling std / Bollinger bands, RSI, momentum.
//! - [`subscriptions`]: runtime subscriptions (what a strategy asks for while running).

pub mod harness;
pub mod indicators;
pub mod kinds;
mod ledger;
mod registry;
mod retry;
pub mod square_off;
pub mod subscriptions;

#[cfg(test)]
mod harness_tests;
#[cfg(test)]
mod indicators_tests;
#[cfg(test)]
mod ledger_tests;
#[cfg(test)]
mod square_off_tests;
#[cfg(test)]
mod subscriptions_tests;

pub use ledger::{EndKind, FillApplied, InstrumentBook, Ledger, OrderEnded, PendingOrder};
pub use registry::{StrategyFactory, StrategyRegistry};
pub use retry::Retry;
pub use subscriptions::{InstrumentRef, RuntimeSubscriptions, SubscriptionError};

pub use crate::messages::Product;
pub use crate::settings::{ParamProblem, ParamsError, StrategyParams};

use crate::market::Instrument;
use crate::messages::{Broker, MarketTick, OrderFilled, OrderType, Side, TradingSignal, Validity};
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;

/// What went wrong inside a strategy (any error type converts with `?`).
pub type StrategyFault = Box<dyn std::error::Error + Send + Sync>;

/// A strategy's answer to a tick: at most one intent, or a fault.
pub type Decision = Result<Option<OrderIntent>, StrategyFault>;

/// What a strategy wants to trade in the tick's instrument. Only a wish: the strategy's
/// position changes when fills arrive, not when the intent is sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderIntent {
    pub side: Side,
    pub quantity: u32,
    pub order_type: OrderType,
    /// Limit price (LIMIT and SL orders); `None` for market orders.
    pub price: Option<Decimal>,
    /// Trigger price (SL and SL-M orders); `None` otherwise.
    pub trigger_price: Option<Decimal>,
    pub validity: Validity,
    /// Kite product of a Zerodha order; `None` for the strategy's configured product.
    pub product: Option<Product>,
    /// Why the strategy fired, for humans.
    pub reason: String,
}

impl OrderIntent {
    /// A MARKET order valid for the DAY.
    pub fn market(side: Side, quantity: u32, reason: impl Into<String>) -> Self {
        OrderIntent {
            side,
            quantity,
            order_type: OrderType::Market,
            price: None,
            trigger_price: None,
            validity: Validity::Day,
            product: None,
            reason: reason.into(),
        }
    }

    /// A LIMIT order at `price`, valid for the DAY.
    pub fn limit(side: Side, quantity: u32, price: Decimal, reason: impl Into<String>) -> Self {
        OrderIntent {
            order_type: OrderType::Limit,
            price: Some(price),
            ..OrderIntent::market(side, quantity, reason)
        }
    }

    /// The intent that moves a position of `position` to `target`, as a market order;
    /// `None` when it is already there or the difference is beyond one order (`u32`).
    pub fn towards(position: i64, target: i64, reason: impl Into<String>) -> Option<Self> {
        let difference = target.checked_sub(position)?;
        let quantity = u32::try_from(difference.unsigned_abs()).ok()?;
        if quantity == 0 {
            return None;
        }
        let side = if difference > 0 {
            Side::Buy
        } else {
            Side::Sell
        };
        Some(OrderIntent::market(side, quantity, reason))
    }
}

impl OrderIntent {
    /// The signal this intent becomes when `strategy_id` at `broker` decides it on `tick`,
    /// holding `position` (the runner, the harness and benchmarks all build it here).
    pub fn into_signal(
        self,
        strategy_id: &str,
        broker: Broker,
        tick: &MarketTick,
        position: i64,
    ) -> TradingSignal {
        TradingSignal {
            strategy_id: strategy_id.to_owned(),
            broker,
            token: tick.token,
            symbol: tick
                .symbol
                .clone()
                .unwrap_or_else(|| tick.token.to_string()),
            side: self.side,
            quantity: self.quantity,
            order_type: self.order_type,
            price: self.price,
            trigger_price: self.trigger_price,
            validity: self.validity,
            reference_price: tick.last_price,
            reason: self.reason,
            product: self.product,
            position,
        }
    }
}

/// What a strategy may read when it is called: the time, where it trades, and its real
/// position and pending orders (derived from fills and order outcomes); and where it asks
/// for instruments at runtime ([`StrategyContext::subscribe`]).
#[derive(Debug, Clone, Copy)]
pub struct StrategyContext<'a> {
    /// Event time: the tick's (or the fill's, the outcome's) time.
    pub now: DateTime<Utc>,
    pub strategy_id: &'a str,
    pub broker: Broker,
    /// The instrument of the event.
    pub token: u32,
    ledger: &'a Ledger,
    /// The registry and the slot's runtime subscriptions (`None`: subscribing is refused).
    subscriptions: Option<(
        &'a crate::market::instruments::InstrumentRegistry,
        &'a RuntimeSubscriptions,
    )>,
}

impl<'a> StrategyContext<'a> {
    /// A context over `ledger`, without subscriptions (the runner and the harness add
    /// them: [`StrategyContext::with_subscriptions`]).
    pub fn new(
        now: DateTime<Utc>,
        strategy_id: &'a str,
        broker: Broker,
        token: u32,
        ledger: &'a Ledger,
    ) -> Self {
        StrategyContext {
            now,
            strategy_id,
            broker,
            token,
            ledger,
            subscriptions: None,
        }
    }

    /// The event's instrument as the master lists it (lot size, tick size, expiry,
    /// strike, underlying), when the context has the registry ([`Self::instruments`]).
    pub fn instrument(&self) -> Option<&'a Instrument> {
        self.instruments()?.by_token(self.token)
    }

    /// The event's lot size: every order quantity of a derivative is a multiple of it
    /// (1 when the instrument is unknown, as for an equity).
    pub fn lot_size(&self) -> u32 {
        self.instrument().map_or(1, |i| i.lot_size.max(1))
    }

    /// The real signed position in the event's instrument (sum of this strategy's fills
    /// at this broker).
    pub fn position(&self) -> i64 {
        self.ledger.position(self.token)
    }

    /// The average price of the position in the event's instrument (from its fills);
    /// `None` when flat.
    pub fn average_price(&self) -> Option<Decimal> {
        self.ledger.average_price(self.token)
    }

    /// Orders of the event's instrument that have not ended yet.
    pub fn pending(&self) -> &'a [PendingOrder] {
        self.ledger.pending(self.token)
    }

    /// Whether an order of the event's instrument is still in flight.
    pub fn has_pending(&self) -> bool {
        !self.pending().is_empty()
    }

    /// The position in another instrument of this strategy.
    pub fn position_of(&self, token: u32) -> i64 {
        self.ledger.position(token)
    }

    /// The pending orders of another instrument of this strategy.
    pub fn pending_of(&self, token: u32) -> &'a [PendingOrder] {
        self.ledger.pending(token)
    }
}

/// A trading strategy for one (strategy id, broker).
pub trait Strategy: Send {
    /// One tick of one of the strategy's instruments.
    ///
    /// # Errors
    /// Whatever the strategy cannot handle; repeated faults disable it for the run.
    fn on_tick(&mut self, tick: &MarketTick, ctx: &StrategyContext<'_>) -> Decision;

    /// A minute bar of one of the strategy's instruments completed: called by the runner
    /// with the first tick of the next bar, before that tick's [`Strategy::on_tick`]
    /// (see [`crate::market::bars::BarBuilder`]: last prices, volume from the ticks'
    /// cumulative volume). An intent returned here is sent like one from a tick. Default:
    /// nothing.
    ///
    /// # Errors
    /// As [`Strategy::on_tick`].
    fn on_bar(
        &mut self,
        _bar: &crate::market::candles::Candle,
        _ctx: &StrategyContext<'_>,
    ) -> Decision {
        Ok(None)
    }

    /// A fill of one of this strategy's orders; the context already includes it.
    fn on_fill(&mut self, _fill: &OrderFilled, _ctx: &StrategyContext<'_>) {}

    /// An order of this strategy ended without a full fill (partial fills before it stay
    /// in the position); the context already excludes it from the pending orders.
    fn on_order_ended(&mut self, _ended: &OrderEnded, _ctx: &StrategyContext<'_>) {}
}
