//! DLQ replay: re-publish each dead-lettered record's original key and bytes to the topic
//! it came from.
//!
//! Progress is committed per record (after its re-publish is acknowledged) under the
//! consumer group `{group_prefix}.dlq-replay`, so a record is replayed once even across
//! interrupted runs, and a replay never skips a record it has not re-published. A dry run
//! reads and reports without publishing or committing.
//!
//! Chunked records (a record too large for one DLQ record, see `crate::messages::dlq`) are
//! collected per chunk id and re-published once the set is complete, after its length and
//! SHA-256 are checked. The committed position of a partition never passes the first chunk
//! of a set not yet re-published, so an interrupted replay reads the set again. A set still
//! incomplete at the end (cut short by a crash; the record was dead-lettered again in
//! full) is reported as unreadable, never re-published.
//!
//! Every DLQ record read is listed in the report ([`ReplayEntry`]: where it is, what it
//! holds, why it failed), so a dry run shows what would be replayed, one line each.

use super::client::KafkaConnection;
use super::producer::{OutboundRecord, ProducerHandle, PublishError};
use super::topics::DLQ_SUFFIX;
use crate::messages::{ChunkSet, DlqRecord, Reassembled, decode};
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
    /// Original records re-published (or, in a dry run, that would be) per original topic;
    /// a chunked record counts once.
    pub replayed: BTreeMap<String, usize>,
    /// DLQ records that could not be replayed: (partition, offset, reason).
    pub unreadable: Vec<(i32, i64, String)>,
    /// One entry per original record replayed (or that would be), in DLQ order.
    pub entries: Vec<ReplayEntry>,
    pub dry_run: bool,
}

/// One original record found in the DLQ.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplayEntry {
    /// The DLQ partition and offset of its (first) DLQ record.
    pub partition: i32,
    pub offset: i64,
    /// How many DLQ records held it (1, or its chunk count).
    pub dlq_records: u32,
    /// Where it was consumed from.
    pub topic: String,
    pub original_partition: i32,
    pub original_offset: i64,
    /// The original key, as text when it is UTF-8, else as hex.
    pub key: Option<String>,
    /// Bytes of the original key plus value.
    pub size: u64,
    pub error_kind: String,
    pub error: String,
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

/// The largest record librdkafka's producer can be allowed (`message.max.bytes`).
const REPLAY_MAX_RECORD_BYTES: &str = "1000000000";

