//! [`BrokerRisk`]: the risk state of one broker namespace and the entry points the risk
//! manager actor calls — ticks, signals, fills, failures and the kill switch.
//!
//! Invariants:
//! - One value per broker; events of another broker are ignored and its signals refused,
//!   so paper and zerodha state never mix.
//! - The IST day (from [`MarketCalendar::ist_date`] of the `at` passed to
//!   [`BrokerRisk::check`] and [`BrokerRisk::on_fill`]) only moves forward. A new day
//!   clears the daily trade counts and the daily realized P&L; it never lifts HALTED.
//! - Approving a signal counts it (daily trades, open orders); a refused one changes
//!   nothing. An order stops being open on its completing fill or its failure.
//! - Inputs are assumed deduplicated upstream (the consumer's dedup store): a redelivered
//!   fill would be applied twice.

use super::book::Book;
use super::limits::RiskLimits;
use super::market_rules::MarketRules;
use super::rules::{self, Context};
use crate::market::MarketCalendar;
use crate::messages::{Broker, OrderFailed, OrderFilled, Rejection, RejectionCode, TradingSignal};
use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;

/// The kill switch of one broker.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TradingState {
    /// Every rule applies; nothing else is blocked.
    Active,
    /// Only orders that move a position toward zero without crossing it pass.
    Reducing,
    /// Every signal is refused.
    Halted,
}

impl TradingState {
    /// The wire name: `ACTIVE`, `REDUCING` or `HALTED`.
    pub fn as_str(self) -> &'static str {
        match self {
            TradingState::Active => "ACTIVE",
            TradingState::Reducing => "REDUCING",
            TradingState::Halted => "HALTED",
        }
    }
}

impl fmt::Display for TradingState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A fill took the day's realized P&L to the loss limit and the broker is now HALTED.
/// Returned once per IST day, for the actor to announce.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LossLimitBreach {
    pub broker: Broker,
    /// The IST day whose loss it is.
    pub day: NaiveDate,
    /// Realized P&L of the day, net of fees (≤ −limit).
    pub realized_pnl: Decimal,
    /// The configured limit, a positive amount.
    pub limit: Decimal,
    /// The state before the breach halted the broker.
    pub previous_state: TradingState,
}

impl LossLimitBreach {
    /// The breach as a `daily_loss_limit` rejection reason.
    pub fn rejection(&self) -> Rejection {
        Rejection {
            code: RejectionCode::DailyLossLimit,
            message: self.to_string(),
        }
    }
}

impl fmt::Display for LossLimitBreach {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: realized P&L {} on {} (IST) reached the daily loss limit -{}; {} -> HALTED",
            self.broker,
            rules::to_paisa(self.realized_pnl),
            self.day,
            self.limit,
            self.previous_state
        )
    }
}

/// The risk state of ONE broker namespace (paper and zerodha each have their own; they
/// never mix).
#[derive(Debug, Clone, PartialEq)]
pub struct BrokerRisk {
    pub(super) broker: Broker,
    pub(super) limits: RiskLimits,
    pub(super) state: TradingState,
    /// The current IST day; `None` until the first signal or fill.
    pub(super) day: Option<NaiveDate>,
    pub(super) daily_realized_pnl: Decimal,
    /// The loss limit already halted the broker on `day`.
    pub(super) loss_limit_tripped: bool,
    pub(super) daily_trades: BTreeMap<String, u32>,
    pub(super) open_orders: u32,
    pub(super) book: Book,
    pub(super) last_prices: BTreeMap<u32, Decimal>,
    /// Why something outside the risk rules holds the broker HALTED for now (Zerodha
    /// execution until its start-up reconciliation succeeds); `None` when nothing does.
    /// Not persisted: the holder sets it again when it starts.
    pub(super) hold: Option<String>,
    /// The instruments' grids and the MIS entry cutoff; from configuration, not persisted.
    pub(super) market: MarketRules,
}

impl BrokerRisk {
    /// A fresh, ACTIVE state: flat, no orders, no prices.
    pub fn new(broker: Broker, limits: RiskLimits) -> Self {
        Self {
            broker,
            limits,
            state: TradingState::Active,
            day: None,
            daily_realized_pnl: Decimal::ZERO,
            loss_limit_tripped: false,
            daily_trades: BTreeMap::new(),
            open_orders: 0,
            book: Book::default(),
            last_prices: BTreeMap::new(),
            hold: None,
            market: MarketRules::default(),
        }
    }

    /// This state under `market`'s rules as well (tick and lot sizes, the entry cutoff);
    /// without them no market rule applies.
    pub fn with_market(mut self, market: MarketRules) -> Self {
        self.market = market;
        self
    }

    /// Records the last traded price of an instrument (for the price band). Non-positive
    /// prices (an instrument that has not traded) are ignored.
    pub fn on_tick(&mut self, token: u32, last_price: Decimal) {
        if last_price > Decimal::ZERO {
            self.last_prices.insert(token, last_price);
        }
    }

