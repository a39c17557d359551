//! One (broker, strategy) portfolio: positions by instrument, cash, and the ids of the
//! fills already applied.
//!
//! Invariants (exact in decimal arithmetic, see [`super::position`]):
//! - `cash = starting_cash − Σ buy values + Σ sell values − Σ fees` of the applied fills;
//! - `charges()` is the sum of the positions' charges, i.e. Σ fees;
//! - `equity() = starting_cash + net_pnl()`, where `net_pnl = realized + unrealized −
//!   charges` and an unmarked position is valued at cost;
//! - a fill is applied at most once (by `fill_id`), and either entirely or not at all;
//! - its trading day ([`super::day`]) is at least the IST date of every applied fill.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::PortfolioError;
use super::day::{DayFigures, TradingDay};
use super::position::Position;
use crate::messages::{Broker, OrderFilled, PnlSnapshot, PositionSnapshot, Side};

/// One (broker, strategy) portfolio: netting positions per instrument, cash, charges,
/// realized and unrealized P&L. Exact decimals.
///
/// The JSON form is the read model: money as decimal strings, positions as a list in token
/// order, applied fill ids as a sorted list.
///
/// Fill ids are kept for the portfolio's whole life, not a window: a strategy fills
/// thousands of times a day, not millions, and Kafka may redeliver a fill hours later (replay
/// from the last committed offset after a crash), which a bounded window would apply twice.
/// The figures since the first fill sit beside those of the trading day ([`Self::day`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Portfolio {
    broker: Broker,
    strategy_id: String,
    #[serde(with = "rust_decimal::serde::str")]
    starting_cash: Decimal,
    #[serde(with = "rust_decimal::serde::str")]
    cash: Decimal,
    #[serde(with = "positions_as_list")]
    positions: BTreeMap<u32, Position>,
    /// Absent from the read model ([`Portfolio::read_model`]).
    #[serde(default)]
    applied_fill_ids: BTreeSet<String>,
    /// The day and its ledgers; the read model shows the day's figures instead.
    #[serde(default)]
    trading_day: TradingDay,
}

impl Portfolio {
    /// An empty portfolio holding `starting_cash`.
    pub fn new(broker: Broker, strategy_id: &str, starting_cash: Decimal) -> Self {
        Self {
            broker,
            strategy_id: strategy_id.to_owned(),
            starting_cash,
            cash: starting_cash,
            positions: BTreeMap::new(),
            applied_fill_ids: BTreeSet::new(),
            trading_day: TradingDay::default(),
        }
    }

    /// Applies a fill once: returns `Ok(true)` if applied, `Ok(false)` if a fill with the
    /// same `fill_id` was applied before (it is ignored). Buys move cash by `−qty × price −
    /// fees`, sells by `+qty × price − fees`; the position nets at average cost. A position
    /// opened by this fill starts unmarked ([`Book`](super::Book) seeds it with the last
    /// known price instead). The fill counts in the figures of its IST date's trading day,
    /// and rolls the portfolio's day forward to that date.
    ///
    /// # Errors
    /// [`PortfolioError::WrongPortfolio`] if the fill's broker or strategy is not this
    /// portfolio's; [`PortfolioError::Overflow`] if a figure exceeds decimal range. Either
    /// way nothing changes and the fill id is not recorded.
    pub fn apply_fill(&mut self, fill: &OrderFilled) -> Result<bool, PortfolioError> {
        self.apply_fill_marked(fill, None)
    }

    /// [`Self::apply_fill`], marking a newly opened position at `last_price`.
    pub(super) fn apply_fill_marked(
        &mut self,
        fill: &OrderFilled,
        last_price: Option<Decimal>,
    ) -> Result<bool, PortfolioError> {
        let order = &fill.order;
        if order.broker != self.broker || order.strategy_id != self.strategy_id {
            return Err(PortfolioError::WrongPortfolio {
                fill_id: fill.fill_id.clone(),
                broker: order.broker,
                strategy_id: order.strategy_id.clone(),
                portfolio_broker: self.broker,
                portfolio_strategy_id: self.strategy_id.clone(),
            });
        }
        if self.applied_fill_ids.contains(&fill.fill_id) {
            return Ok(false);
        }
        let overflow = || PortfolioError::Overflow {
            fill_id: fill.fill_id.clone(),
        };
        let quantity = i64::from(fill.quantity);
        let fees = fill.fees.total;
        let traded = fill
            .price
            .checked_mul(Decimal::from(quantity))
            .ok_or_else(overflow)?;
        let (delta, cash) = match order.side {
            Side::Buy => (quantity, self.cash.checked_sub(traded)),
            Side::Sell => (-quantity, self.cash.checked_add(traded)),
        };
        let cash = cash
            .and_then(|c| c.checked_sub(fees))
            .ok_or_else(overflow)?;
        let opened;
        let current = match self.positions.get(&order.token) {
            Some(position) => position,
            None => {
                opened = Position::flat(order.token, &order.symbol, last_price);
                &opened
            }
        };
        let next = current
            .execute(delta, fill.price, fees)
            .ok_or_else(overflow)?;
        let ledger = self
            .trading_day
            .ledger_after(order.token, fill, current, &next)
            .ok_or_else(overflow)?;
        self.cash = cash;
        self.positions.insert(order.token, next);
        self.trading_day.record(order.token, ledger);
        self.applied_fill_ids.insert(fill.fill_id.clone());
        Ok(true)
    }

