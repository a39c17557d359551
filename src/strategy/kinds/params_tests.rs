//! The built-in kinds' parameters: the TOML forms they are read from, and the problems the
//! registry reports when it cannot build a kind, each naming its field.

use super::{BUILTIN_KINDS, EmaCrossParams, MeanReversionParams, MomentumParams, RsiParams};
use crate::strategy::{ParamsError, Strategy, StrategyParams, StrategyRegistry};
use rust_decimal::Decimal;
use std::str::FromStr;

fn dec(s: &str) -> Decimal {
    Decimal::from_str(s).expect("literal decimal")
}

fn params(text: &str) -> StrategyParams {
    StrategyParams::from_toml(text).unwrap_or_else(|e| panic!("{text}: {e}"))
}

/// The registry's refusal of `text`, as `field: message` lines.
fn refusal(text: &str) -> Vec<String> {
    match StrategyRegistry::builtin().build(&params(text)) {
        Ok(_) => panic!("built: {text}"),
        Err(e) => e
            .problems
            .iter()
            .map(|p| format!("{}: {}", p.field, p.message))
            .collect(),
    }
}

fn rsi(period: usize, oversold: &str, overbought: &str, quantity: u32) -> RsiParams {
    RsiParams {
        period,
        oversold: dec(oversold),
        overbought: dec(overbought),
        quantity,
    }
}

fn mean_reversion(rsi_period: usize, bb_period: usize, bb_k: &str) -> MeanReversionParams {
    MeanReversionParams {
        rsi_period,
        oversold: dec("30"),
        overbought: dec("70"),
        bb_period,
        bb_k: dec(bb_k),
        quantity: 10,
    }
}

#[test]
fn range_checks_table() {
    // (params TOML, every problem; none → it builds)
    let cases: Vec<(&str, Vec<&str>)> = vec![
        (
            "kind = \"ema_cross\"\nfast = 10\nslow = 20\nquantity = 100",
            vec![],
        ),
        (
            "kind = \"ema_cross\"\nfast = 10\nslow = 5\nquantity = 100",
            vec!["fast: must be below slow (10 >= 5)"],
        ),
        (
            "kind = \"ema_cross\"\nfast = 0\nslow = 0\nquantity = 0",
            vec![
                "fast: must be at least 1 (got 0)",
                "slow: must be at least 1 (got 0)",
                "fast: must be below slow (0 >= 0)",
                "quantity: must be positive (got 0)",
            ],
        ),
        (
            "kind = \"ema_cross\"\nfast = 1\nslow = 2\nquantity = 2147483648",
            vec![
                "quantity: must be at most 2147483647 (got 2147483648; a flip trades twice the \
                 quantity)",
            ],
        ),
        (
            "kind = \"momentum\"\nlookback = 20\nthreshold = \"0.01\"\nquantity = 1",
            vec![],
        ),
        (
            "kind = \"momentum\"\nlookback = 0\nthreshold = \"-0.01\"\nquantity = 4294967295",
            vec![
                "lookback: must be at least 1 (got 0)",
                "threshold: must be positive (got -0.01)",
            ],
        ),
        (
            // Used to pass `config check` and abort `run` allocating the window.
            "kind = \"momentum\"\nlookback = 4294967296000\nthreshold = \"0.01\"\nquantity = 1",
            vec!["lookback: must be at most 100000 ticks (got 4294967296000)"],
        ),
        (
            "kind = \"rsi\"\nperiod = 14\noversold = 30\noverbought = 70\nquantity = 5",
            vec![],
        ),
        (
            "kind = \"rsi\"\nperiod = 0\noversold = 70\noverbought = 30\nquantity = 5",
            vec![
                "period: must be at least 1 (got 0)",
                "oversold: must be below overbought (70 >= 30)",
            ],
        ),
        (
            "kind = \"rsi\"\nperiod = 14\noversold = 0\noverbought = 100\nquantity = 5",
            vec![
                "oversold: must be strictly between 0 and 100 (got 0)",
                "overbought: must be strictly between 0 and 100 (got 100)",
            ],
        ),
        (
            "kind = \"mean_reversion\"\nrsi_period = 14\noversold = 30\noverbought = 70\n\
             bb_period = 20\nbb_k = 2\nquantity = 10",
            vec![],
        ),
        (
            "kind = \"mean_reversion\"\nrsi_period = 0\noversold = 30\noverbought = 70\n\
             bb_period = 1\nbb_k = 0\nquantity = 10",
            vec![
                "rsi_period: must be at least 1 (got 0)",
                "bb_period: must be at least 2 (got 1)",
                "bb_k: must be positive (got 0)",
            ],
        ),
    ];
    for (text, want) in cases {
        let built = StrategyRegistry::builtin().build(&params(text));
        if want.is_empty() {
            assert!(built.is_ok(), "{text}: {:?}", built.err());
        } else {
            assert_eq!(refusal(text), want, "{text}");
        }
    }
}

