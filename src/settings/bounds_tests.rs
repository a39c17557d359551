//! Every bounded period, size and count: the bound itself loads, one past it is refused
//! with a problem naming the key (so `config check` refuses what `run` cannot honour).

use super::test_support::load;

/// `kafka.linger_ms` → `ALPHA_PANDA__KAFKA__LINGER_MS`.
fn var(key: &str) -> String {
    format!(
        "ALPHA_PANDA__{}",
        key.replace('.', "__").to_ascii_uppercase()
    )
}

#[test]
fn each_bound_is_accepted_and_one_past_it_refused() {
    // (key, values accepted, values refused) — lower and upper ends together.
    let cases: &[(&str, &[&str], &[&str])] = &[
        (
            "kafka.message_timeout_ms",
            &["1000", "3600000"],
            &["999", "3600001"],
        ),
        (
            "kafka.max_in_flight_per_partition",
            &["1", "1000000"],
            &["0", "1000001"],
        ),
        ("retry.attempts", &["1", "1000"], &["0", "1001"]),
        ("retry.base_ms", &["1", "50"], &["0", "60001"]),
        ("retry.max_ms", &["50", "600000"], &["49", "600001"]),
        (
            "topics.tick_partitions",
            &["1", "1024"],
            &["0", "1025", "100000000"],
        ),
        ("topics.default_partitions", &["1", "1024"], &["0", "1025"]),
        ("topics.replication_factor", &["1", "16"], &["0", "17"]),
        ("redis.connect_timeout_ms", &["1", "60000"], &["0", "60001"]),
        ("redis.command_timeout_ms", &["1", "60000"], &["0", "60001"]),
        (
            "supervision.default.within_secs",
            &["1", "86400"],
            &["0", "86401"],
        ),
        (
            "supervision.default.backoff_initial_ms",
            &["1", "30000"],
            &["0"],
        ),
        (
            "supervision.default.backoff_max_ms",
            &["500", "3600000"],
            &["99", "3600001"],
        ),
        (
            "supervision.default.reset_after_secs",
            &["1", "86400"],
            &["0", "86401"],
        ),
        (
            "supervision.default.stop_timeout_ms",
            &["1", "600000"],
            &["0", "600001"],
        ),
        (
            "feed.reconnect_initial_ms",
            &["1", "60000"],
            &["0", "60001"],
        ),
        (
            "feed.reconnect_max_ms",
            &["500", "600000"],
            &["499", "600001"],
        ),
        (
            "feed.max_pending_ticks",
            &["1", "1000000"],
            &["0", "1000001"],
        ),
        (
            "zerodha.order_rate_per_min",
            &["1", "60000"],
            &["0", "60001"],
        ),
        (
            "zerodha.request_rate_per_sec",
            &["1", "1000"],
            &["0", "1001"],
        ),
        (
            "zerodha.rate_limit_backoff_ms",
            &["1", "1000"],
            &["0", "60001"],
        ),
        (
            "zerodha.rate_limit_backoff_max_ms",
            &["1000", "600000"],
            &["999", "600001"],
        ),
        (
            "portfolio.snapshot_interval_ms",
            &["1", "3600000"],
            &["0", "3600001"],
        ),
        ("paper.latency_ticks", &["0", "100000"], &["100001"]),
    ];
    for (key, accepted, refused) in cases {
        for value in *accepted {
            let loaded = load(None, &[(&var(key), value)]);
            assert!(loaded.is_ok(), "{key} = {value}: {loaded:?}");
        }
        for value in *refused {
            let error = load(None, &[(&var(key), value)]).unwrap_err();
            assert!(error.mentions(key), "{key} = {value}: {error}");
        }
    }
}

#[test]
fn an_actor_override_past_a_bound_is_refused_too() {
    let vars = [
        (
            "ALPHA_PANDA__SUPERVISION__ACTORS__PRODUCER__WITHIN_SECS",
            "86401",
        ),
        (
            "ALPHA_PANDA__SUPERVISION__ACTORS__PRODUCER__STOP_TIMEOUT_MS",
            "600001",
        ),
    ];
    let error = load(None, &vars).unwrap_err();
    assert!(
        error.mentions("supervision.actors.producer.within_secs"),
        "{error}"
    );
    assert!(
        error.mentions("supervision.actors.producer.stop_timeout_ms"),
        "{error}"
    );
}

#[test]
fn a_registered_algo_may_send_more_orders_a_second_up_to_a_bound() {
    let with = |rate: &'static str| {
        load(
            None,
            &[
                ("ALPHA_PANDA__ZERODHA__REGISTERED_ALGO", "true"),
                ("ALPHA_PANDA__ZERODHA__ORDER_RATE_PER_SEC", rate),
            ],
        )
    };
    assert!(with("1000").is_ok());
    assert!(
        with("1001")
            .unwrap_err()
            .mentions("zerodha.order_rate_per_sec")
    );
}
