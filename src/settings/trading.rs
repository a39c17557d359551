//! The trading sections of [`Settings`]: `[brokers]`, `[risk]`, `[paper]` and
//! `[portfolio]` (`[strategies]` is in [`strategies`](super::strategies), `[zerodha]` in
//! [`zerodha`](super::zerodha)); this module parses them all.
//!
//! The domain types are embedded as they are: [`RiskLimits`] per broker and the paper
//! venue's [`PaperConfig`]; their own `validate` supplies the rules, keyed under the
//! setting's path.
//!
//! Invariants:
//! - `paper.starting_cash` is not a setting: the loader copies `portfolio.starting_cash`
//!   into [`Settings::paper`], so the paper venue and the portfolios start from the same
//!   cash (and [`Settings::validate`] refuses a value built in code where they differ).
//! - A risk limit set to `"off"` is unset (`None`, its rule off); [`RiskSettings`]
//!   serialises `None` back as `"off"`, so the effective settings reload to the same
//!   limits (leaving the key out would bring the default back).
//! - Money and rates are exact [`Decimal`]s, written as strings or numbers.

use std::collections::BTreeMap;
use std::time::Duration;

use config::{Value, ValueKind};
use rust_decimal::Decimal;
use serde::de::Deserializer;
use serde::ser::{Error as _, SerializeStruct, Serializer};
use serde::{Deserialize, Serialize};

use super::Settings;
use super::error::Problem;
use super::loader::parse_section;
use super::schema_rules::OFF;
use super::sections::named_variant;
use super::strategies::{self, StrategyConfig};
use super::zerodha::ZerodhaSettings;
use crate::messages::Broker;
use crate::paper::PaperConfig;
use crate::paper::config::MAX_STARTING_CASH;
use crate::risk::{LossAction, LossBasis, RiskLimits};

/// `[brokers]`: which execution namespaces run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BrokersSettings {
    /// The namespaces that run (`paper`, `zerodha`), each at most once.
    #[serde(deserialize_with = "broker_names")]
    pub enabled: Vec<Broker>,
}

/// `[risk]`: the limits of each broker namespace. A limit that is `None` is off.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RiskSettings {
    /// `[risk.paper]`.
    pub paper: RiskLimits,
    /// `[risk.zerodha]`: real money, so tighter.
    pub zerodha: RiskLimits,
}

impl RiskSettings {
    /// The limits of `broker`.
    pub fn limits(&self, broker: Broker) -> &RiskLimits {
        match broker {
            Broker::Paper => &self.paper,
            Broker::Zerodha => &self.zerodha,
        }
    }
}

impl Serialize for RiskSettings {
    /// As the settings file writes it: an unset limit is `"off"`.
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut table = serializer.serialize_struct("RiskSettings", 2)?;
        table.serialize_field("paper", &LimitsOrOff::from(&self.paper))?;
        table.serialize_field("zerodha", &LimitsOrOff::from(&self.zerodha))?;
        table.end()
    }
}

