//! Reading topics' history: every record from the beginning up to an end per partition,
//! and where that end was. Services rebuild their state from it after a restart (the
//! portfolio from `{broker}.orders.filled`, the strategy runner from its signals and their
//! outcomes); [`super::tail`] can then follow the same partitions live from exactly those
//! ends, so nothing falls between the rebuild and the live records.
//!
//! Where a partition's history ends:
//! - [`read_topics`]: its high watermark when the read starts.
//! - [`read_topics_for`] (a service whose consumer group feeds it the same topics live):
//!   the later of the high watermark and the service group's committed offset
//!   ([`read_end`]). A broker may report a high watermark short of records that exist —
//!   tansu 0.6 reports the last batch's base offset + 1 — while the group has already
//!   handled and committed past them. The live consumer resumes after its committed offset,
//!   so a rebuild that stopped at the short watermark would lose those records for good.
//!   The committed offsets are fetched with the service's group id without joining the
//!   group (an OffsetFetch): the live consumer's assignment is left alone.
//!
//! Invariant: a history is whole or it is an error. Each partition must yield exactly
//! `end − start` records (`start` its low watermark) — [`check_complete`] — or the read fails
//! ([`HistoryError::Incomplete`], [`HistoryError::Stalled`]), and the service that asked
//! fails with it and is restarted by its supervisor: it never starts from a silently
//! partial history. Neither read moves any committed offset.

use super::client::KafkaConnection;
use crate::messages::{Envelope, Payload, decode};
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Message;
use rdkafka::{Offset, TopicPartitionList};
use std::collections::{BTreeMap, HashMap};
use std::time::Duration;
use thiserror::Error;

/// Why a history could not be read. Every variant is fatal to the rebuild that asked: the
/// service fails and its supervisor restarts it (a later attempt may succeed).
#[derive(Debug, Error)]
pub enum HistoryError {
    /// The client, metadata, watermarks or a fetch failed.
    #[error("reading `{topic}` from the start: {reason}")]
    Kafka { topic: String, reason: String },
    /// The service group's committed offsets could not be fetched.
    #[error("fetching the committed offsets of group `{group}` on `{topic}`: {reason}")]
    Committed {
        group: String,
        topic: String,
        reason: String,
    },
    /// A partition yielded no record within the timeout before reaching its end.
    #[error(
        "reading `{topic}`: no record within {timeout:?} before the end of {short} \
         (a committed offset past every record, or a broker that stopped answering)"
    )]
    Stalled {
        topic: String,
        timeout: Duration,
        /// Each unfinished partition: how far it got, its end and why that end.
        short: String,
    },
    /// A partition yielded another number of records than its offsets span (a gap).
    #[error(
        "reading `{topic}` partition {partition}: {read} records in offsets {start}..{end}, \
         expected {expected}; a rebuild from a partial history would silently drop records"
    )]
    Incomplete {
        topic: String,
        partition: i32,
        start: i64,
        end: i64,
        read: u64,
        expected: u64,
    },
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

/// Where a rebuild stops reading a partition: the later of its `high_watermark` and the
/// service group's `committed` offset (`None`: the group never committed the partition).
/// Records below a committed offset exist (the group handled them) even when the broker's
/// watermark says otherwise; records from it on come again through the live consumer.
pub fn read_end(high_watermark: i64, committed: Option<i64>) -> i64 {
    committed.map_or(high_watermark, |c| c.max(high_watermark))
}

/// Checks that reading offsets `start..end` of a partition yielded `read` records, one per
/// offset (none when `end ≤ start`).
///
/// # Errors
/// [`HistoryError::Incomplete`] otherwise.
pub fn check_complete(
    topic: &str,
    partition: i32,
    start: i64,
    end: i64,
    read: u64,
) -> Result<(), HistoryError> {
    let expected = u64::try_from(end.saturating_sub(start)).unwrap_or(0);
    if read == expected {
        return Ok(());
    }
    Err(HistoryError::Incomplete {
        topic: topic.to_owned(),
        partition,
        start,
        end,
        read,
        expected,
    })
}

/// Reads `topics` from the beginning to the high watermarks they have now.
///
/// # Errors
/// Metadata, watermarks or fetches failed within `timeout`, or a partition's history is
/// not whole (see the module invariant).
pub fn read_topics(
    connection: &KafkaConnection,
    topics: &[String],
    timeout: Duration,
) -> Result<History, HistoryError> {
    read(connection, topics, None, timeout)
}

