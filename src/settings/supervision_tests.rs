//! Unit tests of `[supervision]`: defaults, overrides from file and environment, the
//! templated-map schema check of `supervision.actors`, and the validation rules.
//!
//! Like `tests.rs`, these never touch the process environment.

use std::time::Duration;

use super::test_support::{load, problems};
use super::*;

fn default_policy() -> RestartPolicy {
    RestartPolicy {
        restart: RestartType::Permanent,
        max_restarts: 5,
        within_secs: 60,
        backoff_initial_ms: 100,
        backoff_max_ms: 30_000,
        backoff_multiplier: 2.0,
        jitter: 0.2,
        reset_after_secs: 60,
        stop_timeout_ms: 5_000,
    }
}

#[test]
fn defaults_load_and_every_actor_gets_the_default() {
    let s = load(None, &[]).unwrap().supervision;
    assert_eq!(s.default, default_policy());
    // default.toml tunes the producer and the infrastructure supervisor (see
    // docs/SUPERVISION.md); everything else gets the default.
    let tuned: Vec<&str> = s.actors.keys().map(String::as_str).collect();
    assert_eq!(tuned, ["infrastructure", "producer"]);
    for actor in [
        "anything",
        "aa_sample",
        "consumer.strategy_runner",
        "root",
        "",
    ] {
        assert_eq!(s.policy_for(actor), default_policy(), "{actor:?}");
    }
    let p = &s.default;
    assert_eq!(p.within(), Duration::from_secs(60));
    assert_eq!(p.backoff_initial(), Duration::from_millis(100));
    assert_eq!(p.backoff_max(), Duration::from_secs(30));
    assert_eq!(p.reset_after(), Duration::from_secs(60));
    assert_eq!(p.stop_timeout(), Duration::from_secs(5));
    assert!(p.problems("supervision.default").is_empty());
}

#[test]
fn file_override_merges_only_the_given_keys() {
    let file = "[supervision.actors.aa_sample]\nmax_restarts = 3\nrestart = \"transient\"\n\
                [supervision.actors.services]\nstop_timeout_ms = 20000\n\
                [supervision.default]\njitter = 0.5\n";
    let s = load(Some(file), &[]).unwrap().supervision;
    let aa_sample = s.policy_for("aa_sample");
    let expected = RestartPolicy {
        restart: RestartType::Transient,
        max_restarts: 3,
        jitter: 0.5,
        ..default_policy()
    };
    assert_eq!(
        aa_sample, expected,
        "unset keys come from the (changed) default"
    );
    assert_eq!(s.policy_for("services").stop_timeout_ms, 20_000);
    assert_eq!(s.policy_for("services").max_restarts, 5);
    assert_eq!(s.policy_for("consumer").jitter, 0.5);
    let only = PolicyOverride {
        max_restarts: Some(3),
        restart: Some(RestartType::Transient),
        ..PolicyOverride::default()
    };
    assert_eq!(s.actors["aa_sample"], only);
}

#[test]
fn env_override_converts_strings() {
    let vars = [
        (
            "ALPHA_PANDA__SUPERVISION__ACTORS__AA_SAMPLE__MAX_RESTARTS",
            "3",
        ),
        (
            "ALPHA_PANDA__SUPERVISION__ACTORS__AA_SAMPLE__BACKOFF_MULTIPLIER",
            "1.5",
        ),
        (
            "ALPHA_PANDA__SUPERVISION__ACTORS__AA_SAMPLE__RESTART",
            "Temporary",
        ),
        ("ALPHA_PANDA__SUPERVISION__DEFAULT__WITHIN_SECS", "120"),
    ];
    let file = "[supervision.actors.aa_sample]\nmax_restarts = 9\nstop_timeout_ms = 100\n";
    let s = load(Some(file), &vars).unwrap().supervision;
    let p = s.policy_for("aa_sample");
    assert_eq!(
        (p.max_restarts, p.stop_timeout_ms),
        (3, 100),
        "env over file"
    );
    assert_eq!(p.backoff_multiplier, 1.5);
    assert_eq!(p.restart, RestartType::Temporary);
    assert_eq!(p.within_secs, 120);
}

