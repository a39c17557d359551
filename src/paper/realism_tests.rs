//! The honest fill model: empty sides, displayed depth, the normal session, resting limits,
//! the tick grid, indices and Kite's stop rules.

use super::config::PaperConfig;
use super::testutil::{
    STRATEGY, TOKEN, checked, d, depth_tick, failure_messages, failures, fills, ist, ist_on, limit,
    market, shape, signal, tick, totals_tick, untimed, venue, with_validity,
};
use super::venue::VenueEvent;
use crate::market::InstrumentRegistry;
use crate::messages::{MarketTick, OrderFailureKind, OrderType, Side, TradingSignal, Validity};

use OrderFailureKind::{Expired, Rejected};

fn shorting() -> PaperConfig {
    PaperConfig {
        allow_short: true,
        ..untimed()
    }
}

fn depth_limited() -> PaperConfig {
    PaperConfig {
        depth_limited: true,
        ..shorting()
    }
}

/// `(kind, filled quantity, message)` of the first failure.
fn first_failure(events: &[VenueEvent]) -> Option<(OrderFailureKind, u32, String)> {
    events.iter().find_map(|e| match e {
        VenueEvent::Failed(f) => Some((f.kind, f.filled_quantity, f.message.clone())),
        _ => None,
    })
}

#[test]
fn nothing_fills_against_a_side_the_tick_shows_empty() {
    // (case, circuit tick, side): the last price is there, the side taken is not.
    let cases: [(&str, MarketTick, Side); 4] = [
        (
            "upper circuit, full mode: no sellers",
            depth_tick("110", ("110", 90_000), ("0", 0)),
            Side::Buy,
        ),
        (
            "upper circuit, quote mode: total sell quantity 0",
            totals_tick("110", 90_000, 0),
            Side::Buy,
        ),
        (
            "lower circuit, full mode: no buyers",
            depth_tick("90", ("0", 0), ("90", 70_000)),
            Side::Sell,
        ),
        (
            "lower circuit, quote mode: total buy quantity 0",
            totals_tick("90", 0, 70_000),
            Side::Sell,
        ),
    ];
    for (case, circuit, side) in cases {
        // A DAY market order rests and fills on the first tick with depth on its side.
        let mut v = venue(shorting());
        v.on_tick(&circuit, ist(10, 0));
        let events = checked(v.submit("day", &market(side, 10), ist(10, 1)));
        assert_eq!(
            shape(&events),
            ["submitted"],
            "{case}: not at the last price"
        );
        assert!(
            v.on_tick(&circuit, ist(10, 2)).is_empty(),
            "{case}: still empty"
        );
        let depth = depth_tick("100", ("99.95", 500), ("100.05", 500));
        let events = checked(v.on_tick(&depth, ist(10, 3)));
        let touch = if side == Side::Buy { "100.05" } else { "99.95" };
        assert_eq!(fills(&events), [(10, d(touch))], "{case}");

        // A market IOC ends at once with nothing filled, and says why.
        let mut v = venue(shorting());
        v.on_tick(&circuit, ist(10, 0));
        let ioc = with_validity(market(side, 10), Validity::Ioc);
        let events = checked(v.submit("ioc", &ioc, ist(10, 1)));
        assert_eq!(shape(&events), ["submitted", "failed"], "{case}");
        let (kind, filled, message) =
            first_failure(&events).unwrap_or((Rejected, 9, String::new()));
        assert_eq!((kind, filled), (Expired, 0), "{case}");
        let why = if side == Side::Buy {
            "IOC: no sellers"
        } else {
            "IOC: no buyers"
        };
        assert!(message.starts_with(why), "{case}: {message}");
        assert!(message.ends_with("; 0 of 10 filled"), "{case}: {message}");

        // A limit far through the last price rests too.
        let mut v = venue(shorting());
        v.on_tick(&circuit, ist(10, 0));
        let price = if side == Side::Buy { "200" } else { "1" };
        let events = checked(v.submit("lim", &limit(side, 10, price), ist(10, 1)));
        assert_eq!(shape(&events), ["submitted"], "{case}");
        assert_eq!(v.open_orders(), 1, "{case}");
        assert_eq!(v.position(STRATEGY, TOKEN), 0, "{case}");
    }
}

