//! The trading day: today's figures leave out earlier days', the day rolls by event time
//! (fills and ticks, IST dates) and never back, positions held into the day are carried,
//! and the figures do not depend on how different positions' fills interleave.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rust_decimal::Decimal;

use super::tests_support::{INFY, RELIANCE, TCS, at, d, fill, fill_on};
use super::{Book, CarriedPosition, DayFigures, Portfolio, recompute};
use crate::messages::{Broker, OrderFilled, Side};

/// `fill` filled at `when` (RFC 3339).
fn filled(mut fill: OrderFilled, when: &str) -> OrderFilled {
    fill.filled_at = at(when);
    fill
}

/// The IST date of an instant, computed here without the code under test: IST is
/// UTC + 5:30 all year.
fn ist(at: DateTime<Utc>) -> NaiveDate {
    (at + Duration::minutes(330)).date_naive()
}

fn date(text: &str) -> NaiveDate {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
}

fn carried(token: u32, symbol: &str, quantity: i64, average: &str) -> CarriedPosition {
    CarriedPosition {
        token,
        symbol: symbol.into(),
        quantity,
        average_price: d(average),
    }
}

/// What the day's figures must be, from the fills alone: the fills dated before `day`
/// recomputed from scratch give what was realized before and what was carried in; the
/// day's own fills give charges, turnover and count.
fn expected_day(fills: &[OrderFilled], day: NaiveDate, broker: Broker, strategy: &str) -> Expected {
    let mine: Vec<OrderFilled> = fills
        .iter()
        .filter(|f| f.order.broker == broker && f.order.strategy_id == strategy)
        .cloned()
        .collect();
    let before: Vec<OrderFilled> = mine
        .iter()
        .filter(|f| ist(f.filled_at) < day)
        .cloned()
        .collect();
    let today: Vec<&OrderFilled> = mine.iter().filter(|f| ist(f.filled_at) == day).collect();
    let realized = |fills: &[OrderFilled]| {
        recompute(fills, &[], Decimal::ZERO)
            .get(broker, strategy)
            .map_or(Decimal::ZERO, Portfolio::realized_pnl)
    };
    let carried_in = recompute(&before, &[], Decimal::ZERO)
        .get(broker, strategy)
        .map(|p| {
            p.positions()
                .filter(|p| !p.is_flat())
                .map(|p| (p.token, p.quantity, p.average_price))
                .collect()
        })
        .unwrap_or_default();
    Expected {
        realized: (realized(&mine) - realized(&before)).round_dp(2),
        charges: today.iter().map(|f| f.fees.total).sum(),
        turnover: today
            .iter()
            .map(|f| f.price * Decimal::from(f.quantity))
            .sum(),
        fill_count: today.len(),
        carried: carried_in,
    }
}

#[derive(Debug, PartialEq)]
struct Expected {
    /// To the paisa: unrounded sums of P&L differ in decimal's 28th significant digit
    /// depending on the order they are added in.
    realized: Decimal,
    charges: Decimal,
    turnover: Decimal,
    fill_count: usize,
    /// (token, quantity, average price)
    carried: Vec<(u32, i64, Decimal)>,
}

fn actual(day: &DayFigures) -> Expected {
    Expected {
        realized: day.realized_pnl.round_dp(2),
        charges: day.charges,
        turnover: day.turnover,
        fill_count: day.fill_count,
        carried: day
            .carried
            .iter()
            .map(|c| (c.token, c.quantity, c.average_price))
            .collect(),
    }
}

