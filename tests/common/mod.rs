//! Shared fixtures for the integration tests: settings, service addresses from the
//! environment (set by scripts/test-services.sh), unique topics, sample records.
#![allow(dead_code)] // Each test binary uses a different subset.

use alpha_panda::messages::{Envelope, MarketTick, encode};
use alpha_panda::settings::Settings;
use alpha_panda::streaming::KafkaConnection;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Message;
use rdkafka::producer::{BaseRecord, DefaultProducerContext, Producer, ThreadedProducer};
use rdkafka::{ClientConfig, Offset, TopicPartitionList};
use rust_decimal::Decimal;
use std::collections::HashMap;
use std::time::Duration;

/// Defaults, with retries quick enough for tests.
pub fn settings() -> Settings {
    let mut s = Settings::load_from(None, &HashMap::new()).expect("defaults load");
    s.retry.base_ms = 10;
    s.retry.max_ms = 50;
    s.retry.attempts = 3;
    s.kafka.session_timeout_ms = 6000;
    s
}

/// The address of a required service from the environment. Under `CI=true` a missing
/// service fails the test; locally the test is skipped with a note.
fn service(var: &str) -> Option<String> {
    match std::env::var(var) {
        Ok(v) if !v.is_empty() => Some(v),
        _ if std::env::var("CI").is_ok_and(|v| v == "true") => {
            panic!("CI=true but {var} is not set: run the suite with scripts/test.sh")
        }
        _ => {
            eprintln!("skipping: {var} is not set (run via scripts/test.sh)");
            None
        }
    }
}

/// The real Kafka-protocol broker (tansu), if configured.
pub fn real_broker() -> Option<KafkaConnection> {
    service("ALPHA_PANDA_TEST_KAFKA_BROKERS").map(|b| KafkaConnection::new(&settings().kafka, b))
}

/// The real Redis, if configured.
pub fn redis_url() -> Option<String> {
    service("ALPHA_PANDA_TEST_REDIS_URL")
}

/// A topic name no other test uses.
pub fn unique_topic(name: &str) -> String {
    format!("test.{name}.{}", uuid::Uuid::new_v4().simple())
}

/// Creates topics (and their `.dlq` twins) on a real broker.
pub async fn create_topics(connection: &KafkaConnection, topics: &[&str], partitions: i32) {
    let admin: AdminClient<DefaultClientContext> =
        connection.admin_config().create().expect("admin client");
    let names: Vec<String> = topics
        .iter()
        .flat_map(|t| [t.to_string(), format!("{t}.dlq")])
        .collect();
    let new: Vec<NewTopic<'_>> = names
        .iter()
        .map(|n| NewTopic::new(n, partitions, TopicReplication::Fixed(1)))
        .collect();
    let results = admin
        .create_topics(new.iter(), &AdminOptions::new())
        .await
        .expect("create topics");
    for r in results {
        r.expect("topic created");
    }
}

pub fn tick(token: u32, price: i64) -> MarketTick {
    MarketTick::ltp(token, Decimal::new(price, 2))
}

pub fn tick_bytes(token: u32, price: i64) -> Vec<u8> {
    encode(&Envelope::root(
        tick(token, price),
        "test",
        chrono::Utc::now(),
    ))
}

/// Writes records (all acknowledged on return) with a plain producer, bypassing the code
/// under test. One record per batch: tansu 0.6 answers a fetch that starts inside a
/// multi-record batch with nothing, so a consumer resuming mid-batch would stall there.
pub fn produce_raw(bootstrap: &str, topic: &str, records: &[(String, Vec<u8>)]) {
    let producer: ThreadedProducer<DefaultProducerContext> = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("enable.idempotence", "true")
        .set("batch.num.messages", "1")
        .set("linger.ms", "0")
        .create()
        .expect("producer");
    for (key, value) in records {
        producer
            .send(BaseRecord::to(topic).key(key).payload(value))
            .map_err(|(e, _)| e)
            .expect("enqueue");
    }
    producer.flush(Duration::from_secs(30)).expect("flush");
}

/// A record as read back: (partition, offset, key, value).
pub type ReadRecord = (i32, i64, Option<Vec<u8>>, Vec<u8>);

/// Every record of `topic` from the beginning, stopping once `expected` records arrived or
/// `timeout` passed. Runs on a blocking thread so the actors under test keep running.
pub async fn read_all(
    bootstrap: &str,
    topic: &str,
    expected: usize,
    timeout: Duration,
) -> Vec<ReadRecord> {
    let (bootstrap, topic) = (bootstrap.to_owned(), topic.to_owned());
    tokio::task::spawn_blocking(move || read_all_blocking(&bootstrap, &topic, expected, timeout))
        .await
        .expect("reader thread")
}

fn read_all_blocking(
    bootstrap: &str,
    topic: &str,
    expected: usize,
    timeout: Duration,
) -> Vec<ReadRecord> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("group.id", format!("reader-{}", uuid::Uuid::new_v4()))
        .set("enable.auto.commit", "false")
        .set("fetch.wait.max.ms", "10")
        .create()
        .expect("consumer");
    let md = consumer
        .fetch_metadata(Some(topic), Duration::from_secs(10))
        .expect("metadata");
    let mut tpl = TopicPartitionList::new();
    for p in md.topics()[0].partitions() {
        tpl.add_partition_offset(topic, p.id(), Offset::Beginning)
            .expect("tpl");
    }
    consumer.assign(&tpl).expect("assign");
    let deadline = std::time::Instant::now() + timeout;
    let mut out = Vec::new();
    while out.len() < expected && std::time::Instant::now() < deadline {
        if let Some(Ok(m)) = consumer.poll(Duration::from_millis(100)) {
            out.push((
                m.partition(),
                m.offset(),
                m.key().map(<[u8]>::to_vec),
                m.payload().unwrap_or_default().to_vec(),
            ));
        }
    }
    out
}

/// Committed offsets (next offset to read) of `group` on `topic`, per partition.
pub fn committed(bootstrap: &str, group: &str, topic: &str, partitions: i32) -> HashMap<i32, i64> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("group.id", group)
        .create()
        .expect("consumer");
    let mut tpl = TopicPartitionList::new();
    for p in 0..partitions {
        tpl.add_partition(topic, p);
    }
    let got = consumer
        .committed_offsets(tpl, Duration::from_secs(10))
        .expect("committed");
    got.elements()
        .iter()
        .filter_map(|e| match e.offset() {
            Offset::Offset(o) => Some((e.partition(), o)),
            _ => None,
        })
        .collect()
}
