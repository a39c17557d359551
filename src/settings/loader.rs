//! Layering and parsing: embedded defaults < optional file < environment.
//!
//! The `config` crate merges the three layers; [`schema`] then checks the merged tree
//! against the embedded `config/default.toml`, which lists every setting and so doubles
//! as the schema. That check reports unknown keys (with a "did you mean" hint) and
//! values of the wrong kind, and turns environment strings into numbers where the
//! default is a number (and comma-separated strings into arrays where it is an array);
//! only then is each section deserialised, so range errors and
//! bad enum names are reported per key too. Invariants: every problem found is
//! reported, not just the first; nothing here panics.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use config::{Config, ConfigError, Environment, File, FileFormat, Source, Value};
use serde::de::DeserializeOwned;

use super::Settings;
use super::error::{Problem, SettingsError};
use super::messages::describe_config_error;
use super::schema;

/// The embedded defaults: every setting, with its default.
pub(super) const DEFAULTS: &str = include_str!("../../config/default.toml");

/// Environment variables starting with this (ASCII case-insensitively) are settings.
pub(super) const ENV_PREFIX: &str = "ALPHA_PANDA__";

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

    let (mut clean, mut problems) = schema::check_tree(&schema, merged, &env.names, problems);
    let service = parse(&mut clean, "service", &mut problems);
    let log = parse(&mut clean, "log", &mut problems);
    let kafka = parse(&mut clean, "kafka", &mut problems);
    let retry = parse(&mut clean, "retry", &mut problems);
    let topics = parse(&mut clean, "topics", &mut problems);
    let redis = parse(&mut clean, "redis", &mut problems);
    let dedup = parse(&mut clean, "dedup", &mut problems);
    let supervision = parse(&mut clean, "supervision", &mut problems);
    let instruments = parse(&mut clean, "instruments", &mut problems);
    let market_hours = parse(&mut clean, "market_hours", &mut problems);
    let feed = parse(&mut clean, "feed", &mut problems);
    let simulator = parse(&mut clean, "simulator", &mut problems);
    let sections = (
        service,
        log,
        kafka,
        retry,
        topics,
        redis,
        dedup,
        supervision,
        instruments,
        market_hours,
        feed,
        simulator,
    );
    let (
        Some(service),
        Some(log),
        Some(kafka),
        Some(retry),
        Some(topics),
        Some(redis),
        Some(dedup),
        Some(supervision),
        Some(instruments),
        Some(market_hours),
        Some(feed),
        Some(simulator),
    ) = sections
    else {
        if problems.is_empty() {
            problems.push(Problem::new("(defaults)", "a section is missing"));
        }
        problems.sort_by(|a, b| a.key.cmp(&b.key));
        return Err(SettingsError::new(problems));
    };
    if !problems.is_empty() {
        problems.sort_by(|a, b| a.key.cmp(&b.key));
        return Err(SettingsError::new(problems));
    }
    Ok(Settings {
        service,
        log,
        kafka,
        retry,
        topics,
        redis,
        dedup,
        supervision,
        instruments,
        market_hours,
        feed,
        simulator,
    })
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