#[test]
fn todays_figures_leave_out_yesterdays_realized_and_charges() {
    #[rustfmt::skip]
    let fills = [
        // Yesterday, 2026-11-25 IST: RELIANCE bought 10 @ 100 and 4 sold @ 110 (realized 40);
        // TCS shorted 3 @ 4000; INFY bought and sold flat (realized 10).
        filled(fill("y1", "s", RELIANCE, Side::Buy, 10, d("100"), d("2.00")), "2026-11-25T04:00:00Z"),
        filled(fill("y2", "s", RELIANCE, Side::Sell, 4, d("110"), d("1.50")), "2026-11-25T08:00:00Z"),
        filled(fill("y3", "s", TCS, Side::Sell, 3, d("4000"), d("3.00")), "2026-11-25T09:00:00Z"),
        filled(fill("y4", "s", INFY, Side::Buy, 1, d("1500"), d("0.40")), "2026-11-25T09:30:00Z"),
        filled(fill("y5", "s", INFY, Side::Sell, 1, d("1510"), d("0.60")), "2026-11-25T09:45:00Z"),
        // 2026-11-25T18:45Z is 00:15 IST on the 26th: today's, though UTC says the 25th.
        // RELIANCE 2 of the 6 carried sold @ 120: realized (120 − 100) × 2 = 40.
        filled(fill("t1", "s", RELIANCE, Side::Sell, 2, d("120"), d("0.75")), "2026-11-25T18:45:00Z"),
        // INFY today: 5 bought @ 1500, sold @ 1510.50: realized 52.50.
        filled(fill("t2", "s", INFY, Side::Buy, 5, d("1500"), d("1.00")), "2026-11-26T04:00:00Z"),
        filled(fill("t3", "s", INFY, Side::Sell, 5, d("1510.50"), d("1.25")), "2026-11-26T05:00:00Z"),
    ];
    let mut book = Book::new(d("100000"));
    for f in &fills {
        assert!(book.apply_fill(f).unwrap().is_some(), "{}", f.fill_id);
    }
    book.mark(RELIANCE, d("105"));
    let portfolio = book.get(Broker::Paper, "s").unwrap();
    let day = portfolio.day().expect("a day");

    let today = date("2026-11-26");
    assert_eq!(book.today(), Some(today));
    assert_eq!(
        day,
        DayFigures {
            date: today,
            realized_pnl: d("92.50"), // 40 + 52.50; yesterday's 40 + 10 left out
            // RELIANCE 4 left at 100 marked 105: 20; TCS short unmarked: 0.
            unrealized_pnl: d("20"),
            charges: d("3.00"), // 0.75 + 1.00 + 1.25; yesterday's 7.50 left out
            turnover: d("15292.50"), // 240 + 7500 + 7552.50
            fill_count: 3,
            carried: vec![
                carried(RELIANCE, "RELIANCE", 6, "100"),
                carried(TCS, "TCS", -3, "4000"),
            ],
        }
    );
    // The same, recomputed from the fills by another route.
    assert_eq!(
        actual(&day),
        expected_day(&fills, today, Broker::Paper, "s")
    );
    // The all-time figures keep yesterday's.
    assert_eq!(portfolio.realized_pnl(), d("142.50"));
    assert_eq!(portfolio.charges(), d("10.50"));
}

#[test]
fn a_tick_of_a_new_day_rolls_every_portfolio_and_carries_its_open_positions() {
    let mut book = Book::new(d("100000"));
    #[rustfmt::skip]
    let fills = [
        filled(fill("a", "alpha", RELIANCE, Side::Buy, 10, d("100"), d("1")), "2026-11-25T04:00:00Z"),
        filled(fill("b", "alpha", RELIANCE, Side::Sell, 10, d("101"), d("1")), "2026-11-25T05:00:00Z"),
        filled(fill_on(Broker::Zerodha, fill("c", "beta", TCS, Side::Buy, 2, d("4000"), d("2"))), "2026-11-25T06:00:00Z"),
    ];
    for f in &fills {
        book.apply_fill(f).unwrap();
    }
    let yesterday = date("2026-11-25");
    let alpha = book.get(Broker::Paper, "alpha").unwrap().day().unwrap();
    assert_eq!(
        (alpha.date, alpha.realized_pnl, alpha.charges),
        (yesterday, d("10"), d("2"))
    );

    // A tick at 18:29:59Z is still the 25th in IST; at 18:30Z the 26th begins.
    assert!(!book.advance_to(at("2026-11-25T18:29:59Z")));
    assert_eq!(book.today(), Some(yesterday));
    assert!(book.advance_to(at("2026-11-25T18:30:00Z")));
    let today = date("2026-11-26");
    assert_eq!(book.today(), Some(today));

    let alpha = book.get(Broker::Paper, "alpha").unwrap().day().unwrap();
    let beta = book.get(Broker::Zerodha, "beta").unwrap().day().unwrap();
    let empty = |carried: Vec<CarriedPosition>| DayFigures {
        date: today,
        realized_pnl: Decimal::ZERO,
        unrealized_pnl: Decimal::ZERO,
        charges: Decimal::ZERO,
        turnover: Decimal::ZERO,
        fill_count: 0,
        carried,
    };
    assert_eq!(
        alpha,
        empty(vec![]),
        "alpha closed flat yesterday: nothing carried"
    );
    assert_eq!(beta, empty(vec![carried(TCS, "TCS", 2, "4000")]));
    // The all-time figures stay.
    let alpha = book.get(Broker::Paper, "alpha").unwrap();
    assert_eq!((alpha.realized_pnl(), alpha.charges()), (d("10"), d("2")));
}

