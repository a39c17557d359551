//! A portfolio's trading day (an IST date): what that day's fills did — realized P&L,
//! charges, turnover — and the positions carried into it, beside the portfolio's figures
//! since its first fill.
//!
//! The day moves only forward, by event time: a fill's `filled_at` (its IST date,
//! [`MarketCalendar::ist_date`]), or an instant given to [`Book::advance_to`](super::Book)
//! (a tick's time). Never by the wall clock: a backtest's day is its ticks'; the daemon's is
//! the market's.
//!
//! Each position keeps a [`Ledger`] of the latest day it traded: its state at that day's
//! start (carried in) and what that day's fills did. A portfolio's figures for its day sum
//! the ledgers of that day; a position whose ledger is older did not trade that day and is
//! carried in whole. So the figures depend on each position's fills in order, never on how
//! the fills of different positions interleave (a rebuild reads partition by partition,
//! and a position's fills share one partition).
//!
//! A fill dated before its position's ledger (possible only if a venue's clock ran
//! backwards: a key's fills keep their order on its partition) belongs to that earlier day:
//! it changes what was carried in and none of the day's figures.
//!
//! Invariants, for the day `D` of a portfolio whose fills are `F`:
//! - `realized_pnl = realized(F) − realized(fills of F dated before D)`;
//! - `charges` and `turnover` sum the fees and `quantity × price` of the fills dated `D`;
//! - `carried` are the open positions of the fills dated before `D`.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::position::Position;
use crate::market::MarketCalendar;
use crate::messages::{OrderFilled, Side};

/// One position's record of the latest day it traded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ledger {
    pub date: NaiveDate,
    /// The signed quantity at the start of `date` (carried in).
    pub opening_quantity: i64,
    /// The entry value of `opening_quantity`.
    #[serde(with = "rust_decimal::serde::str")]
    pub opening_cost_basis: Decimal,
    /// The average price of `opening_quantity`, as the position showed it.
    #[serde(with = "rust_decimal::serde::str")]
    pub opening_average_price: Decimal,
    /// Realized by the fills of `date`, before charges.
    #[serde(with = "rust_decimal::serde::str")]
    pub realized_pnl: Decimal,
    /// Fees of the fills of `date`.
    #[serde(with = "rust_decimal::serde::str")]
    pub charges: Decimal,
    /// `Σ quantity × price` of the fills of `date`, buys and sells.
    #[serde(with = "rust_decimal::serde::str")]
    pub turnover: Decimal,
    pub fill_count: usize,
}

impl Ledger {
    /// A day starting from `position` (its state before the day's first fill).
    fn opening(date: NaiveDate, position: &Position) -> Self {
        Self {
            date,
            opening_quantity: position.quantity,
            opening_cost_basis: position.cost_basis,
            opening_average_price: position.average_price,
            realized_pnl: Decimal::ZERO,
            charges: Decimal::ZERO,
            turnover: Decimal::ZERO,
            fill_count: 0,
        }
    }

    /// With one more fill of the day; `None` on overflow.
    fn with_fill(mut self, realized: Decimal, fill: &OrderFilled) -> Option<Self> {
        self.realized_pnl = self.realized_pnl.checked_add(realized)?;
        self.charges = self.charges.checked_add(fill.fees.total)?;
        self.turnover = self.turnover.checked_add(traded_value(fill)?)?;
        self.fill_count += 1;
        Some(self)
    }

    /// With a fill of an earlier day netted into what was carried in (through the
    /// position's own netting); `None` on overflow.
    fn with_late_fill(mut self, token: u32, fill: &OrderFilled) -> Option<Self> {
        let mut opening = Position::flat(token, &fill.order.symbol, None);
        opening.quantity = self.opening_quantity;
        opening.cost_basis = self.opening_cost_basis;
        let quantity = i64::from(fill.quantity);
        let delta = match fill.order.side {
            Side::Buy => quantity,
            Side::Sell => -quantity,
        };
        let next = opening.execute(delta, fill.price, fill.fees.total)?;
        self.opening_quantity = next.quantity;
        self.opening_cost_basis = next.cost_basis;
        self.opening_average_price = next.average_price;
        Some(self)
    }
}

fn traded_value(fill: &OrderFilled) -> Option<Decimal> {
    fill.price.checked_mul(Decimal::from(fill.quantity))
}

