//! Statutory and brokerage charges on one execution, from a configurable schedule.
//!
//! The defaults are Zerodha's published NSE schedules (`/work/shared/KITE.md`, "Charges"):
//! equity intraday (MIS) and delivery (CNC), futures and options. Which column charges an
//! execution: the instrument's kind first (a future or an option is F&O, MIS or NRML
//! alike), then the product ([`ChargeColumn::of`]).
//!
//! Invariants:
//! - Turnover is `quantity × price` (for an option, premium turnover). Every charge is
//!   computed from it and then rounded to the paisa (two decimal places) half-up, i.e.
//!   [`RoundingStrategy::MidpointAwayFromZero`]: ₹0.025 becomes ₹0.03, never ₹0.02 as
//!   banker's rounding would give.
//! - GST is charged on the *rounded* brokerage, exchange transaction charge and SEBI fee (the
//!   amounts that appear on the contract note), and is then rounded itself.
//! - [`Fees::total`] is exactly the sum of the rounded charges, so [`Fees`] always passes
//!   the message invariant.
//! - The brokerage cap is per executed *order*: [`ChargeSchedule::charges_for_fill`] takes
//!   what earlier partial fills of the same order already paid and charges only what is
//!   left under the cap. A flat brokerage per order
//!   ([`ProductCharges::brokerage_per_order`], options) is paid by the order's first fill
//!   (the one with nothing paid before it), outside the cap.
//! - The broker's auto square-off charge ([`ProductCharges::auto_square_off`], per order,
//!   plus GST) is carried in [`Fees::brokerage`] (above the cap) and its GST in
//!   [`Fees::gst`], so `total` — what the portfolio books as charges — includes it.
//! - The depository (DP) charge of a delivery sell ([`ChargeSchedule::dp_charge`], ₹13.5
//!   by default for CNC, 0 for the other columns) is due once per scrip per day: the venue
//!   decides when ([`super::delivery`]) and passes `dp_charge: true` in [`FillCharge`].
//!   [`Fees`] has no component for it, so it is carried in [`Fees::brokerage`] (like the
//!   auto square-off charge: a flat fee of the broker's, above the cap) and its 18 % GST in
//!   [`Fees::gst`].
//! - A delivery (CNC) sell of shares bought the same day is intraday for STT: that part of
//!   the sell ([`FillCharge::same_day_quantity`]) pays the intraday column's sell rate
//!   (0.025 %) instead of the delivery one (0.1 %). The buy's delivery STT was charged
//!   when it filled, before anyone knew; [`Fees`] cannot be negative, so it is not
//!   refunded (a known overcharge of the model, see `docs/TRADING.md`).
//! - The expiry settlement of a derivative ([`ChargeSchedule::settlement_charges`]) is no
//!   exchange trade: no exchange charge, SEBI fee or stamp duty; the column's
//!   `settlement_brokerage` (with GST) if it settles with a value, and for the long side of
//!   an option the STT on exercise. A worthless option pays nothing.
//! - No charge is negative; arithmetic saturates instead of panicking on absurd inputs.

mod column;

use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Serialize};

use super::config::key;
use crate::messages::{Fees, Side};

pub use crate::messages::Product;
pub use column::{ChargeColumn, ProductCharges};

/// Largest flat charge (per order, per scrip and day, per settled position), rupees (far
/// above any broker's).
const MAX_FLAT_CHARGE: Decimal = Decimal::from_parts(100_000, 0, 0, false, 0);

/// One crore, 10^7 rupees.
const CRORE: i64 = 10_000_000;

/// Zerodha's DP charge per scrip and day on delivery sells, before GST: ₹13.5.
pub const ZERODHA_DP_CHARGE: Decimal = Decimal::from_parts(135, 0, 0, false, 1);

/// One fill to charge, with what the delivery rules need.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FillCharge {
    pub column: ChargeColumn,
    pub side: Side,
    pub quantity: u32,
    pub price: Decimal,
    /// Brokerage earlier fills of the same order paid (the cap is per order).
    pub brokerage_paid: Decimal,
    /// Of a delivery sell, how much closes shares bought the same day: STT at the
    /// intraday sell rate for that part. 0 for anything else.
    pub same_day_quantity: u32,
    /// The scrip's DP charge is due on this fill (its first delivery sell of the day).
    pub dp_charge: bool,
}

impl FillCharge {
    /// A plain fill: no same-day part, no DP charge.
    pub fn plain(
        column: impl Into<ChargeColumn>,
        side: Side,
        quantity: u32,
        price: Decimal,
    ) -> Self {
        FillCharge {
            column: column.into(),
            side,
            quantity,
            price,
            brokerage_paid: Decimal::ZERO,
            same_day_quantity: 0,
            dp_charge: false,
        }
    }
}

