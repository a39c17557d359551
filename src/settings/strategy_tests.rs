//! Unit tests of `[strategies]`: the default examples, per-key overrides, changing a
//! kind, the problems of a bad entry (each named by its key path) and the environment.
//!
//! The loader checks only that `params` is a table with a string `kind`; the kind and its
//! fields are checked by the strategy registry, as `config check` and `run` do it
//! ([`check`] below).

use std::collections::HashMap;

use super::trading_tests::{d, load, problems};
use super::*;
use crate::messages::Broker;
use crate::strategy::StrategyRegistry;
use crate::strategy::kinds::{EmaCrossParams, MeanReversionParams, MomentumParams, RsiParams};

fn params(text: &str) -> StrategyParams {
    StrategyParams::from_toml(text).unwrap_or_else(|e| panic!("{text}: {e}"))
}

fn momentum(lookback: usize, threshold: &str) -> MomentumParams {
    MomentumParams {
        lookback,
        threshold: d(threshold),
        quantity: 10,
    }
}

/// The keys of a strategy's params table other than `kind`, sorted.
fn keys(p: &StrategyParams) -> Vec<&str> {
    p.values().keys().map(String::as_str).collect()
}

/// Loads as `config check` does ([`Settings::load_checked`] with the built-in registry's
/// problems), with `vars` for the environment: every problem as a `key: message` line,
/// sorted by key; empty when the settings are valid.
fn check(file: Option<&str>, vars: &[(&str, &str)]) -> Vec<String> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("settings.toml");
    if let Some(text) = file {
        std::fs::write(&path, text).unwrap();
    }
    let env: HashMap<String, String> = vars
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let settings = match loader::load_layers(file.map(|_| path.as_path()), &env) {
        Ok(settings) => settings,
        Err(e) => return e.problems.iter().map(ToString::to_string).collect(),
    };
    let mut found = validate::problems(&settings);
    found.extend(StrategyRegistry::builtin().problems(&settings.strategies));
    found.sort_by(|a, b| a.key.cmp(&b.key));
    found.iter().map(ToString::to_string).collect()
}

#[test]
fn defaults_hold_the_two_example_strategies() {
    let s = load(None, &[]).unwrap();
    let ids: Vec<&str> = s.strategies.keys().map(String::as_str).collect();
    assert_eq!(ids, ["ema_cross_1", "momentum_1"]);
    let m = &s.strategies["momentum_1"];
    let expected = StrategyConfig {
        enabled: true,
        brokers: vec![Broker::Paper],
        instruments: vec!["RELIANCE".into(), "INFY".into()],
        params: params("kind = \"momentum\"\nlookback = 20\nthreshold = \"0.0005\"\nquantity = 10"),
        product: None,
        variety: None,
        limit_buffer_pct: None,
    };
    assert_eq!(m, &expected);
    assert_eq!(m.params.kind(), "momentum");
    assert_eq!(
        m.params.parse::<MomentumParams>(),
        Ok(momentum(20, "0.0005"))
    );
    let e = &s.strategies["ema_cross_1"];
    assert!(e.enabled);
    assert_eq!(e.instruments, ["TCS", "HDFCBANK"]);
    assert_eq!(e.params.kind(), "ema_cross");
    let ema = EmaCrossParams {
        fast: 10,
        slow: 20,
        quantity: 10,
    };
    assert_eq!(e.params.parse::<EmaCrossParams>(), Ok(ema));
    // The examples build.
    assert_eq!(check(None, &[]), Vec::<String>::new());
}

#[test]
fn a_file_overrides_one_param_and_keeps_the_rest() {
    let file = "[strategies.momentum_1.params]\nlookback = 30\n\
                [strategies.ema_cross_1]\nenabled = false\ninstruments = [\"TCS\"]\n";
    let s = load(Some(file), &[]).unwrap();
    let m = &s.strategies["momentum_1"];
    assert_eq!(m.params.kind(), "momentum");
    assert_eq!(
        m.params.parse::<MomentumParams>(),
        Ok(momentum(30, "0.0005"))
    );
    assert_eq!(m.instruments, ["RELIANCE", "INFY"]);
    let e = &s.strategies["ema_cross_1"];
    assert!(!e.enabled);
    assert_eq!(e.instruments, ["TCS"], "arrays are replaced, not merged");
}

