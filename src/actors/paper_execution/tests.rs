//! Paper execution with a probe as its producer and the in-memory store as its journal.

use super::*;
use crate::market::MarketCalendar;
use crate::messages::ValidatedSignal;
use crate::messages::{
    Broker, Envelope, MarketTick, OrderFilled, OrderSubmitted, OrderType, RecordOrigin, Side,
    TradingSignal, Validity, client_order_id, decode,
};
use crate::paper::PaperConfig;
use crate::store::{MemoryStore, Store};
use crate::streaming::ProducerHandle;
use crate::streaming::consumer::{Deliver, HandlerError};
use crate::streaming::producer::Publish;
use crate::testkit::DownStore;
use crate::testkit::Probe;
use actix::prelude::*;
use chrono::{TimeZone, Utc};
use rust_decimal::Decimal;
use std::sync::Arc;
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(5);

fn at() -> chrono::DateTime<Utc> {
    // A Thursday, 10:00 IST: the market is open.
    Utc.with_ymd_and_hms(2026, 11, 26, 4, 30, 0).unwrap()
}

fn origin() -> RecordOrigin {
    RecordOrigin {
        topic: "t".into(),
        partition: 0,
        offset: 0,
    }
}

fn tick(price_paise: i64) -> Deliver<MarketTick> {
    Deliver {
        envelope: Envelope::root(
            MarketTick::ltp(738_561, Decimal::new(price_paise, 2)),
            "feed",
            at(),
        ),
        origin: origin(),
    }
}

fn validated() -> Deliver<ValidatedSignal> {
    let signal = TradingSignal {
        strategy_id: "s1".into(),
        broker: Broker::Paper,
        token: 738_561,
        symbol: "RELIANCE".into(),
        side: Side::Buy,
        quantity: 10,
        order_type: OrderType::Market,
        price: None,
        trigger_price: None,
        validity: Validity::Day,
        reference_price: Decimal::new(240_000, 2),
        reason: "test".into(),
        product: None,
        position: 0,
    };
    Deliver {
        envelope: Envelope::root(ValidatedSignal { signal }, "risk_manager", at()),
        origin: origin(),
    }
}

fn start(store: Arc<dyn Store>, producer: &Probe<Publish>) -> Addr<PaperExecution> {
    start_with(store, producer, MarketCalendar::default())
}

fn start_with(
    store: Arc<dyn Store>,
    producer: &Probe<Publish>,
    calendar: MarketCalendar,
) -> Addr<PaperExecution> {
    // Orders here rest for days: the timeout has a test of its own.
    let config = PaperConfig {
        slippage_bps: Decimal::ZERO,
        order_timeout_secs: 0,
        ..PaperConfig::default()
    };
    PaperExecution::new(PaperExecutionArgs {
        config,
        producer: ProducerHandle::new(producer.recipient()),
        store,
        calendar,
        history: None,
    })
    .start()
}

#[actix::test]
async fn a_market_order_fills_at_the_current_tick_and_a_redelivered_signal_never_fills_twice() {
    let mut producer = Probe::<Publish>::acking_producer();
    let store: Arc<dyn Store> = Arc::new(MemoryStore::default());
    let paper = start(store.clone(), &producer);
    paper.send(tick(245_050)).await.unwrap().unwrap();
    let signal = validated();
    paper.send(signal.clone()).await.unwrap().unwrap();
    let out = producer.expect_msgs(2, WAIT).await;
    assert_eq!(out[0].0.topic, "paper.orders.submitted");
    let submitted = decode::<OrderSubmitted>(&out[0].0.value).unwrap();
    assert_eq!(out[1].0.topic, "paper.orders.filled");
    let filled = decode::<OrderFilled>(&out[1].0.value).unwrap();
    assert_eq!(
        filled.data.price,
        Decimal::new(245_050, 2),
        "the tick's price, not the signal's"
    );
    assert_eq!(filled.data.quantity, 10);
    assert_eq!(
        filled.data.order.client_order_id,
        submitted.data.order.client_order_id
    );
    assert_eq!(filled.causation_id, Some(signal.envelope.id));
    assert!(filled.data.fees.total > Decimal::ZERO);

    // A redelivery (say the first attempt's outputs failed to publish) places nothing new
    // but publishes the same events again, with the same ids.
    paper.send(signal.clone()).await.unwrap().unwrap();
    let again = producer.expect_msgs(2, WAIT).await;
    assert_eq!(again[0].0.value, out[0].0.value);
    assert_eq!(again[1].0.value, out[1].0.value);
    producer.expect_no_msg(Duration::from_millis(200)).await;

    // After a restart (fresh venue, same journal) nothing is placed again: the journaled
    // events go out once more, byte for byte, not a new fill at the new tick's price.
    let restarted = start(store, &producer);
    restarted.send(tick(245_100)).await.unwrap().unwrap();
    restarted.send(signal).await.unwrap().unwrap();
    let replayed = producer.expect_msgs(2, WAIT).await;
    assert_eq!(replayed[0].0.value, out[0].0.value);
    assert_eq!(replayed[1].0.value, out[1].0.value);
    producer.expect_no_msg(Duration::from_millis(200)).await;
}

