//! Writing a record to its dead-letter topic so that it cannot fail for good.
//!
//! - Size: a record whose DLQ copy would exceed the producer's record limit is written as
//!   chunks ([`DlqRecord::chunked`], design in `crate::messages::dlq`); if the broker still
//!   refuses a record as too large (its own limit is lower), the chunks are halved, down to
//!   [`MIN_RECORD_BYTES`].
//! - Transient failures (broker down, timeouts) are retried with capped backoff for as long
//!   as they last: a dead-lettered record must never be dropped, and its offset is held
//!   back until the write is acknowledged. The write runs as the record's pending output,
//!   beside the consume loop, so the consumer keeps handling its other records and
//!   partitions meanwhile.
//! - Counting and the "record dead-lettered" line happen once, when every DLQ record of the
//!   write has been acknowledged — never per attempt. Failed attempts are logged as such
//!   (the first, then every [`LOG_EVERY`]th).

use super::stats::ConsumerStats;
use crate::messages::{DlqErrorKind, DlqRecord, Envelope, RecordOrigin, bounded_reason, encode};
use crate::streaming::producer::{
    Delivered, HEADER_EVENT_TYPE, OutboundRecord, PendingDelivery, ProducerHandle, PublishError,
};
use crate::streaming::retry::Backoff;
use crate::streaming::topics::DLQ_SUFFIX;
use crate::telemetry::metrics;
use futures::future::join_all;
use std::sync::Arc;
use std::sync::atomic::Ordering;

/// librdkafka's default `message.max.bytes`, the producer's record limit unless the
/// `kafka.client` settings raise or lower it.
pub const DEFAULT_MAX_RECORD_BYTES: usize = 1_000_000;
/// The smallest record limit chunks are cut for, however often the broker says too large.
pub const MIN_RECORD_BYTES: usize = 32 * 1024;
/// Room kept in each record for everything but the chunk's data: envelope, reason (at
/// most `MAX_REASON_BYTES`), names, key and headers.
const RESERVE_BYTES: usize = 16 * 1024;
/// A write that keeps failing is logged on its first failure and every this many after.
const LOG_EVERY: u32 = 10;

/// The bytes of a consumed record, kept while it is in flight in case it must be
/// dead-lettered.
#[derive(Debug, Clone)]
pub struct RecordBytes {
    pub key: Option<Vec<u8>>,
    pub value: Option<Vec<u8>>,
}

/// What to dead-letter and why.
pub struct Failure {
    pub origin: RecordOrigin,
    pub kind: DlqErrorKind,
    pub reason: String,
    pub attempts: u32,
}

/// Writes DLQ records for one consumer.
#[derive(Clone)]
pub struct DeadLetters {
    pub producer: ProducerHandle,
    pub service: String,
    pub backoff: Backoff,
    pub stats: Arc<ConsumerStats>,
    /// The producer's record limit (`message.max.bytes`).
    pub max_record_bytes: usize,
}

impl DeadLetters {
    /// The DLQ write of `record` as a pending output: it resolves once the record is in its
    /// DLQ (every chunk acknowledged), retrying until then; it never resolves to an error.
    pub fn write(&self, record: &RecordBytes, failure: Failure) -> PendingDelivery {
        let this = self.clone();
        let record = record.clone();
        Box::pin(async move { Ok(this.write_until_done(record, failure).await) })
    }

    async fn write_until_done(self, record: RecordBytes, failure: Failure) -> Delivered {
        let reason = bounded_reason(failure.reason.clone());
        let mut limit = self.max_record_bytes.max(MIN_RECORD_BYTES);
        let mut failed: u32 = 0;
        loop {
            let records = self.records(&record, &failure, &reason, limit);
            let chunks = records.len();
            // Enqueued in order, so the chunks of a set land in order on one partition.
            let pending: Vec<PendingDelivery> = records
                .into_iter()
                .map(|r| self.producer.publish(r))
                .collect();
            let results = join_all(pending).await;
            let error = results.iter().find_map(|r| r.as_ref().err()).cloned();
            let Some(error) = error else {
                let last = results.into_iter().flatten().last().unwrap_or(Delivered {
                    partition: -1,
                    offset: -1,
                });
                self.written(&record, &failure, &reason, chunks, last);
                return last;
            };
            failed = failed.saturating_add(1);
            self.stats
                .dlq_write_failures
                .fetch_add(1, Ordering::Relaxed);
            crate::telemetry::metrics::dlq_write_failure(&failure.origin.topic);
            if too_large(&error) && limit > MIN_RECORD_BYTES {
                limit = (limit / 2).max(MIN_RECORD_BYTES);
                tracing::warn!(service = %self.service, topic = %failure.origin.topic, partition = failure.origin.partition, offset = failure.origin.offset, error = %error, limit, "DLQ record refused as too large; writing smaller chunks");
                continue;
            }
            let delay = self.backoff.delay(failed.min(self.backoff.attempts()));
            if failed == 1 || failed.is_multiple_of(LOG_EVERY) {
                tracing::error!(service = %self.service, topic = %failure.origin.topic, partition = failure.origin.partition, offset = failure.origin.offset, attempt = failed, ?delay, error = %error, "dead-lettering failed; retrying (the record's offset is held back, other records go on)");
            }
            tokio::time::sleep(delay).await;
        }
    }

