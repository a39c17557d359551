//! Average-cost netting and cash in exact decimals, written for the tests apart from the
//! crate's own (`portfolio::position`, `risk::book`) on purpose: the end-to-end accounting
//! test recomputes the money from the fills with it, so agreement means two independent
//! answers agree, not one answer read twice.
//!
//! One position per (strategy, instrument): a signed quantity (long > 0, short < 0) and
//! the entry value of the open quantity (never negative). A fill in the position's
//! direction, or from flat, adds its value. A fill against it closes `min(fill,
//! |quantity|)` units, which take their share of the entry value with them (all of it when
//! everything closes; otherwise entry value × closed / open, unrounded) and realize
//! `exit value − released` for a long, `released − exit value` for a short. Whatever is
//! left of the fill opens the other way at the fill price. Realized P&L is gross of
//! charges; charges are the sum of the fills' `fees.total`.

use rust_decimal::Decimal;

/// One (strategy, instrument) position and what it realized and paid.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Netted {
    pub quantity: i64,
    /// Entry value of the open quantity; zero when flat.
    pub entry_value: Decimal,
    /// Realized P&L, gross of charges.
    pub realized: Decimal,
    pub charges: Decimal,
    pub fills: usize,
}

impl Netted {
    /// Applies one fill of `signed` units (+ bought, − sold) at `price` costing `fees`;
    /// answers what it realized (gross).
    pub fn apply(&mut self, signed: i64, price: Decimal, fees: Decimal) -> Decimal {
        self.fills += 1;
        self.charges += fees;
        let size = signed.abs();
        if self.quantity == 0 || self.quantity.signum() == signed.signum() {
            self.quantity += signed;
            self.entry_value += price * Decimal::from(size);
            return Decimal::ZERO;
        }
        let open = self.quantity.abs();
        let closed = open.min(size);
        let released = if closed == open {
            self.entry_value
        } else {
            self.entry_value * Decimal::from(closed) / Decimal::from(open)
        };
        let exit = price * Decimal::from(closed);
        let realized = if self.quantity > 0 {
            exit - released
        } else {
            released - exit
        };
        self.realized += realized;
        self.quantity += signed;
        self.entry_value -= released;
        if size > closed {
            self.entry_value = price * Decimal::from(size - closed);
        }
        realized
    }
}

/// Cash after fills: starting cash − Σ bought value + Σ sold value − Σ fees.
pub fn cash_after(
    starting: Decimal,
    fills: impl IntoIterator<Item = (i64, Decimal, Decimal)>,
) -> Decimal {
    fills
        .into_iter()
        .fold(starting, |cash, (signed, price, fees)| {
            cash - Decimal::from(signed) * price - fees
        })
}

/// `amount` to the paisa (half to even), always with two decimals, for comparing money.
pub fn paisa(amount: Decimal) -> Decimal {
    let mut rounded = amount.round_dp(2);
    rounded.rescale(2);
    rounded
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    #[test]
    fn a_round_trip_realizes_sells_minus_buys() {
        let mut p = Netted::default();
        assert_eq!(p.apply(2, d("100"), d("1")), d("0"));
        assert_eq!(p.apply(1, d("103"), d("1")), d("0"));
        // Average 101: one unit out at 104 realizes 3.
        assert_eq!(p.apply(-1, d("104"), d("1")), d("3"));
        assert_eq!(p.apply(-2, d("99"), d("1")), d("-4"));
        assert_eq!(
            (p.quantity, p.entry_value, p.realized),
            (0, d("0"), d("-1"))
        );
        assert_eq!(p.charges, d("4"));
    }

    #[test]
    fn crossing_zero_closes_then_opens_at_the_fill_price() {
        let mut p = Netted::default();
        p.apply(-2, d("50"), d("0"));
        assert_eq!(p.apply(3, d("48"), d("0")), d("4"));
        assert_eq!((p.quantity, p.entry_value), (1, d("48")));
    }
}