#[actix::test]
async fn an_unreachable_journal_is_an_unavailable_dependency_and_nothing_is_published() {
    let mut producer = Probe::<Publish>::acking_producer();
    let paper = start(Arc::new(DownStore), &producer);
    paper.send(tick(245_050)).await.unwrap().unwrap();
    let answer = paper.send(validated()).await.unwrap();
    // Unavailable: the consumer waits for the store instead of dead-lettering the order.
    assert!(
        matches!(answer, Err(HandlerError::Unavailable(m)) if m.contains("connection refused"))
    );
    producer.expect_no_msg(Duration::from_millis(200)).await;
}

/// A DAY limit order placed on Thursday 26 Nov after the close lives until the close of the
/// next trading day. With Friday 27 Nov a holiday, a tick on Friday after 15:30 IST leaves it
/// open (its day is Monday); without the holiday the same tick expires it.
#[actix::test]
async fn day_orders_live_through_the_configured_holidays() {
    let holiday = chrono::NaiveDate::from_ymd_opt(2026, 11, 27).unwrap();
    let friday_evening = Utc.with_ymd_and_hms(2026, 11, 27, 10, 30, 0).unwrap(); // 16:00 IST
    for (calendar, expires) in [
        (MarketCalendar::new([holiday]), false),
        (MarketCalendar::default(), true),
    ] {
        let mut producer = Probe::<Publish>::acking_producer();
        let paper = start_with(Arc::new(MemoryStore::default()), &producer, calendar);
        paper.send(tick(245_050)).await.unwrap().unwrap();
        let mut limit = validated();
        limit.envelope.data.signal.order_type = OrderType::Limit;
        limit.envelope.data.signal.price = Some(Decimal::new(200_000, 2)); // far below: rests
        limit.envelope.ts = Utc.with_ymd_and_hms(2026, 11, 26, 10, 30, 0).unwrap(); // 16:00 IST
        paper.send(limit).await.unwrap().unwrap();
        let placed = producer.expect_msgs(1, WAIT).await;
        assert_eq!(placed[0].0.topic, "paper.orders.submitted");
        let later = Deliver {
            envelope: Envelope::root(
                MarketTick::ltp(738_561, Decimal::new(245_000, 2)),
                "feed",
                friday_evening,
            ),
            origin: origin(),
        };
        paper.send(later).await.unwrap().unwrap();
        let failed: Vec<_> = producer
            .drain()
            .into_iter()
            .filter(|p| p.0.topic == "paper.orders.failed")
            .collect();
        assert_eq!(!failed.is_empty(), expires, "expired: {failed:?}");
    }
}

/// The signal decided on a tick can reach the venue before that tick does (two topics):
/// a market order then waits (a transient failure the consumer retries) instead of
/// executing on the quote before the one its strategy saw.
#[actix::test]
async fn a_market_signal_ahead_of_its_tick_waits_for_it_and_fills_at_its_price() {
    let mut producer = Probe::<Publish>::acking_producer();
    let paper = start(Arc::new(MemoryStore::default()), &producer);
    paper.send(tick(245_050)).await.unwrap().unwrap();
    let mut signal = validated();
    let decided_at = at() + chrono::Duration::milliseconds(300);
    signal.envelope.ts = decided_at;
    let answer = paper.send(signal.clone()).await.unwrap();
    assert!(
        matches!(&answer, Err(HandlerError::Transient(m)) if m.contains("has not reached the paper venue")),
        "{answer:?}"
    );
    producer.expect_no_msg(Duration::from_millis(100)).await;
    // Its tick arrives, then the consumer retries.
    let mut decided_on = tick(245_500);
    decided_on.envelope.ts = decided_at;
    paper.send(decided_on).await.unwrap().unwrap();
    paper.send(signal).await.unwrap().unwrap();
    let out = producer.expect_msgs(2, WAIT).await;
    let fill = crate::messages::decode::<crate::messages::OrderFilled>(&out[1].0.value).unwrap();
    assert_eq!(
        fill.data.price,
        Decimal::new(245_500, 2),
        "the price of the tick it was decided on"
    );
}