/// `connection` with the producer's record limit lifted, for the replay's producer: a
/// dead-lettered record already fitted the broker once, and the replay must restore it
/// byte for byte however large it is (the broker's own limit still applies).
pub fn replay_connection(connection: &KafkaConnection) -> KafkaConnection {
    let mut replay = connection.clone();
    replay
        .settings
        .client
        .insert("message.max.bytes".into(), REPLAY_MAX_RECORD_BYTES.into());
    replay
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
    let mut sets: HashMap<String, PendingSet> = HashMap::new();
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
        let at = At { partition, offset };
        match decode::<DlqRecord>(message.payload().unwrap_or_default()) {
            Err(e) => report.unreadable.push((partition, offset, e.to_string())),
            Ok(envelope) => {
                let record = envelope.data;
                match collect(&mut sets, record, at) {
                    Err(reason) => report.unreadable.push((partition, offset, reason)),
                    Ok(None) => {}
                    Ok(Some((record, first, count, original))) => {
                        republish(
                            producer,
                            options,
                            &mut report,
                            &record,
                            first,
                            count,
                            original,
                        )
                        .await?;
                    }
                }
            }
        }
        if !options.dry_run {
            // Never past the first chunk of a set not re-published yet.
            let next = sets
                .values()
                .filter(|s| s.first.partition == partition)
                .map(|s| s.first.offset)
                .min()
                .unwrap_or(offset + 1);
            let mut done = TopicPartitionList::new();
            done.add_partition_offset(&options.dlq_topic, partition, Offset::Offset(next))
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
    let reached_end = remaining.is_empty();
    let mut left: Vec<PendingSet> = sets.into_values().collect();
    left.sort_by_key(|s| (s.first.partition, s.first.offset));
    for set in left {
        if reached_end {
            let (have, of) = set.chunks.progress();
            report.unreadable.push((
                set.first.partition,
                set.first.offset,
                format!("incomplete chunked record: {have} of {of} chunks (the record was dead-lettered again in full, or the DLQ lost records)"),
            ));
        }
    }
    Ok(report)
}

/// Where a DLQ record is.
#[derive(Debug, Clone, Copy)]
struct At {
    partition: i32,
    offset: i64,
}

/// A chunk set being collected.
struct PendingSet {
    first: At,
    chunks: ChunkSet,
}

/// A DLQ record in: the original record once it is whole (with the DLQ record that
/// describes it, where its first DLQ record is and how many there were), `None` while a
/// chunk set is incomplete.
fn collect(
    sets: &mut HashMap<String, PendingSet>,
    record: DlqRecord,
    at: At,
) -> Result<Option<(DlqRecord, At, u32, Reassembled)>, String> {
    let Some(chunk) = &record.chunk else {
        let key = record.key_bytes().map_err(|e| format!("key_b64: {e}"))?;
        let value = record
            .value_bytes()
            .map_err(|e| format!("value_b64: {e}"))?;
        return Ok(Some((record, at, 1, Reassembled { key, value })));
    };
    let set = match sets.entry(chunk.id.clone()) {
        std::collections::hash_map::Entry::Occupied(e) => {
            let set = e.into_mut();
            set.chunks.add(chunk)?;
            set
        }
        std::collections::hash_map::Entry::Vacant(v) => v.insert(PendingSet {
            first: at,
            chunks: ChunkSet::new(chunk)?,
        }),
    };
    let first = set.first;
    let result = set.chunks.finish();
    let count = set.chunks.progress().1;
    match result {
        Ok(None) => Ok(None),
        Ok(Some(original)) => {
            sets.remove(&chunk.id);
            Ok(Some((record, first, count, original)))
        }
        Err(reason) => {
            sets.remove(&chunk.id);
            Err(reason)
        }
    }
}

/// Re-publishes (unless a dry run) one whole original record and reports it.
async fn republish(
    producer: &ProducerHandle,
    options: &ReplayOptions,
    report: &mut ReplayReport,
    record: &DlqRecord,
    first: At,
    dlq_records: u32,
    original_record: Reassembled,
) -> Result<(), ReplayError> {
    let outbound = match original(record, original_record, &options.dlq_topic, first) {
        Ok(outbound) => outbound,
        Err(reason) => {
            report
                .unreadable
                .push((first.partition, first.offset, reason));
            return Ok(());
        }
    };
    report.entries.push(ReplayEntry {
        partition: first.partition,
        offset: first.offset,
        dlq_records,
        topic: record.topic.clone(),
        original_partition: record.partition,
        original_offset: record.offset,
        key: outbound.key.as_deref().map(printable),
        size: (outbound.key.as_ref().map_or(0, Vec::len) + outbound.value.len()) as u64,
        error_kind: record.error_kind.to_string(),
        error: record.error.clone(),
    });
    if !options.dry_run {
        producer
            .publish(outbound)
            .await
            .map_err(|source| ReplayError::Publish {
                partition: first.partition,
                offset: first.offset,
                source,
            })?;
    }
    *report.replayed.entry(record.topic.clone()).or_default() += 1;
    Ok(())
}

/// A key for humans: the text when it is UTF-8, else `0x` and hex.
fn printable(key: &[u8]) -> String {
    match std::str::from_utf8(key) {
        Ok(text) => text.to_owned(),
        Err(_) => format!(
            "0x{}",
            key.iter().map(|b| format!("{b:02x}")).collect::<String>()
        ),
    }
}

/// The record to re-publish: the original key and value, to the original topic.
fn original(
    record: &DlqRecord,
    original: Reassembled,
    dlq_topic: &str,
    at: At,
) -> Result<OutboundRecord, String> {
    let expected = format!("{}{DLQ_SUFFIX}", record.topic);
    if expected != dlq_topic {
        return Err(format!(
            "record names topic `{}`, which does not belong in `{dlq_topic}`",
            record.topic
        ));
    }
    let value = original
        .value
        .ok_or("the original record had no value; nothing to replay")?;
    Ok(OutboundRecord {
        topic: record.topic.clone(),
        key: original.key,
        value,
        headers: vec![(
            HEADER_REPLAYED_FROM.into(),
            format!("{dlq_topic}/{}/{}", at.partition, at.offset).into_bytes(),
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
