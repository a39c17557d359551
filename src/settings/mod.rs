//! The one typed configuration of alpha-panda.
//!
//! Layers, lowest precedence first: the defaults embedded from `config/default.toml`,
//! an optional TOML file, then environment variables `ALPHA_PANDA__<SECTION>__<KEY>`
//! (e.g. `ALPHA_PANDA__KAFKA__LINGER_MS=10`). [`Settings::load`] merges them, rejects
//! unknown keys, type-checks every value and runs [`Settings::validate`], reporting
//! every problem at once as `key: message` lines.
//!
//! Invariants:
//! - `config/default.toml` lists every setting; it is both the defaults and the set of
//!   known keys, so a typo is an error, never a silently ignored key.
//! - A loaded [`Settings`] has passed [`Settings::validate`].
//! - Secrets (`redis.url`, sensitive `kafka.client` properties, `kite.api_key`,
//!   `kite.api_secret`, `kite.access_token`, `api.control_token`,
//!   `alerts.telegram.bot_token`, `alerts.webhook.url` and `alerts.webhook.headers`) never appear in
//!   `Debug` output, error messages or [`Settings::to_masked_toml`].
//! - `[kite]` is the one place for the Kite credentials and endpoints, shared by the
//!   ticker feed and the REST client; [`Settings::kite_credentials`] resolves them
//!   (reading `kite.access_token_file` if the token is not set directly). Validation
//!   needs them only for a real ticker or with `"zerodha"` in `brokers.enabled`.
//! - With the defaults, nothing external is needed: Kafka is librdkafka's in-process
//!   mock cluster, the store is in memory (neither durable) and market data comes from
//!   the built-in Kite simulator.
//! - List settings (`feed.subscriptions`, `market_hours.holidays`, `brokers.enabled`)
//!   are TOML arrays; from the environment they are one comma-separated string.
//! - The trading sections embed the domain configuration types unchanged:
//!   [`StrategyConfig`] (with its free [`StrategyParams`] table, read by the strategy
//!   registry) per strategy id, [`RiskLimits`](crate::risk::RiskLimits) per broker (a limit set to
//!   `"off"` is unset) and [`PaperConfig`](crate::paper::PaperConfig), whose
//!   `starting_cash` is always `portfolio.starting_cash`.

mod alerts;
mod api;
mod error;
mod fno;
mod instruments;
mod kite;
mod loader;
mod market;
mod messages;
mod params;
mod rules;
mod schema;
mod schema_rules;
mod secret;
mod sections;
mod strategies;
mod supervision;
mod trading;
mod validate;
mod zerodha;

#[cfg(test)]
mod alerts_tests;
#[cfg(test)]
mod api_tests;
#[cfg(test)]
mod bounds_tests;
#[cfg(test)]
mod kite_tests;
#[cfg(test)]
mod market_tests;
#[cfg(test)]
mod salvage_tests;
#[cfg(test)]
mod strategy_tests;
#[cfg(test)]
mod subscription_tests;
#[cfg(test)]
mod supervision_tests;
#[cfg(test)]
mod test_support;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod trading_tests;

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::paper::PaperConfig;

pub use alerts::{AlertKind, AlertsSettings, TelegramSettings, WebhookSettings};
pub use api::ApiSettings;
pub use error::{Problem, SettingsError};
pub use fno::{FnoSettings, KITE_MAX_SLICES};
pub use instruments::{InstrumentSettings, SYNC_COMMAND};
pub use kite::{ACCESS_TOKEN_VAR, API_KEY_VAR, KiteCredentials, KiteSettings, SESSION_COMMAND};
pub use market::{FeedSettings, MarketHoursSettings, SIMULATOR, SimulatorSettings, Subscription};
pub(crate) use messages::closest;
pub use params::{ParamProblem, ParamsError, StrategyParams};
pub use rules::{ResolvedRule, UnderlyingPrice, master_price};
pub use secret::{MASK, Secret};
pub use sections::{
    Compression, KafkaSettings, LogFormat, LogSettings, RedisSettings, RetrySettings,
    ServiceSettings, ServiceThreads, TopicSettings, is_sensitive_property,
};
pub use strategies::StrategyConfig;
pub use supervision::{
    MAX_RESTARTS_LIMIT, PolicyOverride, RestartPolicy, RestartType, SupervisionSettings,
};
pub use trading::{BrokersSettings, PortfolioSettings, RiskSettings};
pub use zerodha::ZerodhaSettings;

