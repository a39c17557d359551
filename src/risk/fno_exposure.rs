//! The F&O exposure of one broker — what `max_lots_per_underlying`, `max_premium_at_risk`
//! and `max_notional` measure — before and after one derivative order.
//!
//! Derived, not counted: nothing here is stored. Each figure is recomputed, for each
//! futures or options order, from the positions (fills) and the orders in flight
//! (validated, not yet completely filled or ended) the broker's risk state already
//! derives from events, so a rebuild from the topics gives the same figures.
//!
//! Decisions:
//! - Scope: the whole broker (every strategy), as a trader's account limits are; the
//!   per-(strategy, instrument) limits are `max_position` and `max_position_value`.
//! - A *leg* is one (strategy, contract). Its worst case is its position from fills plus
//!   the orders in flight on the side that grows it: the larger of |position + buys in
//!   flight| and |position − sells in flight| (whichever of them fill, the position lies
//!   between the two).
//! - Lots: a leg counts ⌈worst units / lot size⌉; an underlying's lots are the sum over its
//!   legs — gross: calls, puts and futures, long and short, each counted, none netted (a
//!   spread of one lot bought and one sold is two lots). Netting by delta would need a
//!   pricing model and would hide the size a fast market moves against.
//! - Premium at risk: what a leg's long worst case (position + buys in flight, when
//!   positive) costs — a filled long's cost basis plus its buys in flight at their order
//!   price; when buys first cover a short, the long they leave is valued at their average
//!   price. Only options count. Sold options count nothing here: their loss has no bound,
//!   so no premium figure describes it; `max_notional` and `max_lots_per_underlying` bound
//!   them (and the broker's margin, which is out of scope).
//! - Notional: a leg's worst units × its price: a future at its last price (else its
//!   underlying's, else its average fill price, else its dearest order in flight); an
//!   option at its underlying's last price (else its strike) — the size of the
//!   underlying it controls.
//! - Only instruments the registry knows as futures or options count; an unknown token
//!   (or no registry) has no F&O exposure.
//!
//! A limit refuses an order only when the order grows its figure past the limit: an order
//! that leaves a figure as it was (an option sell for the premium, another underlying's
//! contract for the lots) or lowers it is never refused by that limit, so a limit lowered
//! under today's exposure does not trap anything. Arithmetic saturates; nothing panics.

use super::engine::BrokerRisk;
use super::limits::RiskLimits;
use super::prices::{order_price, to_paisa};
use crate::accounting::Net;
use crate::market::{Instrument, InstrumentKind};
use crate::messages::{RejectionCode, Side, TradingSignal};
use rust_decimal::Decimal;
use std::collections::BTreeMap;

/// A figure before and after the order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Change<T> {
    pub(crate) now: T,
    pub(crate) after: T,
}

impl<T: PartialOrd + Copy> Change<T> {
    /// True when the order grows the figure past `max`.
    fn breaks(&self, max: T) -> bool {
        self.after > max && self.after > self.now
    }
}

/// The broker's F&O exposure before and after one derivative order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct DerivativeExposure<'a> {
    /// The order's underlying (Kite's `name` of the contract: `NIFTY`).
    pub(crate) underlying: &'a str,
    /// Gross lots of `underlying`.
    pub(crate) lots: Change<u64>,
    /// Premium of bought options at risk, whole broker.
    pub(crate) premium: Change<Decimal>,
    /// Gross notional of derivatives, whole broker.
    pub(crate) notional: Change<Decimal>,
}

impl DerivativeExposure<'_> {
    /// Every F&O limit of `limits` the order breaks, in [`RiskLimits`] field order.
    pub(crate) fn breaches(&self, limits: &RiskLimits) -> Vec<(RejectionCode, String)> {
        let mut out = Vec::new();
        let u = self.underlying;
        if let Some(max) = limits.max_lots_per_underlying
            && self.lots.breaks(u64::from(max))
        {
            out.push((
                RejectionCode::MaxLotsPerUnderlying,
                format!(
                    "{u} lots after the order {} exceed {max} (now {}): every {u} future and \
                     option, each contract's lots, filled plus in flight",
                    self.lots.after, self.lots.now
                ),
            ));
        }
        if let Some(max) = limits.max_premium_at_risk
            && self.premium.breaks(max)
        {
            out.push((
                RejectionCode::MaxPremiumAtRisk,
                format!(
                    "option premium at risk after the order {} exceeds {max} (now {}): \
                     bought options' cost plus option buys in flight",
                    to_paisa(self.premium.after),
                    to_paisa(self.premium.now)
                ),
            ));
        }
        if let Some(max) = limits.max_notional
            && self.notional.breaks(max)
        {
            out.push((
                RejectionCode::MaxNotional,
                format!(
                    "derivative notional after the order {} exceeds {max} (now {}): futures \
                     at their price, options at their underlying's, filled plus in flight",
                    to_paisa(self.notional.after),
                    to_paisa(self.notional.now)
                ),
            ));
        }
        out
    }
}

/// One (strategy, contract): its position from fills and its orders in flight.
#[derive(Debug, Clone, Copy, Default)]
struct Leg {
    position: Net,
    /// Units of its buys in flight.
    buys: u64,
    /// Σ remaining × price of its buys in flight.
    buy_cost: Decimal,
    /// Units of its sells in flight.
    sells: u64,
    /// The highest price of its orders in flight.
    dearest: Decimal,
}