    /// Marks an instrument to a price (the last tick). Returns whether anything changed:
    /// false if this portfolio never traded `token`, if the position already had this
    /// price, or if `price` is not positive (Kite sends 0 for an instrument without trades;
    /// it is not a price).
    pub fn mark(&mut self, token: u32, price: Decimal) -> bool {
        if price <= Decimal::ZERO {
            return false;
        }
        match self.positions.get_mut(&token) {
            Some(position) if position.last_price != Some(price) => {
                position.last_price = Some(price);
                true
            }
            _ => false,
        }
    }

    /// Moves the trading day forward to `date` (an IST date) if that is later, e.g. on the
    /// first tick of a new day; returns whether it moved. The day never moves back.
    pub fn roll_to(&mut self, date: NaiveDate) -> bool {
        self.trading_day.roll_to(date)
    }

    /// The IST date of the trading day, `None` before any fill or roll.
    pub fn trading_date(&self) -> Option<NaiveDate> {
        self.trading_day.date()
    }

    /// The trading day's figures: today's realized P&L, charges and turnover, the
    /// unrealized P&L now, and the positions carried in ([`super::day`]). `None` for a
    /// portfolio restored from a form without its day.
    pub fn day(&self) -> Option<DayFigures> {
        self.trading_day
            .figures(&self.positions, self.unrealized_pnl())
    }

    pub fn broker(&self) -> Broker {
        self.broker
    }

    pub fn strategy_id(&self) -> &str {
        &self.strategy_id
    }

    /// The position in `token`, open or flat, if this portfolio ever traded it.
    pub fn position(&self, token: u32) -> Option<&Position> {
        self.positions.get(&token)
    }

    /// Every position ever opened, open or flat, in token order.
    pub fn positions(&self) -> impl Iterator<Item = &Position> {
        self.positions.values()
    }

    /// Whether a fill with this id has been applied.
    pub fn has_applied(&self, fill_id: &str) -> bool {
        self.applied_fill_ids.contains(fill_id)
    }

    /// How many distinct fills have been applied.
    pub fn fill_count(&self) -> usize {
        self.applied_fill_ids.len()
    }

    pub fn starting_cash(&self) -> Decimal {
        self.starting_cash
    }

    /// Cash after every applied fill's value and fees.
    pub fn cash(&self) -> Decimal {
        self.cash
    }

    /// Realized P&L summed over positions, BEFORE charges (see [`Self::net_pnl`]).
    pub fn realized_pnl(&self) -> Decimal {
        self.sum(|p| p.realized_pnl)
    }

    /// Unrealized P&L at the last marks, summed over positions (unmarked ones count 0).
    pub fn unrealized_pnl(&self) -> Decimal {
        self.sum(Position::unrealized)
    }

    /// Every fee paid, summed over positions.
    pub fn charges(&self) -> Decimal {
        self.sum(|p| p.charges)
    }

    /// `realized + unrealized − charges`: what the portfolio has made, after costs.
    pub fn net_pnl(&self) -> Decimal {
        self.realized_pnl()
            .saturating_add(self.unrealized_pnl())
            .saturating_sub(self.charges())
    }

    /// Cash plus the signed market value of the positions (unmarked ones at cost); equals
    /// `starting_cash + net_pnl()`.
    pub fn equity(&self) -> Decimal {
        self.cash.saturating_add(self.sum(Position::market_value))
    }