#[test]
fn with_depth_limited_a_fill_takes_at_most_what_the_tick_shows() {
    let thin = depth_tick("100", ("99.95", 25), ("100.05", 40));
    let thick = depth_tick("100", ("99.95", 500), ("100.10", 500));
    // (case, validity, expected shape at submission, fills then, filled at the end)
    let cases = [
        (
            "DAY: 40 now, the 60 left on the next tick",
            Validity::Day,
            vec!["submitted", "filled"],
            vec![(40, d("100.05"))],
            100,
        ),
        (
            "IOC: 40, the rest expires",
            Validity::Ioc,
            vec!["submitted", "filled", "failed"],
            vec![(40, d("100.05"))],
            40,
        ),
        (
            "FOK: all or nothing",
            Validity::Fok,
            vec!["submitted", "failed"],
            vec![],
            0,
        ),
    ];
    for (case, validity, expected, first_fills, total) in cases {
        let mut v = venue(depth_limited());
        v.on_tick(&thin, ist(10, 0));
        let order = with_validity(market(Side::Buy, 100), validity);
        let events = checked(v.submit("o1", &order, ist(10, 1)));
        assert_eq!(shape(&events), expected, "{case}");
        assert_eq!(fills(&events), first_fills, "{case}");
        match validity {
            Validity::Ioc => assert_eq!(
                failure_messages(&events),
                ["IOC: IOC remainder cancelled; 40 of 100 filled"],
                "{case}"
            ),
            Validity::Fok => assert_eq!(
                failure_messages(&events),
                [
                    "FOK: only 40 of 100 could fill on the tick (40 shown on the ask); 0 of 100 filled"
                ],
                "{case}"
            ),
            Validity::Day => {
                let later = checked(v.on_tick(&thick, ist(10, 2)));
                assert_eq!(
                    fills(&later),
                    [(60, d("100.10"))],
                    "{case}: market, so the touch"
                );
            }
        }
        assert_eq!(v.position(STRATEGY, TOKEN), total, "{case}");
        assert_eq!(v.open_orders(), 0, "{case}");
    }
    // A sell takes the bid's quantity; quote mode caps by the side's total.
    let mut v = venue(depth_limited());
    v.on_tick(&thin, ist(10, 0));
    assert_eq!(
        fills(&v.submit("s", &market(Side::Sell, 100), ist(10, 1))),
        [(25, d("99.95"))]
    );
    let mut v = venue(depth_limited());
    v.on_tick(&totals_tick("100", 500, 30), ist(10, 0));
    assert_eq!(
        fills(&v.submit("q", &market(Side::Buy, 100), ist(10, 1))),
        [(30, d("100"))]
    );
    // Off (the default, and the backtest's): the tick's quantities do not cap.
    let mut v = venue(shorting());
    v.on_tick(&thin, ist(10, 0));
    assert_eq!(
        fills(&v.submit("o", &market(Side::Buy, 100), ist(10, 1))),
        [(100, d("100.05"))]
    );
}

#[test]
fn market_orders_are_refused_outside_the_normal_session_when_hours_are_enforced() {
    // (case, instant, accepted with hours enforced)
    let cases = [
        ("08:00, before the pre-open", ist(8, 0), false),
        ("09:14, pre-open", ist(9, 14), false),
        ("09:15, the open", ist(9, 15), true),
        ("15:29, before the close", ist(15, 29), true),
        ("15:30, the close", ist(15, 30), false),
        ("a Saturday at 10:00", ist_on(7, 10, 0), false),
    ];
    for (case, at, open) in cases {
        for enforced in [true, false] {
            let mut v = venue(untimed()).with_market_hours(enforced);
            v.on_tick(&tick("100"), at);
            let events = checked(v.submit("m", &market(Side::Buy, 1), at));
            let accepted = !enforced || open;
            let want = if accepted {
                vec!["submitted", "filled"]
            } else {
                vec!["failed"]
            };
            assert_eq!(shape(&events), want, "{case}, enforced {enforced}");
            if !accepted {
                assert_eq!(failures(&events), [(Rejected, 0)], "{case}");
                let message = failure_messages(&events).concat();
                assert!(
                    message.starts_with(
                        "Markets are closed right now: MARKET orders are accepted only in the \
                         normal session (09:15–15:30 IST on trading days)"
                    ),
                    "{case}: {message}"
                );
            }
        }
    }
    // A limit order is not a market order: it rests until the session.
    let mut v = venue(untimed()).with_market_hours(true);
    v.on_tick(&tick("100"), ist(8, 0));
    let events = checked(v.submit("l", &limit(Side::Buy, 1, "99"), ist(8, 0)));
    assert_eq!(shape(&events), ["submitted"]);
}

