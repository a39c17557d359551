//! Indicators against hand-computed values (the arithmetic is in the comments).

use super::indicators::{Bands, Bollinger, Ema, MeanStd, Momentum, RollingStd, Rsi, Sma};
use rust_decimal::Decimal;
use std::str::FromStr;

fn dec(s: &str) -> Decimal {
    Decimal::from_str(s).expect("literal decimal")
}

fn decs(values: &[&str]) -> Vec<Decimal> {
    values.iter().map(|s| dec(s)).collect()
}

fn opt(s: Option<&str>) -> Option<Decimal> {
    s.map(dec)
}

#[test]
fn ema_seeds_with_first_input_then_applies_alpha_to_every_input() {
    // period 3 → alpha = 2/4 = 0.5.
    // 10: seed 10, then 0.5·10 + 0.5·10 = 10
    // 12: 0.5·12 + 0.5·10 = 11
    // 14: 0.5·14 + 0.5·11 = 12.5
    // 10: 0.5·10 + 0.5·12.5 = 11.25
    let mut ema = Ema::new(3);
    assert_eq!((ema.value(), ema.count()), (None, 0));
    let got: Vec<_> = decs(&["10", "12", "14", "10"])
        .into_iter()
        .map(|x| ema.update(x))
        .collect();
    let want: Vec<_> = ["10", "11", "12.5", "11.25"].map(|s| Some(dec(s))).to_vec();
    assert_eq!(got, want);
    assert_eq!((ema.value(), ema.count()), (Some(dec("11.25")), 4));
}

#[test]
fn ema_periods_table() {
    // (period, inputs, final value)
    let cases: [(usize, &[&str], &str); 4] = [
        // alpha = 2/5 = 0.4: 10 → 10; 20 → 0.4·20 + 0.6·10 = 14
        (4, &["10", "20"], "14"),
        // alpha = 2/2 = 1: the EMA is the last input
        (1, &["10", "20", "7"], "7"),
        // period 0 is clamped to 1
        (0, &["10", "20", "7"], "7"),
        // a constant input keeps the EMA exactly constant (alpha = 2/21)
        (20, &["2450.35"; 30], "2450.35"),
    ];
    for (period, inputs, want) in cases {
        let mut ema = Ema::new(period);
        for x in decs(inputs) {
            ema.update(x);
        }
        assert_eq!(ema.value(), Some(dec(want)), "period {period}");
        assert_eq!(ema.count(), inputs.len() as u64, "period {period}");
    }
}

#[test]
fn sma_is_undefined_until_the_window_fills_then_slides() {
    // window 3: 1, 2 → warming up; (1+2+3)/3 = 2; (2+3+7)/3 = 4; (3+7+8)/3 = 6
    let mut sma = Sma::new(3);
    let got: Vec<_> = decs(&["1", "2", "3", "7", "8"])
        .into_iter()
        .map(|x| sma.update(x))
        .collect();
    let want = [None, None, Some("2"), Some("4"), Some("6")]
        .map(opt)
        .to_vec();
    assert_eq!(got, want);
    assert_eq!(sma.value(), Some(dec("6")));
}

#[test]
fn rolling_std_is_population_std_of_the_window() {
    // window 2: [1, 3] → mean 2, var ((1−2)² + (3−2)²)/2 = 1, std 1
    //           [3, 7] → mean 5, var (4 + 4)/2 = 4, std 2
    //           [7, 7] → mean 7, std 0
    let mut std = RollingStd::new(2);
    let got: Vec<_> = decs(&["1", "3", "7", "7"])
        .into_iter()
        .map(|x| std.update(x))
        .collect();
    let ms = |mean: &str, std: &str| {
        Some(MeanStd {
            mean: dec(mean),
            std: dec(std),
        })
    };
    assert_eq!(got, vec![None, ms("2", "1"), ms("5", "2"), ms("7", "0")]);

    // window 8 over 2, 4, 4, 4, 5, 5, 7, 9: mean 40/8 = 5,
    // var (9 + 1 + 1 + 1 + 0 + 0 + 4 + 16)/8 = 32/8 = 4, std 2
    let mut std = RollingStd::new(8);
    for x in decs(&["2", "4", "4", "4", "5", "5", "7", "9"]) {
        std.update(x);
    }
    assert_eq!(std.value(), ms("5", "2"));
}

#[test]
fn bollinger_bands_are_mean_plus_minus_k_std() {
    // window 2, k = 2: [1, 3] → 2 ± 2·1 = (0, 2, 4); [3, 7] → 5 ± 2·2 = (1, 5, 9)
    let mut bb = Bollinger::new(2, dec("2"));
    let band = |lower: &str, middle: &str, upper: &str| {
        Some(Bands {
            lower: dec(lower),
            middle: dec(middle),
            upper: dec(upper),
        })
    };
    assert_eq!(bb.update(dec("1")), None);
    assert_eq!(bb.update(dec("3")), band("0", "2", "4"));
    assert_eq!(bb.update(dec("7")), band("1", "5", "9"));
    assert_eq!(bb.value(), band("1", "5", "9"));
}

