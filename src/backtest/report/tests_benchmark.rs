//! The benchmark on hand-worked figures, with a schedule simple enough to follow: delivery
//! STT 0.1 % both sides, a DP charge of ₹10 on the sale, nothing else.

use rust_decimal::Decimal;

use super::{PriceRecorder, build};
use crate::backtest::report::tests_support::{at, d};
use crate::paper::charges::ChargeSchedule;

fn schedule() -> ChargeSchedule {
    let mut schedule = ChargeSchedule::default();
    schedule.delivery.exchange_txn_rate = Decimal::ZERO;
    schedule.delivery.sebi_per_crore = Decimal::ZERO;
    schedule.delivery.stamp_buy_rate = Decimal::ZERO;
    schedule.delivery.dp_charge = Some(d("10"));
    schedule.gst_rate = Decimal::ZERO;
    schedule
}

/// A (token 1) 1000 → 1100, B (token 2) 200 → 190, C (token 3) not traded.
fn prices() -> Vec<super::PriceSeries> {
    let mut recorder = PriceRecorder::default();
    recorder.saw(1, Some("A"), at("2026-11-26T03:45:00Z"), d("1000"));
    recorder.saw(3, Some("C"), at("2026-11-26T03:45:10Z"), d("5"));
    recorder.saw(2, Some("B"), at("2026-11-26T03:45:20Z"), d("200"));
    // Same minute as A's first tick: replaces it as that minute's close.
    recorder.saw(1, Some("A"), at("2026-11-26T03:45:30Z"), d("1050"));
    recorder.saw(1, Some("A"), at("2026-11-26T03:46:10Z"), d("1100"));
    recorder.saw(2, Some("B"), at("2026-11-26T03:46:40Z"), d("190"));
    recorder.finish()
}

#[test]
fn buys_equal_shares_with_their_charges_and_sells_at_the_last_price() {
    let b = build(d("100000"), &[2, 1], &prices(), &schedule()).unwrap();
    let held: Vec<(u32, &str, u32)> = b
        .holdings
        .iter()
        .map(|h| (h.token, h.symbol.as_str(), h.quantity))
        .collect();
    // A: 50,000 / 1000 = 50, but 50,000 + 0.1 % > 50,000: 49 (49,049). B: 249 (49,849.80).
    assert_eq!(held, [(1, "A", 49), (2, "B", 249)]);
    assert_eq!(b.holdings[0].buy_charges.total, d("49.00"));
    assert_eq!(b.holdings[1].buy_charges.total, d("49.80"));
    // Sales: A 53,900 → STT 53.90 + DP 10; B 47,310 → STT 47.31 + DP 10.
    assert_eq!(b.holdings[0].sell_charges.total, d("63.90"));
    assert_eq!(b.holdings[1].sell_charges.total, d("57.31"));
    assert_eq!(b.cash_left, d("1101.20"));
    assert_eq!(b.charges, d("220.01"));
    // 1,101.20 + 53,900 − 63.90 + 47,310 − 57.31.
    assert_eq!(b.final_value, d("102189.99"));
    let curve: Vec<(String, Decimal)> = b
        .curve
        .iter()
        .map(|p| (p.ts.format("%H:%M:%S").to_string(), p.equity))
        .collect();
    assert_eq!(
        curve,
        [
            ("03:45:00".to_owned(), d("99901.20")),
            ("03:45:20".to_owned(), d("99901.20")),
            ("03:45:30".to_owned(), d("102351.20")),
            ("03:46:10".to_owned(), d("104801.20")),
            ("03:46:40".to_owned(), d("102189.99")),
        ]
    );
}

#[test]
fn no_benchmark_without_a_traded_instrument_with_prices_or_cash() {
    assert_eq!(build(d("100000"), &[], &prices(), &schedule()), None);
    assert_eq!(build(d("100000"), &[9], &prices(), &schedule()), None);
    assert_eq!(build(d("0"), &[1], &prices(), &schedule()), None);
    // Too little cash for one unit with its charges.
    assert_eq!(build(d("1000"), &[1], &prices(), &schedule()), None);
}
