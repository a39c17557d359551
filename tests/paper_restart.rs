//! The paper venue's start against the embedded broker: a new life rebuilds its accounts
//! from `paper.orders.filled` (a sell the position covers is not refused as a short), and
//! ends as cancelled the orders the last life left resting (journaled as submitted, not
//! filled or ended on the topics), each with what it had filled — and only those.

mod common;

use actix::prelude::*;
use alpha_panda::actors::paper_execution::{
    JOURNAL_INDEX, PaperExecution, PaperExecutionArgs, journal_key,
};
use alpha_panda::messages::{
    Broker, Envelope, Fees, MarketTick, OrderFailed, OrderFailureKind, OrderFilled, OrderRef,
    OrderSubmitted, OrderType, RecordOrigin, Side, TradingSignal, ValidatedSignal, Validity,
    VenueEvent, client_order_id,
};
use alpha_panda::paper::ORPHAN_MESSAGE;
use alpha_panda::store::{MemoryStore, Store};
use alpha_panda::streaming::consumer::Deliver;
use alpha_panda::streaming::history::read_history;
use alpha_panda::streaming::{EmbeddedBroker, ProducerActor, Stream, Topic, TopicMap};
use chrono::{TimeZone, Utc};
use rust_decimal::Decimal;
use std::sync::Arc;
use std::time::{Duration, Instant};

const STRATEGY: &str = "restarted";
const INFY: u32 = 408_065;

/// 2026-11-26 04:00 UTC: 09:30 IST on a trading day.
fn at() -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 26, 4, 0, 0).unwrap()
}

fn order(id: &str, side: Side) -> OrderRef {
    OrderRef {
        client_order_id: id.into(),
        broker_order_id: None,
        strategy_id: STRATEGY.into(),
        broker: Broker::Paper,
        token: INFY,
        symbol: "INFY".into(),
        side,
    }
}

fn submitted(id: &str, quantity: u32) -> VenueEvent {
    VenueEvent::Submitted(OrderSubmitted {
        order: order(id, Side::Buy),
        quantity,
        order_type: OrderType::Limit,
        price: Some(Decimal::from(1500)),
        trigger_price: None,
        validity: Validity::Day,
    })
}

fn fill(id: &str, quantity: u32, cumulative: u32, of: u32) -> OrderFilled {
    OrderFilled {
        order: order(id, Side::Buy),
        fill_id: format!("{id}-{cumulative}"),
        quantity,
        price: Decimal::from(1500),
        fees: Fees::default(),
        cumulative_quantity: cumulative,
        order_quantity: of,
        filled_at: at(),
    }
}

fn sell(quantity: u32) -> Deliver<ValidatedSignal> {
    let signal = TradingSignal {
        strategy_id: STRATEGY.into(),
        broker: Broker::Paper,
        token: INFY,
        symbol: "INFY".into(),
        side: Side::Sell,
        quantity,
        order_type: OrderType::Market,
        price: None,
        trigger_price: None,
        validity: Validity::Day,
        reference_price: Decimal::from(1500),
        reason: "after the restart".into(),
        product: None,
        position: 10,
    };
    Deliver {
        envelope: Envelope::root(ValidatedSignal { signal }, "risk_manager", at()),
        origin: RecordOrigin {
            topic: "paper.signals.validated".into(),
            partition: 0,
            offset: 0,
        },
    }
}

fn tick() -> Deliver<MarketTick> {
    let mut tick = MarketTick::ltp(INFY, Decimal::from(1500));
    tick.symbol = Some("INFY".into());
    Deliver {
        envelope: Envelope::root(tick, "market_feed", at()),
        origin: RecordOrigin {
            topic: Topic::MARKET_TICKS.name(),
            partition: 0,
            offset: 0,
        },
    }
}

