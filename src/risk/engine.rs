//! [`BrokerRisk`]: the risk state of one broker namespace and the entry points the risk
//! manager actor calls — ticks, signals, fills, failures and the kill switch.
//!
//! Invariants:
//! - One value per broker; events of another broker are ignored and its signals refused,
//!   so paper and zerodha state never mix.
//! - Everything but the kill switch is derived from events (validated and rejected
//!   signals, fills, failures), applied by the same functions live and when the actor
//!   rebuilds from the topics at start: positions, orders in flight (so open orders),
//!   the day's validated-signal counts and realized P&L, the loss limits' state, and each
//!   raw signal's verdict. Applying an event twice changes nothing: fills count once by
//!   `fill_id`, a raw signal keeps its first verdict, a failure ends an order once.
//! - The IST day (from [`MarketCalendar::ist_date`] of the `at` passed in) only moves
//!   forward. A new day clears the daily counts, realized P&L and reached loss limits, and
//!   drops orders in flight from earlier days; it never changes the kill switch.
//! - Position rules count filled plus in-flight quantity in the order's direction.

use super::book::Book;
use super::exposure::{InFlight, Pending};
use super::limits::{LossAction, LossBasis, RiskLimits};
use super::loss::{LossLimitBreach, Tripped};
use super::market_rules::MarketRules;
use super::rules::{self, Context};
use crate::accounting::Net;
use crate::market::MarketCalendar;
use crate::messages::{
    Broker, OrderFailed, OrderFilled, OrderType, Rejection, RejectionCode, Side, TradingSignal,
    Validity, client_order_id_of_signal,
};
use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use uuid::Uuid;

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

/// A raw signal's verdict, kept so that evaluating it again gives the same answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Validated,
    Rejected(Vec<Rejection>),
}

impl Verdict {
    fn as_result(&self) -> Result<(), Vec<Rejection>> {
        match self {
            Verdict::Validated => Ok(()),
            Verdict::Rejected(reasons) => Err(reasons.clone()),
        }
    }
}

/// The risk state of ONE broker namespace (paper and zerodha each have their own; they
/// never mix).
#[derive(Debug, Clone, PartialEq)]
pub struct BrokerRisk {
    pub(super) broker: Broker,
    pub(super) limits: RiskLimits,
    /// The kill switch; the only state not derived from events.
    pub(super) state: TradingState,
    /// The current IST day; `None` until the first event.
    pub(super) day: Option<NaiveDate>,
    /// Realized P&L of `day` per strategy, net of fees.
    pub(super) realized_today: BTreeMap<String, Decimal>,
    /// Loss limits reached on `day`.
    pub(super) tripped: Tripped,
    pub(super) daily_trades: BTreeMap<String, u32>,
    pub(super) in_flight: InFlight,
    pub(super) book: Book,
    /// The trading symbol of each instrument filled (for the orders that flatten it).
    pub(super) symbols: BTreeMap<u32, String>,
    pub(super) last_prices: BTreeMap<u32, Decimal>,
    /// Every raw signal's verdict, by its envelope id.
    pub(super) verdicts: HashMap<Uuid, Verdict>,
    /// Fills applied, by `fill_id`.
    pub(super) applied_fills: HashSet<String>,
    /// Why something outside the risk rules holds the broker HALTED for now (Zerodha
    /// execution until its start-up reconciliation succeeds); `None` when nothing does.
    /// Not persisted: the holder sets it again when it starts.
    pub(super) hold: Option<String>,
    /// The instruments' grids and the MIS entry cutoff; from configuration.
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
            realized_today: BTreeMap::new(),
            tripped: Tripped::default(),
            daily_trades: BTreeMap::new(),
            in_flight: InFlight::default(),
            book: Book::default(),
            symbols: BTreeMap::new(),
            last_prices: BTreeMap::new(),
            verdicts: HashMap::new(),
            applied_fills: HashSet::new(),
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