    /// Every failed rule, in a stable order (see [`rules`](super::rules)), not just the
    /// first. Approving records the order: one more daily trade for the strategy and one
    /// more open order.
    ///
    /// # Errors
    ///
    /// The reasons the signal is refused, each with its [`RejectionCode`]. A signal of
    /// another broker is refused with `trading_halted` (this namespace does not trade it).
    pub fn check(
        &mut self,
        signal: &TradingSignal,
        at: DateTime<Utc>,
    ) -> Result<(), Vec<Rejection>> {
        if signal.broker != self.broker {
            return Err(vec![Rejection {
                code: RejectionCode::TradingHalted,
                message: format!(
                    "signal for {} reached the {} risk state, which does not trade it",
                    signal.broker, self.broker
                ),
            }]);
        }
        self.roll_day(at);
        let ctx = Context {
            broker: self.broker,
            state: self.effective_state(),
            hold: self.hold.as_deref(),
            limits: &self.limits,
            position: self.book.get(&signal.strategy_id, signal.token),
            trades_today: self.daily_trades(&signal.strategy_id),
            open_orders: self.open_orders,
            last_price: self.last_prices.get(&signal.token).copied(),
            daily_realized_pnl: self.daily_realized_pnl,
            day: self.day,
            instrument: self.market.instrument(signal.token),
            entries_closed: self.market.entries_closed(signal, at),
            at,
        };
        let reasons = rules::evaluate(&ctx, signal);
        if !reasons.is_empty() {
            return Err(reasons);
        }
        match self.daily_trades.get_mut(&signal.strategy_id) {
            Some(count) => *count = count.saturating_add(1),
            None => {
                self.daily_trades.insert(signal.strategy_id.clone(), 1);
            }
        }
        self.open_orders = self.open_orders.saturating_add(1);
        Ok(())
    }

    /// Applies one execution: the position (average-cost netting, long and short, flips),
    /// the day's realized P&L net of the fill's fees, and the open-order count when the
    /// order is complete. A fill whose `filled_at` falls on an earlier IST day than the
    /// current one moves the position but not today's P&L.
    ///
    /// Returns the breach when this fill takes the day's realized P&L to −limit or below
    /// for the first time that day; the broker is then HALTED until [`Self::set_state`].
    #[must_use = "a breach halts the broker and should be announced"]
    pub fn on_fill(&mut self, fill: &OrderFilled, at: DateTime<Utc>) -> Option<LossLimitBreach> {
        let order = &fill.order;
        if order.broker != self.broker {
            return None;
        }
        self.roll_day(at);
        let realized = self.book.apply(
            &order.strategy_id,
            order.token,
            order.side,
            fill.quantity,
            fill.price,
        );
        // Orders the venue made itself (a booked untagged Kite trade, the paper venue's
        // auto square-off) never took an open-order slot, so they free none.
        if fill.cumulative_quantity >= fill.order_quantity
            && !crate::messages::is_venue_initiated(&order.client_order_id)
        {
            self.open_orders = self.open_orders.saturating_sub(1);
        }
        let day = self.day?;
        if MarketCalendar::ist_date(fill.filled_at) < day {
            return None;
        }
        self.daily_realized_pnl = self
            .daily_realized_pnl
            .saturating_add(realized)
            .saturating_sub(fill.fees.total);
        let limit = self.limits.daily_loss_limit?;
        if self.loss_limit_tripped || self.daily_realized_pnl > -limit {
            return None;
        }
        self.loss_limit_tripped = true;
        let previous_state = self.state;
        self.state = TradingState::Halted;
        Some(LossLimitBreach {
            broker: self.broker,
            day,
            realized_pnl: self.daily_realized_pnl,
            limit,
            previous_state,
        })
    }

    /// The order ended without (complete) execution: it is no longer open. Partial fills
    /// before it stay applied.
    pub fn on_order_failed(&mut self, failed: &OrderFailed) {
        if failed.order.broker == self.broker {
            self.open_orders = self.open_orders.saturating_sub(1);
        }
    }

    /// The kill switch. The only way out of HALTED.
    pub fn set_state(&mut self, state: TradingState) {
        self.state = state;
    }

    pub fn state(&self) -> TradingState {
        self.state
    }

    /// Holds the broker HALTED for `reason` (or lifts the hold with `None`) without
    /// touching the state the kill switch set, which applies again once the hold lifts.
    pub fn set_hold(&mut self, reason: Option<String>) {
        self.hold = reason;
    }

    /// The state in force: HALTED while held, else the kill switch's state.
    pub fn effective_state(&self) -> TradingState {
        if self.hold.is_some() {
            TradingState::Halted
        } else {
            self.state
        }
    }

    pub fn broker(&self) -> Broker {
        self.broker
    }

    pub fn limits(&self) -> &RiskLimits {
        &self.limits
    }

    /// Net position of `strategy` in `token` from fills: long > 0, short < 0, flat 0.
    pub fn position(&self, strategy: &str, token: u32) -> i64 {
        self.book.get(strategy, token).quantity
    }

    /// Realized P&L of the current IST day, net of fees.
    pub fn daily_realized_pnl(&self) -> Decimal {
        self.daily_realized_pnl
    }

    /// Validated signals of `strategy` on the current IST day.
    pub fn daily_trades(&self, strategy: &str) -> u32 {
        self.daily_trades.get(strategy).copied().unwrap_or(0)
    }

    /// Validated orders not yet completely filled or failed.
    pub fn open_orders(&self) -> u32 {
        self.open_orders
    }

    /// Moves to the IST day of `at` if it is later than the current one.
    fn roll_day(&mut self, at: DateTime<Utc>) {
        let today = MarketCalendar::ist_date(at);
        if self.day.is_some_and(|day| day >= today) {
            return;
        }
        self.day = Some(today);
        self.daily_trades.clear();
        self.daily_realized_pnl = Decimal::ZERO;
        self.loss_limit_tripped = false;
    }
}
