//! One instrument's position inside a portfolio: the accounting core's net position
//! ([`crate::accounting::Net`], which holds the netting rules) with what the portfolio
//! shows beside it — symbol, last mark, realized P&L and charges.
//!
//! The exact basis of every figure is [`Position::cost_basis`], the entry value of the open
//! quantity. The average price is derived from it for display; P&L is never computed from
//! a rounded average, and nothing is rounded until it is shown.
//!
//! Invariant (to decimal's 28 significant digits, so to the paisa): `realized_pnl − signed
//! cost_basis = Σ sell values − Σ buy values` of the position's fills. Over a round trip
//! back to flat, realized P&L is therefore sells minus buys.

use crate::accounting::Net;
use crate::messages::Side;
use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Serialize};

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

    /// The accounting core's view of this position: quantity and cost basis.
    fn net(&self) -> Net {
        Net {
            quantity: self.quantity,
            cost_basis: self.cost_basis,
        }
    }

    /// True when nothing is open.
    pub fn is_flat(&self) -> bool {
        self.net().is_flat()
    }

    /// The entry value signed like the quantity (negative for a short).
    pub fn signed_cost(&self) -> Decimal {
        self.net().signed_cost()
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
    /// `price` with `fees` charged, netted by the accounting core
    /// ([`crate::accounting::Net::execute`]). `None` if a figure overflows; `self` is never
    /// modified.
    pub(super) fn execute(&self, delta: i64, price: Decimal, fees: Decimal) -> Option<Self> {
        let side = if delta >= 0 { Side::Buy } else { Side::Sell };
        let quantity = u32::try_from(delta.unsigned_abs()).ok()?;
        let executed = self.net().execute(side, quantity, price)?;
        let mut next = self.clone();
        next.charges = self.charges.checked_add(fees)?;
        next.realized_pnl = self.realized_pnl.checked_add(executed.realized)?;
        next.quantity = executed.after.quantity;
        next.cost_basis = executed.after.cost_basis;
        next.average_price = average(next.cost_basis, next.quantity)?;
        Some(next)
    }
}

/// `cost / |quantity|` rounded for display; zero when flat.
fn average(cost: Decimal, quantity: i64) -> Option<Decimal> {
    if quantity == 0 {
        return Some(Decimal::ZERO);
    }
    let average = cost.checked_div(Decimal::from(quantity.unsigned_abs()))?;
    Some(average.round_dp_with_strategy(AVERAGE_PRICE_DP, RoundingStrategy::MidpointNearestEven))
}
