//! Metric tests on small hand-built outcomes; every expected value is worked out by hand in
//! the comments.

use chrono::Datelike;

use super::EquityPoint;
use super::curve::{self, Drawdown};
use super::metrics::Report;
use super::replay;
use super::tests_support::*;
use super::text;
use crate::messages::Side;

/// Buy 10 RELIANCE @ 2500 (fees 1.50), sell 4 @ 2550 (0.75), buy 5 TCS @ 3400.50 (2.00);
/// marks RELIANCE 2560, TCS 3390.
fn three_fill_strategy() -> super::StrategyOutcome {
    strategy(
        "momentum",
        vec![
            fill("f1", "momentum", RELIANCE, Side::Buy, 10, "2500.00", "1.50"),
            fill("f2", "momentum", RELIANCE, Side::Sell, 4, "2550.00", "0.75"),
            fill("f3", "momentum", TCS, Side::Buy, 5, "3400.50", "2.00"),
        ],
        vec![],
        &[(RELIANCE, "2560"), (TCS, "3390")],
    )
}

#[test]
fn turnover_charges_and_pnl_of_one_strategy() {
    let outcome = outcome(vec![three_fill_strategy()]);
    let m = Report::build(&outcome).strategies[0].metrics.clone();
    // 25000 + 10200 + 17002.50
    assert_eq!(m.turnover, d("52202.50"));
    // 1.50 + 0.75 + 2.00
    assert_eq!(m.charges, d("4.25"));
    // Sold 4 of 10 held at a 25000 basis: 10200 − 10000.
    assert_eq!(m.realized_pnl, d("200"));
    // RELIANCE 6 × 2560 − 15000 = 360; TCS 5 × 3390 − 17002.50 = −52.50.
    assert_eq!(m.unrealized_pnl, d("307.50"));
    // 200 + 307.50 − 4.25
    assert_eq!(m.net_pnl, d("503.25"));
    // Cash 68193.25 + 15360 + 16950 = 100000 + 503.25.
    assert_eq!(m.final_equity, d("100503.25"));
    assert_eq!((m.fills, m.orders), (3, 3));
    // The sell closes part of the long: +200 before 0.75 of fees, a win.
    assert_eq!((m.wins, m.closing_fills), (1, 1));
    assert_eq!(m.win_rate(), Some(d("1")));
}

#[test]
fn max_drawdown_cases() {
    let cases = [
        ("no points", vec![], "0", Some("0"), None),
        (
            "rising only",
            vec![point("2026-11-26T04:00:00Z", "100100")],
            "0",
            Some("0"),
            None,
        ),
        (
            "first point below the starting cash",
            vec![point("2026-11-26T04:00:00Z", "97000")],
            "3000",
            Some("0.03"),
            Some("2026-11-26T04:00:00Z"),
        ),
        (
            // 101000 → 99000 falls 2000; 102000 → 98000 falls 4000: 4000 / 102000 =
            // 0.0392156862… → 0.039216.
            "the larger of two falls",
            vec![
                point("2026-11-26T04:00:00Z", "101000"),
                point("2026-11-26T04:01:00Z", "99000"),
                point("2026-11-26T04:02:00Z", "102000"),
                point("2026-11-26T04:03:00Z", "100500"),
                point("2026-11-26T04:04:00Z", "98000"),
                point("2026-11-26T04:05:00Z", "99500"),
            ],
            "4000",
            Some("0.039216"),
            Some("2026-11-26T04:04:00Z"),
        ),
    ];
    for (name, points, amount, fraction, trough) in cases {
        let expected = Drawdown {
            amount: d(amount),
            fraction: fraction.map(d),
            trough: trough.map(at),
        };
        assert_eq!(
            curve::max_drawdown(d("100000"), &points),
            expected,
            "{name}"
        );
    }
}

#[test]
fn drawdown_fraction_is_none_when_the_peak_is_not_positive() {
    let points = [point("2026-11-26T04:00:00Z", "-5")];
    let drawdown = curve::max_drawdown(d("0"), &points);
    assert_eq!(drawdown.amount, d("5"));
    assert_eq!(drawdown.fraction, None);
}

