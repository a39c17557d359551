//! Unit tests of loading, error wording, validation and masking.
//!
//! Tests never touch the process environment: they pass an explicit map to
//! [`Settings::load_from`], and settings files are written to temporary directories.

use std::collections::HashMap;

use super::test_support::{load, problems};
use super::*;

/// The sections tested in `market_tests.rs`.
const MARKET_SECTIONS: [&str; 4] = ["instruments", "market_hours", "feed", "simulator"];

/// The sections tested in `trading_tests.rs` and `strategy_tests.rs`.
const TRADING_SECTIONS: [&str; 5] = ["brokers", "strategies", "risk", "paper", "portfolio"];

/// The sections tested in `kite_tests.rs` (and `fno.rs`).
const KITE_SECTIONS: [&str; 3] = ["kite", "zerodha", "fno"];

fn defaults() -> Settings {
    load(None, &[]).unwrap()
}

/// `key = literal` as a settings file: `("kafka.linger_ms", "5")` gives `[kafka]\nlinger_ms = 5`.
fn file_setting(key: &str, literal: &str) -> String {
    let (table, leaf) = key.rsplit_once('.').unwrap();
    format!("[{table}]\n{leaf} = {literal}\n")
}

#[test]
fn defaults_load_and_validate() {
    let s = defaults();
    s.validate().unwrap();
    assert!(s.is_embedded_kafka() && s.is_memory_store());
    assert_eq!(s.redis.url.expose(), "memory");
    let effective: toml::Table = toml::from_str(&s.to_masked_toml()).unwrap();
    let expected = [
        ("service.name", "\"alpha-panda\""),
        ("service.instance_id", "\"local\""),
        ("service.threads", "\"own\""),
        ("log.format", "\"human\""),
        ("log.level", "\"info\""),
        ("api.enabled", "true"),
        ("api.listen", "\"127.0.0.1:8080\""),
        ("api.control_token", "\"\""),
        ("kafka.brokers", "\"embedded\""),
        ("kafka.client_id", "\"alpha-panda\""),
        ("kafka.group_prefix", "\"alpha-panda\""),
        ("kafka.linger_ms", "0"),
        ("kafka.tick_linger_ms", "5"),
        ("kafka.compression", "\"lz4\""),
        ("kafka.message_timeout_ms", "30000"),
        ("kafka.fetch_wait_max_ms", "10"),
        ("kafka.session_timeout_ms", "10000"),
        ("kafka.max_in_flight_per_partition", "512"),
        ("kafka.unavailable_exit_secs", "60"),
        ("kafka.unassigned_exit_secs", "120"),
        ("kafka.ready_max_lag", "10000"),
        ("kafka.client", "{}"),
        ("retry.base_ms", "50"),
        ("retry.factor", "2.0"),
        ("retry.max_ms", "5000"),
        ("retry.attempts", "5"),
        ("retry.jitter", "0.2"),
        ("topics.tick_partitions", "6"),
        ("topics.default_partitions", "3"),
        ("topics.replication_factor", "1"),
        ("topics.tick_retention_ms", "86400000"),
        ("topics.default_retention_ms", "604800000"),
        ("topics.dlq_retention_ms", "2592000000"),
        ("redis.url", "\"***\""),
        ("redis.connect_timeout_ms", "2000"),
        ("redis.command_timeout_ms", "1000"),
    ];
    for (key, literal) in expected {
        let (table, leaf) = key.split_once('.').unwrap();
        assert_eq!(effective[table][leaf].to_string(), literal, "{key}");
    }
    let count: usize = effective
        .iter()
        // supervision: see supervision_tests.rs; the market-data sections: market_tests.rs;
        // the trading sections: trading_tests.rs; kite and zerodha: kite_tests.rs; alerts:
        // alerts_tests.rs
        .filter(|(section, _)| !MARKET_SECTIONS.contains(&section.as_str()))
        .filter(|(section, _)| *section != "alerts")
        .filter(|(section, _)| !TRADING_SECTIONS.contains(&section.as_str()))
        .filter(|(section, _)| !KITE_SECTIONS.contains(&section.as_str()))
        .filter(|(section, _)| *section != "supervision")
        .filter_map(|(_, t)| t.as_table())
        .map(|t| t.len())
        .sum();
    assert_eq!(count, expected.len(), "every setting is checked above");
}

