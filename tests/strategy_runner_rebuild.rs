//! The strategy runner's start-up against the embedded broker: its ledgers rebuilt from
//! the signal and outcome topics before any tick is handled, then the outcomes followed live
//! from where the rebuild stopped — every record applied once, duplicates of what the
//! history held included.
//!
//! A runner restarted inside the intraday square-off window finds the closing order its
//! last incarnation sent still in flight, and does not send it again.
//!
//! Records are written with the crate's own producer; each is keyed `strategy:token`, so
//! the records of one topic stay in order on one partition and a record seen applied
//! proves every earlier one of that topic was handled.

mod common;

use actix::prelude::*;
use alpha_panda::actors::strategy_runner::{
    GetRunnerStatus, IntradayArgs, RunnerArgs, RunnerClock, StrategyRunner, StrategySlot,
    StrategyView,
};
use alpha_panda::messages::{
    Broker, Envelope, Fees, MarketTick, OrderFailed, OrderFailureKind, OrderFilled, OrderRef,
    OrderSubmitted, OrderType, Payload, Product, RecordOrigin, RejectedSignal, Rejection,
    RejectionCode, Side, TradingSignal, ValidatedSignal, Validity, client_order_id_of_signal,
};
use alpha_panda::strategy::square_off::SQUARE_OFF_REASON;
use alpha_panda::strategy::{Decision, PendingOrder, Strategy, StrategyContext};
use alpha_panda::streaming::consumer::Deliver;
use alpha_panda::streaming::history::read_history;
use alpha_panda::streaming::{
    EmbeddedBroker, ProducerActor, ProducerHandle, Stream, Topic, TopicMap,
};
use chrono::{DateTime, TimeZone, Utc};
use rust_decimal::Decimal;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

const STRATEGY: &str = "rebuilt";
const INFY: u32 = 408_065;
const WAIT: Duration = Duration::from_secs(30);

/// `(position, pending orders)` as each tick's context showed them.
type Seen = Arc<Mutex<Vec<(i64, usize)>>>;

/// Never trades; records what its context says on every tick.
struct Recorder {
    seen: Seen,
}

impl Strategy for Recorder {
    fn on_tick(&mut self, _tick: &MarketTick, ctx: &StrategyContext<'_>) -> Decision {
        self.seen
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push((ctx.position(), ctx.pending().len()));
        Ok(None)
    }
}

fn seen(recorded: &Seen) -> Vec<(i64, usize)> {
    recorded
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .clone()
}

fn at(secs: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 26, 4, 0, 0).unwrap() + chrono::Duration::seconds(secs)
}

fn tick(secs: i64) -> Envelope<MarketTick> {
    let mut tick = MarketTick::ltp(INFY, Decimal::from(1500));
    tick.symbol = Some("INFY".into());
    Envelope::root(tick, "market_feed", at(secs))
}

/// A signal of the strategy at paper, as the runner sends it: a child of its tick.
fn signal(secs: i64, quantity: u32) -> Envelope<TradingSignal> {
    let cause = tick(secs);
    let data = TradingSignal {
        strategy_id: STRATEGY.into(),
        broker: Broker::Paper,
        token: INFY,
        symbol: "INFY".into(),
        side: Side::Buy,
        quantity,
        order_type: OrderType::Market,
        price: None,
        trigger_price: None,
        validity: Validity::Day,
        reference_price: cause.data.last_price,
        reason: "history".into(),
        product: None,
        position: 0,
    };
    cause.child(
        data,
        "strategy_runner",
        &format!("{STRATEGY}/paper"),
        cause.ts,
    )
}

fn order_of(signal: &Envelope<TradingSignal>) -> OrderRef {
    order_with_id(client_order_id_of_signal(signal.id))
}

fn order_with_id(client_order_id: String) -> OrderRef {
    OrderRef {
        client_order_id,
        broker_order_id: None,
        strategy_id: STRATEGY.into(),
        broker: Broker::Paper,
        token: INFY,
        symbol: "INFY".into(),
        side: Side::Buy,
    }
}

fn validated(signal: &Envelope<TradingSignal>) -> Envelope<ValidatedSignal> {
    let data = ValidatedSignal {
        signal: signal.data.clone(),
    };
    signal.child(data, "risk_manager", "", signal.ts)
}