#[actix::test]
async fn a_new_life_rebuilds_positions_and_cancels_the_orders_left_resting() {
    let mut settings = common::settings();
    settings.kafka.group_prefix = format!("paper-restart-{}", uuid::Uuid::new_v4().simple());
    settings.paper.allow_short = false;
    settings.paper.partial_fills = false;
    settings.paper.latency_ticks = 0;
    let broker = EmbeddedBroker::start(&TopicMap::new(&settings.topics)).expect("embedded broker");
    let connection = broker.connection(&settings.kafka);
    let (_producer_actor, producer) = ProducerActor::connect(&connection, Duration::from_secs(10))
        .await
        .expect("producer")
        .start_with_handle();

    // The last life: "a" filled 10 on ticks; "b" filled 4 of 10 and was resting; "c"
    // rested unfilled; "d" expired.
    let store: Arc<dyn Store> = Arc::new(MemoryStore::default());
    for (id, quantity) in [("a", 10), ("b", 10), ("c", 5), ("d", 3)] {
        let json = serde_json::to_string(&vec![submitted(id, quantity)]).unwrap();
        store
            .create(JOURNAL_INDEX, &journal_key(id), json)
            .await
            .unwrap();
    }
    let filled = Topic::of(Broker::Paper, Stream::OrdersFilled);
    for f in [
        fill("a", 6, 6, 10),
        fill("a", 4, 10, 10),
        fill("b", 4, 4, 10),
    ] {
        let envelope = Envelope::root(f, "paper_execution", at());
        producer.publish_envelope(filled, &envelope).await.unwrap();
    }
    let expired = OrderFailed {
        order: order("d", Side::Buy),
        quantity: 3,
        filled_quantity: 0,
        kind: OrderFailureKind::Expired,
        message: "day over".into(),
    };
    let failed_topic = Topic::of(Broker::Paper, Stream::OrdersFailed);
    let envelope = Envelope::root(expired, "paper_execution", at());
    producer
        .publish_envelope(failed_topic, &envelope)
        .await
        .unwrap();

    // The new life.
    let venue = PaperExecution::new(PaperExecutionArgs {
        config: settings.paper.clone(),
        producer: producer.clone(),
        store: store.clone(),
        calendar: settings.market_hours.calendar(),
        history: Some(connection.clone()),
    })
    .start();
    venue.send(tick()).await.unwrap().unwrap();
    // 14 held (10 + 4): selling 14 is no short.
    let sale = sell(14);
    let sale_id = client_order_id(sale.envelope.id);
    venue.send(sale).await.unwrap().unwrap();

    let deadline = Instant::now() + Duration::from_secs(30);
    let (cancelled, sold) = loop {
        let (c, f) = (connection.clone(), connection.clone());
        let failures = tokio::task::spawn_blocking(move || {
            read_history::<OrderFailed>(&c, &failed_topic.name(), Duration::from_secs(10))
        })
        .await
        .unwrap()
        .unwrap()
        .0;
        let fills = tokio::task::spawn_blocking(move || {
            read_history::<OrderFilled>(&f, &filled.name(), Duration::from_secs(10))
        })
        .await
        .unwrap()
        .unwrap()
        .0;
        let cancelled: Vec<OrderFailed> = failures
            .into_iter()
            .map(|e| e.data)
            .filter(|f| f.message == ORPHAN_MESSAGE)
            .collect();
        let sold: u32 = fills
            .iter()
            .filter(|e| e.data.order.client_order_id == sale_id)
            .map(|e| e.data.quantity)
            .sum();
        if cancelled.len() >= 2 && sold == 14 {
            break (cancelled, sold);
        }
        assert!(
            Instant::now() < deadline,
            "cancelled {cancelled:?}, sold {sold}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let got: Vec<(&str, u32, u32, OrderFailureKind)> = cancelled
        .iter()
        .map(|f| {
            let id = f.order.client_order_id.as_str();
            (id, f.quantity, f.filled_quantity, f.kind)
        })
        .collect();
    assert_eq!(
        got,
        [
            ("b", 10, 4, OrderFailureKind::Cancelled),
            ("c", 5, 0, OrderFailureKind::Cancelled),
        ]
    );
    assert_eq!(sold, 14);
}
