//! Simulated strategy accounts: cash and signed positions per instrument.
//!
//! Invariants: a strategy with no executions has `starting_cash` and no positions; every
//! execution moves cash by `−(notional) − fees` (buy) or `+(notional) − fees` (sell) and the
//! position by `±quantity`. Ordered maps only, so nothing depends on hash order.
//!
//! The risk checks live here too: a buy must be covered by cash including its charges,
//! and a sell may not take the position below zero unless shorting is allowed. Nothing is
//! reserved for resting orders; each execution is checked against the account as it is.

use std::collections::BTreeMap;

use rust_decimal::Decimal;

use super::book::{Order, failed};
use super::config::PaperConfig;
use super::venue::VenueEvent;
use crate::messages::{OrderFailureKind, Side};

#[derive(Debug, Clone, PartialEq)]
struct Account {
    cash: Decimal,
    positions: BTreeMap<u32, i64>,
}

/// Every strategy's account, created on its first execution.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Accounts {
    starting_cash: Decimal,
    by_strategy: BTreeMap<String, Account>,
}

impl Accounts {
    pub fn new(starting_cash: Decimal) -> Self {
        Self {
            starting_cash,
            by_strategy: BTreeMap::new(),
        }
    }

    /// The strategy's cash: the starting cash until it first trades.
    pub fn cash(&self, strategy: &str) -> Decimal {
        self.by_strategy
            .get(strategy)
            .map_or(self.starting_cash, |a| a.cash)
    }

    /// The strategy's signed position in `token` (negative when short).
    pub fn position(&self, strategy: &str, token: u32) -> i64 {
        self.by_strategy
            .get(strategy)
            .and_then(|a| a.positions.get(&token).copied())
            .unwrap_or(0)
    }

    /// Every open (non-zero) position as `(strategy, token, signed quantity)`, ordered by
    /// strategy then token.
    pub fn open_positions(&self) -> Vec<(String, u32, i64)> {
        self.by_strategy
            .iter()
            .flat_map(|(strategy, account)| {
                account
                    .positions
                    .iter()
                    .filter(|(_, quantity)| **quantity != 0)
                    .map(move |(token, quantity)| (strategy.clone(), *token, *quantity))
            })
            .collect()
    }

    /// Books one execution of `quantity` costing `notional` (quantity × price) plus
    /// `fees`.
    pub fn book(
        &mut self,
        strategy: &str,
        token: u32,
        side: Side,
        quantity: u32,
        notional: Decimal,
        fees: Decimal,
    ) {
        let starting_cash = self.starting_cash;
        let account = self
            .by_strategy
            .entry(strategy.to_owned())
            .or_insert_with(|| Account {
                cash: starting_cash,
                positions: BTreeMap::new(),
            });
        let position = account.positions.entry(token).or_insert(0);
        match side {
            Side::Buy => {
                account.cash = account.cash.saturating_sub(notional.saturating_add(fees));
                *position = position.saturating_add(i64::from(quantity));
            }
            Side::Sell => {
                account.cash = account.cash.saturating_add(notional).saturating_sub(fees);
                *position = position.saturating_sub(i64::from(quantity));
            }
        }
    }

    /// Why executing `quantity` of `order` at `price` must be refused, if it must:
    /// `ShortingNotAllowed` when a sell would take the position below zero (and `allow_short`
    /// is off), `InsufficientFunds` when a buy's `quantity × price + charges` exceeds the
    /// cash. A buy at an unknown price (`None`) passes; it is checked when it executes.
    pub fn refusal(
        &self,
        config: &PaperConfig,
        order: &Order,
        quantity: u32,
        price: Option<Decimal>,
    ) -> Option<VenueEvent> {
        let o = &order.order;
        let (kind, message) = match o.side {
            Side::Sell => {
                let after = self.position(&o.strategy_id, o.token) - i64::from(quantity);
                if config.allow_short || after >= 0 {
                    return None;
                }
                let message = format!("selling {quantity} would leave position {after}");
                (OrderFailureKind::ShortingNotAllowed, message)
            }
            Side::Buy => {
                let price = price?;
                let fees = config.charges.charges_for_fill(
                    config.product,
                    Side::Buy,
                    quantity,
                    price,
                    order.brokerage_paid,
                );
                let cost = Decimal::from(quantity) * price + fees.total;
                let cash = self.cash(&o.strategy_id);
                if cost <= cash {
                    return None;
                }
                let message = format!("buying {quantity} at {price} needs {cost}, cash is {cash}");
                (OrderFailureKind::InsufficientFunds, message)
            }
        };
        Some(failed(
            o.clone(),
            order.quantity,
            order.filled,
            kind,
            message,
        ))
    }
}
