//! Round trips (the trade list) from one strategy's fills: FIFO per instrument.
//!
//! A fill on the side of the open position (or on a flat one) opens a lot. A fill against it
//! closes the oldest lots first and makes one [`RoundTrip`]: entry = the lots it closed
//! (earliest time, quantity-weighted average price), exit = this fill. So a partial close
//! splits an entry into several round trips; a fill larger than the position closes it
//! (one round trip) and opens the rest on the other side (a flip).
//!
//! Invariants:
//! - gross P&L is FIFO: `Σ (exit − lot price) × quantity` (short: the opposite sign), exact;
//!   it can differ from the portfolio's realized P&L of a partial close (average cost), and
//!   equals it summed over a position that went flat;
//! - charges: each fill's fees are shared among the round trips it takes part in by
//!   quantity, rounded to the paisa, the last share taking what is left, so the charges of
//!   all round trips plus those of the still-open lots equal the fills' fees exactly;
//! - nothing here reads a clock or a hash map's order: instruments are kept in a BTreeMap.

use std::collections::{BTreeMap, VecDeque};

use chrono::{DateTime, TimeDelta, Utc};
use rust_decimal::Decimal;

use crate::messages::{OrderFilled, Side};
use crate::paper::charges::paisa;

/// Decimals of a round trip's average entry price.
const PRICE_DP: u32 = 4;

/// Long (bought first) or short (sold first).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Direction {
    Long,
    Short,
}

impl Direction {
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Long => "long",
            Direction::Short => "short",
        }
    }
}

/// One closed trade: an entry (one or more lots) and the fill that closed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct RoundTrip {
    pub token: u32,
    pub symbol: String,
    pub direction: Direction,
    pub quantity: u64,
    /// The earliest lot closed.
    pub entry_at: DateTime<Utc>,
    /// Quantity-weighted average of the lots closed, rounded to 4 places (display only:
    /// the P&L is computed from each lot's own price).
    pub entry_price: Decimal,
    pub exit_at: DateTime<Utc>,
    pub exit_price: Decimal,
    pub gross_pnl: Decimal,
    /// The round trip's share of its entry and exit fills' fees.
    pub charges: Decimal,
}

impl RoundTrip {
    pub fn net_pnl(&self) -> Decimal {
        self.gross_pnl.saturating_sub(self.charges)
    }

    pub fn duration(&self) -> TimeDelta {
        self.exit_at - self.entry_at
    }
}

/// An open part of a position: what is left of one opening fill.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Lot {
    at: DateTime<Utc>,
    quantity: u32,
    price: Decimal,
    /// The opening fill's fees not yet given to a round trip.
    fees_left: Decimal,
}

/// The open lots of one instrument, all on one side.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Open {
    side: Side,
    lots: VecDeque<Lot>,
}

/// Matches one strategy's fills into round trips, one fill at a time.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RoundTrips {
    open: BTreeMap<u32, Open>,
    closed: Vec<RoundTrip>,
}

impl RoundTrips {
    /// Applies `fill`: opens a lot, or closes lots into a round trip (and maybe opens the
    /// rest on the other side).
    pub fn push(&mut self, fill: &OrderFilled) {
        if fill.quantity == 0 {
            return;
        }
        let token = fill.order.token;
        let side = fill.order.side;
        let against = self
            .open
            .get(&token)
            .is_some_and(|o| o.side != side && !o.lots.is_empty());
        if !against {
            let open = self.open.entry(token).or_insert_with(|| Open {
                side,
                lots: VecDeque::new(),
            });
            open.side = side;
            open.lots.push_back(Lot {
                at: fill.filled_at,
                quantity: fill.quantity,
                price: fill.price,
                fees_left: fill.fees.total,
            });
            return;
        }
        let Some(open) = self.open.get_mut(&token) else {
            return;
        };
        let direction = match open.side {
            Side::Buy => Direction::Long,
            Side::Sell => Direction::Short,
        };
        let mut remaining = fill.quantity;
        let mut exit_fees_left = fill.fees.total;
        let mut closed: u32 = 0;
        let mut entry_cost = Decimal::ZERO;
        let mut gross = Decimal::ZERO;
        let mut charges = Decimal::ZERO;
        let mut entry_at = fill.filled_at;
        while remaining > 0 {
            let Some(lot) = open.lots.front_mut() else {
                break;
            };
            let take = remaining.min(lot.quantity);
            charges = charges.saturating_add(share(&mut lot.fees_left, take, lot.quantity));
            entry_at = entry_at.min(lot.at);
            let quantity = Decimal::from(take);
            entry_cost = entry_cost.saturating_add(lot.price.saturating_mul(quantity));
            let per_unit = match direction {
                Direction::Long => fill.price.saturating_sub(lot.price),
                Direction::Short => lot.price.saturating_sub(fill.price),
            };
            gross = gross.saturating_add(per_unit.saturating_mul(quantity));
            lot.quantity -= take;
            remaining -= take;
            closed += take;
            if lot.quantity == 0 {
                open.lots.pop_front();
            }
        }
        charges = charges.saturating_add(share(&mut exit_fees_left, closed, fill.quantity));
        let entry_price = entry_cost
            .checked_div(Decimal::from(closed))
            .unwrap_or(Decimal::ZERO)
            .round_dp(PRICE_DP)
            .normalize();
        self.closed.push(RoundTrip {
            token,
            symbol: fill.order.symbol.clone(),
            direction,
            quantity: u64::from(closed),
            entry_at,
            entry_price,
            exit_at: fill.filled_at,
            exit_price: fill.price,
            gross_pnl: gross,
            charges,
        });
        if remaining > 0 {
            // A flip: the rest opens a position on the fill's side, with the rest of its fees.
            open.side = side;
            open.lots.push_back(Lot {
                at: fill.filled_at,
                quantity: remaining,
                price: fill.price,
                fees_left: exit_fees_left,
            });
        }
    }

    /// The round trips closed so far, in the order they closed.
    pub fn closed(&self) -> &[RoundTrip] {
        &self.closed
    }

    /// `Σ |quantity| × entry price` of the open lots: the cost basis of what is held.
    pub fn open_cost(&self) -> Decimal {
        self.open
            .values()
            .flat_map(|o| o.lots.iter())
            .fold(Decimal::ZERO, |sum, lot| {
                sum.saturating_add(lot.price.saturating_mul(Decimal::from(lot.quantity)))
            })
    }

    /// Open lots' fees not yet given to a round trip.
    #[cfg(test)]
    pub fn open_fees(&self) -> Decimal {
        self.open
            .values()
            .flat_map(|o| o.lots.iter())
            .fold(Decimal::ZERO, |sum, lot| sum.saturating_add(lot.fees_left))
    }
}

/// The share of `fees_left` (belonging to `quantity_left` units) that `take` units carry,
/// rounded to the paisa; all of it when they are all the units left. Taken from
/// `fees_left`.
fn share(fees_left: &mut Decimal, take: u32, quantity_left: u32) -> Decimal {
    let part = if take >= quantity_left {
        *fees_left
    } else {
        fees_left
            .saturating_mul(Decimal::from(take))
            .checked_div(Decimal::from(quantity_left))
            .map_or(Decimal::ZERO, paisa)
    };
    *fees_left = fees_left.saturating_sub(part);
    part
}

#[cfg(test)]
#[path = "tests_trades.rs"]
mod tests;