    /// Records the last traded price of an instrument (for the price band and the
    /// mark-to-market loss limits). Non-positive prices are ignored. Returns the loss
    /// limits this price took to their limit.
    #[must_use = "a breach changes the trading state and should be announced"]
    pub fn on_tick(&mut self, token: u32, last_price: Decimal) -> Vec<LossLimitBreach> {
        if last_price <= Decimal::ZERO {
            return Vec::new();
        }
        self.last_prices.insert(token, last_price);
        if self.limits.loss_limit_basis != LossBasis::MarkToMarket || self.day.is_none() {
            return Vec::new();
        }
        let holders: Vec<String> = self
            .book
            .iter()
            .filter(|(_, t, _)| *t == token)
            .map(|(strategy, _, _)| strategy.to_owned())
            .collect();
        if holders.is_empty() {
            return Vec::new();
        }
        self.judge_losses(&holders)
    }

    /// Every failed rule, in a stable order (see [`rules`](super::rules)), not just the
    /// first. Approving records the order as in flight (client order id derived from
    /// `signal_id`, the raw signal's envelope id) and counts a daily trade.
    ///
    /// A signal evaluated before (the same `signal_id`) gets the same verdict again and
    /// changes nothing: a redelivery after a crash cannot be refused once and approved
    /// later, or counted twice.
    ///
    /// # Errors
    ///
    /// The reasons the signal is refused, each with its [`RejectionCode`]. A signal of
    /// another broker is refused with `trading_halted` (this namespace does not trade it).
    pub fn check(
        &mut self,
        signal_id: Uuid,
        signal: &TradingSignal,
        at: DateTime<Utc>,
    ) -> Result<(), Vec<Rejection>> {
        if let Some(verdict) = self.verdicts.get(&signal_id) {
            return verdict.as_result();
        }
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
        let (strategy, token) = (signal.strategy_id.as_str(), signal.token);
        let in_flight = match signal.side {
            Side::Buy => self.in_flight.quantity(strategy, token, Side::Buy),
            Side::Sell => -self.in_flight.quantity(strategy, token, Side::Sell),
        };
        let ctx = Context {
            broker: self.broker,
            state: self.effective_state(),
            hold: self.hold.as_deref(),
            limits: &self.limits,
            position: self.book.get(strategy, token).quantity,
            in_flight,
            trades_today: self.daily_trades(strategy),
            open_orders: self.open_orders(),
            last_price: self.last_prices.get(&token).copied(),
            loss_limit_reached: self.tripped.refuses(strategy),
            day: self.day,
            instrument: self.market.instrument(token),
            fno: self.market.fno(),
            derivative: self.derivative_exposure(signal),
            entries_closed: self.market.entries_closed(signal, at),
            at,
        };
        let reasons = rules::evaluate(&ctx, signal);
        if !reasons.is_empty() {
            self.verdicts
                .insert(signal_id, Verdict::Rejected(reasons.clone()));
            return Err(reasons);
        }
        self.record_validated(
            Some(signal_id),
            client_order_id_of_signal(signal_id),
            signal,
            at,
        );
        Ok(())
    }

    /// The verdict `signal_id` got, if it was evaluated (or read back from the topics).
    pub fn verdict(&self, signal_id: &Uuid) -> Option<&Verdict> {
        self.verdicts.get(signal_id)
    }

    /// An order this broker validated (by [`Self::check`], or read back from the topics,
    /// or one the risk manager sent itself to flatten): in flight as `order_id` and, on
    /// the current day, one more daily trade of its strategy. `signal_id`, the raw
    /// signal's id if there was one, keeps the verdict. A known `signal_id` changes
    /// nothing.
    pub fn record_validated(
        &mut self,
        signal_id: Option<Uuid>,
        order_id: String,
        signal: &TradingSignal,
        at: DateTime<Utc>,
    ) {
        if let Some(id) = signal_id
            && self.verdicts.insert(id, Verdict::Validated).is_some()
        {
            return;
        }
        self.roll_day(at);
        let day = MarketCalendar::ist_date(at);
        if self.day.is_some_and(|today| day < today) {
            return; // A DAY order of an earlier day: neither in flight nor counted today.
        }
        match self.daily_trades.get_mut(&signal.strategy_id) {
            Some(count) => *count = count.saturating_add(1),
            None => {
                self.daily_trades.insert(signal.strategy_id.clone(), 1);
            }
        }
        self.in_flight.add(
            order_id,
            Pending {
                strategy_id: signal.strategy_id.clone(),
                token: signal.token,
                side: signal.side,
                remaining: signal.quantity,
                price: super::prices::order_price(signal),
                day,
            },
        );
    }