/// The whole schedule: one column per segment and the GST rate. Fields left out of a
/// configuration keep the NSE defaults.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ChargeSchedule {
    /// Equity intraday (MIS) column.
    pub intraday: ProductCharges,
    /// Equity delivery (CNC) column.
    pub delivery: ProductCharges,
    /// Futures column (MIS and NRML).
    pub futures: ProductCharges,
    /// Options column (MIS and NRML), on premium turnover.
    pub options: ProductCharges,
    /// GST as a fraction of brokerage + exchange transaction charge + SEBI fee.
    pub gst_rate: Decimal,
}

impl Default for ChargeSchedule {
    fn default() -> Self {
        Self {
            intraday: ProductCharges::nse_intraday(),
            delivery: ProductCharges::nse_delivery(),
            futures: ProductCharges::nfo_futures(),
            options: ProductCharges::nfo_options(),
            gst_rate: Decimal::new(18, 2),
        }
    }
}

impl ChargeSchedule {
    /// The rates of `column` (a [`Product`] names its equity column).
    pub fn column(&self, column: impl Into<ChargeColumn>) -> &ProductCharges {
        match column.into() {
            ChargeColumn::Intraday => &self.intraday,
            ChargeColumn::Delivery => &self.delivery,
            ChargeColumn::Futures => &self.futures,
            ChargeColumn::Options => &self.options,
        }
    }

    /// Charges on an order executed in one go: `quantity` at `price`.
    pub fn charges(
        &self,
        column: impl Into<ChargeColumn>,
        side: Side,
        quantity: u32,
        price: Decimal,
    ) -> Fees {
        self.charges_for_fill(column, side, quantity, price, Decimal::ZERO)
    }

    /// Charges on one (partial) fill of an order whose earlier fills already paid
    /// `brokerage_paid`; brokerage is capped per order, so this fill pays at most
    /// `brokerage_cap - brokerage_paid`, and a flat brokerage per order only when nothing
    /// was paid yet.
    pub fn charges_for_fill(
        &self,
        column: impl Into<ChargeColumn>,
        side: Side,
        quantity: u32,
        price: Decimal,
        brokerage_paid: Decimal,
    ) -> Fees {
        let fill = FillCharge {
            brokerage_paid,
            ..FillCharge::plain(column, side, quantity, price)
        };
        self.fees(&fill, Decimal::ZERO)
    }

    /// Charges on one fill of the paper venue, with the delivery rules: the same-day part
    /// of a delivery sell pays the intraday STT rate, and a due DP charge (see
    /// [`Self::dp_charge`]) is added to the brokerage, above the cap, with GST on it.
    pub fn fill_charges(&self, fill: &FillCharge) -> Fees {
        let dp = if fill.dp_charge {
            self.dp_charge(fill.column)
        } else {
            Decimal::ZERO
        };
        self.fees(fill, dp)
    }

    /// The DP charge of `column`, rupees before GST, rounded to the paisa: the column's
    /// `dp_charge`, or when it is left out ₹13.5 for delivery ([`ZERODHA_DP_CHARGE`]) and
    /// 0 for the others (nothing else leaves a demat account).
    pub fn dp_charge(&self, column: impl Into<ChargeColumn>) -> Decimal {
        let column = column.into();
        let default = match column {
            ChargeColumn::Delivery => ZERODHA_DP_CHARGE,
            _ => Decimal::ZERO,
        };
        let charge = self.column(column).dp_charge.unwrap_or(default);
        paisa(charge.max(Decimal::ZERO))
    }

    /// Charges on the broker's auto square-off of an open position, executed in one go:
    /// the normal charges of `column` plus its
    /// [`auto_square_off`](ProductCharges::auto_square_off), which [`Fees`] (it
    /// has no component of its own) carries in `brokerage`, above the brokerage cap; GST
    /// is then charged on it like on any brokerage. With the defaults the square-off adds
    /// ₹50 + ₹9 GST = ₹59.
    pub fn auto_square_off_charges(
        &self,
        column: impl Into<ChargeColumn>,
        side: Side,
        quantity: u32,
        price: Decimal,
    ) -> Fees {
        let column = column.into();
        let charge = paisa(self.column(column).auto_square_off.max(Decimal::ZERO));
        self.fees(&FillCharge::plain(column, side, quantity, price), charge)
    }

