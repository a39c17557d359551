//! Rebuilds against the real broker (tansu): a history read for a service reaches its
//! consumer group's committed offsets even where the broker's high watermark falls short,
//! reads to the high watermark where the group is behind it, and fails loudly — never a
//! silently partial history — when records up to a committed offset do not come.
//!
//! The short watermark is tansu 0.6's own: records sent in one batch leave the high
//! watermark at the batch's base offset + 1. A test that depends on it asserts it first.
//! Committed offsets are written the way the live consumer writes them: an OffsetCommit of
//! the service's group (`{group_prefix}.{service}`).

mod common;

use actix::prelude::*;
use alpha_panda::actors::portfolio_manager::{self, GetPortfolio, PortfolioArgs, PortfolioManager};
use alpha_panda::messages::{Broker, Envelope, Fees, OrderFilled, OrderRef, Side, encode};
use alpha_panda::store::{MemoryStore, Store};
use alpha_panda::streaming::history::{History, HistoryError, read_topics_for};
use alpha_panda::streaming::producer::Publish;
use alpha_panda::streaming::{KafkaConnection, ProducerHandle, Stream, Topic, TopicMap, admin};
use alpha_panda::testkit::Probe;
use chrono::{TimeZone, Utc};
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::{Offset, TopicPartitionList};
use rust_decimal::Decimal;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(10);

/// A connection whose consumer groups no other run shares.
fn connection() -> Option<KafkaConnection> {
    let mut connection = common::real_broker()?;
    connection.settings.group_prefix = format!("rebuild-{}", uuid::Uuid::new_v4().simple());
    Some(connection)
}

/// Sends `records` (key, value) at once, so the producer batches them per partition, and
/// answers each partition's end (the offset after its last record).
async fn produce_batched(
    connection: &KafkaConnection,
    topic: &str,
    records: &[(String, Vec<u8>)],
) -> BTreeMap<i32, i64> {
    let producer: FutureProducer = connection
        .producer_config()
        .set("linger.ms", "200")
        .create()
        .expect("producer");
    let pending: Vec<_> = records
        .iter()
        .map(|(key, value)| {
            producer
                .send_result(FutureRecord::to(topic).key(key).payload(value))
                .map_err(|(e, _)| e)
                .expect("enqueued")
        })
        .collect();
    let mut ends = BTreeMap::new();
    for delivery in futures::future::join_all(pending).await {
        let delivery = delivery
            .expect("answered")
            .map_err(|(e, _)| e)
            .expect("delivered");
        let end = ends.entry(delivery.partition).or_insert(0);
        *end = (*end).max(delivery.offset + 1);
    }
    ends
}

/// Commits `offsets` (partition → next offset) for `group` on `topic`, as a consumer of the
/// group does.
fn commit(connection: &KafkaConnection, group: &str, topic: &str, offsets: &BTreeMap<i32, i64>) {
    let consumer: BaseConsumer = connection
        .consumer_config(group)
        .set("enable.auto.commit", "false")
        .create()
        .expect("consumer");
    let mut tpl = TopicPartitionList::new();
    for (partition, offset) in offsets {
        tpl.add_partition_offset(topic, *partition, Offset::Offset(*offset))
            .expect("tpl");
    }
    consumer.assign(&tpl).expect("assign");
    consumer.commit(&tpl, CommitMode::Sync).expect("commit");
    let partitions = offsets.keys().max().map_or(0, |p| p + 1);
    let committed = common::committed(&connection.bootstrap_servers, group, topic, partitions);
    for (partition, offset) in offsets {
        assert_eq!(committed.get(partition), Some(offset), "committed");
    }
}

fn high_watermarks(
    connection: &KafkaConnection,
    topic: &str,
    partitions: i32,
) -> BTreeMap<i32, i64> {
    let consumer: BaseConsumer = connection.consumer_config("watermarks").create().unwrap();
    (0..partitions)
        .map(|p| (p, consumer.fetch_watermarks(topic, p, WAIT).unwrap().1))
        .collect()
}

async fn read_for(
    connection: &KafkaConnection,
    service: &str,
    topic: &str,
    timeout: Duration,
) -> Result<History, HistoryError> {
    let (connection, service, topics) = (
        connection.clone(),
        service.to_owned(),
        vec![topic.to_owned()],
    );
    tokio::task::spawn_blocking(move || read_topics_for(&connection, &service, &topics, timeout))
        .await
        .unwrap()
}

