//! The intraday day in the runner, on a simulated clock: tick timestamps around IST 15:15
//! on Monday 2026-12-07, and a settable wall clock for the daemon's timer.
//! What lands in the producer probe is asserted, and what must not land within a bound.

use super::*;
use crate::market::hours::IST;
use crate::market::{IntradayDay, MarketCalendar};
use crate::messages::{Product, Validity};
use crate::strategy::square_off::SQUARE_OFF_REASON;
use chrono::{NaiveDate, NaiveTime, TimeZone};
use std::collections::HashMap;

use Side::{Buy, Sell};

const SATURDAY: u32 = 5;
const MONDAY: u32 = 7;
const HOLIDAY: u32 = 9;

/// IST wall time on a day of December 2026.
fn ist(day: u32, h: u32, m: u32, s: u32) -> DateTime<Utc> {
    IST.with_ymd_and_hms(2026, 12, day, h, m, s)
        .single()
        .expect("a valid IST time")
        .with_timezone(&Utc)
}

fn hm(h: u32, m: u32) -> NaiveTime {
    NaiveTime::from_hms_opt(h, m, 0).expect("a valid time")
}

/// The default deadlines (entries 15:00, square-off 15:15, broker 15:20), with a holiday.
fn day() -> IntradayDay {
    let holiday = NaiveDate::from_ymd_opt(2026, 12, HOLIDAY).expect("a valid date");
    IntradayDay::new(
        hm(15, 0),
        hm(15, 15),
        hm(15, 20),
        MarketCalendar::new([holiday]),
    )
}

fn intraday(products: &[(&str, Broker, Product)], clock: RunnerClock) -> IntradayArgs {
    IntradayArgs {
        day: Some(day()),
        products: products
            .iter()
            .map(|(id, broker, product)| (((*id).to_owned(), *broker), *product))
            .collect::<HashMap<_, _>>(),
        clock,
    }
}

fn sell(quantity: u32) -> OrderIntent {
    OrderIntent::market(Side::Sell, quantity, "scripted")
}

/// Sends `intent` whenever flat with nothing in flight: it would enter again as soon as a
/// square-off flattens it.
fn enter_once(intent: OrderIntent) -> Script {
    Box::new(move |_, ctx| Ok((ctx.position() == 0 && !ctx.has_pending()).then(|| intent.clone())))
}

/// The intent the test queued for the next tick, if any.
#[derive(Clone, Default)]
struct Queue(Arc<Mutex<Option<OrderIntent>>>);

impl Queue {
    fn put(&self, intent: OrderIntent) {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner) = Some(intent);
    }

    fn script(&self) -> Script {
        let queue = self.clone();
        Box::new(move |_, _| {
            Ok(queue
                .0
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .take())
        })
    }
}

/// (topic, strategy, side, quantity, position) of what a tick published.
fn summary(sent: &[(String, Envelope<TradingSignal>)]) -> Vec<(&str, &str, Side, u32, i64)> {
    sent.iter()
        .map(|(topic, s)| {
            let d = &s.data;
            (
                topic.as_str(),
                d.strategy_id.as_str(),
                d.side,
                d.quantity,
                d.position,
            )
        })
        .collect()
}

fn assert_closing(signal: &Envelope<TradingSignal>) {
    let d = &signal.data;
    assert_eq!(
        (d.order_type, d.validity, d.product),
        (OrderType::Market, Validity::Day, Some(Product::Mis))
    );
    assert_eq!(d.reason, SQUARE_OFF_REASON);
}

