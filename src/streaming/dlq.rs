//! DLQ replay: re-publish each dead-lettered record's original key and bytes to the topic
//! it came from.
//!
//! Progress is committed per record (after its re-publish is acknowledged) under the
//! consumer group `{group_prefix}.dlq-replay`, so a record is replayed once even across
//! interrupted runs, and a replay never skips a record it has not re-published. A dry run
//! reads and reports without publishing or committing.

use super::client::KafkaConnection;
use super::producer::{OutboundRecord, ProducerHandle, PublishError};
use super::topics::DLQ_SUFFIX;
use crate::messages::{DlqRecord, decode};
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::message::Message;
use rdkafka::{Offset, TopicPartitionList};
use std::collections::{BTreeMap, HashMap};
use std::time::Duration;
use thiserror::Error;

/// Header added to replayed records, naming the DLQ record they came from.
pub const HEADER_REPLAYED_FROM: &str = "dlq-replayed-from";

#[derive(Debug, Clone)]
pub struct ReplayOptions {
    pub dlq_topic: String,
    pub dry_run: bool,
    pub limit: Option<usize>,
    /// Bound on each broker call.
    pub timeout: Duration,
}

/// What a replay did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ReplayReport {
    pub read: usize,
    /// Re-published (or, in a dry run, would be) per original topic.
    pub replayed: BTreeMap<String, usize>,
    /// DLQ records that could not be replayed: (partition, offset, reason).
    pub unreadable: Vec<(i32, i64, String)>,
    pub dry_run: bool,
}

#[derive(Debug, Error)]
pub enum ReplayError {
    #[error("`{0}` is not a DLQ topic (its name must end in `{DLQ_SUFFIX}`)")]
    NotDlq(String),
    #[error("DLQ topic `{0}` does not exist")]
    Missing(String),
    #[error("kafka error while replaying: {0}")]
    Kafka(String),
    #[error(
        "re-publishing offset {offset} of partition {partition} failed (nothing after it was replayed): {source}"
    )]
    Publish {
        partition: i32,
        offset: i64,
        source: PublishError,
    },
}

fn kafka(e: impl std::fmt::Display) -> ReplayError {
    ReplayError::Kafka(e.to_string())
}

/// Replays `options.dlq_topic`.
///
/// # Errors
/// Not a DLQ topic, missing topic, broker errors, or a re-publish that failed (the run
/// stops there; committed progress covers only what was re-published).
pub async fn replay(
    connection: &KafkaConnection,
    producer: &ProducerHandle,
    options: &ReplayOptions,
) -> Result<ReplayReport, ReplayError> {
    if !options.dlq_topic.ends_with(DLQ_SUFFIX) {
        return Err(ReplayError::NotDlq(options.dlq_topic.clone()));
    }
    let group = connection.settings.consumer_group("dlq-replay");
    let consumer: BaseConsumer = connection
        .consumer_config(&group)
        .set("enable.auto.commit", "false")
        .create()
        .map_err(kafka)?;
    let (ends, tpl) = assignment(&consumer, &options.dlq_topic, options.timeout)?;
    consumer.assign(&tpl).map_err(kafka)?;

    let mut report = ReplayReport {
        dry_run: options.dry_run,
        ..ReplayReport::default()
    };
    let mut remaining: HashMap<i32, i64> = ends;
    remaining.retain(|_, high| *high > 0);
    // Partitions whose position already reached the end need nothing.
    for (p, position) in positions(&consumer, &options.dlq_topic, options.timeout)? {
        if remaining.get(&p).is_some_and(|high| position >= *high) {
            remaining.remove(&p);
        }
    }
    while !remaining.is_empty() && options.limit.is_none_or(|l| report.read < l) {
        let Some(message) = consumer.poll(options.timeout) else {
            return Err(kafka(format!(
                "no record within {:?} although partitions {:?} are not at their end",
                options.timeout,
                remaining.keys().collect::<Vec<_>>()
            )));
        };
        let message = message.map_err(kafka)?;
        let (partition, offset) = (message.partition(), message.offset());
        report.read += 1;
        match decode::<DlqRecord>(message.payload().unwrap_or_default()) {
            Err(e) => report.unreadable.push((partition, offset, e.to_string())),
            Ok(envelope) => {
                let record = envelope.data;
                let outbound = original(&record, &options.dlq_topic, partition, offset);
                match outbound {
                    Err(reason) => report.unreadable.push((partition, offset, reason)),
                    Ok(outbound) => {
                        if !options.dry_run {
                            producer.publish(outbound).await.map_err(|source| {
                                ReplayError::Publish {
                                    partition,
                                    offset,
                                    source,
                                }
                            })?;
                        }
                        *report.replayed.entry(record.topic).or_default() += 1;
                    }
                }
            }
        }
        if !options.dry_run {
            let mut done = TopicPartitionList::new();
            done.add_partition_offset(&options.dlq_topic, partition, Offset::Offset(offset + 1))
                .map_err(kafka)?;
            consumer.commit(&done, CommitMode::Sync).map_err(kafka)?;
        }
        if remaining
            .get(&partition)
            .is_some_and(|high| offset + 1 >= *high)
        {
            remaining.remove(&partition);
        }
    }
    Ok(report)
}

