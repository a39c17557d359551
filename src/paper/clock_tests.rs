//! The venue's clock: the order timeout and the broker's auto square-off, in event time
//! (tick instants and `on_clock`), never a real clock.

use chrono::{DateTime, NaiveDate, NaiveTime, TimeZone, Utc};
use rust_decimal::Decimal;

use super::charges::Product;
use super::config::PaperConfig;
use super::testutil::{
    STRATEGY, TOKEN, checked, d, failures, fills, limit, market, quote_tick, shape, tick, venue,
};
use super::venue::{PaperVenue, VenueEvent};
use crate::market::hours::IST;
use crate::market::{IntradayDay, MarketCalendar};
use crate::messages::{
    Broker, Fees, MarketTick, OrderFailureKind, OrderFilled, OrderRef, Side, TradingSignal,
};

const INFY: u32 = 408_065;
const OTHER: &str = "breakout";

/// `hh:mm:ss` IST on `day` of March 2026: Monday the 2nd, Wednesday the 4th (a holiday
/// here), Saturday the 7th.
fn at(day: u32, hour: u32, minute: u32, second: u32) -> DateTime<Utc> {
    IST.with_ymd_and_hms(2026, 3, day, hour, minute, second)
        .single()
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_else(|| panic!("bad instant 2026-03-{day} {hour}:{minute}:{second}"))
}

fn hm(hour: u32, minute: u32) -> NaiveTime {
    NaiveTime::from_hms_opt(hour, minute, 0).unwrap_or_else(|| panic!("bad time {hour}:{minute}"))
}

fn holiday() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 3, 4).unwrap_or_else(|| panic!("bad date"))
}

/// Zerodha's day: entries close at 15:00, the engine squares off at 15:15, the broker at
/// 15:20; Wednesday 4 March is a holiday.
fn intraday() -> IntradayDay {
    IntradayDay::new(
        hm(15, 0),
        hm(15, 15),
        hm(15, 20),
        MarketCalendar::new([holiday()]),
    )
}

fn config(timeout_secs: u64) -> PaperConfig {
    PaperConfig {
        order_timeout_secs: timeout_secs,
        allow_short: true,
        ..PaperConfig::default()
    }
}

fn intraday_venue(config: PaperConfig) -> PaperVenue {
    venue(config)
        .with_calendar(MarketCalendar::new([holiday()]))
        .with_intraday(Some(intraday()))
}

fn of(strategy: &str, token: u32, signal: TradingSignal) -> TradingSignal {
    TradingSignal {
        strategy_id: strategy.into(),
        token,
        symbol: if token == INFY { "INFY" } else { "RELIANCE" }.into(),
        ..signal
    }
}

fn infy_tick(last: &str) -> MarketTick {
    MarketTick::ltp(INFY, d(last))
}

/// The failures' `(kind, filled_quantity, message)`.
fn ended(events: &[VenueEvent]) -> Vec<(OrderFailureKind, u32, String)> {
    events
        .iter()
        .filter_map(|e| match e {
            VenueEvent::Failed(f) => Some((f.kind, f.filled_quantity, f.message.clone())),
            _ => None,
        })
        .collect()
}

fn filled(events: &[VenueEvent]) -> Vec<&OrderFilled> {
    events
        .iter()
        .filter_map(|e| match e {
            VenueEvent::Filled(f) => Some(f),
            _ => None,
        })
        .collect()
}

#[test]
fn a_resting_order_is_cancelled_at_its_timeout_keeping_its_partial_fill() {
    let mut v = venue(PaperConfig {
        partial_fills: true,
        max_fill_fraction: d("0.5"),
        seed: 7,
        ..config(30)
    });
    v.on_tick(&tick("101"), at(2, 10, 0, 0));
    let placed = checked(v.submit("o1", &limit(Side::Buy, 10, "100"), at(2, 10, 0, 0)));
    assert_eq!(
        shape(&placed),
        ["submitted"],
        "101 does not cross 100: it rests"
    );
    // Crossed 10 s later: a seeded part of it fills (at most half).
    let part = checked(v.on_tick(&tick("100"), at(2, 10, 0, 10)));
    let part_filled: u32 = fills(&part).iter().map(|(q, _)| q).sum();
    assert!((1..=5).contains(&part_filled), "{part:?}");
    // One second before the deadline nothing ends.
    assert!(v.on_tick(&tick("101"), at(2, 10, 0, 29)).is_empty());
    // At the deadline the order ends before the tick is worked: this crossing tick fills
    // nothing more.
    let events = checked(v.on_tick(&tick("99"), at(2, 10, 0, 30)));
    assert_eq!(shape(&events), ["failed"], "{events:?}");
    let message = format!(
        "unfilled after paper.order_timeout_secs (30 s): cancelled; {part_filled} of 10 filled"
    );
    assert_eq!(
        ended(&events),
        [(OrderFailureKind::Cancelled, part_filled, message)]
    );
    assert_eq!(v.open_orders(), 0);
    assert_eq!(v.position(STRATEGY, TOKEN), i64::from(part_filled));
}

