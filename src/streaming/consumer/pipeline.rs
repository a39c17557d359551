//! The consume loop: receive, decode, dispatch, retry, dead-letter, track completion,
//! store offsets. Plain async code the [`super::ConsumerActor`] runs as a task.

use super::meters::{self, HandlerLatency};
use super::routing::Routes;
use super::window::PartitionWindow;
use super::{Completion, HandlerError};
use crate::messages::{DecodeError, DlqErrorKind, DlqRecord, Envelope, RecordOrigin};
use crate::streaming::producer::{OutboundRecord, ProducerHandle, PublishError};
use crate::streaming::retry::Backoff;
use crate::streaming::topics::DLQ_SUFFIX;
use crate::telemetry::metrics;
use futures::StreamExt;
use futures::future::{BoxFuture, try_join_all};
use futures::stream::FuturesUnordered;
use rdkafka::consumer::{
    BaseConsumer, CommitMode, Consumer, ConsumerContext, Rebalance, StreamConsumer,
};
use rdkafka::message::{Message, OwnedMessage};
use rdkafka::{ClientContext, Offset};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, oneshot, watch};

type Partition = (String, i32);

/// A record waiting out an unavailable dependency is logged every this many attempts.
const UNAVAILABLE_LOG_EVERY: u32 = 20;

/// Counters of every outcome. Shared with whoever wants to read them (metrics, tests).
#[derive(Debug, Default)]
pub struct ConsumerStats {
    pub received: AtomicU64,
    pub handled: AtomicU64,
    pub completed: AtomicU64,
    pub retries: AtomicU64,
    pub dead_lettered: AtomicU64,
    pub delivery_failures: AtomicU64,
    pub rewinds: AtomicU64,
    pub receive_errors: AtomicU64,
}

/// A copy of the counters at one moment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StatsSnapshot {
    pub received: u64,
    pub handled: u64,
    pub completed: u64,
    pub retries: u64,
    pub dead_lettered: u64,
    pub delivery_failures: u64,
    pub rewinds: u64,
    pub receive_errors: u64,
}

impl ConsumerStats {
    pub fn snapshot(&self) -> StatsSnapshot {
        let g = |a: &AtomicU64| a.load(Ordering::Relaxed);
        StatsSnapshot {
            received: g(&self.received),
            handled: g(&self.handled),
            completed: g(&self.completed),
            retries: g(&self.retries),
            dead_lettered: g(&self.dead_lettered),
            delivery_failures: g(&self.delivery_failures),
            rewinds: g(&self.rewinds),
            receive_errors: g(&self.receive_errors),
        }
    }
}

fn bump(counter: &AtomicU64) {
    counter.fetch_add(1, Ordering::Relaxed);
}

/// Where the loop stands: per partition, the last offset stored for commit and how many
/// records are in the window.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Progress {
    pub stored: HashMap<Partition, i64>,
    pub in_window: HashMap<Partition, usize>,
    pub stats: StatsSnapshot,
}

/// Rebalance hooks: commits stored offsets before partitions are revoked, and tells the
/// loop to forget their windows.
pub struct PipelineContext {
    revoked: Mutex<Vec<Partition>>,
    /// Labels the lag gauges set from librdkafka's statistics.
    service: String,
}

impl PipelineContext {
    pub fn new(service: &str) -> Self {
        PipelineContext {
            revoked: Mutex::new(Vec::new()),
            service: service.to_owned(),
        }
    }

    fn take_revoked(&self) -> Vec<Partition> {
        self.revoked
            .lock()
            .map(|mut v| std::mem::take(&mut *v))
            .unwrap_or_default()
    }
}

impl ClientContext for PipelineContext {
    // Replaces the default, which would log every report at info.
    fn stats_raw(&self, statistics: &[u8]) {
        meters::report_lag(&self.service, statistics);
    }
}

impl ConsumerContext for PipelineContext {
    fn pre_rebalance(&self, consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        if let Rebalance::Revoke(tpl) = rebalance {
            // Commit what is complete before another member takes these partitions.
            if let Err(e) = consumer.commit_consumer_state(CommitMode::Sync) {
                tracing::debug!(error = %e, "commit on revoke (nothing stored, or failed)");
            }
            if let Ok(mut revoked) = self.revoked.lock() {
                revoked.extend(
                    tpl.elements()
                        .iter()
                        .map(|e| (e.topic().to_owned(), e.partition())),
                );
            }
            tracing::info!(partitions = tpl.count(), "partitions revoked");
        }
    }