#[actix::test]
async fn square_off_sends_one_closing_order_per_mis_position_per_slot_and_none_for_cnc() {
    let (mis_paper, mis_zerodha, cnc) = (Log::default(), Log::default(), Log::default());
    let products = [
        ("mis", Broker::Paper, Product::Mis),
        ("mis", Broker::Zerodha, Product::Mis),
        ("cnc", Broker::Zerodha, Product::Cnc),
    ];
    let mut rig = Rig::start_intraday(
        vec![
            slot(
                "mis",
                Broker::Paper,
                &[INFY, RELIANCE],
                enter_once(buy(10)),
                &mis_paper,
            ),
            slot(
                "mis",
                Broker::Zerodha,
                &[INFY],
                enter_once(sell(5)),
                &mis_zerodha,
            ),
            slot("cnc", Broker::Zerodha, &[INFY], enter_once(buy(7)), &cnc),
        ],
        intraday(&products, RunnerClock::Ticks),
        NEVER,
    );

    // The morning: every slot enters and is filled.
    for (token, entries) in [(INFY, 3), (RELIANCE, 1)] {
        let sent = rig.tick(&tick(token, 1500, ist(MONDAY, 10, 0, 0))).await;
        assert_eq!(sent.len(), entries);
        for (_, s) in &sent {
            rig.send(filled(s, s.data.quantity, s.data.quantity)).await;
        }
    }
    assert_eq!(
        rig.tick(&tick(INFY, 1500, ist(MONDAY, 15, 14, 59))).await,
        [],
        "a second before the square-off"
    );

    // The window opens: one closing order per MIS position, none for CNC.
    let window = tick(INFY, 1490, ist(MONDAY, 15, 15, 0));
    let closing = rig.tick(&window).await;
    assert_eq!(
        summary(&closing),
        [
            ("paper.signals.raw", "mis", Sell, 10, 10),
            ("zerodha.signals.raw", "mis", Buy, 5, -5),
        ]
    );
    for (_, signal) in &closing {
        assert_closing(signal);
        assert_eq!(signal.data.reference_price, Decimal::from(1490));
        assert_eq!(
            (signal.causation_id, signal.ts),
            (Some(window.id), window.ts)
        );
    }
    // RELIANCE's position closes on RELIANCE's tick.
    let reliance = rig
        .tick(&tick(RELIANCE, 2400, ist(MONDAY, 15, 15, 0)))
        .await;
    assert_eq!(
        summary(&reliance),
        [("paper.signals.raw", "mis", Sell, 10, 10)]
    );
    assert_closing(&reliance[0].1);

    // In flight: nothing more.
    assert_eq!(
        rig.tick(&tick(INFY, 1490, ist(MONDAY, 15, 15, 1))).await,
        []
    );

    // Filled: flat. The strategies want to enter again and are held back.
    for (_, s) in closing.iter().chain(&reliance) {
        rig.send(filled(s, s.data.quantity, s.data.quantity)).await;
    }
    mis_paper.take();
    mis_zerodha.take();
    assert_eq!(
        rig.tick(&tick(INFY, 1490, ist(MONDAY, 15, 16, 0))).await,
        []
    );
    assert_eq!(mis_paper.take(), [tick_seen(0, 0)], "asked, not sent");
    assert_eq!(mis_zerodha.take(), [tick_seen(0, 0)], "asked, not sent");
    assert_eq!(rig.book("mis", Broker::Paper, INFY).await, (0, vec![]));
    assert_eq!(rig.book("mis", Broker::Paper, RELIANCE).await, (0, vec![]));
    assert_eq!(rig.book("mis", Broker::Zerodha, INFY).await, (0, vec![]));
    assert_eq!(rig.book("cnc", Broker::Zerodha, INFY).await, (7, vec![]));
    rig.producer.expect_no_msg(QUIET).await;
}

#[actix::test]
async fn no_square_off_and_no_hold_back_on_a_weekend_a_holiday_or_with_intraday_off() {
    // (case, day of December 2026, intraday on, a trading day)
    let cases = [
        ("a trading Monday", MONDAY, true, true),
        ("a Saturday", SATURDAY, true, false),
        ("a holiday", HOLIDAY, true, false),
        ("intraday = false", MONDAY, false, false),
    ];
    for (case, day, on, trading) in cases {
        let log = Log::default();
        let products = [
            ("held", Broker::Paper, Product::Mis),
            ("late", Broker::Paper, Product::Mis),
        ];
        let mut args = intraday(&products, RunnerClock::Ticks);
        if !on {
            args.day = None;
        }
        let mut rig = Rig::start_intraday(
            vec![
                slot("held", Broker::Paper, &[INFY], enter_once(buy(10)), &log),
                slot(
                    "late",
                    Broker::Paper,
                    &[RELIANCE],
                    enter_once(buy(10)),
                    &log,
                ),
            ],
            args,
            NEVER,
        );
        let entry = rig.tick_one(&tick(INFY, 1500, ist(day, 10, 0, 0))).await;
        rig.send(filled(&entry, 10, 10)).await;

        let held = rig.tick(&tick(INFY, 1500, ist(day, 15, 15, 0))).await;
        let late = rig.tick(&tick(RELIANCE, 2400, ist(day, 15, 15, 0))).await;
        if trading {
            assert_eq!(
                summary(&held),
                [("paper.signals.raw", "held", Sell, 10, 10)],
                "{case}: squared off"
            );
            assert_eq!(summary(&late), [], "{case}: the late entry is held back");
        } else {
            assert_eq!(summary(&held), [], "{case}: no square-off");
            assert_eq!(
                summary(&late),
                [("paper.signals.raw", "late", Buy, 10, 0)],
                "{case}: entries stay open"
            );
        }
    }
}

