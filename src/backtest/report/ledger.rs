//! What a trader reads off one strategy's fills, added up one fill at a time (so the
//! streamed path keeps no fill): the round trips, the charges by component, the per-day
//! figures and the steps of the gross exposure.
//!
//! Invariants:
//! - `charges.total` is `Σ fees.total`, each component the sum of that component;
//! - a day is the IST date of the fill's `filled_at`; days are kept in date order;
//! - gross exposure is the cost basis of the open FIFO lots (`Σ quantity × entry price`,
//!   longs and shorts alike), stepping at each fill; marks do not move it (the report has
//!   no per-instrument marks between fills). One step per distinct fill time.
//!
//! Memory grows with the round trips (about 150 bytes each) and the exposure steps (one per
//! fill time, 32 bytes): a million-tick run with 45,000 orders keeps a few megabytes.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use rust_decimal::Decimal;

use super::EquityPoint;
use super::curve::ist_date;
use super::replay::FillResult;
use super::trades::RoundTrips;
use crate::messages::{Fees, OrderFilled};

/// One IST day's fills.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct DayFills {
    pub fills: u64,
    pub turnover: Decimal,
    pub charges: Decimal,
    /// Realized P&L of the day's fills before charges (the portfolio's netting).
    pub realized: Decimal,
}

impl DayFills {
    pub fn add(&mut self, other: &DayFills) {
        self.fills = self.fills.saturating_add(other.fills);
        self.turnover = self.turnover.saturating_add(other.turnover);
        self.charges = self.charges.saturating_add(other.charges);
        self.realized = self.realized.saturating_add(other.realized);
    }
}

/// See the module docs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FillLedger {
    pub(super) trips: RoundTrips,
    pub(super) charges: Fees,
    pub(super) days: BTreeMap<NaiveDate, DayFills>,
    /// Gross exposure after the fills at each fill time (`equity` holds the rupees).
    pub(super) exposure: Vec<EquityPoint>,
}

impl FillLedger {
    /// Counts `fill`, whose replay gave `result`.
    pub fn add(&mut self, fill: &OrderFilled, result: &FillResult) {
        let turnover = fill.price.saturating_mul(Decimal::from(fill.quantity));
        self.trips.push(fill);
        add_fees(&mut self.charges, &fill.fees);
        let day = self.days.entry(ist_date(fill.filled_at)).or_default();
        day.add(&DayFills {
            fills: 1,
            turnover,
            charges: fill.fees.total,
            realized: result.realized,
        });
        let gross = self.trips.open_cost();
        match self.exposure.last_mut() {
            Some(last) if last.ts == fill.filled_at => last.equity = gross,
            _ => self.exposure.push(EquityPoint {
                ts: fill.filled_at,
                equity: gross,
            }),
        }
    }
}

/// Adds each component of `fees` to `sum`.
pub(super) fn add_fees(sum: &mut Fees, fees: &Fees) {
    sum.brokerage = sum.brokerage.saturating_add(fees.brokerage);
    sum.stt = sum.stt.saturating_add(fees.stt);
    sum.exchange_txn = sum.exchange_txn.saturating_add(fees.exchange_txn);
    sum.sebi = sum.sebi.saturating_add(fees.sebi);
    sum.stamp_duty = sum.stamp_duty.saturating_add(fees.stamp_duty);
    sum.gst = sum.gst.saturating_add(fees.gst);
    sum.total = sum.total.saturating_add(fees.total);
}
