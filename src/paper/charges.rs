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
    }
}

/// Largest auto square-off charge per order, rupees (far above any broker's).
const MAX_AUTO_SQUARE_OFF: Decimal = Decimal::from_parts(100_000, 0, 0, false, 0);

/// One crore, 10^7 rupees.
const CRORE: i64 = 10_000_000;

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
        self.fees(
            product,
            side,
            quantity,
            price,
            brokerage_paid,
            Decimal::ZERO,
        )
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
        self.fees(product, side, quantity, price, Decimal::ZERO, charge)
    }

    /// The charges of one fill, with `extra_brokerage` (already rounded to the paisa) added to the
    /// capped brokerage before GST.
    fn fees(
        &self,
        product: Product,
        side: Side,
        quantity: u32,
        price: Decimal,
        brokerage_paid: Decimal,
        extra_brokerage: Decimal,
    ) -> Fees {
        let c = self.column(product);
        let turnover = Decimal::from(quantity).saturating_mul(price.abs());
        let of = |rate: Decimal| paisa(rate.saturating_mul(turnover));
        let cap_left = c
            .brokerage_cap
            .saturating_sub(brokerage_paid)
            .max(Decimal::ZERO);
        let brokerage = paisa(c.brokerage_rate.saturating_mul(turnover).min(cap_left))
            .saturating_add(extra_brokerage);
        let (stt_rate, stamp_rate) = match side {
            Side::Buy => (c.stt_buy_rate, c.stamp_buy_rate),
            Side::Sell => (c.stt_sell_rate, Decimal::ZERO),
        };
        let stt = of(stt_rate);
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