    /// Charges on the cash settlement at expiry of `quantity` of a derivative of `column`,
    /// closed on `side` at `value` per unit (a future's settlement price, an option's
    /// intrinsic value): nothing when `value` is 0 (an option expiring worthless);
    /// otherwise the column's `settlement_brokerage` with GST on it, and, closing a long
    /// (`side` sell), STT on exercise at `stt_exercise_rate` of `quantity × value`. No
    /// exchange charge, SEBI fee or stamp duty: the clearing corporation settles, no
    /// trade is made on the exchange.
    pub fn settlement_charges(
        &self,
        column: ChargeColumn,
        side: Side,
        quantity: u32,
        value: Decimal,
    ) -> Fees {
        if value <= Decimal::ZERO {
            return Fees::default();
        }
        let c = self.column(column);
        let settled = Decimal::from(quantity).saturating_mul(value);
        let brokerage = paisa(c.settlement_brokerage.max(Decimal::ZERO));
        let stt = match side {
            Side::Sell => paisa(c.stt_exercise_rate.saturating_mul(settled)),
            Side::Buy => Decimal::ZERO,
        };
        let gst = paisa(self.gst_rate.saturating_mul(brokerage));
        Fees {
            brokerage,
            stt,
            gst,
            total: brokerage.saturating_add(stt).saturating_add(gst),
            ..Fees::default()
        }
    }

    /// The charges of one fill, with `extra_brokerage` (already rounded to the paisa) added to the
    /// capped brokerage before GST.
    fn fees(&self, fill: &FillCharge, extra_brokerage: Decimal) -> Fees {
        let c = self.column(fill.column);
        let price = fill.price.abs();
        let turnover = Decimal::from(fill.quantity).saturating_mul(price);
        let of = |rate: Decimal| paisa(rate.saturating_mul(turnover));
        let cap_left = c
            .brokerage_cap
            .saturating_sub(fill.brokerage_paid)
            .max(Decimal::ZERO);
        // The flat part is the order's first fill's to pay: a later one finds it paid.
        let per_order = if fill.brokerage_paid.is_zero() {
            paisa(c.brokerage_per_order.max(Decimal::ZERO))
        } else {
            Decimal::ZERO
        };
        let brokerage = paisa(c.brokerage_rate.saturating_mul(turnover).min(cap_left))
            .saturating_add(per_order)
            .saturating_add(extra_brokerage);
        let stamp_rate = match fill.side {
            Side::Buy => c.stamp_buy_rate,
            Side::Sell => Decimal::ZERO,
        };
        let stt = match fill.side {
            Side::Buy => of(c.stt_buy_rate),
            Side::Sell if fill.column == ChargeColumn::Delivery && fill.same_day_quantity > 0 => {
                // Only the same-day part is intraday; one rounding for the whole fill.
                let same_day = fill.same_day_quantity.min(fill.quantity);
                let delivered = fill.quantity - same_day;
                let part = |quantity: u32, rate: Decimal| {
                    Decimal::from(quantity)
                        .saturating_mul(price)
                        .saturating_mul(rate)
                };
                paisa(
                    part(same_day, self.intraday.stt_sell_rate)
                        .saturating_add(part(delivered, c.stt_sell_rate)),
                )
            }
            Side::Sell => of(c.stt_sell_rate),
        };
        let exchange_txn = of(c.exchange_txn_rate);
        let sebi = paisa(c.sebi_per_crore.saturating_mul(turnover) / Decimal::from(CRORE));
        let stamp_duty = of(stamp_rate);
        let gst = paisa(
            self.gst_rate
                .saturating_mul(brokerage.saturating_add(exchange_txn).saturating_add(sebi)),
        );
        let total = [brokerage, stt, exchange_txn, sebi, stamp_duty, gst]
            .into_iter()
            .fold(Decimal::ZERO, Decimal::saturating_add);
        Fees {
            brokerage,
            stt,
            exchange_txn,
            sebi,
            stamp_duty,
            gst,
            total,
        }
    }

    /// Every rule broken, as `key: message` with keys under `prefix` (e.g.
    /// `paper.charges`).
    pub fn validate(&self, prefix: &str) -> Vec<String> {
        let mut out = Vec::new();
        let columns = [
            ("intraday", &self.intraday),
            ("delivery", &self.delivery),
            ("futures", &self.futures),
            ("options", &self.options),
        ];
        for (name, column) in columns {
            column.problems(&key(prefix, name), &mut out);
        }
        if self.gst_rate < Decimal::ZERO || self.gst_rate > Decimal::ONE {
            out.push(format!(
                "{}: must be a fraction between 0 and 1, got {}",
                key(prefix, "gst_rate"),
                self.gst_rate
            ));
        }
        out
    }
}

/// `amount` rounded to the paisa, half-up (away from zero at the midpoint).
pub fn paisa(amount: Decimal) -> Decimal {
    amount.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero)
}