#[test]
fn setting_the_kind_replaces_the_params() {
    let file = "[strategies.momentum_1]\n\
                params = { kind = \"rsi\", period = 14, oversold = 30, overbought = \"70\", \
                quantity = 5 }\n\
                [strategies.mine]\nenabled = true\nbrokers = [\"Paper\"]\n\
                instruments = [\"SBIN\"]\n\
                params = { kind = \"mean_reversion\", rsi_period = 14, oversold = 30, \
                overbought = 70, bb_period = 20, bb_k = 2.5, quantity = 1 }\n";
    let s = load(Some(file), &[]).unwrap();
    let replaced = &s.strategies["momentum_1"].params;
    assert_eq!(replaced.kind(), "rsi");
    assert_eq!(
        keys(replaced),
        ["overbought", "oversold", "period", "quantity"],
        "none of momentum's keys mix in"
    );
    let rsi = RsiParams {
        period: 14,
        oversold: d("30"),
        overbought: d("70"),
        quantity: 5,
    };
    assert_eq!(replaced.parse::<RsiParams>(), Ok(rsi));
    let mine = &s.strategies["mine"];
    assert_eq!(mine.brokers, [Broker::Paper]);
    assert_eq!(mine.params.kind(), "mean_reversion");
    let parsed: MeanReversionParams = mine.params.parse().unwrap();
    assert_eq!(parsed.bb_k, d("2.5"));

    // The environment's kind replaces the file's params too.
    let vars = [
        (
            "ALPHA_PANDA__STRATEGIES__MOMENTUM_1__PARAMS__KIND",
            "ema_cross",
        ),
        ("ALPHA_PANDA__STRATEGIES__MOMENTUM_1__PARAMS__FAST", "3"),
        ("ALPHA_PANDA__STRATEGIES__MOMENTUM_1__PARAMS__SLOW", "7"),
        ("ALPHA_PANDA__STRATEGIES__MOMENTUM_1__PARAMS__QUANTITY", "2"),
    ];
    let s = load(Some(file), &vars).unwrap();
    let from_env = &s.strategies["momentum_1"].params;
    assert_eq!(from_env.kind(), "ema_cross");
    assert_eq!(keys(from_env), ["fast", "quantity", "slow"]);
    let ema = EmaCrossParams {
        fast: 3,
        slow: 7,
        quantity: 2,
    };
    assert_eq!(from_env.parse::<EmaCrossParams>(), Ok(ema));
    assert_eq!(check(Some(file), &vars), Vec::<String>::new());
}

#[test]
fn setting_the_same_kind_still_replaces_the_params() {
    // A layer that sets `kind` gives the whole table, even when the kind does not change:
    // the defaults' threshold and quantity are gone, and the registry says so.
    let file = "[strategies.momentum_1.params]\nkind = \"momentum\"\nlookback = 5\n";
    let s = load(Some(file), &[]).unwrap();
    assert_eq!(keys(&s.strategies["momentum_1"].params), ["lookback"]);
    assert_eq!(
        check(Some(file), &[]),
        [
            "strategies.momentum_1.params.quantity: missing",
            "strategies.momentum_1.params.threshold: missing",
        ]
    );
}

#[test]
fn environment_sets_strategy_keys() {
    let vars = [
        ("ALPHA_PANDA__STRATEGIES__MOMENTUM_1__ENABLED", "false"),
        (
            "ALPHA_PANDA__STRATEGIES__MOMENTUM_1__INSTRUMENTS",
            "SBIN, TCS",
        ),
        (
            "ALPHA_PANDA__STRATEGIES__MOMENTUM_1__PARAMS__LOOKBACK",
            "30",
        ),
        (
            "ALPHA_PANDA__STRATEGIES__MOMENTUM_1__PARAMS__THRESHOLD",
            "0.001",
        ),
        (
            "ALPHA_PANDA__STRATEGIES__EMA_CROSS_1__BROKERS",
            "paper,zerodha",
        ),
        ("ALPHA_PANDA__BROKERS__ENABLED", "paper,zerodha"),
        ("ALPHA_PANDA__KITE__API_KEY", "key"),
        ("ALPHA_PANDA__KITE__ACCESS_TOKEN", "token"),
    ];
    let s = load(None, &vars).unwrap();
    let m = &s.strategies["momentum_1"];
    assert!(!m.enabled);
    assert_eq!(m.instruments, ["SBIN", "TCS"]);
    assert_eq!(m.params.kind(), "momentum");
    assert_eq!(
        m.params.parse::<MomentumParams>(),
        Ok(momentum(30, "0.001"))
    );
    let brokers = &s.strategies["ema_cross_1"].brokers;
    assert_eq!(brokers, &[Broker::Paper, Broker::Zerodha]);
}

