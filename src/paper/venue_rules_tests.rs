//! The paper venue's rules: IOC/FOK, DAY expiry, cash, shorting, partial fills, latency,
//! charges and accounts.

use super::config::PaperConfig;
use super::testutil::{
    STRATEGY, TOKEN, checked, d, failures, fills, ist, ist_on, limit, market, shape, tick, untimed,
    venue, with_validity,
};
use super::venue::VenueEvent;
use crate::messages::{Broker, OrderFailureKind, Side, Validity};

use OrderFailureKind::{Expired, InsufficientFunds, Rejected, ShortingNotAllowed};

fn partial(seed: u64, fraction: &str) -> PaperConfig {
    PaperConfig {
        partial_fills: true,
        max_fill_fraction: d(fraction),
        seed,
        ..untimed()
    }
}

#[test]
fn ioc_fills_what_it_can_on_its_tick_and_cancels_the_rest() {
    // (case, config, limit price or market, quantity, expected shape, fill qty, failure)
    let whole = untimed();
    let half = partial(3, "0.5");
    let cases = [
        (
            "whole fill, nothing to cancel",
            whole.clone(),
            None,
            100,
            vec!["submitted", "filled"],
        ),
        (
            "part filled, rest cancelled",
            half,
            None,
            100,
            vec!["submitted", "filled", "failed"],
        ),
        (
            "limit not marketable",
            whole,
            Some("95"),
            100,
            vec!["submitted", "failed"],
        ),
    ];
    for (case, config, price, quantity, expected) in cases {
        let mut v = venue(config);
        v.on_tick(&tick("100"), ist(10, 0));
        let signal = match price {
            Some(p) => limit(Side::Buy, quantity, p),
            None => market(Side::Buy, quantity),
        };
        let events = checked(v.submit("o1", &with_validity(signal, Validity::Ioc), ist(10, 1)));
        assert_eq!(shape(&events), expected, "{case}");
        let filled: u32 = fills(&events).iter().map(|(q, _)| q).sum();
        if let Some((kind, filled_quantity)) = failures(&events).first().copied() {
            assert_eq!((kind, filled_quantity), (Expired, filled), "{case}");
            let Some(VenueEvent::Failed(f)) = events.last() else {
                panic!("{case}: the failure comes last: {events:?}");
            };
            assert!(f.message.starts_with("IOC: "), "{case}: {}", f.message);
            assert!(
                filled <= 50,
                "{case}: at most half of 100 on one tick, got {filled}"
            );
        }
        assert_eq!(v.open_orders(), 0, "{case}");
        assert_eq!(v.position(STRATEGY, TOKEN), i64::from(filled), "{case}");
    }
}

#[test]
fn ioc_without_a_tick_is_worked_on_the_first_one() {
    let mut v = venue(untimed());
    let ioc = with_validity(limit(Side::Buy, 10, "99"), Validity::Ioc);
    assert_eq!(shape(&v.submit("o1", &ioc, ist(10, 0))), ["submitted"]);
    let events = checked(v.on_tick(&tick("100"), ist(10, 1)));
    assert_eq!(
        failures(&events),
        [(Expired, 0)],
        "not marketable on its first tick"
    );
    assert!(
        v.on_tick(&tick("90"), ist(10, 2)).is_empty(),
        "and gone after it"
    );
}