/// Start 100000; IST days 23, 24, 25 Nov end at 101000, 98980, 102939.2: returns 0.01,
/// −0.02, 0.04. Mean 0.01; deviations 0, −0.03, 0.03; sample variance 0.0018 / 2 = 0.0009,
/// std 0.03. Sharpe = 0.01 / 0.03 × √252 = 15.8745078664 / 3 = 5.2915026221.
#[test]
fn daily_sharpe_over_three_ist_days() {
    let points = [
        point("2026-11-23T04:00:00Z", "100500"),
        // 15:29 IST, still the 23rd: the day's last point.
        point("2026-11-23T09:59:00Z", "101000"),
        point("2026-11-24T05:00:00Z", "98980"),
        // 00:30 IST on the 25th: a new IST day although still the 24th in UTC.
        point("2026-11-24T19:00:00Z", "102939.2"),
    ];
    let sharpe = curve::daily_sharpe(d("100000"), &points);
    assert_eq!(sharpe.days, 3);
    // Three days are below the minimum sample: no ratio is shown.
    assert_eq!((sharpe.ratio, sharpe.sortino), (None, None));
    let ratio = curve::sharpe(&[d("0.01"), d("-0.02"), d("0.04")]).unwrap();
    assert!((ratio - 5.291_502_622_129_181).abs() < 1e-9, "{ratio}");
    assert_eq!(text::sharpe(ratio), "5.291503");
    // Sortino: downside √(0.02² / 3) = 0.0115470054; 0.01 / that × √252 = 13.7477270849.
    let sortino = curve::sortino(&[d("0.01"), d("-0.02"), d("0.04")]).unwrap();
    assert!((sortino - 13.747_727_084_867_52).abs() < 1e-9, "{sortino}");
}

/// 20 IST weekdays alternating +1 % and −0.5 %: returns mean 0.0025, sample std
/// √(20 × 0.0075² / 19); Sharpe = mean / std × √252; with 19 days, none.
#[test]
fn daily_ratios_need_the_minimum_number_of_days() {
    let mut equity = d("100000");
    let mut points = Vec::new();
    let mut day = at("2026-11-02T09:00:00Z");
    while points.len() < curve::MIN_DAYS {
        if day.weekday().num_days_from_monday() < 5 {
            let r = if points.len() % 2 == 0 {
                d("1.01")
            } else {
                d("0.995")
            };
            equity *= r;
            points.push(EquityPoint { ts: day, equity });
        }
        day += chrono::TimeDelta::days(1);
    }
    let full = curve::daily_sharpe(d("100000"), &points);
    assert_eq!(full.days, 20);
    let ratio = full.ratio.unwrap();
    // Mean 0.0025; deviations ±0.0075, sample variance 20 × 0.0075² / 19.
    let expected = 0.0025 / (20.0 * 0.0075f64.powi(2) / 19.0).sqrt() * 252f64.sqrt();
    assert!((ratio - expected).abs() < 1e-9, "{ratio} vs {expected}");
    // Downside √(10 × 0.005² / 20); Sortino = 0.0025 / that × √252.
    let expected = 0.0025 / (10.0 * 0.005f64.powi(2) / 20.0).sqrt() * 252f64.sqrt();
    assert!((full.sortino.unwrap() - expected).abs() < 1e-9);
    let short = curve::daily_sharpe(d("100000"), &points[..19]);
    assert_eq!((short.days, short.ratio, short.sortino), (19, None, None));
}

#[test]
fn daily_sharpe_is_none_below_two_returns_or_at_zero_deviation() {
    let one_day = [point("2026-11-23T04:00:00Z", "101000")];
    assert_eq!(curve::daily_sharpe(d("100000"), &one_day).ratio, None);
    // +1% twice: equal returns, zero deviation.
    let equal = [
        point("2026-11-23T04:00:00Z", "101000"),
        point("2026-11-24T04:00:00Z", "102010"),
    ];
    let sharpe = curve::daily_sharpe(d("100000"), &equal);
    assert_eq!((sharpe.days, sharpe.ratio), (2, None));
    assert_eq!(curve::daily_sharpe(d("100000"), &[]).days, 0);
}

/// a: buy 10 @ 100 opens. b: sell 15 @ 110 flips — closes 10 for +100 (net of 2 fees: 98, a
/// win) and opens 5 short @ 110. c: buy 5 @ 112 closes the short for −10 (a loss). d: buy
/// 3 @ 100 opens. e: sell 3 @ 100.30 closes for +0.90, below its fee of 1 (not a win).
#[test]
fn win_rate_counts_a_flip_once_and_nets_each_fill_of_its_own_fees() {
    let fills = vec![
        fill("a", "flip", RELIANCE, Side::Buy, 10, "100", "1"),
        fill("b", "flip", RELIANCE, Side::Sell, 15, "110", "2"),
        fill("c", "flip", RELIANCE, Side::Buy, 5, "112", "1"),
        fill("d", "flip", RELIANCE, Side::Buy, 3, "100", "1"),
        fill("e", "flip", RELIANCE, Side::Sell, 3, "100.30", "1"),
    ];
    let strategy = strategy("flip", fills, vec![], &[]);
    let results = replay::replay(&strategy, d("100000"));
    let realized: Vec<_> = results.iter().map(|r| r.realized).collect();
    assert_eq!(realized, [d("0"), d("100"), d("-10"), d("0"), d("0.90")]);
    let closing: Vec<_> = results.iter().map(|r| r.closing).collect();
    assert_eq!(closing, [false, true, true, false, true]);

    let outcome = outcome(vec![strategy]);
    let m = &Report::build(&outcome).strategies[0].metrics;
    assert_eq!((m.wins, m.closing_fills), (1, 3));
    assert_eq!(m.win_rate(), Some(d("0.333333")));
}

