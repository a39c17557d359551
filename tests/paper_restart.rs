//! The paper venue's restart against the embedded broker and a real store (Redis when the
//! test services run, else the in-memory store shared by both lives): a new life rebuilds
//! its accounts from `paper.orders.filled` and puts back the orders the last one left
//! open, from its journal, the order topics and its trigger records, so a restart is
//! invisible — an order resting before it fills after it, with exactly what was left,
//! never twice; a sell the real position covers is not refused as a short; and a
//! contract that expired while the venue was down is settled once, at its next start.

mod common;

use actix::prelude::*;
use alpha_panda::actors::paper_execution::{
    GetPaperAccount, JOURNAL_INDEX, PaperAccount, PaperExecution, PaperExecutionArgs, journal_key,
};
use alpha_panda::messages::{
    Broker, DepthLevel, Envelope, MarketDepth, MarketTick, OrderFailed, OrderFailureKind,
    OrderFilled, OrderRef, OrderSubmitted, OrderType, RecordOrigin, Side, TickMode, TradingSignal,
    ValidatedSignal, Validity, VenueEvent, client_order_id, decode,
};
use alpha_panda::paper::{ChargeSchedule, ORPHAN_MESSAGE, PaperConfig, Product};
use alpha_panda::settings::Settings;
use alpha_panda::store::{MemoryStore, RedisStore, Store};
use alpha_panda::streaming::consumer::{Deliver, HandlerResult};
use alpha_panda::streaming::history::read_history;
use alpha_panda::streaming::producer::Publish;
use alpha_panda::streaming::{
    EmbeddedBroker, KafkaConnection, ProducerActor, ProducerHandle, Stream, Topic, TopicMap,
};
use alpha_panda::testkit::Probe;
use chrono::{DateTime, TimeZone, Utc};
use rust_decimal::Decimal;
use std::sync::Arc;
use std::time::Duration;

const STRATEGY: &str = "restarted";
const INFY: u32 = 408_065;

fn d(s: &str) -> Decimal {
    s.parse().expect("a decimal")
}

/// `hh:mm` IST on Thursday 2026-11-26, a trading day.
fn ist(hour: u32, minute: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 26, hour, minute, 0).unwrap() - chrono::Duration::minutes(330)
}

fn origin() -> RecordOrigin {
    RecordOrigin {
        topic: "t".into(),
        partition: 0,
        offset: 0,
    }
}

fn signal(
    side: Side,
    quantity: u32,
    order_type: OrderType,
    price: Option<&str>,
    trigger: Option<&str>,
    at: DateTime<Utc>,
) -> Deliver<ValidatedSignal> {
    let signal = TradingSignal {
        strategy_id: STRATEGY.into(),
        broker: Broker::Paper,
        token: INFY,
        symbol: "INFY".into(),
        side,
        quantity,
        order_type,
        price: price.map(d),
        trigger_price: trigger.map(d),
        validity: Validity::Day,
        reference_price: d("1500"),
        reason: "restart test".into(),
        product: None,
        position: 0,
    };
    Deliver {
        envelope: Envelope::root(ValidatedSignal { signal }, "risk_manager", at),
        origin: origin(),
    }
}

/// A full-mode INFY tick with one level a side: (price, quantity).
fn tick(last: &str, bid: (&str, u32), ask: (&str, u32), at: DateTime<Utc>) -> Deliver<MarketTick> {
    let level = |(price, quantity): (&str, u32)| DepthLevel {
        quantity,
        price: d(price),
        orders: 1,
    };
    let tick = MarketTick {
        symbol: Some("INFY".into()),
        mode: TickMode::Full,
        depth: Some(MarketDepth {
            bids: vec![level(bid)],
            asks: vec![level(ask)],
        }),
        ..MarketTick::ltp(INFY, d(last))
    };
    Deliver {
        envelope: Envelope::root(tick, "market_feed", at),
        origin: origin(),
    }
}

/// Waits until the record's outputs are acknowledged by the broker (what the consumer
/// does before it commits), so the next life can read them.
async fn completed(answer: HandlerResult) {
    let completion = answer.expect("handled");
    for delivery in completion.deliveries {
        delivery.await.expect("delivered");
    }
}