/// A limit as written in a settings file: its value, or `"off"`.
#[derive(Serialize)]
#[serde(untagged)]
enum Limit<T> {
    Set(T),
    Off(&'static str),
}

impl<T> From<Option<T>> for Limit<T> {
    fn from(value: Option<T>) -> Self {
        value.map_or(Limit::Off(OFF), Limit::Set)
    }
}

/// [`RiskLimits`] with every limit present, unset ones as `"off"`.
#[derive(Serialize)]
struct LimitsOrOff {
    max_order_quantity: Limit<u32>,
    max_order_value: Limit<Decimal>,
    max_position: Limit<u32>,
    max_position_value: Limit<Decimal>,
    max_daily_trades: Limit<u32>,
    price_band_pct: Limit<Decimal>,
    daily_loss_limit: Limit<Decimal>,
    strategy_daily_loss_limit: Limit<Decimal>,
    loss_limit_basis: LossBasis,
    on_loss_limit: LossAction,
    max_open_orders: Limit<u32>,
    max_lots_per_underlying: Limit<u32>,
    max_premium_at_risk: Limit<Decimal>,
    max_notional: Limit<Decimal>,
}

impl From<&RiskLimits> for LimitsOrOff {
    fn from(limits: &RiskLimits) -> Self {
        // Exhaustive: a new limit does not compile until it is rendered here.
        let RiskLimits {
            max_order_quantity,
            max_order_value,
            max_position,
            max_position_value,
            max_daily_trades,
            price_band_pct,
            daily_loss_limit,
            strategy_daily_loss_limit,
            loss_limit_basis,
            on_loss_limit,
            max_open_orders,
            max_lots_per_underlying,
            max_premium_at_risk,
            max_notional,
        } = limits.clone();
        Self {
            max_order_quantity: max_order_quantity.into(),
            max_order_value: max_order_value.into(),
            max_position: max_position.into(),
            max_position_value: max_position_value.into(),
            max_daily_trades: max_daily_trades.into(),
            price_band_pct: price_band_pct.into(),
            daily_loss_limit: daily_loss_limit.into(),
            strategy_daily_loss_limit: strategy_daily_loss_limit.into(),
            loss_limit_basis,
            on_loss_limit,
            max_open_orders: max_open_orders.into(),
            max_lots_per_underlying: max_lots_per_underlying.into(),
            max_premium_at_risk: max_premium_at_risk.into(),
            max_notional: max_notional.into(),
        }
    }
}

/// `[portfolio]`: how portfolios start and how often they publish.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PortfolioSettings {
    /// Cash each (broker, strategy) portfolio starts with, rupees; also the paper
    /// venue's starting cash per strategy.
    pub starting_cash: Decimal,
    /// At most one P&L snapshot per portfolio per this many milliseconds (fills always
    /// publish).
    pub snapshot_interval_ms: u64,
}

impl PortfolioSettings {
    /// The least time between two P&L snapshots of one portfolio.
    pub fn snapshot_interval(&self) -> Duration {
        Duration::from_millis(self.snapshot_interval_ms)
    }
}

/// A list of broker names, each `paper` or `zerodha` (any case).
///
/// # Errors
///
/// `expected one of paper, zerodha, got "…"` for any other name.
pub(super) fn broker_names<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Vec<Broker>, D::Error> {
    let names = Vec::<BrokerName>::deserialize(deserializer)?;
    Ok(names.into_iter().map(|BrokerName(broker)| broker).collect())
}

struct BrokerName(Broker);

impl<'de> Deserialize<'de> for BrokerName {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let variants = Broker::ALL.map(|broker| (broker.as_str(), broker));
        named_variant(deserializer, &variants, "one of paper, zerodha").map(BrokerName)
    }
}

/// Serialises [`Settings::paper`] without `starting_cash`, which is not a setting.
///
/// # Errors
///
/// The serializer's error if the configuration cannot be rendered.
pub(super) fn paper_without_cash<S: Serializer>(
    paper: &PaperConfig,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    let mut table = toml::Table::try_from(paper).map_err(S::Error::custom)?;
    table.remove("starting_cash");
    table.serialize(serializer)
}

/// The trading sections, deserialised.
pub(super) struct Trading {
    pub(super) brokers: BrokersSettings,
    pub(super) zerodha: ZerodhaSettings,
    pub(super) strategies: BTreeMap<String, StrategyConfig>,
    pub(super) risk: RiskSettings,
    pub(super) paper: PaperConfig,
    pub(super) portfolio: PortfolioSettings,
}

/// Deserialises the schema-checked trading sections of `clean`, recording every
/// problem; `None` if one of them did not make it.
pub(super) fn parse(
    clean: &mut BTreeMap<String, Value>,
    problems: &mut Vec<Problem>,
) -> Option<Trading> {
    share_starting_cash(clean);
    let brokers = parse_section(clean, "brokers", problems);
    let zerodha = parse_section(clean, "zerodha", problems);
    let strategies = clean
        .remove("strategies")
        .and_then(|value| strategies::parse(value, problems));
    let risk = parse_section(clean, "risk", problems);
    let paper = parse_section(clean, "paper", problems);
    let portfolio = parse_section(clean, "portfolio", problems);
    Some(Trading {
        brokers: brokers?,
        zerodha: zerodha?,
        strategies: strategies?,
        risk: risk?,
        paper: paper?,
        portfolio: portfolio?,
    })
}

