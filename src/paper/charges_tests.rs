//! Charges computed by hand to the paisa, and the schedule's configuration surface.

use rust_decimal::Decimal;

use super::charges::{ChargeSchedule, FillCharge, Product, paisa};
use crate::messages::{Fees, Side};

fn d(s: &str) -> Decimal {
    s.parse().unwrap_or_else(|e| panic!("bad decimal {s}: {e}"))
}

/// brokerage, stt, exchange, sebi, stamp, gst, total.
fn fees(parts: [&str; 7]) -> Fees {
    let [brokerage, stt, exchange_txn, sebi, stamp_duty, gst, total] = parts.map(d);
    Fees {
        brokerage,
        stt,
        exchange_txn,
        sebi,
        stamp_duty,
        gst,
        total,
    }
}

#[test]
fn known_trades_are_charged_to_the_paisa() {
    // (case, product, side, quantity, price, [brokerage, stt, exch, sebi, stamp, gst, total])
    let cases = [
        (
            // turnover 100 × 1000 = 1,00,000. brokerage 0.03% = 30 → capped at 20.00;
            // exch 0.00297% = 2.97; SEBI 10/crore = 0.10; stamp 0.003% = 3.00;
            // GST 18% × (20 + 2.97 + 0.10 = 23.07) = 4.1526 → 4.15;
            // total 20 + 2.97 + 0.10 + 3.00 + 4.15 = 30.22.
            "mis buy at the ₹20 brokerage cap",
            Product::Mis,
            Side::Buy,
            100,
            "1000.00",
            ["20.00", "0", "2.97", "0.10", "3.00", "4.15", "30.22"],
        ),
        (
            // Same turnover; STT 0.025% = 25.00 on the sell, no stamp;
            // total 20 + 25 + 2.97 + 0.10 + 4.15 = 52.22.
            "mis sell at the ₹20 brokerage cap",
            Product::Mis,
            Side::Sell,
            100,
            "1000.00",
            ["20.00", "25.00", "2.97", "0.10", "0", "4.15", "52.22"],
        ),
        (
            // turnover 10 × 2345.65 = 23,456.50. brokerage 7.03695 → 7.04 (under the cap);
            // exch 0.69665805 → 0.70; SEBI 0.0234565 → 0.02; stamp 0.703695 → 0.70;
            // GST 18% × 7.76 = 1.3968 → 1.40; total 7.04 + 0.70 + 0.02 + 0.70 + 1.40 = 9.86.
            "mis buy under the cap",
            Product::Mis,
            Side::Buy,
            10,
            "2345.65",
            ["7.04", "0", "0.70", "0.02", "0.70", "1.40", "9.86"],
        ),
        (
            // Same turnover; STT 5.864125 → 5.86; total 7.04 + 5.86 + 0.70 + 0.02 + 1.40 = 15.02.
            "mis sell under the cap",
            Product::Mis,
            Side::Sell,
            10,
            "2345.65",
            ["7.04", "5.86", "0.70", "0.02", "0", "1.40", "15.02"],
        ),
        (
            // turnover 25,000: SEBI is exactly 0.025 → 0.03 half-up (banker's would say 0.02);
            // brokerage 7.50; exch 0.7425 → 0.74; stamp 0.75; GST 18% × 8.27 = 1.4886 → 1.49;
            // total 7.50 + 0.74 + 0.03 + 0.75 + 1.49 = 10.51.
            "a midpoint rounds half-up",
            Product::Mis,
            Side::Buy,
            50,
            "500",
            ["7.50", "0", "0.74", "0.03", "0.75", "1.49", "10.51"],
        ),
        (
            // turnover 250.01: brokerage 0.075003 → 0.08; exch 0.0074253 → 0.01;
            // SEBI 0.00025 → 0.00; stamp 0.0075003 → 0.01. GST on the ROUNDED parts:
            // 18% × 0.09 = 0.0162 → 0.02 (on the unrounded ones it would be 0.0149 → 0.01);
            // total 0.08 + 0.01 + 0.01 + 0.02 = 0.12.
            "gst is charged on the rounded components",
            Product::Mis,
            Side::Buy,
            1,
            "250.01",
            ["0.08", "0", "0.01", "0.00", "0.01", "0.02", "0.12"],
        ),
        (
            // turnover 1,00,000: no brokerage; STT 0.1% = 100.00; exch 2.97; SEBI 0.10;
            // stamp 0.015% = 15.00; GST 18% × (0 + 2.97 + 0.10 = 3.07) = 0.5526 → 0.55;
            // total 100 + 2.97 + 0.10 + 15 + 0.55 = 118.62.
            "cnc buy",
            Product::Cnc,
            Side::Buy,
            100,
            "1000.00",
            ["0", "100.00", "2.97", "0.10", "15.00", "0.55", "118.62"],
        ),
        (
            // STT 100.00 on the sell too, no stamp; total 100 + 2.97 + 0.10 + 0.55 = 103.62.
            "cnc sell",
            Product::Cnc,
            Side::Sell,
            100,
            "1000.00",
            ["0", "100.00", "2.97", "0.10", "0", "0.55", "103.62"],
        ),
    ];
    let schedule = ChargeSchedule::default();
    for (case, product, side, quantity, price, expected) in cases {
        let got = schedule.charges(product, side, quantity, d(price));
        assert_eq!(got, fees(expected), "{case}");
    }
}