/// The store both lives share: Redis (a database of its own, emptied first) when the
/// test services run, else one in-memory store.
async fn store(database: u8) -> Arc<dyn Store> {
    let Some(url) = common::redis_url() else {
        return Arc::new(MemoryStore::default());
    };
    let url = format!("{}/{database}", url.trim_end_matches('/'));
    let mut conn = redis::Client::open(url.as_str())
        .expect("redis url")
        .get_multiplexed_async_connection()
        .await
        .expect("redis");
    let _: () = redis::cmd("FLUSHDB")
        .query_async(&mut conn)
        .await
        .expect("flush the test database");
    Arc::new(
        RedisStore::connect(&url, Duration::from_secs(2), Duration::from_secs(2))
            .await
            .expect("redis store"),
    )
}

struct Rig {
    settings: Settings,
    _broker: EmbeddedBroker,
    connection: KafkaConnection,
    producer: ProducerHandle,
}

async fn rig(config: PaperConfig) -> Rig {
    let mut settings = common::settings();
    settings.kafka.group_prefix = format!("paper-restart-{}", uuid::Uuid::new_v4().simple());
    settings.paper = config;
    let broker = EmbeddedBroker::start(&TopicMap::new(&settings.topics)).expect("embedded broker");
    let connection = broker.connection(&settings.kafka);
    let (_actor, producer) = ProducerActor::connect(&connection, Duration::from_secs(10))
        .await
        .expect("producer")
        .start_with_handle();
    Rig {
        settings,
        _broker: broker,
        connection,
        producer,
    }
}

impl Rig {
    /// A life of the venue: it rebuilds itself from the topics and `store` before it
    /// handles anything.
    fn life(&self, store: &Arc<dyn Store>) -> Addr<PaperExecution> {
        PaperExecution::new(PaperExecutionArgs {
            config: self.settings.paper.clone(),
            producer: self.producer.clone(),
            store: store.clone(),
            calendar: self.settings.market_hours.calendar(),
            history: Some(self.connection.clone()),
        })
        .start()
    }

    fn read<T: alpha_panda::messages::Payload + Send + 'static>(
        &self,
        stream: Stream,
    ) -> impl Future<Output = Vec<T>> + 'static {
        let connection = self.connection.clone();
        let topic = Topic::of(Broker::Paper, stream).name();
        async move {
            tokio::task::spawn_blocking(move || {
                read_history::<T>(&connection, &topic, Duration::from_secs(10))
            })
            .await
            .expect("reader")
            .expect("history")
            .0
            .into_iter()
            .map(|e| e.data)
            .collect()
        }
    }
}

async fn account(life: &Addr<PaperExecution>) -> PaperAccount {
    life.send(GetPaperAccount {
        strategy: STRATEGY.into(),
        token: INFY,
    })
    .await
    .expect("account")
}