/// Reads `topics` from the beginning for the rebuild of `service`: each partition up to
/// the later of its high watermark and the committed offset of the service's consumer
/// group (`{group_prefix}.{service}`, [`crate::settings::KafkaSettings::consumer_group`]).
/// For a service whose consumer group reads the same topics live.
///
/// # Errors
/// As [`read_topics`]; also [`HistoryError::Committed`] if the group's offsets cannot be
/// fetched, and [`HistoryError::Stalled`] if the records up to a committed offset do not
/// come.
pub fn read_topics_for(
    connection: &KafkaConnection,
    service: &str,
    topics: &[String],
    timeout: Duration,
) -> Result<History, HistoryError> {
    let group = connection.settings.consumer_group(service);
    read(connection, topics, Some(&group), timeout)
}

/// The decodable records of `topic`, in partition-then-offset order, and how many records
/// could not be decoded (they are in the DLQ already, or will be, via the live consumer).
/// Reads to the high watermarks, as [`read_topics`].
///
/// # Errors
/// As [`read_topics`].
pub fn read_history<T: Payload>(
    connection: &KafkaConnection,
    topic: &str,
    timeout: Duration,
) -> Result<(Vec<Envelope<T>>, usize), HistoryError> {
    let history = read_topics(connection, &[topic.to_owned()], timeout)?;
    Ok(decode_all(&history.records))
}