#[test]
fn the_timeout_runs_on_any_event_clock_and_zero_never_cancels() {
    // (case, timeout, what advances the clock to 10:00:45, cancelled?)
    let cases = [
        ("another instrument's tick", 45, "infy tick", true),
        ("the clock with no tick", 45, "clock", true),
        ("before the deadline", 46, "clock", false),
        ("0 = never", 0, "clock", false),
    ];
    for (case, timeout, advance, cancelled) in cases {
        let mut v = venue(config(timeout));
        // A market order with no tick yet waits for the first one: it too times out.
        checked(v.submit("o1", &market(Side::Buy, 5), at(2, 10, 0, 0)));
        let later = at(2, 10, 0, 45);
        let events = checked(match advance {
            "infy tick" => v.on_tick(&infy_tick("1500"), later),
            _ => v.on_clock(later),
        });
        let expected: Vec<(OrderFailureKind, u32)> = if cancelled {
            vec![(OrderFailureKind::Cancelled, 0)]
        } else {
            Vec::new()
        };
        assert_eq!(failures(&events), expected, "{case}");
        assert_eq!(v.open_orders(), usize::from(!cancelled), "{case}");
    }
    // Without a timeout the order still ends at its session close.
    let mut v = venue(config(0));
    v.submit("o1", &market(Side::Buy, 5), at(2, 10, 0, 0));
    assert_eq!(
        failures(&v.on_clock(at(2, 15, 30, 0))),
        [(OrderFailureKind::Expired, 0)]
    );
}

/// The charges of an MIS fill closed by the broker, recomputed from KITE.md's schedule
/// by hand: brokerage min(0.03 %, ₹20) + ₹50, STT 0.025 % on sells, exchange 0.00297 %,
/// SEBI ₹10 per crore, stamp 0.003 % on buys, GST 18 % on brokerage + exchange + SEBI.
fn by_hand(side: Side, quantity: u32, price: &str) -> Fees {
    let paisa = |x: Decimal| {
        x.round_dp_with_strategy(2, rust_decimal::RoundingStrategy::MidpointAwayFromZero)
    };
    let turnover = Decimal::from(quantity) * d(price);
    let brokerage = paisa((turnover * d("0.0003")).min(d("20"))) + d("50");
    let stt = match side {
        Side::Sell => paisa(turnover * d("0.00025")),
        Side::Buy => Decimal::ZERO,
    };
    let exchange_txn = paisa(turnover * d("0.0000297"));
    let sebi = paisa(turnover * d("10") / d("10000000"));
    let stamp_duty = match side {
        Side::Buy => paisa(turnover * d("0.00003")),
        Side::Sell => Decimal::ZERO,
    };
    let gst = paisa((brokerage + exchange_txn + sebi) * d("0.18"));
    Fees {
        brokerage,
        stt,
        exchange_txn,
        sebi,
        stamp_duty,
        gst,
        total: brokerage + stt + exchange_txn + sebi + stamp_duty + gst,
    }
}