#[actix::test]
async fn an_order_resting_at_a_restart_fills_after_it_with_what_was_left_and_never_twice() {
    let config = PaperConfig {
        depth_limited: true,
        allow_short: true,
        order_timeout_secs: 3_600,
        ..PaperConfig::default()
    };
    let rig = rig(config).await;
    let store = store(11).await;

    // The first life: a buy limit of 100 at 1500 rests; a sell stop-limit (trigger 1502,
    // limit 1501) triggers at 10:01 but the bid is below its limit; at 10:02 the ask
    // shows 40 at 1500: the limit fills 40 on that tick (a fill no journal entry holds).
    let first = rig.life(&store);
    completed(
        first
            .send(tick("1505", ("1504.95", 500), ("1505.05", 500), ist(10, 0)))
            .await
            .unwrap(),
    )
    .await;
    let buy = signal(
        Side::Buy,
        100,
        OrderType::Limit,
        Some("1500"),
        None,
        ist(10, 0),
    );
    let stop = signal(
        Side::Sell,
        5,
        OrderType::StopLimit,
        Some("1501"),
        Some("1502"),
        ist(10, 0),
    );
    let (buy_id, stop_id) = (
        client_order_id(buy.envelope.id),
        client_order_id(stop.envelope.id),
    );
    completed(first.send(buy).await.unwrap()).await;
    completed(first.send(stop).await.unwrap()).await;
    completed(
        first
            .send(tick("1502", ("1500", 500), ("1502.05", 500), ist(10, 1)))
            .await
            .unwrap(),
    )
    .await;
    completed(
        first
            .send(tick("1500", ("1499.95", 500), ("1500", 40), ist(10, 2)))
            .await
            .unwrap(),
    )
    .await;
    let before = account(&first).await;
    assert_eq!((before.position, before.open_orders), (40, 2));
    drop(first);

    // The second life, from the topics and the store alone.
    let second = rig.life(&store);
    assert_eq!(
        account(&second).await,
        before,
        "the accounts and orders as they were"
    );
    // 10:03: last 1502.5 is above the stop's trigger, but it had triggered: it sells 5 at
    // its limit against the bid at 1501.5. The buy is not crossed (ask 1502.55).
    completed(
        second
            .send(tick(
                "1502.5",
                ("1501.5", 500),
                ("1502.55", 500),
                ist(10, 3),
            ))
            .await
            .unwrap(),
    )
    .await;
    // 10:04: the ask shows 100 at 1499.5: the buy fills its remaining 60, at its limit.
    completed(
        second
            .send(tick(
                "1499.5",
                ("1499.45", 500),
                ("1499.5", 100),
                ist(10, 4),
            ))
            .await
            .unwrap(),
    )
    .await;
    // 10:05: more of the same: nothing left to fill.
    completed(
        second
            .send(tick("1499", ("1498.95", 500), ("1499", 100), ist(10, 5)))
            .await
            .unwrap(),
    )
    .await;

    let fills: Vec<OrderFilled> = rig.read(Stream::OrdersFilled).await;
    let got: Vec<(&str, &str, u32, Decimal, u32)> = fills
        .iter()
        .map(|f| {
            let order = if f.order.client_order_id == buy_id {
                "buy"
            } else if f.order.client_order_id == stop_id {
                "stop"
            } else {
                "?"
            };
            (
                order,
                f.fill_id.rsplit('-').next().unwrap_or(""),
                f.quantity,
                f.price,
                f.cumulative_quantity,
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            ("buy", "1", 40, d("1500"), 40),
            ("stop", "1", 5, d("1501"), 5),
            ("buy", "2", 60, d("1500"), 100),
        ],
        "the buy's 100 exactly: 40 before the restart, 60 after"
    );
    let failures: Vec<OrderFailed> = rig.read(Stream::OrdersFailed).await;
    assert!(
        failures.is_empty(),
        "nothing cancelled at the restart: {failures:?}"
    );

    // Cash and position by hand from the published fills: starting cash, minus each
    // buy's quantity × price and fees, plus each sell's quantity × price minus fees.
    let mut cash = rig.settings.paper.starting_cash;
    let mut position = 0i64;
    for f in &fills {
        let notional = Decimal::from(f.quantity) * f.price;
        match f.order.side {
            Side::Buy => {
                cash -= notional + f.fees.total;
                position += i64::from(f.quantity);
            }
            Side::Sell => {
                cash += notional - f.fees.total;
                position -= i64::from(f.quantity);
            }
        }
    }
    let after = account(&second).await;
    assert_eq!(
        (after.cash, after.position, after.open_orders),
        (cash, position, 0)
    );
    assert_eq!(position, 95);
    // The brokerage cap is per order, across the restart: the first fill paid 40 × 1500
    // × 0.03 % = 18.00, so the second (27.00 uncapped) pays the 2.00 left under ₹20.
    let schedule = ChargeSchedule::default();
    assert_eq!(
        fills[0].fees,
        schedule.charges(Product::Mis, Side::Buy, 40, d("1500"))
    );
    assert_eq!(fills[0].fees.brokerage, d("18.00"));
    assert_eq!(fills[2].fees.brokerage, d("2.00"));
    assert_eq!(
        fills[2].fees,
        schedule.charges_for_fill(Product::Mis, Side::Buy, 60, d("1500"), d("18.00"))
    );
}

#[actix::test]
async fn after_a_restart_a_sell_the_position_covers_is_not_refused_as_a_short() {
    let config = PaperConfig {
        allow_short: false,
        ..PaperConfig::default()
    };
    let rig = rig(config).await;
    let store = store(12).await;

    let first = rig.life(&store);
    completed(
        first
            .send(tick("1500", ("1499.95", 500), ("1500", 500), ist(10, 0)))
            .await
            .unwrap(),
    )
    .await;
    completed(
        first
            .send(signal(
                Side::Buy,
                10,
                OrderType::Market,
                None,
                None,
                ist(10, 0),
            ))
            .await
            .unwrap(),
    )
    .await;
    drop(first);

    let second = rig.life(&store);
    completed(
        second
            .send(tick("1510", ("1510", 500), ("1510.05", 500), ist(10, 1)))
            .await
            .unwrap(),
    )
    .await;
    let sell = signal(Side::Sell, 10, OrderType::Market, None, None, ist(10, 1));
    let sell_id = client_order_id(sell.envelope.id);
    completed(second.send(sell).await.unwrap()).await;

    let failures: Vec<OrderFailed> = rig.read(Stream::OrdersFailed).await;
    assert!(
        !failures
            .iter()
            .any(|f| f.kind == OrderFailureKind::ShortingNotAllowed),
        "{failures:?}"
    );
    let sold: Vec<(u32, Decimal)> = rig
        .read::<OrderFilled>(Stream::OrdersFilled)
        .await
        .into_iter()
        .filter(|f| f.order.client_order_id == sell_id)
        .map(|f| (f.quantity, f.price))
        .collect();
    assert_eq!(sold, [(10, d("1510"))]);
    assert_eq!(account(&second).await.position, 0);
}

/// A journal entry written before entries carried the submission time, whose order has
/// no `Submitted` on the topic either: it cannot be timed, so it is cancelled with what
/// it filled instead of being restored. (The venue publishes to a probe here, so the test
/// waits for the cancellation in the probe's mailbox.)
#[actix::test]
async fn an_open_order_that_cannot_be_timed_is_cancelled_with_what_it_filled() {
    let rig = rig(PaperConfig::default()).await;
    let store: Arc<dyn Store> = Arc::new(MemoryStore::default());
    let order = OrderRef {
        client_order_id: "legacy".into(),
        broker_order_id: Some("paper-7".into()),
        strategy_id: STRATEGY.into(),
        broker: Broker::Paper,
        token: INFY,
        symbol: "INFY".into(),
        side: Side::Buy,
    };
    let legacy = vec![VenueEvent::Submitted(OrderSubmitted {
        order: order.clone(),
        quantity: 10,
        order_type: OrderType::Limit,
        price: Some(d("1400")),
        trigger_price: None,
        validity: Validity::Day,
    })];
    store
        .create(
            JOURNAL_INDEX,
            &journal_key("legacy"),
            serde_json::to_string(&legacy).unwrap(),
        )
        .await
        .unwrap();
    let mut published = Probe::<Publish>::acking_producer();
    let life = PaperExecution::new(PaperExecutionArgs {
        config: rig.settings.paper.clone(),
        producer: ProducerHandle::new(published.recipient()),
        store: store.clone(),
        calendar: rig.settings.market_hours.calendar(),
        history: Some(rig.connection.clone()),
    })
    .start();
    assert_eq!(account(&life).await.open_orders, 0);
    let out = published.expect_msgs(1, Duration::from_secs(10)).await;
    assert_eq!(out[0].0.topic, "paper.orders.failed");
    let cancelled = decode::<OrderFailed>(&out[0].0.value)
        .expect("an order failure")
        .data;
    assert_eq!(
        (
            cancelled.order,
            cancelled.quantity,
            cancelled.filled_quantity,
            cancelled.kind
        ),
        (order, 10, 0, OrderFailureKind::Cancelled)
    );
    assert_eq!(cancelled.message, ORPHAN_MESSAGE);
    published.expect_no_msg(Duration::from_millis(200)).await;
}

/// A NIFTY call expiring on Tuesday 2026-11-24, and NIFTY 50 priced `nifty_listed` by the
/// master; without `with_call`, the next day's master, which no longer lists the call.
fn fno_registry(nifty_listed: &str, with_call: bool) -> alpha_panda::market::InstrumentRegistry {
    let mut csv = alpha_panda::market::instruments::HEADER.join(",");
    csv.push_str(&format!(
        "\n256265,1,NIFTY 50,NIFTY 50,{nifty_listed},,0,0,0,EQ,INDICES,NSE"
    ));
    if with_call {
        csv.push_str(&format!(
            "\n{CALL},3,NIFTY26N2426000CE,NIFTY,0,2026-11-24,26000,0.05,65,CE,NFO-OPT,NFO"
        ));
    }
    alpha_panda::market::InstrumentRegistry::parse(&csv, "test").expect("test registry")
}

const CALL: u32 = 0x0010_0102;

/// `hh:mm` IST on `day` of November 2026.
fn ist_nov(day: u32, hour: u32, minute: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, day, hour, minute, 0)
        .unwrap()
        - chrono::Duration::minutes(330)
}

