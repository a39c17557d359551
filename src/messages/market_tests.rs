//! The tick rule book ([`MarketTick::check`]) as a table: each case one rule, the field it
//! names and the value it quotes.

use super::*;
use std::str::FromStr;

fn dec(s: &str) -> Decimal {
    Decimal::from_str(s).unwrap()
}

fn level(quantity: u32, price: &str) -> DepthLevel {
    DepthLevel {
        quantity,
        price: dec(price),
        orders: 1,
    }
}

/// A plausible full-mode tick: last 100.10, book 100.05 / 100.15, a traded day.
fn full() -> MarketTick {
    MarketTick {
        mode: TickMode::Full,
        average_traded_price: Some(dec("99.80")),
        ohlc: Some(Ohlc {
            open: dec("99.00"),
            high: dec("101.00"),
            low: dec("98.50"),
            close: dec("98.00"),
        }),
        change: Some(dec("2.10")),
        depth: Some(MarketDepth {
            bids: vec![level(10, "100.05"), level(5, "100.00"), level(0, "0")],
            asks: vec![level(7, "100.15"), level(9, "100.20")],
        }),
        ..MarketTick::ltp(408_065, dec("100.10"))
    }
}

#[test]
fn a_plausible_tick_passes_in_every_mode() {
    assert_eq!(full().check(), Ok(()));
    assert_eq!(MarketTick::ltp(1, dec("0.0025")).check(), Ok(()));
    assert_eq!(MarketTick::ltp(1, MAX_PRICE).check(), Ok(()));
}

type Edit = fn(&mut MarketTick);

#[test]
fn each_rule_refuses_naming_the_field_and_value() {
    let cases: &[(&str, Edit, &str)] = &[
        ("zero token", |t| t.token = 0, "token: must be non-zero"),
        (
            "negative last price",
            |t| t.last_price = dec("-100.00"),
            "last_price: -100.00 is not above zero",
        ),
        (
            "zero last price (not traded yet)",
            |t| t.last_price = Decimal::ZERO,
            "last_price: 0 is not above zero (0 means no trade yet",
        ),
        (
            "last price above the ceiling",
            |t| t.last_price = dec("1000000000.01"),
            "last_price: 1000000000.01 is beyond the ceiling of 1000000000",
        ),
        (
            "the largest decimal",
            |t| t.last_price = Decimal::MAX,
            "last_price: 79228162514264337593543950335 is beyond the ceiling",
        ),
        (
            "a price finer than any market's",
            |t| t.last_price = dec("100.000000001"),
            "last_price: 100.000000001 has more than 8 decimals",
        ),
        (
            "negative average price",
            |t| t.average_traded_price = Some(dec("-1")),
            "average_traded_price: -1 is negative",
        ),
        (
            "change beyond the ceiling, negative",
            |t| t.change = Some(dec("-2000000000")),
            "change: -2000000000 is beyond the ceiling",
        ),
        (
            "crossed book",
            |t| t.depth.as_mut().unwrap().bids[0] = level(10, "100.20"),
            "depth: crossed book, best bid 100.20 is above best ask 100.15",
        ),
        (
            "negative depth price",
            |t| t.depth.as_mut().unwrap().asks[1] = level(9, "-100.20"),
            "depth.asks[1].price: -100.20 is negative",
        ),
        (
            "depth price above the ceiling",
            |t| t.depth.as_mut().unwrap().bids[2] = level(0, "1e10"),
            "depth.bids[2].price: 10000000000 is beyond the ceiling",
        ),
        (
            "quantity quoted at price zero",
            |t| t.depth.as_mut().unwrap().bids[1] = level(5, "0"),
            "depth.bids[1]: quantity 5 quoted at price 0",
        ),
        (
            "bids not falling",
            |t| t.depth.as_mut().unwrap().bids[1] = level(5, "100.10"),
            "depth.bids[1].price: 100.10 is out of order after 100.05",
        ),
        (
            "asks not rising",
            |t| t.depth.as_mut().unwrap().asks[1] = level(5, "100.10"),
            "depth.asks[1].price: 100.10 is out of order after 100.15",
        ),
        (
            "six levels a side",
            |t| t.depth.as_mut().unwrap().asks = vec![level(0, "0"); 6],
            "depth: at most 5 levels a side, got 3 bids and 6 asks",
        ),
        (
            "low above high",
            |t| t.ohlc.as_mut().unwrap().low = dec("102"),
            "ohlc: low 102 is above high 101.00",
        ),
        (
            "open outside the day's range",
            |t| t.ohlc.as_mut().unwrap().open = dec("97"),
            "ohlc.open: 97 is outside the day's range 98.50..=101.00",
        ),
        (
            "negative close",
            |t| t.ohlc.as_mut().unwrap().close = dec("-98"),
            "ohlc.close: -98 is negative",
        ),
    ];
    for (name, edit, expected) in cases {
        let mut tick = full();
        edit(&mut tick);
        let problem = tick.check().expect_err(name).to_string();
        assert!(
            problem.starts_with(expected),
            "{name}: `{problem}` should start with `{expected}`"
        );
        assert_eq!(tick.validate(), Err(problem), "{name}: validate is check");
    }
}

#[test]
fn what_kite_really_sends_passes() {
    let cases: &[(&str, Edit)] = &[
        ("a locked book (bid = ask)", |t| {
            t.depth.as_mut().unwrap().bids[0] = level(10, "100.15")
        }),
        ("one side empty", |t| {
            t.depth.as_mut().unwrap().asks = vec![level(0, "0"); 5]
        }),
        ("a crossed price on an empty level", |t| {
            t.depth.as_mut().unwrap().bids[0] = level(0, "200")
        }),
        ("no trade yet today: OHLC zeros", |t| {
            t.ohlc = Some(Ohlc {
                open: Decimal::ZERO,
                high: Decimal::ZERO,
                low: Decimal::ZERO,
                close: dec("98"),
            })
        }),
        ("a previous close outside the day's range", |t| {
            t.ohlc.as_mut().unwrap().close = dec("150")
        }),
        ("a fall from the close", |t| t.change = Some(dec("-47.90"))),
        ("trailing zeros past the decimals allowed", |t| {
            t.last_price = dec("100.1000000000")
        }),
        ("a currency price with Kite's 7 decimals", |t| {
            t.last_price = dec("83.1234567")
        }),
        ("an index: no depth, no volumes", |t| {
            t.depth = None;
            t.tradable = false;
        }),
    ];
    for (name, edit) in cases {
        let mut tick = full();
        edit(&mut tick);
        assert_eq!(tick.check(), Ok(()), "{name}");
    }
}

#[test]
fn decoding_a_tick_that_breaks_the_rules_is_invalid_not_malformed() {
    use crate::messages::{DecodeError, Envelope, decode, encode};
    let tick = MarketTick::ltp(256_265, dec("-100.00"));
    let bytes = encode(&Envelope::root(tick, "test", Utc::now()));
    assert_eq!(
        decode::<MarketTick>(&bytes).map(|_| ()),
        Err(DecodeError::Invalid {
            event_type: EventType::MarketTick,
            reason: "last_price: -100.00 is not above zero (0 means no trade yet: no price to \
                     act on)"
                .into(),
        })
    );
}