#[test]
fn decimals_read_from_toml_strings_floats_and_integers_alike() {
    // (TOML, expected threshold)
    let cases = [
        (
            "kind = \"momentum\"\nlookback = 5\nthreshold = 0.01\nquantity = 1",
            "0.01",
        ),
        (
            "kind = \"momentum\"\nlookback = 5\nthreshold = \"0.01\"\nquantity = 1",
            "0.01",
        ),
        (
            "kind = \"momentum\"\nlookback = 5\nthreshold = 1\nquantity = 1",
            "1",
        ),
        (
            "kind = \"momentum\"\nlookback = 5\nthreshold = 0.1\nquantity = 1",
            "0.1",
        ),
    ];
    for (text, want) in cases {
        let parsed: MomentumParams = params(text).parse().expect(text);
        // Exact: 0.1 as f64 is 0.1000000000000000055…, but reads as the Decimal 0.1.
        assert_eq!(parsed.threshold, dec(want), "{text}");
        assert_eq!(parsed.threshold.to_string(), want, "{text}");
    }
}

#[test]
fn integers_read_from_strings_as_the_environment_gives_them() {
    let text = "kind = \"ema_cross\"\nfast = \"3\"\nslow = \"7\"\nquantity = \"2\"";
    let parsed: EmaCrossParams = params(text).parse().expect(text);
    assert_eq!(
        parsed,
        EmaCrossParams {
            fast: 3,
            slow: 7,
            quantity: 2
        }
    );
}

/// Reads `text` into `T`, checks it equals `want`, and that the params serialised as TOML
/// (decimals as strings) and read back are unchanged.
fn reads_and_round_trips<T>(text: &str, want: T)
where
    T: serde::de::DeserializeOwned + PartialEq + std::fmt::Debug,
{
    let original = params(text);
    assert_eq!(original.parse::<T>().expect(text), want, "{text}");
    let written = toml::to_string(&original).expect("serialise");
    let again = params(&written);
    assert_eq!(again, original, "{written}");
    assert_eq!(again.parse::<T>().expect(&written), want, "{written}");
    // And through serde, as the settings loader reads it.
    let through_serde: StrategyParams = toml::from_str(&written).expect("deserialise");
    assert_eq!(through_serde, original, "{written}");
}

#[test]
fn every_kind_reads_from_toml_and_round_trips() {
    reads_and_round_trips(
        "kind = \"ema_cross\"\nfast = 10\nslow = 20\nquantity = 100",
        EmaCrossParams {
            fast: 10,
            slow: 20,
            quantity: 100,
        },
    );
    reads_and_round_trips(
        "kind = \"momentum\"\nlookback = 20\nthreshold = \"0.0005\"\nquantity = 10",
        MomentumParams {
            lookback: 20,
            threshold: dec("0.0005"),
            quantity: 10,
        },
    );
    reads_and_round_trips(
        "kind = \"rsi\"\nperiod = 14\noversold = 30\noverbought = 70.5\nquantity = 5",
        rsi(14, "30", "70.5", 5),
    );
    reads_and_round_trips(
        "kind = \"mean_reversion\"\nrsi_period = 14\noversold = 30\noverbought = 70\n\
         bb_period = 20\nbb_k = 2.0\nquantity = 10",
        mean_reversion(14, 20, "2"),
    );
}

