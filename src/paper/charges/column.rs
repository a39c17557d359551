//! The columns of the charge schedule and which one charges a fill.
//!
//! Zerodha publishes one schedule per segment (`/work/shared/KITE.md`, "Charges"): NSE
//! equity intraday (MIS) and delivery (CNC), and NSE futures and options. An execution's
//! column is chosen by its instrument's kind first — a future or an option is charged as
//! F&O whatever its product (MIS and NRML pay the same F&O brokerage and taxes at
//! Zerodha) — and only then, for everything else, by its product ([`ChargeColumn::of`]).
//!
//! Invariants: every rate is a fraction of turnover in `[0, 1]`, every amount is rupees
//! and not negative ([`ProductCharges::problems`]); the F&O-only amounts
//! (`brokerage_per_order`, `stt_exercise_rate`, `settlement_brokerage`) are zero in the
//! equity columns and are not written out when zero, so an equity column reads as it
//! always did.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::market::InstrumentKind;
use crate::messages::Product;

/// Which column of the schedule charges an execution.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ChargeColumn {
    /// Equity intraday (MIS).
    Intraday,
    /// Equity delivery (CNC; NRML and MTF of an equity are charged as delivery too).
    Delivery,
    /// Futures (NFO/BFO `FUT`), MIS or NRML.
    Futures,
    /// Options (NFO/BFO `CE`/`PE`), MIS or NRML: turnover is premium turnover.
    Options,
}

impl ChargeColumn {
    /// The column of an execution in an instrument of `kind` placed as `product`: a
    /// future or an option by its kind; anything else by its product.
    pub fn of(kind: &InstrumentKind, product: Product) -> Self {
        match kind {
            InstrumentKind::Future => ChargeColumn::Futures,
            InstrumentKind::Call | InstrumentKind::Put => ChargeColumn::Options,
            _ => ChargeColumn::from(product),
        }
    }

    /// True for the F&O columns.
    pub fn is_derivative(self) -> bool {
        matches!(self, ChargeColumn::Futures | ChargeColumn::Options)
    }
}

/// The equity column of a product, for a caller that knows no instrument kind: MIS is
/// intraday, everything else delivery.
impl From<Product> for ChargeColumn {
    fn from(product: Product) -> Self {
        match product {
            Product::Mis => ChargeColumn::Intraday,
            Product::Cnc | Product::Nrml | Product::Mtf => ChargeColumn::Delivery,
        }
    }
}

/// Rates for one column. Rates are fractions of turnover (`0.0003` is 0.03 %); amounts are
/// rupees.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProductCharges {
    /// Brokerage as a fraction of turnover, before the cap.
    pub brokerage_rate: Decimal,
    /// Most brokerage one executed order pays, in rupees.
    pub brokerage_cap: Decimal,
    /// A flat brokerage per executed order, rupees, on its first fill and outside the
    /// cap (options at Zerodha: ₹20). 0 for the equity columns.
    #[serde(default, skip_serializing_if = "Decimal::is_zero")]
    pub brokerage_per_order: Decimal,
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
    /// this column, rupees before GST (Zerodha, MIS equity and F&O: ₹50 + 18 % GST;
    /// delivery positions are never squared off: 0). Billed as brokerage: see
    /// [`ChargeSchedule::auto_square_off_charges`](super::ChargeSchedule::auto_square_off_charges).
    pub auto_square_off: Decimal,
    /// The depository charge, rupees before GST, on the first sell of a scrip per day
    /// that takes shares out of the demat account (Zerodha, CNC: ₹13.5 + 18 % GST; MIS
    /// and F&O never deliver: 0). Left out, the column's default: see
    /// [`ChargeSchedule::dp_charge`](super::ChargeSchedule::dp_charge).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dp_charge: Option<Decimal>,
    /// STT on an option exercised at expiry, as a fraction of its settlement (intrinsic)
    /// value, paid by the holder of the long position (Zerodha: 0.15 %). 0 for the other
    /// columns (futures settle without STT).
    #[serde(default, skip_serializing_if = "Decimal::is_zero")]
    pub stt_exercise_rate: Decimal,
    /// Brokerage per position settled at expiry with a value (an option expiring in the
    /// money, a future), rupees before GST (Zerodha, options: ₹20, its "close-out
    /// trade"). Worthless options pay nothing at all.
    #[serde(default, skip_serializing_if = "Decimal::is_zero")]
    pub settlement_brokerage: Decimal,
}

