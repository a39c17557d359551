//! The paper venue's configuration: fill model, charges, the order timeout and the
//! simulated account.
//!
//! Fields added after the first release (`depth_limited`) have serde defaults, so a
//! configuration written before them still loads and means what it meant.
//!
//! Decimal fields accept a string (`"0.0003"`, exact) or a number; a number goes through
//! its shortest decimal form, so what was typed is what is used. [`PaperConfig::validate`]
//! reports every broken rule at once, each as `key: message` under the caller's prefix.

use std::time::Duration;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::charges::{ChargeSchedule, Product};

/// Largest price (₹ per unit) the venue trades at; ticks and signals beyond it are refused.
/// It keeps `quantity × price` and cash far from `Decimal`'s range.
pub const MAX_PRICE: Decimal = Decimal::from_parts(1_000_000_000, 0, 0, false, 0);

/// Largest starting cash per strategy (₹10^15).
pub const MAX_STARTING_CASH: Decimal = Decimal::from_parts(2_764_472_320, 232_830, 0, false, 0);

/// Longest `order_timeout_secs`: a day (an order expires at its session close anyway).
pub const MAX_ORDER_TIMEOUT_SECS: u64 = 86_400;

/// How the paper venue fills orders and charges for them.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PaperConfig {
    /// Slippage in basis points, applied against the taker: a buy pays
    /// `price × (1 + bps/10000)`, a sell receives `price × (1 − bps/10000)`, then rounded
    /// onto the instrument's tick grid against the taker (a buy up, a sell down) when the
    /// venue knows the instrument, else to the paisa. A limit order never fills beyond
    /// its limit.
    pub slippage_bps: Decimal,
    /// The charge schedule; left out, the NSE defaults.
    #[serde(default)]
    pub charges: ChargeSchedule,
    /// The product a paper order is placed as when its signal names none: `MIS`
    /// (intraday, squared off by the broker), `CNC` or `NRML` (carried overnight). The
    /// carry product follows the instrument: `CNC` for an equity, `NRML` for a future or
    /// an option, whichever of the two is written (see [`PaperConfig::product_for`]).
    /// `MTF` is not modelled.
    pub product: Product,
    /// Cash each strategy starts with, in rupees.
    pub starting_cash: Decimal,
    /// May a sell take a strategy's position below zero?
    pub allow_short: bool,
    /// Fill part of an order per tick (a seeded draw) instead of all of it.
    pub partial_fills: bool,
    /// With `partial_fills`, the largest part of the remaining quantity one tick may fill,
    /// in (0, 1]; at least one unit always fills.
    pub max_fill_fraction: Decimal,
    /// An order becomes eligible only after this many later ticks of its instrument;
    /// 0 means the tick current at submission (or the first one, if there is none yet).
    pub latency_ticks: u32,
    /// Seed of the partial-fill draws. Same seed and inputs, same outputs.
    pub seed: u64,
    /// Market orders (and crossing limits) take the best ask (buy) / best bid (sell) when
    /// the tick carries depth; otherwise, or when false, the last price.
    pub fill_at_touch: bool,
    /// An order still open this many seconds after its submission (by the venue's event
    /// clock: tick times, or the actor's wall-clock sweep in the daemon) is cancelled,
    /// keeping what it filled; 0 = never. At most [`MAX_ORDER_TIMEOUT_SECS`].
    pub order_timeout_secs: u64,
    /// Cap each fill by the quantity the tick shows on the side taken: the best level's
    /// quantity (full mode; the fill is at that level's price, so one fill never takes
    /// more than was shown there) or the side's total (quote mode); ltp ticks show none
    /// and do not cap. What the cap leaves rests (DAY) or expires (IOC; FOK then fills
    /// nothing). Off by default: the CSV tick files of the backtest carry a placeholder
    /// quantity of 1 a side, which is no depth at all. A side shown empty never fills,
    /// whatever this says.
    #[serde(default)]
    pub depth_limited: bool,
}

impl Default for PaperConfig {
    /// No slippage, NSE charges, MIS, ₹10,00,000 per strategy, no shorting, whole fills,
    /// no latency, seed 0, fill at the touch, orders cancelled after 30 s unfilled (as
    /// `zerodha.order_timeout_secs`), fills not capped by depth.
    fn default() -> Self {
        Self {
            slippage_bps: Decimal::ZERO,
            charges: ChargeSchedule::default(),
            product: Product::Mis,
            starting_cash: Decimal::from(1_000_000),
            allow_short: false,
            partial_fills: false,
            max_fill_fraction: Decimal::ONE,
            latency_ticks: 0,
            seed: 0,
            fill_at_touch: true,
            order_timeout_secs: 30,
            depth_limited: false,
        }
    }
}

impl PaperConfig {
    /// The product an order names none of is placed as, in an instrument that is a
    /// derivative or not: `paper.product`, with its carry product (`CNC`, `NRML`) made the
    /// one of the instrument's segment — a future or an option is carried as `NRML`, an
    /// equity as `CNC`.
    pub fn product_for(&self, derivative: bool) -> Product {
        match (self.product, derivative) {
            (Product::Cnc | Product::Nrml, true) => Product::Nrml,
            (Product::Cnc | Product::Nrml, false) => Product::Cnc,
            (product, _) => product,
        }
    }

    /// How long an order may stay open before it is cancelled; `None`: forever.
    pub fn order_timeout(&self) -> Option<Duration> {
        (self.order_timeout_secs > 0).then(|| Duration::from_secs(self.order_timeout_secs))
    }

    /// Every broken rule, as `"{prefix}.{field}: message"` in field order; empty when the
    /// configuration is usable.
    pub fn validate(&self, prefix: &str) -> Vec<String> {
        let key = |field: &str| key(prefix, field);
        let mut out = Vec::new();
        let bps_limit = Decimal::from(10_000);
        if self.slippage_bps < Decimal::ZERO || self.slippage_bps >= bps_limit {
            out.push(format!(
                "{}: must be at least 0 and below {bps_limit}, got {}",
                key("slippage_bps"),
                self.slippage_bps
            ));
        }
        out.extend(self.charges.validate(&key("charges")));
        if self.starting_cash < Decimal::ZERO || self.starting_cash > MAX_STARTING_CASH {
            out.push(format!(
                "{}: must be between 0 and {MAX_STARTING_CASH}, got {}",
                key("starting_cash"),
                self.starting_cash
            ));
        }
        if self.max_fill_fraction <= Decimal::ZERO || self.max_fill_fraction > Decimal::ONE {
            out.push(format!(
                "{}: must be above 0 and at most 1, got {}",
                key("max_fill_fraction"),
                self.max_fill_fraction
            ));
        }
        if self.product == Product::Mtf {
            out.push(format!(
                "{}: MTF (margin trading) is not modelled by the paper venue; use MIS, CNC or \
                 NRML",
                key("product")
            ));
        }
        if self.order_timeout_secs > MAX_ORDER_TIMEOUT_SECS {
            out.push(format!(
                "{}: must be seconds between 0 (never cancel) and {MAX_ORDER_TIMEOUT_SECS} \
                 (a day), got {}",
                key("order_timeout_secs"),
                self.order_timeout_secs
            ));
        }
        out
    }
}

/// The dotted key of `field` under `prefix` (just `field` when the prefix is empty).
pub(super) fn key(prefix: &str, field: &str) -> String {
    if prefix.is_empty() {
        field.to_owned()
    } else {
        format!("{prefix}.{field}")
    }
}