#[test]
fn rsi_uses_wilder_smoothing_after_a_simple_mean_seed() {
    // period 2, prices 100 102 104 100 98 96 104 (changes +2 +2 −4 −2 −2 +8)
    // after +2 +2: seed gain (2+2)/2 = 2, loss 0           → 100·2/2 = 100
    // −4: gain (2·1 + 0)/2 = 1, loss (0·1 + 4)/2 = 2      → 100·1/3 = 33.3333
    // −2: gain 0.5, loss (2 + 2)/2 = 2                     → 50/2.5 = 20
    // −2: gain 0.25, loss 2                                → 25/2.25 = 11.1111
    // +8: gain (0.25 + 8)/2 = 4.125, loss 1                → 412.5/5.125 = 80.4878
    let mut rsi = Rsi::new(2);
    let got: Vec<_> = decs(&["100", "102", "104", "100", "98", "96", "104"])
        .into_iter()
        .map(|x| rsi.update(x).map(|v| v.round_dp(4)))
        .collect();
    let want = [
        None,
        None,
        Some("100"),
        Some("33.3333"),
        Some("20"),
        Some("11.1111"),
        Some("80.4878"),
    ]
    .map(opt)
    .to_vec();
    assert_eq!(got, want);
}

#[test]
fn rsi_edge_cases_table() {
    // (period, prices, final value)
    let cases: [(usize, &[&str], Option<&str>); 4] = [
        // never moved: no gain, no loss → 50
        (3, &["5", "5", "5", "5"], Some("50")),
        // only losses → 0
        (2, &["9", "8", "7"], Some("0")),
        // period changes not yet seen → undefined
        (3, &["1", "2", "3"], None),
        // period 0 is clamped to 1: a single rise → 100
        (0, &["1", "2"], Some("100")),
    ];
    for (period, prices, want) in cases {
        let mut rsi = Rsi::new(period);
        for x in decs(prices) {
            rsi.update(x);
        }
        assert_eq!(rsi.value(), opt(want), "period {period}, {prices:?}");
    }
}

#[test]
fn momentum_is_ratio_to_the_price_lookback_ticks_ago_minus_one() {
    // lookback 2: 106/100 − 1 = 0.06; 110/100 − 1 = 0.1; 100/106 − 1 = −0.0566
    let mut m = Momentum::new(2);
    let got: Vec<_> = decs(&["100", "100", "106", "110", "100"])
        .into_iter()
        .map(|x| m.update(x).map(|v| v.round_dp(4)))
        .collect();
    let want = [None, None, Some("0.06"), Some("0.1"), Some("-0.0566")]
        .map(opt)
        .to_vec();
    assert_eq!(got, want);
}

#[test]
fn momentum_over_a_zero_base_price_is_undefined() {
    // lookback 1: 5/0 is undefined; then 6/5 − 1 = 0.2
    let mut m = Momentum::new(1);
    assert_eq!(m.update(dec("0")), None);
    assert_eq!(m.update(dec("5")), None);
    assert_eq!(m.value(), None);
    assert_eq!(m.update(dec("6")), Some(dec("0.2")));
}

#[test]
fn an_input_whose_arithmetic_overflows_is_ignored_not_a_panic() {
    let (max, min) = (Decimal::MAX, Decimal::MIN);

    // SMA(2): MAX + 1 overflows the running sum, so 1 is ignored; the window is still
    // [MAX], and −MAX then fills it with a mean of 0 (had 1 been kept: [1, −MAX]).
    let mut sma = Sma::new(2);
    assert_eq!(sma.update(max), None);
    assert_eq!(sma.update(Decimal::ONE), None);
    assert_eq!(sma.update(min), Some(Decimal::ZERO));

    // RSI(1): the change MAX → MIN overflows and is skipped; the next change is measured
    // from MAX again (0: no gain, no loss → 50).
    let mut rsi = Rsi::new(1);
    assert_eq!(rsi.update(max), None);
    assert_eq!(rsi.update(min), None);
    assert_eq!(rsi.update(max), Some(dec("50")));

    // Momentum(1): MIN / 1 − 1 is below MIN: undefined.
    let mut momentum = Momentum::new(1);
    assert_eq!(momentum.update(Decimal::ONE), None);
    assert_eq!(momentum.update(min), None);

    // Squares of MAX overflow the rolling sums: no deviation, no bands.
    let mut std = RollingStd::new(1);
    assert_eq!(std.update(max), None);
    let mut bands = Bollinger::new(1, max);
    assert_eq!(bands.update(max), None);
    // A huge width times a real deviation overflows the band arithmetic alone.
    let mut wide = Bollinger::new(2, max);
    assert_eq!(wide.update(dec("1")), None);
    assert_eq!(wide.update(dec("3")), None);

    // The EMA of the extremes stays defined (each term is at most the input).
    let mut ema = Ema::new(2);
    assert_eq!(ema.update(max), Some(max));
    assert!(ema.update(min).is_some());
}
