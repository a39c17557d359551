//! Simulated strategy accounts: cash and signed positions per instrument, each with the
//! product it was opened as.
//!
//! Invariants: a strategy with no executions has `starting_cash` and no positions; every
//! execution moves cash by `−(notional) − fees` (buy) or `+(notional) − fees` (sell) and the
//! position by `±quantity`. Ordered maps only, so nothing depends on hash order.
//!
//! A position's product (what the broker's square-off looks at: MIS positions close at
//! 15:20, NRML and CNC ones stay) is that of the executions that opened or added to it; an
//! execution that only reduces it leaves it, and a flat position has none. Kite keeps an
//! MIS and an NRML position in one instrument apart; the venue nets them into one, whose
//! product is the latest to open or add to it (a known simplification: see
//! `docs/TRADING.md`).
//!
//! The risk checks live here too: a buy must be covered by cash including its charges,
//! and a sell may not take the position below zero unless shorting is allowed. Nothing is
//! reserved for resting orders; each execution is checked against the account as it is.

use std::collections::BTreeMap;

use rust_decimal::Decimal;

use super::book::{Order, failed};
use super::charges::Product;
use super::config::PaperConfig;
use super::venue::VenueEvent;
use crate::messages::{OrderFailureKind, Side};

#[derive(Debug, Clone, PartialEq)]
struct Account {
    cash: Decimal,
    positions: BTreeMap<u32, Holding>,
}

/// One open position: signed quantity and the product it was opened as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Holding {
    quantity: i64,
    product: Product,
}

/// An open position, as [`Accounts::open_positions`] lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct OpenPosition {
    pub strategy: String,
    pub token: u32,
    /// Signed (negative when short), never 0.
    pub quantity: i64,
    pub product: Product,
}

/// One execution to book.
#[derive(Debug, Clone, Copy)]
pub(super) struct Execution<'a> {
    pub strategy: &'a str,
    pub token: u32,
    pub side: Side,
    pub quantity: u32,
    /// `quantity × price`.
    pub notional: Decimal,
    pub fees: Decimal,
    /// The product of the order executed.
    pub product: Product,
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
            .and_then(|a| a.positions.get(&token))
            .map_or(0, |h| h.quantity)
    }

    /// Every open (non-zero) position, ordered by strategy then token.
    pub fn open_positions(&self) -> Vec<OpenPosition> {
        self.by_strategy
            .iter()
            .flat_map(|(strategy, account)| {
                account
                    .positions
                    .iter()
                    .map(move |(token, h)| OpenPosition {
                        strategy: strategy.clone(),
                        token: *token,
                        quantity: h.quantity,
                        product: h.product,
                    })
            })
            .collect()
    }

    /// Every open position in `token`, ordered by strategy.
    pub fn open_positions_in(&self, token: u32) -> Vec<OpenPosition> {
        self.by_strategy
            .iter()
            .filter_map(|(strategy, account)| {
                let h = account.positions.get(&token)?;
                Some(OpenPosition {
                    strategy: strategy.clone(),
                    token,
                    quantity: h.quantity,
                    product: h.product,
                })
            })
            .collect()
    }

    /// Books one execution: cash by its notional and fees, the position by its quantity
    /// (see the module documentation for the product it keeps).
    pub fn book(&mut self, e: &Execution<'_>) {
        let starting_cash = self.starting_cash;
        let account = self
            .by_strategy
            .entry(e.strategy.to_owned())
            .or_insert_with(|| Account {
                cash: starting_cash,
                positions: BTreeMap::new(),
            });
        let before = account.positions.get(&e.token).map_or(0, |h| h.quantity);
        let after = match e.side {
            Side::Buy => {
                account.cash = account
                    .cash
                    .saturating_sub(e.notional.saturating_add(e.fees));
                before.saturating_add(i64::from(e.quantity))
            }
            Side::Sell => {
                account.cash = account
                    .cash
                    .saturating_add(e.notional)
                    .saturating_sub(e.fees);
                before.saturating_sub(i64::from(e.quantity))
            }
        };
        if after == 0 {
            account.positions.remove(&e.token);
            return;
        }
        // Opened, added to or crossed through zero: the executed order's product.
        let grew = before == 0 || (before > 0) != (after > 0) || after.abs() > before.abs();
        let product = match account.positions.get(&e.token) {
            Some(h) if !grew => h.product,
            _ => e.product,
        };
        account.positions.insert(
            e.token,
            Holding {
                quantity: after,
                product,
            },
        );
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
                    order.column,
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
