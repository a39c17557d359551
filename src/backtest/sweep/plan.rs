//! A sweep's plan: which strategy each swept name means, every combination of values, and
//! the settings each combination runs with.
//!
//! Invariants: a bare name means the one enabled strategy whose `params` set it, or the
//! only enabled strategy; two candidates are an error naming the qualified names. A name
//! the strategy's kind does not know is an error before anything runs (with the kind's
//! "did you mean"). Combinations are numbered in the spec's order, the last part varying
//! fastest; that number is the stable tie-break of the ranking. A combination's settings
//! are checked like a configuration file's (the settings rules and the strategy kind's
//! own); a refused combination carries the problems instead of settings.

use super::spec::{AxisSpec, ParamValue, SweepError};
use crate::settings::{Settings, StrategyParams};
use crate::strategy::StrategyRegistry;

/// One swept parameter, resolved to its strategy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Axis {
    /// The name as the table shows it: bare when the spec wrote it bare.
    pub label: String,
    pub strategy: String,
    pub param: String,
    pub values: Vec<ParamValue>,
}

/// Every swept parameter, in spec order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    pub axes: Vec<Axis>,
}

/// One combination: its number and one value per axis.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Combination {
    pub index: usize,
    pub values: Vec<ParamValue>,
}

impl Plan {
    /// Resolves the parsed spec against the (backtest) settings.
    ///
    /// # Errors
    /// A qualified name of no enabled strategy, a bare name that fits none or several,
    /// a parameter the strategy's kind does not take.
    pub fn new(
        axes: Vec<AxisSpec>,
        settings: &Settings,
        strategies: &StrategyRegistry,
    ) -> Result<Plan, SweepError> {
        let mut resolved: Vec<Axis> = Vec::new();
        for spec in axes {
            let strategy = strategy_of(&spec, settings)?;
            check_known(&spec, &strategy, settings, strategies)?;
            if resolved
                .iter()
                .any(|a| a.strategy == strategy && a.param == spec.param)
            {
                return Err(refused(&spec, "this parameter is already swept"));
            }
            resolved.push(Axis {
                label: spec.name(),
                strategy,
                param: spec.param,
                values: spec.values,
            });
        }
        Ok(Plan { axes: resolved })
    }

    /// Every combination, numbered from 0, the last axis varying fastest.
    pub fn combinations(&self) -> Vec<Combination> {
        let mut out = vec![Combination {
            index: 0,
            values: Vec::new(),
        }];
        for axis in &self.axes {
            out = out
                .into_iter()
                .flat_map(|c| {
                    axis.values.iter().map(move |v| {
                        let mut values = c.values.clone();
                        values.push(v.clone());
                        values
                    })
                })
                .enumerate()
                .map(|(index, values)| Combination { index, values })
                .collect();
        }
        out
    }

    /// `base` with the combination's values in place, checked like a configuration.
    ///
    /// # Errors
    /// The problems of the combination (`strategies.<id>.params.<field>: message`), joined
    /// with `; `.
    pub fn settings_for(
        &self,
        base: &Settings,
        combination: &Combination,
        strategies: &StrategyRegistry,
    ) -> Result<Settings, String> {
        let mut settings = base.clone();
        for (axis, value) in self.axes.iter().zip(&combination.values) {
            // Present: `Plan::new` took the id from these settings.
            let Some(config) = settings.strategies.get_mut(&axis.strategy) else {
                return Err(format!("strategies.{}: not configured", axis.strategy));
            };
            config.params = with_value(&config.params, &axis.param, value);
        }
        let mut problems: Vec<String> = Vec::new();
        if let Err(e) = settings.validate() {
            problems.extend(
                e.problems
                    .iter()
                    .map(|p| format!("{}: {}", p.key, p.message)),
            );
        }
        let kinds = strategies.problems(&settings.strategies);
        problems.extend(kinds.iter().map(|p| format!("{}: {}", p.key, p.message)));
        if problems.is_empty() {
            Ok(settings)
        } else {
            Err(problems.join("; "))
        }
    }

