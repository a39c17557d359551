//! Statutory and brokerage charges on one execution, from a configurable schedule.
//!
//! The defaults are Zerodha's published NSE equity schedule (`/work/shared/KITE.md`,
//! "Charges"): intraday ([`Product::Mis`]) and delivery ([`Product::Cnc`]).
//!
//! Invariants:
//! - Turnover is `quantity × price`. Every charge is computed from it and then rounded to the
//!   paisa (two decimal places) half-up, i.e. [`RoundingStrategy::MidpointAwayFromZero`]:
//!   ₹0.025 becomes ₹0.03, never ₹0.02 as banker's rounding would give.
//! - GST is charged on the *rounded* brokerage, exchange transaction charge and SEBI fee (the
//!   amounts that appear on the contract note), and is then rounded itself.
//! - [`Fees::total`] is exactly the sum of the rounded charges, so [`Fees`] always passes
//!   the message invariant.
//! - The brokerage cap is per executed *order*: [`ChargeSchedule::charges_for_fill`] takes
//!   what earlier partial fills of the same order already paid and charges only what is
//!   left under the cap.
//! - The broker's auto square-off charge ([`ProductCharges::auto_square_off`], per order,
//!   plus GST) is carried in [`Fees::brokerage`] (above the cap) and its GST in
//!   [`Fees::gst`], so `total` — what the portfolio books as charges — includes it.
//! - The depository (DP) charge of a delivery sell ([`ChargeSchedule::dp_charge`], ₹13.5
//!   by default for CNC, 0 for MIS) is due once per scrip per day: the venue decides when
//!   ([`super::delivery`]) and passes `dp_charge: true` in [`FillCharge`]. [`Fees`] has no
//!   component for it, so it is carried in [`Fees::brokerage`] (like the auto square-off
//!   charge: a flat fee of the broker's, above the cap) and its 18 % GST in [`Fees::gst`].
//! - A delivery (CNC) sell of shares bought the same day is intraday for STT: that part of
//!   the sell ([`FillCharge::same_day_quantity`]) pays the intraday column's sell rate
//!   (0.025 %) instead of the delivery one (0.1 %). The buy's delivery STT was charged
//!   when it filled, before anyone knew; [`Fees`] cannot be negative, so it is not
//!   refunded (a known overcharge of the model, see `docs/TRADING.md`).
//! - No charge is negative; arithmetic saturates instead of panicking on absurd inputs.

use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Serialize};

use super::config::key;
use crate::messages::{Fees, Side};

/// Kite's product: which charge column applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Product {
    /// Intraday (margin intraday squareoff).
    #[serde(rename = "MIS")]
    Mis,
    /// Delivery (cash and carry).
    #[serde(rename = "CNC")]
    Cnc,
}

/// Rates for one product. Rates are fractions of turnover (`0.0003` is 0.03 %); amounts are
/// rupees.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProductCharges {
    /// Brokerage as a fraction of turnover, before the cap.
    pub brokerage_rate: Decimal,
    /// Most brokerage one executed order pays, in rupees.
    pub brokerage_cap: Decimal,
    /// Securities transaction tax on the buy side.
    pub stt_buy_rate: Decimal,
    /// Securities transaction tax on the sell side.
    pub stt_sell_rate: Decimal,
    /// Exchange transaction charge, both sides.
    pub exchange_txn_rate: Decimal,
    /// SEBI turnover fee in rupees per crore (₹1,00,00,000) of turnover, both sides.
    pub sebi_per_crore: Decimal,
    /// Stamp duty on the buy side.
    pub stamp_buy_rate: Decimal,
    /// What the broker charges per order for its own auto square-off of a position of
    /// this product, rupees before GST (Zerodha, MIS: ₹50 + 18 % GST; delivery positions
    /// are never squared off: 0). Billed as brokerage: see
    /// [`ChargeSchedule::auto_square_off_charges`].
    pub auto_square_off: Decimal,
    /// The depository charge, rupees before GST, on the first sell of a scrip per day
    /// that takes shares out of the demat account (Zerodha, CNC: ₹13.5 + 18 % GST; MIS
    /// never delivers: 0). Left out, the column's default: see
    /// [`ChargeSchedule::dp_charge`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dp_charge: Option<Decimal>,
}

