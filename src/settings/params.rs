//! A strategy's `params`: its `kind` and a free TOML table that the kind's factory reads
//! into its own typed parameters ([`StrategyParams::parse`]).
//!
//! Why a free table: strategy kinds are open (a user's binary registers its own, see
//! [`crate::strategy::StrategyRegistry`]), so the settings cannot know each kind's fields.
//! The loader checks only that `params` is a table with a string `kind`; the registry checks
//! the kind exists and its factory checks the fields, with problems keyed
//! `strategies.<id>.params.<field>` and worded like every other setting
//! (`expected an integer, got "x"`).
//!
//! Values keep the loader's coercions: an environment variable gives a string, and a
//! field typed as a number reads `"30"` as 30, as everywhere else in the settings.

use std::fmt;

use config::{Value, ValueKind};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::error::Problem;
use super::messages::{closest, describe_config_error};

/// `[strategies.<id>.params]`: the kind and its parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct StrategyParams {
    kind: String,
    values: toml::Table,
}

/// One problem with a strategy's parameters: the field (relative to `params`, empty for
/// the table itself) and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParamProblem {
    pub field: String,
    pub message: String,
}

/// Every problem a factory found in its parameters.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.lines())]
pub struct ParamsError {
    pub problems: Vec<ParamProblem>,
}

impl ParamsError {
    /// One problem with `field` (`""` for the table as a whole).
    pub fn field(field: impl Into<String>, message: impl Into<String>) -> Self {
        ParamsError {
            problems: vec![ParamProblem {
                field: field.into(),
                message: message.into(),
            }],
        }
    }

    /// Problems from `(field, message)` pairs; `Ok(())` when there are none.
    ///
    /// # Errors
    /// At least one pair was given.
    pub fn check(problems: Vec<(String, String)>) -> Result<(), ParamsError> {
        if problems.is_empty() {
            return Ok(());
        }
        Err(ParamsError {
            problems: problems
                .into_iter()
                .map(|(field, message)| ParamProblem { field, message })
                .collect(),
        })
    }

    /// The problems as settings problems under `at` (`strategies.<id>.params`).
    pub fn at(&self, at: &str) -> Vec<Problem> {
        self.problems
            .iter()
            .map(|p| match p.field.as_str() {
                "" => Problem::new(at, &p.message),
                field => Problem::new(format!("{at}.{field}"), &p.message),
            })
            .collect()
    }

    fn lines(&self) -> String {
        let lines: Vec<String> = self
            .problems
            .iter()
            .map(|p| match p.field.as_str() {
                "" => p.message.clone(),
                field => format!("{field}: {}", p.message),
            })
            .collect();
        lines.join("; ")
    }
}

impl StrategyParams {
    /// Parameters of `kind` with `values` (which must not hold `kind` itself).
    pub fn new(kind: impl Into<String>, values: toml::Table) -> Self {
        let mut values = values;
        values.remove("kind");
        StrategyParams {
            kind: kind.into(),
            values,
        }
    }

    /// Parses `text`, a TOML table with `kind` (tests and examples).
    ///
    /// # Errors
    /// Not TOML, or no string `kind`.
    pub fn from_toml(text: &str) -> Result<Self, ParamsError> {
        let table: toml::Table =
            toml::from_str(text).map_err(|e| ParamsError::field("", e.message().to_owned()))?;
        Self::from_table(table)
    }

    fn from_table(mut table: toml::Table) -> Result<Self, ParamsError> {
        match table.remove("kind") {
            Some(toml::Value::String(kind)) => Ok(StrategyParams::new(kind, table)),
            Some(other) => Err(ParamsError::field(
                "kind",
                format!("expected a string, got {other}"),
            )),
            None => Err(ParamsError::field("kind", "missing")),
        }
    }

    /// The strategy kind (`ema_cross`, or a kind a user's binary registered).
    pub fn kind(&self) -> &str {
        &self.kind
    }

    /// The parameters other than `kind`.
    pub fn values(&self) -> &toml::Table {
        &self.values
    }

    /// Reads the parameters into `T` (use `#[serde(deny_unknown_fields)]` so a misspelt
    /// field is reported, with a "did you mean" hint).
    ///
    /// # Errors
    /// Every field that is missing, unknown or of the wrong type, all at once, worded as
    /// the settings loader words them (`lookback: expected an integer, got "x"`).
    pub fn parse<T: DeserializeOwned>(&self) -> Result<T, ParamsError> {
        // serde stops at the first bad field: take each bad field out and read again, so
        // every bad field is reported; a field reported as missing ends the search.
        let mut values = self.values.clone();
        let mut problems: Vec<ParamProblem> = Vec::new();
        for _ in 0..=self.values.len() {
            match parse_once::<T>(&values) {
                Ok(parsed) if problems.is_empty() => return Ok(parsed),
                Ok(_) => break,
                Err(problem) => {
                    let seen = problems.iter().any(|p| p.field == problem.field);
                    let removed = values.remove(&problem.field).is_some();
                    if !seen {
                        problems.push(problem);
                    }
                    if seen || !removed {
                        break;
                    }
                }
            }
        }
        Err(ParamsError { problems })
    }
}