/// [`read_history`] for the rebuild of `service`, reading as [`read_topics_for`].
///
/// # Errors
/// As [`read_topics_for`].
pub fn read_history_for<T: Payload>(
    connection: &KafkaConnection,
    service: &str,
    topic: &str,
    timeout: Duration,
) -> Result<(Vec<Envelope<T>>, usize), HistoryError> {
    let history = read_topics_for(connection, service, &[topic.to_owned()], timeout)?;
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

fn read(
    connection: &KafkaConnection,
    topics: &[String],
    group: Option<&str>,
    timeout: Duration,
) -> Result<History, HistoryError> {
    let mut history = History::default();
    for topic in topics {
        read_one(connection, topic, group, timeout, &mut history)?;
    }
    Ok(history)
}

/// One partition's read: its bounds, and how far it got.
#[derive(Debug)]
struct Span {
    /// The low watermark.
    start: i64,
    /// [`read_end`] of the two below.
    end: i64,
    high: i64,
    committed: Option<i64>,
    read: u64,
    /// The offset after the last record seen (`start` before any).
    next: i64,
    done: bool,
}

impl Span {
    fn describe(&self, partition: i32) -> String {
        let why = match self.committed {
            Some(c) if c > self.high => {
                format!("the group's committed offset; high watermark {}", self.high)
            }
            _ => "the high watermark".to_owned(),
        };
        format!(
            "partition {partition} at offset {} of {} ({why})",
            self.next, self.end
        )
    }
}

fn read_one(
    connection: &KafkaConnection,
    topic: &str,
    group: Option<&str>,
    timeout: Duration,
    history: &mut History,
) -> Result<(), HistoryError> {
    let fail = |e: rdkafka::error::KafkaError| kafka_error(topic, e);
    // A throwaway group: the read must not move any service's committed offsets.
    let reader = format!(
        "{}.history.{}",
        connection.settings.group_prefix,
        uuid::Uuid::new_v4()
    );
    let consumer: BaseConsumer = connection
        .consumer_config(&reader)
        .set("enable.auto.commit", "false")
        .create()
        .map_err(fail)?;
    let mut spans = spans(connection, &consumer, topic, group, timeout)?;
    history.ends.extend(
        spans
            .iter()
            .map(|(partition, span)| (topic.to_owned(), *partition, span.end)),
    );
    let mut tpl = TopicPartitionList::new();
    for (partition, _) in spans.iter().filter(|(_, s)| !s.done) {
        tpl.add_partition_offset(topic, *partition, Offset::Beginning)
            .map_err(fail)?;
    }
    if tpl.count() == 0 {
        return Ok(());
    }
    consumer.assign(&tpl).map_err(fail)?;
    let mut records = read_spans(&consumer, topic, &mut spans, timeout)?;
    records.sort_by_key(|r| (r.partition, r.offset));
    history.records.extend(records);
    Ok(())
}

fn kafka_error(topic: &str, error: rdkafka::error::KafkaError) -> HistoryError {
    HistoryError::Kafka {
        topic: topic.to_owned(),
        reason: error.to_string(),
    }
}

/// Every partition of `topic` with its bounds: from the low watermark to [`read_end`].
fn spans(
    connection: &KafkaConnection,
    consumer: &BaseConsumer,
    topic: &str,
    group: Option<&str>,
    timeout: Duration,
) -> Result<BTreeMap<i32, Span>, HistoryError> {
    let fail = |e| kafka_error(topic, e);
    let md = consumer
        .fetch_metadata(Some(topic), timeout)
        .map_err(fail)?;
    let partitions: Vec<i32> = md
        .topics()
        .iter()
        .filter(|t| t.name() == topic)
        .flat_map(|t| t.partitions().iter().map(|p| p.id()))
        .collect();
    let committed = match group {
        Some(group) => committed_offsets(connection, group, topic, &partitions, timeout)?,
        None => HashMap::new(),
    };
    let mut spans = BTreeMap::new();
    for partition in partitions {
        let (low, high) = consumer
            .fetch_watermarks(topic, partition, timeout)
            .map_err(fail)?;
        let committed = committed.get(&partition).copied();
        let end = read_end(high, committed);
        let span = Span {
            start: low,
            end,
            high,
            committed,
            read: 0,
            next: low,
            done: end <= low,
        };
        spans.insert(partition, span);
    }
    Ok(spans)
}

/// Polls the assigned partitions until every span is read to its end, each checked whole.
fn read_spans(
    consumer: &BaseConsumer,
    topic: &str,
    spans: &mut BTreeMap<i32, Span>,
    timeout: Duration,
) -> Result<Vec<RawRecord>, HistoryError> {
    let mut records = Vec::new();
    while spans.values().any(|s| !s.done) {
        let Some(polled) = consumer.poll(timeout) else {
            let short: Vec<String> = spans
                .iter()
                .filter(|(_, s)| !s.done)
                .map(|(p, s)| s.describe(*p))
                .collect();
            return Err(HistoryError::Stalled {
                topic: topic.to_owned(),
                timeout,
                short: short.join(", "),
            });
        };
        let message = polled.map_err(|e| kafka_error(topic, e))?;
        let (partition, offset) = (message.partition(), message.offset());
        let Some(span) = spans.get_mut(&partition).filter(|s| !s.done) else {
            continue;
        };
        if offset < span.end {
            records.push(RawRecord {
                topic: topic.to_owned(),
                partition,
                offset,
                value: message.payload().unwrap_or_default().to_vec(),
            });
            span.read += 1;
        }
        span.next = offset + 1;
        if span.next >= span.end {
            span.done = true;
            check_complete(topic, partition, span.start, span.end, span.read)?;
        }
    }
    Ok(records)
}

/// The committed offsets of `group` on `partitions` of `topic` (a partition the group never
/// committed is absent). An OffsetFetch with the group's id: the consumer made for it
/// neither subscribes nor assigns, so it never joins the group.
fn committed_offsets(
    connection: &KafkaConnection,
    group: &str,
    topic: &str,
    partitions: &[i32],
    timeout: Duration,
) -> Result<HashMap<i32, i64>, HistoryError> {
    let fail = |reason: String| HistoryError::Committed {
        group: group.to_owned(),
        topic: topic.to_owned(),
        reason,
    };
    let consumer: BaseConsumer = connection
        .consumer_config(group)
        .set("enable.auto.commit", "false")
        .create()
        .map_err(|e| fail(e.to_string()))?;
    let mut tpl = TopicPartitionList::new();
    for partition in partitions {
        tpl.add_partition(topic, *partition);
    }
    let fetched = consumer
        .committed_offsets(tpl, timeout)
        .map_err(|e| fail(e.to_string()))?;
    let mut out = HashMap::new();
    for element in fetched.elements() {
        element
            .error()
            .map_err(|e| fail(format!("partition {}: {e}", element.partition())))?;
        if let Offset::Offset(offset) = element.offset() {
            out.insert(element.partition(), offset);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rebuild_reads_to_the_later_of_the_high_watermark_and_the_committed_offset() {
        // (case, high watermark, committed, end)
        let cases = [
            ("never committed: the high watermark", 8, None, 8),
            (
                "committed behind the high watermark (normal)",
                8,
                Some(5),
                8,
            ),
            ("committed at the high watermark", 8, Some(8), 8),
            ("high watermark under-reported", 1, Some(8), 8),
            ("empty partition, never committed", 0, None, 0),
            ("committed on a partition reported empty", 0, Some(3), 3),
        ];
        for (case, high, committed, end) in cases {
            assert_eq!(read_end(high, committed), end, "{case}");
        }
    }

    #[test]
    fn a_partition_is_complete_only_with_one_record_per_offset() {
        // (case, start, end, read, complete)
        let cases = [
            ("every record", 0, 8, 8, true),
            (
                "every record after retention moved the start",
                5,
                8,
                3,
                true,
            ),
            ("empty", 4, 4, 0, true),
            ("an end behind the start reads nothing", 4, 2, 0, true),
            ("a gap", 0, 8, 7, false),
            ("more records than offsets", 0, 8, 9, false),
            ("nothing where records were due", 0, 3, 0, false),
        ];
        for (case, start, end, read, complete) in cases {
            let result = check_complete("t", 2, start, end, read);
            assert_eq!(result.is_ok(), complete, "{case}: {result:?}");
        }
        let error = check_complete("paper.orders.filled", 2, 0, 8, 5).unwrap_err();
        assert_eq!(
            error.to_string(),
            "reading `paper.orders.filled` partition 2: 5 records in offsets 0..8, expected 8; \
             a rebuild from a partial history would silently drop records"
        );
    }
}
