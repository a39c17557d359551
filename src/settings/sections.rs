//! The typed sections of [`Settings`](super::Settings), one struct per TOML table.
//!
//! Field names match the keys of `config/default.toml` exactly; every struct denies
//! unknown fields. Units are in the field names (`_ms`, `_secs`) and the accessors hand
//! out [`Duration`]s, so code never guesses a unit. Ranges are checked by
//! [`Settings::validate`](super::Settings::validate), not here.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use serde::de::{self, Deserializer};
use serde::{Deserialize, Serialize};

use super::secret::{MASK, Secret};

/// `[service]`: who this process is.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceSettings {
    /// Service name for logs and telemetry.
    pub name: String,
    /// Identifies this running copy (host, pod).
    pub instance_id: String,
    /// Which threads the services run on.
    pub threads: ServiceThreads,
}

/// `service.threads`: where the daemon's actors run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ServiceThreads {
    /// The services the catalog marks for a thread of their own (the market feed, with
    /// the ticks' producer) on it; the rest on the main thread (the default; measured in
    /// docs/PERFORMANCE.md).
    Own,
    /// Every actor on the main thread: the least CPU for a machine with one core.
    One,
}

/// `[log]`: how the process logs.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct LogSettings {
    /// Line format.
    pub format: LogFormat,
    /// A `tracing_subscriber::EnvFilter` directive such as `info,alpha_panda=debug`.
    pub level: String,
}

/// Log line format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Readable lines for a terminal.
    Human,
    /// One JSON object per line, for log shippers.
    Json,
}

/// `[kafka]`: brokers and client tuning.
#[derive(Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct KafkaSettings {
    /// `"embedded"` (in-process mock cluster) or `"host:port,host:port"`.
    pub brokers: String,
    /// `client.id` reported to the brokers.
    pub client_id: String,
    /// Consumer groups are `"{group_prefix}.{service}"`.
    pub group_prefix: String,
    /// Producer batching delay of signals, orders and everything but ticks, milliseconds.
    pub linger_ms: u64,
    /// Producer batching delay of ticks (their own producer), milliseconds.
    pub tick_linger_ms: u64,
    /// Producer compression codec.
    pub compression: Compression,
    /// Delivery deadline of a produced record, milliseconds.
    pub message_timeout_ms: u64,
    /// Longest time a broker may hold a fetch, milliseconds.
    pub fetch_wait_max_ms: u64,
    /// Consumer group session timeout, milliseconds.
    pub session_timeout_ms: u64,
    /// Records handled but not yet fully delivered, per partition.
    pub max_in_flight_per_partition: usize,
    /// The broker unreachable (or every delivery failing) this long, seconds, escalates
    /// to exit 3 so a service manager restarts the process.
    pub unavailable_exit_secs: u64,
    /// A consumer with no partition assigned this long, seconds, is restarted (and
    /// escalates through its supervisor's budget).
    pub unassigned_exit_secs: u64,
    /// Readiness fails while a consumer lags more than this many records.
    pub ready_max_lag: u64,
    /// Extra librdkafka properties (`security.protocol`, `sasl.*`), passed through.
    pub client: BTreeMap<String, String>,
}

impl KafkaSettings {
    /// Producer batching delay.
    pub fn linger(&self) -> Duration {
        Duration::from_millis(self.linger_ms)
    }

    /// Delivery deadline of a produced record.
    pub fn message_timeout(&self) -> Duration {
        Duration::from_millis(self.message_timeout_ms)
    }

    /// Longest time a broker may hold a fetch.
    pub fn fetch_wait_max(&self) -> Duration {
        Duration::from_millis(self.fetch_wait_max_ms)
    }

    /// Consumer group session timeout.
    pub fn session_timeout(&self) -> Duration {
        Duration::from_millis(self.session_timeout_ms)
    }

    /// See [`Self::unavailable_exit_secs`].
    pub fn unavailable_exit(&self) -> Duration {
        Duration::from_secs(self.unavailable_exit_secs)
    }

    /// See [`Self::unassigned_exit_secs`].
    pub fn unassigned_exit(&self) -> Duration {
        Duration::from_secs(self.unassigned_exit_secs)
    }

    /// The consumer group id of `service`: `"{group_prefix}.{service}"`.
    pub fn consumer_group(&self, service: &str) -> String {
        format!("{}.{service}", self.group_prefix)
    }

    /// `self.client` with the values of sensitive properties replaced by `***`.
    pub fn masked_client(&self) -> BTreeMap<String, String> {
        self.client
            .iter()
            .map(|(k, v)| {
                let v = if is_sensitive_property(k) {
                    MASK.to_owned()
                } else {
                    v.clone()
                };
                (k.clone(), v)
            })
            .collect()
    }
}

/// True if a librdkafka property name suggests its value is a credential: it contains
/// `password`, `secret`, `token` or `key` (case-insensitive).
pub fn is_sensitive_property(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    ["password", "secret", "token", "key"]
        .iter()
        .any(|word| name.contains(word))
}