#[test]
fn fok_fills_everything_on_its_tick_or_nothing() {
    // (case, config, limit, expected shape, expected fills)
    let cases = [
        (
            "enough liquidity: all of it",
            untimed(),
            "101",
            vec!["submitted", "filled"],
            vec![(100, d("100"))],
        ),
        (
            "a partial draw: none of it",
            partial(3, "0.5"),
            "101",
            vec!["submitted", "failed"],
            vec![],
        ),
        (
            "not marketable: none of it",
            untimed(),
            "99",
            vec!["submitted", "failed"],
            vec![],
        ),
    ];
    for (case, config, price, expected, expected_fills) in cases {
        let mut v = venue(config);
        v.on_tick(&tick("100"), ist(10, 0));
        let fok = with_validity(limit(Side::Buy, 100, price), Validity::Fok);
        let events = checked(v.submit("o1", &fok, ist(10, 1)));
        assert_eq!(shape(&events), expected, "{case}");
        assert_eq!(fills(&events), expected_fills, "{case}");
        for (kind, filled) in failures(&events) {
            assert_eq!((kind, filled), (Expired, 0), "{case}");
        }
        assert_eq!(v.open_orders(), 0, "{case}");
    }
}

#[test]
fn day_orders_expire_at_the_session_close() {
    let mut v = venue(untimed());
    v.on_tick(&tick("100"), ist(10, 0));
    v.submit("o1", &limit(Side::Buy, 10, "90"), ist(10, 1));
    assert!(
        v.expire_day_orders(ist(15, 29)).is_empty(),
        "before 15:30 IST"
    );
    let events = checked(v.expire_day_orders(ist(15, 30)));
    assert_eq!(failures(&events), [(Expired, 0)], "at 15:30 IST");
    assert_eq!(v.open_orders(), 0);

    // The same through a tick of another instrument after the close.
    let mut v = venue(untimed());
    v.submit("o1", &limit(Side::Buy, 10, "90"), ist(10, 1));
    let other = crate::messages::MarketTick::ltp(1, d("50"));
    assert!(v.on_tick(&other, ist(15, 29)).is_empty());
    assert_eq!(
        failures(&checked(v.on_tick(&other, ist(15, 31)))),
        [(Expired, 0)]
    );
}

#[test]
fn orders_placed_after_the_close_live_until_the_next_trading_days_close() {
    let mut v = venue(untimed());
    // Friday 6 March after the close: the next session is Monday 9 March.
    v.submit("o1", &limit(Side::Buy, 10, "90"), ist_on(6, 16, 0));
    assert!(
        v.expire_day_orders(ist_on(7, 15, 30)).is_empty(),
        "Saturday"
    );
    assert!(
        v.expire_day_orders(ist_on(9, 15, 29)).is_empty(),
        "Monday before the close"
    );
    assert_eq!(
        failures(&v.expire_day_orders(ist_on(9, 15, 30))),
        [(Expired, 0)]
    );
}

#[test]
fn a_known_trade_is_charged_to_the_paisa_and_moves_cash() {
    let mut v = venue(untimed());
    v.on_tick(&tick("1000"), ist(10, 0));
    let events = checked(v.submit("o1", &market(Side::Buy, 100), ist(10, 1)));
    let Some(VenueEvent::Filled(fill)) = events.get(1) else {
        panic!("expected a fill: {events:?}");
    };
    // Turnover 1,00,000 MIS buy: 20.00 + 2.97 + 0.10 + 3.00 + GST 4.15 = 30.22.
    assert_eq!(fill.fees.total, d("30.22"));
    assert_eq!(
        (fill.fill_id.as_str(), fill.cumulative_quantity),
        ("o1-1", 100)
    );
    // 10,00,000 − 1,00,000 − 30.22.
    assert_eq!(v.cash(STRATEGY), d("899969.78"));
}

