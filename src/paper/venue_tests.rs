//! The paper venue's prices: market, limit and stop orders against ticks (more rules of
//! the fill model in `realism_tests.rs`).

use super::config::PaperConfig;
use super::testutil::{
    STRATEGY, TOKEN, checked, d, fills, ist, limit, market, quote_tick, shape, signal, tick,
    untimed, venue,
};
use crate::messages::{MarketTick, OrderType, Side, Validity};

fn slippage(bps: &str, fill_at_touch: bool) -> PaperConfig {
    PaperConfig {
        slippage_bps: d(bps),
        fill_at_touch,
        allow_short: true,
        ..untimed()
    }
}

#[test]
fn market_orders_fill_at_the_current_tick_with_slippage_not_the_reference_price() {
    // (case, config, tick, side, expected fill price); every signal says reference 1.00.
    let cases: [(&str, PaperConfig, MarketTick, Side, &str); 6] = [
        (
            "buy at last, no slippage",
            slippage("0", true),
            tick("100"),
            Side::Buy,
            "100",
        ),
        // 100 × 1.001 = 100.10: the taker pays more.
        (
            "buy pays 10 bps",
            slippage("10", true),
            tick("100"),
            Side::Buy,
            "100.10",
        ),
        // 100 × 0.999 = 99.90: the taker receives less.
        (
            "sell receives 10 bps less",
            slippage("10", true),
            tick("100"),
            Side::Sell,
            "99.90",
        ),
        // 100.05 × 1.001 = 100.15005 → 100.15 (paisa, half-up).
        (
            "buy takes the best ask",
            slippage("10", true),
            quote_tick("100", "99.95", "100.05"),
            Side::Buy,
            "100.15",
        ),
        // 99.95 × 0.999 = 99.85005 → 99.85.
        (
            "sell takes the best bid",
            slippage("10", true),
            quote_tick("100", "99.95", "100.05"),
            Side::Sell,
            "99.85",
        ),
        (
            "without fill_at_touch depth is ignored",
            slippage("0", false),
            quote_tick("100", "99.95", "100.05"),
            Side::Buy,
            "100",
        ),
    ];
    for (case, config, tick, side, price) in cases {
        let mut v = venue(config);
        assert!(v.on_tick(&tick, ist(10, 0)).is_empty(), "{case}");
        let events = checked(v.submit("o1", &market(side, 10), ist(10, 1)));
        assert_eq!(shape(&events), ["submitted", "filled"], "{case}");
        assert_eq!(fills(&events), [(10, d(price))], "{case}");
        assert_eq!(v.open_orders(), 0, "{case}");
    }
}

#[test]
fn market_order_without_a_tick_waits_for_the_first_one() {
    let mut v = venue(untimed());
    let events = checked(v.submit("o1", &market(Side::Buy, 5), ist(10, 0)));
    assert_eq!(shape(&events), ["submitted"]);
    assert_eq!(v.open_orders(), 1);
    let other = MarketTick::ltp(1, d("50"));
    assert!(
        v.on_tick(&other, ist(10, 1)).is_empty(),
        "another instrument"
    );
    let events = checked(v.on_tick(&tick("101.5"), ist(10, 2)));
    assert_eq!(fills(&events), [(5, d("101.5"))]);
    assert_eq!(v.open_orders(), 0);
}