#[test]
fn the_day_never_moves_back() {
    let mut book = Book::new(d("1000"));
    book.advance_to(at("2026-11-26T04:00:00Z"));
    assert!(
        !book.advance_to(at("2026-11-24T04:00:00Z")),
        "an earlier tick"
    );
    // A portfolio whose first fill is from an earlier day starts on the book's day, with
    // that fill's position carried in and none of its figures.
    let old = filled(
        fill("o", "s", RELIANCE, Side::Buy, 3, d("100"), d("1")),
        "2026-11-25T04:00:00Z",
    );
    book.apply_fill(&old).unwrap();
    let today = date("2026-11-26");
    assert_eq!(book.today(), Some(today));
    let day = book.get(Broker::Paper, "s").unwrap().day().unwrap();
    assert_eq!(day.date, today);
    assert_eq!(
        (day.charges, day.turnover, day.fill_count),
        (Decimal::ZERO, Decimal::ZERO, 0)
    );
    assert_eq!(day.carried, [carried(RELIANCE, "RELIANCE", 3, "100")]);

    // A lone portfolio rolls by its own fills, and not back either.
    let mut lone = Portfolio::new(Broker::Paper, "s", d("1000"));
    lone.apply_fill(&filled(
        fill("n", "s", TCS, Side::Buy, 1, d("10"), d("0")),
        "2026-11-27T04:00:00Z",
    ))
    .unwrap();
    assert!(!lone.roll_to(date("2026-11-26")));
    lone.apply_fill(&old).unwrap();
    assert_eq!(lone.trading_date(), Some(date("2026-11-27")));
}

#[test]
fn a_fill_of_an_earlier_day_arriving_late_changes_what_was_carried_not_the_day() {
    let mut portfolio = Portfolio::new(Broker::Paper, "s", d("100000"));
    #[rustfmt::skip]
    let (today_buy, late, today_sell) = (
        filled(fill("t1", "s", RELIANCE, Side::Buy, 5, d("110"), d("1")), "2026-11-26T04:00:00Z"),
        filled(fill("y1", "s", RELIANCE, Side::Buy, 10, d("100"), d("2")), "2026-11-25T04:00:00Z"),
        filled(fill("t2", "s", RELIANCE, Side::Sell, 15, d("120"), d("3")), "2026-11-26T05:00:00Z"),
    );
    for f in [&today_buy, &late, &today_sell] {
        assert!(portfolio.apply_fill(f).unwrap());
    }
    let day = portfolio.day().unwrap();
    // All 15 closed at 120 against an entry value of 1000 + 550: realized 250, all today
    // (nothing was realized before). Charges and turnover are today's fills' alone.
    assert_eq!(day.date, date("2026-11-26"));
    assert_eq!(day.realized_pnl, d("250"));
    assert_eq!(day.charges, d("4"));
    assert_eq!(day.turnover, d("2350")); // 550 + 1800
    assert_eq!(day.fill_count, 2);
    assert_eq!(day.carried, [carried(RELIANCE, "RELIANCE", 10, "100")]);
}