impl Leg {
    fn add_order(&mut self, side: Side, quantity: u32, price: Decimal) {
        let units = u64::from(quantity);
        match side {
            Side::Buy => {
                self.buys = self.buys.saturating_add(units);
                let cost = price.saturating_mul(Decimal::from(units));
                self.buy_cost = self.buy_cost.saturating_add(cost);
            }
            Side::Sell => self.sells = self.sells.saturating_add(units),
        }
        self.dearest = self.dearest.max(price);
    }

    /// The position if every buy in flight fills.
    fn longest(&self) -> i64 {
        let buys = i64::try_from(self.buys).unwrap_or(i64::MAX);
        self.position.quantity.saturating_add(buys)
    }

    /// The largest size the leg may reach (see the module docs).
    fn worst_units(&self) -> u64 {
        let sells = i64::try_from(self.sells).unwrap_or(i64::MAX);
        let shortest = self.position.quantity.saturating_sub(sells);
        self.longest().unsigned_abs().max(shortest.unsigned_abs())
    }

    fn lots(&self, lot_size: u32) -> u64 {
        self.worst_units().div_ceil(u64::from(lot_size.max(1)))
    }

    /// What the long worst case costs (zero unless the leg may end long).
    fn premium(&self) -> Decimal {
        let long = self.longest();
        if long <= 0 {
            return Decimal::ZERO;
        }
        if self.position.quantity > 0 {
            return self.position.cost_basis.saturating_add(self.buy_cost);
        }
        // The buys first cover the short; the long they leave at their average price
        // (`buys` > 0 here: the position is not long, the worst case is).
        self.buy_cost
            .saturating_mul(Decimal::from(long))
            .checked_div(Decimal::from(self.buys))
            .unwrap_or(Decimal::MAX)
    }

    /// The average price of the filled position, if there is one.
    fn average_cost(&self) -> Option<Decimal> {
        let units = Decimal::from(self.position.quantity.unsigned_abs());
        self.position.cost_basis.checked_div(units)
    }
}

/// Legs by (strategy, token), each with its contract.
type Legs<'a> = BTreeMap<(&'a str, u32), (&'a Instrument, Leg)>;

impl BrokerRisk {
    /// The exposure before and after `signal`, when `signal` is a future or an option
    /// the registry knows and at least one F&O limit is on.
    pub(super) fn derivative_exposure(
        &self,
        signal: &TradingSignal,
    ) -> Option<DerivativeExposure<'_>> {
        let limits = &self.limits;
        if limits.max_lots_per_underlying.is_none()
            && limits.max_premium_at_risk.is_none()
            && limits.max_notional.is_none()
        {
            return None;
        }
        let instrument = self.derivative(signal.token)?;
        let mut legs = self.legs();
        let now = self.totals(&legs, &instrument.name);
        legs.entry((signal.strategy_id.as_str(), signal.token))
            .or_insert((instrument, Leg::default()))
            .1
            .add_order(signal.side, signal.quantity, order_price(signal));
        let after = self.totals(&legs, &instrument.name);
        Some(DerivativeExposure {
            underlying: &instrument.name,
            lots: Change {
                now: now.0,
                after: after.0,
            },
            premium: Change {
                now: now.1,
                after: after.1,
            },
            notional: Change {
                now: now.2,
                after: after.2,
            },
        })
    }

    /// The future or option of `token`, if the registry knows it as one.
    fn derivative(&self, token: u32) -> Option<&Instrument> {
        self.market
            .instrument(token)
            .filter(|i| i.kind.is_derivative())
    }

    /// Every derivative leg of the broker: positions from fills, orders in flight.
    fn legs(&self) -> Legs<'_> {
        let mut legs = Legs::new();
        for (strategy, token, position) in self.book.iter() {
            if let Some(instrument) = self.derivative(token) {
                let entry = legs
                    .entry((strategy, token))
                    .or_insert((instrument, Leg::default()));
                entry.1.position = position;
            }
        }
        for (_, order) in self.in_flight.iter() {
            if let Some(instrument) = self.derivative(order.token) {
                legs.entry((order.strategy_id.as_str(), order.token))
                    .or_insert((instrument, Leg::default()))
                    .1
                    .add_order(order.side, order.remaining, order.price);
            }
        }
        legs
    }

    /// (lots of `underlying`, premium at risk, notional) over `legs`.
    fn totals(&self, legs: &Legs<'_>, underlying: &str) -> (u64, Decimal, Decimal) {
        let mut totals = (0_u64, Decimal::ZERO, Decimal::ZERO);
        for (instrument, leg) in legs.values() {
            if instrument.name == underlying {
                totals.0 = totals.0.saturating_add(leg.lots(instrument.lot_size));
            }
            if instrument.kind.is_option() {
                totals.1 = totals.1.saturating_add(leg.premium());
            }
            let notional = self
                .notional_price(instrument, leg)
                .saturating_mul(Decimal::from(leg.worst_units()));
            totals.2 = totals.2.saturating_add(notional);
        }
        totals
    }

    /// The price a leg's units are worth in notional terms (see the module docs).
    fn notional_price(&self, instrument: &Instrument, leg: &Leg) -> Decimal {
        let underlying = self
            .market
            .fno()
            .underlying_token(&instrument.name)
            .and_then(|token| self.last_prices.get(&token).copied());
        match instrument.kind {
            InstrumentKind::Future => self
                .last_prices
                .get(&instrument.token)
                .copied()
                .or(underlying)
                .or_else(|| leg.average_cost())
                .unwrap_or(leg.dearest),
            _ => underlying.unwrap_or(instrument.strike),
        }
    }
}