#[test]
fn an_unknown_param_is_named_with_a_hint() {
    let file = "[strategies.momentum_1.params]\nlookbak = 30\n";
    // The loader cannot know a kind's fields: it passes the table on.
    load(Some(file), &[]).unwrap();
    assert_eq!(
        check(Some(file), &[]),
        [
            "strategies.momentum_1.params.lookbak: unknown field `lookbak`, expected one of \
             `lookback`, `threshold`, `quantity`; did you mean `lookback`?"
        ]
    );
}

#[test]
fn a_bad_kind_is_named_with_the_kinds() {
    let file = "[strategies.ema_cross_1]\nparams = { kind = \"ema_cros\", fast = 1 }\n";
    assert_eq!(
        check(Some(file), &[]),
        [
            "strategies.ema_cross_1.params.kind: unknown kind \"ema_cros\"; one of ema_cross, \
             mean_reversion, momentum, rsi; did you mean `ema_cross`?"
        ]
    );
    // The kind replaced the params: the new kind's keys are all needed, all named.
    let file = "[strategies.ema_cross_1.params]\nkind = \"rsi\"\n";
    assert_eq!(
        check(Some(file), &[]),
        [
            "strategies.ema_cross_1.params.overbought: missing",
            "strategies.ema_cross_1.params.oversold: missing",
            "strategies.ema_cross_1.params.period: missing",
            "strategies.ema_cross_1.params.quantity: missing",
        ]
    );
}

#[test]
fn params_without_a_string_kind_are_refused_by_the_loader() {
    // (file, problem)
    let cases = [
        (
            "[strategies.x]\nenabled = true\nbrokers = [\"paper\"]\ninstruments = [\"TCS\"]\n\
             params = { fast = 1 }\n",
            "strategies.x.params.kind: missing; the strategy kind, e.g. \"ema_cross\"",
        ),
        (
            "[strategies.x]\nenabled = true\nbrokers = [\"paper\"]\ninstruments = [\"TCS\"]\n\
             params = { kind = 3 }\n",
            "strategies.x.params.kind: expected a string, got 3",
        ),
    ];
    for (file, want) in cases {
        assert_eq!(problems(load(Some(file), &[])), [want], "{file}");
        assert_eq!(check(Some(file), &[]), [want], "{file}");
    }
}

#[test]
fn a_broker_not_enabled_is_named() {
    let file = "[strategies.ema_cross_1]\nbrokers = [\"paper\", \"zerodha\"]\n";
    let got = problems(load(Some(file), &[]));
    assert_eq!(
        got,
        [
            "strategies.ema_cross_1.brokers[1]: \"zerodha\" is not in brokers.enabled; enable it \
             there, or remove it here (or disable the strategy)"
        ]
    );
    // A disabled strategy may keep a broker that is not running.
    let file = format!("{file}enabled = false\n");
    load(Some(&file), &[]).unwrap();
    let got = problems(load(
        Some("[strategies.ema_cross_1]\nbrokers = [\"paper\", \"kite\"]\n"),
        &[],
    ));
    assert_eq!(
        got,
        ["strategies.ema_cross_1.brokers[1]: expected one of paper, zerodha, got \"kite\""]
    );
}

#[test]
fn empty_and_repeated_instruments_are_named() {
    let file = "[strategies.momentum_1]\ninstruments = []\nbrokers = []\n\
                [strategies.ema_cross_1]\ninstruments = [\"TCS\", \"\", \"TCS\"]\n";
    let got = problems(load(Some(file), &[]));
    assert_eq!(
        got,
        [
            "strategies.ema_cross_1.instruments[1]: must be a symbol of the instrument registry, \
             got \"\"",
            "strategies.ema_cross_1.instruments[2]: \"TCS\" is already listed at \
             strategies.ema_cross_1.instruments[0]",
            "strategies.momentum_1.brokers: must not be empty; e.g. [\"paper\"]",
            "strategies.momentum_1.instruments: must not be empty; list the symbols it trades, \
             e.g. [\"RELIANCE\"]",
        ]
    );
}