#[actix::test]
async fn a_closing_order_is_not_sent_twice_while_in_flight_and_again_after_each_failure() {
    let log = Log::default();
    let mut rig = Rig::start_intraday(
        vec![slot("s", Broker::Paper, &[INFY], enter_once(buy(10)), &log)],
        intraday(&[("s", Broker::Paper, Product::Mis)], RunnerClock::Ticks),
        Duration::from_secs(30),
    );
    let entry = rig.tick_one(&tick(INFY, 1500, ist(MONDAY, 10, 0, 0))).await;
    rig.send(filled(&entry, 10, 10)).await;
    let at = |ms: i64| ist(MONDAY, 15, 15, 0) + chrono::Duration::milliseconds(ms);

    // Refused by risk: nothing while in flight, nothing within the 1 s back-off, then again.
    let first = rig.tick_one(&tick(INFY, 1500, at(0))).await;
    assert_eq!(rig.tick(&tick(INFY, 1500, at(500))).await, [], "in flight");
    rig.send(rejected(&first, RejectionCode::TradingHalted))
        .await;
    assert_eq!(rig.tick(&tick(INFY, 1500, at(900))).await, [], "back-off");
    let second = rig.tick_one(&tick(INFY, 1500, at(1000))).await;
    assert_ne!(second.id, first.id);
    let d = &second.data;
    assert_eq!((d.side, d.quantity, d.position), (Sell, 10, 10));
    assert_closing(&second);

    // Part-filled, then cancelled at the venue: the rest, after a back-off the fill reset.
    rig.send(filled(&second, 4, 4)).await;
    rig.send(failed(&second, 4, OrderFailureKind::Cancelled))
        .await;
    assert_eq!(rig.tick(&tick(INFY, 1500, at(1500))).await, [], "back-off");
    let third = rig.tick_one(&tick(INFY, 1500, at(2000))).await;
    let d = &third.data;
    assert_eq!((d.side, d.quantity, d.position), (Sell, 6, 6));

    // Never answered: it ends 30 s of tick time after it was sent; the next one waits
    // 2 s (the second failure in a row).
    assert_eq!(
        rig.tick(&tick(INFY, 1500, at(32_000))).await,
        [],
        "in flight"
    );
    assert_eq!(rig.tick(&tick(INFY, 1500, at(32_001))).await, [], "expired");
    assert_eq!(rig.book("s", Broker::Paper, INFY).await, (6, vec![]));
    assert_eq!(
        rig.tick(&tick(INFY, 1500, at(34_000))).await,
        [],
        "back-off"
    );
    let fourth = rig.tick_one(&tick(INFY, 1500, at(34_001))).await;
    let d = &fourth.data;
    assert_eq!((d.side, d.quantity, d.position), (Sell, 6, 6));

    // Flat: nothing more, and no entry.
    rig.send(filled(&fourth, 6, 6)).await;
    assert_eq!(rig.tick(&tick(INFY, 1500, at(40_000))).await, []);
    assert_eq!(rig.book("s", Broker::Paper, INFY).await, (0, vec![]));
    rig.producer.expect_no_msg(QUIET).await;
}

#[actix::test]
async fn from_the_entry_cutoff_mis_entries_are_held_back_while_reductions_and_other_products_pass()
{
    let (paper, zerodha, cnc) = (Queue::default(), Queue::default(), Queue::default());
    let log = Log::default();
    let products = [
        ("mis", Broker::Paper, Product::Mis),
        ("mis", Broker::Zerodha, Product::Mis),
        ("cnc", Broker::Paper, Product::Cnc),
    ];
    let mut rig = Rig::start_intraday(
        vec![
            slot("mis", Broker::Paper, &[INFY], paper.script(), &log),
            slot("mis", Broker::Zerodha, &[RELIANCE], zerodha.script(), &log),
            slot("cnc", Broker::Paper, &[RELIANCE], cnc.script(), &log),
        ],
        intraday(&products, RunnerClock::Ticks),
        NEVER,
    );
    let infy_at = |s: u32| tick(INFY, 1500, ist(MONDAY, 15, 0, s));

    // Before the cutoff an entry goes out.
    paper.put(buy(10));
    let entry = rig
        .tick_one(&tick(INFY, 1500, ist(MONDAY, 14, 59, 59)))
        .await;
    rig.send(filled(&entry, 10, 10)).await;

    // From the cutoff: growing and flipping are held back, a reduction goes out.
    for (case, intent, sent) in [
        ("growing", buy(5), None),
        ("flipping", sell(15), None),
        ("reducing", sell(4), Some((Sell, 4, 10))),
    ] {
        paper.put(intent);
        let published = rig.tick(&infy_at(1)).await;
        let got: Vec<_> = published
            .iter()
            .map(|(_, s)| (s.data.side, s.data.quantity, s.data.position))
            .collect();
        assert_eq!(got, sent.into_iter().collect::<Vec<_>>(), "{case}");
    }

    // Zerodha: an intent of another product passes; one of the configured MIS does not.
    // A CNC slot's entry passes.
    let mut as_cnc = buy(10);
    as_cnc.product = Some(Product::Cnc);
    zerodha.put(as_cnc);
    cnc.put(buy(10));
    let reliance = rig.tick(&tick(RELIANCE, 2400, ist(MONDAY, 15, 0, 2))).await;
    assert_eq!(
        summary(&reliance),
        [
            ("zerodha.signals.raw", "mis", Buy, 10, 0),
            ("paper.signals.raw", "cnc", Buy, 10, 0),
        ]
    );
    assert_eq!(reliance[0].1.data.product, Some(Product::Cnc));
    rig.send(failed(&reliance[0].1, 0, OrderFailureKind::Rejected))
        .await;
    zerodha.put(buy(10));
    assert_eq!(
        rig.tick(&tick(RELIANCE, 2400, ist(MONDAY, 15, 0, 3))).await,
        [],
        "an MIS entry at zerodha"
    );
}