    /// The combination's values as `name=value` pairs (`fast=5 slow=20`).
    pub fn describe(&self, combination: &Combination) -> String {
        self.axes
            .iter()
            .zip(&combination.values)
            .map(|(a, v)| format!("{}={v}", a.label))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

fn with_value(params: &StrategyParams, param: &str, value: &ParamValue) -> StrategyParams {
    let mut values = params.values().clone();
    values.insert(param.to_owned(), value.to_toml());
    StrategyParams::new(params.kind(), values)
}

fn refused(spec: &AxisSpec, reason: impl Into<String>) -> SweepError {
    let values: Vec<String> = spec.values.iter().map(ToString::to_string).collect();
    SweepError::Part {
        part: format!("{}={}", spec.name(), values.join("|")),
        reason: reason.into(),
    }
}

fn enabled(settings: &Settings) -> Vec<&str> {
    settings
        .strategies
        .iter()
        .filter(|(_, s)| s.enabled)
        .map(|(id, _)| id.as_str())
        .collect()
}

/// The strategy a name means.
fn strategy_of(spec: &AxisSpec, settings: &Settings) -> Result<String, SweepError> {
    let running = enabled(settings);
    if let Some(id) = &spec.strategy {
        if running.contains(&id.as_str()) {
            return Ok(id.clone());
        }
        let reason = format!(
            "no enabled strategy {id:?}; enabled: {}",
            running.join(", ")
        );
        return Err(refused(spec, reason));
    }
    let setting: Vec<&str> = running
        .iter()
        .copied()
        .filter(|id| {
            settings.strategies[*id]
                .params
                .values()
                .contains_key(&spec.param)
        })
        .collect();
    match (setting.as_slice(), running.as_slice()) {
        ([id], _) | ([], [id]) => Ok((*id).to_owned()),
        ([], []) => Err(refused(spec, "no strategy is enabled")),
        ([], _) => {
            let reason = format!(
                "no enabled strategy sets `{}`; enabled: {}",
                spec.param,
                running.join(", ")
            );
            Err(refused(spec, reason))
        }
        (several, _) => {
            let names: Vec<String> = several
                .iter()
                .map(|id| format!("{id}.{}", spec.param))
                .collect();
            let reason = format!(
                "ambiguous: several enabled strategies set it; write one of {}",
                names.join(", ")
            );
            Err(refused(spec, reason))
        }
    }
}

/// Refuses a parameter the strategy's kind does not take (by building the strategy with
/// the first value: a kind refuses unknown fields by name).
fn check_known(
    spec: &AxisSpec,
    strategy: &str,
    settings: &Settings,
    strategies: &StrategyRegistry,
) -> Result<(), SweepError> {
    let config = &settings.strategies[strategy];
    if config.params.values().contains_key(&spec.param) {
        return Ok(());
    }
    let Some(first) = spec.values.first() else {
        return Ok(());
    };
    let params = with_value(&config.params, &spec.param, first);
    let Err(e) = strategies.build(&params) else {
        return Ok(());
    };
    match e.problems.iter().find(|p| p.field == spec.param) {
        Some(p) if p.message.starts_with("unknown field") => Err(refused(
            spec,
            format!(
                "{strategy} ({}) has no parameter `{}`: {}",
                params.kind(),
                spec.param,
                p.message
            ),
        )),
        _ => Ok(()),
    }
}

/// The directory name of a combination's own report: `fast=5_slow=20`.
pub fn dir_name(plan: &Plan, combination: &Combination) -> String {
    plan.axes
        .iter()
        .zip(&combination.values)
        .map(|(a, v)| {
            let value: String = v
                .to_string()
                .chars()
                .map(|c| if c == '/' || c == '\\' { '_' } else { c })
                .collect();
            format!("{}={value}", a.label)
        })
        .collect::<Vec<_>>()
        .join("_")
}