#[test]
fn kind_and_values_are_kept_apart() {
    let p = params("kind = \"rsi\"\nperiod = 14");
    assert_eq!(p.kind(), "rsi");
    assert_eq!(p.values().len(), 1, "{p}");
    assert_eq!(p.values()["period"], toml::Value::Integer(14));
    // `new` drops a `kind` inside the values: the kind given is the one.
    let mut values = toml::Table::new();
    values.insert("kind".into(), toml::Value::String("momentum".into()));
    values.insert("period".into(), toml::Value::Integer(14));
    assert_eq!(StrategyParams::new("rsi", values), p);
}

#[test]
fn a_value_of_the_wrong_type_names_its_field() {
    // (params TOML, field, message)
    let cases = [
        (
            "kind = \"momentum\"\nlookback = \"x\"\nthreshold = \"0.01\"\nquantity = 1",
            "lookback",
            "expected an integer, got \"x\"",
        ),
        (
            "kind = \"ema_cross\"\nfast = 10\nslow = 20\nquantity = -5",
            "quantity",
            "expected a non-negative integer, got -5",
        ),
        (
            "kind = \"rsi\"\nperiod = 14\noversold = \"low\"\noverbought = 70\nquantity = 5",
            "oversold",
            "",
        ),
    ];
    for (text, field, message) in cases {
        let err = StrategyRegistry::builtin()
            .build(&params(text))
            .err()
            .unwrap_or_else(|| panic!("built: {text}"));
        assert_eq!(err.problems.len(), 1, "{text}: {err}");
        assert_eq!(err.problems[0].field, field, "{text}: {err}");
        if !message.is_empty() {
            assert_eq!(err.problems[0].message, message, "{text}");
        }
    }
}

#[test]
fn a_missing_field_is_named() {
    let got = refusal("kind = \"ema_cross\"\nfast = 10\nquantity = 100");
    assert_eq!(got, ["slow: missing"]);
}

#[test]
fn an_unknown_field_gets_a_did_you_mean_hint() {
    // serde names an unknown field only in its message; the problem is keyed by it.
    let got = refusal("kind = \"ema_cross\"\nfast = 10\nslow = 20\nquantity = 100\nfastt = 3");
    assert_eq!(
        got,
        [
            "fastt: unknown field `fastt`, expected one of `fast`, `slow`, `quantity`; did you \
             mean `fast`?"
        ]
    );
    // Nothing close: no hint.
    let got = refusal("kind = \"ema_cross\"\nfast = 10\nslow = 20\nquantity = 100\nzzzzzz = 3");
    assert_eq!(
        got,
        ["zzzzzz: unknown field `zzzzzz`, expected one of `fast`, `slow`, `quantity`"]
    );
}

#[test]
fn an_unknown_kind_lists_the_kinds() {
    let got = refusal("kind = \"ema_crossover\"\nfast = 10\nslow = 20\nquantity = 100");
    assert_eq!(
        got,
        ["kind: unknown kind \"ema_crossover\"; one of ema_cross, mean_reversion, momentum, rsi"]
    );
}

#[test]
fn params_without_a_string_kind_are_refused() {
    // (TOML, message of the `kind` problem)
    let cases = [
        ("fast = 10\nslow = 20\nquantity = 100", "missing"),
        ("kind = 3\nfast = 10", "expected a string, got 3"),
    ];
    for (text, message) in cases {
        let err = StrategyParams::from_toml(text).expect_err(text);
        assert_eq!(err, ParamsError::field("kind", message), "{text}: {err}");
    }
    let err = StrategyParams::from_toml("kind = ").expect_err("not TOML");
    assert_eq!(err.problems.len(), 1);
    assert_eq!(err.problems[0].field, "", "{err}");
}

#[test]
fn a_refusal_carries_every_problem_and_keys_them_under_the_strategy() {
    let text = "kind = \"ema_cross\"\nfast = 10\nslow = 5\nquantity = 0";
    let err = StrategyRegistry::builtin()
        .build(&params(text))
        .err()
        .expect("invalid params built");
    assert_eq!(
        err.to_string(),
        "fast: must be below slow (10 >= 5); quantity: must be positive (got 0)"
    );
    let keyed: Vec<String> = err
        .at("strategies.ema.params")
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(
        keyed,
        [
            "strategies.ema.params.fast: must be below slow (10 >= 5)",
            "strategies.ema.params.quantity: must be positive (got 0)",
        ]
    );
    // A problem of the table as a whole is keyed at the table.
    let whole = ParamsError::field("", "expected a table");
    let keyed: Vec<String> = whole
        .at("strategies.x.params")
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(keyed, ["strategies.x.params: expected a table"]);
}

