//! The schema check: the merged configuration tree against `config/default.toml`.
//!
//! Every key of the merged tree must exist in the defaults (else `unknown key`, with a
//! "did you mean" hint and the environment variables that set it), and its value must
//! be of the default's kind; environment strings are converted to the default's kind
//! (an integer, a number, a boolean). Arrays are checked element by element against the
//! kind of the default's first element (a string if the default is empty), each problem
//! keyed `key[i]`; an environment variable sets an array as one comma-separated string
//! (`ALPHA_PANDA__FEED__SUBSCRIPTIONS="RELIANCE:full,INFY:ltp"`, items trimmed, `""` the
//! empty list), which a settings file may not. The exceptions are listed in
//! [`schema_rules`](super::schema_rules):
//! - open maps (`kafka.client`): free names, every value a string;
//! - templated maps (`supervision.actors`, `strategies`): free names, each entry a table
//!   whose keys are keys of a template table (`supervision.default`, or a template
//!   written there), some of them free tables passed on unchecked (`params`);
//! - decimals (money, rates): a string or a number, kept as exact decimal text;
//! - switchable tables (`risk.paper`, `risk.zerodha`): any key may be `"off"`, which
//!   leaves it out.
//!
//! Invariants: every problem is recorded, not just the first; a value is never coerced
//! across kinds (`1.5` is not an integer, `true` is not `1`); a section with a problem
//! is left out of the result, so it is never deserialised half-checked.

use std::collections::BTreeMap;

use config::{Value, ValueKind};

use super::error::Problem;
use super::messages::{closest, describe_secret, describe_value};
use super::schema_rules::{
    self, DECIMALS, MOVED, OPEN_MAPS, TEMPLATED_MAPS, Template, TemplatedMap,
};

/// Checks each top-level section of `merged` against `schema`, appending to `problems`.
/// Returns the sections that passed, with environment strings converted.
pub(super) fn check_tree(
    schema: &toml::Table,
    merged: config::Map<String, Value>,
    env_names: &BTreeMap<String, String>,
    problems: Vec<Problem>,
) -> (BTreeMap<String, Value>, Vec<Problem>) {
    let mut walk = Walk {
        schema,
        env_names,
        problems,
    };
    let mut clean = BTreeMap::new();
    for (name, value) in sorted(merged) {
        let before = walk.problems.len();
        match schema.get(&name) {
            None => {
                let is_section = matches!(value.kind, ValueKind::Table(_));
                walk.unknown(&name, &name, schema, is_section);
            }
            Some(expected) => {
                if let Some(value) = walk.check(&name, expected, value)
                    && walk.problems.len() == before
                {
                    clean.insert(name, value);
                }
            }
        }
    }
    (clean, walk.problems)
}

/// The entries of a `config` table in name order, so problems come out in a stable order.
fn sorted(table: config::Map<String, Value>) -> BTreeMap<String, Value> {
    table.into_iter().collect()
}

/// The table at dotted `path` of `root`, if there is one.
fn table_at<'a>(root: &'a toml::Table, path: &str) -> Option<&'a toml::Table> {
    path.split('.')
        .try_fold(root, |table, key| table.get(key)?.as_table())
}

/// The schema check over the merged tree.
struct Walk<'a> {
    /// The whole schema, for looking up the templates of templated maps.
    schema: &'a toml::Table,
    /// Dotted key (`kafka.linger_ms`) to the environment variable that set it.
    env_names: &'a BTreeMap<String, String>,
    problems: Vec<Problem>,
}