/// `hh:mm:ss` IST on Thursday 2026-11-26, a trading day.
fn ist(hour: u32, minute: u32, second: u32) -> chrono::DateTime<Utc> {
    crate::market::hours::IST
        .with_ymd_and_hms(2026, 11, 26, hour, minute, second)
        .unwrap()
        .with_timezone(&Utc)
}

fn tick_at(price_paise: i64, at: chrono::DateTime<Utc>) -> Deliver<MarketTick> {
    let mut tick = tick(price_paise);
    tick.envelope.ts = at;
    tick
}

fn signal_at(at: chrono::DateTime<Utc>, limit_paise: Option<i64>) -> Deliver<ValidatedSignal> {
    let mut signal = validated();
    signal.envelope.ts = at;
    if let Some(price) = limit_paise {
        signal.envelope.data.signal.order_type = OrderType::Limit;
        signal.envelope.data.signal.price = Some(Decimal::new(price, 2));
    }
    signal
}

/// The actor with the default 30 s timeout and Zerodha's intraday day (15:00, 15:15,
/// broker at 15:20); no wall clock (ticks drive it, as in the backtest).
fn start_intraday(producer: &Probe<Publish>) -> Addr<PaperExecution> {
    let hm = |h, m| chrono::NaiveTime::from_hms_opt(h, m, 0).unwrap();
    let day = crate::market::IntradayDay::new(
        hm(15, 0),
        hm(15, 15),
        hm(15, 20),
        MarketCalendar::default(),
    );
    PaperExecution::new(PaperExecutionArgs {
        config: PaperConfig::default(),
        producer: ProducerHandle::new(producer.recipient()),
        store: Arc::new(MemoryStore::default()),
        calendar: MarketCalendar::default(),
        history: None,
    })
    .with_intraday(Some(day))
    .start()
}

/// Normal MIS charges of a sell of `quantity` at `price` + ₹50 + 18 % GST on it, by hand.
fn square_off_fees_by_hand(quantity: u32, price: Decimal) -> Decimal {
    let paisa = |x: Decimal| {
        x.round_dp_with_strategy(2, rust_decimal::RoundingStrategy::MidpointAwayFromZero)
    };
    let d = |s: &str| s.parse::<Decimal>().unwrap();
    let turnover = Decimal::from(quantity) * price;
    let brokerage = paisa((turnover * d("0.0003")).min(d("20"))) + d("50");
    let stt = paisa(turnover * d("0.00025"));
    let exchange = paisa(turnover * d("0.0000297"));
    let sebi = paisa(turnover * d("10") / d("10000000"));
    let gst = paisa((brokerage + exchange + sebi) * d("0.18"));
    brokerage + stt + exchange + sebi + gst
}

/// Event time, as in the backtest: a resting order unfilled 30 s after its submission ends
/// as cancelled on the next tick, and at 15:20 IST the broker's auto square-off closes
/// the strategy's MIS position — both published on the ordinary topics.
#[actix::test]
async fn a_timed_out_order_is_cancelled_and_the_broker_squares_off_at_15_20() {
    let mut producer = Probe::<Publish>::acking_producer();
    let paper = start_intraday(&producer);
    paper
        .send(tick_at(245_050, ist(15, 10, 0)))
        .await
        .unwrap()
        .unwrap();
    // A market buy of 10 fills; a limit buy far below rests.
    paper
        .send(signal_at(ist(15, 10, 0), None))
        .await
        .unwrap()
        .unwrap();
    let bought = producer.expect_msgs(2, WAIT).await;
    assert_eq!(bought[1].0.topic, "paper.orders.filled");
    let resting = signal_at(ist(15, 10, 0), Some(200_000));
    paper.send(resting.clone()).await.unwrap().unwrap();
    let placed = producer.expect_msgs(1, WAIT).await;
    assert_eq!(placed[0].0.topic, "paper.orders.submitted");

    // 29 s later it still rests; at 30 s it is cancelled.
    paper
        .send(tick_at(245_100, ist(15, 10, 29)))
        .await
        .unwrap()
        .unwrap();
    producer.expect_no_msg(Duration::from_millis(100)).await;
    paper
        .send(tick_at(245_100, ist(15, 10, 30)))
        .await
        .unwrap()
        .unwrap();
    let timed_out = producer.expect_msgs(1, WAIT).await;
    assert_eq!(timed_out[0].0.topic, "paper.orders.failed");
    let failed = decode::<crate::messages::OrderFailed>(&timed_out[0].0.value).unwrap();
    assert_eq!(
        failed.data.order.client_order_id,
        client_order_id(resting.envelope.id)
    );
    assert_eq!(
        failed.data.kind,
        crate::messages::OrderFailureKind::Cancelled
    );
    assert_eq!(failed.data.filled_quantity, 0);
    assert_eq!(
        failed.data.message,
        "unfilled after paper.order_timeout_secs (30 s): cancelled; 0 of 10 filled"
    );

    // 15:19:59: nothing; 15:20:00: the broker sells the 10 at that tick's price.
    paper
        .send(tick_at(246_000, ist(15, 19, 59)))
        .await
        .unwrap()
        .unwrap();
    producer.expect_no_msg(Duration::from_millis(100)).await;
    let at_square_off = tick_at(246_000, ist(15, 20, 0));
    paper.send(at_square_off.clone()).await.unwrap().unwrap();
    let squared = producer.expect_msgs(2, WAIT).await;
    assert_eq!(squared[0].0.topic, "paper.orders.submitted");
    assert_eq!(squared[1].0.topic, "paper.orders.filled");
    let fill = decode::<OrderFilled>(&squared[1].0.value).unwrap();
    let f = &fill.data;
    assert_eq!(f.order.client_order_id, "autosq-20261126-738561-s1");
    assert_eq!(
        (f.order.strategy_id.as_str(), f.order.side, f.quantity),
        ("s1", Side::Sell, 10)
    );
    assert_eq!(f.price, Decimal::new(246_000, 2));
    assert_eq!(f.fees.total, square_off_fees_by_hand(10, f.price));
    assert_eq!(fill.causation_id, Some(at_square_off.envelope.id));
    // Once a day.
    paper
        .send(tick_at(246_100, ist(15, 21, 0)))
        .await
        .unwrap()
        .unwrap();
    producer.expect_no_msg(Duration::from_millis(100)).await;
}

