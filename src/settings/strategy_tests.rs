//! Unit tests of `[strategies]`: the default examples, per-key overrides, changing a
//! kind, the problems of a bad entry (each named by its key path) and the environment.

use super::trading_tests::{d, load, problems};
use super::*;
use crate::messages::Broker;
use crate::strategy::StrategyParams;

fn momentum(lookback: usize) -> StrategyParams {
    StrategyParams::Momentum {
        lookback,
        threshold: d("0.0005"),
        quantity: 10,
    }
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
        params: momentum(20),
        product: None,
        variety: None,
    };
    assert_eq!(m, &expected);
    let e = &s.strategies["ema_cross_1"];
    assert!(e.enabled);
    assert_eq!(e.instruments, ["TCS", "HDFCBANK"]);
    let ema = StrategyParams::EmaCross {
        fast: 10,
        slow: 20,
        quantity: 10,
    };
    assert_eq!(e.params, ema);
}

#[test]
fn a_file_overrides_one_param_and_keeps_the_rest() {
    let file = "[strategies.momentum_1.params]\nlookback = 30\n\
                [strategies.ema_cross_1]\nenabled = false\ninstruments = [\"TCS\"]\n";
    let s = load(Some(file), &[]).unwrap();
    assert_eq!(s.strategies["momentum_1"].params, momentum(30));
    assert_eq!(s.strategies["momentum_1"].instruments, ["RELIANCE", "INFY"]);
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
    let rsi = StrategyParams::Rsi {
        period: 14,
        oversold: d("30"),
        overbought: d("70"),
        quantity: 5,
    };
    assert_eq!(s.strategies["momentum_1"].params, rsi);
    let mine = &s.strategies["mine"];
    assert_eq!(mine.brokers, [Broker::Paper]);
    assert!(matches!(mine.params, StrategyParams::MeanReversion { bb_k, .. } if bb_k == d("2.5")));

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
    let ema = StrategyParams::EmaCross {
        fast: 3,
        slow: 7,
        quantity: 2,
    };
    assert_eq!(s.strategies["momentum_1"].params, ema);
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
    let expected = StrategyParams::Momentum {
        lookback: 30,
        threshold: d("0.001"),
        quantity: 10,
    };
    assert_eq!(m.params, expected);
    let brokers = &s.strategies["ema_cross_1"].brokers;
    assert_eq!(brokers, &[Broker::Paper, Broker::Zerodha]);
}

#[test]
fn an_unknown_param_is_named_with_a_hint() {
    let file = "[strategies.momentum_1.params]\nlookbak = 30\n";
    let got = problems(load(Some(file), &[]));
    assert_eq!(
        got,
        [
            "strategies.momentum_1.params: unknown field `lookbak`, expected one of `lookback`, \
             `threshold`, `quantity`; did you mean `lookback`?"
        ]
    );
}

#[test]
fn a_bad_kind_is_named_with_a_hint() {
    let file = "[strategies.ema_cross_1]\nparams = { kind = \"ema_cros\", fast = 1 }\n";
    let got = problems(load(Some(file), &[]));
    assert_eq!(got.len(), 1, "{got:?}");
    assert!(
        got[0].starts_with(
            "strategies.ema_cross_1.params.kind: unknown variant `ema_cros`, expected one of"
        ),
        "{got:?}"
    );
    assert!(got[0].ends_with("did you mean `ema_cross`?"), "{got:?}");
    let file = "[strategies.ema_cross_1.params]\nkind = \"rsi\"\n\
                [strategies.x]\nenabled = true\nbrokers = [\"paper\"]\ninstruments = [\"TCS\"]\n\
                params = { fast = 1 }\n";
    let got = problems(load(Some(file), &[]));
    assert_eq!(
        got,
        [
            // kind replaced the params: the new kind's keys are all needed.
            "strategies.ema_cross_1.params.period: missing",
            "strategies.x.params.kind: missing; one of momentum, mean_reversion, rsi, ema_cross",
        ]
    );
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
    // Problems found deserialising several entries, together (kind and unknown-key
    // problems of the schema check come first, as for every section).
    let file = "[strategies.momentum_1.params]\nlookback = \"long\"\n\
                [strategies.ema_cross_1]\nbrokers = [\"kite\"]\nparams = { kind = \"x\" }\n\
                [strategies.third]\nenabled = true\nbrokers = [\"paper\"]\n\
                instruments = [\"SBIN\"]\nparams = { kind = \"rsi\", period = 14, oversold = 30, \
                overbought = 70, quantity = 1, extra = 1 }\n";
    let got = problems(load(Some(file), &[]));
    let keys: Vec<&str> = got.iter().map(|p| p.split(": ").next().unwrap()).collect();
    assert_eq!(
        keys,
        [
            "strategies.ema_cross_1.brokers[0]",
            "strategies.ema_cross_1.params.kind",
            "strategies.momentum_1.params",
            "strategies.third.params",
        ],
        "{got:#?}"
    );
    assert_eq!(
        got[2],
        "strategies.momentum_1.params: expected an integer, got \"long\""
    );
    // Rule problems: params.validate() under params, ids, and the entry rules.
    let file = "[strategies.momentum_1.params]\nlookback = 0\nquantity = 0\n\
                [strategies.ema_cross_1.params]\nfast = 30\n\
                [strategies.\"bad id\"]\nenabled = false\nbrokers = [\"paper\"]\n\
                instruments = [\"SBIN\"]\nparams = { kind = \"momentum\", lookback = 5, \
                threshold = \"-1\", quantity = 1 }\n";
    let got = problems(load(Some(file), &[]));
    assert_eq!(
        got,
        [
            "strategies: strategy id \"bad id\" must be non-empty ASCII letters, digits, '_' and '-'",
            "strategies.bad id.params.threshold: must be positive (got -1)",
            "strategies.ema_cross_1.params.fast: must be below slow (30 >= 20)",
            "strategies.momentum_1.params.lookback: must be at least 1 (got 0)",
            "strategies.momentum_1.params.quantity: must be positive (got 0)",
        ]
    );
}
