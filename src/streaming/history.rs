//! Reading a topic's history: every record from the beginning up to the end the topic had
//! when the read started. Services rebuild their state from it after a restart (the
//! portfolio from `{broker}.orders.filled`), independently of their consumer group's
//! committed position.

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
            if high > low {
                remaining.insert(p.id(), high);
                tpl.add_partition_offset(topic, p.id(), Offset::Beginning)
                    .map_err(|e| fail(e.to_string()))?;
            }
        }
    }
    let mut records: Vec<(i32, i64, Envelope<T>)> = Vec::new();
    let mut undecodable = 0;
    if remaining.is_empty() {
        return Ok((Vec::new(), 0));
    }
    consumer.assign(&tpl).map_err(|e| fail(e.to_string()))?;
    while !remaining.is_empty() {
        let message = consumer
            .poll(timeout)
            .ok_or_else(|| fail(format!("no record within {timeout:?}")))?
            .map_err(|e| fail(e.to_string()))?;
        let (partition, offset) = (message.partition(), message.offset());
        match decode::<T>(message.payload().unwrap_or_default()) {
            Ok(envelope) => records.push((partition, offset, envelope)),
            Err(_) => undecodable += 1,
        }
        if remaining
            .get(&partition)
            .is_some_and(|high| offset + 1 >= *high)
        {
            remaining.remove(&partition);
        }
    }
    records.sort_by_key(|(p, o, _)| (*p, *o));
    Ok((
        records.into_iter().map(|(_, _, e)| e).collect(),
        undecodable,
    ))
}