/// The trading day of one portfolio and its positions' ledgers.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TradingDay {
    /// The latest IST date of the portfolio's events; `None` before any.
    date: Option<NaiveDate>,
    /// By instrument token.
    ledgers: BTreeMap<u32, Ledger>,
}

impl TradingDay {
    pub fn date(&self) -> Option<NaiveDate> {
        self.date
    }

    /// Moves the day to `date` if that is later; returns whether it moved.
    pub fn roll_to(&mut self, date: NaiveDate) -> bool {
        if self.date.is_some_and(|d| d >= date) {
            return false;
        }
        self.date = Some(date);
        true
    }

    /// The ledger of `token` after `fill` took its position from `before` to `after`.
    /// `None` on overflow; nothing changes until [`Self::record`].
    pub(super) fn ledger_after(
        &self,
        token: u32,
        fill: &OrderFilled,
        before: &Position,
        after: &Position,
    ) -> Option<Ledger> {
        let date = MarketCalendar::ist_date(fill.filled_at);
        let realized = after.realized_pnl.checked_sub(before.realized_pnl)?;
        match self.ledgers.get(&token) {
            Some(ledger) if ledger.date == date => ledger.clone().with_fill(realized, fill),
            Some(ledger) if ledger.date > date => ledger.clone().with_late_fill(token, fill),
            // The position's first fill of this day (or ever).
            _ => Ledger::opening(date, before).with_fill(realized, fill),
        }
    }

    /// Keeps `ledger` for `token` and rolls the day to its date if later.
    pub(super) fn record(&mut self, token: u32, ledger: Ledger) {
        self.roll_to(ledger.date);
        self.ledgers.insert(token, ledger);
    }

    /// The figures of the day, given the portfolio's `positions` and its current
    /// `unrealized_pnl`; `None` before any event.
    pub(super) fn figures(
        &self,
        positions: &BTreeMap<u32, Position>,
        unrealized_pnl: Decimal,
    ) -> Option<DayFigures> {
        let date = self.date?;
        let mut figures = DayFigures {
            date,
            realized_pnl: Decimal::ZERO,
            unrealized_pnl,
            charges: Decimal::ZERO,
            turnover: Decimal::ZERO,
            fill_count: 0,
            carried: Vec::new(),
        };
        for position in positions.values() {
            let ledger = self.ledgers.get(&position.token);
            let (quantity, average_price) = match ledger {
                Some(l) if l.date == date => {
                    figures.realized_pnl = figures.realized_pnl.saturating_add(l.realized_pnl);
                    figures.charges = figures.charges.saturating_add(l.charges);
                    figures.turnover = figures.turnover.saturating_add(l.turnover);
                    figures.fill_count += l.fill_count;
                    (l.opening_quantity, l.opening_average_price)
                }
                // Not traded on the day: held since before it, as it is now.
                _ => (position.quantity, position.average_price),
            };
            if quantity != 0 {
                figures.carried.push(CarriedPosition {
                    token: position.token,
                    symbol: position.symbol.clone(),
                    quantity,
                    average_price,
                });
            }
        }
        Some(figures)
    }
}

/// A portfolio's figures for its trading day: part of the read model (`day`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DayFigures {
    /// The IST date.
    pub date: NaiveDate,
    /// Realized by the day's fills (closing carried or same-day positions), before charges.
    #[serde(with = "rust_decimal::serde::str")]
    pub realized_pnl: Decimal,
    /// Of the open positions now, at their last marks, carried ones included: the
    /// portfolio's unrealized P&L (a point in time, not a sum over days).
    #[serde(with = "rust_decimal::serde::str")]
    pub unrealized_pnl: Decimal,
    /// Fees of the day's fills.
    #[serde(with = "rust_decimal::serde::str")]
    pub charges: Decimal,
    /// `Σ quantity × price` of the day's fills, buys and sells.
    #[serde(with = "rust_decimal::serde::str")]
    pub turnover: Decimal,
    /// How many fills the day had.
    pub fill_count: usize,
    /// Positions open at the start of the day, as they were then, in token order.
    pub carried: Vec<CarriedPosition>,
}

/// A position held into the day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CarriedPosition {
    pub token: u32,
    pub symbol: String,
    /// Signed: negative is short.
    pub quantity: i64,
    #[serde(with = "rust_decimal::serde::str")]
    pub average_price: Decimal,
}