#[test]
fn every_default_has_a_comment_line_above_it() {
    let mut previous = "";
    for line in DEFAULT_TOML.lines().map(str::trim) {
        let is_setting = !line.is_empty() && !line.starts_with('#') && !line.starts_with('[');
        assert!(
            !is_setting || previous.starts_with('#'),
            "no comment above {line:?}"
        );
        previous = line;
    }
}

#[test]
fn production_example_loads_and_validates() {
    let text = include_str!("../../config/examples/production.toml");
    let credentials = [
        ("ALPHA_PANDA__KITE__API_KEY", "key"),
        ("ALPHA_PANDA__KITE__ACCESS_TOKEN", "token"),
    ];
    let s = load(Some(text), &credentials).unwrap();
    assert_eq!(s.log.format, LogFormat::Json);
    assert!(!s.is_embedded_kafka() && !s.is_memory_store());
    assert_eq!(s.supervision.policy_for("producer").stop_timeout_ms, 15_000);
}

#[test]
fn durations_and_consumer_group() {
    let s = defaults();
    assert_eq!(s.retry.base(), std::time::Duration::from_millis(50));
    assert_eq!(s.retry.max(), std::time::Duration::from_secs(5));
    assert_eq!(s.kafka.linger(), std::time::Duration::ZERO);
    assert_eq!(
        s.kafka.message_timeout(),
        std::time::Duration::from_secs(30)
    );
    assert_eq!(s.kafka.consumer_group("strategy"), "alpha-panda.strategy");
    assert_eq!(Compression::Lz4.as_librdkafka(), "lz4");
}

#[test]
fn file_overrides_defaults() {
    let s = load(
        Some("[kafka]\nlinger_ms = 20\ncompression = \"gzip\"\n"),
        &[],
    )
    .unwrap();
    assert_eq!(
        (s.kafka.linger_ms, s.kafka.compression),
        (20, Compression::Gzip)
    );
    assert_eq!(
        s.kafka.message_timeout_ms, 30_000,
        "untouched keys keep their default"
    );
}

#[test]
fn env_overrides_file() {
    let file = "[kafka]\nlinger_ms = 20\nclient_id = \"from-file\"\n";
    let vars = [
        ("ALPHA_PANDA__KAFKA__LINGER_MS", "10"),
        ("alpha_panda__redis__url", "redis://127.0.0.1:6379"),
        ("ALPHA_PANDA__RETRY__FACTOR", "1.5"),
        ("ALPHA_PANDA__TOPICS__TICK_RETENTION_MS", "-1"),
        ("ALPHA_PANDA__LOG__FORMAT", "json"),
    ];
    let s = load(Some(file), &vars).unwrap();
    assert_eq!(
        (s.kafka.linger_ms, s.kafka.client_id.as_str()),
        (10, "from-file")
    );
    assert_eq!(s.redis.url.expose(), "redis://127.0.0.1:6379");
    assert_eq!((s.retry.factor, s.topics.tick_retention_ms), (1.5, -1));
    assert_eq!(s.log.format, LogFormat::Json);
}

#[test]
fn unrelated_env_vars_are_ignored() {
    let vars = [
        ("ALPHA_PANDA_CONFIG", "x.toml"),
        ("PATH", "/bin"),
        ("ALPHA_PANDAS__X", "1"),
    ];
    load(None, &vars).unwrap();
}

#[test]
fn bad_value_via_file_names_key_and_value() {
    let err = load(Some("[kafka]\nlinger_ms = \"fast\"\n"), &[]).unwrap_err();
    assert_eq!(
        err.to_string(),
        r#"kafka.linger_ms: expected an integer, got "fast""#
    );
}