/// Each partition's offsets as read.
fn offsets(history: &History) -> BTreeMap<i32, Vec<i64>> {
    let mut out: BTreeMap<i32, Vec<i64>> = BTreeMap::new();
    for record in &history.records {
        out.entry(record.partition).or_default().push(record.offset);
    }
    out
}

fn ends(history: &History) -> BTreeMap<i32, i64> {
    history.ends.iter().map(|(_, p, end)| (*p, *end)).collect()
}

#[actix::test]
async fn a_rebuild_reads_up_to_the_groups_committed_offsets_past_a_short_high_watermark() {
    let Some(connection) = connection() else {
        return;
    };
    let topic = common::unique_topic("history_short");
    common::create_topics(&connection, &[&topic], 3).await;
    let records: Vec<(String, Vec<u8>)> = (0..24)
        .map(|i| (format!("k{}", i % 6), format!("record {i}").into_bytes()))
        .collect();
    let produced = produce_batched(&connection, &topic, &records).await;
    let highs = high_watermarks(&connection, &topic, 3);
    assert!(
        highs.iter().any(|(p, high)| *high < produced[p]),
        "the premise: the broker reports a high watermark short of the records ({highs:?} < {produced:?})"
    );
    let group = connection.settings.consumer_group("svc");
    commit(&connection, &group, &topic, &produced);

    let history = read_for(&connection, "svc", &topic, WAIT)
        .await
        .expect("whole history");

    let expected: BTreeMap<i32, Vec<i64>> = produced
        .iter()
        .map(|(p, end)| (*p, (0..*end).collect()))
        .collect();
    assert_eq!(offsets(&history), expected, "every record, once, in order");
    let mut values: Vec<Vec<u8>> = history.records.iter().map(|r| r.value.clone()).collect();
    let mut sent: Vec<Vec<u8>> = records.into_iter().map(|(_, v)| v).collect();
    values.sort();
    sent.sort();
    assert_eq!(values, sent);
    assert_eq!(
        ends(&history),
        produced,
        "a tail would follow from the committed offsets"
    );
}

#[actix::test]
async fn a_group_committed_behind_the_high_watermark_reads_to_the_high_watermark() {
    let Some(connection) = connection() else {
        return;
    };
    let topic = common::unique_topic("history_behind");
    common::create_topics(&connection, &[&topic], 3).await;
    // One record per batch: the watermarks are right.
    let records: Vec<(String, Vec<u8>)> = (0..9).map(|i| (format!("k{i}"), vec![i])).collect();
    common::produce_raw(&connection.bootstrap_servers, &topic, &records);
    let highs = high_watermarks(&connection, &topic, 3);
    assert_eq!(highs.values().sum::<i64>(), 9, "{highs:?}");
    let (busy, _) = highs
        .iter()
        .find(|(_, h)| **h >= 2)
        .expect("a partition with 2 records");
    // The group handled one record of one partition and never saw the others.
    let group = connection.settings.consumer_group("svc");
    commit(&connection, &group, &topic, &BTreeMap::from([(*busy, 1)]));

    let history = read_for(&connection, "svc", &topic, WAIT)
        .await
        .expect("whole history");

    assert_eq!(history.records.len(), 9);
    assert_eq!(ends(&history), highs);
}

#[actix::test]
async fn a_committed_offset_past_every_record_fails_the_rebuild_and_says_where() {
    let Some(connection) = connection() else {
        return;
    };
    let topic = common::unique_topic("history_stalled");
    common::create_topics(&connection, &[&topic], 1).await;
    let records: Vec<(String, Vec<u8>)> = (0..2).map(|i| ("k".to_owned(), vec![i])).collect();
    common::produce_raw(&connection.bootstrap_servers, &topic, &records);
    let group = connection.settings.consumer_group("svc");
    commit(&connection, &group, &topic, &BTreeMap::from([(0, 5)]));

    let error = read_for(&connection, "svc", &topic, Duration::from_secs(2))
        .await
        .expect_err("records 2..5 never come");

    assert!(matches!(error, HistoryError::Stalled { .. }), "{error:?}");
    let text = error.to_string();
    assert!(
        text.contains(
            "partition 0 at offset 2 of 5 (the group's committed offset; high watermark 2)"
        ),
        "{text}"
    );
}