#[test]
fn the_builtin_registry_has_the_four_kinds_and_takes_more() {
    let mut registry = StrategyRegistry::builtin();
    let mut builtin = BUILTIN_KINDS.to_vec();
    builtin.sort_unstable();
    assert_eq!(registry.kinds(), builtin);
    assert!(StrategyRegistry::empty().kinds().is_empty());

    struct Idle;
    impl Strategy for Idle {
        fn on_tick(
            &mut self,
            _tick: &crate::messages::MarketTick,
            _ctx: &crate::strategy::StrategyContext<'_>,
        ) -> crate::strategy::Decision {
            Ok(None)
        }
    }
    registry.register("idle", |p: &StrategyParams| {
        if p.values().is_empty() {
            Ok(Box::new(Idle) as Box<dyn Strategy>)
        } else {
            Err(ParamsError::field("", "takes no parameters"))
        }
    });
    assert!(registry.build(&params("kind = \"idle\"")).is_ok());
    assert!(registry.build(&params("kind = \"idle\"\nx = 1")).is_err());
    assert!(registry.kinds().contains(&"idle"));
    // Registering a built-in name replaces it.
    registry.register("rsi", |_: &StrategyParams| {
        Ok(Box::new(Idle) as Box<dyn Strategy>)
    });
    assert!(registry.build(&params("kind = \"rsi\"")).is_ok());
    assert_eq!(registry.kinds().len(), 5);
}

#[test]
fn every_problem_of_a_kind_is_reported_at_once() {
    // (params TOML, every problem's field in order) — a field of the wrong type, a missing
    // or unknown field never hides another field's range problem.
    let cases: Vec<(&str, Vec<&str>)> = vec![
        (
            "kind = \"momentum\"\nlookback = \"x\"\nthreshold = \"0\"\nquantity = 0",
            vec!["lookback", "threshold", "quantity"],
        ),
        (
            "kind = \"ema_cross\"\nfast = \"ten\"\nslow = 0\nquantity = 10\nextra = 1",
            vec!["extra", "fast", "slow"],
        ),
        (
            "kind = \"mean_reversion\"\nrsi_period = 14\noversold = 30\noverbought = 70\n\
             bb_period = 1",
            vec!["bb_k", "quantity", "bb_period"],
        ),
        (
            "kind = \"rsi\"\nperiod = 4294967296000\noversold = \"high\"\noverbought = 70\n\
             quantity = 1",
            vec!["oversold", "period"],
        ),
    ];
    for (text, expected) in cases {
        let fields: Vec<String> = refusal(text)
            .iter()
            .map(|line| {
                line.split_once(':')
                    .map_or(line.clone(), |(f, _)| f.to_owned())
            })
            .collect();
        assert_eq!(fields, expected, "{text}: {:?}", refusal(text));
    }
}

#[test]
fn a_rule_about_a_stand_in_value_is_not_reported() {
    // fast is unreadable: "fast must be below slow" would be about the example's fast.
    assert_eq!(
        refusal("kind = \"ema_cross\"\nfast = \"x\"\nslow = 2\nquantity = 1"),
        ["fast: expected an integer, got \"x\""]
    );
}

#[test]
fn each_kind_s_example_is_valid() {
    use super::params::Checked;
    fn valid<T: Checked>(kind: &str) {
        let text = format!("kind = \"{kind}\"\n{}", T::EXAMPLE);
        let params = params(&text);
        let parsed: T = params.parse().unwrap_or_else(|e| panic!("{kind}: {e}"));
        assert!(parsed.problems().is_empty(), "{kind}");
    }
    valid::<MomentumParams>("momentum");
    valid::<MeanReversionParams>("mean_reversion");
    valid::<RsiParams>("rsi");
    valid::<EmaCrossParams>("ema_cross");
}