    /// A raw signal refused (read back from the topics): its verdict is kept.
    pub fn record_rejected(&mut self, signal_id: Uuid, reasons: Vec<Rejection>) {
        self.verdicts
            .entry(signal_id)
            .or_insert(Verdict::Rejected(reasons));
    }

    /// Applies one execution, once per `fill_id`: the position (average-cost netting, long
    /// and short, flips), what is left of its order in flight, and the day's realized P&L
    /// net of the fill's fees. A fill whose `filled_at` falls on an earlier IST day than
    /// the current one moves the position but not today's P&L.
    ///
    /// Returns the loss limits this fill took to their limit (each once per day).
    #[must_use = "a breach changes the trading state and should be announced"]
    pub fn on_fill(&mut self, fill: &OrderFilled, at: DateTime<Utc>) -> Vec<LossLimitBreach> {
        let order = &fill.order;
        if order.broker != self.broker || !self.applied_fills.insert(fill.fill_id.clone()) {
            return Vec::new();
        }
        self.roll_day(at.max(fill.filled_at));
        let realized = self.book.apply(
            &order.strategy_id,
            order.token,
            order.side,
            fill.quantity,
            fill.price,
        );
        self.symbols
            .entry(order.token)
            .or_insert_with(|| order.symbol.clone());
        self.in_flight.filled(
            &order.client_order_id,
            fill.cumulative_quantity,
            fill.order_quantity,
        );
        if self
            .day
            .is_some_and(|day| MarketCalendar::ist_date(fill.filled_at) < day)
        {
            return Vec::new();
        }
        let today = self
            .realized_today
            .entry(order.strategy_id.clone())
            .or_default();
        *today = today
            .saturating_add(realized)
            .saturating_sub(fill.fees.total);
        self.judge_losses(std::slice::from_ref(&order.strategy_id))
    }