#[test]
fn marketable_limit_orders_fill_at_once_at_the_limit_or_better() {
    // (case, side, limit, tick, slippage bps, expected price)
    let cases = [
        (
            "buy below its limit fills at the market",
            Side::Buy,
            "101",
            "100",
            "0",
            "100",
        ),
        (
            "sell above its limit fills at the market",
            Side::Sell,
            "99",
            "100",
            "0",
            "100",
        ),
        // 100 × 1.001 = 100.10 but the limit caps it: min(100.05, 100.10).
        (
            "slippage never passes a buy limit",
            Side::Buy,
            "100.05",
            "100",
            "10",
            "100.05",
        ),
        // 100 × 0.999 = 99.90, floored by the limit: max(99.95, 99.90).
        (
            "slippage never passes a sell limit",
            Side::Sell,
            "99.95",
            "100",
            "10",
            "99.95",
        ),
        (
            "buy exactly at the limit",
            Side::Buy,
            "100",
            "100",
            "0",
            "100",
        ),
    ];
    for (case, side, price, last, bps, expected) in cases {
        let mut v = venue(slippage(bps, true));
        v.on_tick(&tick(last), ist(10, 0));
        let events = checked(v.submit("o1", &limit(side, 3, price), ist(10, 1)));
        assert_eq!(fills(&events), [(3, d(expected))], "{case}");
    }
}

#[test]
fn limit_order_rests_until_a_later_tick_crosses_it_and_never_before() {
    let mut v = venue(untimed());
    v.on_tick(&tick("100"), ist(10, 0));
    let events = checked(v.submit("o1", &limit(Side::Buy, 10, "95"), ist(10, 1)));
    assert_eq!(shape(&events), ["submitted"]);
    for (minute, last) in [(2, "99"), (3, "95.01"), (4, "100")] {
        assert!(v.on_tick(&tick(last), ist(10, minute)).is_empty(), "{last}");
        assert_eq!(v.open_orders(), 1);
    }
    let events = checked(v.on_tick(&tick("94.5"), ist(10, 5)));
    assert_eq!(
        fills(&events),
        [(10, d("95"))],
        "a resting order fills at its limit"
    );
    assert_eq!(v.open_orders(), 0);
    assert!(
        v.on_tick(&tick("90"), ist(10, 6)).is_empty(),
        "filled only once"
    );
}

#[test]
fn buy_limit_against_depth_needs_the_ask_not_the_last_price_to_cross() {
    let mut v = venue(untimed());
    v.on_tick(&quote_tick("95", "94.95", "95.10"), ist(10, 0));
    let events = checked(v.submit("o1", &limit(Side::Buy, 1, "95"), ist(10, 1)));
    assert_eq!(shape(&events), ["submitted"], "last 95 but ask 95.10 > 95");
    let events = checked(v.on_tick(&quote_tick("95", "94.95", "95"), ist(10, 2)));
    assert_eq!(fills(&events), [(1, d("95"))]);
}

#[test]
fn stop_market_orders_trigger_on_the_last_price_and_fill_at_market() {
    // (case, side, trigger, quiet ticks, triggering tick, fill price)
    let cases = [
        (
            "buy stop above the market",
            Side::Buy,
            "105",
            ["100", "104.95"],
            "105.5",
            "105.5",
        ),
        (
            "sell stop below the market",
            Side::Sell,
            "95",
            ["100", "95.05"],
            "94",
            "94",
        ),
        (
            "buy stop exactly at the trigger",
            Side::Buy,
            "105",
            ["100", "101"],
            "105",
            "105",
        ),
    ];
    for (case, side, trigger, quiet, crossing, price) in cases {
        let mut v = venue(slippage("0", true));
        v.on_tick(&tick("100"), ist(10, 0));
        let sl_m = signal(
            side,
            7,
            OrderType::StopMarket,
            None,
            Some(trigger),
            Validity::Day,
        );
        assert_eq!(
            shape(&checked(v.submit("o1", &sl_m, ist(10, 1)))),
            ["submitted"]
        );
        for last in quiet {
            assert!(
                v.on_tick(&tick(last), ist(10, 2)).is_empty(),
                "{case}: {last}"
            );
        }
        let events = checked(v.on_tick(&tick(crossing), ist(10, 3)));
        assert_eq!(fills(&events), [(7, d(price))], "{case}");
        assert_eq!(v.open_orders(), 0, "{case}");
    }
}