/// The embedded `config/default.toml`: every setting with its default and a comment.
pub const DEFAULT_TOML: &str = loader::DEFAULTS;

/// Every setting of the process, one field per TOML table.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// `[service]`: who this process is.
    pub service: ServiceSettings,
    /// `[log]`: log format and filter.
    pub log: LogSettings,
    /// `[api]`: the HTTP API: whether it runs, where it listens, its control token.
    pub api: ApiSettings,
    /// `[kafka]`: brokers and client tuning.
    pub kafka: KafkaSettings,
    /// `[retry]`: handler retry backoff.
    pub retry: RetrySettings,
    /// `[topics]`: partitions, replication and retention of created topics.
    pub topics: TopicSettings,
    /// `[redis]`: journals, risk state and the portfolio read model.
    pub redis: RedisSettings,
    /// `[supervision]`: restart policies of supervised actors.
    pub supervision: SupervisionSettings,
    /// `[instruments]`: where the instrument registry comes from.
    pub instruments: InstrumentSettings,
    /// `[market_hours]`: the NSE/BSE calendar and whether it is enforced.
    pub market_hours: MarketHoursSettings,
    /// `[kite]`: Kite Connect credentials and endpoints (ticker and REST).
    pub kite: KiteSettings,
    /// `[feed]`: the Kite ticker connection and subscriptions.
    pub feed: FeedSettings,
    /// `[simulator]`: the built-in Kite simulator.
    pub simulator: SimulatorSettings,
    /// `[brokers]`: which execution namespaces run.
    pub brokers: BrokersSettings,
    /// `[zerodha]`: how live orders are placed on Kite and followed up.
    pub zerodha: ZerodhaSettings,
    /// `[fno]`: freeze quantities, order slicing and underlyings of futures and options.
    pub fno: FnoSettings,
    /// `[strategies.<id>]`: the strategy instances, by id.
    pub strategies: BTreeMap<String, StrategyConfig>,
    /// `[risk.paper]`, `[risk.zerodha]`: the limits of each broker namespace.
    pub risk: RiskSettings,
    /// `[paper]`: the paper venue; its `starting_cash` is `portfolio.starting_cash`.
    #[serde(serialize_with = "trading::paper_without_cash")]
    pub paper: PaperConfig,
    /// `[portfolio]`: starting cash and snapshot rate of the portfolios.
    pub portfolio: PortfolioSettings,
    /// `[alerts]`: Telegram and webhook alert targets, dedup and rate limit.
    pub alerts: AlertsSettings,
}

impl Settings {
    /// Embedded defaults < `file` (if `Some`) < the process environment, validated.
    ///
    /// Only variables starting with `ALPHA_PANDA__` are read; others (such as a CLI's
    /// `ALPHA_PANDA_CONFIG`) are ignored.
    ///
    /// # Errors
    ///
    /// A [`SettingsError`] listing every problem: an unreadable or malformed file, a
    /// malformed variable name, an unknown key, a value of the wrong type, or a broken
    /// [`validate`](Self::validate) rule.
    pub fn load(file: Option<&Path>) -> Result<Settings, SettingsError> {
        Self::load_checked(file, |_| Vec::new())
    }

    /// Like [`load`](Self::load), with `more` checks run beside
    /// [`validate`](Self::validate) once everything parsed (the CLI checks the
    /// strategies' kinds and parameters against its strategy registry this way), so
    /// their problems are reported with the others.
    ///
    /// # Errors
    ///
    /// As for [`load`](Self::load), plus `more`'s problems.
    pub fn load_checked(
        file: Option<&Path>,
        more: impl Fn(&Settings) -> Vec<Problem>,
    ) -> Result<Settings, SettingsError> {
        Self::load_all(file, |_| true, more)
    }

    /// Loads as far as the layers go and validates, keeping the problems `keep` accepts.
    /// A key whose value could not be loaded is left at its default for validation, and
    /// every validation problem about (or mentioning) such a key is dropped, so a wrong
    /// type never hides the range problems of other keys, and nothing is reported about
    /// a value the operator did not write.
    fn load_all(
        file: Option<&Path>,
        keep: impl Fn(&Problem) -> bool,
        more: impl Fn(&Settings) -> Vec<Problem>,
    ) -> Result<Settings, SettingsError> {
        let (env, problems) = loader::process_env();
        let mut result = Self::load_all_from(file, &env, problems, keep, more);
        if let Err(error) = &mut result {
            error.problems.sort_by(|a, b| a.key.cmp(&b.key));
        }
        result
    }

