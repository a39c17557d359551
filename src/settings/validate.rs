//! The rules a well-typed [`Settings`] must also satisfy, all checked at once.
//!
//! Types are enforced while loading; this is about ranges and shapes that the types
//! cannot express (a broker list of `host:port`, `retry.max_ms >= retry.base_ms`).
//! Invariants: every broken rule yields its own [`Problem`] keyed by the setting, and
//! no message repeats `redis.url` or a `kafka.client` value, which may hold passwords.

use tracing_subscriber::EnvFilter;

use super::Settings;
use super::error::Problem;

/// `kafka.client` properties that have a typed setting; setting them twice would make
/// it unclear which one wins.
const TYPED_PROPERTIES: &[(&str, &str)] = &[
    ("bootstrap.servers", "kafka.brokers"),
    ("metadata.broker.list", "kafka.brokers"),
    ("client.id", "kafka.client_id"),
    ("group.id", "kafka.group_prefix"),
    ("linger.ms", "kafka.linger_ms"),
    ("queue.buffering.max.ms", "kafka.linger_ms"),
    ("compression.type", "kafka.compression"),
    ("compression.codec", "kafka.compression"),
    ("message.timeout.ms", "kafka.message_timeout_ms"),
    ("fetch.wait.max.ms", "kafka.fetch_wait_max_ms"),
    ("session.timeout.ms", "kafka.session_timeout_ms"),
];

/// Most partitions of a topic this process creates. A huge count aborted the process
/// inside librdkafka; each consumer handles every partition assigned to it, and a
/// thousand partitions is far beyond what a service's group of processes uses.
pub const MAX_PARTITIONS: i32 = 1_024;

/// Most copies of a partition: more than any cluster this runs against has brokers.
pub const MAX_REPLICATION_FACTOR: i64 = 16;

/// Longest delay or timeout in milliseconds that a setting may ask for (an hour): longer
/// waits look like a hang, and `Instant + Duration` must never overflow.
pub const MAX_DELAY_MS: u64 = 3_600_000;

/// Longest queue a setting may ask for (records, ticks): bounds memory.
pub const MAX_QUEUE: u64 = 1_000_000;

/// Every broken rule of `settings`, in a stable order.
pub(super) fn problems(settings: &Settings) -> Vec<Problem> {
    let mut out = Rules(Vec::new());
    let s = settings;

    out.non_empty("service.name", &s.service.name);
    out.non_empty("service.instance_id", &s.service.instance_id);
    if s.log.level.trim().is_empty() {
        out.push("log.level", "must not be empty; e.g. \"info\"");
    } else if let Err(e) = EnvFilter::try_new(&s.log.level) {
        out.push(
            "log.level",
            format!("is not a valid tracing filter directive: {e}"),
        );
    }

    let k = &s.kafka;
    brokers(&mut out, &k.brokers);
    out.non_empty("kafka.client_id", &k.client_id);
    out.non_empty("kafka.group_prefix", &k.group_prefix);
    out.at_most("kafka.linger_ms", k.linger_ms, 60_000);
    out.at_most("kafka.tick_linger_ms", k.tick_linger_ms, 60_000);
    // librdkafka takes at most i32::MAX; past an hour a record is long stale anyway.
    out.between(
        "kafka.message_timeout_ms",
        k.message_timeout_ms,
        1_000,
        MAX_DELAY_MS,
    );
    for (key, linger) in [
        ("kafka.linger_ms", k.linger_ms),
        ("kafka.tick_linger_ms", k.tick_linger_ms),
    ] {
        if k.message_timeout_ms <= linger && linger <= 60_000 {
            // librdkafka refuses to make a producer otherwise.
            let message = format!(
                "must be greater than {key} ({linger}), got {}",
                k.message_timeout_ms
            );
            out.push("kafka.message_timeout_ms", message);
        }
    }
    out.between("kafka.fetch_wait_max_ms", k.fetch_wait_max_ms, 1, 1_000);
    out.between(
        "kafka.session_timeout_ms",
        k.session_timeout_ms,
        1,
        3_600_000,
    );
    out.between(
        "kafka.max_in_flight_per_partition",
        k.max_in_flight_per_partition as u64,
        1,
        MAX_QUEUE,
    );
    out.between(
        "kafka.unavailable_exit_secs",
        k.unavailable_exit_secs,
        5,
        86_400,
    );
    out.between(
        "kafka.unassigned_exit_secs",
        k.unassigned_exit_secs,
        10,
        86_400,
    );
    out.between("kafka.ready_max_lag", k.ready_max_lag, 1, 100_000_000);
    for name in k.client.keys() {
        if name.trim().is_empty() {
            out.push("kafka.client", "property names must not be empty");
        } else if let Some((_, typed)) = TYPED_PROPERTIES.iter().find(|(p, _)| *p == name) {
            out.push(
                format!("kafka.client.{name}"),
                format!("set {typed} instead"),
            );
        }
    }

    let r = &s.retry;
    // A record retried for longer holds its partition up: past these it belongs in the DLQ.
    out.between("retry.attempts", u64::from(r.attempts), 1, 1_000);
    out.between("retry.base_ms", r.base_ms, 1, 60_000);
    if !(r.factor.is_finite() && r.factor >= 1.0) {
        out.push(
            "retry.factor",
            format!(
                "must be a finite number of at least 1.0, got {:?}",
                r.factor
            ),
        );
    }
    if r.max_ms < r.base_ms {
        let message = format!(
            "must be at least retry.base_ms ({}), got {}",
            r.base_ms, r.max_ms
        );
        out.push("retry.max_ms", message);
    } else {
        out.at_most("retry.max_ms", r.max_ms, 600_000);
    }
    if !(0.0..=1.0).contains(&r.jitter) {
        out.push(
            "retry.jitter",
            format!("must be between 0.0 and 1.0, got {:?}", r.jitter),
        );
    }

    let t = &s.topics;
    out.partitions("topics.tick_partitions", t.tick_partitions);
    out.partitions("topics.default_partitions", t.default_partitions);
    let replication = i64::from(t.replication_factor);
    if !(1..=MAX_REPLICATION_FACTOR).contains(&replication) {
        let message = format!(
            "must be between 1 and {MAX_REPLICATION_FACTOR} (copies of each partition; at \
             most the number of brokers), got {replication}"
        );
        out.push("topics.replication_factor", message);
    }
    out.retention("topics.tick_retention_ms", t.tick_retention_ms);
    out.retention("topics.default_retention_ms", t.default_retention_ms);
    out.retention("topics.dlq_retention_ms", t.dlq_retention_ms);

    redis_url(&mut out, s.redis.url.expose());
    out.between(
        "redis.connect_timeout_ms",
        s.redis.connect_timeout_ms,
        1,
        60_000,
    );
    out.between(
        "redis.command_timeout_ms",
        s.redis.command_timeout_ms,
        1,
        60_000,
    );

    out.0.extend(s.supervision.problems());
    out.0.extend(super::instruments::problems(&s.instruments));
    out.0.extend(super::market::problems(
        &s.market_hours,
        &s.feed,
        &s.simulator,
    ));
    out.0.extend(super::kite::problems(s));
    out.0.extend(super::trading::problems(s));
    out.0.extend(super::zerodha::problems(s));
    out.0.extend(super::fno::problems(&s.fno));
    out.0.extend(super::api::problems(s));
    out.0.extend(super::alerts::problems(s));
    out.0
}