#[test]
fn a_resting_limit_fills_at_its_price_and_an_arriving_one_takes_the_touch() {
    // Resting: placed at 100 with a limit of 95, then the market falls through it.
    let mut v = venue(untimed());
    v.on_tick(&tick("100"), ist(10, 0));
    assert_eq!(
        shape(&v.submit("rest", &limit(Side::Buy, 10, "95"), ist(10, 1))),
        ["submitted"]
    );
    let events = checked(v.on_tick(&tick("94.5"), ist(10, 2)));
    assert_eq!(
        fills(&events),
        [(10, d("95"))],
        "the resting order's price, not 94.5"
    );
    let mut v = venue(shorting());
    v.on_tick(&tick("100"), ist(10, 0));
    v.submit("rest", &limit(Side::Sell, 10, "105"), ist(10, 1));
    let events = checked(v.on_tick(
        &depth_tick("106", ("105.5", 100), ("106.05", 100)),
        ist(10, 2),
    ));
    assert_eq!(
        fills(&events),
        [(10, d("105"))],
        "a resting sell at its price, not the bid"
    );

    // Arriving: marketable on placement, it takes the touch (better than its limit).
    let mut v = venue(untimed());
    v.on_tick(
        &depth_tick("100", ("99.95", 100), ("100.05", 100)),
        ist(10, 0),
    );
    let events = checked(v.submit("take", &limit(Side::Buy, 10, "101"), ist(10, 1)));
    assert_eq!(fills(&events), [(10, d("100.05"))]);

    // A part left by the displayed depth rests at its price afterwards.
    let mut v = venue(depth_limited());
    v.on_tick(
        &depth_tick("100", ("99.95", 100), ("100.05", 4)),
        ist(10, 0),
    );
    let events = checked(v.submit("part", &limit(Side::Buy, 10, "101"), ist(10, 1)));
    assert_eq!(fills(&events), [(4, d("100.05"))]);
    let events = checked(v.on_tick(&depth_tick("100", ("99.95", 100), ("100", 50)), ist(10, 2)));
    assert_eq!(fills(&events), [(6, d("101"))], "now resting: its limit");
}

/// The registry of `rows`, each written `token,symbol,name,exchange,segment,tick,lot`
/// (equities and indices), in Kite's columns under Kite's header.
fn registry(rows: &str) -> InstrumentRegistry {
    let mut csv = crate::market::instruments::HEADER.join(",");
    for row in rows.lines().map(str::trim).filter(|r| !r.is_empty()) {
        let f: Vec<&str> = row.split(',').collect();
        let [token, symbol, name, exchange, segment, tick, lot] = f[..] else {
            panic!("a test row needs 7 fields: {row:?}");
        };
        csv.push_str(&format!(
            "\n{token},0,{symbol},{name},0,,0,{tick},{lot},EQ,{segment},{exchange}"
        ));
    }
    InstrumentRegistry::parse(&csv, "test").expect("test registry")
}

#[test]
fn slipped_prices_go_on_the_tick_grid_against_the_taker() {
    let config = PaperConfig {
        slippage_bps: d("10"),
        ..shorting()
    };
    let depth = depth_tick("100", ("99.95", 500), ("100.05", 500));
    // (case, tick size row, side, expected): 100.05 × 1.001 = 100.15005; 99.95 × 0.999 =
    // 99.85005.
    let cases = [
        (
            "unknown instrument: the paisa, half-up",
            None,
            Side::Buy,
            "100.15",
        ),
        (
            "unknown instrument: the paisa, half-up",
            None,
            Side::Sell,
            "99.85",
        ),
        (
            "0.05 grid: a buy rounds up",
            Some("0.05"),
            Side::Buy,
            "100.20",
        ),
        (
            "0.05 grid: a sell rounds down",
            Some("0.05"),
            Side::Sell,
            "99.85",
        ),
        (
            "0.10 grid: a buy rounds up",
            Some("0.1"),
            Side::Buy,
            "100.2",
        ),
        (
            "0.10 grid: a sell rounds down",
            Some("0.1"),
            Side::Sell,
            "99.8",
        ),
    ];
    for (case, tick_size, side, expected) in cases {
        let mut v = venue(config.clone());
        if let Some(size) = tick_size {
            v = v.with_instruments(&registry(&format!("{TOKEN},RELIANCE,R,NSE,NSE,{size},1")));
        }
        v.on_tick(&depth, ist(10, 0));
        let events = checked(v.submit("o", &market(side, 10), ist(10, 1)));
        assert_eq!(fills(&events), [(10, d(expected))], "{case}");
    }
    // A limit still caps the rounded price: min(100.10, 100.20).
    let mut v =
        venue(config).with_instruments(&registry(&format!("{TOKEN},RELIANCE,R,NSE,NSE,0.05,1")));
    v.on_tick(&depth, ist(10, 0));
    let events = checked(v.submit("l", &limit(Side::Buy, 10, "100.10"), ist(10, 1)));
    assert_eq!(fills(&events), [(10, d("100.10"))]);
}