    /// The read-side snapshot. Positions in token order, flat ones included; an unmarked
    /// position reports its average price as `last_price` (so `unrealized_pnl` is 0 and
    /// `last_price × quantity` is the value [`Self::equity`] uses). `fees` is
    /// [`Self::charges`].
    pub fn snapshot(&self, as_of: DateTime<Utc>) -> PnlSnapshot {
        let positions = self
            .positions
            .values()
            .map(|p| PositionSnapshot {
                token: p.token,
                symbol: p.symbol.clone(),
                quantity: p.quantity,
                average_price: p.average_price,
                last_price: p.last_price.unwrap_or(p.average_price),
                realized_pnl: p.realized_pnl,
                unrealized_pnl: p.unrealized(),
            })
            .collect();
        PnlSnapshot {
            broker: self.broker,
            strategy_id: self.strategy_id.clone(),
            positions,
            cash: self.cash,
            realized_pnl: self.realized_pnl(),
            unrealized_pnl: self.unrealized_pnl(),
            fees: self.charges(),
            as_of,
        }
    }

    /// The read model written to the store: this portfolio's JSON form with the number of
    /// applied fills (`fill_count`) in place of their ids, and the trading day's figures
    /// (`day`, [`Self::day`]) in place of its ledgers. The ids grow with every fill of
    /// the day, and writing them all on every fill would cost O(fills) per write; the
    /// portfolio manager keeps them in memory and rebuilds them from the fills topic.
    /// Deserialized as a [`Portfolio`], a read model has no applied fill ids.
    pub fn read_model(&self) -> ReadModel<'_> {
        ReadModel {
            broker: self.broker,
            strategy_id: &self.strategy_id,
            starting_cash: self.starting_cash,
            cash: self.cash,
            realized_pnl: self.realized_pnl(),
            unrealized_pnl: self.unrealized_pnl(),
            charges: self.charges(),
            net_pnl: self.net_pnl(),
            equity: self.equity(),
            positions: &self.positions,
            fill_count: self.applied_fill_ids.len(),
            day: self.day(),
        }
    }

    /// Σ `figure` over positions, saturating rather than overflow.
    fn sum(&self, figure: impl Fn(&Position) -> Decimal) -> Decimal {
        self.positions
            .values()
            .fold(Decimal::ZERO, |total, p| total.saturating_add(figure(p)))
    }
}

/// See [`Portfolio::read_model`].
#[derive(Debug, Serialize)]
pub struct ReadModel<'a> {
    broker: Broker,
    strategy_id: &'a str,
    #[serde(with = "rust_decimal::serde::str")]
    starting_cash: Decimal,
    #[serde(with = "rust_decimal::serde::str")]
    cash: Decimal,
    /// Since the start, over every position: the figures of [`Portfolio::realized_pnl`],
    /// [`Portfolio::unrealized_pnl`], [`Portfolio::charges`], [`Portfolio::net_pnl`] and
    /// [`Portfolio::equity`], so a reader never recomputes money.
    #[serde(with = "rust_decimal::serde::str")]
    realized_pnl: Decimal,
    #[serde(with = "rust_decimal::serde::str")]
    unrealized_pnl: Decimal,
    #[serde(with = "rust_decimal::serde::str")]
    charges: Decimal,
    #[serde(with = "rust_decimal::serde::str")]
    net_pnl: Decimal,
    #[serde(with = "rust_decimal::serde::str")]
    equity: Decimal,
    /// Each position with its `unrealized_pnl` at its last mark.
    #[serde(serialize_with = "positions_ref")]
    positions: &'a BTreeMap<u32, Position>,
    fill_count: usize,
    day: Option<DayFigures>,
}

fn positions_ref<S: serde::Serializer>(
    positions: &&BTreeMap<u32, Position>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    serializer.collect_seq(positions.values().map(|position| PositionView {
        position,
        unrealized_pnl: position.unrealized(),
    }))
}

/// A position in the read model: its stored fields plus its unrealized P&L.
#[derive(Serialize)]
struct PositionView<'a> {
    #[serde(flatten)]
    position: &'a Position,
    #[serde(with = "rust_decimal::serde::str")]
    unrealized_pnl: Decimal,
}

/// Positions as a JSON list in token order (the token is inside each position); a token
/// listed twice is refused.
mod positions_as_list {
    use std::collections::BTreeMap;

    use serde::de::Error as _;
    use serde::{Deserialize, Deserializer, Serializer};

    use super::Position;

    pub fn serialize<S: Serializer>(
        positions: &BTreeMap<u32, Position>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(positions.values())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<BTreeMap<u32, Position>, D::Error> {
        let mut positions = BTreeMap::new();
        for position in Vec::<Position>::deserialize(deserializer)? {
            let token = position.token;
            if positions.insert(token, position).is_some() {
                return Err(D::Error::custom(format!(
                    "positions: token {token} is listed twice"
                )));
            }
        }
        Ok(positions)
    }
}
