//! Parity: on the same tick sequence, the backtest (the services wired in-process) and the
//! Kafka pipeline (the daemon's tree on the embedded broker) produce the same fills — the
//! same orders, ids, prices and quantities — and the same final portfolio.
//!
//! The pipeline is fed one tick at a time: after a tick the backtest says fills, the next
//! tick goes in only once the pipeline's portfolio has booked that fill and the strategy
//! runner has seen it (no order pending), so the paper venue fills the order on the tick
//! that caused it and the strategy decides the next tick from the same position, as in the
//! backtest (live, the next tick could otherwise reach the venue before the order does, or
//! the strategy before its fill).

mod common;

use alpha_panda::actors::daemon::{self, DaemonParts};
use alpha_panda::actors::portfolio_manager::GetPortfolio;
use alpha_panda::actors::strategy_runner::GetRunnerStatus;
use alpha_panda::backtest::engine::{self, RunOptions};
use alpha_panda::backtest::synthetic::{self, SyntheticOptions};
use alpha_panda::backtest::ticks::{TickOptions, TickReader};
use alpha_panda::market::instruments::InstrumentRegistry;
use alpha_panda::messages::{Broker, Envelope, MarketTick, OrderFilled, encode};
use alpha_panda::settings::Settings;
use alpha_panda::store::MemoryStore;
use alpha_panda::strategy::StrategyRegistry;
use alpha_panda::streaming::history::read_history;
use alpha_panda::streaming::{
    EmbeddedBroker, KafkaConnection, ProducerActor, Stream, Topic, TopicMap,
};
use chrono::TimeZone;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::{Offset, TopicPartitionList};
use rust_decimal::Decimal;
use std::collections::HashMap;
use std::convert::Infallible;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

const STRATEGY: &str = "ema_bench";
const TICKS: u64 = 400;
const SEED: u64 = 11;

fn settings() -> Settings {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/examples/backtest-ema.toml");
    let mut s = Settings::load_from(Some(&path), &HashMap::new()).expect("benchmark config");
    s.kafka.group_prefix = format!("parity-{}", uuid::Uuid::new_v4().simple());
    s.kafka.linger_ms = 0;
    s.kafka.fetch_wait_max_ms = 1;
    // The daemon side runs the intraday day on the wall clock: off, so both sides match
    // whatever the time of the run.
    s.market_hours.intraday = false;
    engine::backtest_settings(&s, SEED)
}

fn ticks(registry: &InstrumentRegistry) -> Vec<Envelope<MarketTick>> {
    let mut csv = Vec::new();
    synthetic::write_csv(
        &mut csv,
        SyntheticOptions {
            ticks: TICKS,
            seed: SEED,
            token: 738_561,
            start_price: Decimal::new(250_000, 2),
            start: chrono::Utc.with_ymd_and_hms(2026, 11, 2, 0, 0, 0).unwrap(),
        },
    )
    .expect("synthetic ticks");
    TickReader::new(csv.as_slice(), TickOptions::with_registry(SEED, registry))
        .expect("CSV header")
        .collect::<Result<Vec<_>, _>>()
        .expect("generated ticks parse")
}

/// The daemon's tick consumer's group (every trading service runs in the one process).
fn tick_group(settings: &Settings) -> String {
    settings.kafka.consumer_group(&daemon::tick_group([
        "strategy_runner",
        "risk_manager",
        "paper_execution",
        "portfolio_manager",
    ]))
}

/// Commits offset 0 of every tick partition for the tick consumer's group, so it reads the
/// ticks from the start whenever it joins (a new tick-only group would start at the end).
fn start_runner_group_at_zero(connection: &KafkaConnection, settings: &Settings) {
    let group = tick_group(settings);
    let consumer: BaseConsumer = connection
        .consumer_config(&group)
        .create()
        .expect("consumer");
    let mut offsets = TopicPartitionList::new();
    for p in 0..settings.topics.tick_partitions {
        offsets
            .add_partition_offset(&Topic::MARKET_TICKS.name(), p, Offset::Offset(0))
            .unwrap();
    }
    consumer
        .commit(&offsets, rdkafka::consumer::CommitMode::Sync)
        .expect("commit offset 0 for the runner's group");
}

