//! The exceptions to "a key is of its default's kind", and the value conversions they need.
//!
//! `config/default.toml` gives every setting's kind by example; these tables say where
//! that is not enough:
//! - open maps ([`OPEN_MAPS`]): free names, every value a string;
//! - templated maps ([`TEMPLATED_MAPS`]): free names, each entry following a template;
//! - decimals ([`DECIMALS`]): money, rates and percentages, written as a string
//!   (`"0.0003"`, exact) or a number (read through its shortest decimal text);
//! - switchable tables ([`OFF_TABLES`]): any key may be `"off"`, which leaves it unset;
//! - moved keys ([`MOVED`]): keys that are not settings but look as if they were, with
//!   where to set the value instead.
//!
//! Patterns are dotted paths in which `*` matches one whole segment. Invariant: every
//! conversion is exact or refused; nothing is rounded and no kind is guessed except for
//! environment strings inside free tables (see [`guess_env_scalar`]).

use std::str::FromStr;

use config::{Value, ValueKind};
use rust_decimal::Decimal;

/// Settings whose values are secrets: a problem with one says what kind of value it got,
/// never the value (`api.control_token = 12345678901234567` is still a token).
pub(super) const SECRETS: &[&str] = &[
    "redis.url",
    "api.control_token",
    "kite.api_key",
    "kite.api_secret",
    "kite.access_token",
    "alerts.telegram.bot_token",
    "alerts.webhook.url",
];

/// True if the value at `path` is a secret: one of [`SECRETS`], or a `kafka.client`
/// property whose name suggests a credential.
pub(super) fn is_secret(path: &str) -> bool {
    SECRETS.contains(&path)
        || path.starts_with("alerts.webhook.headers.")
        || path
            .strip_prefix("kafka.client.")
            .is_some_and(super::sections::is_sensitive_property)
}

/// Tables whose keys are free-form (librdkafka properties, underlyings); only their values
/// are checked (as strings here; their own types when deserialised).
pub(super) const OPEN_MAPS: &[&str] = &[
    "kafka.client",
    "fno.freeze_quantities",
    "fno.underlyings",
    "alerts.webhook.headers",
];