    /// [`load_all`](Self::load_all) with `env` in place of the process environment and
    /// `problems` found before (with the environment).
    fn load_all_from(
        file: Option<&Path>,
        env: &HashMap<String, String>,
        mut problems: Vec<Problem>,
        keep: impl Fn(&Problem) -> bool,
        more: impl Fn(&Settings) -> Vec<Problem>,
    ) -> Result<Settings, SettingsError> {
        let salvaged = loader::load_salvaged(file, env);
        if let Some(settings) = &salvaged.settings {
            let mut found = validate::problems(settings);
            found.extend(more(settings));
            found.retain(|p| !salvaged.touches_replaced(p));
            problems.extend(found);
        }
        let load_problems = !salvaged.problems.is_empty();
        problems.extend(salvaged.problems);
        problems.retain(|p| keep(p));
        if load_problems {
            // Loading and validation problems interleave by key; validation alone keeps
            // its own order (section by section).
            problems.sort_by(|a, b| a.key.cmp(&b.key));
        }
        problems.dedup();
        match salvaged.settings {
            Some(settings) if problems.is_empty() => Ok(settings),
            Some(_) => Err(SettingsError::new(problems)),
            None if problems.is_empty() => Err(SettingsError::new(vec![Problem::new(
                "(config)",
                "the settings could not be loaded",
            )])),
            None => Err(SettingsError::new(problems)),
        }
    }

    /// Like [`load`](Self::load), with `env` in place of the process environment
    /// (variables without the `ALPHA_PANDA__` prefix are ignored).
    ///
    /// # Errors
    ///
    /// As for [`load`](Self::load).
    pub fn load_from(
        file: Option<&Path>,
        env: &HashMap<String, String>,
    ) -> Result<Settings, SettingsError> {
        Self::load_all_from(file, env, Vec::new(), |_| true, |_| Vec::new())
    }

    /// Like [`load`](Self::load) for the login commands: a missing `kite.access_token` is
    /// not a problem there — obtaining it is what they are for.
    ///
    /// # Errors
    ///
    /// As for [`load`](Self::load), without that one problem.
    pub fn load_for_login(file: Option<&Path>) -> Result<Settings, SettingsError> {
        Self::load_all(file, |p| p.key != "kite.access_token", |_| Vec::new())
    }

    /// Checks the rules the types cannot express (ranges, broker list shape, URL
    /// scheme, filter syntax, restart policies with their overrides merged, strategies
    /// against the enabled brokers, the domain types' own `validate`).
    ///
    /// # Errors
    ///
    /// A [`SettingsError`] with one [`Problem`] per broken rule, all at once.
    pub fn validate(&self) -> Result<(), SettingsError> {
        let problems = validate::problems(self);
        if problems.is_empty() {
            Ok(())
        } else {
            Err(SettingsError::new(problems))
        }
    }

    /// The effective settings as TOML, loadable as a settings file except that secrets
    /// read `"***"`: `redis.url`, `kite.api_key`, `kite.api_secret`, `kite.access_token`,
    /// `api.control_token`, and `kafka.client` values whose name contains `password`,
    /// `secret`, `token` or `key`.
    pub fn to_masked_toml(&self) -> String {
        let mut masked = self.clone();
        masked.kafka.client = self.kafka.masked_client();
        let mut header = String::from("# Effective alpha-panda settings; secrets read \"***\".\n");
        if self.is_embedded_kafka() {
            header.push_str(
                "# kafka.brokers = \"embedded\": in-process mock cluster, not durable.\n",
            );
        }
        if self.is_memory_store() {
            header.push_str("# redis.url = \"memory\": in-process store, not durable.\n");
        }
        if self.feed.uses_simulator() {
            header.push_str(
                "# feed.ticker_url = \"simulator\": built-in Kite simulator, synthetic prices.\n",
            );
        }
        match toml::to_string(&masked) {
            Ok(body) => format!("{header}\n{body}"),
            Err(e) => format!("{header}# (could not render the settings as TOML: {e})\n"),
        }
    }

    /// True if Kafka is the in-process mock cluster (`kafka.brokers = "embedded"`).
    pub fn is_embedded_kafka(&self) -> bool {
        self.kafka.brokers == "embedded"
    }

    /// True if the store is in process memory (`redis.url = "memory"`).
    pub fn is_memory_store(&self) -> bool {
        self.redis.url.expose() == "memory"
    }
}
