//! The measuring consumer: a plain rdkafka consumer on its own thread, outside the
//! pipeline's actors, that reads every measured topic and joins what it reads.
//!
//! It has its own throwaway group id, commits nothing, and is assigned every partition at
//! the end offset the partition had when it started (`auto.offset.reset = latest` would
//! resolve "the end" lazily, at the first fetch, and could skip the first records): every
//! record produced after [`Measurer::start`] returns is read, none produced before. Only
//! the record headers are read (`correlation-id`, `ap-sent-ns`); the topic gives the kind.
//! A record at an offset at or below the last one read from its partition is a re-read by
//! this consumer, counted apart and not joined, so it is never mistaken for a duplicate.

use super::BenchError;
use super::chains::{Chains, Counts, Kind, Observation};
use crate::streaming::KafkaConnection;
use crate::streaming::producer::{HEADER_CORRELATION_ID, HEADER_SENT_NS};
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::{BorrowedMessage, Headers, Message};
use rdkafka::{Offset, TopicPartitionList};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use uuid::Uuid;

/// How long one poll waits before the stop flag is looked at again.
const POLL: Duration = Duration::from_millis(50);

/// The running measurer.
pub struct Measurer {
    stop: Arc<AtomicBool>,
    chains: Arc<Mutex<Chains>>,
    thread: JoinHandle<Result<(), BenchError>>,
}

impl Measurer {
    /// Assigns the measured topics at their current ends and starts reading.
    ///
    /// # Errors
    /// The consumer cannot be created, or metadata or watermarks do not come within
    /// `timeout`.
    pub async fn start(
        connection: &KafkaConnection,
        timeout: Duration,
    ) -> Result<Measurer, BenchError> {
        let consumer = assigned_at_end(connection.clone(), timeout).await?;
        let stop = Arc::new(AtomicBool::new(false));
        let chains = Arc::new(Mutex::new(Chains::default()));
        let (s, c) = (stop.clone(), chains.clone());
        let thread = std::thread::Builder::new()
            .name("bench-measurer".into())
            .spawn(move || read(&consumer, &s, &c))
            .map_err(|e| BenchError::Kafka(format!("starting the measurer thread: {e}")))?;
        Ok(Measurer {
            stop,
            chains,
            thread,
        })
    }

    /// The counts so far.
    pub fn counts(&self) -> Counts {
        self.chains.lock().map(|c| c.counts()).unwrap_or_default()
    }

    /// Stops reading and hands over what was read.
    ///
    /// # Errors
    /// A fatal consumer error ended the reading early.
    pub fn stop(self) -> Result<Chains, BenchError> {
        self.stop.store(true, Ordering::SeqCst);
        self.thread
            .join()
            .map_err(|_| BenchError::Kafka("the measurer thread panicked".into()))??;
        let mutex = Arc::try_unwrap(self.chains)
            .map_err(|_| BenchError::Kafka("the measurer still holds its records".into()))?;
        mutex
            .into_inner()
            .map_err(|_| BenchError::Kafka("the measurer's records are poisoned".into()))
    }
}

/// A consumer assigned every partition of the measured topics at its high watermark.
async fn assigned_at_end(
    connection: KafkaConnection,
    timeout: Duration,
) -> Result<BaseConsumer, BenchError> {
    tokio::task::spawn_blocking(move || {
        let fail =
            |what: &str, e: &dyn std::fmt::Display| BenchError::Kafka(format!("{what}: {e}"));
        let group = format!(
            "{}.bench.{}",
            connection.settings.group_prefix,
            Uuid::new_v4()
        );
        let consumer: BaseConsumer = connection
            .consumer_config(&group)
            .set("enable.auto.commit", "false")
            .set("auto.offset.reset", "latest")
            .create()
            .map_err(|e| fail("creating the measuring consumer", &e))?;
        let mut tpl = TopicPartitionList::new();
        for kind in Kind::ALL {
            let topic = kind.topic().name();
            let md = consumer
                .fetch_metadata(Some(&topic), timeout)
                .map_err(|e| fail(&format!("metadata of {topic}"), &e))?;
            let partitions: Vec<i32> = md
                .topics()
                .iter()
                .filter(|t| t.name() == topic)
                .flat_map(|t| t.partitions().iter().map(|p| p.id()))
                .collect();
            if partitions.is_empty() {
                return Err(BenchError::Kafka(format!(
                    "topic {topic} has no partitions"
                )));
            }
            for p in partitions {
                let (_, high) = consumer
                    .fetch_watermarks(&topic, p, timeout)
                    .map_err(|e| fail(&format!("watermarks of {topic}/{p}"), &e))?;
                tpl.add_partition_offset(&topic, p, Offset::Offset(high))
                    .map_err(|e| fail("assignment", &e))?;
            }
        }
        consumer
            .assign(&tpl)
            .map_err(|e| fail("assigning the measured partitions", &e))?;
        Ok(consumer)
    })
    .await
    .map_err(|e| BenchError::Kafka(format!("measurer set-up task: {e}")))?
}

fn now_ns() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
}

/// Polls until `stop`, adding every record to `chains`.
fn read(
    consumer: &BaseConsumer,
    stop: &AtomicBool,
    chains: &Mutex<Chains>,
) -> Result<(), BenchError> {
    let kinds: Vec<(String, Kind)> = Kind::ALL.map(|k| (k.topic().name(), k)).to_vec();
    let mut last_offsets: HashMap<(Kind, i32), i64> = HashMap::new();
    while !stop.load(Ordering::SeqCst) {
        let Some(polled) = consumer.poll(POLL) else {
            continue;
        };
        let message = match polled {
            Ok(m) => m,
            Err(e) => {
                tracing::debug!(error = %e, "bench measurer: consumer error");
                continue;
            }
        };
        let seen_ns = now_ns();
        let Some(kind) = kinds
            .iter()
            .find(|(t, _)| t == message.topic())
            .map(|(_, k)| *k)
        else {
            continue;
        };
        let Ok(mut chains) = chains.lock() else {
            return Err(BenchError::Kafka(
                "the measurer's records are poisoned".into(),
            ));
        };
        let last = last_offsets
            .entry((kind, message.partition()))
            .or_insert(-1);
        if message.offset() <= *last {
            chains.reread();
            continue;
        }
        *last = message.offset();
        match stamp(&message) {
            Some((correlation_id, sent_ns)) => chains.observe(Observation {
                kind,
                correlation_id,
                sent_ns,
                seen_ns,
            }),
            None => chains.unreadable(),
        }
    }
    Ok(())
}

/// The record's correlation id and `ap-sent-ns`, if both headers are readable.
fn stamp(message: &BorrowedMessage<'_>) -> Option<(Uuid, i64)> {
    let mut correlation_id = None;
    let mut sent_ns = None;
    for h in message.headers()?.iter() {
        let text = h.value.and_then(|v| std::str::from_utf8(v).ok());
        match h.key {
            HEADER_CORRELATION_ID => correlation_id = text.and_then(|t| Uuid::parse_str(t).ok()),
            HEADER_SENT_NS => sent_ns = text.and_then(|t| t.parse::<i64>().ok()),
            _ => {}
        }
    }
    Some((correlation_id?, sent_ns?))
}