#[test]
fn a_buy_the_cash_cannot_cover_is_refused() {
    let config = PaperConfig {
        starting_cash: d("10000"),
        ..untimed()
    };
    // (case, quantity, expected shape): 99 × 100 = 9,900 + 3.00 charges fits; 100 × 100
    // = 10,000 + charges does not.
    let cases = [
        ("fits with its charges", 99, vec!["submitted", "filled"]),
        (
            "notional alone uses all the cash",
            100,
            vec!["submitted", "failed"],
        ),
    ];
    for (case, quantity, expected) in cases {
        let mut v = venue(config.clone());
        v.on_tick(&tick("100"), ist(10, 0));
        let events = checked(v.submit("o1", &market(Side::Buy, quantity), ist(10, 1)));
        assert_eq!(shape(&events), expected, "{case}");
        if expected.len() == 2 && expected[1] == "failed" {
            assert_eq!(failures(&events), [(InsufficientFunds, 0)], "{case}");
            assert_eq!(v.cash(STRATEGY), d("10000"), "{case}: cash untouched");
        }
    }

    // Checked again at execution: the price moved up before the first tick arrived.
    let mut v = venue(config);
    assert_eq!(
        shape(&v.submit("o1", &market(Side::Buy, 99), ist(10, 0))),
        ["submitted"]
    );
    let events = checked(v.on_tick(&tick("200"), ist(10, 1)));
    assert_eq!(failures(&events), [(InsufficientFunds, 0)]);
}

#[test]
fn shorting_is_refused_unless_allowed() {
    for allow_short in [false, true] {
        let mut v = venue(PaperConfig {
            allow_short,
            ..untimed()
        });
        v.on_tick(&tick("100"), ist(10, 0));
        let events = checked(v.submit("o1", &market(Side::Sell, 10), ist(10, 1)));
        if allow_short {
            assert_eq!(fills(&events), [(10, d("100"))]);
            assert_eq!(v.position(STRATEGY, TOKEN), -10);
            assert!(
                v.cash(STRATEGY) > d("1000000"),
                "a short sale brings cash in"
            );
        } else {
            assert_eq!(failures(&events), [(ShortingNotAllowed, 0)]);
            assert_eq!(v.position(STRATEGY, TOKEN), 0);
        }
    }
}

#[test]
fn selling_what_is_held_is_not_shorting() {
    let mut v = venue(untimed());
    v.on_tick(&tick("100"), ist(10, 0));
    v.submit("b", &market(Side::Buy, 10), ist(10, 1));
    assert_eq!(
        fills(&v.submit("s1", &market(Side::Sell, 10), ist(10, 2))).len(),
        1
    );
    let events = v.submit("s2", &market(Side::Sell, 1), ist(10, 3));
    assert_eq!(failures(&events), [(ShortingNotAllowed, 0)], "flat now");
}

/// Every fill of a 1,000-unit resting buy over a few ticks.
fn partial_run(seed: u64) -> Vec<VenueEvent> {
    let mut v = venue(partial(seed, "0.3"));
    let mut events = v.on_tick(&tick("100"), ist(10, 0));
    events.extend(v.submit("o1", &limit(Side::Buy, 1000, "100"), ist(10, 1)));
    for minute in 2..12 {
        events.extend(v.on_tick(&tick("99.5"), ist(10, minute)));
    }
    checked(events)
}

#[test]
fn partial_fills_repeat_with_the_same_seed_and_differ_with_another() {
    let first = partial_run(7);
    assert_eq!(first, partial_run(7), "same seed, same events");
    let fills_of = |events: &[VenueEvent]| fills(events);
    assert!(fills_of(&first).len() > 1, "a 0.3 fraction fills in parts");
    for (quantity, _) in fills_of(&first) {
        assert!(quantity >= 1);
    }
    let differs = (8..16).any(|seed| fills_of(&partial_run(seed)) != fills_of(&first));
    assert!(differs, "some other seed draws other quantities");
}

#[test]
fn partial_fills_number_their_ids_and_accumulate_quantity() {
    let events = partial_run(7);
    let mut expected_cumulative = 0;
    for (n, fill) in events
        .iter()
        .filter_map(|e| match e {
            VenueEvent::Filled(f) => Some(f),
            _ => None,
        })
        .enumerate()
    {
        expected_cumulative += fill.quantity;
        assert_eq!(fill.fill_id, format!("o1-{}", n + 1));
        assert_eq!(fill.cumulative_quantity, expected_cumulative);
        assert_eq!(fill.order_quantity, 1000);
    }
    let brokerage: rust_decimal::Decimal = events
        .iter()
        .filter_map(|e| match e {
            VenueEvent::Filled(f) => Some(f.fees.brokerage),
            _ => None,
        })
        .sum();
    assert!(
        brokerage <= d("20"),
        "the ₹20 cap is per order, got {brokerage}"
    );
}