/// A position in a contract whose expiry passed while the venue was down is settled by
/// the next life at its first event, with the last price it knows (the next morning's
/// master: NIFTY 50 at 26,033.35), in a contract that master no longer lists (the journal
/// names it); a third life settles nothing again.
#[actix::test]
async fn an_expiry_missed_while_down_is_settled_at_start_and_only_once() {
    let config = PaperConfig {
        product: Product::Nrml,
        ..PaperConfig::default()
    };
    let rig = rig(config).await;
    let store = store(14).await;
    let key = |name: &str| match name {
        "NIFTY" => "NSE:NIFTY 50".to_owned(),
        other => format!("NSE:{other}"),
    };
    let life = |registry: &alpha_panda::market::InstrumentRegistry| {
        PaperExecution::new(PaperExecutionArgs {
            config: rig.settings.paper.clone(),
            producer: rig.producer.clone(),
            store: store.clone(),
            calendar: rig.settings.market_hours.calendar(),
            history: Some(rig.connection.clone()),
        })
        .with_instruments(registry)
        .with_derivatives(registry, key)
        .start()
    };
    let tick_of = |token: u32, last: &str, at| Deliver {
        envelope: Envelope::root(MarketTick::ltp(token, d(last)), "market_feed", at),
        origin: origin(),
    };

    // Expiry morning: buy one lot of the call at 120.
    let expiry_day = fno_registry("26000", true);
    let first = life(&expiry_day);
    completed(
        first
            .send(tick_of(CALL, "120", ist_nov(24, 10, 0)))
            .await
            .unwrap(),
    )
    .await;
    let mut buy = signal(
        Side::Buy,
        65,
        OrderType::Market,
        None,
        None,
        ist_nov(24, 10, 0),
    );
    buy.envelope.data.signal.token = CALL;
    buy.envelope.data.signal.symbol = "NIFTY26N2426000CE".into();
    completed(first.send(buy).await.unwrap()).await;
    drop(first);

    // Down over the close. The next morning's first tick (NIFTY 50 already elsewhere).
    let next_day = fno_registry("26033.35", false);
    let second = life(&next_day);
    completed(
        second
            .send(tick_of(256_265, "26400", ist_nov(25, 9, 15)))
            .await
            .unwrap(),
    )
    .await;
    let settlements = || async {
        rig.read::<OrderFilled>(Stream::OrdersFilled)
            .await
            .into_iter()
            .filter(|f| alpha_panda::messages::is_expiry_settlement(&f.order.client_order_id))
            .collect::<Vec<_>>()
    };
    let settled = settlements().await;
    assert_eq!(settled.len(), 1, "{settled:?}");
    let s = &settled[0];
    assert_eq!(
        (s.order.side, s.quantity, s.price, s.filled_at),
        (Side::Sell, 65, d("33.35"), ist_nov(24, 15, 30))
    );
    // STT on exercise 0.15 % × 33.35 × 65 = 3.251625 → 3.25, ₹20 close-out brokerage, GST
    // 18 % on it.
    assert_eq!(
        (s.fees.stt, s.fees.brokerage, s.fees.gst, s.fees.total),
        (d("3.25"), d("20"), d("3.60"), d("26.85"))
    );
    let position = |life: Addr<PaperExecution>| async move {
        life.send(GetPaperAccount {
            strategy: STRATEGY.into(),
            token: CALL,
        })
        .await
        .expect("account")
        .position
    };
    assert_eq!(position(second.clone()).await, 0);
    drop(second);

    // A third life rebuilds a flat position from the fills: nothing settles again.
    let third = life(&next_day);
    completed(
        third
            .send(tick_of(256_265, "26410", ist_nov(25, 9, 16)))
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(position(third).await, 0);
    assert_eq!(settlements().await.len(), 1);
}