    fn post_rebalance(&self, _consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        if let Rebalance::Assign(tpl) = rebalance {
            let assigned: Vec<String> = tpl
                .elements()
                .iter()
                .map(|e| format!("{}:{}", e.topic(), e.partition()))
                .collect();
            tracing::info!(service = %self.service, partitions = tpl.count(), assigned = %assigned.join(","), "partitions assigned");
        }
    }
}

/// A control request served by the loop between records.
pub(super) enum Control {
    Progress(oneshot::Sender<Progress>),
}

/// A record kept while in flight, in case it must be dead-lettered later.
struct InFlight {
    key: Option<Vec<u8>>,
    value: Option<Vec<u8>>,
}

struct Completed {
    partition: Partition,
    generation: u64,
    offset: i64,
    result: Result<(), PublishError>,
}

pub(super) struct Pipeline {
    pub consumer: Arc<StreamConsumer<PipelineContext>>,
    pub routes: Routes,
    pub producer: ProducerHandle,
    pub backoff: Backoff,
    pub service: String,
    pub max_in_flight: usize,
    pub drain_timeout: Duration,
    pub stats: Arc<ConsumerStats>,
    latency: HandlerLatency,
    windows: HashMap<Partition, PartitionWindow<InFlight>>,
    generations: HashMap<Partition, u64>,
    delivery_attempts: HashMap<(Partition, i64), u32>,
    stored: HashMap<Partition, i64>,
    inflight: FuturesUnordered<BoxFuture<'static, Completed>>,
}

impl Pipeline {
    pub(super) fn new(
        consumer: Arc<StreamConsumer<PipelineContext>>,
        routes: Routes,
        producer: ProducerHandle,
        backoff: Backoff,
        service: String,
    ) -> Self {
        Pipeline {
            consumer,
            routes,
            producer,
            backoff,
            latency: HandlerLatency::new(&service),
            service,
            max_in_flight: 512,
            drain_timeout: Duration::from_secs(10),
            stats: Arc::new(ConsumerStats::default()),
            windows: HashMap::new(),
            generations: HashMap::new(),
            delivery_attempts: HashMap::new(),
            stored: HashMap::new(),
            inflight: FuturesUnordered::new(),
        }
    }

    /// Runs until `stop` flips, then drains in-flight work and commits.
    pub(super) async fn run(
        mut self,
        mut stop: watch::Receiver<bool>,
        mut control: mpsc::UnboundedReceiver<Control>,
    ) -> Progress {
        let consumer = self.consumer.clone();
        loop {
            tokio::select! {
                biased;
                _ = stop.changed() => break,
                Some(done) = self.inflight.next(), if !self.inflight.is_empty() => {
                    self.on_completed(done, true).await;
                }
                Some(request) = control.recv() => self.serve(request),
                received = async { consumer.recv().await.map(|m| m.detach()) } => match received {
                    Ok(message) => self.on_record(message).await,
                    Err(e) => {
                        bump(&self.stats.receive_errors);
                        tracing::warn!(service = %self.service, error = %e, "consumer error");
                    }
                },
            }
        }
        self.shutdown().await
    }

    fn serve(&self, request: Control) {
        match request {
            Control::Progress(reply) => {
                let _ = reply.send(self.progress());
            }
        }
    }

    fn progress(&self) -> Progress {
        Progress {
            stored: self.stored.clone(),
            in_window: self
                .windows
                .iter()
                .map(|(p, w)| (p.clone(), w.len()))
                .collect(),
            stats: self.stats.snapshot(),
        }
    }

    /// Waits (bounded) for in-flight outputs, stores what completed, commits synchronously.
    async fn shutdown(mut self) -> Progress {
        let deadline = tokio::time::Instant::now() + self.drain_timeout;
        while !self.inflight.is_empty() {
            match tokio::time::timeout_at(deadline, self.inflight.next()).await {
                Ok(Some(done)) => self.on_completed(done, false).await,
                Ok(None) => break,
                Err(_) => {
                    tracing::warn!(
                        service = %self.service,
                        pending = self.inflight.len(),
                        "stop: outputs still in flight after the drain timeout; they will be consumed again"
                    );
                    break;
                }
            }
        }
        if let Err(e) = self.consumer.commit_consumer_state(CommitMode::Sync) {
            tracing::debug!(error = %e, "final commit (nothing stored, or failed)");
        }
        self.progress()
    }

    fn forget_revoked(&mut self) {
        for partition in self.consumer.context().take_revoked() {
            self.windows.remove(&partition);
            self.stored.remove(&partition);
            *self.generations.entry(partition).or_default() += 1;
        }
    }