// Hand-written so that `{:?}` of the settings never shows `sasl.password`.
impl fmt::Debug for KafkaSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KafkaSettings")
            .field("brokers", &self.brokers)
            .field("client_id", &self.client_id)
            .field("group_prefix", &self.group_prefix)
            .field("linger_ms", &self.linger_ms)
            .field("tick_linger_ms", &self.tick_linger_ms)
            .field("compression", &self.compression)
            .field("message_timeout_ms", &self.message_timeout_ms)
            .field("fetch_wait_max_ms", &self.fetch_wait_max_ms)
            .field("session_timeout_ms", &self.session_timeout_ms)
            .field(
                "max_in_flight_per_partition",
                &self.max_in_flight_per_partition,
            )
            .field("unavailable_exit_secs", &self.unavailable_exit_secs)
            .field("unassigned_exit_secs", &self.unassigned_exit_secs)
            .field("ready_max_lag", &self.ready_max_lag)
            .field("client", &self.masked_client())
            .finish()
    }
}

/// Producer compression codec.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Compression {
    /// No compression.
    None,
    /// gzip.
    Gzip,
    /// Snappy.
    Snappy,
    /// LZ4.
    Lz4,
}

impl Compression {
    /// The librdkafka `compression.type` value.
    pub fn as_librdkafka(&self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Gzip => "gzip",
            Self::Snappy => "snappy",
            Self::Lz4 => "lz4",
        }
    }
}

/// `[retry]`: exponential backoff of failed handlers before the dead-letter topic.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RetrySettings {
    /// First delay, milliseconds.
    pub base_ms: u64,
    /// Multiplier between consecutive delays.
    pub factor: f64,
    /// Cap on any single delay, milliseconds.
    pub max_ms: u64,
    /// Total tries including the first.
    pub attempts: u32,
    /// Random spread of each delay, as a fraction of it (0..=1).
    pub jitter: f64,
}

impl RetrySettings {
    /// First delay.
    pub fn base(&self) -> Duration {
        Duration::from_millis(self.base_ms)
    }

    /// Cap on any single delay.
    pub fn max(&self) -> Duration {
        Duration::from_millis(self.max_ms)
    }
}

/// `[topics]`: how missing topics are created. Retentions are milliseconds, `-1` = forever.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct TopicSettings {
    /// Partitions of tick topics.
    pub tick_partitions: i32,
    /// Partitions of every other topic.
    pub default_partitions: i32,
    /// Replication factor of created topics.
    pub replication_factor: i32,
    /// Retention of tick topics, milliseconds or -1.
    pub tick_retention_ms: i64,
    /// Retention of other topics, milliseconds or -1.
    pub default_retention_ms: i64,
    /// Retention of dead-letter topics, milliseconds or -1.
    pub dlq_retention_ms: i64,
}

/// `[redis]`: the store of journals, risk state and the portfolio read model.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RedisSettings {
    /// `"memory"` (in-process store) or a `redis://` URL (may hold a password).
    pub url: Secret,
    /// Connection deadline, milliseconds.
    pub connect_timeout_ms: u64,
    /// Per-command deadline, milliseconds.
    pub command_timeout_ms: u64,
}

impl RedisSettings {
    /// Connection deadline.
    pub fn connect_timeout(&self) -> Duration {
        Duration::from_millis(self.connect_timeout_ms)
    }

    /// Per-command deadline.
    pub fn command_timeout(&self) -> Duration {
        Duration::from_millis(self.command_timeout_ms)
    }
}

/// Deserialises a lowercase enum name (ASCII case-insensitively) from a string, failing
/// with serde's `invalid value: string "x", expected one of a, b` so the loader can
/// report the allowed names.
pub(super) fn named_variant<'de, D, T: Copy>(
    deserializer: D,
    variants: &[(&str, T)],
    expected: &'static str,
) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
{
    let name = String::deserialize(deserializer)?;
    variants
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name.trim()))
        .map(|(_, v)| *v)
        .ok_or_else(|| de::Error::invalid_value(de::Unexpected::Str(&name), &expected))
}

impl<'de> Deserialize<'de> for LogFormat {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let variants = [("human", Self::Human), ("json", Self::Json)];
        named_variant(deserializer, &variants, "one of human, json")
    }
}

impl<'de> Deserialize<'de> for ServiceThreads {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let variants = [("own", Self::Own), ("one", Self::One)];
        named_variant(deserializer, &variants, "one of own, one")
    }
}

impl<'de> Deserialize<'de> for Compression {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let variants = [
            ("none", Self::None),
            ("gzip", Self::Gzip),
            ("snappy", Self::Snappy),
            ("lz4", Self::Lz4),
        ];
        named_variant(deserializer, &variants, "one of none, gzip, snappy, lz4")
    }
}
