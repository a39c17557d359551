//! The configurable limits of one broker namespace and their sanity checks.
//!
//! Every limit is optional: `None` turns its rule off. Money and percentages are `Decimal`
//! (never floats); counts are `u32`. [`RiskLimits::validate`] reports every broken rule at
//! once, keyed by the setting, so a bad configuration is refused at start-up rather than
//! discovered when a signal arrives.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// Limits applied by a [`BrokerRisk`](super::BrokerRisk) to every signal of its broker.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RiskLimits {
    /// Largest quantity of one order.
    #[serde(default)]
    pub max_order_quantity: Option<u32>,
    /// Largest value of one order: quantity × (limit price, else trigger, else reference).
    #[serde(default, with = "rust_decimal::serde::str_option")]
    pub max_order_value: Option<Decimal>,
    /// Largest absolute net position per (strategy, instrument) after the order, counting
    /// the position from fills plus every order still in flight in the order's direction
    /// (validated, not yet completely filled or ended): the worst case if they all fill.
    /// Orders that only reduce that worst case always pass this rule.
    #[serde(default)]
    pub max_position: Option<u32>,
    /// Largest value of the position per (strategy, instrument) after the order, counted
    /// like `max_position` (filled plus in flight in the order's direction) and valued at
    /// the order's price (limit, else trigger, else reference). Reducing orders pass.
    #[serde(default, with = "rust_decimal::serde::str_option")]
    pub max_position_value: Option<Decimal>,
    /// Most validated signals per strategy per IST trading day.
    #[serde(default)]
    pub max_daily_trades: Option<u32>,
    /// Limit and trigger prices (a market order's reference price) must lie within ± this
    /// percentage (`5` = 5 %) of the instrument's last tick price; with no known last price
    /// the signal is refused (`no_market_price`).
    #[serde(default, with = "rust_decimal::serde::str_option")]
    pub price_band_pct: Option<Decimal>,
    /// Largest loss of the broker per IST day, as a positive amount: the day's realized
    /// P&L net of fees plus, with `loss_limit_basis = "mark_to_market"` (the default), the
    /// unrealized P&L of the open positions at the last price. Reaching it puts the broker
    /// in REDUCING (from ACTIVE; a HALTED broker stays HALTED) and refuses new exposure for
    /// the rest of the day even if the operator resumes; reducing orders always pass.
    #[serde(default, with = "rust_decimal::serde::str_option")]
    pub daily_loss_limit: Option<Decimal>,
    /// The same limit per strategy: reaching it refuses that strategy's new exposure for
    /// the rest of the day (its reducing orders pass) without changing the broker's state.
    #[serde(default, with = "rust_decimal::serde::str_option")]
    pub strategy_daily_loss_limit: Option<Decimal>,
    /// What the loss limits count: `mark_to_market` (realized plus unrealized at the last
    /// price, the default) or `realized` only.
    #[serde(default)]
    pub loss_limit_basis: LossBasis,
    /// What a reached loss limit does besides refusing new exposure: `reduce` (the
    /// default: nothing more) or `flatten` (the risk manager sends market orders closing
    /// every open position in its scope — the broker's, or the strategy's).
    #[serde(default)]
    pub on_loss_limit: LossAction,
    /// Most validated orders of the broker not yet completely filled or failed.
    #[serde(default)]
    pub max_open_orders: Option<u32>,
    /// Most gross lots of one underlying after a derivative order, over every strategy of
    /// the broker: each (strategy, future or option) contributes the lots of its worst
    /// case (filled plus the orders in flight on the side that grows it), calls, puts and
    /// futures alike, none netted against another (see `risk::fno_exposure`).
    /// Reducing orders pass.
    #[serde(default)]
    pub max_lots_per_underlying: Option<u32>,
    /// Most premium of bought options at risk after an option buy, rupees, over the
    /// broker: what open long options cost plus the option buys in flight at their
    /// price. Sold options are not counted here (their loss has no such bound):
    /// `max_notional` and `max_lots_per_underlying` bound them. Reducing orders pass.
    #[serde(default, with = "rust_decimal::serde::str_option")]
    pub max_premium_at_risk: Option<Decimal>,
    /// Most gross notional of the broker's derivative positions after a derivative order,
    /// rupees: every worst-case quantity (filled plus in flight on the growing side) at
    /// the future's price, or at the underlying's price for an option (its strike while
    /// the underlying has no price). Reducing orders pass.
    #[serde(default, with = "rust_decimal::serde::str_option")]
    pub max_notional: Option<Decimal>,
}

impl RiskLimits {
    /// Every broken rule, in field order, as `"{prefix}.{field}: {problem}"` (just
    /// `"{field}: {problem}"` when `prefix` is empty). Empty = valid.
    ///
    /// Counts must be at least 1 and amounts positive (leave a limit out to turn its rule
    /// off; use the REDUCING state to allow only reductions); the band is at most 100 %.
    pub fn validate(&self, prefix: &str) -> Vec<String> {
        let mut out = Problems {
            prefix,
            found: Vec::new(),
        };
        out.count("max_order_quantity", self.max_order_quantity);
        out.amount("max_order_value", self.max_order_value);
        out.count("max_position", self.max_position);
        out.amount("max_position_value", self.max_position_value);
        out.count("max_daily_trades", self.max_daily_trades);
        out.amount("price_band_pct", self.price_band_pct);
        if let Some(pct) = self.price_band_pct
            && pct > Decimal::ONE_HUNDRED
        {
            out.push(
                "price_band_pct",
                format!("must be at most 100 (percent), got {pct}"),
            );
        }
        out.amount("daily_loss_limit", self.daily_loss_limit);
        out.amount("strategy_daily_loss_limit", self.strategy_daily_loss_limit);
        out.count("max_open_orders", self.max_open_orders);
        out.count("max_lots_per_underlying", self.max_lots_per_underlying);
        out.amount("max_premium_at_risk", self.max_premium_at_risk);
        out.amount("max_notional", self.max_notional);
        out.found
    }
}

/// What the loss limits count.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LossBasis {
    /// Realized P&L net of fees plus the open positions' unrealized P&L at the last price.
    #[default]
    MarkToMarket,
    /// Realized P&L net of fees only.
    Realized,
}

/// What a reached loss limit does besides refusing new exposure.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LossAction {
    /// Nothing more: open positions stay; only reducing orders pass.
    #[default]
    Reduce,
    /// Close every open position in the limit's scope with market orders.
    Flatten,
}

/// Collects `"{prefix}.{field}: {problem}"` lines.
struct Problems<'a> {
    prefix: &'a str,
    found: Vec<String>,
}

impl Problems<'_> {
    fn push(&mut self, field: &str, problem: String) {
        let line = if self.prefix.is_empty() {
            format!("{field}: {problem}")
        } else {
            format!("{}.{field}: {problem}", self.prefix)
        };
        self.found.push(line);
    }

    fn count(&mut self, field: &str, value: Option<u32>) {
        if value == Some(0) {
            self.push(
                field,
                "must be at least 1 (omit it to turn the rule off)".into(),
            );
        }
    }

    fn amount(&mut self, field: &str, value: Option<Decimal>) {
        if let Some(v) = value
            && v <= Decimal::ZERO
        {
            self.push(
                field,
                format!("must be positive, got {v} (omit it to turn the rule off)"),
            );
        }
    }
}
