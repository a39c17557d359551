//! Every portfolio of a process, keyed by (broker, strategy), and the last price of every
//! instrument marked so far.
//!
//! Invariants:
//! - a portfolio exists once its first fill has been applied (never empty ones);
//! - a position opened after its instrument was marked starts at that mark, so the book's
//!   state depends only on the fills (in order) and the last mark of each instrument, not on
//!   how fills and marks interleave. [`recompute`] relies on this;
//! - every portfolio's trading day is the book's ([`Book::today`]): the latest IST date of
//!   any fill applied or instant given to [`Book::advance_to`], event time only.

use std::collections::BTreeMap;
use std::collections::btree_map::Entry;

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;

use super::{Portfolio, PortfolioError};
use crate::market::MarketCalendar;
use crate::messages::{Broker, OrderFilled};

/// All portfolios of a process, keyed by (broker, strategy); iterates in that order.
#[derive(Debug, Clone, PartialEq)]
pub struct Book {
    starting_cash: Decimal,
    portfolios: BTreeMap<(Broker, String), Portfolio>,
    last_prices: BTreeMap<u32, Decimal>,
    /// The trading day (IST) of every portfolio; `None` before any event.
    today: Option<NaiveDate>,
}

impl Book {
    /// An empty book; each portfolio starts with `starting_cash` on its first fill.
    pub fn new(starting_cash: Decimal) -> Self {
        Self {
            starting_cash,
            portfolios: BTreeMap::new(),
            last_prices: BTreeMap::new(),
            today: None,
        }
    }

    /// Applies a fill to the portfolio of its (broker, strategy), creating it on the first
    /// fill, and moves every portfolio's trading day forward to the fill's IST date. Returns
    /// the changed portfolio, `None` if the fill was a duplicate (the day stays).
    ///
    /// # Errors
    /// [`PortfolioError::Overflow`] if a figure exceeds decimal range; nothing changes (no
    /// portfolio is created, the day stays).
    pub fn apply_fill(&mut self, fill: &OrderFilled) -> Result<Option<&Portfolio>, PortfolioError> {
        let order = &fill.order;
        let key = (order.broker, order.strategy_id.clone());
        let last_price = self.last_prices.get(&order.token).copied();
        let applied = match self.portfolios.entry(key.clone()) {
            Entry::Occupied(entry) => entry.into_mut().apply_fill_marked(fill, last_price)?,
            Entry::Vacant(entry) => {
                let mut portfolio =
                    Portfolio::new(order.broker, &order.strategy_id, self.starting_cash);
                if let Some(today) = self.today {
                    portfolio.roll_to(today);
                }
                portfolio.apply_fill_marked(fill, last_price)?;
                entry.insert(portfolio);
                true
            }
        };
        if !applied {
            return Ok(None);
        }
        self.advance_to(fill.filled_at);
        Ok(self.portfolios.get(&key))
    }

    /// Moves the trading day of every portfolio forward to the IST date of `at`, an event's
    /// time (a tick's); returns whether the day moved. A day never moves back.
    pub fn advance_to(&mut self, at: DateTime<Utc>) -> bool {
        self.roll_to(MarketCalendar::ist_date(at))
    }

    /// Moves every portfolio's day forward to `date`, if later.
    fn roll_to(&mut self, date: NaiveDate) -> bool {
        if self.today.is_some_and(|today| today >= date) {
            return false;
        }
        self.today = Some(date);
        for portfolio in self.portfolios.values_mut() {
            portfolio.roll_to(date);
        }
        true
    }

    /// The trading day (IST) of every portfolio, `None` before any fill or
    /// [`Self::advance_to`].
    pub fn today(&self) -> Option<NaiveDate> {
        self.today
    }

    /// Marks an instrument in every portfolio and remembers the price for positions opened
    /// later. Returns the portfolios that changed, in (broker, strategy) order. A price that
    /// is not positive is ignored (see [`Portfolio::mark`]).
    pub fn mark(&mut self, token: u32, price: Decimal) -> Vec<(Broker, String)> {
        if price <= Decimal::ZERO {
            return Vec::new();
        }
        self.last_prices.insert(token, price);
        let mut changed = Vec::new();
        for (key, portfolio) in &mut self.portfolios {
            if portfolio.mark(token, price) {
                changed.push(key.clone());
            }
        }
        changed
    }

    /// Adds (or replaces) a portfolio, e.g. one restored from its JSON form, and returns
    /// the one it replaces. Its positions are marked at the book's last prices, and its day
    /// and the book's move forward to the later of the two.
    pub fn insert(&mut self, mut portfolio: Portfolio) -> Option<Portfolio> {
        for (token, price) in &self.last_prices {
            portfolio.mark(*token, *price);
        }
        if let Some(today) = self.today {
            portfolio.roll_to(today);
        }
        if let Some(date) = portfolio.trading_date() {
            self.roll_to(date);
        }
        let key = (portfolio.broker(), portfolio.strategy_id().to_owned());
        self.portfolios.insert(key, portfolio)
    }

    pub fn get(&self, broker: Broker, strategy: &str) -> Option<&Portfolio> {
        self.portfolios.get(&(broker, strategy.to_owned()))
    }

    /// Every portfolio, in (broker, strategy) order.
    pub fn iter(&self) -> impl Iterator<Item = &Portfolio> {
        self.portfolios.values()
    }

    /// The last positive mark of `token`, if any.
    pub fn last_price(&self, token: u32) -> Option<Decimal> {
        self.last_prices.get(&token).copied()
    }

    pub fn starting_cash(&self) -> Decimal {
        self.starting_cash
    }

    pub fn len(&self) -> usize {
        self.portfolios.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The P&L of a fills sequence recomputed from scratch — used by tests and the end-to-end
/// checks to compare against the live portfolio: a fresh [`Book`] applies `fills` in order,
/// then `marks` in order. Equals a live book fed the same fills in the same order with the
/// same marks interleaved anyhow (see the module invariants). Duplicate fills are ignored
/// and fills the live book refuses ([`PortfolioError::Overflow`]) are skipped, as live.
pub fn recompute(fills: &[OrderFilled], marks: &[(u32, Decimal)], starting_cash: Decimal) -> Book {
    let mut book = Book::new(starting_cash);
    for fill in fills {
        // A refused fill changes nothing, here as in the live book.
        let _ = book.apply_fill(fill);
    }
    for &(token, price) in marks {
        book.mark(token, price);
    }
    book
}