    fn written(
        &self,
        record: &RecordBytes,
        failure: &Failure,
        reason: &str,
        chunks: usize,
        at: Delivered,
    ) {
        self.stats.dead_lettered.fetch_add(1, Ordering::Relaxed);
        metrics::dlq_record(&failure.origin.topic);
        let size =
            record.key.as_ref().map_or(0, Vec::len) + record.value.as_ref().map_or(0, Vec::len);
        tracing::error!(
            service = %self.service,
            topic = %failure.origin.topic,
            partition = failure.origin.partition,
            offset = failure.origin.offset,
            kind = %failure.kind,
            error = %reason,
            size,
            chunks,
            dlq_partition = at.partition,
            dlq_offset = at.offset,
            "record dead-lettered"
        );
        // Deduplicated per topic by the dispatcher: a growing DLQ is one alert per window,
        // with the count of the records held back.
        crate::alerts::raise(crate::alerts::Alert::new(
            crate::alerts::AlertKind::DlqRecord,
            failure.origin.topic.as_str(),
            format!(
                "{} dead-lettered a record of {} (partition {}, offset {}; {}): {reason}. Fix \
                 the cause, then replay if wanted: alpha-panda dlq replay --topic {}.dlq",
                self.service,
                failure.origin.topic,
                failure.origin.partition,
                failure.origin.offset,
                failure.kind,
                failure.origin.topic
            ),
        ));
    }

    /// The DLQ records of one write: one plain record if it fits in `limit`, else chunks.
    fn records(
        &self,
        record: &RecordBytes,
        failure: &Failure,
        reason: &str,
        limit: usize,
    ) -> Vec<OutboundRecord> {
        let why = (failure.kind, reason.to_owned());
        let (key, value) = (record.key.as_deref(), record.value.as_deref());
        let plain = DlqRecord::new(
            &failure.origin,
            key,
            value,
            why.clone(),
            failure.attempts,
            &self.service,
        );
        let value_bytes = encode(&Envelope::root(plain, &self.service, chrono::Utc::now()));
        let plain_size = value_bytes.len() + key.map_or(0, <[u8]>::len) + 1024;
        if plain_size <= limit {
            return vec![self.outbound(&failure.origin, record.key.clone(), value_bytes)];
        }
        // Base64 turns 3 bytes into 4: the data must fit in what the reserve leaves.
        let chunk_bytes = (limit.saturating_sub(RESERVE_BYTES) / 4 * 3).max(1);
        DlqRecord::chunked(
            &failure.origin,
            key,
            value,
            why,
            failure.attempts,
            &self.service,
            chunk_bytes,
        )
        .into_iter()
        .map(|chunk| {
            // The chunk id as the key puts every chunk of the set on one DLQ partition.
            let id = chunk.chunk.as_ref().map(|c| c.id.clone().into_bytes());
            let bytes = encode(&Envelope::root(chunk, &self.service, chrono::Utc::now()));
            self.outbound(&failure.origin, id, bytes)
        })
        .collect()
    }

    fn outbound(
        &self,
        origin: &RecordOrigin,
        key: Option<Vec<u8>>,
        value: Vec<u8>,
    ) -> OutboundRecord {
        OutboundRecord {
            topic: format!("{}{DLQ_SUFFIX}", origin.topic),
            key,
            value,
            headers: vec![(HEADER_EVENT_TYPE.into(), b"dlq_record".to_vec())],
        }
    }
}

/// Whether the broker or the producer refused a record for its size. The producer keeps
/// only the error's text (`PublishError::Permanent`), so the librdkafka codes are matched
/// by name.
fn too_large(error: &PublishError) -> bool {
    match error {
        PublishError::Permanent { reason, .. } => [
            "MessageSizeTooLarge",
            "InvalidMessageSize",
            "RecordListTooLarge",
            "too large",
        ]
        .iter()
        .any(|s| reason.contains(s)),
        _ => false,
    }
}