/// Waits until the tick consumer is assigned and reading: one that joins late would let a
/// validated signal be read before the tick that caused it. Proof: its group commits past
/// an INFY tick (an instrument no strategy here trades).
async fn wait_until_every_consumer_reads(
    connection: &KafkaConnection,
    settings: &Settings,
    producer: &FutureProducer,
) {
    let mut tick = MarketTick::ltp(408_065, Decimal::new(150_000, 2));
    tick.symbol = Some("INFY".into());
    let envelope = Envelope::root(tick, "parity-test", chrono::Utc::now());
    producer
        .send(
            FutureRecord::to(&Topic::MARKET_TICKS.name())
                .key(&envelope.key)
                .payload(&encode(&envelope)),
            Duration::from_secs(10),
        )
        .await
        .expect("warm-up tick produced");
    let partitions = settings.topics.tick_partitions;
    let deadline = Instant::now() + Duration::from_secs(60);
    // One tick consumer feeds every service that takes ticks.
    {
        let group = tick_group(settings);
        loop {
            let (bootstrap, g) = (connection.bootstrap_servers.clone(), group.clone());
            let committed = tokio::task::spawn_blocking(move || {
                common::committed(&bootstrap, &g, &Topic::MARKET_TICKS.name(), partitions)
            })
            .await
            .unwrap();
            if committed.values().sum::<i64>() >= 1 {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "{group} never read the warm-up tick"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

#[actix::test]
async fn the_backtest_and_the_kafka_pipeline_produce_the_same_fills_and_pnl() {
    let settings = settings();
    let registry = InstrumentRegistry::embedded().unwrap();
    let ticks = ticks(&registry);

    // The backtest.
    let options = RunOptions {
        input: "parity".into(),
        seed: SEED,
        progress: Box::new(|_| {}),
    };
    let source = ticks.iter().cloned().map(Ok::<_, Infallible>);
    let (outcome, stats) = engine::run(
        &settings,
        &registry,
        &StrategyRegistry::builtin(),
        source,
        options,
    )
    .await
    .expect("backtest");
    assert_eq!(stats.handler_errors, 0);
    let expected = &outcome.strategies[0];
    assert_eq!(expected.strategy_id, STRATEGY);
    assert!(
        expected.fills.len() >= 5,
        "the tick sequence should trade: {} fills",
        expected.fills.len()
    );
    // Fills expected after each tick (a fill's time is its tick's time).
    let mut after_tick = Vec::with_capacity(ticks.len());
    let mut seen = 0;
    for tick in &ticks {
        seen += expected
            .fills
            .iter()
            .filter(|f| f.filled_at == tick.ts)
            .count();
        after_tick.push(seen);
    }
    assert_eq!(seen, expected.fills.len(), "every fill is at a tick's time");

    // The pipeline.
    let broker = EmbeddedBroker::start(&TopicMap::new(&settings.topics)).expect("embedded broker");
    let connection = broker.connection(&settings.kafka);
    start_runner_group_at_zero(&connection, &settings);
    let producer = ProducerActor::connect(&connection, Duration::from_secs(10))
        .await
        .unwrap();
    let tree = daemon::build(DaemonParts {
        settings: &settings,
        connection: &connection,
        producer,
        feed: None,
        registry: &registry,
        strategies: &StrategyRegistry::builtin(),
        store: Arc::new(MemoryStore::default()),
        kite: None,
        services: daemon::ServiceSet::all(),
        event_hub: None,
    })
    .unwrap();
    let portfolio = tree.services.portfolio_manager.clone().unwrap();
    let runner = tree.services.strategy_runner.clone().unwrap();
    let root = tree.root.start().await;
    // Orders of the strategy the runner still waits on (its ledger learns of fills through
    // its own tail of the order topics).
    let pending = || async {
        let status = runner.send(GetRunnerStatus).await.unwrap();
        status
            .strategies
            .iter()
            .flat_map(|s| &s.instruments)
            .map(|i| i.pending.len())
            .sum::<usize>()
    };
    let fill_count = || async {
        portfolio
            .send(GetPortfolio {
                broker: Broker::Paper,
                strategy: STRATEGY.into(),
            })
            .await
            .unwrap()
            .map_or(0, |p| p.fill_count())
    };
    let tick_producer: FutureProducer = connection.producer_config().create().unwrap();
    wait_until_every_consumer_reads(&connection, &settings, &tick_producer).await;
    let topic = Topic::MARKET_TICKS.name();
    for (i, tick) in ticks.iter().enumerate() {
        let value = encode(tick);
        tick_producer
            .send(
                FutureRecord::to(&topic).key(&tick.key).payload(&value),
                Duration::from_secs(10),
            )
            .await
            .expect("tick produced");
        let want = after_tick[i];
        let deadline = Instant::now() + Duration::from_secs(30);
        while fill_count().await < want || pending().await > 0 {
            assert!(
                Instant::now() < deadline,
                "tick {i}: the pipeline booked {} fills, the backtest {want}; {} orders pending",
                fill_count().await,
                pending().await
            );
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }

    // Same fills, in the same order, field by field (ids included: ids derive from the
    // tick ids, which both runs share).
    let filled_topic = Topic::of(Broker::Paper, Stream::OrdersFilled).name();
    let c = connection.clone();
    let (envelopes, undecodable) = tokio::task::spawn_blocking(move || {
        read_history::<OrderFilled>(&c, &filled_topic, Duration::from_secs(10))
    })
    .await
    .unwrap()
    .unwrap();
    assert_eq!(undecodable, 0);
    let live: Vec<OrderFilled> = envelopes.into_iter().map(|e| e.data).collect();
    assert_eq!(live.len(), expected.fills.len());
    for (n, (got, want)) in live.iter().zip(&expected.fills).enumerate() {
        assert_eq!(got, want, "fill {n}");
    }

    // The same final portfolio: cash, P&L, positions (marked to the last tick).
    let last = ticks.last().unwrap().ts;
    let deadline = Instant::now() + Duration::from_secs(30);
    let live_portfolio =
        loop {
            let p = portfolio
                .send(GetPortfolio {
                    broker: Broker::Paper,
                    strategy: STRATEGY.into(),
                })
                .await
                .unwrap()
                .expect("a portfolio");
            // The portfolio marks every tick; wait until it has seen the last one.
            let snapshot = p.snapshot(last);
            if snapshot.positions.iter().all(|pos| {
                pos.last_price == ticks.last().unwrap().data.last_price || pos.quantity == 0
            }) {
                break snapshot;
            }
            assert!(
                Instant::now() < deadline,
                "the last tick never reached the portfolio"
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        };
    assert_eq!(live_portfolio, expected.final_portfolio);
    root.shutdown().await;
}