#[test]
fn bad_value_via_env_names_key_and_value() {
    let err = load(None, &[("ALPHA_PANDA__KAFKA__LINGER_MS", "fast")]).unwrap_err();
    assert_eq!(
        err.to_string(),
        r#"kafka.linger_ms: expected an integer, got "fast""#
    );
}

#[test]
fn wrong_kinds_and_ranges_are_reported_not_coerced() {
    #[rustfmt::skip]
    let cases = [
        ("kafka.linger_ms", "1.5", "expected an integer, got 1.5"),
        ("kafka.linger_ms", "true", "expected an integer, got true"),
        ("kafka.linger_ms", "-5", "expected a non-negative integer, got -5"),
        ("retry.factor", "\"x\"", "expected a number, got \"x\""),
        ("service.name", "5", "expected a string, got 5"),
        ("service.name", "[1]", "expected a string, got an array"),
        ("service.name", "{ a = 1 }", "expected a string, got a table"),
        ("kafka.client.x", "[1]", "expected a string, got an array"),
        ("topics.tick_partitions", "3000000000", "expected an integer between -2147483648 and"),
        ("retry.attempts", "5000000000", "expected an integer at most 4294967295, got"),
    ];
    for (key, literal, fragment) in cases {
        let found = problems(load(Some(&file_setting(key, literal)), &[]));
        let ok = found.len() == 1 && found[0].starts_with(&format!("{key}: {fragment}"));
        assert!(ok, "{key} = {literal}: {found:?}");
    }
    let found = problems(load(Some("kafka = 5"), &[]));
    assert_eq!(found, ["kafka: expected a table, got 5"]);
}

