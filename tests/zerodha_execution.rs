//! Zerodha execution dies between placement and publication, against a real Redis
//! (the order journal) and a real broker (the order topics): the next incarnation
//! reconciles by tag, publishes the order's events once, places nothing again, and books
//! the broker's square-off that happened while it was down. And it dies mid-slicing of an
//! order above the freeze quantity: the next places the slices not sent, once each.

mod common;

use actix::prelude::*;
use alpha_panda::actors::risk_manager::TradingHolds;
use alpha_panda::actors::zerodha_execution::{
    GetZerodhaStats, ReconcilePositions, ZerodhaExecution, ZerodhaExecutionArgs,
};
use alpha_panda::kite::fake::{FakeKite, FakeKiteConfig, Placement};
use alpha_panda::kite::orders::{Product, Variety};
use alpha_panda::kite::rest::{KiteClient, KiteClientConfig, RateLimits};
use alpha_panda::market::InstrumentRegistry;
use alpha_panda::messages::{
    Broker, Envelope, OrderFilled, OrderSubmitted, Payload, RecordOrigin, Side, ValidatedSignal,
    client_order_id,
};
use alpha_panda::paper::ChargeSchedule;
use alpha_panda::settings::Secret;
use alpha_panda::store::RedisStore;
use alpha_panda::streaming::consumer::Deliver;
use alpha_panda::streaming::history::read_history;
use alpha_panda::streaming::{KafkaConnection, ProducerActor, Stream, Topic, TopicMap, admin};
use alpha_panda::testkit::fixtures::validated_signal;
use alpha_panda::zerodha::slice_tag;
use rust_decimal::Decimal;
use std::sync::Arc;
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(20);

fn deliver(envelope: &Envelope<ValidatedSignal>) -> Deliver<ValidatedSignal> {
    Deliver {
        envelope: envelope.clone(),
        origin: RecordOrigin {
            topic: "zerodha.signals.validated".into(),
            partition: 0,
            offset: 0,
        },
    }
}

/// The events of `T` on its zerodha topic that descend from `signal`.
fn events_of<T: Payload>(
    connection: &KafkaConnection,
    stream: Stream,
    signal: &Envelope<ValidatedSignal>,
) -> Vec<Envelope<T>> {
    let topic = Topic::of(Broker::Zerodha, stream).name();
    let (events, _) = read_history::<T>(connection, &topic, Duration::from_secs(10)).unwrap();
    events
        .into_iter()
        .filter(|e| e.correlation_id == signal.correlation_id)
        .collect()
}

/// What one scenario runs against: the broker connection (for reading the topics back),
/// the fake Kite, and the actor's arguments over a Redis database of its own.
struct Scenario {
    connection: KafkaConnection,
    kite: FakeKite,
    args: ZerodhaExecutionArgs,
    _producer: Addr<ProducerActor>,
}

/// `None` when Redis or the broker is not available (the test is skipped).
async fn scenario(redis_database: u8) -> Option<Scenario> {
    let (Some(broker), Some(_)) = (common::real_broker(), common::redis_url()) else {
        return None;
    };
    // One record per batch: tansu 0.6 cannot serve a fetch that starts inside a batch
    // (docs/STREAMING.md), and the history read below must see every record.
    let mut settings = common::settings();
    settings.kafka.linger_ms = 0;
    settings
        .kafka
        .client
        .insert("batch.num.messages".into(), "1".into());
    let connection = KafkaConnection::new(&settings.kafka, broker.bootstrap_servers.clone());
    admin::ensure_topics(&connection, &TopicMap::new(&settings.topics), WAIT)
        .await
        .unwrap();
    // A database of its own, emptied first: journal entries and bookings of earlier runs
    // belong to no fake server (and would count in the position reconciliation).
    let redis = redis_database_url(redis_database);
    let mut conn = redis::Client::open(redis.as_str())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    let _: () = redis::cmd("FLUSHDB").query_async(&mut conn).await.unwrap();

    let kite = FakeKite::start(FakeKiteConfig::default()).await.unwrap();
    let store = Arc::new(
        RedisStore::connect(&redis, Duration::from_secs(2), Duration::from_secs(2))
            .await
            .unwrap(),
    );
    let (producer, handle) = ProducerActor::connect(&connection, WAIT)
        .await
        .unwrap()
        .start_with_handle();
    let config = FakeKiteConfig::default();
    let args = ZerodhaExecutionArgs {
        client: KiteClient::new(KiteClientConfig {
            base_url: kite.base_url(),
            api_key: Secret::new(config.api_key),
            access_token: Secret::new(config.access_token),
            timeout: Duration::from_secs(5),
            limits: RateLimits::default(),
            rate_limit_backoff: Duration::from_millis(10),
            rate_limit_backoff_max: Duration::from_millis(50),
        })
        .unwrap(),
        dry_run: false,
        registry: Arc::new(InstrumentRegistry::embedded().unwrap()),
        order_kinds: Default::default(),
        default_kind: (Product::Mis, Variety::Regular),
        market_protection: -1,
        limit_buffers: Default::default(),
        charges: ChargeSchedule::default(),
        fno: settings.fno.clone(),
        producer: handle,
        store,
        holds: TradingHolds::default(),
        kill_switch: None,
        poll_interval: Duration::from_millis(50),
        settle: Duration::from_secs(60),
        max_signal_age: Duration::from_secs(60),
        order_timeout: Duration::ZERO,
        reconcile_interval: Duration::from_secs(3600),
        reconcile_retry_initial: Duration::from_millis(50),
        reconcile_retry_max: Duration::from_millis(500),
    };
    Some(Scenario {
        connection,
        kite,
        args,
        _producer: producer,
    })
}

