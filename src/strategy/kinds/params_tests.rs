//! Strategy parameters: validation and the TOML forms they are read from.

use super::{StrategyError, StrategyParams, try_build};
use rust_decimal::Decimal;
use std::str::FromStr;

fn dec(s: &str) -> Decimal {
    Decimal::from_str(s).expect("literal decimal")
}

fn rsi(period: usize, oversold: &str, overbought: &str, quantity: u32) -> StrategyParams {
    StrategyParams::Rsi {
        period,
        oversold: dec(oversold),
        overbought: dec(overbought),
        quantity,
    }
}

fn mean_reversion(rsi_period: usize, bb_period: usize, bb_k: &str) -> StrategyParams {
    StrategyParams::MeanReversion {
        rsi_period,
        oversold: dec("30"),
        overbought: dec("70"),
        bb_period,
        bb_k: dec(bb_k),
        quantity: 10,
    }
}

#[test]
fn validate_table() {
    let cases: Vec<(StrategyParams, Vec<&str>)> = vec![
        (
            StrategyParams::EmaCross {
                fast: 10,
                slow: 20,
                quantity: 100,
            },
            vec![],
        ),
        (
            StrategyParams::EmaCross {
                fast: 10,
                slow: 5,
                quantity: 100,
            },
            vec!["fast: must be below slow (10 >= 5)"],
        ),
        (
            StrategyParams::EmaCross {
                fast: 0,
                slow: 0,
                quantity: 0,
            },
            vec![
                "fast: must be at least 1 (got 0)",
                "slow: must be at least 1 (got 0)",
                "fast: must be below slow (0 >= 0)",
                "quantity: must be positive (got 0)",
            ],
        ),
        (
            StrategyParams::EmaCross {
                fast: 1,
                slow: 2,
                quantity: u32::MAX / 2 + 1,
            },
            vec![
                "quantity: must be at most 2147483647 (got 2147483648; a flip trades twice the quantity)",
            ],
        ),
        (
            StrategyParams::Momentum {
                lookback: 20,
                threshold: dec("0.01"),
                quantity: 1,
            },
            vec![],
        ),
        (
            StrategyParams::Momentum {
                lookback: 0,
                threshold: dec("-0.01"),
                quantity: u32::MAX,
            },
            vec![
                "lookback: must be at least 1 (got 0)",
                "threshold: must be positive (got -0.01)",
            ],
        ),
        (rsi(14, "30", "70", 5), vec![]),
        (
            rsi(0, "70", "30", 5),
            vec![
                "period: must be at least 1 (got 0)",
                "oversold: must be below overbought (70 >= 30)",
            ],
        ),
        (
            rsi(14, "0", "100", 5),
            vec![
                "oversold: must be strictly between 0 and 100 (got 0)",
                "overbought: must be strictly between 0 and 100 (got 100)",
            ],
        ),
        (mean_reversion(14, 20, "2"), vec![]),
        (
            mean_reversion(0, 1, "0"),
            vec![
                "rsi_period: must be at least 1 (got 0)",
                "bb_period: must be at least 2 (got 1)",
                "bb_k: must be positive (got 0)",
            ],
        ),
    ];
    for (params, want) in cases {
        assert_eq!(params.validate(), want, "{params:?}");
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
        let params: StrategyParams = toml::from_str(text).expect(text);
        let StrategyParams::Momentum { threshold, .. } = params else {
            panic!("not momentum: {params:?}");
        };
        // Exact: 0.1 as f64 is 0.1000000000000000055…, but reads as the Decimal 0.1.
        assert_eq!(threshold, dec(want), "{text}");
        assert_eq!(threshold.to_string(), want, "{text}");
    }
}

#[test]
fn every_kind_reads_from_toml() {
    let cases = [
        (
            "kind = \"ema_cross\"\nfast = 10\nslow = 20\nquantity = 100",
            StrategyParams::EmaCross {
                fast: 10,
                slow: 20,
                quantity: 100,
            },
        ),
        (
            "kind = \"rsi\"\nperiod = 14\noversold = 30\noverbought = 70.5\nquantity = 5",
            rsi(14, "30", "70.5", 5),
        ),
        (
            "kind = \"mean_reversion\"\nrsi_period = 14\noversold = 30\noverbought = 70\n\
             bb_period = 20\nbb_k = 2.0\nquantity = 10",
            mean_reversion(14, 20, "2"),
        ),
    ];
    for (text, want) in cases {
        let params: StrategyParams = toml::from_str(text).expect(text);
        assert_eq!(params, want, "{text}");
        // Serialised (decimals as strings) and read back, unchanged.
        let again: StrategyParams =
            toml::from_str(&toml::to_string(&params).expect("serialise")).expect("reread");
        assert_eq!(again, want, "{text}");
    }
}

#[test]
fn toml_with_unknown_field_or_kind_is_refused() {
    let cases = [
        "kind = \"ema_cross\"\nfast = 10\nslow = 20\nquantity = 100\nfastt = 3",
        "kind = \"ema_crossover\"\nfast = 10\nslow = 20\nquantity = 100",
        "fast = 10\nslow = 20\nquantity = 100",
    ];
    for text in cases {
        assert!(toml::from_str::<StrategyParams>(text).is_err(), "{text}");
    }
}

#[test]
fn try_build_refuses_invalid_params_with_every_problem() {
    let params = StrategyParams::EmaCross {
        fast: 10,
        slow: 5,
        quantity: 0,
    };
    let Err(err) = try_build("ema", &params) else {
        panic!("invalid params built");
    };
    assert_eq!(
        err,
        StrategyError::InvalidParams {
            id: "ema".into(),
            kind: "ema_cross",
            problems: vec![
                "fast: must be below slow (10 >= 5)".into(),
                "quantity: must be positive (got 0)".into(),
            ],
        }
    );
    assert_eq!(
        err.to_string(),
        "strategy ema (ema_cross): invalid parameters: fast: must be below slow (10 >= 5); \
         quantity: must be positive (got 0)"
    );
    assert!(
        try_build(
            "ema",
            &StrategyParams::EmaCross {
                fast: 1,
                slow: 2,
                quantity: 1
            }
        )
        .is_ok()
    );
}