fn submitted(signal: &Envelope<TradingSignal>) -> Envelope<OrderSubmitted> {
    let order = order_of(signal);
    let id = order.client_order_id.clone();
    let data = OrderSubmitted {
        order,
        quantity: signal.data.quantity,
        order_type: OrderType::Market,
        price: None,
        trigger_price: None,
        validity: Validity::Day,
    };
    validated(signal).child(data, "paper_execution", &id, signal.ts)
}

/// An execution of `quantity` of `order` (of `order_quantity`), bringing it to `cumulative`.
fn execution(
    cause: &Envelope<ValidatedSignal>,
    order: OrderRef,
    quantity: u32,
    cumulative: u32,
    order_quantity: u32,
) -> Envelope<OrderFilled> {
    let fill_id = format!("{}-{cumulative}", order.client_order_id);
    let data = OrderFilled {
        order,
        fill_id: fill_id.clone(),
        quantity,
        price: Decimal::from(1500),
        fees: Fees::default(),
        cumulative_quantity: cumulative,
        order_quantity,
        filled_at: cause.ts,
    };
    cause.child(data, "paper_execution", &fill_id, cause.ts)
}

fn fill(signal: &Envelope<TradingSignal>, quantity: u32, cumulative: u32) -> Envelope<OrderFilled> {
    let order_quantity = signal.data.quantity;
    execution(
        &validated(signal),
        order_of(signal),
        quantity,
        cumulative,
        order_quantity,
    )
}

fn failed(signal: &Envelope<TradingSignal>, filled_quantity: u32) -> Envelope<OrderFailed> {
    let order = order_of(signal);
    let id = format!("{}/failed", order.client_order_id);
    let data = OrderFailed {
        order,
        quantity: signal.data.quantity,
        filled_quantity,
        kind: OrderFailureKind::Cancelled,
        message: "cancelled".into(),
    };
    validated(signal).child(data, "paper_execution", &id, signal.ts)
}

fn rejected(signal: &Envelope<TradingSignal>) -> Envelope<RejectedSignal> {
    let data = RejectedSignal {
        signal: signal.data.clone(),
        reasons: vec![Rejection {
            code: RejectionCode::MaxPosition,
            message: "position limit".into(),
        }],
    };
    signal.child(data, "risk_manager", "", signal.ts)
}

async fn publish<T: Payload>(producer: &ProducerHandle, stream: Stream, envelope: &Envelope<T>) {
    producer
        .publish_envelope(Topic::of(Broker::Paper, stream), envelope)
        .await
        .unwrap_or_else(|e| panic!("publishing to {stream:?}: {e}"));
}

fn deliver_tick(secs: i64) -> Deliver<MarketTick> {
    Deliver {
        envelope: tick(secs),
        origin: RecordOrigin {
            topic: Topic::MARKET_TICKS.name(),
            partition: 0,
            offset: 0,
        },
    }
}

fn recorder(broker: Broker, seen: &Seen) -> StrategySlot {
    StrategySlot {
        id: STRATEGY.into(),
        broker,
        tokens: vec![INFY],
        strategy: Box::new(Recorder { seen: seen.clone() }),
    }
}

async fn view(runner: &Addr<StrategyRunner>, broker: Broker) -> StrategyView {
    let status = runner.send(GetRunnerStatus).await.expect("runner alive");
    status
        .strategies
        .into_iter()
        .find(|s| s.broker == broker)
        .expect("a view per broker")
}

/// `(position, pending orders)` of INFY at `broker`.
fn book(view: &StrategyView) -> (i64, Vec<PendingOrder>) {
    view.instruments
        .iter()
        .find(|i| i.token == INFY)
        .map_or((0, Vec::new()), |i| (i.position, i.pending.clone()))
}

fn pending_ids(pending: &[PendingOrder]) -> Vec<&str> {
    pending.iter().map(|o| o.client_order_id.as_str()).collect()
}

