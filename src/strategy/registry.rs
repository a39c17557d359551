//! The strategy registry: kind name → factory. The four built-in kinds are registered by
//! default ([`StrategyRegistry::builtin`]); a user's binary adds its own
//! ([`StrategyRegistry::register`], or `alpha_panda::Daemon::builder().strategy(..)`).
//!
//! A factory reads the kind's parameters from [`StrategyParams`] (typically
//! `params.parse::<MyParams>()` and a few range checks) and builds one instance. It is
//! called once per (strategy id, broker) at start and again on every restart of the
//! strategy runner, so an instance never outlives its state. [`StrategyRegistry::problems`]
//! builds every configured strategy once at start-up (`config check`, `run`, `backtest`)
//! so a bad parameter is reported with every other configuration problem, keyed
//! `strategies.<id>.params.<field>`.

use super::{Strategy, kinds};
use crate::settings::{ParamsError, Problem, StrategyConfig, StrategyParams, closest};
use std::collections::BTreeMap;
use std::sync::Arc;

/// Builds a strategy of one kind from its parameters.
pub trait StrategyFactory: Send + Sync {
    /// One fresh instance.
    ///
    /// # Errors
    /// Every problem with the parameters.
    fn build(&self, params: &StrategyParams) -> Result<Box<dyn Strategy>, ParamsError>;
}

impl<F> StrategyFactory for F
where
    F: Fn(&StrategyParams) -> Result<Box<dyn Strategy>, ParamsError> + Send + Sync,
{
    fn build(&self, params: &StrategyParams) -> Result<Box<dyn Strategy>, ParamsError> {
        self(params)
    }
}

/// Kind name → factory. Cheap to clone (the factories are shared).
#[derive(Clone, Default)]
pub struct StrategyRegistry {
    kinds: BTreeMap<String, Arc<dyn StrategyFactory>>,
}

impl std::fmt::Debug for StrategyRegistry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.kinds.keys()).finish()
    }
}

impl StrategyRegistry {
    /// A registry with no kinds.
    pub fn empty() -> Self {
        StrategyRegistry::default()
    }

    /// The built-in kinds: `momentum`, `mean_reversion`, `rsi`, `ema_cross`.
    pub fn builtin() -> Self {
        let mut registry = StrategyRegistry::empty();
        kinds::register(&mut registry);
        registry
    }

    /// Adds (or replaces) the kind `kind`.
    pub fn register(&mut self, kind: &str, factory: impl StrategyFactory + 'static) -> &mut Self {
        self.kinds.insert(kind.to_owned(), Arc::new(factory));
        self
    }

    /// The registered kinds, sorted.
    pub fn kinds(&self) -> Vec<&str> {
        self.kinds.keys().map(String::as_str).collect()
    }

    /// Builds an instance of `params.kind()`.
    ///
    /// # Errors
    /// The kind is not registered, or its factory refused the parameters.
    pub fn build(&self, params: &StrategyParams) -> Result<Box<dyn Strategy>, ParamsError> {
        let factory = self.kinds.get(params.kind()).ok_or_else(|| {
            let kinds = self.kinds();
            let hint = closest(params.kind(), kinds.iter().copied())
                .map(|k| format!("; did you mean `{k}`?"))
                .unwrap_or_default();
            ParamsError::field(
                "kind",
                format!(
                    "unknown kind {:?}; one of {}{hint}",
                    params.kind(),
                    kinds.join(", ")
                ),
            )
        })?;
        factory.build(params)
    }

    /// Every problem with the configured strategies' kinds and parameters, keyed
    /// `strategies.<id>.params[.<field>]` (disabled strategies are checked too).
    pub fn problems(&self, strategies: &BTreeMap<String, StrategyConfig>) -> Vec<Problem> {
        strategies
            .iter()
            .filter_map(|(id, config)| self.build(&config.params).err().map(|e| (id, e)))
            .flat_map(|(id, e)| e.at(&format!("strategies.{id}.params")))
            .collect()
    }
}