#[test]
fn win_rate_is_none_without_closing_fills() {
    let only_buys = strategy(
        "buyer",
        vec![fill("a", "buyer", RELIANCE, Side::Buy, 1, "100", "0")],
        vec![],
        &[],
    );
    let outcome = outcome(vec![only_buys]);
    let m = &Report::build(&outcome).strategies[0].metrics;
    assert_eq!((m.wins, m.closing_fills, m.win_rate()), (0, 0, None));
}

#[test]
fn a_repeated_fill_id_realizes_nothing_and_is_not_closing() {
    let fills = vec![
        fill("a", "dup", RELIANCE, Side::Buy, 10, "100", "1"),
        fill("b", "dup", RELIANCE, Side::Sell, 5, "110", "1"),
        fill("b", "dup", RELIANCE, Side::Sell, 5, "110", "1"),
    ];
    let strategy = strategy("dup", fills, vec![], &[]);
    let results = replay::replay(&strategy, d("100000"));
    assert_eq!(results[2].realized, d("0"));
    assert!(results[1].closing && !results[2].closing);
}

/// A: t1 101000, t3 99000. B: t2 100500, t3 100600 then 100700 (same instant), t4 98000.
/// Each holds its last value, 100000 before its first point. Total: t1 201000, t2 201500,
/// t3 199700, t4 197000. Drawdown from the 201500 peak: 4500 / 201500 = 0.0223325… →
/// 0.022333.
#[test]
fn total_curve_sums_step_functions_with_points_at_different_times() {
    let a = curve_only(
        "a",
        vec![
            point("2026-11-26T04:00:00Z", "101000"),
            point("2026-11-26T04:02:00Z", "99000"),
        ],
    );
    let b = curve_only(
        "b",
        vec![
            point("2026-11-26T04:01:00Z", "100500"),
            point("2026-11-26T04:02:00Z", "100600"),
            point("2026-11-26T04:02:00Z", "100700"),
            point("2026-11-26T04:03:00Z", "98000"),
        ],
    );
    let total = curve::total_curve(d("100000"), &[&a.equity, &b.equity]);
    assert_eq!(
        total,
        [
            point("2026-11-26T04:00:00Z", "201000"),
            point("2026-11-26T04:01:00Z", "201500"),
            point("2026-11-26T04:02:00Z", "199700"),
            point("2026-11-26T04:03:00Z", "197000"),
        ]
    );
    let outcome = outcome(vec![a, b]);
    let report = Report::build(&outcome);
    assert_eq!(report.total.starting_equity, d("200000"));
    assert_eq!(
        report.total.drawdown,
        Drawdown {
            amount: d("4500"),
            fraction: Some(d("0.022333")),
            trough: report.total.drawdown.trough,
        }
    );
    // One IST day: no Sharpe.
    assert_eq!(
        (report.total.sharpe.days, report.total.sharpe.ratio),
        (1, None)
    );
}

#[test]
fn total_sums_counts_and_money_and_pools_closing_fills() {
    let flip = strategy(
        "flip",
        vec![
            fill("a", "flip", RELIANCE, Side::Buy, 10, "100", "1"),
            fill("b", "flip", RELIANCE, Side::Sell, 10, "99", "1"),
        ],
        vec![],
        &[],
    );
    let outcome = outcome(vec![flip, three_fill_strategy()]);
    let report = Report::build(&outcome);
    let total = &report.total;
    assert_eq!((total.fills, total.orders, total.signals), (5, 5, 5));
    // 1000 + 990 + 52202.50
    assert_eq!(total.turnover, d("54192.50"));
    // 2 + 4.25
    assert_eq!(total.charges, d("6.25"));
    // −10 + 200
    assert_eq!(total.realized_pnl, d("190"));
    assert_eq!(total.unrealized_pnl, d("307.50"));
    // 190 + 307.50 − 6.25
    assert_eq!(total.net_pnl, d("491.25"));
    // 99988 + 100503.25
    assert_eq!(total.final_equity, d("200491.25"));
    // The flip strategy's close loses, the other's wins.
    assert_eq!((total.wins, total.closing_fills), (1, 2));
    assert_eq!(total.win_rate(), Some(d("0.5")));
}

#[test]
fn an_outcome_without_strategies_has_an_empty_total() {
    let outcome = outcome(vec![]);
    let report = Report::build(&outcome);
    assert!(curve::total_curve(d("100000"), &[]).is_empty());
    assert_eq!(report.total.starting_equity, d("0"));
    assert_eq!(report.total.drawdown.amount, d("0"));
    assert_eq!(report.total.win_rate(), None);
}