/// The producer's record limit from the `kafka.client` settings, or librdkafka's default.
pub fn max_record_bytes(client: &std::collections::BTreeMap<String, String>) -> usize {
    client
        .get("message.max.bytes")
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(DEFAULT_MAX_RECORD_BYTES)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::messages::{ChunkSet, decode};
    use crate::settings::RetrySettings;
    use crate::testkit::Probe;

    fn letters(max_record_bytes: usize) -> DeadLetters {
        let probe = Probe::acking_producer();
        DeadLetters {
            producer: ProducerHandle::new(probe.recipient()),
            service: "svc".into(),
            backoff: Backoff::new(&RetrySettings {
                base_ms: 10,
                factor: 2.0,
                max_ms: 50,
                attempts: 3,
                jitter: 0.0,
            }),
            stats: Arc::new(ConsumerStats::default()),
            max_record_bytes,
        }
    }

    fn failure() -> Failure {
        Failure {
            origin: RecordOrigin {
                topic: "market.ticks".into(),
                partition: 3,
                offset: 77,
            },
            kind: DlqErrorKind::Decode,
            reason: "malformed".into(),
            attempts: 1,
        }
    }

    #[actix::test]
    async fn a_small_record_is_one_plain_dlq_record_keyed_like_the_original() {
        let l = letters(DEFAULT_MAX_RECORD_BYTES);
        let record = RecordBytes {
            key: Some(b"738561".to_vec()),
            value: Some(vec![0xff; 100]),
        };
        let out = l.records(&record, &failure(), "malformed", DEFAULT_MAX_RECORD_BYTES);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].topic, "market.ticks.dlq");
        assert_eq!(out[0].key.as_deref(), Some(&b"738561"[..]));
        let dlq = decode::<DlqRecord>(&out[0].value).map(|e| e.data);
        assert!(dlq.as_ref().is_ok_and(|d| d.chunk.is_none()), "{dlq:?}");
    }

    #[actix::test]
    async fn an_oversized_record_becomes_chunks_within_the_limit_that_rebuild_it() {
        let limit = 100_000;
        let l = letters(limit);
        let value: Vec<u8> = (0..350_000u32).map(|i| (i % 256) as u8).collect();
        let record = RecordBytes {
            key: None,
            value: Some(value.clone()),
        };
        let out = l.records(&record, &failure(), "malformed", limit);
        assert!(out.len() >= 5, "{} chunks", out.len());
        let key = out[0].key.clone();
        let mut set: Option<ChunkSet> = None;
        for r in &out {
            assert!(
                r.value.len() + 1024 <= limit,
                "record of {} bytes",
                r.value.len()
            );
            assert_eq!(r.key, key, "one key, one DLQ partition");
            let dlq = decode::<DlqRecord>(&r.value).map(|e| e.data);
            let Ok(DlqRecord {
                chunk: Some(chunk), ..
            }) = dlq
            else {
                panic!("not a chunk: {dlq:?}");
            };
            match &mut set {
                None => set = ChunkSet::new(&chunk).ok(),
                Some(s) => assert_eq!(s.add(&chunk), Ok(())),
            }
        }
        let rebuilt = set.map(|s| s.finish());
        assert!(
            matches!(&rebuilt, Some(Ok(Some(r))) if r.key.is_none() && r.value.as_deref() == Some(&value[..])),
            "rebuilt byte for byte"
        );
    }

    #[actix::test]
    async fn a_written_dlq_record_raises_a_dlq_alert_naming_its_topic() {
        let alerts = crate::alerts::capture::Capture::start();
        let l = letters(DEFAULT_MAX_RECORD_BYTES);
        let record = RecordBytes {
            key: Some(b"1".to_vec()),
            value: Some(b"not json".to_vec()),
        };
        l.write(&record, failure()).await.unwrap();
        let raised = alerts.of(crate::alerts::AlertKind::DlqRecord);
        assert_eq!(raised.len(), 1, "{raised:?}");
        assert_eq!(raised[0].subject, "market.ticks");
        assert!(
            raised[0]
                .message
                .starts_with("svc dead-lettered a record of market.ticks (partition 3, offset 77;"),
            "{}",
            raised[0].message
        );
    }

    #[test]
    fn reads_the_record_limit_from_the_client_settings() {
        let mut client = std::collections::BTreeMap::new();
        assert_eq!(max_record_bytes(&client), DEFAULT_MAX_RECORD_BYTES);
        client.insert("message.max.bytes".to_owned(), "2000000".to_owned());
        assert_eq!(max_record_bytes(&client), 2_000_000);
    }

    #[test]
    fn knows_a_size_refusal_from_other_failures() {
        let permanent = |reason: &str| PublishError::Permanent {
            topic: "t".into(),
            reason: reason.into(),
        };
        assert!(too_large(&permanent(
            "Message production error: MessageSizeTooLarge (Broker: Message size too large)"
        )));
        assert!(!too_large(&permanent("UnknownTopic")));
        assert!(!too_large(&PublishError::Transient {
            topic: "t".into(),
            reason: "MessageSizeTooLarge".into()
        }));
    }
}
