//! The consume loop: receive, decode, dispatch, retry, dead-letter, track completion,
//! store offsets. Plain async code the [`super::ConsumerActor`] runs as a task.
//!
//! The loop never sleeps and never waits on one partition's trouble. Each partition is a
//! lane whose records are dispatched in offset order, one at a time, which keeps per-key
//! order:
//! - a record whose handler must be retried (transient, or a dependency unavailable) waits
//!   in a future of its own; its partition is paused, and records of that partition
//!   already received are parked behind it, handled in order once it is done;
//! - a dead-lettering runs as the record's pending output (`dead_letter`): later records
//!   of the same partition go on while it is retried, and the window holds the offset
//!   back until it is written;
//! - a full window pauses its partition and parks; it resumes as outputs complete;
//! - a rewind (an output failed) pauses its partition for the backoff, then seeks.
//!
//! So the other partitions keep flowing, and the loop keeps polling, which is what keeps
//! the consumer in its group and serves its rebalances.

use super::dead_letter::{DeadLetters, Failure, RecordBytes};
use super::meters::HandlerLatency;
use super::routing::{Dispatch, Routes};
use super::stats::{ConsumerStats, Partition, Progress, bump};
use super::window::PartitionWindow;
use super::{Completion, HandlerError, PipelineContext};
use crate::messages::{DecodeError, DlqErrorKind, RecordOrigin};
use crate::streaming::producer::PublishError;
use crate::streaming::retry::Backoff;
use crate::streaming::topics::DLQ_SUFFIX;
use crate::telemetry::metrics;
use futures::StreamExt;
use futures::future::{AbortHandle, BoxFuture, abortable, try_join_all};
use futures::stream::FuturesUnordered;
use rdkafka::consumer::{CommitMode, Consumer, StreamConsumer};
use rdkafka::message::{Message, OwnedMessage};
use rdkafka::{Offset, TopicPartitionList};
use std::collections::{BTreeSet, HashMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, oneshot, watch};

/// A record waiting out an unavailable dependency is logged every this many attempts.
const UNAVAILABLE_LOG_EVERY: u32 = 20;

/// A control request served by the loop between records.
pub(super) enum Control {
    Progress(oneshot::Sender<Progress>),
}

struct Completed {
    partition: Partition,
    generation: u64,
    offset: i64,
    result: Result<(), PublishError>,
}

/// What became of a record whose handler was retried.
enum Outcome {
    Handled(Completion),
    DeadLetter(DlqErrorKind, String, u32),
}

struct Retried {
    partition: Partition,
    generation: u64,
    message: OwnedMessage,
    outcome: Outcome,
}

/// A rewound partition whose backoff is over.
struct RewindDue {
    partition: Partition,
    generation: u64,
    offset: i64,
}

/// One partition's state.
#[derive(Default)]
struct Lane {
    window: PartitionWindow<RecordBytes>,
    /// Bumped by a rewind or a revocation: results of older generations are ignored.
    generation: u64,
    /// Received, waiting behind a retried record, a rewind or a full window.
    parked: VecDeque<OwnedMessage>,
    retry: Option<AbortHandle>,
    rewind: Option<AbortHandle>,
    paused: bool,
    stored: Option<i64>,
    /// Handled before the partition was revoked, outputs still on their way then: the
    /// generation they were handled in, and their offsets (see [`Pipeline::on_record`]).
    lost_generation: Option<u64>,
    lost_pending: BTreeSet<i64>,
    /// Handled before the revocation, every output delivered (then or since).
    lost_done: BTreeSet<i64>,
}

/// What this consumer already did with a record that comes (again).
enum Seen {
    /// Nothing: handle it.
    New,
    /// Completed in this life: skip it.
    Done,
    /// Handled before a revocation, its outputs still in flight: wait for them.
    Pending,
}

impl Lane {
    fn blocked(&self, max_in_flight: usize) -> bool {
        self.retry.is_some() || self.rewind.is_some() || self.window.len() >= max_in_flight
    }

    /// Forgets everything in flight (a revocation or a rewind): what was in the window
    /// and parked will be consumed again.
    fn reset(&mut self) {
        if let Some(h) = self.retry.take() {
            h.abort();
        }
        if let Some(h) = self.rewind.take() {
            h.abort();
        }
        self.parked.clear();
        self.window = PartitionWindow::default();
        self.generation += 1;
    }
}

