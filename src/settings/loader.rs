//! Layering and parsing: embedded defaults < optional file < environment.
//!
//! The `config` crate merges the three layers; this module then checks the merged tree
//! against the embedded `config/default.toml`, which lists every setting and so doubles
//! as the schema. That check reports unknown keys (with a "did you mean" hint) and
//! values of the wrong kind, and turns environment strings into numbers where the
//! default is a number; only then is each section deserialised, so range errors and
//! bad enum names are reported per key too. Invariants: every problem found is
//! reported, not just the first; a value is never coerced across kinds (`1.5` is not
//! an integer, `true` is not `1`); nothing here panics.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use config::{Config, ConfigError, Environment, File, FileFormat, Source, Value, ValueKind};
use serde::de::DeserializeOwned;

use super::Settings;
use super::error::{Problem, SettingsError};
use super::messages::{closest, describe_config_error, describe_value};

/// The embedded defaults: every setting, with its default.
pub(super) const DEFAULTS: &str = include_str!("../../config/default.toml");

/// Environment variables starting with this (ASCII case-insensitively) are settings.
pub(super) const ENV_PREFIX: &str = "ALPHA_PANDA__";

/// Tables whose keys are free-form (librdkafka properties); only their values are checked.
const OPEN_MAPS: &[&str] = &["kafka.client"];

/// The `ALPHA_PANDA__*` variables of the process environment, plus a problem for each
/// one whose name or value is not valid UTF-8.
pub(super) fn process_env() -> (HashMap<String, String>, Vec<Problem>) {
    let mut env = HashMap::new();
    let mut problems = Vec::new();
    for (name, value) in std::env::vars_os() {
        let lossy = name.to_string_lossy().into_owned();
        if !lossy.to_ascii_uppercase().starts_with(ENV_PREFIX) {
            continue;
        }
        match (name.into_string(), value.into_string()) {
            (Ok(name), Ok(value)) => {
                env.insert(name, value);
            }
            _ => problems.push(Problem::new(lossy, "name or value is not valid UTF-8")),
        }
    }
    (env, problems)
}

/// Merges the layers and deserialises them, without [`Settings::validate`].
pub(super) fn load_layers(
    file: Option<&Path>,
    env: &HashMap<String, String>,
) -> Result<Settings, SettingsError> {
    let schema: toml::Table = toml::from_str(DEFAULTS).map_err(|e| {
        SettingsError::new(vec![Problem::new("(defaults)", toml_message(DEFAULTS, &e))])
    })?;
    let env = EnvLayer::new(env);
    let mut problems = env.problems.clone();

    let mut builder = Config::builder().add_source(File::from_str(DEFAULTS, FileFormat::Toml));
    if let Some(path) = file {
        match read_settings_file(path) {
            Ok(text) => builder = builder.add_source(File::from_str(&text, FileFormat::Toml)),
            Err(problem) => problems.push(problem),
        }
    }
    if !problems.is_empty() {
        return Err(SettingsError::new(problems));
    }
    let environment = Environment::with_prefix("alpha_panda")
        .prefix_separator("__")
        .separator("__")
        .source(Some(env.vars.clone()));
    let merged = builder
        .add_source(environment)
        .build()
        .and_then(|cfg| cfg.collect())
        .map_err(|e| SettingsError::new(vec![Problem::new("(config)", e.to_string())]))?;

    let mut walk = Walk {
        env_names: &env.names,
        problems,
    };
    let mut clean = BTreeMap::new();
    for (name, value) in merged.into_iter().collect::<BTreeMap<_, _>>() {
        let before = walk.problems.len();
        match schema.get(&name) {
            None => walk.unknown(
                &name,
                &name,
                &schema,
                matches!(value.kind, ValueKind::Table(_)),
            ),
            Some(expected) => {
                if let Some(value) = walk.check(&name, expected, value)
                    && walk.problems.len() == before
                {
                    clean.insert(name, value);
                }
            }
        }
    }
    let mut problems = walk.problems;
    let service = parse(&mut clean, "service", &mut problems);
    let log = parse(&mut clean, "log", &mut problems);
    let kafka = parse(&mut clean, "kafka", &mut problems);
    let retry = parse(&mut clean, "retry", &mut problems);
    let topics = parse(&mut clean, "topics", &mut problems);
    let redis = parse(&mut clean, "redis", &mut problems);
    let dedup = parse(&mut clean, "dedup", &mut problems);
    match (service, log, kafka, retry, topics, redis, dedup) {
        (
            Some(service),
            Some(log),
            Some(kafka),
            Some(retry),
            Some(topics),
            Some(redis),
            Some(dedup),
        ) if problems.is_empty() => Ok(Settings {
            service,
            log,
            kafka,
            retry,
            topics,
            redis,
            dedup,
        }),
        _ => {
            if problems.is_empty() {
                problems.push(Problem::new("(defaults)", "a section is missing"));
            }
            problems.sort_by(|a, b| a.key.cmp(&b.key));
            Err(SettingsError::new(problems))
        }
    }
}