    async fn on_record(&mut self, message: OwnedMessage) {
        bump(&self.stats.received);
        self.forget_revoked();
        let partition: Partition = (message.topic().to_owned(), message.partition());
        // Back-pressure: a full window waits for its oldest outputs.
        while self
            .windows
            .get(&partition)
            .is_some_and(|w| w.len() >= self.max_in_flight)
        {
            match self.inflight.next().await {
                Some(done) => self.on_completed(done, true).await,
                None => break,
            }
        }
        let origin = RecordOrigin {
            topic: partition.0.clone(),
            partition: partition.1,
            offset: message.offset(),
        };
        let completion = self.handle(&message, origin.clone()).await;
        let generation = *self.generations.entry(partition.clone()).or_default();
        self.windows.entry(partition.clone()).or_default().admit(
            origin.offset,
            InFlight {
                key: message.key().map(<[u8]>::to_vec),
                value: message.payload().map(<[u8]>::to_vec),
            },
        );
        self.track(partition, generation, origin.offset, completion);
    }

    fn track(&mut self, partition: Partition, generation: u64, offset: i64, c: Completion) {
        self.inflight.push(Box::pin(async move {
            let result = try_join_all(c.deliveries).await.map(|_| ());
            Completed {
                partition,
                generation,
                offset,
                result,
            }
        }));
    }

    /// Decode, dispatch with retries; a record that cannot be handled becomes its DLQ record.
    async fn handle(&mut self, message: &OwnedMessage, origin: RecordOrigin) -> Completion {
        let value = message.payload().unwrap_or_default();
        let dispatch = match self.routes.decode(value, origin.clone()) {
            None => {
                let reason = format!("no route for topic `{}`", origin.topic);
                return self.dead_letter(message, &origin, (DlqErrorKind::Permanent, reason), 1);
            }
            Some(Err(e)) => {
                let kind = match e {
                    DecodeError::Invalid { .. } => DlqErrorKind::Invalid,
                    _ => DlqErrorKind::Decode,
                };
                tracing::warn!(service = %self.service, topic = %origin.topic, partition = origin.partition, offset = origin.offset, error = %e, "undecodable record");
                return self.dead_letter(message, &origin, (kind, e.to_string()), 1);
            }
            Some(Ok(d)) => d,
        };
        let mut attempt = 1;
        loop {
            let dispatched = Instant::now();
            let answer = dispatch.send().await;
            self.latency
                .observe(dispatch.message_type(), dispatched.elapsed());
            match answer {
                Ok(completion) => {
                    bump(&self.stats.handled);
                    return completion;
                }
                Err(HandlerError::Permanent(reason)) => {
                    return self.dead_letter(
                        message,
                        &origin,
                        (DlqErrorKind::Permanent, reason),
                        attempt,
                    );
                }
                Err(HandlerError::Transient(reason)) if attempt >= self.backoff.attempts() => {
                    return self.dead_letter(
                        message,
                        &origin,
                        (DlqErrorKind::RetriesExhausted, reason),
                        attempt,
                    );
                }
                Err(HandlerError::Unavailable(reason)) => {
                    // Waits out the outage: capped backoff, logged on the first attempt
                    // and then every UNAVAILABLE_LOG_EVERY attempts.
                    bump(&self.stats.retries);
                    metrics::handler_retry(&self.service);
                    let delay = self.backoff.delay(attempt.min(self.backoff.attempts()));
                    if attempt == 1 || attempt % UNAVAILABLE_LOG_EVERY == 0 {
                        tracing::warn!(service = %self.service, topic = %origin.topic, partition = origin.partition, offset = origin.offset, attempt, ?delay, %reason, "a dependency is down; the record waits for it (never dead-lettered)");
                    }
                    tokio::time::sleep(delay).await;
                    attempt = attempt.saturating_add(1);
                }
                Err(HandlerError::Transient(reason)) => {
                    bump(&self.stats.retries);
                    metrics::handler_retry(&self.service);
                    let delay = self.backoff.delay(attempt);
                    tracing::warn!(service = %self.service, topic = %origin.topic, offset = origin.offset, attempt, ?delay, %reason, "transient handler failure; retrying");
                    tokio::time::sleep(delay).await;
                    attempt += 1;
                }
            }
        }
    }

    fn dead_letter(
        &self,
        message: &OwnedMessage,
        origin: &RecordOrigin,
        failure: (DlqErrorKind, String),
        attempts: u32,
    ) -> Completion {
        let data = InFlight {
            key: message.key().map(<[u8]>::to_vec),
            value: message.payload().map(<[u8]>::to_vec),
        };
        self.dead_letter_data(&data, origin, failure, attempts)
    }