#[test]
fn later_partial_fills_pay_only_the_brokerage_left_under_the_cap() {
    // turnover 1,00,000 would pay 30 → 20; having paid 15 already, 5.00 is left.
    // GST 18% × (5 + 2.97 + 0.10 = 8.07) = 1.4526 → 1.45; total 5 + 2.97 + 0.10 + 3 + 1.45
    // = 12.52. With the cap used up: GST 18% × 3.07 = 0.5526 → 0.55; total 6.62.
    let cases = [
        ("nothing paid yet", "0", "20.00", "4.15", "30.22"),
        ("part of the cap paid", "15", "5.00", "1.45", "12.52"),
        ("the cap fully paid", "20", "0.00", "0.55", "6.62"),
        ("more than the cap paid", "25", "0.00", "0.55", "6.62"),
    ];
    let schedule = ChargeSchedule::default();
    for (case, paid, brokerage, gst, total) in cases {
        let got = schedule.charges_for_fill(Product::Mis, Side::Buy, 100, d("1000"), d(paid));
        assert_eq!(
            (got.brokerage, got.gst, got.total),
            (d(brokerage), d(gst), d(total)),
            "{case}"
        );
    }
}

#[test]
fn paisa_rounds_midpoints_away_from_zero() {
    let cases = [
        ("0.025", "0.03"),
        ("0.035", "0.04"),
        ("0.0249", "0.02"),
        ("1.005", "1.01"),
        ("-0.025", "-0.03"),
        ("7", "7"),
    ];
    for (amount, expected) in cases {
        assert_eq!(paisa(d(amount)), d(expected), "{amount}");
    }
}

#[test]
fn products_serialise_as_kite_names() {
    for (product, name) in [(Product::Mis, "\"MIS\""), (Product::Cnc, "\"CNC\"")] {
        assert_eq!(serde_json::to_string(&product).ok().as_deref(), Some(name));
        assert_eq!(serde_json::from_str::<Product>(name).ok(), Some(product));
    }
    assert!(serde_json::from_str::<Product>("\"mis\"").is_err());
}

#[test]
fn schedule_fields_left_out_keep_the_nse_defaults() {
    let empty: ChargeSchedule = toml::from_str("").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(empty, ChargeSchedule::default());

    let gst_only: ChargeSchedule =
        toml::from_str("gst_rate = \"0.2\"").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(gst_only.gst_rate, d("0.2"));
    assert_eq!(gst_only.intraday, ChargeSchedule::default().intraday);

    let unknown = toml::from_str::<ChargeSchedule>("gst = \"0.2\"");
    assert!(unknown.is_err(), "unknown fields are refused");

    let json = serde_json::to_string(&ChargeSchedule::default()).unwrap_or_default();
    let back: ChargeSchedule = serde_json::from_str(&json).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(back, ChargeSchedule::default(), "round trip through {json}");
}

#[test]
fn schedule_validate_names_each_broken_rate() {
    let mut schedule = ChargeSchedule::default();
    assert!(schedule.validate("paper.charges").is_empty());
    schedule.intraday.brokerage_rate = d("-0.1");
    schedule.delivery.stt_sell_rate = d("1.5");
    schedule.intraday.brokerage_cap = d("-1");
    schedule.delivery.sebi_per_crore = d("-10");
    schedule.gst_rate = d("2");
    schedule.intraday.auto_square_off = d("-50");
    let keys: Vec<String> = schedule
        .validate("paper.charges")
        .iter()
        .filter_map(|p| p.split(':').next().map(str::to_owned))
        .collect();
    assert_eq!(
        keys,
        [
            "paper.charges.intraday.brokerage_rate",
            "paper.charges.intraday.brokerage_cap",
            "paper.charges.intraday.auto_square_off",
            "paper.charges.delivery.stt_sell_rate",
            "paper.charges.delivery.sebi_per_crore",
            "paper.charges.gst_rate",
        ]
    );
}

