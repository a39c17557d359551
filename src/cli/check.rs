//! The checks of `config check` and `run` that look beyond the settings themselves: the
//! instrument registry (the file or Kite's cached master exists and parses; every
//! subscription and every strategy instrument is in it, and no paper strategy trades an
//! index) and the `kafka.client` properties (librdkafka itself is asked, without
//! connecting). When `run` is to download Kite's master at start, the symbol checks are
//! made by `run` on the downloaded master ([`registry_problems_in`]) instead.
//!
//! Why here: [`Settings`] loading is pure (no files beyond the settings file, no client
//! libraries), while these need the registry and librdkafka. `config check` and `run` both
//! run them before anything starts, so whatever `run` could not honour is refused by both
//! the same way (exit 2, every problem at once). Invariants: nothing here connects to a
//! broker or blocks on the network; no message repeats a sensitive `kafka.client` value.

use rdkafka::ClientConfig;
use rdkafka::config::{FromClientConfig, RDKafkaLogLevel};
use rdkafka::consumer::BaseConsumer;
use rdkafka::error::KafkaError;
use rdkafka::producer::BaseProducer;

use crate::market::StartPlan;
use crate::market::instruments::InstrumentRegistry;
use crate::messages::Broker;
use crate::settings::{Problem, SYNC_COMMAND, Settings, is_sensitive_property};
use crate::streaming::KafkaConnection;

/// Every problem of `settings` with the registry and librdkafka, keyed by setting.
pub(crate) fn problems(settings: &Settings) -> Vec<Problem> {
    let mut out = registry_problems(settings);
    out.extend(kafka_problems(settings));
    out
}

/// The registry loads, and every symbol the settings name is in it. With Kite's master
/// to be refreshed at start (cache older than today or missing, credentials at hand),
/// the symbols are left to `run`, which checks them on the downloaded master
/// ([`registry_problems_in`]): nothing here touches the network.
fn registry_problems(settings: &Settings) -> Vec<Problem> {
    if settings.instruments.kite_master {
        let today = crate::market::MarketCalendar::ist_date(chrono::Utc::now());
        match super::instruments::start_plan(settings, today) {
            Ok((StartPlan::Refresh { .. }, _)) => return Vec::new(),
            Ok((StartPlan::Unavailable, credentials)) => {
                let why = credentials.err().unwrap_or_default();
                let message = format!(
                    "no Kite instrument master is cached in {} and none can be downloaded: \
                     {why}; run `{SYNC_COMMAND}` with the credentials, or set it to false",
                    settings.instruments.cache_dir
                );
                return vec![Problem::new("instruments.kite_master", message)];
            }
            Ok(_) => {}
            Err(e) => {
                return vec![Problem::new("instruments.cache_dir", e.to_string())];
            }
        }
    }
    let registry = match settings.instruments.load_registry() {
        Ok(registry) => registry,
        Err(e) => {
            let (key, fix) = if settings.instruments.kite_master {
                (
                    "instruments.kite_master",
                    format!("run `{SYNC_COMMAND}` to replace the cached master"),
                )
            } else {
                (
                    "instruments.path",
                    "set instruments.path to a readable CSV in Kite's instruments format, or \
                     \"\" for the built-in list"
                        .to_owned(),
                )
            };
            let message = format!("cannot load the instrument registry: {e}; {fix}");
            return vec![Problem::new(key, message)];
        }
    };
    registry_problems_in(settings, &registry)
}

/// Every subscription and strategy instrument is in `registry` (rules resolved as `run`
/// resolves them: for today, at the master's prices), and no paper strategy trades an
/// index.
pub(crate) fn registry_problems_in(
    settings: &Settings,
    registry: &InstrumentRegistry,
) -> Vec<Problem> {
    let resolved = match super::rules::resolve(settings, registry, super::rules::today()) {
        Ok((resolved, _)) => resolved,
        Err(e) => return e.problems,
    };
    let settings = &resolved;
    let mut out = match settings.feed.resolve_subscriptions(registry) {
        Ok(_) => Vec::new(),
        Err(e) => e.problems,
    };
    for (id, strategy) in &settings.strategies {
        out.extend(unknown_instruments(id, &strategy.instruments, registry));
        if strategy.brokers.contains(&Broker::Paper) {
            let indices = crate::paper::index_problems(id, &strategy.instruments, registry);
            out.extend(indices.into_iter().map(|(k, m)| Problem::new(k, m)));
        }
    }
    out
}