#[test]
fn bad_enum_value_lists_allowed_values() {
    let found = problems(load(Some(&file_setting("log.format", "\"xml\"")), &[]));
    assert_eq!(
        found,
        [r#"log.format: expected one of human, json, got "xml""#]
    );
    let found = problems(load(None, &[("ALPHA_PANDA__KAFKA__COMPRESSION", "zstd")]));
    let expected = r#"kafka.compression: expected one of none, gzip, snappy, lz4, got "zstd""#;
    assert_eq!(found, [expected]);
    let found = problems(load(Some(&file_setting("log.format", "1")), &[]));
    assert_eq!(found, ["log.format: expected a string, got 1"]);
}

#[test]
fn enum_names_are_case_insensitive() {
    let upper = load(None, &[("ALPHA_PANDA__KAFKA__COMPRESSION", "SNAPPY")]).unwrap();
    assert_eq!(upper.kafka.compression, Compression::Snappy);
}

#[test]
fn unknown_key_in_file_is_named_with_hint() {
    let found = problems(load(Some("[kafka]\nlingr_ms = 5\n"), &[]));
    assert_eq!(
        found,
        ["kafka.lingr_ms: unknown key; did you mean `linger_ms`?"]
    );
    let found = problems(load(Some("[kafka]\nzzz = 5\n"), &[]));
    assert_eq!(
        found,
        ["kafka.zzz: unknown key"],
        "no hint when nothing is close"
    );
}

#[test]
fn unknown_key_via_env_is_named_with_its_variable() {
    let found = problems(load(None, &[("ALPHA_PANDA__KAFKA__NOPE", "1")]));
    let expected = "kafka.nope: unknown key (from environment variable ALPHA_PANDA__KAFKA__NOPE)";
    assert_eq!(found, [expected]);
    let found = problems(load(None, &[("ALPHA_PANDA__KAFKA__LINGR_MS", "1")]));
    let expected = "kafka.lingr_ms: unknown key (from environment variable \
                    ALPHA_PANDA__KAFKA__LINGR_MS); did you mean `linger_ms`?";
    assert_eq!(found, [expected]);
}

#[test]
fn unknown_section_is_an_error() {
    let found = problems(load(Some("[kafak]\nbrokers = \"x:1\"\n"), &[]));
    assert_eq!(found, ["kafak: unknown section; did you mean `kafka`?"]);
    let found = problems(load(Some("verbose = true\n"), &[]));
    assert_eq!(found, ["verbose: unknown key"]);
    let found = problems(load(None, &[("ALPHA_PANDA__METRICS__PORT", "9000")]));
    let expected =
        "metrics: unknown section (from environment variable ALPHA_PANDA__METRICS__PORT)";
    assert_eq!(found, [expected]);
}

#[test]
fn malformed_env_name_is_reported() {
    for name in [
        "ALPHA_PANDA__KAFKA____LINGER_MS",
        "ALPHA_PANDA__",
        "ALPHA_PANDA__KAFKA__LÏNGER",
    ] {
        let found = problems(load(None, &[(name, "1")]));
        assert_eq!(found.len(), 1, "{name}: {found:?}");
        assert!(
            found[0].starts_with(&format!("{name}: malformed name")),
            "{found:?}"
        );
    }
}

#[test]
fn kafka_client_is_an_open_map_of_flat_properties() {
    let file = "[kafka.client]\n\"security.protocol\" = \"SASL_SSL\"\nsasl.mechanism = \"PLAIN\"\n\
                \"socket.keepalive.enable\" = true\n";
    let vars = [("ALPHA_PANDA__KAFKA__CLIENT__SASL__PASSWORD", "hunter2")];
    let s = load(Some(file), &vars).unwrap();
    let get = |k: &str| s.kafka.client.get(k).map(String::as_str);
    assert_eq!(get("security.protocol"), Some("SASL_SSL"));
    assert_eq!(
        get("sasl.mechanism"),
        Some("PLAIN"),
        "unquoted dotted keys are flattened"
    );
    assert_eq!(get("socket.keepalive.enable"), Some("true"));
    assert_eq!(
        get("sasl.password"),
        Some("hunter2"),
        "set from the environment"
    );
}

#[test]
fn multiple_problems_are_reported_at_once() {
    let file = "[kafka]\nlinger_ms = \"fast\"\nlingr_ms = 1\n[log]\nformat = \"xml\"\n";
    let err = load(Some(file), &[("ALPHA_PANDA__RETRY__JITTER", "lots")]).unwrap_err();
    let expected = [
        "kafka.linger_ms: expected an integer, got \"fast\"",
        "kafka.lingr_ms: unknown key; did you mean `linger_ms`?",
        "log.format: expected one of human, json, got \"xml\"",
        "retry.jitter: expected a number, got \"lots\"",
    ];
    let found: Vec<String> = err.problems.iter().map(ToString::to_string).collect();
    assert_eq!(found, expected);
    assert_eq!(err.to_string(), expected.join("\n"), "one problem per line");
}

#[test]
fn missing_file_is_a_file_problem() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nope.toml");
    let err = Settings::load_from(Some(&path), &HashMap::new()).unwrap_err();
    assert_eq!(err.problems.len(), 1);
    let p = &err.problems[0];
    assert_eq!(p.key, "(file)");
    assert!(
        p.message.contains("cannot read") && p.message.contains("nope.toml"),
        "{p}"
    );
}

#[test]
fn malformed_toml_is_a_file_problem_with_position() {
    let err = load(Some("[kafka]\nlinger_ms = = 5\n"), &[]).unwrap_err();
    assert_eq!(err.problems.len(), 1);
    let p = &err.problems[0];
    assert_eq!(p.key, "(file)");
    assert!(
        p.message
            .contains("settings.toml is not valid TOML: line 2"),
        "{p}"
    );
    assert!(!p.message.contains('\n'), "one line: {p}");
}

/// The variable that sets the dotted `key`.
fn var(key: &str) -> String {
    format!("ALPHA_PANDA__{}", key.replace('.', "__").to_uppercase())
}

