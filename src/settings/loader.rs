//! Layering and parsing: embedded defaults < optional file < environment.
//!
//! The `config` crate merges the three layers; [`schema`] then checks the merged tree
//! against the embedded `config/default.toml`, which lists every setting and so doubles
//! as the schema. That check reports unknown keys (with a "did you mean" hint) and
//! values of the wrong kind, and turns environment strings into numbers where the
//! default is a number (and comma-separated strings into arrays where it is an array);
//! only then is each section deserialised, so range errors and
//! bad enum names are reported per key too. One exception to plain merging: a layer that
//! sets `strategies.<id>.params.kind` replaces the lower layers' `params` of that
//! strategy (see [`strategies`](super::strategies)). Invariants: every problem found is
//! reported, not just the first; nothing here panics.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;

use config::{Config, ConfigError, Environment, File, FileFormat, Source, Value};
use serde::de::DeserializeOwned;

use super::Settings;
use super::error::{Problem, SettingsError};
use super::messages::describe_config_error;
use super::schema;
use super::schema_rules;
use super::{strategies, trading};

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

/// Merges the layers and deserialises them, without [`Settings::validate`] and without
/// salvaging (tests of the loading alone).
#[cfg(test)]
pub(super) fn load_layers(
    file: Option<&Path>,
    env: &HashMap<String, String>,
) -> Result<Settings, SettingsError> {
    let file = match file.map(read_settings_file) {
        Some(Ok(file)) => Some(file),
        Some(Err(problem)) => {
            let mut problems = EnvLayer::new(env).problems;
            problems.push(problem);
            return Err(SettingsError::new(problems));
        }
        None => None,
    };
    load_parsed(file, env)
}

/// What [`load_salvaged`] made of the layers.
pub(super) struct Salvaged {
    /// The settings with every key that could not be loaded left at its default, or
    /// `None` if even that did not load (an unreadable file, say).
    pub(super) settings: Option<Settings>,
    /// Every loading problem (unknown keys, values of the wrong type), all passes.
    pub(super) problems: Vec<Problem>,
    /// The settings (dotted paths) left at their defaults because of those problems.
    pub(super) replaced: BTreeSet<String>,
}

impl Salvaged {
    /// True if `problem` is about, or mentions, a setting that was left at its default:
    /// a range rule checked against a default the operator did not write says nothing
    /// about their file.
    pub(super) fn touches_replaced(&self, problem: &Problem) -> bool {
        self.replaced.iter().any(|key| {
            let under = |text: &str| {
                text == key
                    || text
                        .strip_prefix(key.as_str())
                        .is_some_and(|rest| rest.starts_with(['.', '[']))
            };
            under(&problem.key) || problem.message.contains(key.as_str())
        })
    }
}

/// Most loading passes: each one takes the keys the previous one could not load out of
/// the file and environment layers (a section that failed to deserialise hides the
/// problems of its other keys until the first one is out of the way).
const MAX_PASSES: usize = 4;

/// Loads the layers as far as they go, so that a wrong type never hides a range problem
/// elsewhere: after a pass with problems, every key it named is taken out of the file and
/// environment layers (the embedded default shows through) and loading is tried again.
/// The caller validates the returned settings and drops the problems that
/// [`Salvaged::touches_replaced`].
pub(super) fn load_salvaged(file: Option<&Path>, env: &HashMap<String, String>) -> Salvaged {
    let mut salvaged = Salvaged {
        settings: None,
        problems: Vec::new(),
        replaced: BTreeSet::new(),
    };
    let mut file = match file.map(read_settings_file) {
        Some(Ok(file)) => Some(file),
        Some(Err(problem)) => {
            salvaged.problems = EnvLayer::new(env).problems;
            salvaged.problems.push(problem);
            return salvaged;
        }
        None => None,
    };
    let mut env = env.clone();
    for _ in 0..MAX_PASSES {
        let error = match load_parsed(file.clone(), &env) {
            Ok(settings) => {
                salvaged.settings = Some(settings);
                return salvaged;
            }
            Err(error) => error,
        };
        let mut progress = false;
        for problem in error.problems {
            if salvaged.problems.contains(&problem) {
                continue;
            }
            if salvaged.touches_replaced(&problem) {
                // Taking the key out did not help (a strategy entry needs all its keys):
                // take out the table around it instead.
                let parent = problem.key.rsplit_once('.').map(|(parent, _)| parent);
                if let Some(parent) = parent.filter(|p| !salvaged.replaced.contains(*p)) {
                    progress |= take_out(&mut file, &mut env, parent);
                    salvaged.replaced.insert(parent.to_owned());
                }
                continue;
            }
            // An environment variable's own problem (a malformed name) names it.
            if env.remove(&problem.key).is_some() {
                progress = true;
            } else if let Some(key) = setting_of(&problem.key) {
                progress |= take_out(&mut file, &mut env, &key);
                salvaged.replaced.insert(key);
            }
            salvaged.problems.push(problem);
        }
        if !progress {
            break;
        }
    }
    salvaged
}

