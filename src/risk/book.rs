//! Net positions per (strategy, instrument) with average-cost netting, and the realized
//! P&L each fill produces.
//!
//! A position is a signed quantity (long > 0, short < 0) and its cost basis: the absolute
//! quantity times the average entry price, kept as a sum rather than an average so that no
//! division is ever stored and a snapshot restores exactly.
//!
//! Netting rules (the same long and short):
//! - A fill in the position's direction (or on a flat position) adds to the quantity and
//!   its `quantity × price` to the cost basis; nothing is realized.
//! - A fill against it closes `min(fill, |position|)` at the average cost: realized is
//!   `closed × (price − average)` for a long, `closed × (average − price)` for a short.
//!   The closed share of the cost basis leaves the position, so closing everything leaves
//!   exactly zero.
//! - Any remainder (the fill crossed zero) opens a new position the other way at the
//!   fill price.
//!
//! Invariants: arithmetic saturates rather than overflowing, and nothing here panics.

use crate::messages::Side;
use rust_decimal::Decimal;
use std::collections::BTreeMap;

/// One net position: signed quantity and the cost basis of its open quantity (≥ 0).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Position {
    pub(crate) quantity: i64,
    pub(crate) cost_basis: Decimal,
}

impl Position {
    /// Applies one execution; returns the realized P&L, gross of fees.
    pub(crate) fn apply(&mut self, side: Side, quantity: u32, price: Decimal) -> Decimal {
        let size = i64::from(quantity);
        let signed = match side {
            Side::Buy => size,
            Side::Sell => -size,
        };
        let value = |q: i64| price.saturating_mul(Decimal::from(q));
        if self.quantity == 0 || self.quantity.signum() == signed.signum() {
            self.quantity = self.quantity.saturating_add(signed);
            self.cost_basis = self.cost_basis.saturating_add(value(size));
            return Decimal::ZERO;
        }
        let open = self.quantity.saturating_abs();
        let closed = open.min(size);
        let closed_cost = if closed == open {
            self.cost_basis
        } else {
            self.cost_basis
                .saturating_mul(Decimal::from(closed))
                .checked_div(Decimal::from(open))
                .unwrap_or(self.cost_basis)
        };
        let exit_value = value(closed);
        let realized = if self.quantity > 0 {
            exit_value.saturating_sub(closed_cost)
        } else {
            closed_cost.saturating_sub(exit_value)
        };
        self.quantity = self.quantity.saturating_add(signed);
        self.cost_basis = self.cost_basis.saturating_sub(closed_cost);
        let remainder = size - closed;
        if remainder > 0 {
            self.cost_basis = value(remainder);
        }
        realized
    }

    /// True if an order of `quantity` on `side` moves the position toward zero without
    /// crossing it (landing exactly on zero counts as reducing).
    pub(crate) fn is_reduced_by(&self, side: Side, quantity: u32) -> bool {
        let size = i64::from(quantity);
        match side {
            Side::Buy => self.quantity < 0 && size <= self.quantity.saturating_abs(),
            Side::Sell => self.quantity > 0 && size <= self.quantity,
        }
    }

    /// The signed quantity after an order of `quantity` on `side` fills completely.
    pub(crate) fn after(&self, side: Side, quantity: u32) -> i64 {
        let size = i64::from(quantity);
        match side {
            Side::Buy => self.quantity.saturating_add(size),
            Side::Sell => self.quantity.saturating_sub(size),
        }
    }
}

/// Positions of every strategy and instrument of one broker. Flat positions are dropped.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Book {
    by_strategy: BTreeMap<String, BTreeMap<u32, Position>>,
}

impl Book {
    /// The position (flat if none), looked up without allocating.
    pub(crate) fn get(&self, strategy: &str, token: u32) -> Position {
        self.by_strategy
            .get(strategy)
            .and_then(|tokens| tokens.get(&token))
            .copied()
            .unwrap_or_default()
    }

    /// Applies one execution; returns the realized P&L, gross of fees.
    pub(crate) fn apply(
        &mut self,
        strategy: &str,
        token: u32,
        side: Side,
        quantity: u32,
        price: Decimal,
    ) -> Decimal {
        let mut position = self.get(strategy, token);
        let realized = position.apply(side, quantity, price);
        self.set(strategy, token, position);
        realized
    }

    /// Stores a position, dropping it (and an emptied strategy) when flat.
    pub(crate) fn set(&mut self, strategy: &str, token: u32, position: Position) {
        if position.quantity == 0 {
            if let Some(tokens) = self.by_strategy.get_mut(strategy) {
                tokens.remove(&token);
                if tokens.is_empty() {
                    self.by_strategy.remove(strategy);
                }
            }
            return;
        }
        match self.by_strategy.get_mut(strategy) {
            Some(tokens) => {
                tokens.insert(token, position);
            }
            None => {
                self.by_strategy
                    .insert(strategy.to_owned(), BTreeMap::from([(token, position)]));
            }
        }
    }

    /// Every open position, ordered by strategy then token.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (&str, u32, Position)> + '_ {
        self.by_strategy.iter().flat_map(|(strategy, tokens)| {
            tokens
                .iter()
                .map(move |(token, position)| (strategy.as_str(), *token, *position))
        })
    }
}