#[test]
fn validate_catches_each_rule() {
    #[rustfmt::skip]
    let cases = [
        ("service.name", "", "must not be empty"),
        ("service.instance_id", " ", "must not be empty"),
        ("log.level", "info,=[", "not a valid tracing filter"),
        ("log.level", "", "must not be empty"),
        ("kafka.brokers", "", "must not be empty"),
        ("kafka.brokers", "localhost", "entry 1 (\"localhost\") is not host:port"),
        ("kafka.brokers", "a:1,b:x", "entry 2 (\"b:x\")"),
        ("kafka.brokers", "a:1,", "entry 2 (\"\")"),
        ("kafka.brokers", ":9092", "not host:port"),
        ("kafka.brokers", "a:0", "port in 1..=65535"),
        ("kafka.client_id", "", "must not be empty"),
        ("kafka.group_prefix", "", "must not be empty"),
        ("kafka.linger_ms", "60001", "must be at most 60000, got 60001"),
        ("kafka.message_timeout_ms", "999", "must be between 1000 and 3600000, got 999"),
        ("kafka.fetch_wait_max_ms", "0", "must be between 1 and 1000, got 0"),
        ("kafka.fetch_wait_max_ms", "1001", "got 1001"),
        ("kafka.session_timeout_ms", "0", "must be between 1 and"),
        ("kafka.max_in_flight_per_partition", "0", "must be between 1 and 1000000, got 0"),
        ("kafka.client.linger.ms", "1", "set kafka.linger_ms instead"),
        ("retry.attempts", "0", "must be between 1 and 1000, got 0"),
        ("retry.base_ms", "0", "must be between 1 and 60000"),
        ("retry.factor", "0.5", "finite number of at least 1.0, got 0.5"),
        ("retry.factor", "inf", "finite number"),
        ("retry.max_ms", "10", "must be at least retry.base_ms (50), got 10"),
        ("retry.jitter", "1.5", "must be between 0.0 and 1.0, got 1.5"),
        ("retry.jitter", "NaN", "got NaN"),
        ("topics.tick_partitions", "0", "must be between 1 and 1024"),
        ("topics.default_partitions", "-3", "got -3"),
        ("topics.replication_factor", "0", "must be between 1 and 16"),
        ("topics.tick_retention_ms", "0", "must be positive, or -1 to keep forever, got 0"),
        ("topics.default_retention_ms", "-2", "got -2"),
        ("topics.dlq_retention_ms", "0", "positive"),
        ("redis.url", "http://x", "must be \"memory\" or a redis:// or rediss:// URL"),
        ("redis.url", "redis://", "is not a valid Redis URL"),
        ("redis.url", "rediss://:pw@host:6380/0", "TLS) is not supported by this build"),
        ("redis.connect_timeout_ms", "0", "must be between 1 and 60000"),
        ("redis.command_timeout_ms", "0", "must be between 1 and 60000"),
    ];
    for (key, value, fragment) in cases {
        let err = load(None, &[(&var(key), value)]).unwrap_err();
        assert_eq!(err.problems.len(), 1, "{key} = {value:?}: {err}");
        let p = &err.problems[0];
        assert!(
            p.key == key && p.message.contains(fragment),
            "{key} = {value:?}: {p}"
        );
    }
}

#[test]
fn validate_accepts_edge_values() {
    let cases = [
        ("kafka.brokers", "k1:9092, k2:9093,[::1]:9094"),
        ("kafka.linger_ms", "29999"),
        ("kafka.fetch_wait_max_ms", "1000"),
        ("retry.max_ms", "50"),
        ("retry.jitter", "0"),
        ("retry.factor", "1"),
        ("topics.dlq_retention_ms", "-1"),
        ("redis.url", "redis://:pw@host:6380/0"),
        ("redis.url", "redis://user:pw@10.0.0.1"),
        ("log.level", "info,alpha_panda::streaming=debug"),
    ];
    for (key, value) in cases {
        let loaded = load(None, &[(&var(key), value)]);
        assert!(loaded.is_ok(), "{key} = {value:?}: {loaded:?}");
    }
    // The longest linger, with a delivery timeout above it (librdkafka's rule).
    let longest = [
        ("ALPHA_PANDA__KAFKA__LINGER_MS", "60000"),
        ("ALPHA_PANDA__KAFKA__MESSAGE_TIMEOUT_MS", "60001"),
    ];
    assert!(load(None, &longest).is_ok());
    let error = load(None, &longest[..1]).unwrap_err();
    assert!(error.mentions("kafka.message_timeout_ms"), "{error}");
}

