//! One instrument's position inside a portfolio, netted at average cost.
//!
//! The exact basis of every figure is [`Position::cost_basis`], the entry value of the open
//! quantity (Σ quantity × price of what is still open). The average price is derived from
//! it for display; P&L is never computed from a rounded average.
//!
//! Netting rules (one execution of `q` units at `p`):
//! - flat, or same direction as the position: the entry value grows by `q × p`; nothing is
//!   realized; the average becomes the weighted average;
//! - opposite direction, `q ≤ |quantity|`: the closed units release their share of the
//!   entry value, `cost_basis × q / |quantity|` (rounded to the paisa, banker's rounding;
//!   exact when everything is closed), and realize `q × p − released` for a long,
//!   `released − q × p` for a short: that is `(exit − avg) × q`, resp. `(avg − exit) × q`;
//! - opposite direction, `q > |quantity|` (crossing zero): the whole position closes as
//!   above and the remaining `q − |quantity|` units open the other way at `p`;
//! - flat: quantity, entry value and average are all zero.
//!
//! Invariant, exact in decimal arithmetic whatever the rounding of partial closes:
//! `realized_pnl − signed cost_basis = Σ sell values − Σ buy values` of the position's fills
//! (the entry value is signed like the quantity). Over a round trip back to flat, realized
//! P&L is therefore exactly sells minus buys, to the paisa.

use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Serialize};

/// Decimal places of money amounts released from the entry value on a partial close.
pub const MONEY_DP: u32 = 2;

/// Decimal places of the displayed [`Position::average_price`].
pub const AVERAGE_PRICE_DP: u32 = 4;

/// A netting position in one instrument. Created by the first fill; kept when flat, so the
/// day's realized P&L and charges stay visible.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Position {
    /// Kite `instrument_token`.
    pub token: u32,
    /// Trading symbol, as carried by the first fill.
    pub symbol: String,
    /// Signed: negative is short.
    pub quantity: i64,
    /// `cost_basis / |quantity|`, rounded to [`AVERAGE_PRICE_DP`] places; zero when flat.
    /// For display: P&L is computed from `cost_basis`.
    #[serde(with = "rust_decimal::serde::str")]
    pub average_price: Decimal,
    /// Entry value of the open quantity: paid for a long, received for a short. Never
    /// negative; zero when flat.
    #[serde(with = "rust_decimal::serde::str")]
    pub cost_basis: Decimal,
    /// Last mark (tick) price, if the instrument has been marked.
    #[serde(with = "rust_decimal::serde::str_option")]
    pub last_price: Option<Decimal>,
    /// Realized P&L before charges.
    #[serde(with = "rust_decimal::serde::str")]
    pub realized_pnl: Decimal,
    /// Charges (fees) of every fill in this instrument.
    #[serde(with = "rust_decimal::serde::str")]
    pub charges: Decimal,
}

impl Position {
    /// A flat position with nothing realized, marked at `last_price` if known.
    pub fn flat(token: u32, symbol: &str, last_price: Option<Decimal>) -> Self {
        Self {
            token,
            symbol: symbol.to_owned(),
            quantity: 0,
            average_price: Decimal::ZERO,
            cost_basis: Decimal::ZERO,
            last_price,
            realized_pnl: Decimal::ZERO,
            charges: Decimal::ZERO,
        }
    }

    /// True when nothing is open.
    pub fn is_flat(&self) -> bool {
        self.quantity == 0
    }

    /// The entry value signed like the quantity (negative for a short).
    pub fn signed_cost(&self) -> Decimal {
        if self.quantity < 0 {
            -self.cost_basis
        } else {
            self.cost_basis
        }
    }

    /// Unrealized P&L at the last mark: `(last − avg) × quantity`, computed exactly as
    /// `last × quantity − signed cost`; zero without a mark or when flat. Saturates rather
    /// than overflow.
    pub fn unrealized(&self) -> Decimal {
        match self.last_price {
            Some(last) if !self.is_flat() => last
                .saturating_mul(Decimal::from(self.quantity))
                .saturating_sub(self.signed_cost()),
            _ => Decimal::ZERO,
        }
    }

    /// Signed market value: `last × quantity`, or the signed entry value without a mark
    /// (valued at cost, consistent with zero unrealized P&L). Saturates rather than overflow.
    pub fn market_value(&self) -> Decimal {
        match self.last_price {
            Some(last) => last.saturating_mul(Decimal::from(self.quantity)),
            None => self.signed_cost(),
        }
    }

    /// The position after one execution of `delta` units (positive buys, negative sells) at
    /// `price` with `fees` charged, following the netting rules of the module. `None` if a
    /// figure overflows; `self` is never modified.
    pub(super) fn execute(&self, delta: i64, price: Decimal, fees: Decimal) -> Option<Self> {
        let mut next = self.clone();
        next.charges = self.charges.checked_add(fees)?;
        next.quantity = self.quantity.checked_add(delta)?;
        let held = self.quantity.unsigned_abs();
        let traded = delta.unsigned_abs();
        let same_direction = (self.quantity > 0) == (delta > 0);
        if held == 0 || same_direction {
            next.cost_basis = self.cost_basis.checked_add(value(price, traded)?)?;
        } else {
            let closed = traded.min(held);
            let released = if closed == held {
                self.cost_basis
            } else {
                self.cost_basis
                    .checked_mul(Decimal::from(closed))?
                    .checked_div(Decimal::from(held))?
                    .round_dp_with_strategy(MONEY_DP, RoundingStrategy::MidpointNearestEven)
            };
            let exit = value(price, closed)?;
            let gain = if self.quantity > 0 {
                exit.checked_sub(released)?
            } else {
                released.checked_sub(exit)?
            };
            next.realized_pnl = self.realized_pnl.checked_add(gain)?;
            // When crossing zero `released` is the whole entry value: the rest opens at `price`.
            next.cost_basis = self
                .cost_basis
                .checked_sub(released)?
                .checked_add(value(price, traded - closed)?)?;
        }
        next.average_price = average(next.cost_basis, next.quantity)?;
        Some(next)
    }
}

/// `price × units`, `None` on overflow.
fn value(price: Decimal, units: u64) -> Option<Decimal> {
    price.checked_mul(Decimal::from(units))
}

/// `cost / |quantity|` rounded for display; zero when flat.
fn average(cost: Decimal, quantity: i64) -> Option<Decimal> {
    if quantity == 0 {
        return Some(Decimal::ZERO);
    }
    let average = cost.checked_div(Decimal::from(quantity.unsigned_abs()))?;
    Some(average.round_dp_with_strategy(AVERAGE_PRICE_DP, RoundingStrategy::MidpointNearestEven))
}