#[test]
fn dotted_actor_names_stay_whole() {
    let quoted = "[supervision.actors.\"consumer.strategy_runner\"]\nmax_restarts = 2\n";
    let unquoted = "[supervision.actors.consumer.strategy_runner]\nmax_restarts = 2\n";
    let var = "ALPHA_PANDA__SUPERVISION__ACTORS__CONSUMER__STRATEGY_RUNNER__MAX_RESTARTS";
    let loaded = [
        load(Some(quoted), &[]),
        load(Some(unquoted), &[]),
        load(None, &[(var, "2")]),
    ];
    for (index, loaded) in loaded.into_iter().enumerate() {
        let s = loaded.unwrap().supervision;
        let names: Vec<&str> = s.actors.keys().map(String::as_str).collect();
        assert_eq!(
            names,
            ["consumer.strategy_runner", "infrastructure", "producer"],
            "spelling {index}"
        );
        assert_eq!(s.policy_for("consumer.strategy_runner").max_restarts, 2);
        assert_eq!(s.policy_for("consumer").max_restarts, 5, "no prefix match");
    }
}

#[test]
fn quoted_and_nested_spellings_of_one_name_merge() {
    // Disjoint keys merge; the environment (always nested) overrides the quoted file key.
    let file = "[supervision.actors.\"consumer.risk_manager\"]\nmax_restarts = 2\njitter = 0.1\n\
                [supervision.actors.consumer.risk_manager]\nwithin_secs = 30\n";
    let var = "ALPHA_PANDA__SUPERVISION__ACTORS__CONSUMER__RISK_MANAGER__MAX_RESTARTS";
    let s = load(Some(file), &[(var, "7")]).unwrap().supervision;
    let p = s.policy_for("consumer.risk_manager");
    assert_eq!((p.max_restarts, p.jitter, p.within_secs), (7, 0.1, 30));
    // Both spellings in the file for one key: ambiguous, so an error.
    let twice = "[supervision.actors.\"a.b\"]\nmax_restarts = 1\n[supervision.actors.a.b]\n\
                 max_restarts = 2\n";
    let expected = "supervision.actors.a.b.max_restarts: set twice (as a quoted dotted name \
                    and as a nested table)";
    assert_eq!(problems(load(Some(twice), &[])), [expected]);
}

#[test]
fn a_name_with_settings_and_longer_names_is_two_actors() {
    let file = "[supervision.actors.consumer]\nmax_restarts = 1\n\
                [supervision.actors.consumer.market_feed]\nmax_restarts = 2\n";
    let s = load(Some(file), &[]).unwrap().supervision;
    assert_eq!(s.policy_for("consumer").max_restarts, 1);
    assert_eq!(s.policy_for("consumer.market_feed").max_restarts, 2);
    assert_eq!(
        s.actors.len(),
        2 + 2,
        "plus the producer and infrastructure defaults"
    );
}

/// A settings file (if any), environment variables, and the one problem expected.
type Case<'a> = (Option<&'a str>, &'a [(&'a str, &'a str)], &'a str);

#[test]
fn schema_problems_in_overrides_are_named_precisely() {
    #[rustfmt::skip]
    let cases: &[Case] = &[
        (Some("[supervision.actors.aa_sample]\nmax_restart = 3\n"), &[],
         "supervision.actors.aa_sample.max_restart: unknown key; did you mean `max_restarts`?"),
        (None, &[("ALPHA_PANDA__SUPERVISION__ACTORS__AA_SAMPLE__JITER", "0.1")],
         "supervision.actors.aa_sample.jiter: unknown key (from environment variable \
          ALPHA_PANDA__SUPERVISION__ACTORS__AA_SAMPLE__JITER); did you mean `jitter`?"),
        (Some("[supervision.actors.aa_sample]\nmax_restarts = \"many\"\n"), &[],
         "supervision.actors.aa_sample.max_restarts: expected an integer, got \"many\""),
        (None, &[("ALPHA_PANDA__SUPERVISION__ACTORS__AA_SAMPLE__MAX_RESTARTS", "many")],
         "supervision.actors.aa_sample.max_restarts: expected an integer, got \"many\""),
        (Some("[supervision.actors.\"consumer.x\"]\njitter = true\n"), &[],
         "supervision.actors.consumer.x.jitter: expected a number, got true"),
        (Some("[supervision.actors.aa_sample]\nmax_restarts = -1\n"), &[],
         "supervision.actors.aa_sample.max_restarts: expected a non-negative integer, got -1"),
        (Some("[supervision.actors]\naa_sample = 5\n"), &[],
         "supervision.actors.aa_sample: expected a table, got 5"),
        (Some("[supervision]\nactors = 5\n"), &[],
         "supervision.actors: expected a table, got 5"),
        (Some("[supervision.defaults]\nmax_restarts = 3\n"), &[],
         "supervision.defaults: unknown key; did you mean `default`?"),
        (Some("[supervision.default]\nbackof_max_ms = 3\n"), &[],
         "supervision.default.backof_max_ms: unknown key; did you mean `backoff_max_ms`?"),
    ];
    for (file, vars, expected) in cases {
        assert_eq!(
            problems(load(*file, vars)),
            [*expected],
            "{file:?} {vars:?}"
        );
    }
}