/// Copies `portfolio.starting_cash` into the `paper` table ("0" if it did not pass the
/// schema check, which is reported already), so [`PaperConfig`] deserialises whole.
fn share_starting_cash(clean: &mut BTreeMap<String, Value>) {
    let cash = match clean.get("portfolio").map(|p| &p.kind) {
        Some(ValueKind::Table(portfolio)) => portfolio.get("starting_cash").cloned(),
        _ => None,
    };
    let cash = cash.unwrap_or_else(|| Value::new(None, ValueKind::String("0".to_owned())));
    if let Some(ValueKind::Table(paper)) = clean.get_mut("paper").map(|p| &mut p.kind) {
        paper.insert("starting_cash".to_owned(), cash);
    }
}

/// Every broken rule of the trading sections, keyed by setting, in a stable order.
pub(super) fn problems(s: &Settings) -> Vec<Problem> {
    let mut out = Vec::new();
    let enabled = &s.brokers.enabled;
    if enabled.is_empty() {
        let message = "must not be empty; e.g. [\"paper\"] (one of paper, zerodha)";
        out.push(Problem::new("brokers.enabled", message));
    }
    for (i, broker) in enabled.iter().enumerate() {
        if let Some(first) = enabled.iter().position(|b| b == broker)
            && first < i
        {
            let message = format!("\"{broker}\" is already listed at brokers.enabled[{first}]");
            out.push(Problem::new(format!("brokers.enabled[{i}]"), message));
        }
    }
    out.extend(strategies::problems(&s.strategies, enabled));
    for broker in Broker::ALL {
        let lines = s.risk.limits(broker).validate(&format!("risk.{broker}"));
        // RiskLimits speaks of leaving a key out; in a settings file that brings the
        // default back, "off" is what turns a rule off.
        let lines = lines.into_iter().map(|line| {
            line.replace(
                "omit it to turn the rule off",
                "set it to \"off\" to turn the rule off",
            )
        });
        out.extend(lines.map(|line| from_line(line, &format!("risk.{broker}"))));
    }
    // The shared starting cash is checked under portfolio, where it is set.
    let paper = s.paper.validate("paper").into_iter();
    out.extend(
        paper
            .filter(|line| !line.starts_with("paper.starting_cash:"))
            .map(|line| from_line(line, "paper")),
    );
    if s.paper.starting_cash != s.portfolio.starting_cash {
        let message = format!(
            "must equal portfolio.starting_cash ({}), got {}: the paper venue and the \
             portfolios start from the same cash",
            s.portfolio.starting_cash, s.paper.starting_cash
        );
        out.push(Problem::new("paper.starting_cash", message));
    }
    let cash = s.portfolio.starting_cash;
    if cash <= Decimal::ZERO || cash > MAX_STARTING_CASH {
        let message = format!("must be above 0 and at most {MAX_STARTING_CASH}, got {cash}");
        out.push(Problem::new("portfolio.starting_cash", message));
    }
    let interval = s.portfolio.snapshot_interval_ms;
    if !(1..=3_600_000).contains(&interval) {
        let message = format!("must be between 1 and 3600000, got {interval}");
        out.push(Problem::new("portfolio.snapshot_interval_ms", message));
    }
    // An order waits this many of its instrument's ticks; a day of a busy instrument is
    // far fewer than this.
    if s.paper.latency_ticks > MAX_LATENCY_TICKS {
        let message = format!(
            "must be at most {MAX_LATENCY_TICKS}, got {}",
            s.paper.latency_ticks
        );
        out.push(Problem::new("paper.latency_ticks", message));
    }
    out
}

/// Most ticks a paper order may wait before it can fill.
const MAX_LATENCY_TICKS: u32 = 100_000;

/// A domain `"key: message"` line as a [`Problem`]; keyed `fallback` if it has no key.
fn from_line(line: String, fallback: &str) -> Problem {
    match line.split_once(": ") {
        Some((key, message)) => Problem::new(key, message),
        None => Problem::new(fallback, line),
    }
}
