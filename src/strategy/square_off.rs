//! The intraday (MIS) square-off as one strategy slot decides it: the order that flattens
//! an open position, whether a decision of the strategy would open or grow one, and when a
//! closing order that failed may go out again. Pure: the caller says what time it is and
//! whether the window is open ([`crate::market::IntradayDay`]).
//!
//! Invariants:
//! - A closing order is for the *uncovered* part of the position: `|position|` minus the
//!   unfilled quantity of the orders in flight towards zero. So nothing is sent while the
//!   closing orders in flight cover the position, and after a partial fill or an end
//!   exactly the rest is sent; an order in flight away from zero is not counted (the
//!   position it adds is closed once it fills).
//! - A closing order is a DAY market order with the product MIS and
//!   [`SQUARE_OFF_REASON`], so risk, the venue and a reader of the topics can tell it
//!   from a strategy's own decision.
//! - After a closing order of an instrument ends without a full fill (refused by risk,
//!   failed at the venue, unanswered), the next one waits for the [`Retry`] back-off: 1 s
//!   of the caller's time, doubling on each further failure up to 60 s, reset by a fill of
//!   a closing order.
//! - A decision reduces a position only if it is on the side towards zero and no larger
//!   than the uncovered position; anything else opens or grows one (a flip included).

use super::{Ledger, OrderIntent, Retry};
use crate::messages::{Product, Side};
use chrono::{DateTime, Utc};
use std::collections::HashSet;

/// The reason every closing order carries.
pub const SQUARE_OFF_REASON: &str =
    "intraday square-off: MIS position closed before the broker's own square-off";

/// The part of the position in `token` that no order in flight is already closing,
/// signed like the position (0 when flat or fully covered).
pub fn uncovered(ledger: &Ledger, token: u32) -> i64 {
    let position = ledger.position(token);
    let towards_zero = if position > 0 { Side::Sell } else { Side::Buy };
    let closing: u64 = ledger
        .pending(token)
        .iter()
        .filter(|o| o.side == towards_zero)
        .map(|o| u64::from(o.quantity.saturating_sub(o.filled)))
        .sum();
    let left = position.unsigned_abs().saturating_sub(closing);
    position.signum() * i64::try_from(left).unwrap_or(i64::MAX)
}

/// Whether an order of `side` and `quantity` in `token` would open or grow a position,
/// rather than reduce the uncovered part of it.
pub fn opens_or_grows(ledger: &Ledger, token: u32, side: Side, quantity: u32) -> bool {
    let open = uncovered(ledger, token);
    let towards_zero = match side {
        Side::Buy => open < 0,
        Side::Sell => open > 0,
    };
    !(towards_zero && u64::from(quantity) <= open.unsigned_abs())
}

/// The market order that closes the uncovered part of the position in `token`, as an MIS
/// order saying it is the square-off; `None` when nothing is uncovered.
pub fn closing_intent(ledger: &Ledger, token: u32) -> Option<OrderIntent> {
    let mut intent = OrderIntent::towards(uncovered(ledger, token), 0, SQUARE_OFF_REASON)?;
    intent.product = Some(Product::Mis);
    Some(intent)
}

/// One slot's square-off: its closing orders in flight and the back-off after failed
/// ones. The positions and orders themselves are the slot's [`Ledger`].
#[derive(Debug, Clone, Default)]
pub struct SquareOff {
    retry: Retry,
    /// Client order ids of the closing orders that have not ended.
    orders: HashSet<String>,
}

impl SquareOff {
    /// The closing order to send for `token` at `now`, if any: none while the orders in
    /// flight cover the position, nor while the back-off after a failed closing order of
    /// `token` holds.
    pub fn closing(&self, ledger: &Ledger, token: u32, now: DateTime<Utc>) -> Option<OrderIntent> {
        if !self.retry.ready(token, now) {
            return None;
        }
        closing_intent(ledger, token)
    }

    /// A closing order went out under `client_order_id`.
    pub fn sent(&mut self, client_order_id: String) {
        self.orders.insert(client_order_id);
    }

    /// Whether `client_order_id` is a closing order still in flight.
    pub fn is_closing(&self, client_order_id: &str) -> bool {
        self.orders.contains(client_order_id)
    }

    /// A fill of the order `client_order_id` of `token`: a fill of a closing order ends
    /// the back-off of `token`.
    pub fn filled(&mut self, client_order_id: &str, token: u32, completed: bool) {
        if !self.orders.contains(client_order_id) {
            return;
        }
        self.retry.filled(token);
        if completed {
            self.orders.remove(client_order_id);
        }
    }

    /// The order `client_order_id` of `token` ended without a full fill at `at`: a
    /// closing one starts (or doubles) the back-off of `token`.
    pub fn ended(&mut self, client_order_id: &str, token: u32, at: DateTime<Utc>) {
        if self.orders.remove(client_order_id) {
            self.retry.refused(token, at);
        }
    }
}