/// Takes the setting `key` out of the file and environment layers, so the default shows
/// through; a strategy entry's required key gets the strategy template's value instead.
/// True if a layer changed.
fn take_out(
    file: &mut Option<(String, toml::Table)>,
    env: &mut HashMap<String, String>,
    key: &str,
) -> bool {
    let from_env = remove_env(env, key);
    let Some((text, table)) = file.as_mut() else {
        return from_env;
    };
    let changed = match template_value(key) {
        Some((id, field, value)) => set_strategy_key(table, id, field, value),
        None => remove_path(table, key),
    };
    // The text is what gets merged: render the table without the key.
    let rendered = changed
        && toml::to_string(table).is_ok_and(|rendered| {
            *text = rendered;
            true
        });
    from_env || rendered
}

/// For `strategies.<id>.<field>` with a required `field`: the id, field and the template's
/// value of it.
fn template_value(key: &str) -> Option<(&str, &str, toml::Value)> {
    let rest = key.strip_prefix("strategies.")?;
    let (id, field) = rest.split_once('.')?;
    if !["enabled", "brokers", "instruments"].contains(&field) {
        return None;
    }
    let template: toml::Table = toml::from_str(schema_rules::STRATEGY_TEMPLATE).ok()?;
    Some((id, field, template.get(field)?.clone()))
}

/// Sets `strategies.<id>.<field>` in the file's table; true if it changed.
fn set_strategy_key(table: &mut toml::Table, id: &str, field: &str, value: toml::Value) -> bool {
    let strategies = table
        .entry("strategies")
        .or_insert_with(|| toml::Value::Table(toml::Table::new()));
    let Some(entry) = strategies.as_table_mut().map(|s| {
        s.entry(id)
            .or_insert_with(|| toml::Value::Table(toml::Table::new()))
    }) else {
        return false;
    };
    match entry.as_table_mut() {
        Some(entry) => entry.insert(field.to_owned(), value.clone()) != Some(value),
        None => false,
    }
}

/// The setting a loading problem is keyed by: `feed.subscriptions[1]` is the list
/// `feed.subscriptions`; `(file)`, `(defaults)` and `(config)` are no setting.
fn setting_of(key: &str) -> Option<String> {
    if key.is_empty() || key.starts_with('(') {
        return None;
    }
    let key = key.split('[').next().unwrap_or(key);
    Some(key.to_owned())
}

/// Removes the variables that set `key` or a key under it; true if there was one.
fn remove_env(env: &mut HashMap<String, String>, key: &str) -> bool {
    let before = env.len();
    env.retain(|name, _| {
        let upper = name.to_ascii_uppercase();
        let Some(rest) = upper.strip_prefix(ENV_PREFIX) else {
            return true;
        };
        let dotted = rest.to_ascii_lowercase().replace("__", ".");
        !(dotted == key || dotted.starts_with(&format!("{key}.")))
    });
    env.len() != before
}

/// Removes the value at dotted `path` from `table`, where a table's key may itself hold
/// dots (`supervision.actors."consumer.strategy_runner"`); true if something was removed.
fn remove_path(table: &mut toml::Table, path: &str) -> bool {
    if table.remove(path).is_some() {
        return true;
    }
    let keys: Vec<String> = table
        .keys()
        .filter(|k| path.starts_with(&format!("{k}.")))
        .cloned()
        .collect();
    keys.iter().any(|k| {
        let rest = &path[k.len() + 1..];
        table
            .get_mut(k)
            .and_then(toml::Value::as_table_mut)
            .is_some_and(|inner| remove_path(inner, rest))
    })
}