impl Walk<'_> {
    /// Checks `value` at `path` against the default `expected`; returns it with
    /// environment strings converted, or `None` after recording a problem.
    fn check(&mut self, path: &str, expected: &toml::Value, value: Value) -> Option<Value> {
        // Where "off" is allowed it has been taken out already; say it is allowed.
        let or_off = if schema_rules::may_be_off(path) {
            " or \"off\""
        } else {
            ""
        };
        if schema_rules::any_matches(DECIMALS, path) {
            let what = format!("a decimal number{or_off}");
            let kind = self.convert(path, &what, value.kind, schema_rules::decimal)?;
            return Some(Value::new(None, kind));
        }
        let kind = match (expected, value.kind) {
            (toml::Value::Table(schema), ValueKind::Table(table)) => {
                if OPEN_MAPS.contains(&path) {
                    let mut flat = config::Map::new();
                    self.flatten(path, "", table, &mut flat);
                    ValueKind::Table(flat)
                } else if let Some(map) = TEMPLATED_MAPS.iter().find(|m| m.path == path) {
                    let template = self.template(map)?;
                    let mut entries = config::Map::new();
                    for (name, value) in sorted(table) {
                        self.check_entry(map, &name, false, &template, value, &mut entries);
                    }
                    ValueKind::Table(entries)
                } else {
                    ValueKind::Table(self.check_table(path, schema, table))
                }
            }
            (toml::Value::Integer(_), kind) => {
                let what = format!("an integer{or_off}");
                self.convert(path, &what, kind, |kind| match kind {
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
            (toml::Value::Array(defaults), kind) => {
                let items = match kind {
                    ValueKind::Array(items) => items,
                    ValueKind::String(list) if self.env_names.contains_key(path) => {
                        schema_rules::split_list(&list)
                    }
                    other => {
                        self.convert(path, "an array", other, |_| None);
                        return None;
                    }
                };
                // Elements are of the kind of the default's first; strings if it is empty.
                let element = defaults
                    .first()
                    .cloned()
                    .unwrap_or_else(|| toml::Value::String(String::new()));
                let checked = items
                    .into_iter()
                    .enumerate()
                    .filter_map(|(i, item)| self.check(&format!("{path}[{i}]"), &element, item))
                    .collect();
                ValueKind::Array(checked)
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
            let got = if schema_rules::is_secret(path) {
                describe_secret(&kind)
            } else {
                describe_value(&kind)
            };
            self.problems
                .push(Problem::new(path, format!("expected {what}, got {got}")));
        }
        converted
    }

    /// The schema of one entry of the templated map `map`, or `None` after recording
    /// that it is missing or malformed (a fault of the defaults, not of the user).
    fn template(&mut self, map: &TemplatedMap) -> Option<toml::Table> {
        let template = match map.template {
            Template::At(at) => table_at(self.schema, at).cloned(),
            Template::Inline(text) => toml::from_str(text).ok(),
        };
        if template.is_none() {
            let message = format!("the template of {} is missing or malformed", map.path);
            self.problems.push(Problem::new("(defaults)", message));
        }
        template
    }

    fn check_table(
        &mut self,
        path: &str,
        schema: &toml::Table,
        table: config::Map<String, Value>,
    ) -> config::Map<String, Value> {
        let mut out = config::Map::new();
        for (key, value) in sorted(table) {
            let full = format!("{path}.{key}");
            match schema.get(&key) {
                None => self.unknown(&full, &key, schema, false),
                Some(_) if schema_rules::may_be_off(&full) && schema_rules::is_off(&value.kind) => {
                    // Left out: the field is unset, its rule off.
                }
                Some(expected) => {
                    if let Some(value) = self.check(&full, expected, value) {
                        out.insert(key, value);
                    }
                }
            }
        }
        out
    }

    /// Checks the entry `name` of the templated map `map` into `out`, keyed by the
    /// whole name. If the map has dotted names, a table-valued key that is not in
    /// `template` continues the name: `consumer = { strategy_runner = { .. } }` (an
    /// unquoted dotted TOML key, or an environment variable, whose "__" always nests) is
    /// the entry `consumer.strategy_runner`, the same as the quoted key
    /// `"consumer.strategy_runner"`. `nested` is true when `name` was continued this way.
    fn check_entry(
        &mut self,
        map: &TemplatedMap,
        name: &str,
        nested: bool,
        template: &toml::Table,
        value: Value,
        out: &mut config::Map<String, Value>,
    ) {
        let path = map.path;
        let full = format!("{path}.{name}");
        let table = match value.kind {
            ValueKind::Table(table) => table,
            kind => {
                self.convert(&full, "a table", kind, |_| None);
                return;
            }
        };
        let mut entry = config::Map::new();
        let mut continued = false;
        for (key, value) in sorted(table) {
            let at = format!("{full}.{key}");
            match template.get(&key) {
                Some(_) if map.free.contains(&key.as_str()) => {
                    if let Some(value) = self.free_table(&at, value) {
                        entry.insert(key, value);
                    }
                }
                Some(expected) => {
                    if let Some(value) = self.check(&at, expected, value) {
                        entry.insert(key, value);
                    }
                }
                None if map.dotted_names && matches!(value.kind, ValueKind::Table(_)) => {
                    continued = true;
                    let longer = format!("{name}.{key}");
                    self.check_entry(map, &longer, true, template, value, out);
                }
                None => self.unknown(&at, &key, template, false),
            }
        }
        if entry.is_empty() && continued {
            return; // only a prefix of longer names, not an entry of its own
        }
        let Some(ValueKind::Table(existing)) = out.get_mut(name).map(|v| &mut v.kind) else {
            out.insert(name.to_owned(), Value::new(None, ValueKind::Table(entry)));
            return;
        };
        // The same name written both quoted and nested: merge, unless a key is set
        // twice. The environment always nests, and it overrides the file.
        for (key, value) in entry {
            let at = format!("{full}.{key}");
            let Some(slot) = existing.get_mut(&key) else {
                existing.insert(key, value);
                continue;
            };
            if !self.env_names.contains_key(&at) {
                let problem = "set twice (as a quoted dotted name and as a nested table)";
                self.problems.push(Problem::new(at, problem));
            } else if nested {
                *slot = value;
            }
        }
    }

    /// A free table at `path`, passed on unchecked except that it must be a table and
    /// that the values environment variables set in it are read as the scalars they
    /// look like (`"20"` an integer), since their kinds are unknown here.
    fn free_table(&mut self, path: &str, value: Value) -> Option<Value> {
        let table = match value.kind {
            ValueKind::Table(table) => table,
            kind => {
                self.convert(path, "a table", kind, |_| None);
                return None;
            }
        };
        let mut out = config::Map::new();
        for (key, value) in table {
            let kind = match value.kind {
                ValueKind::String(s) if self.env_names.contains_key(&format!("{path}.{key}")) => {
                    schema_rules::guess_env_scalar(&s)
                }
                kind => kind,
            };
            out.insert(key, Value::new(None, kind));
        }
        Some(Value::new(None, ValueKind::Table(out)))
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
        for (key, value) in sorted(table) {
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
                    let got = describe_value(&other); // a table or an array: no contents shown
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
        if let Some((_, instead)) = MOVED.iter().find(|(moved, _)| *moved == path) {
            message.push_str(&format!("; {instead}"));
        } else if let Some(hint) = closest(key, schema.keys().map(String::as_str)) {
            message.push_str(&format!("; did you mean `{hint}`?"));
        }
        self.problems.push(Problem::new(path, message));
    }
}