/// The record to re-publish: the original key and value, to the original topic.
fn original(
    record: &DlqRecord,
    dlq_topic: &str,
    partition: i32,
    offset: i64,
) -> Result<OutboundRecord, String> {
    let expected = format!("{}{DLQ_SUFFIX}", record.topic);
    if expected != dlq_topic {
        return Err(format!(
            "record names topic `{}`, which does not belong in `{dlq_topic}`",
            record.topic
        ));
    }
    let key = record.key_bytes().map_err(|e| format!("key_b64: {e}"))?;
    let value = record
        .value_bytes()
        .map_err(|e| format!("value_b64: {e}"))?
        .ok_or("the original record had no value; nothing to replay")?;
    Ok(OutboundRecord {
        topic: record.topic.clone(),
        key,
        value,
        headers: vec![(
            HEADER_REPLAYED_FROM.into(),
            format!("{dlq_topic}/{partition}/{offset}").into_bytes(),
        )],
    })
}

/// The DLQ's partitions from their committed position (or the beginning), and each
/// partition's high watermark at the start: the replay reads up to there.
fn assignment(
    consumer: &BaseConsumer,
    topic: &str,
    timeout: Duration,
) -> Result<(HashMap<i32, i64>, TopicPartitionList), ReplayError> {
    let md = consumer
        .fetch_metadata(Some(topic), timeout)
        .map_err(kafka)?;
    let partitions: Vec<i32> = md
        .topics()
        .iter()
        .filter(|t| t.name() == topic && t.error().is_none())
        .flat_map(|t| t.partitions().iter().map(|p| p.id()))
        .collect();
    if partitions.is_empty() {
        return Err(ReplayError::Missing(topic.to_owned()));
    }
    let mut ends = HashMap::new();
    let mut tpl = TopicPartitionList::new();
    for p in partitions {
        let (_, high) = consumer
            .fetch_watermarks(topic, p, timeout)
            .map_err(kafka)?;
        ends.insert(p, high);
        tpl.add_partition_offset(topic, p, Offset::Stored)
            .map_err(kafka)?;
    }
    Ok((ends, tpl))
}

/// Committed positions of the replay group (partitions without one start at 0).
fn positions(
    consumer: &BaseConsumer,
    topic: &str,
    timeout: Duration,
) -> Result<Vec<(i32, i64)>, ReplayError> {
    let committed = consumer.committed(timeout).map_err(kafka)?;
    Ok(committed
        .elements_for_topic(topic)
        .iter()
        .map(|e| match e.offset() {
            Offset::Offset(o) => (e.partition(), o),
            _ => (e.partition(), 0),
        })
        .collect())
}