/// Deserialises one section that passed the schema check; `None` if it did not (already
/// reported) or if deserialising fails (reported here).
fn parse<T: DeserializeOwned>(
    clean: &mut BTreeMap<String, Value>,
    name: &str,
    problems: &mut Vec<Problem>,
) -> Option<T> {
    let value = clean.remove(name)?;
    T::deserialize(value)
        .map_err(|e: ConfigError| problems.push(describe_config_error(name, e)))
        .ok()
}

/// Reads and syntax-checks the settings file, so its problems name the file.
fn read_settings_file(path: &Path) -> Result<String, Problem> {
    let shown = path.display();
    let text = std::fs::read_to_string(path)
        .map_err(|e| Problem::new("(file)", format!("cannot read {shown}: {e}")))?;
    toml::from_str::<toml::Table>(&text).map_err(|e| {
        let message = toml_message(&text, &e);
        Problem::new("(file)", format!("{shown} is not valid TOML: {message}"))
    })?;
    Ok(text)
}

/// A one-line description of a TOML syntax error, with its position. The parser's
/// message never quotes the offending line, which may hold a password.
fn toml_message(text: &str, error: &toml::de::Error) -> String {
    let message = error.message().trim().replace('\n', "; ");
    match error.span() {
        Some(span) => {
            let before = text.get(..span.start).unwrap_or(text);
            let line = before.matches('\n').count() + 1;
            let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
            format!("line {line}, column {column}: {message}")
        }
        None => message,
    }
}

/// The environment layer: the variables handed to `config`, and where each key came from.
struct EnvLayer {
    vars: config::Map<String, String>,
    /// Dotted key (`kafka.linger_ms`) to the variable that set it.
    names: BTreeMap<String, String>,
    problems: Vec<Problem>,
}

impl EnvLayer {
    fn new(env: &HashMap<String, String>) -> Self {
        let mut layer = Self {
            vars: config::Map::new(),
            names: BTreeMap::new(),
            problems: Vec::new(),
        };
        for (name, value) in env.iter().collect::<BTreeMap<_, _>>() {
            let upper = name.to_ascii_uppercase();
            let Some(rest) = upper.strip_prefix(ENV_PREFIX) else {
                continue;
            };
            let well_formed = rest
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
                && rest.split("__").all(|part| !part.is_empty());
            if !well_formed {
                layer.problems.push(Problem::new(
                    name.clone(),
                    "malformed name: expected ALPHA_PANDA__<SECTION>__<KEY> (ASCII letters, \
                     digits and '_', with \"__\" between levels)",
                ));
                continue;
            }
            let key = rest.to_ascii_lowercase().replace("__", ".");
            layer.names.insert(key, name.clone());
            layer.vars.insert(name.clone(), value.clone());
        }
        layer
    }
}

/// The schema check over the merged tree.
struct Walk<'a> {
    env_names: &'a BTreeMap<String, String>,
    problems: Vec<Problem>,
}

