//! The portfolio manager: booking fills, the read model, snapshots, duplicates, and a
//! rebuild from the fills topic after a restart.

use super::*;
use crate::messages::{
    Broker, Envelope, Fees, MarketTick, OrderFilled, OrderRef, PnlSnapshot, RecordOrigin, Side,
    decode, encode,
};
use crate::store::{MemoryStore, Store};
use crate::streaming::consumer::Deliver;
use crate::streaming::producer::Publish;
use crate::streaming::{KafkaConnection, ProducerHandle, Stream, Topic};
use crate::testkit::Probe;
use actix::prelude::*;
use chrono::{TimeZone, Utc};
use rust_decimal::Decimal;
use std::sync::Arc;
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(10);

fn origin() -> RecordOrigin {
    RecordOrigin {
        topic: "t".into(),
        partition: 0,
        offset: 0,
    }
}

fn fill(id: &str, side: Side, quantity: u32, price: i64) -> OrderFilled {
    OrderFilled {
        order: OrderRef {
            client_order_id: format!("ap-{id}"),
            broker_order_id: None,
            strategy_id: "s1".into(),
            broker: Broker::Paper,
            token: 738_561,
            symbol: "RELIANCE".into(),
            side,
        },
        fill_id: id.into(),
        quantity,
        price: Decimal::from(price),
        fees: Fees::default(),
        cumulative_quantity: quantity,
        order_quantity: quantity,
        filled_at: Utc.with_ymd_and_hms(2026, 11, 26, 4, 30, 0).unwrap(),
    }
}

fn deliver(f: OrderFilled) -> Deliver<OrderFilled> {
    Deliver {
        envelope: Envelope::root(f, "paper_execution", Utc::now()),
        origin: origin(),
    }
}

fn args(
    store: Arc<dyn Store>,
    producer: &Probe<Publish>,
    history: Option<(KafkaConnection, Vec<Broker>)>,
) -> PortfolioArgs {
    PortfolioArgs {
        producer: ProducerHandle::new(producer.recipient()),
        store,
        starting_cash: Decimal::from(100_000),
        snapshot_interval: Duration::from_secs(3600),
        history,
        flush_timer: true,
    }
}

#[actix::test]
async fn fills_update_the_portfolio_the_read_model_and_the_snapshots_once_each() {
    let store: Arc<dyn Store> = Arc::new(MemoryStore::default());
    let mut out = Probe::<Publish>::acking_producer();
    let pm = PortfolioManager::new(args(store.clone(), &out, None)).start();
    pm.send(deliver(fill("f1", Side::Buy, 10, 100)))
        .await
        .unwrap()
        .unwrap();
    pm.send(deliver(fill("f2", Side::Sell, 4, 110)))
        .await
        .unwrap()
        .unwrap();
    pm.send(deliver(fill("f2", Side::Sell, 4, 110)))
        .await
        .unwrap()
        .unwrap(); // duplicate
    let tick = MarketTick::ltp(738_561, Decimal::from(105));
    pm.send(Deliver {
        envelope: Envelope::root(tick, "feed", Utc::now()),
        origin: origin(),
    })
    .await
    .unwrap()
    .unwrap();

    let p = pm
        .send(GetPortfolio {
            broker: Broker::Paper,
            strategy: "s1".into(),
        })
        .await
        .unwrap()
        .unwrap();
    // Bought 10 @ 100, sold 4 @ 110: realized 4 × 10 = 40; 6 left, marked at 105: 6 × 5 = 30.
    assert_eq!(p.realized_pnl(), Decimal::from(40));
    assert_eq!(p.unrealized_pnl(), Decimal::from(30));
    assert_eq!(p.cash(), Decimal::from(100_000 - 1000 + 440));

    let snapshots: Vec<PnlSnapshot> = out
        .drain()
        .iter()
        .filter(|p| p.0.topic == "paper.pnl.snapshots")
        .map(|p| decode::<PnlSnapshot>(&p.0.value).unwrap().data)
        .collect();
    assert_eq!(
        snapshots.len(),
        2,
        "one per booked fill; the duplicate and the throttled mark publish nothing"
    );
    let json = store
        .get(&portfolio_key(Broker::Paper, "s1"))
        .await
        .unwrap()
        .expect("read model");
    let model: serde_json::Value = serde_json::from_str(&json).unwrap();
    // The read model counts the fills instead of listing their ids (which grow all day).
    assert_eq!(model["fill_count"], 2, "{model}");
    assert!(model.get("applied_fill_ids").is_none(), "{model}");
    assert_eq!(
        store
            .members(&portfolio_index(Broker::Paper))
            .await
            .unwrap(),
        [portfolio_key(Broker::Paper, "s1")]
    );
}