#[test]
fn the_broker_squares_off_open_mis_positions_at_15_20_with_its_charge() {
    let mut v = intraday_venue(config(0));
    v.on_tick(&tick("2400"), at(2, 10, 0, 0));
    v.on_tick(&infy_tick("1500"), at(2, 10, 0, 0));
    // momentum: long 100 RELIANCE and long 10 INFY; breakout: short 50 RELIANCE; and a
    // resting limit order.
    v.submit("b1", &market(Side::Buy, 100), at(2, 10, 0, 1));
    v.submit(
        "b2",
        &of(STRATEGY, INFY, market(Side::Buy, 10)),
        at(2, 10, 0, 2),
    );
    v.submit(
        "s1",
        &of(OTHER, TOKEN, market(Side::Sell, 50)),
        at(2, 10, 0, 3),
    );
    checked(v.submit("r1", &limit(Side::Buy, 5, "2000"), at(2, 10, 0, 4)));
    assert_eq!(v.open_orders(), 1);
    let cash_before = [v.cash(STRATEGY), v.cash(OTHER)];

    let quote = quote_tick("2450", "2449.95", "2450.05");
    assert!(
        v.on_tick(&quote, at(2, 15, 19, 59)).is_empty(),
        "15:19:59 is before the broker's square-off"
    );
    v.on_tick(&infy_tick("1510.10"), at(2, 15, 19, 59));
    let events = checked(v.on_tick(&quote, at(2, 15, 20, 0)));
    assert_eq!(
        shape(&events),
        [
            "failed",
            "submitted",
            "filled",
            "submitted",
            "filled",
            "submitted",
            "filled"
        ]
    );
    let why =
        "MIS order pending at the broker's auto square-off (15:20 IST): cancelled; 0 of 5 filled";
    assert_eq!(
        ended(&events),
        [(OrderFailureKind::Cancelled, 0, why.to_owned())]
    );
    // One order per (strategy, instrument), by strategy then token; at the touch.
    let closed: Vec<(&str, &str, u32, Side, u32, Decimal)> = filled(&events)
        .iter()
        .map(|f| {
            let o = &f.order;
            let id = o.client_order_id.as_str();
            (
                id,
                o.strategy_id.as_str(),
                o.token,
                o.side,
                f.quantity,
                f.price,
            )
        })
        .collect();
    assert_eq!(
        closed,
        [
            (
                "autosq-20260302-738561-breakout",
                OTHER,
                TOKEN,
                Side::Buy,
                50,
                d("2450.05")
            ),
            (
                "autosq-20260302-408065-momentum",
                STRATEGY,
                INFY,
                Side::Sell,
                10,
                d("1510.10")
            ),
            (
                "autosq-20260302-738561-momentum",
                STRATEGY,
                TOKEN,
                Side::Sell,
                100,
                d("2449.95")
            ),
        ]
    );
    for f in filled(&events) {
        assert_eq!(
            f.fees,
            by_hand(f.order.side, f.quantity, &f.price.to_string())
        );
        assert_eq!(
            (f.cumulative_quantity, f.order_quantity),
            (f.quantity, f.quantity)
        );
        assert_eq!(f.fill_id, format!("{}-1", f.order.client_order_id));
        assert!(crate::paper::is_auto_square_off(&f.order.client_order_id));
    }
    // 100 × 2449.95 = 244995: brokerage ₹20 (capped) + ₹50, GST 18 % of 70 + 7.28 + 0.24.
    let reliance = by_hand(Side::Sell, 100, "2449.95");
    assert_eq!(
        (reliance.brokerage, reliance.exchange_txn, reliance.gst),
        (d("70"), d("7.28"), d("13.95"))
    );
    let sold =
        d("244995") + d("15101.00") - reliance.total - by_hand(Side::Sell, 10, "1510.10").total;
    assert_eq!(v.cash(STRATEGY), cash_before[0] + sold);
    let bought = d("122502.50") + by_hand(Side::Buy, 50, "2450.05").total;
    assert_eq!(v.cash(OTHER), cash_before[1] - bought);
    for (strategy, token) in [(STRATEGY, TOKEN), (STRATEGY, INFY), (OTHER, TOKEN)] {
        assert_eq!(v.position(strategy, token), 0, "{strategy} {token}");
    }
    assert_eq!(v.open_orders(), 0);

    // Once a day: a position opened later in the window by a strategy already squared
    // off in that instrument is left alone; the next trading day's window comes again.
    v.submit("b3", &market(Side::Buy, 1), at(2, 15, 21, 0));
    assert!(v.on_tick(&quote, at(2, 15, 22, 0)).is_empty());
    assert!(v.on_clock(at(2, 15, 25, 0)).is_empty());
    let tuesday = checked(v.on_tick(&quote, at(3, 15, 20, 0)));
    assert_eq!(
        filled(&tuesday)
            .iter()
            .map(|f| f.order.client_order_id.as_str())
            .collect::<Vec<_>>(),
        ["autosq-20260303-738561-momentum"]
    );
}

#[test]
fn no_square_off_on_weekends_holidays_without_the_intraday_day_or_for_cnc() {
    // (case, product, intraday day, instant)
    let cases = [
        ("Saturday", Product::Mis, true, at(7, 15, 20, 0)),
        ("holiday", Product::Mis, true, at(4, 15, 25, 0)),
        ("after the close", Product::Mis, true, at(2, 15, 30, 0)),
        ("intraday = false", Product::Mis, false, at(2, 15, 20, 0)),
        ("CNC positions", Product::Cnc, true, at(2, 15, 20, 0)),
    ];
    for (case, product, with_day, instant) in cases {
        let mut v = venue(PaperConfig {
            product,
            ..config(0)
        })
        .with_calendar(MarketCalendar::new([holiday()]))
        .with_intraday(with_day.then(intraday));
        v.on_tick(&tick("2400"), at(2, 10, 0, 0));
        v.submit("b1", &market(Side::Buy, 100), at(2, 10, 0, 1));
        // An order resting since shortly before: a square-off would cancel it.
        let day_start = instant - chrono::Duration::minutes(5);
        v.submit("r1", &limit(Side::Buy, 5, "2000"), day_start);
        let events = checked(v.on_tick(&tick("2450"), instant));
        assert!(fills(&events).is_empty(), "{case}: {events:?}");
        let cancelled = failures(&events)
            .iter()
            .any(|(kind, _)| *kind == OrderFailureKind::Cancelled);
        assert!(!cancelled, "{case}: {events:?}");
        assert!(v.on_clock(instant).is_empty(), "{case}");
        assert_eq!(v.position(STRATEGY, TOKEN), 100, "{case}");
    }
}