/// One read of `values` into `T`: the first problem serde meets, keyed by its field.
fn parse_once<T: DeserializeOwned>(values: &toml::Table) -> Result<T, ParamProblem> {
    let value = Value::new(None, ValueKind::Table(to_config(values)));
    T::deserialize(value).map_err(|e| {
        let problem = hint(describe_config_error("", e));
        let mut field = problem.key.trim_start_matches('.').to_owned();
        // serde names an unknown field only in its message: key the problem by it.
        if field.is_empty()
            && let Some(unknown) = problem
                .message
                .strip_prefix("unknown field `")
                .and_then(|rest| rest.split('`').next())
        {
            field = unknown.to_owned();
        }
        // and a missing one too.
        if field.is_empty()
            && let Some(missing) = problem
                .message
                .strip_prefix("missing field `")
                .and_then(|rest| rest.split('`').next())
        {
            field = missing.to_owned();
        }
        ParamProblem {
            field,
            message: problem.message,
        }
    })
}

/// A serde "unknown field `x`, expected one of `a`, `b`" made more helpful with the
/// closest candidate.
fn hint(mut problem: Problem) -> Problem {
    let message = &problem.message;
    if !message.starts_with("unknown field") {
        return problem;
    }
    let mut quoted = message.split('`').skip(1).step_by(2);
    if let Some(hint) = quoted.next().and_then(|unknown| closest(unknown, quoted)) {
        problem.message = format!("{message}; did you mean `{hint}`?");
    }
    problem
}

fn to_config(table: &toml::Table) -> config::Map<String, Value> {
    table
        .iter()
        .map(|(k, v)| (k.clone(), Value::new(None, to_config_kind(v))))
        .collect()
}

fn to_config_kind(value: &toml::Value) -> ValueKind {
    match value {
        toml::Value::String(s) => ValueKind::String(s.clone()),
        toml::Value::Integer(i) => ValueKind::I64(*i),
        toml::Value::Float(f) => ValueKind::Float(*f),
        toml::Value::Boolean(b) => ValueKind::Boolean(*b),
        toml::Value::Datetime(d) => ValueKind::String(d.to_string()),
        toml::Value::Array(items) => ValueKind::Array(
            items
                .iter()
                .map(|v| Value::new(None, to_config_kind(v)))
                .collect(),
        ),
        toml::Value::Table(t) => ValueKind::Table(to_config(t)),
    }
}

/// A merged configuration value as TOML (numbers that TOML cannot hold become strings).
pub(super) fn from_config(value: &Value) -> Option<toml::Value> {
    Some(match &value.kind {
        ValueKind::Nil => return None,
        ValueKind::Boolean(b) => toml::Value::Boolean(*b),
        ValueKind::I64(i) => toml::Value::Integer(*i),
        ValueKind::U64(u) => i64::try_from(*u)
            .map(toml::Value::Integer)
            .unwrap_or_else(|_| toml::Value::String(u.to_string())),
        ValueKind::I128(i) => i64::try_from(*i)
            .map(toml::Value::Integer)
            .unwrap_or_else(|_| toml::Value::String(i.to_string())),
        ValueKind::U128(u) => i64::try_from(*u)
            .map(toml::Value::Integer)
            .unwrap_or_else(|_| toml::Value::String(u.to_string())),
        ValueKind::Float(f) => toml::Value::Float(*f),
        ValueKind::String(s) => toml::Value::String(s.clone()),
        ValueKind::Table(t) => toml::Value::Table(
            t.iter()
                .filter_map(|(k, v)| Some((k.clone(), from_config(v)?)))
                .collect(),
        ),
        ValueKind::Array(items) => {
            toml::Value::Array(items.iter().filter_map(from_config).collect())
        }
    })
}

/// Reads a merged `params` value; problems are keyed under `at`.
pub(super) fn from_config_value(value: &Value, at: &str) -> Result<StrategyParams, Vec<Problem>> {
    match from_config(value) {
        Some(toml::Value::Table(table)) => {
            StrategyParams::from_table(table).map_err(|e| match e.problems.first() {
                Some(p) if p.field == "kind" && p.message == "missing" => vec![Problem::new(
                    format!("{at}.kind"),
                    "missing; the strategy kind, e.g. \"ema_cross\"",
                )],
                _ => e.at(at),
            })
        }
        _ => Err(vec![Problem::new(at, "expected a table")]),
    }
}

impl Serialize for StrategyParams {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut table = toml::Table::new();
        table.insert("kind".into(), toml::Value::String(self.kind.clone()));
        table.extend(self.values.clone());
        table.serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for StrategyParams {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let table = toml::Table::deserialize(deserializer)?;
        StrategyParams::from_table(table).map_err(serde::de::Error::custom)
    }
}

impl fmt::Display for StrategyParams {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {}",
            self.kind,
            toml::Value::Table(self.values.clone())
        )
    }
}
