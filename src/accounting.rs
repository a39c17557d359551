//! The one accounting core: netting a position at average cost and the realized P&L of
//! each execution. The risk engine, the portfolio and the backtest's report all net
//! through [`Net::execute`], so they cannot disagree about a position or a rupee.
//!
//! A [`Net`] is a signed quantity (long > 0, short < 0) and the cost basis of its open
//! quantity: Σ quantity × price of what is still open, kept as a sum so no rounded average
//! is ever stored.
//!
//! Netting rules (one execution of `q` units at `p`, the same long and short):
//! - flat, or in the position's direction: the cost basis grows by `q × p`; nothing is
//!   realized;
//! - against it, `q ≤ |quantity|`: the closed units release their share of the cost
//!   basis, `cost_basis × q / |quantity|`, computed at full decimal precision (28
//!   significant digits; the whole cost basis, exactly, when everything closes), and
//!   realize `q × p − released` for a long, `released − q × p` for a short;
//! - against it, `q > |quantity|` (crossing zero): the whole position closes as above and
//!   the remaining `q − |quantity|` open the other way at `p`.
//!
//! Nothing is rounded here: rounding to the paisa is for display only, so an independent
//! recomputation at full precision agrees to the paisa. Invariant: `realized − signed cost
//! basis = Σ sell values − Σ buy values`, exact up to decimal's 28 significant digits (a
//! third of a rupee added to lakhs keeps 20-odd decimals, not infinitely many).
//!
//! Arithmetic is checked: an execution whose figures leave decimal range is `None` and
//! changes nothing; nothing here panics.

use crate::messages::Side;
use rust_decimal::Decimal;

/// A net position: signed quantity and the cost basis of its open quantity (≥ 0).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Net {
    pub quantity: i64,
    pub cost_basis: Decimal,
}

/// What one execution did: the position after it and the P&L it realized (gross of fees).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Executed {
    pub after: Net,
    pub realized: Decimal,
}

impl Net {
    /// True when nothing is open.
    pub fn is_flat(&self) -> bool {
        self.quantity == 0
    }

    /// The cost basis signed like the quantity (negative for a short).
    pub fn signed_cost(&self) -> Decimal {
        if self.quantity < 0 {
            -self.cost_basis
        } else {
            self.cost_basis
        }
    }

    /// Unrealized P&L at `last`: `last × quantity − signed cost basis`; zero when flat.
    /// `None` outside decimal range.
    pub fn unrealized(&self, last: Decimal) -> Option<Decimal> {
        if self.is_flat() {
            return Some(Decimal::ZERO);
        }
        last.checked_mul(Decimal::from(self.quantity))?
            .checked_sub(self.signed_cost())
    }

    /// The position after `quantity` units on `side` at `price`, by the rules above.
    /// `None` (nothing changes) if a figure leaves decimal range.
    pub fn execute(&self, side: Side, quantity: u32, price: Decimal) -> Option<Executed> {
        let size = i64::from(quantity);
        let delta = signed(side, quantity);
        let value = |units: i64| price.checked_mul(Decimal::from(units));
        let held = self.quantity.checked_abs()?;
        if held == 0 || self.quantity.signum() == delta.signum() {
            return Some(Executed {
                after: Net {
                    quantity: self.quantity.checked_add(delta)?,
                    cost_basis: self.cost_basis.checked_add(value(size)?)?,
                },
                realized: Decimal::ZERO,
            });
        }
        let closed = held.min(size);
        let released = if closed == held {
            self.cost_basis
        } else {
            self.cost_basis
                .checked_mul(Decimal::from(closed))?
                .checked_div(Decimal::from(held))?
        };
        let exit = value(closed)?;
        let realized = if self.quantity > 0 {
            exit.checked_sub(released)?
        } else {
            released.checked_sub(exit)?
        };
        let cost_basis = self
            .cost_basis
            .checked_sub(released)?
            .checked_add(value(size - closed)?)?;
        Some(Executed {
            after: Net {
                quantity: self.quantity.checked_add(delta)?,
                cost_basis,
            },
            realized,
        })
    }

