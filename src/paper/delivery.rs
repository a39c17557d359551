//! The delivery (CNC) day of each strategy's scrips: what the day's fills bought and sold,
//! which decides two charges of a delivery sell.
//!
//! - Same-day sells: shares bought and sold on one IST day never reach the demat account;
//!   the exchange settles them as intraday, and STT is the intraday sell rate on them. A
//!   sell is matched against the quantity bought *earlier that day* and not yet matched
//!   by an earlier sell: that part is its `same_day_quantity`.
//! - The DP charge: due once per (strategy, scrip, IST day), on the first sell that takes
//!   shares out of the demat account (a sell not wholly matched against same-day buys).
//!
//! What it does not model: a sell first and a buy back later the same day (also intraday
//! at the exchange) is charged as delivery at the sell; the contract note is computed
//! after the day, a stream of fills cannot revise a fill's charges.
//!
//! Invariants: derived from fills only ([`Deliveries::on_fill`] for this life's fills
//! and the restored ones alike), so a restart rebuilds the same state; nothing for MIS or
//! F&O;
//! ordered maps; saturating counts.

use std::collections::BTreeMap;

use chrono::NaiveDate;

use super::charges::ChargeColumn;
use crate::messages::Side;

/// How a delivery sell is charged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(super) struct DeliverySell {
    /// The part closing shares bought the same day (intraday STT).
    pub same_day_quantity: u32,
    /// The scrip's DP charge is due on this fill.
    pub dp_charge: bool,
}

/// One (strategy, scrip)'s day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Day {
    date: NaiveDate,
    /// Bought so far today.
    bought: u64,
    /// Of that, already matched by sells today.
    matched: u64,
    /// The DP charge was taken today.
    dp_charged: bool,
}

/// Every strategy's delivery day per scrip (one entry per pair, replaced each day).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct Deliveries {
    days: BTreeMap<(String, u32), Day>,
}

impl Deliveries {
    /// Books a fill of `quantity` on `side` in `token` by `strategy` on the IST `date`,
    /// charged in `column`, and answers how a sell is charged (the default for a buy or
    /// anything but a delivery fill).
    pub fn on_fill(
        &mut self,
        column: ChargeColumn,
        strategy: &str,
        token: u32,
        side: Side,
        quantity: u32,
        date: NaiveDate,
    ) -> DeliverySell {
        if column != ChargeColumn::Delivery {
            return DeliverySell::default();
        }
        let day = self
            .days
            .entry((strategy.to_owned(), token))
            .or_insert(Day {
                date,
                bought: 0,
                matched: 0,
                dp_charged: false,
            });
        if day.date != date {
            *day = Day {
                date,
                bought: 0,
                matched: 0,
                dp_charged: false,
            };
        }
        let quantity = u64::from(quantity);
        match side {
            Side::Buy => {
                day.bought = day.bought.saturating_add(quantity);
                DeliverySell::default()
            }
            Side::Sell => {
                let same_day = quantity.min(day.bought.saturating_sub(day.matched));
                day.matched = day.matched.saturating_add(same_day);
                let dp_charge = same_day < quantity && !day.dp_charged;
                day.dp_charged |= dp_charge;
                DeliverySell {
                    // same_day <= quantity, which came from a u32.
                    same_day_quantity: u32::try_from(same_day).unwrap_or(u32::MAX),
                    dp_charge,
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 3, day).unwrap_or_default()
    }

    #[test]
    fn sells_match_the_days_earlier_buys_and_take_the_dp_charge_once_a_day() {
        // (case, column, side, quantity, day, expected same-day part, DP due)
        let cases = [
            (
                "a buy is never a sell",
                ChargeColumn::Delivery,
                Side::Buy,
                10,
                2,
                0,
                false,
            ),
            (
                "sell 4 of today's 10: same day, no demat debit",
                ChargeColumn::Delivery,
                Side::Sell,
                4,
                2,
                4,
                false,
            ),
            (
                "sell 8: 6 left of today's buys, 2 from holdings",
                ChargeColumn::Delivery,
                Side::Sell,
                8,
                2,
                6,
                true,
            ),
            (
                "sell 5 from holdings: DP already taken today",
                ChargeColumn::Delivery,
                Side::Sell,
                5,
                2,
                0,
                false,
            ),
            (
                "next day: DP due again, nothing bought today",
                ChargeColumn::Delivery,
                Side::Sell,
                1,
                3,
                0,
                true,
            ),
            (
                "MIS is never delivery",
                ChargeColumn::Intraday,
                Side::Sell,
                7,
                3,
                0,
                false,
            ),
        ];
        let mut book = Deliveries::default();
        for (case, column, side, quantity, day, same_day, dp) in cases {
            let got = book.on_fill(column, "s", 1, side, quantity, date(day));
            let want = DeliverySell {
                same_day_quantity: same_day,
                dp_charge: dp,
            };
            assert_eq!(got, want, "{case}");
        }
        // Per strategy and per scrip.
        let other = book.on_fill(ChargeColumn::Delivery, "t", 1, Side::Sell, 1, date(3));
        assert!(other.dp_charge, "another strategy pays its own");
        let scrip = book.on_fill(ChargeColumn::Delivery, "s", 2, Side::Sell, 1, date(3));
        assert!(scrip.dp_charge, "another scrip too");
    }
}