impl ProductCharges {
    /// NSE intraday equity (MIS): 0.03 % or ₹20 brokerage, 0.025 % STT on sells, 0.003 %
    /// stamp duty on buys, ₹50 per auto square-off order.
    pub fn nse_intraday() -> Self {
        Self {
            brokerage_rate: Decimal::new(3, 4),
            brokerage_cap: Decimal::from(20),
            brokerage_per_order: Decimal::ZERO,
            stt_buy_rate: Decimal::ZERO,
            stt_sell_rate: Decimal::new(25, 5),
            exchange_txn_rate: Decimal::new(297, 7),
            sebi_per_crore: Decimal::from(10),
            stamp_buy_rate: Decimal::new(3, 5),
            auto_square_off: Decimal::from(50),
            dp_charge: Some(Decimal::ZERO),
            stt_exercise_rate: Decimal::ZERO,
            settlement_brokerage: Decimal::ZERO,
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
            stamp_buy_rate: Decimal::new(15, 5),
            auto_square_off: Decimal::ZERO,
            dp_charge: Some(super::ZERODHA_DP_CHARGE),
            ..Self::nse_intraday()
        }
    }

    /// NSE futures (KITE.md's F&O table): 0.03 % or ₹20 brokerage, 0.05 % STT on sells
    /// (Budget 2026), 0.00173 % exchange charge, 0.002 % stamp duty on buys, ₹50 per auto
    /// square-off order; no STT and no brokerage at the expiry settlement.
    pub fn nfo_futures() -> Self {
        Self {
            stt_sell_rate: Decimal::new(5, 4),
            exchange_txn_rate: Decimal::new(173, 7),
            stamp_buy_rate: Decimal::new(2, 5),
            dp_charge: None,
            ..Self::nse_intraday()
        }
    }

    /// NSE options (KITE.md's F&O table), on premium turnover: a flat ₹20 per executed
    /// order, 0.15 % STT on sells (Budget 2026), 0.03503 % exchange charge, 0.003 % stamp
    /// duty on buys, ₹50 per auto square-off order; at expiry 0.15 % STT on the intrinsic
    /// value of a long exercised in the money and ₹20 brokerage per settled position.
    pub fn nfo_options() -> Self {
        Self {
            brokerage_rate: Decimal::ZERO,
            brokerage_cap: Decimal::ZERO,
            brokerage_per_order: Decimal::from(20),
            stt_sell_rate: Decimal::new(15, 4),
            exchange_txn_rate: Decimal::new(3503, 7),
            stamp_buy_rate: Decimal::new(3, 5),
            dp_charge: None,
            stt_exercise_rate: Decimal::new(15, 4),
            settlement_brokerage: Decimal::from(20),
            ..Self::nse_intraday()
        }
    }

    /// Every rule broken, as `key: message` with keys under `prefix`.
    pub(super) fn problems(&self, prefix: &str, out: &mut Vec<String>) {
        let rates = [
            ("brokerage_rate", self.brokerage_rate),
            ("stt_buy_rate", self.stt_buy_rate),
            ("stt_sell_rate", self.stt_sell_rate),
            ("exchange_txn_rate", self.exchange_txn_rate),
            ("stamp_buy_rate", self.stamp_buy_rate),
            ("stt_exercise_rate", self.stt_exercise_rate),
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
        let crore = Decimal::from(super::CRORE);
        if self.sebi_per_crore < Decimal::ZERO || self.sebi_per_crore > crore {
            out.push(format!(
                "{prefix}.sebi_per_crore: must be between 0 and {crore}, got {}",
                self.sebi_per_crore
            ));
        }
        let max = super::MAX_FLAT_CHARGE;
        let flat = [
            (
                "brokerage_per_order",
                Some(self.brokerage_per_order),
                "per order",
            ),
            ("auto_square_off", Some(self.auto_square_off), "per order"),
            ("dp_charge", self.dp_charge, "per scrip and day"),
            (
                "settlement_brokerage",
                Some(self.settlement_brokerage),
                "per position",
            ),
        ];
        for (name, amount, per) in flat {
            if let Some(amount) = amount
                && (amount < Decimal::ZERO || amount > max)
            {
                out.push(format!(
                    "{prefix}.{name}: must be rupees {per} between 0 and {max}, got {amount}"
                ));
            }
        }
    }
}
