//! Net positions per (strategy, instrument), netted by the one accounting core
//! ([`crate::accounting::Net`]), and the realized P&L each fill produces.
//!
//! Invariants: nothing here panics. An execution whose figures leave decimal range (prices
//! are validated at the door, so only a hostile input could) still moves the quantity;
//! its cost basis saturates and it realizes nothing.

use crate::accounting::Net;
use crate::messages::Side;
use rust_decimal::Decimal;
use std::collections::BTreeMap;

/// One net position (see [`Net`]).
pub(crate) type Position = Net;

/// Applies one execution to `position`; returns the realized P&L, gross of fees.
pub(crate) fn apply(position: &mut Position, side: Side, quantity: u32, price: Decimal) -> Decimal {
    match position.execute(side, quantity, price) {
        Some(executed) => {
            *position = executed.after;
            executed.realized
        }
        None => {
            position.quantity = position.after(side, quantity);
            position.cost_basis = Decimal::MAX;
            Decimal::ZERO
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
        let realized = apply(&mut position, side, quantity, price);
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