#[test]
fn latency_ticks_delay_eligibility() {
    // (latency, ticks after submission before the fill)
    for (latency, wait) in [(0, 0), (1, 1), (3, 3)] {
        let mut v = venue(PaperConfig {
            latency_ticks: latency,
            ..untimed()
        });
        v.on_tick(&tick("100"), ist(10, 0));
        let mut events = v.submit("o1", &market(Side::Buy, 1), ist(10, 1));
        let mut ticks = 0;
        while fills(&events).is_empty() && ticks < 10 {
            ticks += 1;
            let last = format!("{}", 100 + ticks);
            events = v.on_tick(&tick(&last), ist(10, 1 + ticks));
        }
        assert_eq!(ticks, wait, "latency {latency}");
        let expected_price = d(&format!("{}", 100 + wait));
        assert_eq!(fills(&events), [(1, expected_price)], "latency {latency}");
    }
}

#[test]
fn a_round_trip_leaves_cash_and_position_as_computed_by_hand() {
    let mut v = venue(untimed());
    v.on_tick(&tick("1000"), ist(10, 0));
    v.submit("b", &market(Side::Buy, 100), ist(10, 1));
    assert_eq!(v.position(STRATEGY, TOKEN), 100);
    v.on_tick(&tick("1010"), ist(11, 0));
    let events = checked(v.submit("s", &market(Side::Sell, 100), ist(11, 1)));
    // Sell turnover 1,01,000: brokerage 20 (capped); STT 0.025% = 25.25;
    // exch 2.9997 → 3.00; SEBI 0.101 → 0.10; GST 18% × 23.10 = 4.158 → 4.16; total 52.51.
    let Some(VenueEvent::Filled(sell)) = events.get(1) else {
        panic!("expected a fill: {events:?}");
    };
    assert_eq!(sell.fees.total, d("52.51"));
    assert_eq!(v.position(STRATEGY, TOKEN), 0);
    // 10,00,000 − 1,00,000 − 30.22 + 1,01,000 − 52.51.
    assert_eq!(v.cash(STRATEGY), d("1000917.27"));
    assert_eq!(v.cash("another"), d("1000000"), "accounts are per strategy");
}

#[test]
fn malformed_signals_are_rejected_without_a_submission() {
    let wrong_broker = {
        let mut s = market(Side::Buy, 1);
        s.broker = Broker::Zerodha;
        s
    };
    let zero = market(Side::Buy, 0);
    let no_price = {
        let mut s = limit(Side::Buy, 1, "1");
        s.price = None;
        s
    };
    let absurd = limit(Side::Buy, 1, "1000000001");
    for (case, signal) in [
        ("wrong broker", wrong_broker),
        ("zero quantity", zero),
        ("limit without a price", no_price),
        ("price beyond MAX_PRICE", absurd),
    ] {
        let mut v = venue(untimed());
        let events = v.submit("o1", &signal, ist(10, 0));
        assert_eq!(shape(&events), ["failed"], "{case}");
        assert_eq!(failures(&events), [(Rejected, 0)], "{case}");
        assert_eq!(v.open_orders(), 0, "{case}");
    }
}

#[test]
fn a_client_order_id_seen_before_is_ignored() {
    let mut v = venue(untimed());
    v.on_tick(&tick("100"), ist(10, 0));
    assert_eq!(
        fills(&v.submit("o1", &market(Side::Buy, 1), ist(10, 1))).len(),
        1
    );
    assert!(v.submit("o1", &market(Side::Buy, 1), ist(10, 2)).is_empty());
    assert_eq!(v.position(STRATEGY, TOKEN), 1);
}