    fn dead_letter_data(
        &self,
        data: &InFlight,
        origin: &RecordOrigin,
        failure: (DlqErrorKind, String),
        attempts: u32,
    ) -> Completion {
        bump(&self.stats.dead_lettered);
        metrics::dlq_record(&origin.topic);
        tracing::error!(service = %self.service, topic = %origin.topic, partition = origin.partition, offset = origin.offset, kind = %failure.0, error = %failure.1, "record dead-lettered");
        let record = DlqRecord::new(
            origin,
            data.key.as_deref(),
            data.value.as_deref(),
            failure,
            attempts,
            &self.service,
        );
        let dlq_topic = dlq_topic_name(&origin.topic);
        let envelope = Envelope::root(record, &self.service, chrono::Utc::now());
        let outbound = OutboundRecord {
            topic: dlq_topic,
            key: data.key.clone(),
            value: crate::messages::encode(&envelope),
            headers: vec![(
                crate::streaming::producer::HEADER_EVENT_TYPE.into(),
                b"dlq_record".to_vec(),
            )],
        };
        Completion::after(vec![self.producer.publish(outbound)])
    }

    async fn on_completed(&mut self, done: Completed, may_rewind: bool) {
        let current = self
            .generations
            .get(&done.partition)
            .copied()
            .unwrap_or_default();
        if done.generation != current {
            return; // From before a rewind or revocation: that record will come again.
        }
        match done.result {
            Ok(()) => {
                bump(&self.stats.completed);
                self.delivery_attempts
                    .remove(&(done.partition.clone(), done.offset));
                let Some(window) = self.windows.get_mut(&done.partition) else {
                    return;
                };
                if let Some(offset) = window.complete(done.offset) {
                    self.store(&done.partition, offset);
                }
            }
            Err(e) => {
                bump(&self.stats.delivery_failures);
                if may_rewind {
                    self.on_delivery_failure(done.partition, done.offset, e)
                        .await;
                }
            }
        }
    }

    fn store(&mut self, partition: &Partition, offset: i64) {
        match self
            .consumer
            .store_offset(&partition.0, partition.1, offset)
        {
            Ok(()) => {
                self.stored.insert(partition.clone(), offset);
            }
            Err(e) => {
                tracing::warn!(topic = %partition.0, partition = partition.1, offset, error = %e, "cannot store offset (partition revoked?)");
            }
        }
    }

    /// An output of `offset` failed: retry by rewinding the partition to it, or, once the
    /// budget is spent, dead-letter the record and treat that as its output.
    async fn on_delivery_failure(&mut self, partition: Partition, offset: i64, e: PublishError) {
        let attempts = {
            let n = self
                .delivery_attempts
                .entry((partition.clone(), offset))
                .or_default();
            *n += 1;
            *n
        };
        let origin = RecordOrigin {
            topic: partition.0.clone(),
            partition: partition.1,
            offset,
        };
        let generation = self
            .generations
            .get(&partition)
            .copied()
            .unwrap_or_default();
        let delay = self.backoff.delay(attempts);
        if attempts >= self.backoff.attempts() && !partition.0.ends_with(DLQ_SUFFIX) {
            // Paced too, so a DLQ that keeps failing does not spin.
            tokio::time::sleep(delay).await;
            let dlq = self
                .windows
                .get(&partition)
                .and_then(|w| w.data(offset))
                .map(|data| {
                    self.dead_letter_data(
                        data,
                        &origin,
                        (
                            DlqErrorKind::RetriesExhausted,
                            format!("output delivery failed: {e}"),
                        ),
                        attempts,
                    )
                });
            if let Some(completion) = dlq {
                self.track(partition, generation, offset, completion);
                return;
            }
        }
        bump(&self.stats.rewinds);
        tracing::warn!(service = %self.service, topic = %partition.0, partition = partition.1, offset, attempts, ?delay, error = %e, "output delivery failed; rewinding partition");
        if let Some(w) = self.windows.get_mut(&partition) {
            w.rewind(offset);
        }
        *self.generations.entry(partition.clone()).or_default() += 1;
        tokio::time::sleep(delay).await;
        // Timeout zero: an asynchronous seek; fetched records from before it are discarded.
        if let Err(e) = self.consumer.seek(
            &partition.0,
            partition.1,
            Offset::Offset(offset),
            Duration::ZERO,
        ) {
            tracing::error!(topic = %partition.0, partition = partition.1, offset, error = %e, "seek failed; the record will be consumed again after a restart");
        }
    }
}

/// `{topic}.dlq` — the topic map's naming rule, applied to a consumed topic name.
pub(super) fn dlq_topic_name(topic: &str) -> String {
    format!("{topic}{DLQ_SUFFIX}")
}