/// `"memory"`, or a `redis://` URL the redis client accepts (with a host), so that `run`
/// never fails on it after starting. `rediss://` is refused with its reason: the redis
/// client is built without TLS.
fn redis_url(out: &mut Rules, url: &str) {
    if url == "memory" {
        return;
    }
    // The store opens the URL with this same call, which parses without connecting.
    // Never show the URL or the parser's message: either may repeat a password.
    let parsed = redis::Client::open(url).is_ok();
    let shaped = url.starts_with("redis://") || url.starts_with("rediss://");
    if !shaped {
        let message = "must be \"memory\" or a redis:// or rediss:// URL (value not shown: it \
                       may contain a password)";
        out.push("redis.url", message);
    } else if !parsed
        && url.starts_with("rediss://")
        && redis::Client::open(url.replacen("rediss://", "redis://", 1)).is_ok()
    {
        let message = "rediss:// (TLS) is not supported by this build of alpha-panda: use a \
                       redis:// URL, over a TLS tunnel if the network needs one (value not \
                       shown: it may contain a password)";
        out.push("redis.url", message);
    } else if !parsed {
        let message = "is not a valid Redis URL: expected redis://[user:password@]host[:port][/db] \
                       (value not shown: it may contain a password)";
        out.push("redis.url", message);
    }
}

/// `"embedded"`, or a comma-separated list of `host:port` with a numeric port.
fn brokers(out: &mut Rules, brokers: &str) {
    const KEY: &str = "kafka.brokers";
    if brokers.trim().is_empty() {
        out.push(
            KEY,
            "must not be empty; use \"embedded\" or \"host:port,host:port\"",
        );
        return;
    }
    if brokers == "embedded" {
        return;
    }
    for (index, entry) in brokers.split(',').map(str::trim).enumerate() {
        let valid = entry.rsplit_once(':').is_some_and(|(host, port)| {
            !host.is_empty() && port.parse::<u16>().is_ok_and(|port| port > 0)
        });
        if !valid {
            let message = format!(
                "entry {} ({entry:?}) is not host:port with a port in 1..=65535; use \
                 \"embedded\" or \"host:port,host:port\"",
                index + 1
            );
            out.push(KEY, message);
        }
    }
}

/// Collected problems with small helpers for the common rule shapes.
struct Rules(Vec<Problem>);

impl Rules {
    fn push(&mut self, key: impl Into<String>, message: impl Into<String>) {
        self.0.push(Problem::new(key, message));
    }

    fn non_empty(&mut self, key: &str, value: &str) {
        if value.trim().is_empty() {
            self.push(key, "must not be empty");
        }
    }

    fn at_most(&mut self, key: &str, value: u64, max: u64) {
        if value > max {
            self.push(key, format!("must be at most {max}, got {value}"));
        }
    }

    fn between(&mut self, key: &str, value: u64, min: u64, max: u64) {
        if !(min..=max).contains(&value) {
            self.push(key, format!("must be between {min} and {max}, got {value}"));
        }
    }

    fn partitions(&mut self, key: &str, value: i32) {
        if !(1..=MAX_PARTITIONS).contains(&value) {
            let message = format!(
                "must be between 1 and {MAX_PARTITIONS}, got {value}: librdkafka aborts the \
                 process on absurd partition counts, and more partitions than this buy no \
                 parallelism here (one consumer per service and process)"
            );
            self.push(key, message);
        }
    }

    fn retention(&mut self, key: &str, value: i64) {
        if value <= 0 && value != -1 {
            self.push(
                key,
                format!("must be positive, or -1 to keep forever, got {value}"),
            );
        }
    }
}