/// Merges the defaults, the parsed file (its text and table) and `env`, and deserialises
/// them, without [`Settings::validate`].
fn load_parsed(
    mut file: Option<(String, toml::Table)>,
    env: &HashMap<String, String>,
) -> Result<Settings, SettingsError> {
    let schema: toml::Table = toml::from_str(DEFAULTS).map_err(|e| {
        SettingsError::new(vec![Problem::new("(defaults)", toml_message(DEFAULTS, &e))])
    })?;
    let env = EnvLayer::new(env);
    if !env.problems.is_empty() {
        return Err(SettingsError::new(env.problems));
    }
    let problems = Vec::new();
    // A layer that sets a strategy's params.kind replaces the params below it.
    let mut defaults = schema.clone();
    let (defaults_changed, file_changed) = strategies::replace_params_on_kind(
        &mut defaults,
        file.as_mut().map(|(_, table)| table),
        &env.names,
    );
    let defaults = layer_text(DEFAULTS, &defaults, defaults_changed)?;
    let mut builder = Config::builder().add_source(File::from_str(&defaults, FileFormat::Toml));
    if let Some((text, table)) = &file {
        let text = layer_text(text, table, file_changed)?;
        builder = builder.add_source(File::from_str(&text, FileFormat::Toml));
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
    let service = parse_section(&mut clean, "service", &mut problems);
    let log = parse_section(&mut clean, "log", &mut problems);
    let api = parse_section(&mut clean, "api", &mut problems);
    let kafka = parse_section(&mut clean, "kafka", &mut problems);
    let retry = parse_section(&mut clean, "retry", &mut problems);
    let topics = parse_section(&mut clean, "topics", &mut problems);
    let redis = parse_section(&mut clean, "redis", &mut problems);
    let supervision = parse_section(&mut clean, "supervision", &mut problems);
    let instruments = parse_section(&mut clean, "instruments", &mut problems);
    let market_hours = parse_section(&mut clean, "market_hours", &mut problems);
    let kite = parse_section(&mut clean, "kite", &mut problems);
    let feed = parse_section(&mut clean, "feed", &mut problems);
    let simulator = parse_section(&mut clean, "simulator", &mut problems);
    let fno = parse_section(&mut clean, "fno", &mut problems);
    let alerts = parse_section(&mut clean, "alerts", &mut problems);
    let trading = trading::parse(&mut clean, &mut problems);
    let sections = (
        service,
        log,
        api,
        kafka,
        retry,
        topics,
        redis,
        supervision,
        instruments,
        market_hours,
        kite,
        feed,
        simulator,
        fno,
        trading,
        alerts,
    );
    let (
        Some(service),
        Some(log),
        Some(api),
        Some(kafka),
        Some(retry),
        Some(topics),
        Some(redis),
        Some(supervision),
        Some(instruments),
        Some(market_hours),
        Some(kite),
        Some(feed),
        Some(simulator),
        Some(fno),
        Some(trading),
        Some(alerts),
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
        api,
        kafka,
        retry,
        topics,
        redis,
        supervision,
        instruments,
        market_hours,
        kite,
        feed,
        simulator,
        brokers: trading.brokers,
        zerodha: trading.zerodha,
        fno,
        strategies: trading.strategies,
        risk: trading.risk,
        paper: trading.paper,
        portfolio: trading.portfolio,
        alerts,
    })
}

/// Deserialises one section that passed the schema check; `None` if it did not (already
/// reported) or if deserialising fails (reported here).
pub(super) fn parse_section<T: DeserializeOwned>(
    clean: &mut BTreeMap<String, Value>,
    name: &str,
    problems: &mut Vec<Problem>,
) -> Option<T> {
    let value = clean.remove(name)?;
    T::deserialize(value)
        .map_err(|e: ConfigError| problems.push(describe_config_error(name, e)))
        .ok()
}

/// Reads and parses the settings file, so its problems name the file.
fn read_settings_file(path: &Path) -> Result<(String, toml::Table), Problem> {
    let shown = path.display();
    let text = std::fs::read_to_string(path)
        .map_err(|e| Problem::new("(file)", format!("cannot read {shown}: {e}")))?;
    let table = toml::from_str::<toml::Table>(&text).map_err(|e| {
        let message = toml_message(&text, &e);
        Problem::new("(file)", format!("{shown} is not valid TOML: {message}"))
    })?;
    Ok((text, table))
}

/// The TOML text of a layer: `text` as read, or `table` rendered if it was `changed`.
fn layer_text(text: &str, table: &toml::Table, changed: bool) -> Result<String, SettingsError> {
    if !changed {
        return Ok(text.to_owned());
    }
    toml::to_string(table).map_err(|e| {
        let message = format!("cannot render a settings layer: {e}");
        SettingsError::new(vec![Problem::new("(config)", message)])
    })
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
