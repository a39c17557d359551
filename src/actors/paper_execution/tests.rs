//! Paper execution with a probe as its producer and the in-memory store as its journal.

use super::*;
use crate::market::MarketCalendar;
use crate::messages::ValidatedSignal;
use crate::messages::{
    Broker, Envelope, MarketTick, OrderFilled, OrderSubmitted, OrderType, RecordOrigin, Side,
    TradingSignal, Validity, decode,
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
    let config = PaperConfig {
        slippage_bps: Decimal::ZERO,
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
async fn an_unreachable_journal_is_a_transient_failure_and_nothing_is_published() {
    let mut producer = Probe::<Publish>::acking_producer();
    let paper = start(Arc::new(DownStore), &producer);
    paper.send(tick(245_050)).await.unwrap().unwrap();
    let answer = paper.send(validated()).await.unwrap();
    assert!(matches!(answer, Err(HandlerError::Transient(m)) if m.contains("connection refused")));
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