    /// The order ended without (complete) execution: it is no longer in flight. Partial
    /// fills before it stay applied.
    pub fn on_order_failed(&mut self, failed: &OrderFailed) {
        if failed.order.broker == self.broker {
            self.in_flight.ended(&failed.order.client_order_id);
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

    /// Quantity of `strategy`'s orders in flight in `token` on `side`.
    pub fn in_flight(&self, strategy: &str, token: u32, side: Side) -> i64 {
        self.in_flight.quantity(strategy, token, side)
    }

    /// Realized P&L of the current IST day, net of fees, over every strategy.
    pub fn daily_realized_pnl(&self) -> Decimal {
        self.realized_today
            .values()
            .fold(Decimal::ZERO, |sum, v| sum.saturating_add(*v))
    }

    /// Unrealized P&L of `strategy`'s open positions (every strategy's with `None`) at the
    /// last prices; a position with no price counts zero.
    pub fn unrealized_pnl(&self, strategy: Option<&str>) -> Decimal {
        self.book
            .iter()
            .filter(|(s, _, _)| strategy.is_none_or(|want| want == *s))
            .filter_map(|(_, token, net)| net.unrealized(*self.last_prices.get(&token)?))
            .fold(Decimal::ZERO, |sum, v| sum.saturating_add(v))
    }

    /// Validated signals of `strategy` on the current IST day.
    pub fn daily_trades(&self, strategy: &str) -> u32 {
        self.daily_trades.get(strategy).copied().unwrap_or(0)
    }

    /// Validated orders not yet completely filled or ended.
    pub fn open_orders(&self) -> u32 {
        u32::try_from(self.in_flight.len()).unwrap_or(u32::MAX)
    }

    /// The client order ids in flight.
    pub fn open_order_ids(&self) -> Vec<String> {
        self.in_flight.iter().map(|(id, _)| id.to_owned()).collect()
    }

    /// Whether a reached loss limit refuses `strategy`'s new exposure today.
    pub fn loss_limit_reached(&self, strategy: &str) -> bool {
        self.tripped.refuses(strategy)
    }

    /// Moves to the IST day of `at` if it is later than the current one (the actor calls
    /// it with the wall clock before applying the topics' history, so that only today's
    /// events count toward today).
    pub fn roll_to(&mut self, at: DateTime<Utc>) {
        self.roll_day(at);
    }

    /// Market orders that close every open position of `strategy` (every strategy's with
    /// `None`), less what is already in flight toward closing it. Each reduces and
    /// nothing else; they are not yet recorded (see [`Self::record_validated`]).
    pub fn closing_orders(&self, strategy: Option<&str>) -> Vec<TradingSignal> {
        self.book
            .iter()
            .filter(|(s, _, _)| strategy.is_none_or(|want| want == *s))
            .filter_map(|(s, token, net)| self.closing_order(s, token, net))
            .collect()
    }

    fn closing_order(&self, strategy: &str, token: u32, net: Net) -> Option<TradingSignal> {
        let side = if net.quantity > 0 {
            Side::Sell
        } else {
            Side::Buy
        };
        let open = net.quantity.unsigned_abs();
        let closing = self
            .in_flight
            .quantity(strategy, token, side)
            .unsigned_abs();
        let quantity = u32::try_from(open.saturating_sub(closing)).ok()?;
        if quantity == 0 {
            return None;
        }
        let reference_price = self
            .last_prices
            .get(&token)
            .copied()
            .or_else(|| net.cost_basis.checked_div(Decimal::from(open)))?;
        Some(TradingSignal {
            strategy_id: strategy.to_owned(),
            broker: self.broker,
            token,
            symbol: self.symbols.get(&token).cloned().unwrap_or_default(),
            side,
            quantity,
            order_type: OrderType::Market,
            price: None,
            trigger_price: None,
            validity: Validity::Day,
            reference_price,
            reason: format!("risk manager: flatten position {}", net.quantity),
            product: None,
            position: net.quantity,
        })
    }

    /// Judges the broker's loss limit and those of `strategies`; returns the newly
    /// reached ones. The broker's moves an ACTIVE broker to REDUCING.
    fn judge_losses(&mut self, strategies: &[String]) -> Vec<LossLimitBreach> {
        let Some(day) = self.day else {
            return Vec::new();
        };
        let mark = self.limits.loss_limit_basis == LossBasis::MarkToMarket;
        let mut out = Vec::new();
        if let Some(limit) = self.limits.daily_loss_limit
            && !self.tripped.broker
        {
            let realized = self.daily_realized_pnl();
            let unrealized = if mark {
                self.unrealized_pnl(None)
            } else {
                Decimal::ZERO
            };
            if realized.saturating_add(unrealized) <= -limit {
                self.tripped.broker = true;
                let previous_state = self.state;
                if self.state == TradingState::Active {
                    self.state = TradingState::Reducing;
                }
                out.push(LossLimitBreach {
                    broker: self.broker,
                    strategy: None,
                    day,
                    realized_pnl: realized,
                    unrealized_pnl: unrealized,
                    limit,
                    previous_state,
                    state: self.state,
                });
            }
        }
        if let Some(limit) = self.limits.strategy_daily_loss_limit {
            for strategy in strategies {
                if self.tripped.strategies.contains(strategy) {
                    continue;
                }
                let realized = self
                    .realized_today
                    .get(strategy)
                    .copied()
                    .unwrap_or_default();
                let unrealized = if mark {
                    self.unrealized_pnl(Some(strategy))
                } else {
                    Decimal::ZERO
                };
                if realized.saturating_add(unrealized) <= -limit {
                    self.tripped.strategies.insert(strategy.clone());
                    out.push(LossLimitBreach {
                        broker: self.broker,
                        strategy: Some(strategy.clone()),
                        day,
                        realized_pnl: realized,
                        unrealized_pnl: unrealized,
                        limit,
                        previous_state: self.state,
                        state: self.state,
                    });
                }
            }
        }
        out
    }

    /// Whether a reached loss limit should close its scope's positions.
    pub fn flattens_on_loss(&self) -> bool {
        self.limits.on_loss_limit == LossAction::Flatten
    }

    /// Moves to the IST day of `at` if it is later than the current one.
    fn roll_day(&mut self, at: DateTime<Utc>) {
        let today = MarketCalendar::ist_date(at);
        if self.day.is_some_and(|day| day >= today) {
            return;
        }
        self.day = Some(today);
        self.daily_trades.clear();
        self.realized_today.clear();
        self.tripped = Tripped::default();
        self.in_flight.drop_before(today);
    }
}
