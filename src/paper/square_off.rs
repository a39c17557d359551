//! The broker's own auto square-off of intraday (MIS) positions, as the paper venue models
//! Zerodha's: at `market_hours.broker_square_off_at` (about 15:20 IST) on a trading day,
//! the broker cancels pending MIS orders and closes every MIS position still open with a
//! market order, charging the column's `auto_square_off` (`paper.charges.intraday`,
//! `.futures`, `.options`: ₹50 + GST, see [`ChargeSchedule::auto_square_off_charges`]) per
//! order on top of the normal charges.
//!
//! Rules (the venue applies them on every event it sees inside the window
//! `[broker_square_off_at, 15:30)` IST of a trading day — a tick's time, or the actor's
//! wall-clock sweep in the daemon):
//! - At the first event of a day's window, every resting MIS order is cancelled
//!   (`Failed(Cancelled)`, with what it filled). An order is MIS by its signal's product,
//!   else `paper.product`; CNC and NRML orders and positions are never touched.
//! - Each open MIS position (equity, future or option) is closed by one order per
//!   (strategy, instrument), once per trading day, at the instrument's last quote (a
//!   market order: the touch when the tick has depth and `fill_at_touch`, slippage as
//!   configured). A position whose instrument has no quote yet (restored at start, no tick
//!   since) is closed on that instrument's first tick inside the window; none inside it,
//!   it stays open.
//! - The order's client order id is [`auto_square_off_id`] (`autosq-YYYYMMDD-token-
//!   strategy`, recognisable by [`is_auto_square_off`]) under the position's strategy, so
//!   risk, the portfolios and the strategy's ledger book its fill like any other.
//! - "Once per day" is derived from the fills, not persisted: a square-off fill restored
//!   at start marks its (day, strategy, instrument) as done, so a restart inside the
//!   window never squares off twice.
//!
//! [`ChargeSchedule::auto_square_off_charges`]:
//!     super::charges::ChargeSchedule::auto_square_off_charges

use std::collections::BTreeSet;

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;

use crate::market::{IntradayDay, MarketCalendar};
use crate::messages::{
    Fees, OrderFilled, OrderRef, OrderSubmitted, OrderType, Validity, VenueEvent,
};

/// How every auto square-off client order id starts.
pub use crate::messages::AUTO_SQUARE_OFF_PREFIX;

/// The client order id of the broker's square-off of `strategy`'s position in `token` on
/// the trading `date`: deterministic, so every life of the venue names it alike.
pub fn auto_square_off_id(date: NaiveDate, strategy: &str, token: u32) -> String {
    format!(
        "{AUTO_SQUARE_OFF_PREFIX}{}-{token}-{strategy}",
        date.format("%Y%m%d")
    )
}

/// True for the client order id of a broker's auto square-off ([`auto_square_off_id`]);
/// the engine's own ids are `ap` and hex digits, never this.
pub fn is_auto_square_off(client_order_id: &str) -> bool {
    client_order_id.starts_with(AUTO_SQUARE_OFF_PREFIX)
}

/// What the venue remembers of the square-offs: the intraday day (none: the square-off
/// never happens) and what each trading day has done.
#[derive(Debug, Clone, Default)]
pub(super) struct SquareOffs {
    day: Option<IntradayDay>,
    /// (trading date, strategy, token) closed by a square-off, this life's or restored;
    /// days before the latest are dropped.
    closed: BTreeSet<(NaiveDate, String, u32)>,
    /// The last trading date whose resting orders were cancelled.
    orders_cancelled_on: Option<NaiveDate>,
}

impl SquareOffs {
    pub fn new(day: Option<IntradayDay>) -> Self {
        Self {
            day,
            ..Self::default()
        }
    }

    /// The trading date whose square-off window `at` lies in, if any.
    pub fn due(&self, at: DateTime<Utc>) -> Option<NaiveDate> {
        self.day.as_ref()?.broker_square_off_due(at)
    }

    /// The broker's square-off time of day, for messages.
    pub fn time(&self) -> String {
        self.day.as_ref().map_or_else(String::new, |d| {
            d.broker_square_off_at.format("%H:%M").to_string()
        })
    }

    /// True the first time it is asked for `date`: the resting orders are cancelled then.
    pub fn first_event_of(&mut self, date: NaiveDate) -> bool {
        if self.orders_cancelled_on.is_some_and(|done| done >= date) {
            return false;
        }
        self.orders_cancelled_on = Some(date);
        self.closed.retain(|(day, _, _)| *day >= date);
        true
    }

    /// True if `strategy`'s position in `token` was closed by the square-off of `date`.
    pub fn is_closed(&self, date: NaiveDate, strategy: &str, token: u32) -> bool {
        self.closed.contains(&(date, strategy.to_owned(), token))
    }

    /// Records that the square-off of `date` closed `strategy`'s position in `token`.
    pub fn mark(&mut self, date: NaiveDate, strategy: &str, token: u32) {
        self.closed.insert((date, strategy.to_owned(), token));
    }

    /// Remembers a restored fill if it is a square-off's.
    pub fn remember(&mut self, fill: &OrderFilled) {
        if is_auto_square_off(&fill.order.client_order_id) {
            let date = MarketCalendar::ist_date(fill.filled_at);
            self.mark(date, &fill.order.strategy_id, fill.order.token);
        }
    }
}

/// The square-off order's two events: `Submitted` (a DAY market order, as the broker
/// places it) and its one complete `Filled`.
pub(super) fn square_off_events(
    order: OrderRef,
    quantity: u32,
    price: Decimal,
    fees: Fees,
    at: DateTime<Utc>,
) -> [VenueEvent; 2] {
    let submitted = VenueEvent::Submitted(OrderSubmitted {
        order: order.clone(),
        quantity,
        order_type: OrderType::Market,
        price: None,
        trigger_price: None,
        validity: Validity::Day,
    });
    let filled = VenueEvent::Filled(OrderFilled {
        fill_id: format!("{}-1", order.client_order_id),
        order,
        quantity,
        price,
        fees,
        cumulative_quantity: quantity,
        order_quantity: quantity,
        filled_at: at,
    });
    [submitted, filled]
}