#[actix::test]
async fn the_ledgers_are_rebuilt_before_any_tick_then_the_tail_applies_each_live_fill_once() {
    let mut settings = common::settings();
    settings.kafka.group_prefix = format!("rebuild-{}", uuid::Uuid::new_v4().simple());
    let broker = EmbeddedBroker::start(&TopicMap::new(&settings.topics)).expect("embedded broker");
    let connection = broker.connection(&settings.kafka);
    let (_producer_actor, producer) = ProducerActor::connect(&connection, Duration::from_secs(10))
        .await
        .expect("producer")
        .start_with_handle();

    // The history: A (10) acknowledged and filled 4 + 6, its first fill written twice;
    // B (5) filled 2, still in flight; C (3) refused by risk; D (4) filled 1, then cancelled.
    let (a, b, c, d) = (signal(0, 10), signal(60, 5), signal(120, 3), signal(180, 4));
    for s in [&a, &b, &c, &d] {
        publish(&producer, Stream::SignalsRaw, s).await;
    }
    publish(&producer, Stream::OrdersSubmitted, &submitted(&a)).await;
    for f in [
        fill(&a, 4, 4),
        fill(&a, 4, 4),
        fill(&a, 6, 10),
        fill(&b, 2, 2),
        fill(&d, 1, 1),
    ] {
        publish(&producer, Stream::OrdersFilled, &f).await;
    }
    publish(&producer, Stream::OrdersFailed, &failed(&d, 1)).await;
    publish(&producer, Stream::SignalsRejected, &rejected(&c)).await;

    let (at_paper, at_zerodha) = (Seen::default(), Seen::default());
    let runner = StrategyRunner::new(RunnerArgs {
        slots: vec![
            recorder(Broker::Paper, &at_paper),
            recorder(Broker::Zerodha, &at_zerodha),
        ],
        producer: producer.clone(),
        history: Some(connection.clone()),
        unanswered_after: Duration::from_secs(3600),
    })
    .start();

    // A tick sent at once is held until the ledgers are rebuilt, and sees them.
    let first_tick = runner.send(deliver_tick(240));
    let paper = view(&runner, Broker::Paper).await;
    first_tick
        .await
        .expect("runner alive")
        .expect("tick handled");
    assert_eq!(seen(&at_paper), [(10 + 2 + 1, 1)]);
    assert_eq!(seen(&at_zerodha), [(0, 0)]);

    let (position, pending) = book(&paper);
    assert_eq!(
        position, 13,
        "A's 10 (its duplicate fill once), B's 2, D's 1"
    );
    assert_eq!(pending_ids(&pending), [client_order_id_of_signal(b.id)]);
    let b_order = &pending[0];
    assert_eq!(b_order.signal_id, b.id);
    assert_eq!((b_order.quantity, b_order.filled), (5, 2));
    assert!(b_order.acknowledged, "a fill acknowledges the order");
    assert_eq!(b_order.sent_at, b.ts);
    let zerodha = view(&runner, Broker::Zerodha).await;
    assert!(
        zerodha.instruments.is_empty(),
        "paper's history is not zerodha's"
    );

    // Live: a duplicate of a fill the history held, the rest of B, a duplicate of that,
    // then a partial fill of an order sent before the history (it becomes pending): once
    // the last is applied, every earlier record of the topic was.
    let sentinel_id = "ap-sent-before-start".to_owned();
    let sentinel_cause = validated(&signal(300, 3));
    let sentinel = execution(&sentinel_cause, order_with_id(sentinel_id.clone()), 1, 1, 3);
    for f in [fill(&a, 4, 4), fill(&b, 3, 5), fill(&b, 3, 5), sentinel] {
        publish(&producer, Stream::OrdersFilled, &f).await;
    }
    let deadline = Instant::now() + WAIT;
    let paper = loop {
        let paper = view(&runner, Broker::Paper).await;
        if pending_ids(&book(&paper).1).contains(&sentinel_id.as_str()) {
            break paper;
        }
        assert!(
            Instant::now() < deadline,
            "the tail never applied the live fills: {paper:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let (position, pending) = book(&paper);
    assert_eq!(
        position,
        13 + 3 + 1,
        "B's last 3 once, the sentinel's 1, no duplicate"
    );
    assert_eq!(pending_ids(&pending), [sentinel_id.as_str()]);

    runner
        .send(deliver_tick(360))
        .await
        .expect("runner alive")
        .expect("tick handled");
    assert_eq!(seen(&at_paper), [(13, 1), (17, 1)]);
    assert_eq!(book(&view(&runner, Broker::Zerodha).await), (0, vec![]));
}

/// Seconds from [`at`]`(0)` (09:30 IST on Thursday 2026-11-26, a trading day) to 15:15 IST.
const SQUARE_OFF_AT: i64 = 5 * 3600 + 45 * 60;

/// The closing order of a long `quantity`, as the runner sends it at `secs`.
fn closing_signal(secs: i64, quantity: u32) -> Envelope<TradingSignal> {
    let cause = tick(secs);
    let data = TradingSignal {
        side: Side::Sell,
        reason: SQUARE_OFF_REASON.into(),
        product: Some(Product::Mis),
        position: i64::from(quantity),
        ..signal(secs, quantity).data
    };
    let discriminator = format!(
        "{STRATEGY}/paper/square-off/{}",
        cause.ts.timestamp_millis()
    );
    cause.child(data, "strategy_runner", &discriminator, cause.ts)
}

#[actix::test]
async fn after_a_restart_in_the_square_off_window_a_closing_order_in_flight_is_not_sent_again() {
    let mut settings = common::settings();
    settings.kafka.group_prefix = format!("rebuild-{}", uuid::Uuid::new_v4().simple());
    let broker = EmbeddedBroker::start(&TopicMap::new(&settings.topics)).expect("embedded broker");
    let connection = broker.connection(&settings.kafka);
    let (_producer_actor, producer) = ProducerActor::connect(&connection, Duration::from_secs(10))
        .await
        .expect("producer")
        .start_with_handle();

    // The last incarnation: a long 10 since the morning, its closing order sent at 15:15
    // and not answered yet.
    let (entry, closing) = (signal(0, 10), closing_signal(SQUARE_OFF_AT, 10));
    publish(&producer, Stream::SignalsRaw, &entry).await;
    publish(&producer, Stream::SignalsRaw, &closing).await;
    publish(&producer, Stream::OrdersFilled, &fill(&entry, 10, 10)).await;

    let at_paper = Seen::default();
    let intraday = IntradayArgs {
        day: settings.market_hours.intraday_day(),
        products: [((STRATEGY.to_owned(), Broker::Paper), Product::Mis)].into(),
        clock: RunnerClock::Ticks,
    };
    let runner = StrategyRunner::new(RunnerArgs {
        slots: vec![recorder(Broker::Paper, &at_paper)],
        producer: producer.clone(),
        history: Some(connection.clone()),
        unanswered_after: Duration::from_secs(3600),
    })
    .with_intraday(intraday)
    .start();

    // A tick in the window: the rebuilt ledger has the closing order in flight.
    let quiet = runner
        .send(deliver_tick(SQUARE_OFF_AT + 30))
        .await
        .expect("runner alive")
        .expect("tick handled");
    assert!(quiet.deliveries.is_empty(), "nothing sent twice");
    assert_eq!(seen(&at_paper), [(10, 1)]);

    // The venue cancels it; once the tail has applied that, the next tick closes again.
    let mut cancelled = failed(&closing, 0);
    cancelled.data.order.side = Side::Sell;
    publish(&producer, Stream::OrdersFailed, &cancelled).await;
    let deadline = Instant::now() + WAIT;
    loop {
        let (position, pending) = book(&view(&runner, Broker::Paper).await);
        if pending.is_empty() {
            assert_eq!(position, 10);
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the tail never applied the cancellation"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let again = tick(SQUARE_OFF_AT + 60);
    let sent = runner
        .send(Deliver {
            envelope: again.clone(),
            origin: RecordOrigin {
                topic: Topic::MARKET_TICKS.name(),
                partition: 0,
                offset: 1,
            },
        })
        .await
        .expect("runner alive")
        .expect("tick handled");
    assert_eq!(sent.deliveries.len(), 1);
    for delivery in sent.deliveries {
        delivery.await.expect("published");
    }

    // On the topic: the entry, the first closing order, and the new one.
    let reading = connection.clone();
    let topic = Topic::of(Broker::Paper, Stream::SignalsRaw).name();
    let (signals, undecodable) = tokio::task::spawn_blocking(move || {
        read_history::<TradingSignal>(&reading, &topic, Duration::from_secs(10))
    })
    .await
    .expect("reader ran")
    .expect("history read");
    assert_eq!(undecodable, 0);
    let ids: Vec<_> = signals.iter().map(|s| s.id).collect();
    assert_eq!(ids.len(), 3, "{signals:?}");
    assert_eq!(&ids[..2], [entry.id, closing.id]);
    let new = &signals[2];
    assert_eq!(new.causation_id, Some(again.id));
    let d = &new.data;
    assert_eq!(
        (d.side, d.quantity, d.position, d.order_type),
        (Side::Sell, 10, 10, OrderType::Market)
    );
    assert_eq!(
        (d.reason.as_str(), d.product),
        (SQUARE_OFF_REASON, Some(Product::Mis))
    );
}