#[test]
fn validate_checks_a_settings_value_built_in_code() {
    let mut s = defaults();
    s.retry.jitter = -0.1;
    s.kafka.brokers = "nohost".into();
    let keys: Vec<String> = s
        .validate()
        .unwrap_err()
        .problems
        .into_iter()
        .map(|p| p.key)
        .collect();
    assert_eq!(keys, ["kafka.brokers", "retry.jitter"]);
}

#[test]
fn validate_reports_every_problem_at_once_without_echoing_the_url() {
    let vars = [
        ("ALPHA_PANDA__REDIS__URL", "http://user:hunter2@host"),
        ("ALPHA_PANDA__RETRY__MAX_MS", "10"),
        ("ALPHA_PANDA__KAFKA__BROKERS", "nohost"),
    ];
    let err = load(None, &vars).unwrap_err();
    let keys: Vec<&str> = err.problems.iter().map(|p| p.key.as_str()).collect();
    assert_eq!(keys, ["kafka.brokers", "retry.max_ms", "redis.url"]);
    assert!(!err.to_string().contains("hunter2"));
}

#[test]
fn masked_toml_hides_secrets() {
    let file = "[kafka.client]\n\"sasl.password\" = \"kafkapass\"\n\"sasl.username\" = \"bob\"\n\
                \"ssl.key.password\" = \"keypass\"\n\"sasl.oauthbearer.token\" = \"tok\"\n";
    let vars = [("ALPHA_PANDA__REDIS__URL", "redis://:redispass@host:6379/0")];
    let s = load(Some(file), &vars).unwrap();
    let out = s.to_masked_toml();
    for secret in ["kafkapass", "keypass", "tok\"", "redispass", "host:6379"] {
        assert!(!out.contains(secret), "{secret} leaked:\n{out}");
    }
    assert!(
        out.contains("***") && out.contains("\"sasl.username\" = \"bob\""),
        "{out}"
    );
    let parsed: toml::Table = toml::from_str(&out).unwrap();
    assert_eq!(parsed["kafka"]["tick_linger_ms"].as_integer(), Some(5));
    assert_eq!(parsed["redis"]["url"].as_str(), Some("***"));
    let debug = format!("{s:?}");
    assert!(
        !debug.contains("kafkapass") && !debug.contains("redispass"),
        "{debug}"
    );
}

#[test]
fn secret_never_prints_its_value() {
    let secret = Secret::new("hunter2");
    assert_eq!(format!("{secret:?}"), "***");
    assert_eq!(secret.to_string(), "***");
    assert_eq!(serde_json::to_string(&secret).unwrap(), "\"***\"");
    assert_eq!(secret.expose(), "hunter2");
    assert_eq!(format!("{:?}", Secret::default()), "(unset)");
    assert_eq!(serde_json::to_string(&Secret::default()).unwrap(), "\"\"");
    let parsed: Secret = serde_json::from_str("\"hunter2\"").unwrap();
    assert_eq!(parsed.expose(), "hunter2");
}

#[test]
fn load_reads_only_prefixed_process_variables() {
    // Reads, never writes, the process environment; meaningful only when it holds no
    // ALPHA_PANDA__ settings (the usual case for `cargo test`).
    let ours = std::env::vars_os().any(|(name, _)| {
        name.to_string_lossy()
            .to_ascii_uppercase()
            .starts_with("ALPHA_PANDA__")
    });
    if !ours {
        let s = Settings::load(None).unwrap();
        assert_eq!(s.kafka.tick_linger_ms, 5);
    }
}