/// Runs a first incarnation that handles `signal` and is killed (its arbiter stopped)
/// once Kite holds `orders` orders.
async fn die_after_orders(
    args: &ZerodhaExecutionArgs,
    kite: &FakeKite,
    signal: &Envelope<ValidatedSignal>,
    orders: usize,
) {
    let first = Arbiter::new();
    let (first_args, envelope) = (args.clone(), signal.clone());
    first.spawn(async move {
        let addr = ZerodhaExecution::new(first_args).start();
        let _ = addr.send(deliver(&envelope)).await;
    });
    tokio::time::timeout(WAIT, kite.wait_for_orders(orders))
        .await
        .unwrap();
    first.stop();
    first.join().unwrap();
}

/// Starts the next incarnation, waits for its reconciliation, has the consumer redeliver
/// `signal`, and waits for three more polls.
async fn restart_and_redeliver(
    args: ZerodhaExecutionArgs,
    signal: &Envelope<ValidatedSignal>,
) -> Addr<ZerodhaExecution> {
    let second = ZerodhaExecution::new(args).start();
    tokio::time::timeout(WAIT, async {
        while !second.send(GetZerodhaStats).await.unwrap().reconciled {
            tokio::task::yield_now().await;
        }
    })
    .await
    .unwrap();
    let completion = second.send(deliver(signal)).await.unwrap().unwrap();
    // The placement runs on after the handler answered; its outcome completes the record.
    futures::future::try_join_all(completion.deliveries)
        .await
        .unwrap();
    let polls = second.send(GetZerodhaStats).await.unwrap().polls;
    tokio::time::timeout(WAIT, async {
        while second.send(GetZerodhaStats).await.unwrap().polls < polls + 3 {
            tokio::task::yield_now().await;
        }
    })
    .await
    .unwrap();
    second
}

#[actix::test]
async fn a_restart_between_placement_and_publication_publishes_once_and_never_places_twice() {
    let Some(Scenario {
        connection,
        kite,
        args,
        _producer,
    }) = scenario(13).await
    else {
        return;
    };
    kite.script_next_placement(Placement::AcceptThenDelay(Duration::from_secs(60)));
    let signal = validated_signal(Broker::Zerodha, Side::Buy, 10);

    // First incarnation: journals, places, and dies waiting for Kite's answer.
    die_after_orders(&args, &kite, &signal, 1).await;
    let order_id = kite.orders()[0].order_id.clone();
    kite.fill(&order_id, 4, Decimal::new(150_005, 2));
    kite.fill(&order_id, 6, Decimal::new(150_010, 2));
    // Still down at 15:20: Zerodha squares the MIS position off itself (untagged).
    let (square_off_order, square_off) =
        kite.auto_square_off("NSE", "INFY", "SELL", 10, Decimal::new(149_500, 2));

    // Second incarnation: reconciles, then the consumer redelivers the signal.
    let second = restart_and_redeliver(args, &signal).await;

    assert_eq!(kite.placements(), 1, "placed exactly once");
    let submitted = events_of::<OrderSubmitted>(&connection, Stream::OrdersSubmitted, &signal);
    assert_eq!(submitted.len(), 1, "{submitted:?}");
    assert_eq!(
        submitted[0].data.order.broker_order_id.as_deref(),
        Some(order_id.as_str())
    );
    let fills = events_of::<OrderFilled>(&connection, Stream::OrdersFilled, &signal);
    let quantities: Vec<(u32, u32)> = fills
        .iter()
        .map(|f| (f.data.quantity, f.data.cumulative_quantity))
        .collect();
    assert_eq!(quantities, [(4, 4), (6, 10)], "each fill once, in order");

    // The position reconciliation booked what happened meanwhile, and agrees with Kite.
    let report = second.send(ReconcilePositions).await.unwrap();
    assert!(report.differences.is_empty(), "{report:?}");
    let booked: Vec<OrderFilled> = read_history::<OrderFilled>(
        &connection,
        &Topic::of(Broker::Zerodha, Stream::OrdersFilled).name(),
        WAIT,
    )
    .unwrap()
    .0
    .into_iter()
    .map(|e| e.data)
    .filter(|f| f.order.client_order_id == format!("ext-{square_off_order}"))
    .collect();
    assert_eq!(booked.len(), 1, "booked once: {booked:?} {report:?}");
    assert_eq!(booked[0].fill_id, format!("zerodha:{square_off}"));
    assert_eq!((booked[0].order.side, booked[0].quantity), (Side::Sell, 10));
    assert_eq!(booked[0].order.strategy_id, signal.data.signal.strategy_id);
}