#[actix::test]
async fn a_restarted_portfolio_manager_rebuilds_the_same_state_from_the_fills_topic() {
    let cluster = rdkafka::mocking::MockCluster::new(1).unwrap();
    let topic = Topic::of(Broker::Paper, Stream::OrdersFilled).name();
    cluster.create_topic(&topic, 3, 1).unwrap();
    let settings = crate::settings::Settings::load_from(None, &Default::default()).unwrap();
    let connection = KafkaConnection::new(&settings.kafka, cluster.bootstrap_servers());
    let fills = [
        fill("a", Side::Buy, 10, 100),
        fill("b", Side::Sell, 15, 120),
        fill("c", Side::Buy, 5, 90),
    ];
    let producer: rdkafka::producer::BaseProducer = connection.producer_config().create().unwrap();
    for f in &fills {
        let env = Envelope::root(f.clone(), "paper_execution", Utc::now());
        producer
            .send(
                rdkafka::producer::BaseRecord::to(&topic)
                    .key(&env.key)
                    .payload(&encode(&env)),
            )
            .map_err(|(e, _)| e)
            .unwrap();
    }
    rdkafka::producer::Producer::flush(&producer, Duration::from_secs(10)).unwrap();

    let store: Arc<dyn Store> = Arc::new(MemoryStore::default());
    let out = Probe::<Publish>::acking_producer();
    let live = PortfolioManager::new(args(store.clone(), &out, None)).start();
    for f in &fills {
        live.send(deliver(f.clone())).await.unwrap().unwrap();
    }
    let expected = live
        .send(GetPortfolio {
            broker: Broker::Paper,
            strategy: "s1".into(),
        })
        .await
        .unwrap()
        .unwrap();

    let rebuilt =
        PortfolioManager::new(args(store, &out, Some((connection, vec![Broker::Paper])))).start();
    let got = tokio::time::timeout(
        WAIT,
        rebuilt.send(GetPortfolio {
            broker: Broker::Paper,
            strategy: "s1".into(),
        }),
    )
    .await
    .expect("rebuilt in time")
    .unwrap()
    .expect("portfolio rebuilt");
    assert_eq!(got, expected);
    // Redelivered fills after the rebuild change nothing.
    rebuilt
        .send(deliver(fills[1].clone()))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        rebuilt
            .send(GetPortfolio {
                broker: Broker::Paper,
                strategy: "s1".into()
            })
            .await
            .unwrap()
            .unwrap(),
        expected
    );
}

#[actix::test]
async fn snapshots_are_throttled_in_event_time_and_a_pending_change_goes_out_on_a_later_event() {
    let store: Arc<dyn Store> = Arc::new(MemoryStore::default());
    let mut out = Probe::<Publish>::acking_producer();
    let mut a = args(store, &out, None);
    a.snapshot_interval = Duration::from_secs(1);
    a.flush_timer = false;
    let pm = PortfolioManager::new(a).start();
    let t0 = Utc.with_ymd_and_hms(2026, 11, 26, 4, 30, 0).unwrap();
    let at = |ms: i64| t0 + chrono::Duration::milliseconds(ms);
    let fill_at_t0 = Deliver {
        envelope: Envelope::root(fill("f1", Side::Buy, 10, 100), "paper_execution", t0),
        origin: origin(),
    };
    pm.send(fill_at_t0).await.unwrap().unwrap();
    let tick = |ms: i64, token: u32, price: i64| Deliver {
        envelope: Envelope::root(MarketTick::ltp(token, Decimal::from(price)), "feed", at(ms)),
        origin: origin(),
    };
    // 400 ms of event time later the position is re-marked: throttled.
    pm.send(tick(400, 738_561, 101)).await.unwrap().unwrap();
    // 1.2 s later, a tick of another instrument: the pending change is now due.
    let later = tick(1_200, 408_065, 1_500);
    let later_id = later.envelope.id;
    pm.send(later).await.unwrap().unwrap();

    let snapshots: Vec<Envelope<PnlSnapshot>> = out
        .drain()
        .iter()
        .filter(|p| p.0.topic == "paper.pnl.snapshots")
        .map(|p| decode::<PnlSnapshot>(&p.0.value).unwrap())
        .collect();
    let times: Vec<_> = snapshots.iter().map(|e| e.data.as_of).collect();
    assert_eq!(
        times,
        vec![t0, at(1_200)],
        "the fill's, then the flushed mark's"
    );
    assert_eq!(snapshots[1].data.unrealized_pnl, Decimal::from(10));
    // A child of the event that flushed it: the same inputs give the same ids.
    assert_eq!(snapshots[1].causation_id, Some(later_id));
}

