//! `[strategies]`: the strategy instances to run, by id.
//!
//! Each entry names its brokers, its instruments and its [`StrategyParams`]: a `kind` and
//! a free table whose keys depend on the kind. The schema check passes `params` on
//! unchecked; entries are deserialised here one by one, so a bad entry does not hide the
//! next. The kind and its fields are checked by the strategy registry
//! ([`crate::strategy::StrategyRegistry::problems`]), which knows the kinds a binary has;
//! its problems are keyed `strategies.<id>.params.<field>` like every other.
//!
//! Layering: like every table, an entry merges key by key with the same entry of lower
//! layers (defaults < file < environment), and so does its `params` table, except that
//! a layer which sets `params.kind` replaces the lower layers' `params` of that entry
//! whole. A strategy's kind can thus be changed without the old kind's keys mixing in,
//! while `[strategies.momentum_1.params] lookback = 30` still changes just one key.
//!
//! Invariants: ids are ASCII letters, digits, `_` and `-` (they go into keys and logs;
//! environment variables can set only such names, lowercased); every entry sets
//! `enabled`, `brokers`, `instruments` and `params`, and may set `product` and `variety`
//! (Kite names, used only for Zerodha orders; absent, `[zerodha]`'s apply); instruments
//! are registry symbols, checked against the registry at start-up, not here.

use std::collections::{BTreeMap, BTreeSet};

use config::{ConfigError, Value, ValueKind};
use serde::{Deserialize, Serialize};

use super::error::Problem;
use super::messages::describe_config_error;
use super::params::{StrategyParams, from_config_value};
use super::trading::broker_names;
use super::zerodha::{optional_product, optional_variety};
use crate::kite::orders::{Product, Variety};
use crate::messages::Broker;

/// The keys every `[strategies.<id>]` entry sets (`product` and `variety` are optional).
const KEYS: [&str; 4] = ["enabled", "brokers", "instruments", "params"];

/// One strategy instance: `[strategies.<id>]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StrategyConfig {
    /// Run it? A disabled strategy is still checked, but not run.
    pub enabled: bool,
    /// The broker namespaces its signals go to; each must be in `brokers.enabled`.
    #[serde(deserialize_with = "broker_names")]
    pub brokers: Vec<Broker>,
    /// Symbols of the instrument registry it trades (`"RELIANCE"`, `"NSE:INFY"`).
    pub instruments: Vec<String>,
    /// Its kind and that kind's parameters.
    pub params: StrategyParams,
    /// Kite product of its Zerodha orders; `None` for `zerodha.product`.
    #[serde(
        default,
        deserialize_with = "optional_product",
        skip_serializing_if = "Option::is_none"
    )]
    pub product: Option<Product>,
    /// Kite variety of its Zerodha orders; `None` for `zerodha.variety`.
    #[serde(
        default,
        deserialize_with = "optional_variety",
        skip_serializing_if = "Option::is_none"
    )]
    pub variety: Option<Variety>,
    /// Zerodha only: send its MARKET orders to Kite as LIMIT orders at the signal's last
    /// price ± this percentage (a buy above, a sell below), rounded to the instrument's
    /// tick size towards the last price; `None`: MARKET with `zerodha.market_protection`.
    #[serde(
        default,
        with = "rust_decimal::serde::str_option",
        skip_serializing_if = "Option::is_none"
    )]
    pub limit_buffer_pct: Option<rust_decimal::Decimal>,
}

/// `StrategyConfig` without `params`, which is deserialised on its own.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Head {
    enabled: bool,
    #[serde(deserialize_with = "broker_names")]
    brokers: Vec<Broker>,
    instruments: Vec<String>,
    #[serde(default, deserialize_with = "optional_product")]
    product: Option<Product>,
    #[serde(default, deserialize_with = "optional_variety")]
    variety: Option<Variety>,
    #[serde(default)]
    limit_buffer_pct: Option<rust_decimal::Decimal>,
}

/// Deserialises the schema-checked `strategies` table, recording every problem; `None`
/// if there was one.
pub(super) fn parse(
    strategies: Value,
    problems: &mut Vec<Problem>,
) -> Option<BTreeMap<String, StrategyConfig>> {
    let ValueKind::Table(entries) = strategies.kind else {
        problems.push(Problem::new("strategies", "expected a table"));
        return None;
    };
    let before = problems.len();
    let mut out = BTreeMap::new();
    for (id, entry) in entries.into_iter().collect::<BTreeMap<_, _>>() {
        if let Some(config) = parse_entry(&id, entry, problems) {
            out.insert(id, config);
        }
    }
    (problems.len() == before).then_some(out)
}

fn parse_entry(id: &str, entry: Value, problems: &mut Vec<Problem>) -> Option<StrategyConfig> {
    let at = format!("strategies.{id}");
    let ValueKind::Table(mut table) = entry.kind else {
        problems.push(Problem::new(at, "expected a table"));
        return None;
    };
    let missing: Vec<&str> = KEYS
        .into_iter()
        .filter(|key| !table.contains_key(*key))
        .collect();
    for key in &missing {
        let message = "missing: every strategy sets enabled, brokers, instruments and params";
        problems.push(Problem::new(format!("{at}.{key}"), message));
    }
    let params = table.remove("params").and_then(|value| {
        from_config_value(&value, &format!("{at}.params"))
            .map_err(|found| problems.extend(found))
            .ok()
    });
    if !missing.is_empty() {
        return None;
    }
    let head = Head::deserialize(Value::new(None, ValueKind::Table(table)))
        .map_err(|e: ConfigError| problems.push(describe_config_error(&at, e)))
        .ok()?;
    Some(StrategyConfig {
        enabled: head.enabled,
        brokers: head.brokers,
        instruments: head.instruments,
        params: params?,
        product: head.product,
        variety: head.variety,
        limit_buffer_pct: head.limit_buffer_pct,
    })
}