#[test]
fn unknown_and_missing_entry_keys_are_named() {
    let file = "[strategies.momentum_1]\nenabeld = false\n\
                [strategies.momentum_1.parms]\nlookback = 3\n";
    let got = problems(load(Some(file), &[]));
    assert_eq!(
        got,
        [
            "strategies.momentum_1.enabeld: unknown key; did you mean `enabled`?",
            "strategies.momentum_1.parms: unknown key; did you mean `params`?",
        ]
    );
    let got = problems(load(Some("[strategies.new_one]\nenabled = true\n"), &[]));
    let missing = "missing: every strategy sets enabled, brokers, instruments and params";
    assert_eq!(
        got,
        [
            format!("strategies.new_one.brokers: {missing}"),
            format!("strategies.new_one.instruments: {missing}"),
            format!("strategies.new_one.params: {missing}"),
        ]
    );
}

#[test]
fn strategy_problems_are_reported_at_once_with_their_paths() {
    // Problems the registry finds in several entries' params, together: a value of the
    // wrong type, an unknown kind, an unknown field.
    let file = "[strategies.momentum_1.params]\nlookback = \"long\"\n\
                [strategies.ema_cross_1]\nparams = { kind = \"x\" }\n\
                [strategies.third]\nenabled = true\nbrokers = [\"paper\"]\n\
                instruments = [\"SBIN\"]\nparams = { kind = \"rsi\", period = 14, oversold = 30, \
                overbought = 70, quantity = 1, extra = 1 }\n";
    let got = check(Some(file), &[]);
    let keys: Vec<&str> = got.iter().map(|p| p.split(": ").next().unwrap()).collect();
    assert_eq!(
        keys,
        [
            "strategies.ema_cross_1.params.kind",
            "strategies.momentum_1.params.lookback",
            "strategies.third.params.extra",
        ],
        "{got:#?}"
    );
    assert_eq!(
        got[1],
        "strategies.momentum_1.params.lookback: expected an integer, got \"long\""
    );
    // The loader's own problems of several entries, together (a broker and a kind).
    let file = "[strategies.ema_cross_1]\nbrokers = [\"kite\"]\n\
                [strategies.third]\nenabled = true\nbrokers = [\"paper\"]\n\
                instruments = [\"SBIN\"]\nparams = { period = 14 }\n";
    let got = check(Some(file), &[]);
    let keys: Vec<&str> = got.iter().map(|p| p.split(": ").next().unwrap()).collect();
    assert_eq!(
        keys,
        [
            "strategies.ema_cross_1.brokers[0]",
            "strategies.third.params.kind"
        ],
        "{got:#?}"
    );
    // Range checks under params, with the id and entry rules of validation; a disabled
    // strategy is checked too.
    let file = "[strategies.momentum_1.params]\nlookback = 0\nquantity = 0\n\
                [strategies.ema_cross_1.params]\nfast = 30\n\
                [strategies.\"bad id\"]\nenabled = false\nbrokers = [\"paper\"]\n\
                instruments = [\"SBIN\"]\nparams = { kind = \"momentum\", lookback = 5, \
                threshold = \"-1\", quantity = 1 }\n";
    assert_eq!(
        check(Some(file), &[]),
        [
            "strategies: strategy id \"bad id\" must be non-empty ASCII letters, digits, '_' and '-'",
            "strategies.bad id.params.threshold: must be positive (got -1)",
            "strategies.ema_cross_1.params.fast: must be below slow (30 >= 20)",
            "strategies.momentum_1.params.lookback: must be at least 1 (got 0)",
            "strategies.momentum_1.params.quantity: must be positive (got 0)",
        ]
    );
}

#[test]
fn a_limit_buffer_is_a_small_positive_percentage() {
    let file =
        |buffer: &str| format!("[strategies.ema_cross_1]\nlimit_buffer_pct = \"{buffer}\"\n");
    let s = load(Some(&file("0.5")), &[]).unwrap();
    assert_eq!(
        s.strategies["ema_cross_1"].limit_buffer_pct,
        Some(rust_decimal::Decimal::new(5, 1))
    );
    for bad in ["0", "-1", "5.01"] {
        let error = load(Some(&file(bad)), &[]).unwrap_err();
        assert!(
            error.mentions("strategies.ema_cross_1.limit_buffer_pct"),
            "{bad}: {error}"
        );
    }
}
