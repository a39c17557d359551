//! Every problem at once: a value of the wrong type (or an unknown key) never hides the
//! range problems of other keys, in its own section or elsewhere, nor the problems of a
//! strategy's other parameters; problems about the defaults that stood in for the bad
//! values are not reported; secrets are never echoed.

use std::collections::HashMap;

use super::{Problem, Settings};
use crate::strategy::StrategyRegistry;

/// Every problem of `file` with `vars` as the environment, as `key: message` lines, with
/// the strategy registry's checks (as `config check` runs them).
fn check(file: &str, vars: &[(&str, &str)]) -> Vec<String> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("settings.toml");
    std::fs::write(&path, file).unwrap();
    let env: HashMap<String, String> = vars
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let registry = StrategyRegistry::builtin();
    let loaded = Settings::load_all_from(
        Some(&path),
        &env,
        Vec::new(),
        |_: &Problem| true,
        |s: &Settings| registry.problems(&s.strategies),
    );
    match loaded {
        Ok(_) => Vec::new(),
        Err(e) => e.problems.iter().map(ToString::to_string).collect(),
    }
}

/// The keys of `lines`.
fn keys(lines: &[String]) -> Vec<&str> {
    lines
        .iter()
        .map(|l| l.split_once(": ").map_or(l.as_str(), |(k, _)| k))
        .collect()
}

#[test]
fn every_problem_is_reported_whatever_hides_it() {
    // (case, file, environment, every key with a problem)
    type Case = (
        &'static str,
        &'static str,
        Vec<(&'static str, &'static str)>,
        Vec<&'static str>,
    );
    let cases: Vec<Case> = vec![
        (
            "a type error beside a range error in the same section",
            "[kafka]\nlinger_ms = \"fast\"\nmessage_timeout_ms = 5\n",
            vec![],
            // Out of range, and not above kafka.tick_linger_ms (5) either.
            vec![
                "kafka.linger_ms",
                "kafka.message_timeout_ms",
                "kafka.message_timeout_ms",
            ],
        ),
        (
            "a type error in one section, range errors in others",
            "[api]\nlisten = \"nohost\"\n[retry]\nattempts = 0\n[feed]\nliveness_secs = 0\n",
            vec![],
            vec!["api.listen", "feed.liveness_secs", "retry.attempts"],
        ),
        (
            "an unknown key beside a range error",
            "[kafka]\nlinger = 5\nlinger_ms = 70000\n",
            vec![],
            vec!["kafka.linger", "kafka.linger_ms"],
        ),
        (
            "a bad list element beside a range error",
            "[feed]\nsubscriptions = [\"RELIANCE:full\", \"INFY:deep\"]\nmax_pending_ticks = 0\n",
            vec![],
            vec!["feed.max_pending_ticks", "feed.subscriptions[1]"],
        ),
        (
            "a bad environment variable beside a range error in the file",
            "[retry]\nattempts = 0\n",
            vec![("ALPHA_PANDA__KAFKA__LINGER_MS", "soon")],
            vec!["kafka.linger_ms", "retry.attempts"],
        ),
        (
            "a strategy key of the wrong type beside its params' problems",
            "[strategies.s1]\nenabled = \"yes\"\nbrokers = [\"paper\"]\ninstruments = [\"TCS\"]\n\
             params = { kind = \"momentum\", lookback = 0, threshold = \"x\", quantity = 1 }\n",
            vec![],
            vec![
                "strategies.s1.enabled",
                "strategies.s1.params.lookback",
                "strategies.s1.params.threshold",
            ],
        ),
        (
            "a bad enum name beside a bad type in another actor",
            "[supervision.actors.services]\nrestart = \"never\"\n\
             [supervision.actors.producer]\nmax_restarts = \"x\"\n[topics]\ntick_partitions = 0\n",
            vec![],
            vec![
                "supervision.actors.producer.max_restarts",
                "supervision.actors.services.restart",
                "topics.tick_partitions",
            ],
        ),
        (
            "a rule about a default that stood in for a bad value is not reported",
            "[retry]\nbase_ms = \"x\"\nmax_ms = 10\n",
            vec![],
            vec!["retry.base_ms"],
        ),
        (
            "params that are no table take the strategy out, not the other problems",
            "[strategies.s2]\nenabled = true\nbrokers = [\"paper\"]\ninstruments = [\"TCS\"]\n\
             params = 5\n[kafka]\nfetch_wait_max_ms = 0\n",
            vec![],
            vec!["kafka.fetch_wait_max_ms", "strategies.s2.params"],
        ),
    ];
    for (case, file, vars, expected) in cases {
        let found = check(file, &vars);
        assert_eq!(keys(&found), expected, "{case}: {found:#?}");
    }
}

#[test]
fn a_secret_of_the_wrong_type_is_never_echoed() {
    let file = "[api]\ncontrol_token = 12345678901234567\n\
                [redis]\nurl = 98765432109876543\n\
                [kite]\napi_secret = 55555555555555555\naccess_token = 4.25\n";
    let found = check(file, &[]);
    assert_eq!(
        keys(&found),
        [
            "api.control_token",
            "kite.access_token",
            "kite.api_secret",
            "redis.url"
        ],
        "{found:#?}"
    );
    for line in &found {
        for secret in [
            "12345678901234567",
            "98765432109876543",
            "55555555555555555",
            "4.25",
        ] {
            assert!(!line.contains(secret), "echoed: {line}");
        }
        assert!(line.contains("value not shown: it is a secret"), "{line}");
    }
}