#[test]
fn bad_restart_type_lists_allowed_values() {
    let expected = "expected one of permanent, transient, temporary, got \"always\"";
    let file = "[supervision.actors.aa_sample]\nrestart = \"always\"\n";
    let found = problems(load(Some(file), &[]));
    assert_eq!(
        found,
        [format!("supervision.actors.aa_sample.restart: {expected}")]
    );
    let var = "ALPHA_PANDA__SUPERVISION__DEFAULT__RESTART";
    let found = problems(load(None, &[(var, "always")]));
    assert_eq!(found, [format!("supervision.default.restart: {expected}")]);
}

#[test]
fn validate_catches_each_rule_in_the_default_and_in_an_override() {
    #[rustfmt::skip]
    let cases = [
        ("within_secs", "0", "must be at least 1, got 0: a zero period"),
        ("backoff_initial_ms", "0", "must be at least 1, got 0"),
        ("backoff_max_ms", "50", "must be at least backoff_initial_ms (100), got 50"),
        ("backoff_multiplier", "0.5", "must be a finite number of at least 1.0, got 0.5"),
        ("backoff_multiplier", "inf", "finite number"),
        ("backoff_multiplier", "NaN", "got NaN"),
        ("jitter", "1.5", "must be between 0.0 and 1.0, got 1.5"),
        ("jitter", "-0.1", "got -0.1"),
        ("reset_after_secs", "0", "must be at least 1, got 0"),
        ("stop_timeout_ms", "0", "must be at least 1, got 0"),
        ("max_restarts", "10001", "must be at most 10000, got 10001"),
    ];
    for (key, value, fragment) in cases {
        for table in [
            "default",
            "actors.aa_sample",
            "actors.\"consumer.strategy_runner\"",
        ] {
            let mut file = format!("[supervision.{table}]\n{key} = {value}\n");
            file = file.replace("= NaN", "= nan"); // TOML spells it lowercase
            if table == "default" && key == "backoff_max_ms" {
                // Keep the producer's own tuning (initial 500 ms) out of this case.
                file.push_str("[supervision.actors.producer]\nbackoff_initial_ms = 10\n");
            }
            let err = load(Some(&file), &[]).unwrap_err();
            let expected_key = format!("supervision.{}.{key}", table.replace('"', ""));
            assert_eq!(err.problems.len(), 1, "{file}: {err}");
            let p = &err.problems[0];
            assert!(
                p.key == expected_key && p.message.contains(fragment),
                "{file}: {p}"
            );
        }
    }
}

#[test]
fn validate_accepts_edge_values() {
    #[rustfmt::skip]
    let cases = [
        ("max_restarts", "0"), ("max_restarts", "10000"), ("within_secs", "1"),
        ("backoff_initial_ms", "30000"), ("backoff_max_ms", "100"),
        ("backoff_multiplier", "1"), ("jitter", "0"), ("jitter", "1"),
        ("reset_after_secs", "1"), ("stop_timeout_ms", "1"),
        ("restart", "\"temporary\""),
    ];
    for (key, value) in cases {
        for table in ["default", "actors.aa_sample"] {
            let mut file = format!("[supervision.{table}]\n{key} = {value}\n");
            if table == "default" && key == "backoff_max_ms" {
                // Keep the producer's own tuning (initial 500 ms) out of this case.
                file.push_str("[supervision.actors.producer]\nbackoff_initial_ms = 10\n");
            }
            let loaded = load(Some(&file), &[]);
            assert!(loaded.is_ok(), "{file}: {loaded:?}");
        }
    }
}

#[test]
fn broken_backoff_range_is_reported_at_the_overridden_key() {
    let cases = [
        // The override lowers the cap below the default start.
        (
            "backoff_max_ms = 50",
            "backoff_max_ms",
            "at least backoff_initial_ms (100), got 50",
        ),
        // Both overridden: reported at the cap, naming the override's start.
        (
            "backoff_initial_ms = 500\nbackoff_max_ms = 200",
            "backoff_max_ms",
            "at least backoff_initial_ms (500), got 200",
        ),
        // Only the start is overridden: the inherited cap is fine, the start is not.
        (
            "backoff_initial_ms = 50000",
            "backoff_initial_ms",
            "must be at most backoff_max_ms (30000, from supervision.default), got 50000",
        ),
    ];
    for (settings, key, fragment) in cases {
        let file = format!("[supervision.actors.market_feed]\n{settings}\n");
        let err = load(Some(&file), &[]).unwrap_err();
        let p = &err.problems[..];
        let ok = p.len() == 1
            && p[0].key == format!("supervision.actors.market_feed.{key}")
            && p[0].message.contains(fragment);
        assert!(ok, "{settings}: {err}");
    }
}

