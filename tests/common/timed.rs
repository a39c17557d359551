//! Whole topics read back with each record's Kafka timestamp, for tests that must order
//! events of several topics against each other.
//!
//! The crate's history reader (`streaming::history`) keeps partition-then-offset order,
//! which is the order within one key. Across topics the only shared clock is the record
//! timestamp: the producer's create time in milliseconds, stamped by librdkafka when the
//! daemon hands the record over (after the decision it carries was taken). Records of one
//! process on one machine therefore order by cause and effect, except within the same
//! millisecond.

use alpha_panda::messages::{Envelope, Payload, decode};
use alpha_panda::streaming::KafkaConnection;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Message;
use rdkafka::{Offset, TopicPartitionList};
use std::collections::HashMap;
use std::time::Duration;

/// One decoded record and where and when it was written.
#[derive(Debug, Clone)]
pub struct Timed<T> {
    /// The record's timestamp, milliseconds since the Unix epoch.
    pub at_ms: i64,
    pub partition: i32,
    pub offset: i64,
    pub envelope: Envelope<T>,
}

/// Every decodable record of `topic` from the beginning to the end each partition has
/// now, in partition-then-offset order (records that do not decode as `T` are skipped).
///
/// # Panics
/// Metadata, watermarks or a fetch failed within `timeout`, or a record has no timestamp.
pub fn read_timed<T: Payload>(
    connection: &KafkaConnection,
    topic: &str,
    timeout: Duration,
) -> Vec<Timed<T>> {
    let group = format!("test.timed.{}", uuid::Uuid::new_v4().simple());
    let consumer: BaseConsumer = connection
        .consumer_config(&group)
        .set("enable.auto.commit", "false")
        .create()
        .expect("a consumer");
    let metadata = consumer
        .fetch_metadata(Some(topic), timeout)
        .unwrap_or_else(|e| panic!("metadata of {topic}: {e}"));
    let mut remaining: HashMap<i32, i64> = HashMap::new();
    let mut assignment = TopicPartitionList::new();
    for t in metadata.topics().iter().filter(|t| t.name() == topic) {
        for p in t.partitions() {
            let (low, high) = consumer
                .fetch_watermarks(topic, p.id(), timeout)
                .unwrap_or_else(|e| panic!("watermarks of {topic}/{}: {e}", p.id()));
            if high > low {
                remaining.insert(p.id(), high);
                assignment
                    .add_partition_offset(topic, p.id(), Offset::Beginning)
                    .expect("a partition to read");
            }
        }
    }
    let mut out = Vec::new();
    if remaining.is_empty() {
        return out;
    }
    consumer.assign(&assignment).expect("assign");
    while !remaining.is_empty() {
        let message = consumer
            .poll(timeout)
            .unwrap_or_else(|| panic!("no record of {topic} within {timeout:?}"))
            .unwrap_or_else(|e| panic!("reading {topic}: {e}"));
        let (partition, offset) = (message.partition(), message.offset());
        let Some(high) = remaining.get(&partition).copied() else {
            continue;
        };
        if offset < high
            && let Ok(envelope) = decode::<T>(message.payload().unwrap_or_default())
        {
            let at_ms = message
                .timestamp()
                .to_millis()
                .unwrap_or_else(|| panic!("{topic}/{partition}@{offset} has no timestamp"));
            out.push(Timed {
                at_ms,
                partition,
                offset,
                envelope,
            });
        }
        if offset + 1 >= high {
            remaining.remove(&partition);
        }
    }
    out.sort_by_key(|r| (r.partition, r.offset));
    out
}