#[actix::test]
async fn a_disabled_strategy_is_squared_off_too() {
    let log = Log::default();
    let mut rig = Rig::start_intraday(
        vec![slot("s", Broker::Paper, &[INFY], enter_once(buy(10)), &log)],
        intraday(&[("s", Broker::Paper, Product::Mis)], RunnerClock::Ticks),
        NEVER,
    );
    let entry = rig.tick_one(&tick(INFY, 1500, ist(MONDAY, 10, 0, 0))).await;
    rig.send(filled(&entry, 10, 10)).await;
    rig.set_enabled("s", None, false)
        .await
        .expect("s runs here");
    log.take();

    let closing = rig
        .tick_one(&tick(INFY, 1500, ist(MONDAY, 15, 15, 0)))
        .await;
    let d = &closing.data;
    assert_eq!((d.side, d.quantity, d.position), (Sell, 10, 10));
    assert_closing(&closing);
    assert_eq!(log.take(), [], "the strategy itself is not called");
}

#[actix::test]
async fn on_the_wall_clock_a_timer_squares_off_an_instrument_that_does_not_tick() {
    let clock = Arc::new(Mutex::new(ist(MONDAY, 10, 0, 0)));
    let set = |time: DateTime<Utc>| *clock.lock().unwrap_or_else(PoisonError::into_inner) = time;
    let reading = clock.clone();
    let wall = RunnerClock::Wall {
        every: Duration::from_millis(10),
        now: Arc::new(move || *reading.lock().unwrap_or_else(PoisonError::into_inner)),
    };
    let log = Log::default();
    let mut rig = Rig::start_intraday(
        vec![slot("s", Broker::Paper, &[INFY], enter_once(buy(10)), &log)],
        intraday(&[("s", Broker::Paper, Product::Mis)], wall),
        NEVER,
    );

    let last_tick = tick(INFY, 1500, ist(MONDAY, 10, 0, 0));
    let entry = rig.tick_one(&last_tick).await;
    rig.send(filled(&entry, 10, 10)).await;
    rig.producer.expect_no_msg(QUIET).await;

    // 15:15 on the wall clock, no tick: the timer closes the position on the last tick.
    set(ist(MONDAY, 15, 15, 0));
    let published = rig.producer.expect_msg(Duration::from_secs(5)).await;
    assert_eq!(published.0.topic, "paper.signals.raw");
    let first = decode::<TradingSignal>(&published.0.value).expect("a valid signal");
    let d = &first.data;
    assert_eq!((d.side, d.quantity, d.position), (Sell, 10, 10));
    assert_closing(&first);
    assert_eq!(d.reference_price, Decimal::from(1500));
    assert_eq!(
        (first.causation_id, first.ts),
        (Some(last_tick.id), ist(MONDAY, 15, 15, 0))
    );
    rig.producer.expect_no_msg(QUIET).await;

    // Refused: the timer waits for the back-off on the wall clock, then sends again.
    rig.send(rejected(&first, RejectionCode::TradingHalted))
        .await;
    rig.producer.expect_no_msg(QUIET).await;
    set(ist(MONDAY, 15, 15, 1));
    let published = rig.producer.expect_msg(Duration::from_secs(5)).await;
    let second = decode::<TradingSignal>(&published.0.value).expect("a valid signal");
    assert_ne!(second.id, first.id);
    assert_eq!((second.data.side, second.data.quantity), (Sell, 10));
    rig.send(filled(&second, 10, 10)).await;
    rig.producer.expect_no_msg(QUIET).await;
    assert_eq!(rig.book("s", Broker::Paper, INFY).await, (0, vec![]));
}