fn restored_buy(id: &str, strategy: &str, token: u32, quantity: u32) -> OrderFilled {
    OrderFilled {
        order: OrderRef {
            client_order_id: id.into(),
            broker_order_id: None,
            strategy_id: strategy.into(),
            broker: Broker::Paper,
            token,
            symbol: "INFY".into(),
            side: Side::Buy,
        },
        fill_id: format!("{id}-1"),
        quantity,
        price: d("1500"),
        fees: Fees::default(),
        cumulative_quantity: quantity,
        order_quantity: quantity,
        filled_at: at(2, 11, 0, 0),
    }
}

#[test]
fn restored_positions_are_squared_off_once_and_wait_for_their_instruments_quote() {
    let mut first = intraday_venue(config(0));
    assert!(first.restore_fill(&restored_buy("ap01", STRATEGY, INFY, 20)));
    // 15:20 on a RELIANCE tick: INFY has no quote yet, so its position waits.
    let events = checked(first.on_tick(&tick("2400"), at(2, 15, 20, 0)));
    assert!(events.is_empty(), "{events:?}");
    // INFY's first tick inside the window closes it at that price.
    let events = checked(first.on_tick(&infy_tick("1490"), at(2, 15, 22, 0)));
    let squared = filled(&events);
    assert_eq!(squared.len(), 1, "{events:?}");
    let fill = squared[0].clone();
    assert_eq!(
        (
            fill.order.client_order_id.as_str(),
            fill.order.symbol.as_str()
        ),
        ("autosq-20260302-408065-momentum", "INFY")
    );
    assert_eq!(
        (fill.order.side, fill.quantity, fill.price),
        (Side::Sell, 20, d("1490"))
    );
    assert_eq!(fill.fees, by_hand(Side::Sell, 20, "1490"));
    assert_eq!(first.position(STRATEGY, INFY), 0);

    // A new life inside the window rebuilds from both fills: flat, and it knows the
    // square-off happened, so nothing is squared off twice.
    let mut second = intraday_venue(config(0));
    second.restore_fill(&restored_buy("ap01", STRATEGY, INFY, 20));
    second.restore_fill(&fill);
    assert_eq!(second.position(STRATEGY, INFY), 0);
    assert!(
        second
            .on_tick(&infy_tick("1491"), at(2, 15, 25, 0))
            .is_empty()
    );
}

#[test]
fn the_wall_clock_squares_off_at_the_last_quotes_with_no_tick() {
    let mut v = intraday_venue(config(0));
    v.on_tick(&quote_tick("2400", "2399.90", "2400.10"), at(2, 10, 0, 0));
    v.submit("b1", &market(Side::Buy, 3), at(2, 10, 0, 1));
    assert!(v.on_clock(at(2, 15, 19, 59)).is_empty());
    let events = checked(v.on_clock(at(2, 15, 20, 0)));
    let squared = filled(&events);
    assert_eq!(squared.len(), 1);
    assert_eq!(
        (squared[0].price, squared[0].filled_at),
        (d("2399.90"), at(2, 15, 20, 0))
    );
    assert_eq!(squared[0].fees, by_hand(Side::Sell, 3, "2399.90"));
}

#[test]
fn the_wall_clock_stands_in_only_on_the_ticks_day() {
    let mut v = intraday_venue(config(30));
    assert!(v.wall_clock_agrees(at(2, 15, 20, 0)), "no tick yet");
    v.on_tick(&tick("2400"), at(2, 10, 0, 0));
    assert_eq!(v.latest_event_at(), Some(at(2, 10, 0, 0)));
    v.submit("b1", &market(Side::Buy, 3), at(2, 10, 0, 5));
    assert_eq!(v.latest_event_at(), Some(at(2, 10, 0, 5)));
    // An older tick does not move it back; the clock does not count.
    v.on_tick(&tick("2400"), at(2, 9, 59, 0));
    v.on_clock(at(2, 15, 0, 0));
    assert_eq!(v.latest_event_at(), Some(at(2, 10, 0, 5)));
    // (case, wall clock, agrees?)
    let cases = [
        ("later the same IST day", at(2, 15, 20, 0), true),
        ("just after IST midnight", at(3, 0, 0, 1), false),
        ("ticks of an earlier day replayed", at(9, 15, 20, 0), false),
        ("ticks from a later day", at(1, 15, 20, 0), false),
    ];
    for (case, now, agrees) in cases {
        assert_eq!(v.wall_clock_agrees(now), agrees, "{case}");
    }
}