#[test]
fn orders_for_an_index_are_rejected() {
    let nifty = 256_265; // segment 9
    let index_signal = |token: u32| TradingSignal {
        token,
        symbol: "NIFTY 50".into(),
        ..market(Side::Buy, 1)
    };
    let listed =
        registry("256265,NIFTY 50,NIFTY 50,NSE,INDICES,0.05,1\n738561,RELIANCE,R,NSE,NSE,0.05,1");
    for (case, mut v) in [
        ("by the token's segment", venue(untimed())),
        (
            "by the registry",
            venue(untimed()).with_instruments(&listed),
        ),
    ] {
        v.on_tick(&MarketTick::ltp(nifty, d("24000")), ist(10, 0));
        let events = checked(v.submit("i", &index_signal(nifty), ist(10, 1)));
        assert_eq!(failures(&events), [(Rejected, 0)], "{case}");
        assert_eq!(
            failure_messages(&events),
            [
                "NIFTY 50 (token 256265) is an index (segment INDICES): it has prices but cannot \
              be traded; trade its futures or options instead"
            ],
            "{case}"
        );
        v.on_tick(&tick("100"), ist(10, 0));
        assert_eq!(
            shape(&v.submit("r", &market(Side::Buy, 1), ist(10, 1))),
            ["submitted", "filled"],
            "{case}"
        );
    }
}

#[test]
fn stops_are_refused_as_kite_refuses_them() {
    let stop = |side, order_type, price: Option<&str>, trigger| {
        signal(side, 1, order_type, price, Some(trigger), Validity::Day)
    };
    // (case, signal, refusal's start, or None if accepted); the last price is 100.
    let cases = [
        (
            "buy SL-M at the last price",
            stop(Side::Buy, OrderType::StopMarket, None, "100"),
            Some(
                "Trigger price for stoploss buy orders should be higher than the last traded price (trigger 100, last 100)",
            ),
        ),
        (
            "buy SL-M below it",
            stop(Side::Buy, OrderType::StopMarket, None, "99"),
            Some(
                "Trigger price for stoploss buy orders should be higher than the last traded price",
            ),
        ),
        (
            "buy SL-M above it",
            stop(Side::Buy, OrderType::StopMarket, None, "101"),
            None,
        ),
        (
            "sell SL-M above it",
            stop(Side::Sell, OrderType::StopMarket, None, "101"),
            Some(
                "Trigger price for stoploss sell orders should be lower than the last traded price (trigger 101, last 100)",
            ),
        ),
        (
            "sell SL-M below it",
            stop(Side::Sell, OrderType::StopMarket, None, "99"),
            None,
        ),
        (
            "buy SL with its trigger above its price",
            stop(Side::Buy, OrderType::StopLimit, Some("101"), "102"),
            Some("Trigger price can't be higher than price (SL buy: trigger 102 above price 101)"),
        ),
        (
            "buy SL with trigger = price",
            stop(Side::Buy, OrderType::StopLimit, Some("102"), "102"),
            None,
        ),
        (
            "sell SL with its trigger below its price",
            stop(Side::Sell, OrderType::StopLimit, Some("98"), "97"),
            Some("Trigger price can't be lesser than price (SL sell: trigger 97 below price 98)"),
        ),
        (
            "sell SL below the market",
            stop(Side::Sell, OrderType::StopLimit, Some("97"), "98"),
            None,
        ),
        (
            "sell SL triggering at once",
            stop(Side::Sell, OrderType::StopLimit, Some("99"), "100.5"),
            Some(
                "Trigger price for stoploss sell orders should be lower than the last traded price",
            ),
        ),
    ];
    for (case, order, refusal) in cases {
        let mut v = venue(shorting());
        v.on_tick(&tick("100"), ist(10, 0));
        let events = checked(v.submit("sl", &order, ist(10, 1)));
        match refusal {
            Some(start) => {
                assert_eq!(shape(&events), ["failed"], "{case}");
                assert_eq!(failures(&events), [(Rejected, 0)], "{case}");
                let message = failure_messages(&events).concat();
                assert!(message.starts_with(start), "{case}: {message}");
            }
            None => assert_eq!(shape(&events), ["submitted"], "{case}"),
        }
    }
    // With no tick yet there is no last price to judge the trigger against.
    let mut v = venue(untimed());
    let sl_m = stop(Side::Buy, OrderType::StopMarket, None, "1");
    assert_eq!(shape(&v.submit("early", &sl_m, ist(10, 0))), ["submitted"]);
}