    /// True if an order of `quantity` on `side` moves the position toward zero without
    /// crossing it (landing exactly on zero counts as reducing).
    pub fn is_reduced_by(&self, side: Side, quantity: u32) -> bool {
        let size = i64::from(quantity);
        match side {
            Side::Buy => self.quantity < 0 && size <= self.quantity.saturating_abs(),
            Side::Sell => self.quantity > 0 && size <= self.quantity,
        }
    }

    /// The signed quantity after an order of `quantity` on `side` fills completely.
    pub fn after(&self, side: Side, quantity: u32) -> i64 {
        self.quantity.saturating_add(signed(side, quantity))
    }
}

/// `quantity` signed by `side`: positive for a buy, negative for a sell.
pub fn signed(side: Side, quantity: u32) -> i64 {
    match side {
        Side::Buy => i64::from(quantity),
        Side::Sell => -i64::from(quantity),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    fn d(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }

    fn run(fills: &[(Side, u32, &str)]) -> (Net, Decimal) {
        let mut net = Net::default();
        let mut realized = Decimal::ZERO;
        for (side, q, p) in fills {
            let e = net.execute(*side, *q, d(p)).unwrap();
            net = e.after;
            realized += e.realized;
        }
        (net, realized)
    }

    #[test]
    fn a_partial_close_releases_its_exact_share_so_thirds_do_not_drift() {
        // Bought 3 for 100.00 in all (avg 33.333…); sold one at a time at 40.
        let (net, realized) = run(&[
            (Side::Buy, 1, "33.33"),
            (Side::Buy, 2, "33.335"),
            (Side::Sell, 1, "40"),
        ]);
        // Released 100 / 3 at full precision, not rounded to 33.33.
        assert_eq!(net.cost_basis, d("100") - d("100") / d("3"));
        assert_eq!(realized, d("40") - d("100") / d("3"));
        assert_eq!(realized.round_dp(2), d("6.67"));
        // Closing the rest releases the remaining basis exactly: sells − buys.
        let (flat, total) = run(&[
            (Side::Buy, 1, "33.33"),
            (Side::Buy, 2, "33.335"),
            (Side::Sell, 1, "40"),
            (Side::Sell, 2, "41"),
        ]);
        assert_eq!(flat, Net::default());
        assert_eq!(total, d("122") - d("100"));
    }

    #[test]
    fn crossing_zero_closes_then_opens_the_rest_at_the_fill_price() {
        let (net, realized) = run(&[(Side::Sell, 10, "200"), (Side::Buy, 15, "190")]);
        assert_eq!(realized, d("100"));
        assert_eq!(
            net,
            Net {
                quantity: 5,
                cost_basis: d("950")
            }
        );
    }

    #[test]
    fn out_of_range_changes_nothing_and_does_not_panic() {
        let net = Net {
            quantity: 1,
            cost_basis: Decimal::MAX,
        };
        assert_eq!(net.execute(Side::Buy, u32::MAX, Decimal::MAX), None);
        assert_eq!(net.unrealized(Decimal::MAX), Some(Decimal::ZERO));
        assert!(
            Net {
                quantity: -2,
                cost_basis: Decimal::MAX
            }
            .unrealized(Decimal::MAX)
            .is_none()
        );
    }

    #[test]
    fn reducing_never_crosses_zero() {
        let long = Net {
            quantity: 5,
            cost_basis: d("500"),
        };
        assert!(long.is_reduced_by(Side::Sell, 5));
        assert!(!long.is_reduced_by(Side::Sell, 6));
        assert!(!long.is_reduced_by(Side::Buy, 1));
        assert_eq!(long.after(Side::Sell, 7), -2);
    }
}