/// In the daemon the wall clock advances the venue too: with no tick at 15:20 the
/// square-off still happens, at the last quote, as root envelopes.
#[actix::test]
async fn the_clock_squares_off_when_no_tick_comes() {
    let mut producer = Probe::<Publish>::acking_producer();
    let paper = start_intraday(&producer);
    paper
        .send(tick_at(245_050, ist(15, 10, 0)))
        .await
        .unwrap()
        .unwrap();
    paper
        .send(signal_at(ist(15, 10, 0), None))
        .await
        .unwrap()
        .unwrap();
    producer.expect_msgs(2, WAIT).await;
    paper
        .send(AdvanceClock {
            at: ist(15, 19, 59),
        })
        .await
        .unwrap();
    producer.expect_no_msg(Duration::from_millis(100)).await;
    paper
        .send(AdvanceClock { at: ist(15, 20, 0) })
        .await
        .unwrap();
    let squared = producer.expect_msgs(2, WAIT).await;
    let fill = decode::<OrderFilled>(&squared[1].0.value).unwrap();
    assert_eq!(fill.data.price, Decimal::new(245_050, 2));
    assert_eq!(fill.causation_id, None, "caused by no record");
    assert_eq!(fill.data.filled_at, ist(15, 20, 0));
}

/// Awaits what handling a record left in flight, as the consumer does.
async fn delivered(result: crate::streaming::consumer::HandlerResult) {
    for delivery in result.unwrap().deliveries {
        delivery.await.unwrap();
    }
}

/// Once a placement's publication is acknowledged the venue lets its events go, so what it
/// keeps does not grow with the orders; with a journal that keeps nothing (the backtest's
/// store), a duplicate of an order settled long ago is still recognised by the venue and
/// places nothing.
#[actix::test]
async fn published_placements_are_let_go_and_a_late_duplicate_is_not_placed_twice() {
    let mut producer = Probe::<Publish>::acking_producer();
    let store: Arc<dyn Store> = Arc::new(MemoryStore::write_only(&[JOURNAL_INDEX]));
    let paper = start(store, &producer);
    paper.send(tick(245_050)).await.unwrap().unwrap();
    let mut signals = Vec::new();
    for n in 0..100 {
        let mut signal = validated();
        signal.envelope.data.signal.side = if n % 2 == 0 { Side::Buy } else { Side::Sell };
        delivered(paper.send(signal.clone()).await.unwrap()).await;
        signals.push(signal);
    }
    assert_eq!(producer.expect_msgs(200, WAIT).await.len(), 200);
    let account = || GetPaperAccount {
        strategy: "s1".into(),
        token: 738_561,
    };
    let before = paper.send(account()).await.unwrap();
    assert_eq!(before.position, 0);
    assert_eq!(before.open_orders, 0);
    assert_eq!(before.unpublished_placements, 0, "every placement let go");

    // The first signal again: the journal does not answer, the venue knows the order.
    delivered(paper.send(signals[0].clone()).await.unwrap()).await;
    producer.expect_no_msg(Duration::from_millis(200)).await;
    let after = paper.send(account()).await.unwrap();
    assert_eq!(after, before, "nothing placed twice");
}