/// The read model of `s1` as stored.
async fn stored_model(store: &Arc<dyn Store>) -> serde_json::Value {
    let json = store
        .get(&portfolio_key(Broker::Paper, "s1"))
        .await
        .unwrap()
        .expect("read model");
    serde_json::from_str(&json).unwrap()
}

#[actix::test]
async fn the_read_model_keeps_the_trading_day_and_a_tick_of_the_next_day_rolls_it() {
    let store: Arc<dyn Store> = Arc::new(MemoryStore::default());
    let out = Probe::<Publish>::acking_producer();
    let mut a = args(store.clone(), &out, None);
    a.flush_timer = false;
    let pm = PortfolioManager::new(a).start();
    let on = |f: OrderFilled, fees: &str, at: chrono::DateTime<Utc>| {
        let mut f = f;
        f.fees = Fees {
            brokerage: fees.parse().unwrap(),
            total: fees.parse().unwrap(),
            ..Fees::default()
        };
        f.filled_at = at;
        Deliver {
            envelope: Envelope::root(f, "paper_execution", at),
            origin: origin(),
        }
    };
    // 2026-11-25 IST: bought 10 @ 100, sold 4 @ 110 (realized 40, charges 3).
    let yesterday = Utc.with_ymd_and_hms(2026, 11, 25, 5, 0, 0).unwrap();
    for d in [
        on(fill("y1", Side::Buy, 10, 100), "2", yesterday),
        on(fill("y2", Side::Sell, 4, 110), "1", yesterday),
    ] {
        let done = pm.send(d).await.unwrap().unwrap();
        futures::future::try_join_all(done.deliveries)
            .await
            .unwrap();
    }
    let day = &stored_model(&store).await["day"];
    assert_eq!(day["date"], "2026-11-25", "{day}");
    assert_eq!(
        (&day["realized_pnl"], &day["charges"]),
        (&"40".into(), &"3".into())
    );

    // The first tick of 2026-11-26 IST (18:30Z on the 25th): the day rolls, yesterday's
    // realized and charges leave the day's figures, the 6 held are carried in.
    let midnight = Utc.with_ymd_and_hms(2026, 11, 25, 18, 30, 0).unwrap();
    let tick = Deliver {
        envelope: Envelope::root(
            MarketTick::ltp(408_065, Decimal::from(1500)),
            "feed",
            midnight,
        ),
        origin: origin(),
    };
    let done = pm.send(tick).await.unwrap().unwrap();
    futures::future::try_join_all(done.deliveries)
        .await
        .unwrap();
    let day = &stored_model(&store).await["day"];
    assert_eq!(
        *day,
        serde_json::json!({
            "date": "2026-11-26",
            "realized_pnl": "0",
            "unrealized_pnl": "0",
            "charges": "0",
            "turnover": "0",
            "fill_count": 0,
            "carried": [{"token": 738_561, "symbol": "RELIANCE", "quantity": 6, "average_price": "100"}],
        })
    );

    // Today: 6 sold @ 103 (realized 18, charges 0.5, turnover 618).
    let today = Utc.with_ymd_and_hms(2026, 11, 26, 4, 0, 0).unwrap();
    let done = pm
        .send(on(fill("t1", Side::Sell, 6, 103), "0.5", today))
        .await
        .unwrap()
        .unwrap();
    futures::future::try_join_all(done.deliveries)
        .await
        .unwrap();
    let model = stored_model(&store).await;
    let day = &model["day"];
    assert_eq!(day["date"], "2026-11-26");
    assert_eq!(day["realized_pnl"], "18", "{day}");
    assert_eq!(day["charges"], "0.5");
    assert_eq!(day["turnover"], "618");
    assert_eq!(day["fill_count"], 1);
    assert_eq!(
        day["carried"][0]["quantity"], 6,
        "carried in, though sold since"
    );
    // The portfolio's own figures keep every day: 40 + 18 realized.
    let p = pm
        .send(GetPortfolio {
            broker: Broker::Paper,
            strategy: "s1".into(),
        })
        .await
        .unwrap()
        .unwrap();
    assert_eq!(p.realized_pnl(), Decimal::from(58));
}