#[test]
fn stop_limit_order_becomes_a_limit_when_triggered_and_fills_only_within_it() {
    let mut v = venue(untimed());
    v.on_tick(&tick("100"), ist(10, 0));
    let sl = signal(
        Side::Buy,
        4,
        OrderType::StopLimit,
        Some("106"),
        Some("105"),
        Validity::Day,
    );
    assert_eq!(
        shape(&checked(v.submit("o1", &sl, ist(10, 1)))),
        ["submitted"]
    );
    assert!(
        v.on_tick(&tick("104"), ist(10, 2)).is_empty(),
        "not triggered"
    );
    // 107 ≥ 105 triggers it, but 107 > 106: it now rests as a buy limit at 106.
    assert!(
        v.on_tick(&tick("107"), ist(10, 3)).is_empty(),
        "triggered, not crossed"
    );
    assert_eq!(v.open_orders(), 1);
    // Below the trigger again: a triggered stop stays a limit; resting since the
    // triggering tick, it fills at its limit 106, not at 104.
    let events = checked(v.on_tick(&tick("104"), ist(10, 4)));
    assert_eq!(fills(&events), [(4, d("106"))]);

    let mut v = venue(untimed());
    v.on_tick(&tick("100"), ist(10, 0));
    v.submit("o2", &sl, ist(10, 1));
    let events = checked(v.on_tick(&tick("105.5"), ist(10, 2)));
    assert_eq!(
        fills(&events),
        [(4, d("105.5"))],
        "triggered and crossed on one tick"
    );
}

#[test]
fn orders_on_one_tick_are_worked_in_arrival_order() {
    let mut v = venue(untimed());
    v.on_tick(&tick("100"), ist(10, 0));
    for (id, price) in [("a", "98"), ("b", "99"), ("c", "97")] {
        v.submit(id, &limit(Side::Buy, 1, price), ist(10, 1));
    }
    let events = checked(v.on_tick(&tick("96"), ist(10, 2)));
    let ids: Vec<&str> = events
        .iter()
        .filter_map(|e| match e {
            super::venue::VenueEvent::Filled(f) => Some(f.order.client_order_id.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(ids, ["a", "b", "c"]);
}

/// A placement's events are kept for a replay only until they are published, so what the
/// venue keeps does not grow with the orders it settled; the ids stay known, so a duplicate
/// of an order settled long ago (say a signal redelivered once the journal no longer
/// answers, as in a backtest's write-only store) still places nothing.
#[test]
fn published_placements_are_let_go_and_a_duplicate_of_a_settled_order_places_nothing() {
    let mut v = venue(untimed());
    assert!(v.on_tick(&tick("100"), ist(10, 0)).is_empty());
    let mut ids: Vec<String> = (0..1_000u128)
        .map(|n| crate::messages::client_order_id(uuid::Uuid::from_u128(n)))
        .collect();
    ids.push("o1".into());
    ids.push("o2".into());
    for (n, id) in ids.iter().enumerate() {
        let side = if n % 2 == 0 { Side::Buy } else { Side::Sell };
        let events = checked(v.submit(id, &market(side, 1), ist(10, 1)));
        assert_eq!(shape(&events), ["submitted", "filled"], "{id}");
        assert_eq!(v.replay(id), events, "{id}: kept until published");
        assert_eq!(v.unpublished_placements(), 1);
        v.published(id);
        assert_eq!(v.unpublished_placements(), 0, "{id}: let go once published");
        assert!(v.replay(id).is_empty(), "{id}");
    }
    assert_eq!(v.position(STRATEGY, TOKEN), 0);
    let cash = v.cash(STRATEGY);
    for id in [&ids[0], &ids[999], &ids[1000]] {
        assert!(
            v.submit(id, &market(Side::Buy, 1), ist(10, 2)).is_empty(),
            "{id}"
        );
    }
    assert_eq!(v.position(STRATEGY, TOKEN), 0, "nothing placed twice");
    assert_eq!(v.cash(STRATEGY), cash);
    assert_eq!(v.open_orders(), 0);
    assert_eq!(v.unpublished_placements(), 0);
}