/// Makes a layer that sets `strategies.<id>.params.kind` replace the lower layers'
/// `params` of that strategy instead of merging with them: removes those `params` from
/// `defaults` (when the file or the environment sets the kind) and from `file` (when
/// the environment does). `env_names` maps the dotted keys the environment sets to
/// their variables. Returns whether `defaults` and `file` changed.
pub(super) fn replace_params_on_kind(
    defaults: &mut toml::Table,
    file: Option<&mut toml::Table>,
    env_names: &BTreeMap<String, String>,
) -> (bool, bool) {
    let from_env: BTreeSet<String> = env_names
        .keys()
        .filter_map(|key| {
            let id = key
                .strip_prefix("strategies.")?
                .strip_suffix(".params.kind")?;
            Some(id.to_owned())
        })
        .collect();
    let mut from_file = BTreeSet::new();
    let mut file_changed = false;
    if let Some(file) = file {
        from_file = ids_setting_kind(file);
        file_changed = drop_params(file, &from_env);
    }
    let above_defaults = &from_file | &from_env;
    (drop_params(defaults, &above_defaults), file_changed)
}

/// The ids of the strategies whose `params.kind` `layer` sets.
fn ids_setting_kind(layer: &toml::Table) -> BTreeSet<String> {
    let Some(strategies) = layer.get("strategies").and_then(toml::Value::as_table) else {
        return BTreeSet::new();
    };
    strategies
        .iter()
        .filter(|(_, entry)| {
            entry
                .get("params")
                .and_then(|params| params.get("kind"))
                .is_some()
        })
        .map(|(id, _)| id.clone())
        .collect()
}

/// Removes `params` from the strategies `ids` of `layer`; true if any was removed.
fn drop_params(layer: &mut toml::Table, ids: &BTreeSet<String>) -> bool {
    let Some(strategies) = layer
        .get_mut("strategies")
        .and_then(toml::Value::as_table_mut)
    else {
        return false;
    };
    let mut changed = false;
    for id in ids {
        if let Some(entry) = strategies.get_mut(id).and_then(toml::Value::as_table_mut) {
            changed |= entry.remove("params").is_some();
        }
    }
    changed
}

/// Every broken rule of the strategies, keyed by setting. `enabled_brokers` is
/// `brokers.enabled`; only enabled strategies must use enabled brokers.
pub(super) fn problems(
    strategies: &BTreeMap<String, StrategyConfig>,
    enabled_brokers: &[Broker],
) -> Vec<Problem> {
    let mut out = Vec::new();
    for (id, config) in strategies {
        let at = format!("strategies.{id}");
        let valid_id = !id.is_empty()
            && id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
        if !valid_id {
            let message =
                format!("strategy id {id:?} must be non-empty ASCII letters, digits, '_' and '-'");
            out.push(Problem::new("strategies", message));
        }
        if config.brokers.is_empty() {
            out.push(Problem::new(
                format!("{at}.brokers"),
                "must not be empty; e.g. [\"paper\"]",
            ));
        }
        for (i, broker) in config.brokers.iter().enumerate() {
            let key = format!("{at}.brokers[{i}]");
            if let Some(first) = config.brokers.iter().position(|b| b == broker)
                && first < i
            {
                let message = format!("\"{broker}\" is already listed at {at}.brokers[{first}]");
                out.push(Problem::new(key, message));
            } else if config.enabled && !enabled_brokers.contains(broker) {
                let message = format!(
                    "\"{broker}\" is not in brokers.enabled; enable it there, or remove it \
                     here (or disable the strategy)"
                );
                out.push(Problem::new(key, message));
            }
        }
        instruments(&mut out, &at, &config.instruments);
        // Kite's limit price protection refuses a limit far from the market: keep it small.
        if let Some(buffer) = config.limit_buffer_pct
            && (buffer <= rust_decimal::Decimal::ZERO || buffer > rust_decimal::Decimal::from(5))
        {
            let message = format!(
                "must be above 0 and at most 5 (percent of the last price; the exchange refuses \
                 limits far from the market), got {buffer}"
            );
            out.push(Problem::new(format!("{at}.limit_buffer_pct"), message));
        }
    }
    out
}

/// `instruments`: not empty, no blank symbol, no symbol twice.
fn instruments(out: &mut Vec<Problem>, at: &str, instruments: &[String]) {
    if instruments.is_empty() {
        let message = "must not be empty; list the symbols it trades, e.g. [\"RELIANCE\"]";
        out.push(Problem::new(format!("{at}.instruments"), message));
    }
    for (i, symbol) in instruments.iter().enumerate() {
        let key = format!("{at}.instruments[{i}]");
        if symbol.trim().is_empty() {
            out.push(Problem::new(
                key,
                "must be a symbol of the instrument registry, got \"\"",
            ));
        } else if let Some(first) = instruments.iter().position(|s| s.trim() == symbol.trim())
            && first < i
        {
            let message = format!("{symbol:?} is already listed at {at}.instruments[{first}]");
            out.push(Problem::new(key, message));
        }
    }
}
