//! Reading topics' history: every record from the beginning up to the end each partition
//! had when the read started, and where that end was. Services rebuild their state from it
//! after a restart (the portfolio from `{broker}.orders.filled`, the strategy runner from
//! its signals and their outcomes), independently of their consumer group's committed
//! position; [`super::tail`] then follows the same partitions live from exactly those
//! ends, so nothing falls between the rebuild and the live records.

use super::client::KafkaConnection;
use crate::messages::{Envelope, Payload, decode};
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Message;
use rdkafka::{Offset, TopicPartitionList};
use std::collections::HashMap;
use std::time::Duration;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum HistoryError {
    #[error("reading `{topic}` from the start: {reason}")]
    Kafka { topic: String, reason: String },
}

/// One record as read.
#[derive(Debug, Clone)]
pub struct RawRecord {
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
    pub value: Vec<u8>,
}

/// The records of some topics, each topic's in partition-then-offset order, and the end
/// of every partition (empty partitions included).
#[derive(Debug, Clone, Default)]
pub struct History {
    pub records: Vec<RawRecord>,
    /// `(topic, partition, offset of the first record not read)`.
    pub ends: Vec<(String, i32, i64)>,
}

/// Reads `topics` from the beginning to the ends they have now.
///
/// # Errors
/// Metadata, watermarks or fetches failed within `timeout`.
pub fn read_topics(
    connection: &KafkaConnection,
    topics: &[String],
    timeout: Duration,
) -> Result<History, HistoryError> {
    let mut history = History::default();
    for topic in topics {
        read_one(connection, topic, timeout, &mut history)?;
    }
    Ok(history)
}

fn read_one(
    connection: &KafkaConnection,
    topic: &str,
    timeout: Duration,
    history: &mut History,
) -> Result<(), HistoryError> {
    let fail = |reason: String| HistoryError::Kafka {
        topic: topic.to_owned(),
        reason,
    };
    // A throwaway group: the read must not move any service's committed offsets.
    let group = format!(
        "{}.history.{}",
        connection.settings.group_prefix,
        uuid::Uuid::new_v4()
    );
    let consumer: BaseConsumer = connection
        .consumer_config(&group)
        .set("enable.auto.commit", "false")
        .create()
        .map_err(|e| fail(e.to_string()))?;
    let md = consumer
        .fetch_metadata(Some(topic), timeout)
        .map_err(|e| fail(e.to_string()))?;
    let mut remaining: HashMap<i32, i64> = HashMap::new();
    let mut tpl = TopicPartitionList::new();
    for t in md.topics().iter().filter(|t| t.name() == topic) {
        for p in t.partitions() {
            let (low, high) = consumer
                .fetch_watermarks(topic, p.id(), timeout)
                .map_err(|e| fail(e.to_string()))?;
            history.ends.push((topic.to_owned(), p.id(), high));
            if high > low {
                remaining.insert(p.id(), high);
                tpl.add_partition_offset(topic, p.id(), Offset::Beginning)
                    .map_err(|e| fail(e.to_string()))?;
            }
        }
    }
    if remaining.is_empty() {
        return Ok(());
    }
    consumer.assign(&tpl).map_err(|e| fail(e.to_string()))?;
    let mut records = Vec::new();
    while !remaining.is_empty() {
        let message = consumer
            .poll(timeout)
            .ok_or_else(|| fail(format!("no record within {timeout:?}")))?
            .map_err(|e| fail(e.to_string()))?;
        let (partition, offset) = (message.partition(), message.offset());
        let Some(high) = remaining.get(&partition).copied() else {
            continue;
        };
        if offset < high {
            records.push(RawRecord {
                topic: topic.to_owned(),
                partition,
                offset,
                value: message.payload().unwrap_or_default().to_vec(),
            });
        }
        if offset + 1 >= high {
            remaining.remove(&partition);
        }
    }
    records.sort_by_key(|r| (r.partition, r.offset));
    history.records.extend(records);
    Ok(())
}

/// The decodable records of `topic`, in partition-then-offset order, and how many records
/// could not be decoded (they are in the DLQ already, or will be, via the live consumer).
///
/// # Errors
/// Metadata, watermarks or fetches failed within `timeout`.
pub fn read_history<T: Payload>(
    connection: &KafkaConnection,
    topic: &str,
    timeout: Duration,
) -> Result<(Vec<Envelope<T>>, usize), HistoryError> {
    let history = read_topics(connection, &[topic.to_owned()], timeout)?;
    Ok(decode_all(&history.records))
}

/// Decodes records as `T`; also answers how many did not decode.
pub fn decode_all<'a, T: Payload>(
    records: impl IntoIterator<Item = &'a RawRecord>,
) -> (Vec<Envelope<T>>, usize) {
    let mut out = Vec::new();
    let mut undecodable = 0;
    for record in records {
        match decode::<T>(&record.value) {
            Ok(envelope) => out.push(envelope),
            Err(_) => undecodable += 1,
        }
    }
    (out, undecodable)
}