#[test]
fn the_day_survives_the_portfolios_json_form_and_the_read_model_shows_it() {
    let mut book = Book::new(d("1000"));
    #[rustfmt::skip]
    let fills = [
        filled(fill("y", "s", RELIANCE, Side::Buy, 2, d("100"), d("1")), "2026-11-25T04:00:00Z"),
        filled(fill("t", "s", RELIANCE, Side::Sell, 1, d("103"), d("0.5")), "2026-11-26T04:00:00Z"),
    ];
    for f in &fills {
        book.apply_fill(f).unwrap();
    }
    let portfolio = book.get(Broker::Paper, "s").unwrap().clone();
    let back: Portfolio =
        serde_json::from_str(&serde_json::to_string(&portfolio).unwrap()).unwrap();
    assert_eq!(back, portfolio);
    assert_eq!(back.day(), portfolio.day());

    let model = serde_json::to_value(portfolio.read_model()).unwrap();
    assert_eq!(
        model["day"],
        serde_json::json!({
            "date": "2026-11-26",
            "realized_pnl": "3",
            "unrealized_pnl": "0",
            "charges": "0.5",
            "turnover": "103",
            "fill_count": 1,
            "carried": [{"token": RELIANCE, "symbol": "RELIANCE", "quantity": 2, "average_price": "100"}],
        })
    );
    assert!(
        model.get("trading_day").is_none(),
        "the ledgers stay out: {model}"
    );
}

const STRATEGIES: [&str; 2] = ["alpha", "beta"];
const TOKENS: [u32; 3] = [RELIANCE, TCS, INFY];

/// Fills over three IST days, each (broker, strategy, token) key's in time order, the keys'
/// interleaved at random — as a rebuild reads them, partition by partition.
fn days_of_fills(seed: u64) -> Vec<OrderFilled> {
    let mut rng = StdRng::seed_from_u64(seed);
    let start = at("2026-11-24T03:45:00Z");
    let mut by_key: BTreeMap<(Broker, &str, u32), Vec<OrderFilled>> = BTreeMap::new();
    for number in 0..600 {
        let broker = Broker::ALL[rng.random_range(0..Broker::ALL.len())];
        let strategy = STRATEGIES[rng.random_range(0..STRATEGIES.len())];
        let token = TOKENS[rng.random_range(0..TOKENS.len())];
        let side = if rng.random_bool(0.5) {
            Side::Buy
        } else {
            Side::Sell
        };
        let price = Decimal::new(rng.random_range(2_000..=60_000) * 5, 2);
        let fees = Decimal::new(rng.random_range(0..=2_000), 2);
        let quantity = rng.random_range(1..=50);
        let id = format!("f{number}");
        // Anywhere in three days, the IST midnights included.
        let when = start + Duration::minutes(rng.random_range(0..3 * 24 * 60));
        let mut f = fill_on(
            broker,
            fill(&id, strategy, token, side, quantity, price, fees),
        );
        f.filled_at = when;
        by_key.entry((broker, strategy, token)).or_default().push(f);
    }
    let mut keys: Vec<Vec<OrderFilled>> = by_key
        .into_values()
        .map(|mut fills| {
            fills.sort_by_key(|f| f.filled_at);
            fills
        })
        .collect();
    // Interleave: repeatedly take the next fill of a random key.
    let mut out = Vec::new();
    while !keys.is_empty() {
        keys.shuffle(&mut rng);
        let next = keys[0].remove(0);
        out.push(next);
        keys.retain(|k| !k.is_empty());
    }
    out
}

#[test]
fn the_days_figures_equal_a_recomputation_from_the_fills_however_keys_interleave() {
    for seed in [1, 2, 3] {
        let fills = days_of_fills(seed);
        let mut book = Book::new(d("1000000"));
        for f in &fills {
            book.apply_fill(f).unwrap();
        }
        let last = fills.iter().map(|f| ist(f.filled_at)).max().unwrap();
        assert_eq!(book.today(), Some(last), "seed {seed}");
        assert!(
            fills.iter().filter(|f| ist(f.filled_at) < last).count() > 100,
            "earlier days' fills exist"
        );
        for portfolio in book.iter() {
            let day = portfolio.day().unwrap();
            let case = format!(
                "seed {seed} {}/{}",
                portfolio.broker(),
                portfolio.strategy_id()
            );
            assert_eq!(day.date, last, "{case}");
            let expected = expected_day(&fills, last, portfolio.broker(), portfolio.strategy_id());
            assert_eq!(actual(&day), expected, "{case}");
        }
    }
}