impl ProductCharges {
    /// NSE intraday equity (MIS): 0.03 % or ₹20 brokerage, 0.025 % STT on sells, 0.003 %
    /// stamp duty on buys, ₹50 per auto square-off order.
    pub fn nse_intraday() -> Self {
        Self {
            brokerage_rate: Decimal::new(3, 4),
            brokerage_cap: Decimal::from(20),
            stt_buy_rate: Decimal::ZERO,
            stt_sell_rate: Decimal::new(25, 5),
            exchange_txn_rate: Decimal::new(297, 7),
            sebi_per_crore: Decimal::from(10),
            stamp_buy_rate: Decimal::new(3, 5),
            auto_square_off: Decimal::from(50),
            dp_charge: Some(Decimal::ZERO),
        }
    }

    /// NSE delivery equity (CNC): no brokerage, 0.1 % STT both sides, 0.015 % stamp duty on
    /// buys.
    pub fn nse_delivery() -> Self {
        Self {
            brokerage_rate: Decimal::ZERO,
            brokerage_cap: Decimal::ZERO,
            stt_buy_rate: Decimal::new(1, 3),
            stt_sell_rate: Decimal::new(1, 3),
            exchange_txn_rate: Decimal::new(297, 7),
            sebi_per_crore: Decimal::from(10),
            stamp_buy_rate: Decimal::new(15, 5),
            auto_square_off: Decimal::ZERO,
            dp_charge: Some(ZERODHA_DP_CHARGE),
        }
    }

    /// Every rule broken, as `key: message` with keys under `prefix`.
    fn problems(&self, prefix: &str, out: &mut Vec<String>) {
        let rates = [
            ("brokerage_rate", self.brokerage_rate),
            ("stt_buy_rate", self.stt_buy_rate),
            ("stt_sell_rate", self.stt_sell_rate),
            ("exchange_txn_rate", self.exchange_txn_rate),
            ("stamp_buy_rate", self.stamp_buy_rate),
        ];
        for (name, rate) in rates {
            if rate < Decimal::ZERO || rate > Decimal::ONE {
                out.push(format!(
                    "{prefix}.{name}: must be a fraction of turnover between 0 and 1, got {rate}"
                ));
            }
        }
        if self.brokerage_cap < Decimal::ZERO {
            out.push(format!(
                "{prefix}.brokerage_cap: must not be negative, got {}",
                self.brokerage_cap
            ));
        }
        let crore = Decimal::from(CRORE);
        if self.sebi_per_crore < Decimal::ZERO || self.sebi_per_crore > crore {
            out.push(format!(
                "{prefix}.sebi_per_crore: must be between 0 and {crore}, got {}",
                self.sebi_per_crore
            ));
        }
        if self.auto_square_off < Decimal::ZERO || self.auto_square_off > MAX_AUTO_SQUARE_OFF {
            out.push(format!(
                "{prefix}.auto_square_off: must be rupees per order between 0 and \
                 {MAX_AUTO_SQUARE_OFF}, got {}",
                self.auto_square_off
            ));
        }
        if let Some(dp) = self.dp_charge
            && (dp < Decimal::ZERO || dp > MAX_AUTO_SQUARE_OFF)
        {
            out.push(format!(
                "{prefix}.dp_charge: must be rupees per scrip and day between 0 and \
                 {MAX_AUTO_SQUARE_OFF}, got {dp}"
            ));
        }
    }
}

/// Largest auto square-off charge per order (and DP charge per scrip and day), rupees (far
/// above any broker's).
const MAX_AUTO_SQUARE_OFF: Decimal = Decimal::from_parts(100_000, 0, 0, false, 0);

/// One crore, 10^7 rupees.
const CRORE: i64 = 10_000_000;

/// Zerodha's DP charge per scrip and day on delivery sells, before GST: ₹13.5.
pub const ZERODHA_DP_CHARGE: Decimal = Decimal::from_parts(135, 0, 0, false, 1);

/// One fill to charge, with what the delivery rules need.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FillCharge {
    pub product: Product,
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
    pub fn plain(product: Product, side: Side, quantity: u32, price: Decimal) -> Self {
        FillCharge {
            product,
            side,
            quantity,
            price,
            brokerage_paid: Decimal::ZERO,
            same_day_quantity: 0,
            dp_charge: false,
        }
    }
}

/// The whole schedule: one column per product and the GST rate. Fields left out of a
/// configuration keep the NSE defaults.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ChargeSchedule {
    /// Intraday (MIS) column.
    pub intraday: ProductCharges,
    /// Delivery (CNC) column.
    pub delivery: ProductCharges,
    /// GST as a fraction of brokerage + exchange transaction charge + SEBI fee.
    pub gst_rate: Decimal,
}

