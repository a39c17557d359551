//! Every portfolio of a process, keyed by (broker, strategy), and the last price of every
//! instrument marked so far.
//!
//! Invariants:
//! - a portfolio exists once its first fill has been applied (never empty ones);
//! - a position opened after its instrument was marked starts at that mark, so the book's
//!   state depends only on the fills (in order) and the last mark of each instrument, not on
//!   how fills and marks interleave. [`recompute`] relies on this.

use std::collections::BTreeMap;
use std::collections::btree_map::Entry;

use rust_decimal::Decimal;

use super::{Portfolio, PortfolioError};
use crate::messages::{Broker, OrderFilled};

/// All portfolios of a process, keyed by (broker, strategy); iterates in that order.
#[derive(Debug, Clone, PartialEq)]
pub struct Book {
    starting_cash: Decimal,
    portfolios: BTreeMap<(Broker, String), Portfolio>,
    last_prices: BTreeMap<u32, Decimal>,
}

impl Book {
    /// An empty book; each portfolio starts with `starting_cash` on its first fill.
    pub fn new(starting_cash: Decimal) -> Self {
        Self {
            starting_cash,
            portfolios: BTreeMap::new(),
            last_prices: BTreeMap::new(),
        }
    }

    /// Applies a fill to the portfolio of its (broker, strategy), creating it on the first
    /// fill. Returns the changed portfolio, `None` if the fill was a duplicate.
    ///
    /// # Errors
    /// [`PortfolioError::Overflow`] if a figure exceeds decimal range; nothing changes (no
    /// portfolio is created).
    pub fn apply_fill(&mut self, fill: &OrderFilled) -> Result<Option<&Portfolio>, PortfolioError> {
        let order = &fill.order;
        let last_price = self.last_prices.get(&order.token).copied();
        match self
            .portfolios
            .entry((order.broker, order.strategy_id.clone()))
        {
            Entry::Occupied(entry) => {
                let portfolio = entry.into_mut();
                let applied = portfolio.apply_fill_marked(fill, last_price)?;
                Ok(applied.then_some(&*portfolio))
            }
            Entry::Vacant(entry) => {
                let mut portfolio =
                    Portfolio::new(order.broker, &order.strategy_id, self.starting_cash);
                portfolio.apply_fill_marked(fill, last_price)?;
                Ok(Some(&*entry.insert(portfolio)))
            }
        }
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

    /// Adds (or replaces) a portfolio, e.g. one restored from the read model, and returns
    /// the one it replaces. Its positions are marked at the book's last prices.
    pub fn insert(&mut self, mut portfolio: Portfolio) -> Option<Portfolio> {
        for (token, price) in &self.last_prices {
            portfolio.mark(*token, *price);
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