#[test]
fn the_auto_square_off_adds_its_charge_to_brokerage_with_gst() {
    // (case, product, side, quantity, price, charge, [brokerage, stt, exch, sebi, stamp, gst,
    // total]); the same trades as above, worked by hand with the charge.
    let cases = [
        (
            // Capped brokerage 20.00 + 50 = 70.00; GST 18% × (70 + 2.97 + 0.10 = 73.07)
            // = 13.1526 → 13.15; total 70 + 25 + 2.97 + 0.10 + 13.15 = 111.22, i.e. the
            // plain sell's 52.22 + 59.00.
            "mis sell, ₹50",
            Product::Mis,
            Side::Sell,
            100,
            "1000.00",
            "50",
            ["70.00", "25.00", "2.97", "0.10", "0", "13.15", "111.22"],
        ),
        (
            // 7.04 + 50 = 57.04; GST 18% × (57.04 + 0.70 + 0.02 = 57.76) = 10.3968 → 10.40;
            // total 57.04 + 0.70 + 0.02 + 0.70 + 10.40 = 68.86 (9.86 + 59.00).
            "mis buy under the cap, ₹50",
            Product::Mis,
            Side::Buy,
            10,
            "2345.65",
            "50",
            ["57.04", "0", "0.70", "0.02", "0.70", "10.40", "68.86"],
        ),
        (
            "no charge configured",
            Product::Mis,
            Side::Sell,
            100,
            "1000.00",
            "0",
            ["20.00", "25.00", "2.97", "0.10", "0", "4.15", "52.22"],
        ),
    ];
    for (case, product, side, quantity, price, charge, expected) in cases {
        let mut schedule = ChargeSchedule::default();
        schedule.intraday.auto_square_off = d(charge);
        let got = schedule.auto_square_off_charges(product, side, quantity, d(price));
        assert_eq!(got, fees(expected), "{case}");
    }
    let defaults = ChargeSchedule::default();
    assert_eq!(
        (
            defaults.intraday.auto_square_off,
            defaults.delivery.auto_square_off
        ),
        (d("50"), d("0"))
    );
}

#[test]
fn a_due_dp_charge_rides_in_brokerage_with_gst_and_same_day_sells_pay_intraday_stt() {
    // (case, fill, [brokerage, stt, exch, sebi, stamp, gst, total]), CNC, worked by hand.
    let sell = |quantity, price: &str, same_day_quantity, dp_charge| FillCharge {
        same_day_quantity,
        dp_charge,
        ..FillCharge::plain(Product::Cnc, Side::Sell, quantity, d(price))
    };
    let cases = [
        (
            // turnover 10 × 100 = 1,000. brokerage 0 + DP 13.50; STT 0.1 % = 1.00;
            // exch 0.0297 → 0.03; SEBI 0.001 → 0.00; GST 18 % × (13.50 + 0.03 + 0) =
            // 2.4354 → 2.44; total 13.50 + 1.00 + 0.03 + 2.44 = 16.97.
            "delivery sell, DP due",
            sell(10, "100", 0, true),
            ["13.50", "1.00", "0.03", "0.00", "0", "2.44", "16.97"],
        ),
        (
            // The same sell without the DP: GST 18 % × 0.03 = 0.0054 → 0.01; total 1.04.
            "delivery sell, DP taken already",
            sell(10, "100", 0, false),
            ["0", "1.00", "0.03", "0.00", "0", "0.01", "1.04"],
        ),
        (
            // turnover 10 × 110 = 1,100, all bought today: STT 0.025 % = 0.275 → 0.28
            // (not 0.1 % = 1.10); exch 0.03267 → 0.03; SEBI 0.0011 → 0.00; GST 0.01;
            // total 0.28 + 0.03 + 0.01 = 0.32.
            "sold the same day it was bought",
            sell(10, "110", 10, false),
            ["0", "0.28", "0.03", "0.00", "0", "0.01", "0.32"],
        ),
        (
            // 12 at 110 = 1,320: 10 bought today (1,100 × 0.025 % = 0.275) + 2 from holdings
            // (220 × 0.1 % = 0.22) = 0.495 → 0.50 (one rounding); exch 0.039204 → 0.04;
            // SEBI 0.00132 → 0.00; DP 13.50; GST 18 % × 13.54 = 2.4372 → 2.44;
            // total 13.50 + 0.50 + 0.04 + 2.44 = 16.48.
            "part same day, part from holdings",
            sell(12, "110", 10, true),
            ["13.50", "0.50", "0.04", "0.00", "0", "2.44", "16.48"],
        ),
    ];
    let schedule = ChargeSchedule::default();
    for (case, fill, expected) in cases {
        assert_eq!(schedule.fill_charges(&fill), fees(expected), "{case}");
    }
    // MIS has no DP charge and no same-day rule; a configured DP charge is used.
    let mis = FillCharge {
        same_day_quantity: 10,
        dp_charge: true,
        ..FillCharge::plain(Product::Mis, Side::Sell, 10, d("100"))
    };
    assert_eq!(
        schedule.fill_charges(&mis),
        schedule.charges(Product::Mis, Side::Sell, 10, d("100"))
    );
    let mut cheaper = ChargeSchedule::default();
    cheaper.delivery.dp_charge = Some(d("5"));
    assert_eq!(cheaper.dp_charge(Product::Cnc), d("5"));
    assert_eq!(schedule.dp_charge(Product::Cnc), d("13.5"));
    assert_eq!(schedule.dp_charge(Product::Mis), d("0"));
    cheaper.delivery.dp_charge = Some(d("-1"));
    assert_eq!(
        cheaper.validate("paper.charges"),
        [
            "paper.charges.delivery.dp_charge: must be rupees per scrip and day between 0 and \
          100000, got -1"
        ]
    );
    let set: ChargeSchedule = toml::from_str("[delivery]\nbrokerage_rate = \"0\"\nbrokerage_cap = \"0\"\nstt_buy_rate = \"0.001\"\nstt_sell_rate = \"0.001\"\nexchange_txn_rate = \"0.0000297\"\nsebi_per_crore = \"10\"\nstamp_buy_rate = \"0.00015\"\nauto_square_off = \"0\"\ndp_charge = \"15.93\"")
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(set.dp_charge(Product::Cnc), d("15.93"));
}