impl Default for ChargeSchedule {
    fn default() -> Self {
        Self {
            intraday: ProductCharges::nse_intraday(),
            delivery: ProductCharges::nse_delivery(),
            gst_rate: Decimal::new(18, 2),
        }
    }
}

impl ChargeSchedule {
    /// The column for `product`.
    pub fn column(&self, product: Product) -> &ProductCharges {
        match product {
            Product::Mis => &self.intraday,
            Product::Cnc => &self.delivery,
        }
    }

    /// Charges on an order executed in one go: `quantity` at `price`.
    pub fn charges(&self, product: Product, side: Side, quantity: u32, price: Decimal) -> Fees {
        self.charges_for_fill(product, side, quantity, price, Decimal::ZERO)
    }

    /// Charges on one (partial) fill of an order whose earlier fills already paid
    /// `brokerage_paid`; brokerage is capped per order, so this fill pays at most
    /// `brokerage_cap - brokerage_paid`.
    pub fn charges_for_fill(
        &self,
        product: Product,
        side: Side,
        quantity: u32,
        price: Decimal,
        brokerage_paid: Decimal,
    ) -> Fees {
        let fill = FillCharge {
            brokerage_paid,
            ..FillCharge::plain(product, side, quantity, price)
        };
        self.fees(&fill, Decimal::ZERO)
    }

    /// Charges on one fill of the paper venue, with the delivery rules: the same-day part
    /// of a delivery sell pays the intraday STT rate, and a due DP charge (see
    /// [`Self::dp_charge`]) is added to the brokerage, above the cap, with GST on it.
    pub fn fill_charges(&self, fill: &FillCharge) -> Fees {
        let dp = if fill.dp_charge {
            self.dp_charge(fill.product)
        } else {
            Decimal::ZERO
        };
        self.fees(fill, dp)
    }

    /// The DP charge of `product`, rupees before GST, rounded to the paisa: the column's
    /// `dp_charge`, or when it is left out ₹13.5 for CNC ([`ZERODHA_DP_CHARGE`]) and 0
    /// for MIS.
    pub fn dp_charge(&self, product: Product) -> Decimal {
        let default = match product {
            Product::Cnc => ZERODHA_DP_CHARGE,
            Product::Mis => Decimal::ZERO,
        };
        let charge = self.column(product).dp_charge.unwrap_or(default);
        paisa(charge.max(Decimal::ZERO))
    }

    /// Charges on the broker's auto square-off of an open position, executed in one go:
    /// the normal charges of `product` plus its column's
    /// [`auto_square_off`](ProductCharges::auto_square_off), which [`Fees`] (it
    /// has no component of its own) carries in `brokerage`, above the brokerage cap; GST
    /// is then charged on it like on any brokerage. With the defaults the square-off adds
    /// ₹50 + ₹9 GST = ₹59.
    pub fn auto_square_off_charges(
        &self,
        product: Product,
        side: Side,
        quantity: u32,
        price: Decimal,
    ) -> Fees {
        let charge = paisa(self.column(product).auto_square_off.max(Decimal::ZERO));
        self.fees(&FillCharge::plain(product, side, quantity, price), charge)
    }

    /// The charges of one fill, with `extra_brokerage` (already rounded to the paisa) added to the
    /// capped brokerage before GST.
    fn fees(&self, fill: &FillCharge, extra_brokerage: Decimal) -> Fees {
        let c = self.column(fill.product);
        let price = fill.price.abs();
        let turnover = Decimal::from(fill.quantity).saturating_mul(price);
        let of = |rate: Decimal| paisa(rate.saturating_mul(turnover));
        let cap_left = c
            .brokerage_cap
            .saturating_sub(fill.brokerage_paid)
            .max(Decimal::ZERO);
        let brokerage = paisa(c.brokerage_rate.saturating_mul(turnover).min(cap_left))
            .saturating_add(extra_brokerage);
        let stamp_rate = match fill.side {
            Side::Buy => c.stamp_buy_rate,
            Side::Sell => Decimal::ZERO,
        };
        let stt = match fill.side {
            Side::Buy => of(c.stt_buy_rate),
            Side::Sell if fill.product == Product::Cnc && fill.same_day_quantity > 0 => {
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
        self.intraday.problems(&key(prefix, "intraday"), &mut out);
        self.delivery.problems(&key(prefix, "delivery"), &mut out);
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