/// One problem per symbol of `strategies.<id>.instruments` the registry does not know.
fn unknown_instruments(
    id: &str,
    instruments: &[String],
    registry: &InstrumentRegistry,
) -> Vec<Problem> {
    instruments
        .iter()
        .enumerate()
        .filter(|(_, symbol)| !symbol.trim().is_empty() && registry.by_symbol(symbol).is_none())
        .map(|(i, symbol)| {
            let message = if registry.is_ambiguous(symbol) {
                format!("{symbol:?} is listed on several exchanges; write EXCHANGE:{symbol}")
            } else {
                format!("{symbol:?} is not in the instrument registry")
            };
            Problem::new(format!("strategies.{id}.instruments[{i}]"), message)
        })
        .collect()
}

/// librdkafka accepts the client properties: the producer and consumer configurations
/// `run` builds are created (with no bootstrap servers, so nothing connects) and
/// dropped. A refused configuration is attributed to each property librdkafka refuses
/// on its own, else reported once under `kafka.client`.
fn kafka_problems(settings: &Settings) -> Vec<Problem> {
    // No bootstrap servers: the clients never dial anything.
    let connection = KafkaConnection::new(&settings.kafka, "");
    let refused = create::<BaseProducer>(&connection.producer_config())
        .or_else(|| create::<BaseConsumer>(&connection.consumer_config("alpha-panda.check")));
    let Some(message) = refused else {
        return Vec::new();
    };
    let mut out: Vec<Problem> = settings
        .kafka
        .client
        .iter()
        .filter_map(|(name, value)| {
            let mut alone = ClientConfig::new();
            alone.set(name, value);
            let message = create::<BaseProducer>(&alone)?;
            Some(Problem::new(
                format!("kafka.client.{name}"),
                refusal(name, &message),
            ))
        })
        .collect();
    // A refusal no single property explains comes from the combination, or from the
    // typed settings; if validation already names a [kafka] problem, that is the one.
    let validated = settings
        .validate()
        .is_err_and(|e| e.problems.iter().any(|p| p.key.starts_with("kafka.")));
    if out.is_empty() && !validated {
        let key = if settings.kafka.client.is_empty() {
            "kafka"
        } else {
            "kafka.client"
        };
        let mut shown = message;
        for (name, value) in &settings.kafka.client {
            if is_sensitive_property(name) && !value.is_empty() {
                shown = shown.replace(value.as_str(), "***");
            }
        }
        out.push(Problem::new(
            key,
            format!("librdkafka refuses the client configuration: {shown}"),
        ));
    }
    out
}

/// librdkafka's refusal of `config`, or `None` if a client `C` can be made of it.
fn create<C: FromClientConfig>(config: &ClientConfig) -> Option<String> {
    let mut config = config.clone();
    // Only a refusal is of interest: keep librdkafka's warnings (no bootstrap servers, a
    // consumer property on a producer) out of the operator's terminal.
    config.set_log_level(RDKafkaLogLevel::Emerg);
    match config.create::<C>() {
        Ok(_) => None,
        // The description alone: the full message repeats the property and its value.
        Err(KafkaError::ClientConfig(_, description, _, _)) => Some(description),
        Err(e) => Some(e.to_string()),
    }
}

/// What to say about property `name` refused with `message`: librdkafka's words, unless
/// the property is sensitive (its words may quote the value).
fn refusal(name: &str, message: &str) -> String {
    if is_sensitive_property(name) {
        "librdkafka refuses this property or its value (value not shown: it may be a secret)"
            .to_owned()
    } else {
        format!("librdkafka refuses it: {message}")
    }
}