/// The venue charges a CNC strategy's sells by the delivery rules: the DP charge on the
/// first sell of a scrip per day that takes shares out of the demat account, the
/// intraday STT rate on what was bought the same day. Fills on Monday 2 and Tuesday 3
/// March 2026.
#[test]
fn the_venue_takes_the_dp_charge_once_per_scrip_and_day_and_nets_same_day_delivery() {
    use super::config::PaperConfig;
    use super::testutil::{STRATEGY, TOKEN, ist, ist_on, market, tick, venue};
    use super::venue::VenueEvent;
    let fees_of = |events: Vec<VenueEvent>| -> Vec<Decimal> {
        events
            .into_iter()
            .filter_map(|e| match e {
                VenueEvent::Filled(f) => Some(f.fees.total),
                _ => None,
            })
            .collect()
    };
    let mut v = venue(PaperConfig {
        product: Product::Cnc,
        order_timeout_secs: 0,
        ..PaperConfig::default()
    });
    // Monday: buy 20 at 100 (turnover 2,000: STT 2.00, exch 0.0594 → 0.06, SEBI 0.002 →
    // 0.00, stamp 0.30, GST 18 % × 0.06 = 0.0108 → 0.01; total 2.37).
    v.on_tick(&tick("100"), ist(10, 0));
    assert_eq!(
        fees_of(v.submit("b1", &market(Side::Buy, 20), ist(10, 0))),
        [d("2.37")]
    );
    // Monday: sell 10 at 110 the same day: intraday STT, no DP (see the schedule test):
    // 0.32.
    v.on_tick(&tick("110"), ist(11, 0));
    assert_eq!(
        fees_of(v.submit("s1", &market(Side::Sell, 10), ist(11, 0))),
        [d("0.32")]
    );
    // Tuesday: sell 5 at 100 from holdings (turnover 500): DP 13.50, STT 0.50, exch
    // 0.01485 → 0.01, SEBI 0.0005 → 0.00, GST 18 % × 13.51 = 2.4318 → 2.43; total 16.44.
    // Again the same day: no DP; GST 18 % × 0.01 = 0.0018 → 0.00; total 0.51.
    v.on_tick(&tick("100"), ist_on(3, 10, 0));
    assert_eq!(
        fees_of(v.submit("s2", &market(Side::Sell, 5), ist_on(3, 10, 0))),
        [d("16.44")]
    );
    assert_eq!(
        fees_of(v.submit("s3", &market(Side::Sell, 5), ist_on(3, 10, 1))),
        [d("0.51")]
    );
    assert_eq!(v.position(STRATEGY, TOKEN), 0);
    // Cash: 10,00,000 − 2,000 − 2.37 + 1,100 − 0.32 + 500 − 16.44 + 500 − 0.51.
    assert_eq!(v.cash(STRATEGY), d("1000080.36"));
}