fn fill(strategy: &str, id: usize, side: Side, quantity: u32, price: i64) -> OrderFilled {
    OrderFilled {
        order: OrderRef {
            client_order_id: format!("ap-{strategy}-{id}"),
            broker_order_id: None,
            strategy_id: strategy.into(),
            broker: Broker::Paper,
            token: 408_065 + u32::try_from(id % 3).unwrap(),
            symbol: "INFY".into(),
            side,
        },
        fill_id: format!("{strategy}-{id}"),
        quantity,
        price: Decimal::from(price),
        fees: Fees::default(),
        cumulative_quantity: quantity,
        order_quantity: quantity,
        filled_at: Utc.with_ymd_and_hms(2026, 11, 26, 4, 0, 0).unwrap(),
    }
}

#[actix::test]
async fn a_restarted_portfolio_manager_books_every_fill_its_consumer_group_committed() {
    let Some(connection) = connection() else {
        return;
    };
    let settings = common::settings();
    admin::ensure_topics(&connection, &TopicMap::new(&settings.topics), WAIT)
        .await
        .expect("topics");
    let topic = Topic::of(Broker::Paper, Stream::OrdersFilled).name();
    // A strategy of its own: the fills topic is shared with other runs.
    let strategy = format!("rebuild_{}", uuid::Uuid::new_v4().simple());
    let fills: Vec<OrderFilled> = (0..12)
        .map(|i| {
            let side = if i % 2 == 0 { Side::Buy } else { Side::Sell };
            fill(&strategy, i, side, 2, 100 + i64::try_from(i).unwrap())
        })
        .collect();
    let records: Vec<(String, Vec<u8>)> = fills
        .iter()
        .map(|f| {
            let envelope = Envelope::root(f.clone(), "paper_execution", Utc::now());
            (envelope.key.clone(), encode(&envelope))
        })
        .collect();
    let produced = produce_batched(&connection, &topic, &records).await;
    let partitions = i32::try_from(partition_count(&connection, &topic)).unwrap();
    let highs = high_watermarks(&connection, &topic, partitions);
    assert!(
        produced.iter().any(|(p, end)| highs[p] < *end),
        "the premise: the broker reports a high watermark short of the fills ({highs:?} < {produced:?})"
    );
    // The portfolio's consumer group handled every fill and committed past them.
    let group = connection
        .settings
        .consumer_group(portfolio_manager::SERVICE);
    commit(&connection, &group, &topic, &produced);

    let store: Arc<dyn Store> = Arc::new(MemoryStore::default());
    let out = Probe::<Publish>::acking_producer();
    let restarted = PortfolioManager::new(PortfolioArgs {
        producer: ProducerHandle::new(out.recipient()),
        store,
        starting_cash: Decimal::from(100_000),
        snapshot_interval: Duration::from_secs(60),
        history: Some((connection, vec![Broker::Paper])),
        flush_timer: false,
    })
    .start();
    let rebuilt = tokio::time::timeout(
        Duration::from_secs(30),
        restarted.send(GetPortfolio {
            broker: Broker::Paper,
            strategy: strategy.clone(),
        }),
    )
    .await
    .expect("rebuilt in time")
    .unwrap()
    .expect("the portfolio was rebuilt");

    assert_eq!(rebuilt.fill_count(), fills.len(), "no fill lost");
    let book = alpha_panda::portfolio::recompute(&fills, &[], Decimal::from(100_000));
    let expected = book.get(Broker::Paper, &strategy).unwrap();
    assert_eq!(rebuilt.cash(), expected.cash());
    assert_eq!(rebuilt.realized_pnl(), expected.realized_pnl());
    assert!(rebuilt.positions().eq(expected.positions()));
}

/// How many partitions `topic` has.
fn partition_count(connection: &KafkaConnection, topic: &str) -> usize {
    let consumer: BaseConsumer = connection.consumer_config("metadata").create().unwrap();
    let metadata = consumer.fetch_metadata(Some(topic), WAIT).unwrap();
    metadata.topics()[0].partitions().len()
}