/// Where the schema of a templated map's entries comes from.
pub(super) enum Template {
    /// A table of the defaults; every key of an entry is optional and the entry is meant
    /// to be merged onto that table.
    At(&'static str),
    /// TOML text: the entries of the map in the defaults are examples, not a template.
    Inline(&'static str),
}

/// A table whose keys are free names and whose entries follow a [`Template`].
pub(super) struct TemplatedMap {
    /// Dotted path of the map.
    pub(super) path: &'static str,
    /// The schema of one entry.
    pub(super) template: Template,
    /// A table-valued key that is not in the template continues the entry's name
    /// (`consumer = { strategy_runner = { .. } }` is the entry `consumer.strategy_runner`);
    /// otherwise such a key is unknown.
    pub(super) dotted_names: bool,
    /// Keys of an entry whose value is a table passed on unchecked: its keys depend on
    /// another value and are checked when deserialised.
    pub(super) free: &'static [&'static str],
}

/// The schema of one `[strategies.<id>]` entry; `params` depends on its `kind`.
/// `product`, `variety` and `limit_buffer_pct` are optional (checked when deserialised).
pub(super) const STRATEGY_TEMPLATE: &str = "enabled = true\nbrokers = [\"paper\"]\n\
                                 instruments = [\"RELIANCE\"]\nparams = {}\n\
                                 product = \"MIS\"\nvariety = \"regular\"\n\
                                 limit_buffer_pct = \"0.5\"\n";

/// The templated maps of the settings.
pub(super) const TEMPLATED_MAPS: &[TemplatedMap] = &[
    TemplatedMap {
        path: "supervision.actors",
        template: Template::At("supervision.default"),
        dotted_names: true,
        free: &[],
    },
    TemplatedMap {
        path: "strategies",
        template: Template::Inline(STRATEGY_TEMPLATE),
        dotted_names: false,
        free: &["params"],
    },
];

/// Settings that are decimal numbers (their default is a string such as `"0.0003"`).
pub(super) const DECIMALS: &[&str] = &[
    "risk.*.max_order_value",
    "risk.*.price_band_pct",
    "risk.*.daily_loss_limit",
    "risk.*.max_premium_at_risk",
    "risk.*.max_notional",
    "paper.slippage_bps",
    "paper.max_fill_fraction",
    "paper.charges.gst_rate",
    "paper.charges.*.*",
    "portfolio.starting_cash",
    "simulator.volatility",
    "simulator.risk_free_rate",
    "simulator.futures_basis",
];

/// Tables any of whose keys may be `"off"` (case-insensitive): the key is then left
/// unset, which for a risk limit turns its rule off.
pub(super) const OFF_TABLES: &[&str] = &["risk.*"];

/// The word that switches a key of an [`OFF_TABLES`] table off.
pub(super) const OFF: &str = "off";

/// Keys that are not settings, with what to do instead.
pub(super) const MOVED: &[(&str, &str)] = &[(
    "paper.starting_cash",
    "set portfolio.starting_cash instead: the paper venue and the portfolios start from \
     the same cash",
)];

/// True if the dotted `path` matches `pattern` (`*` matches one whole segment).
pub(super) fn matches(pattern: &str, path: &str) -> bool {
    let mut segments = path.split('.');
    let all = pattern.split('.').all(|want| {
        segments
            .next()
            .is_some_and(|got| want == "*" || want == got)
    });
    all && segments.next().is_none()
}

/// True if `path` matches one of `patterns`.
pub(super) fn any_matches(patterns: &[&str], path: &str) -> bool {
    patterns.iter().any(|pattern| matches(pattern, path))
}

/// True if the setting at `path` may be switched off (its table is in [`OFF_TABLES`]).
pub(super) fn may_be_off(path: &str) -> bool {
    path.rsplit_once('.')
        .is_some_and(|(table, _)| any_matches(OFF_TABLES, table))
}

/// True if `kind` is the string `"off"` (trimmed, any case).
pub(super) fn is_off(kind: &ValueKind) -> bool {
    matches!(kind, ValueKind::String(s) if s.trim().eq_ignore_ascii_case(OFF))
}

/// A decimal written as a string or a number, as its exact decimal text; `None` if it is
/// neither, or not a decimal (`"abc"`, `NaN`, beyond `Decimal`'s 28 digits).
pub(super) fn decimal(kind: &ValueKind) -> Option<ValueKind> {
    let text = match kind {
        ValueKind::String(s) => s.trim().to_owned(),
        ValueKind::I64(i) => i.to_string(),
        ValueKind::U64(u) => u.to_string(),
        ValueKind::I128(i) => i.to_string(),
        ValueKind::U128(u) => u.to_string(),
        // Display gives the shortest text that reads back as the same float, so 0.05
        // is "0.05", never 0.05000000000000000277.
        ValueKind::Float(f) if f.is_finite() => f.to_string(),
        _ => return None,
    };
    Decimal::from_str(&text).ok()?;
    Some(ValueKind::String(text))
}

/// An environment string inside a free table, as the scalar it reads as: an integer, a
/// boolean, else the string itself (decimal fields accept strings, so `"0.001"` stays).
pub(super) fn guess_env_scalar(text: &str) -> ValueKind {
    let trimmed = text.trim();
    if let Ok(i) = trimmed.parse::<i64>() {
        ValueKind::I64(i)
    } else if let Ok(b) = trimmed.to_ascii_lowercase().parse::<bool>() {
        ValueKind::Boolean(b)
    } else {
        ValueKind::String(text.to_owned())
    }
}

/// An environment variable's comma-separated list as array elements, each trimmed;
/// an empty (or all-blank) string is the empty list.
pub(super) fn split_list(list: &str) -> Vec<Value> {
    if list.trim().is_empty() {
        return Vec::new();
    }
    list.split(',')
        .map(|item| Value::new(None, ValueKind::String(item.trim().to_owned())))
        .collect()
}