#[test]
fn a_broken_default_is_reported_once_not_per_actor() {
    let file = "[supervision.default]\njitter = 2.0\n[supervision.actors.aa_sample]\n\
                max_restarts = 1\n[supervision.actors.root]\njitter = 3.0\n";
    let keys: Vec<String> = problems(load(Some(file), &[]))
        .into_iter()
        .map(|p| p.split(':').next().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(
        keys,
        [
            "supervision.default.jitter",
            "supervision.actors.root.jitter"
        ]
    );
}

#[test]
fn all_problems_are_reported_at_once() {
    let file = "[supervision.default]\nwithin_secs = 0\nbackoff_multiplier = 0.5\n\
                [supervision.actors.aa_sample]\nmax_restarts = 20000\nstop_timeout_ms = 0\n\
                [supervision.actors.risk_manager]\nbackoff_max_ms = 10\njitter = -1.0\n";
    let expected = [
        "supervision.default.within_secs: must be at least 1, got 0: a zero period cannot \
         count restarts",
        "supervision.default.backoff_multiplier: must be a finite number of at least 1.0, \
         got 0.5",
        "supervision.actors.aa_sample.max_restarts: must be at most 10000, got 20000",
        "supervision.actors.aa_sample.stop_timeout_ms: must be at least 1, got 0",
        "supervision.actors.risk_manager.backoff_max_ms: must be at least backoff_initial_ms \
         (100), got 10",
        "supervision.actors.risk_manager.jitter: must be between 0.0 and 1.0, got -1.0",
    ];
    assert_eq!(problems(load(Some(file), &[])), expected);
    // Schema problems of several entries come together too, and with them the problems
    // that only show once a section deserialises (a bad enum name, restart = "never").
    let file = "[supervision.actors.aa_sample]\nmax_restart = 1\n\
                [supervision.actors.services]\njitter = \"x\"\nrestart = \"never\"\n";
    let found = problems(load(Some(file), &[]));
    assert_eq!(found.len(), 3, "{found:?}");
    assert!(found[0].starts_with("supervision.actors.aa_sample.max_restart: unknown key"));
    assert!(found[1].starts_with("supervision.actors.services.jitter: expected a number"));
    assert!(found[2].starts_with("supervision.actors.services.restart: expected one of"));
}

#[test]
fn empty_actor_name_is_rejected() {
    let file = "[supervision.actors.\"\"]\nmax_restarts = 1\n";
    let found = problems(load(Some(file), &[]));
    assert_eq!(found, ["supervision.actors: actor names must not be empty"]);
}

#[test]
fn masked_toml_includes_supervision_and_round_trips() {
    let file = "[supervision.actors.\"consumer.strategy_runner\"]\nmax_restarts = 2\n\
                [supervision.actors.aa_sample]\nrestart = \"transient\"\njitter = 0.0\n";
    let s = load(Some(file), &[]).unwrap();
    let out = s.to_masked_toml();
    assert!(out.contains("[supervision.default]"), "{out}");
    assert!(
        out.contains("[supervision.actors.\"consumer.strategy_runner\"]"),
        "{out}"
    );
    let parsed: toml::Table = toml::from_str(&out).unwrap();
    let aa_sample = &parsed["supervision"]["actors"]["aa_sample"];
    assert_eq!(aa_sample.as_table().map(toml::Table::len), Some(2), "{out}");
    assert_eq!(aa_sample["restart"].as_str(), Some("transient"));
    // The output loads back to the same supervision settings (redis.url aside: masked).
    let reloaded = load(Some(&out.replace("\"***\"", "\"memory\"")), &[]).unwrap();
    assert_eq!(reloaded.supervision, s.supervision);
}

#[test]
fn policy_serialises_with_lowercase_restart_names() {
    let json = serde_json::to_string(&RestartType::Temporary).unwrap();
    assert_eq!(json, "\"temporary\"");
    let parsed: RestartType = serde_json::from_str("\"Transient\"").unwrap();
    assert_eq!(parsed, RestartType::Transient);
    let over = PolicyOverride {
        jitter: Some(0.5),
        ..PolicyOverride::default()
    };
    assert_eq!(serde_json::to_string(&over).unwrap(), r#"{"jitter":0.5}"#);
}