pub(super) struct Pipeline {
    pub consumer: Arc<StreamConsumer<PipelineContext>>,
    pub routes: Routes,
    pub dead_letters: DeadLetters,
    pub backoff: Backoff,
    pub service: String,
    pub max_in_flight: usize,
    pub drain_timeout: Duration,
    pub stats: Arc<ConsumerStats>,
    latency: HandlerLatency,
    lanes: HashMap<Partition, Lane>,
    /// Per partition, the last offset this consumer completed (handled, every output
    /// delivered) and stored, kept across revocations: see [`Pipeline::on_record`].
    completed: HashMap<Partition, i64>,
    delivery_attempts: HashMap<(Partition, i64), u32>,
    inflight: FuturesUnordered<BoxFuture<'static, Completed>>,
    retrying: FuturesUnordered<BoxFuture<'static, Option<Retried>>>,
    rewinds: FuturesUnordered<BoxFuture<'static, Option<RewindDue>>>,
}

impl Pipeline {
    pub(super) fn new(
        consumer: Arc<StreamConsumer<PipelineContext>>,
        routes: Routes,
        dead_letters: DeadLetters,
        backoff: Backoff,
    ) -> Self {
        let service = dead_letters.service.clone();
        Pipeline {
            consumer,
            routes,
            stats: dead_letters.stats.clone(),
            dead_letters,
            backoff,
            latency: HandlerLatency::new(&service),
            service,
            max_in_flight: 512,
            drain_timeout: Duration::from_secs(10),
            lanes: HashMap::new(),
            completed: HashMap::new(),
            delivery_attempts: HashMap::new(),
            inflight: FuturesUnordered::new(),
            retrying: FuturesUnordered::new(),
            rewinds: FuturesUnordered::new(),
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
                Some(retried) = self.retrying.next(), if !self.retrying.is_empty() => {
                    self.on_retried(retried).await;
                }
                Some(due) = self.rewinds.next(), if !self.rewinds.is_empty() => {
                    self.on_rewind_due(due);
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
        let mut p = Progress {
            stats: self.stats.snapshot(),
            ..Progress::default()
        };
        for (partition, lane) in &self.lanes {
            if let Some(stored) = lane.stored {
                p.stored.insert(partition.clone(), stored);
            }
            p.in_window.insert(partition.clone(), lane.window.len());
            p.parked.insert(partition.clone(), lane.parked.len());
        }
        p
    }

    /// Waits (bounded) for in-flight outputs, stores what completed, commits synchronously.
    /// Records still being retried are left: they will be consumed again.
    async fn shutdown(mut self) -> Progress {
        let deadline = tokio::time::Instant::now() + self.drain_timeout;
        while !self.inflight.is_empty() {
            match tokio::time::timeout_at(deadline, self.inflight.next()).await {
                Ok(Some(done)) => self.on_completed_no_drain(done),
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
            if let Some(lane) = self.lanes.get_mut(&partition) {
                // What was handled is remembered, so that it is not handled again if the
                // partition comes back (a broker stall): see `on_record`.
                let (pending, done) = lane.window.offsets();
                lane.lost_generation = Some(lane.generation);
                lane.lost_pending = pending.into_iter().collect();
                lane.lost_done.extend(done);
                lane.reset();
                lane.stored = None;
                // librdkafka resets a revoked partition; the assign hook resumes it too.
                lane.paused = false;
            }
            self.delivery_attempts.retain(|(p, _), _| *p != partition);
        }
    }

    /// Whether `offset` of `partition` was handled in this life already (see
    /// [`Self::on_record`]); a record skipped as done has its offset stored again.
    fn seen(&mut self, partition: &Partition, offset: i64) -> Seen {
        let completed = self.completed.get(partition).copied();
        let lane = self.lane(partition);
        if lane.lost_pending.contains(&offset) {
            return Seen::Pending;
        }
        let done = completed.is_some_and(|done| offset <= done) || lane.lost_done.remove(&offset);
        if !done {
            return Seen::New;
        }
        tracing::debug!(service = %self.service, topic = %partition.0, partition = partition.1, offset, "record completed earlier in this life; skipped");
        if self.lane(partition).stored.is_none_or(|s| s < offset) {
            self.store(partition, offset);
        }
        Seen::Done
    }

    fn lane(&mut self, partition: &Partition) -> &mut Lane {
        self.lanes.entry(partition.clone()).or_default()
    }

    /// A record this consumer completed earlier in this life comes again when the group
    /// hands the partition back after losing it (a broker stall expired the session, and
    /// the offsets stored since the last commit were never committed): it is skipped, not
    /// handled again, so a broker outage publishes nothing twice. (A rewind never goes
    /// back that far: it returns to a record whose outputs failed, which was never
    /// completed.) Its offset is stored again, so the next commit catches up.
    ///
    /// Records handled just before the loss, whose outputs were still in flight, wait
    /// (parked) until those outputs are delivered or fail: delivered, they are skipped
    /// too; failed, they are handled again.
    async fn on_record(&mut self, message: OwnedMessage) {
        bump(&self.stats.received);
        self.forget_revoked();
        let partition: Partition = (message.topic().to_owned(), message.partition());
        match self.seen(&partition, message.offset()) {
            Seen::Done => return,
            Seen::Pending => {
                self.lane(&partition).parked.push_back(message);
                self.pause(&partition);
                return;
            }
            Seen::New => {}
        }
        let max = self.max_in_flight;
        let lane = self.lane(&partition);
        if lane.blocked(max) || !lane.parked.is_empty() {
            lane.parked.push_back(message);
            self.pause(&partition);
            return;
        }
        self.process(partition, message).await;
    }

    /// Decodes and dispatches one record (first attempt inline); the record then waits in
    /// the window for its outputs, or in a retry future of its own.
    async fn process(&mut self, partition: Partition, message: OwnedMessage) {
        let origin = RecordOrigin {
            topic: partition.0.clone(),
            partition: partition.1,
            offset: message.offset(),
        };
        let generation = self.lane(&partition).generation;
        let value = message.payload().unwrap_or_default();
        let dispatch = match self.routes.decode(value, origin.clone()) {
            None => {
                let reason = format!("no route for topic `{}`", origin.topic);
                let c = self.dead_letter(&message, origin, (DlqErrorKind::Permanent, reason), 1);
                return self.admit(partition, generation, &message, c);
            }
            Some(Err(e)) => {
                let kind = match e {
                    DecodeError::Invalid { .. } => DlqErrorKind::Invalid,
                    _ => DlqErrorKind::Decode,
                };
                tracing::warn!(service = %self.service, topic = %origin.topic, partition = origin.partition, offset = origin.offset, error = %e, "undecodable record");
                let c = self.dead_letter(&message, origin, (kind, e.to_string()), 1);
                return self.admit(partition, generation, &message, c);
            }
            Some(Ok(d)) => d,
        };
        let dispatched = Instant::now();
        let answer = dispatch.send().await;
        self.latency
            .observe(dispatch.message_type(), dispatched.elapsed());
        let completion = match answer {
            Ok(completion) => {
                bump(&self.stats.handled);
                completion
            }
            Err(HandlerError::Permanent(reason)) => {
                self.dead_letter(&message, origin, (DlqErrorKind::Permanent, reason), 1)
            }
            Err(HandlerError::Transient(reason)) if self.backoff.attempts() <= 1 => self
                .dead_letter(
                    &message,
                    origin,
                    (DlqErrorKind::RetriesExhausted, reason),
                    1,
                ),
            Err(error) => return self.start_retry(partition, generation, message, dispatch, error),
        };
        self.admit(partition, generation, &message, completion);
    }

    /// Retries a record in a future of its own; its partition waits (paused) meanwhile.
    fn start_retry(
        &mut self,
        partition: Partition,
        generation: u64,
        message: OwnedMessage,
        dispatch: Box<dyn Dispatch>,
        first: HandlerError,
    ) {
        let (backoff, service, stats) = (
            self.backoff.clone(),
            self.service.clone(),
            self.stats.clone(),
        );
        let offset = message.offset();
        let topic = partition.0.clone();
        let retry = async move {
            let mut attempt: u32 = 1;
            let mut error = first;
            loop {
                let delay = match error {
                    HandlerError::Permanent(reason) => {
                        return Outcome::DeadLetter(DlqErrorKind::Permanent, reason, attempt);
                    }
                    HandlerError::Transient(reason) if attempt >= backoff.attempts() => {
                        return Outcome::DeadLetter(
                            DlqErrorKind::RetriesExhausted,
                            reason,
                            attempt,
                        );
                    }
                    HandlerError::Transient(reason) => {
                        let delay = backoff.delay(attempt);
                        tracing::warn!(%service, %topic, offset, attempt, ?delay, %reason, "transient handler failure; retrying");
                        delay
                    }
                    HandlerError::Unavailable(reason) => {
                        // Waits out the outage: capped backoff, logged on the first attempt
                        // and then every UNAVAILABLE_LOG_EVERY attempts.
                        let delay = backoff.delay(attempt.min(backoff.attempts()));
                        if attempt == 1 || attempt.is_multiple_of(UNAVAILABLE_LOG_EVERY) {
                            tracing::warn!(%service, %topic, offset, attempt, ?delay, %reason, "a dependency is down; the record waits for it (never dead-lettered)");
                        }
                        delay
                    }
                };
                bump(&stats.retries);
                metrics::handler_retry(&service);
                tokio::time::sleep(delay).await;
                attempt = attempt.saturating_add(1);
                match dispatch.send().await {
                    Ok(completion) => return Outcome::Handled(completion),
                    Err(e) => error = e,
                }
            }
        };
        let (retry, handle) = abortable(retry);
        self.lane(&partition).retry = Some(handle);
        self.pause(&partition);
        self.retrying.push(Box::pin(async move {
            let outcome = retry.await.ok()?;
            Some(Retried {
                partition,
                generation,
                message,
                outcome,
            })
        }));
    }

    async fn on_retried(&mut self, retried: Option<Retried>) {
        self.forget_revoked();
        let Some(r) = retried else { return }; // Aborted: revoked or rewound.
        let lane = self.lane(&r.partition);
        if lane.generation != r.generation {
            return;
        }
        lane.retry = None;
        let completion = match r.outcome {
            Outcome::Handled(completion) => {
                bump(&self.stats.handled);
                completion
            }
            Outcome::DeadLetter(kind, reason, attempts) => {
                let origin = RecordOrigin {
                    topic: r.partition.0.clone(),
                    partition: r.partition.1,
                    offset: r.message.offset(),
                };
                self.dead_letter(&r.message, origin, (kind, reason), attempts)
            }
        };
        self.admit(r.partition.clone(), r.generation, &r.message, completion);
        self.drain_parked(&r.partition).await;
    }

    /// Handles parked records of `partition` while its lane is free; resumes it once none
    /// is left.
    async fn drain_parked(&mut self, partition: &Partition) {
        loop {
            let max = self.max_in_flight;
            let Some(lane) = self.lanes.get_mut(partition) else {
                return;
            };
            if lane.blocked(max) {
                return;
            }
            let Some(message) = lane.parked.pop_front() else {
                break;
            };
            match self.seen(partition, message.offset()) {
                Seen::New => self.process(partition.clone(), message).await,
                Seen::Done => {}
                Seen::Pending => {
                    // Still waiting for its first handling's outputs.
                    self.lane(partition).parked.push_front(message);
                    return;
                }
            }
        }
        self.resume(partition);
    }

    fn admit(
        &mut self,
        partition: Partition,
        generation: u64,
        message: &OwnedMessage,
        c: Completion,
    ) {
        let offset = message.offset();
        self.lane(&partition)
            .window
            .admit(offset, bytes_of(message));
        self.track(partition, generation, offset, c);
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

    fn dead_letter(
        &self,
        message: &OwnedMessage,
        origin: RecordOrigin,
        (kind, reason): (DlqErrorKind, String),
        attempts: u32,
    ) -> Completion {
        self.dead_letter_bytes(&bytes_of(message), origin, (kind, reason), attempts)
    }

    fn dead_letter_bytes(
        &self,
        bytes: &RecordBytes,
        origin: RecordOrigin,
        (kind, reason): (DlqErrorKind, String),
        attempts: u32,
    ) -> Completion {
        let failure = Failure {
            origin,
            kind,
            reason,
            attempts,
        };
        Completion::after(vec![self.dead_letters.write(bytes, failure)])
    }

    async fn on_completed(&mut self, done: Completed, may_rewind: bool) {
        self.forget_revoked();
        let partition = done.partition.clone();
        match self.complete(done) {
            Some((offset, e)) if may_rewind => self.on_delivery_failure(partition, offset, e),
            _ => self.drain_parked(&partition).await,
        }
    }

    fn on_completed_no_drain(&mut self, done: Completed) {
        let _ = self.complete(done);
    }

    /// Marks a record complete (storing the offset if that advanced); answers a failed
    /// output's offset and error.
    fn complete(&mut self, done: Completed) -> Option<(i64, PublishError)> {
        let lane = self.lanes.get_mut(&done.partition)?;
        if done.generation != lane.generation {
            // From before a rewind or revocation: that record will come again, and is
            // skipped then if it was handled before a revocation and is delivered now.
            if lane.lost_generation == Some(done.generation)
                && lane.lost_pending.remove(&done.offset)
                && done.result.is_ok()
            {
                lane.lost_done.insert(done.offset);
            }
            return None;
        }
        match done.result {
            Ok(()) => {
                bump(&self.stats.completed);
                self.delivery_attempts
                    .remove(&(done.partition.clone(), done.offset));
                if let Some(offset) = lane.window.complete(done.offset) {
                    self.store(&done.partition, offset);
                }
                None
            }
            Err(e) => {
                bump(&self.stats.delivery_failures);
                Some((done.offset, e))
            }
        }
    }

    fn store(&mut self, partition: &Partition, offset: i64) {
        match self
            .consumer
            .store_offset(&partition.0, partition.1, offset)
        {
            Ok(()) => {
                self.lane(partition).stored = Some(offset);
                let done = self.completed.entry(partition.clone()).or_insert(offset);
                *done = (*done).max(offset);
            }
            Err(e) => {
                tracing::warn!(topic = %partition.0, partition = partition.1, offset, error = %e, "cannot store offset (partition revoked?)");
            }
        }
    }

    /// An output of `offset` failed: retry by rewinding the partition to it, or, once the
    /// budget is spent, dead-letter the record and treat that as its output.
    fn on_delivery_failure(&mut self, partition: Partition, offset: i64, e: PublishError) {
        let attempts = {
            let n = self
                .delivery_attempts
                .entry((partition.clone(), offset))
                .or_default();
            *n += 1;
            *n
        };
        let generation = self.lane(&partition).generation;
        if attempts >= self.backoff.attempts() && !partition.0.ends_with(DLQ_SUFFIX) {
            let bytes = self.lane(&partition).window.data(offset).cloned();
            if let Some(bytes) = bytes {
                let origin = RecordOrigin {
                    topic: partition.0.clone(),
                    partition: partition.1,
                    offset,
                };
                let why = (
                    DlqErrorKind::RetriesExhausted,
                    format!("output delivery failed: {e}"),
                );
                let completion = self.dead_letter_bytes(&bytes, origin, why, attempts);
                self.track(partition, generation, offset, completion);
                return;
            }
        }
        bump(&self.stats.rewinds);
        let delay = self.backoff.delay(attempts);
        tracing::warn!(service = %self.service, topic = %partition.0, partition = partition.1, offset, attempts, ?delay, error = %e, "output delivery failed; rewinding partition");
        let lane = self.lane(&partition);
        // Everything from the first record not complete is consumed again: a completion
        // of an earlier generation would be ignored, so nothing pending may stay behind.
        let from = lane
            .window
            .first_pending()
            .map_or(offset, |p| p.min(offset));
        lane.reset();
        let generation = lane.generation;
        let (timer, handle) = abortable(tokio::time::sleep(delay));
        lane.rewind = Some(handle);
        self.pause(&partition);
        self.rewinds.push(Box::pin(async move {
            timer.await.ok()?;
            Some(RewindDue {
                partition,
                generation,
                offset: from,
            })
        }));
    }

    fn on_rewind_due(&mut self, due: Option<RewindDue>) {
        self.forget_revoked();
        let Some(due) = due else { return };
        let lane = self.lane(&due.partition);
        if lane.generation != due.generation {
            return;
        }
        lane.rewind = None;
        // Received while paused: from before the seek, they come again.
        lane.parked.clear();
        self.resume(&due.partition);
        // Timeout zero: an asynchronous seek; fetched records from before it are discarded.
        if let Err(e) = self.consumer.seek(
            &due.partition.0,
            due.partition.1,
            Offset::Offset(due.offset),
            Duration::ZERO,
        ) {
            tracing::error!(topic = %due.partition.0, partition = due.partition.1, offset = due.offset, error = %e, "seek failed; the record will be consumed again after a restart");
        }
    }

    fn pause(&mut self, partition: &Partition) {
        let lane = self.lane(partition);
        if lane.paused {
            return;
        }
        lane.paused = true;
        if let Err(e) = self.consumer.pause(&single(partition)) {
            tracing::debug!(topic = %partition.0, partition = partition.1, error = %e, "pause (partition revoked?)");
        }
    }

    fn resume(&mut self, partition: &Partition) {
        let lane = self.lane(partition);
        if !lane.paused {
            return;
        }
        lane.paused = false;
        if let Err(e) = self.consumer.resume(&single(partition)) {
            tracing::debug!(topic = %partition.0, partition = partition.1, error = %e, "resume (partition revoked?)");
        }
    }
}

fn single(partition: &Partition) -> TopicPartitionList {
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition(&partition.0, partition.1);
    tpl
}

fn bytes_of(message: &OwnedMessage) -> RecordBytes {
    RecordBytes {
        key: message.key().map(<[u8]>::to_vec),
        value: message.payload().map(<[u8]>::to_vec),
    }
}