impl Walk<'_> {
    /// Checks `value` at `path` against the default `expected`; returns it with
    /// environment strings converted, or `None` after recording a problem.
    fn check(&mut self, path: &str, expected: &toml::Value, value: Value) -> Option<Value> {
        let kind = match (expected, value.kind) {
            (toml::Value::Table(schema), ValueKind::Table(table)) => {
                if OPEN_MAPS.contains(&path) {
                    let mut flat = config::Map::new();
                    self.flatten(path, "", table, &mut flat);
                    ValueKind::Table(flat)
                } else {
                    ValueKind::Table(self.check_table(path, schema, table))
                }
            }
            (toml::Value::Integer(_), kind) => {
                self.convert(path, "an integer", kind, |kind| match kind {
                    ValueKind::I64(_)
                    | ValueKind::U64(_)
                    | ValueKind::I128(_)
                    | ValueKind::U128(_) => Some(kind.clone()),
                    ValueKind::String(s) => {
                        let s = s.trim();
                        s.parse::<i64>()
                            .map(ValueKind::I64)
                            .or_else(|_| s.parse::<u64>().map(ValueKind::U64))
                            .ok()
                    }
                    _ => None,
                })?
            }
            (toml::Value::Float(_), kind) => {
                self.convert(path, "a number", kind, |kind| match kind {
                    ValueKind::Float(_) => Some(kind.clone()),
                    ValueKind::I64(i) => Some(ValueKind::Float(*i as f64)),
                    ValueKind::U64(u) => Some(ValueKind::Float(*u as f64)),
                    ValueKind::String(s) => s.trim().parse::<f64>().ok().map(ValueKind::Float),
                    _ => None,
                })?
            }
            (toml::Value::Boolean(_), kind) => {
                self.convert(path, "a boolean", kind, |kind| match kind {
                    ValueKind::Boolean(_) => Some(kind.clone()),
                    ValueKind::String(s) => s
                        .trim()
                        .to_ascii_lowercase()
                        .parse()
                        .ok()
                        .map(ValueKind::Boolean),
                    _ => None,
                })?
            }
            (toml::Value::Table(_), kind) => self.convert(path, "a table", kind, |_| None)?,
            (_, kind) => self.convert(path, "a string", kind, |kind| match kind {
                ValueKind::String(_) => Some(kind.clone()),
                _ => None,
            })?,
        };
        Some(Value::new(None, kind))
    }

    /// Applies `accept` or records `path: expected {what}, got {value}`.
    fn convert(
        &mut self,
        path: &str,
        what: &str,
        kind: ValueKind,
        accept: impl Fn(&ValueKind) -> Option<ValueKind>,
    ) -> Option<ValueKind> {
        let converted = accept(&kind);
        if converted.is_none() {
            let got = describe_value(&kind);
            self.problems
                .push(Problem::new(path, format!("expected {what}, got {got}")));
        }
        converted
    }

    fn check_table(
        &mut self,
        path: &str,
        schema: &toml::Table,
        table: config::Map<String, Value>,
    ) -> config::Map<String, Value> {
        let mut out = config::Map::new();
        for (key, value) in table.into_iter().collect::<BTreeMap<_, _>>() {
            let full = format!("{path}.{key}");
            match schema.get(&key) {
                None => self.unknown(&full, &key, schema, false),
                Some(expected) => {
                    if let Some(value) = self.check(&full, expected, value) {
                        out.insert(key, value);
                    }
                }
            }
        }
        out
    }

    /// Flattens nested tables of an open map into dotted names (`sasl = { mechanism = .. }`
    /// and `"sasl.mechanism"` are the same property) and turns scalars into strings.
    fn flatten(
        &mut self,
        path: &str,
        prefix: &str,
        table: config::Map<String, Value>,
        out: &mut config::Map<String, Value>,
    ) {
        for (key, value) in table.into_iter().collect::<BTreeMap<_, _>>() {
            let name = if prefix.is_empty() {
                key
            } else {
                format!("{prefix}.{key}")
            };
            let text = match value.kind {
                ValueKind::Table(inner) => {
                    self.flatten(path, &name, inner, out);
                    continue;
                }
                ValueKind::String(s) => s,
                ValueKind::I64(i) => i.to_string(),
                ValueKind::U64(u) => u.to_string(),
                ValueKind::I128(i) => i.to_string(),
                ValueKind::U128(u) => u.to_string(),
                ValueKind::Float(f) => f.to_string(),
                ValueKind::Boolean(b) => b.to_string(),
                other => {
                    let got = describe_value(&other);
                    let problem = format!("expected a string, got {got}");
                    self.problems
                        .push(Problem::new(format!("{path}.{name}"), problem));
                    continue;
                }
            };
            if out.insert(name.clone(), Value::new(None, text)).is_some() {
                let problem = "set twice (as a quoted dotted name and as a nested table)";
                self.problems
                    .push(Problem::new(format!("{path}.{name}"), problem));
            }
        }
    }

    /// Records that `path` (last segment `key`) is not a setting, naming the environment
    /// variables that set it and the closest known sibling in `schema`.
    fn unknown(&mut self, path: &str, key: &str, schema: &toml::Table, is_section: bool) {
        let mut message = if is_section {
            "unknown section"
        } else {
            "unknown key"
        }
        .to_owned();
        let below = format!("{path}.");
        let vars: Vec<&str> = self
            .env_names
            .iter()
            .filter(|(k, _)| *k == path || k.starts_with(&below))
            .map(|(_, name)| name.as_str())
            .collect();
        match vars.as_slice() {
            [] => {}
            [one] => message.push_str(&format!(" (from environment variable {one})")),
            many => message.push_str(&format!(
                " (from environment variables {})",
                many.join(", ")
            )),
        }
        if let Some(hint) = closest(key, schema.keys().map(String::as_str)) {
            message.push_str(&format!("; did you mean `{hint}`?"));
        }
        self.problems.push(Problem::new(path, message));
    }
}