#[actix::test]
async fn a_restart_mid_slicing_places_each_remaining_slice_once_and_books_every_fill() {
    let Some(Scenario {
        connection,
        kite,
        args,
        _producer,
    }) = scenario(14).await
    else {
        return;
    };
    let registry = InstrumentRegistry::embedded().unwrap();
    let option = registry
        .iter()
        .find(|i| i.name == "NIFTY" && i.kind.is_option())
        .unwrap();
    let freeze = args.fno.freeze_quantity("NIFTY").unwrap();
    let lot = option.lot_size;
    let size = freeze / lot * lot;
    let quantity = 3 * size + lot;
    kite.set_instrument("NFO", &option.symbol, option.tick_size, u64::from(lot));
    kite.set_freeze_quantity("NFO", &option.symbol, u64::from(freeze));
    let mut signal = validated_signal(Broker::Zerodha, Side::Buy, quantity);
    signal.data.signal.token = option.token;
    signal.data.signal.symbol = option.symbol.clone();
    let id = client_order_id(signal.id);

    // First incarnation: slice 1 placed, slice 2 taken by Kite but its answer lost when
    // the process dies; slices 3 and 4 journaled, not sent.
    kite.script_next_placement(Placement::Accept);
    kite.script_next_placement(Placement::AcceptThenDelay(Duration::from_secs(60)));
    die_after_orders(&args, &kite, &signal, 2).await;
    // Each slice's tag was journaled as the order's before anything was sent.
    let mut redis = redis::Client::open(redis_database_url(14).as_str())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    for i in 0..4 {
        let owner: Option<String> = redis::cmd("GET")
            .arg(format!("zerodha:slice:{}", slice_tag(&id, i)))
            .query_async(&mut redis)
            .await
            .unwrap();
        assert_eq!(owner.as_deref(), Some(id.as_str()), "slice {i}");
    }
    for order in kite.orders() {
        kite.fill(&order.order_id, order.quantity, Decimal::new(1205, 1));
    }

    // Second incarnation: reconciles, sends slices 3 and 4, then the signal comes again.
    let second = restart_and_redeliver(args, &signal).await;
    tokio::time::timeout(WAIT, kite.wait_for_orders(4))
        .await
        .unwrap();
    for order in kite.orders().iter().filter(|o| !o.is_terminal()) {
        kite.fill(&order.order_id, order.quantity, Decimal::new(1210, 1));
    }
    tokio::time::timeout(WAIT, async {
        while second.send(GetZerodhaStats).await.unwrap().open_orders > 0 {
            tokio::task::yield_now().await;
        }
    })
    .await
    .expect("the order settles");

    let tags: Vec<Option<String>> = kite.orders().iter().map(|o| o.tag.clone()).collect();
    let expected: Vec<Option<String>> = (0..4).map(|i| Some(slice_tag(&id, i))).collect();
    assert_eq!(tags, expected, "each slice placed once");
    let submitted = events_of::<OrderSubmitted>(&connection, Stream::OrdersSubmitted, &signal);
    assert_eq!(submitted.len(), 1, "{submitted:?}");
    assert_eq!(submitted[0].data.quantity, quantity);
    let fills = events_of::<OrderFilled>(&connection, Stream::OrdersFilled, &signal);
    let mut ids: Vec<String> = fills.iter().map(|f| f.data.fill_id.clone()).collect();
    let mut trades: Vec<String> = kite
        .trades()
        .iter()
        .map(|t| format!("zerodha:{}", t.trade_id))
        .collect();
    ids.sort();
    trades.sort();
    assert_eq!(ids, trades, "one fill per Kite trade, once");
    let total: u32 = fills.iter().map(|f| f.data.quantity).sum();
    assert_eq!(total, quantity);
    let last = fills.iter().map(|f| f.data.cumulative_quantity).max();
    assert_eq!(last, Some(quantity));
    let report = second.send(ReconcilePositions).await.unwrap();
    assert!(report.differences.is_empty(), "{report:?}");
    assert!(report.booked.is_empty(), "{report:?}");
}

/// The Redis URL of a scenario's database.
fn redis_database_url(database: u8) -> String {
    let redis = common::redis_url().unwrap_or_default();
    format!("{}/{database}", redis.trim_end_matches('/'))
}
