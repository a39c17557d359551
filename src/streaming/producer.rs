//! The producer actor: owns the one rdkafka producer of the process.
//!
//! It is created (and its brokers reached) before any actor that publishes, and services
//! hold a [`ProducerHandle`] — a typed `Recipient<Publish>` — never an index into a list.
//! A [`Publish`] is enqueued into librdkafka synchronously in the handler, so records from
//! one sender keep their order; the answer (the delivery result) arrives when the broker
//! acknowledges, without blocking the actor, so many records are in flight at once.

use super::client::KafkaConnection;
use crate::messages::{Envelope, EventType, Payload};
use crate::streaming::topics::Topic;
use actix::prelude::*;
use futures::future::BoxFuture;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord, Producer};
use rdkafka::util::Timeout;
use std::any::Any;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use thiserror::Error;
use uuid::Uuid;

/// Record header carrying the envelope type.
pub const HEADER_EVENT_TYPE: &str = "event-type";
/// Record header carrying the envelope correlation id.
pub const HEADER_CORRELATION_ID: &str = "correlation-id";
/// Record header carrying the wall-clock time the record was built for publishing, as
/// nanoseconds since the Unix epoch written in decimal ASCII (`"1764201600123456789"`):
/// readable in any Kafka tool, and parsed by the latency benchmark (`crate::bench`).
pub const HEADER_SENT_NS: &str = "ap-sent-ns";

/// How long `Publish` may wait for room in librdkafka's queue before failing.
const QUEUE_FULL_WAIT: Duration = Duration::from_secs(5);
/// How long stopping the actor waits for outstanding deliveries.
const FLUSH_ON_STOP: Duration = Duration::from_secs(10);

/// A record ready to be produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboundRecord {
    pub topic: String,
    pub key: Option<Vec<u8>>,
    pub value: Vec<u8>,
    pub headers: Vec<(String, Vec<u8>)>,
}

impl OutboundRecord {
    /// An envelope for `topic`, keyed by its partition key, with type and correlation id
    /// also in the headers, and the time it was built ([`HEADER_SENT_NS`]).
    pub fn envelope<T: Payload>(topic: Topic, envelope: &Envelope<T>) -> Self {
        OutboundRecord {
            topic: topic.name(),
            key: Some(envelope.key.clone().into_bytes()),
            value: crate::messages::encode(envelope),
            headers: envelope_headers(envelope.event_type, envelope.correlation_id, now_ns()),
        }
    }
}

/// Wall-clock nanoseconds since the Unix epoch (0 for a clock set before 1970; it
/// saturates in the year 2262).
fn now_ns() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
}

fn envelope_headers(
    event_type: EventType,
    correlation_id: Uuid,
    sent_ns: i64,
) -> Vec<(String, Vec<u8>)> {
    vec![
        (
            HEADER_EVENT_TYPE.into(),
            event_type.as_str().as_bytes().to_vec(),
        ),
        (
            HEADER_CORRELATION_ID.into(),
            correlation_id.to_string().into_bytes(),
        ),
        (HEADER_SENT_NS.into(), sent_ns.to_string().into_bytes()),
    ]
}

/// Where a record landed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Delivered {
    pub partition: i32,
    pub offset: i64,
}

/// Why a record was not delivered, classified by what the caller should do.
#[derive(Debug, Clone, Error, PartialEq, Eq)]
pub enum PublishError {
    /// May succeed later (timeout, broker unavailable, queue full): retry.
    #[error("transient delivery failure to `{topic}`: {reason}")]
    Transient { topic: String, reason: String },
    /// Will never succeed as is (too large, invalid, not authorised).
    #[error("permanent delivery failure to `{topic}`: {reason}")]
    Permanent { topic: String, reason: String },
    /// The producer actor is gone (stopping or restarting).
    #[error("producer unavailable: {0}")]
    Unavailable(String),
}

impl PublishError {
    fn classify(topic: &str, error: &KafkaError) -> Self {
        let permanent = is_the_records_fault(error)
            || matches!(
                error.rdkafka_error_code(),
                Some(
                    RDKafkaErrorCode::TopicAuthorizationFailed
                        | RDKafkaErrorCode::InvalidTopic
                        | RDKafkaErrorCode::UnknownTopic
                )
            );
        let (topic, reason) = (topic.to_owned(), error.to_string());
        if permanent {
            PublishError::Permanent { topic, reason }
        } else {
            PublishError::Transient { topic, reason }
        }
    }
}

/// Whether a delivery failed because of the broker (down, timed out, its topic gone — a
/// broker restarted empty refuses every record with an unknown topic) rather than because
/// of the record itself (too large, invalid): what [`super::health::BrokerHealth`] counts.
fn is_the_brokers_fault(error: &KafkaError) -> bool {
    !is_the_records_fault(error)
}

/// The record itself was refused (too large, invalid): no retry or broker can help it.
fn is_the_records_fault(error: &KafkaError) -> bool {
    matches!(
        error.rdkafka_error_code(),
        Some(
            RDKafkaErrorCode::MessageSizeTooLarge
                | RDKafkaErrorCode::InvalidMessage
                | RDKafkaErrorCode::InvalidMessageSize
                | RDKafkaErrorCode::InvalidRecord
        )
    )
}

/// Produce one record; answers with the delivery result once the broker has acknowledged.
#[derive(Debug, Message)]
#[rtype(result = "Result<Delivered, PublishError>")]
pub struct Publish(pub OutboundRecord);

/// A delivery that is on its way; await it for the result.
pub type PendingDelivery = BoxFuture<'static, Result<Delivered, PublishError>>;

/// What services hold to publish. Cheap to clone; in tests it can wrap a probe.
///
/// Two transports: the producer actor (or any recipient of [`Publish`], e.g. a test probe),
/// or an in-process [`Outbox`] that keeps each typed envelope as it is (the backtest wires
/// the services through one; nothing is serialised).
#[derive(Clone)]
pub struct ProducerHandle {
    sink: Sink,
}

#[derive(Clone)]
enum Sink {
    Actor(Recipient<Publish>),
    Outbox(Outbox),
}

impl ProducerHandle {
    pub fn new(recipient: Recipient<Publish>) -> Self {
        ProducerHandle {
            sink: Sink::Actor(recipient),
        }
    }

    /// Publishes into `outbox` (acknowledged at once) instead of to a broker.
    pub fn in_process(outbox: Outbox) -> Self {
        ProducerHandle {
            sink: Sink::Outbox(outbox),
        }
    }

    /// Enqueues `record` now (order is kept per sender) and returns its pending delivery.
    pub fn publish(&self, record: OutboundRecord) -> PendingDelivery {
        match &self.sink {
            Sink::Actor(recipient) => {
                let request = recipient.send(Publish(record));
                Box::pin(async move {
                    request
                        .await
                        .map_err(|e| PublishError::Unavailable(e.to_string()))?
                })
            }
            Sink::Outbox(outbox) => {
                let offset = outbox.push(Published::Record(record));
                Box::pin(std::future::ready(Ok(Delivered {
                    partition: 0,
                    offset,
                })))
            }
        }
    }

    /// Publishes an envelope to `topic`.
    pub fn publish_envelope<T: Payload>(
        &self,
        topic: Topic,
        envelope: &Envelope<T>,
    ) -> PendingDelivery {
        match &self.sink {
            Sink::Actor(_) => self.publish(OutboundRecord::envelope(topic, envelope)),
            Sink::Outbox(outbox) => {
                let offset = outbox.push(Published::Envelope {
                    topic,
                    envelope: Box::new(envelope.clone()),
                });
                Box::pin(std::future::ready(Ok(Delivered {
                    partition: 0,
                    offset,
                })))
            }
        }
    }
}

/// One record published in-process: a typed envelope (`Envelope<T>` behind `Any`), or raw
/// bytes from a caller that publishes records (the DLQ).
pub enum Published {
    Envelope {
        topic: Topic,
        envelope: Box<dyn Any + Send>,
    },
    Record(OutboundRecord),
}

/// Records published in-process and not yet taken, in publication order. Cheap to clone
/// (shared). Offsets count up from 0 over everything ever pushed.
#[derive(Clone, Default)]
pub struct Outbox(Arc<Mutex<(VecDeque<Published>, i64)>>);

impl Outbox {
    /// Everything published since the last call, oldest first.
    pub fn take(&self) -> VecDeque<Published> {
        std::mem::take(&mut self.lock().0)
    }

    fn push(&self, published: Published) -> i64 {
        let mut guard = self.lock();
        let offset = guard.1;
        guard.1 += 1;
        guard.0.push_back(published);
        offset
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, (VecDeque<Published>, i64)> {
        // A panic while holding the lock cannot leave the queue half-updated.
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Could not create the producer or reach the brokers.
#[derive(Debug, Error)]
pub enum ProducerError {
    #[error("cannot create the Kafka producer: {0}")]
    Create(String),
    #[error("cannot reach the Kafka brokers at {brokers}: {reason}")]
    Unreachable { brokers: String, reason: String },
}

/// Owns the rdkafka producer; flushes it when stopping.
pub struct ProducerActor {
    producer: FutureProducer,
    /// Where delivery outcomes go (the broker watch reads them), when watched.
    health: Option<super::health::BrokerHealth>,
}

impl ProducerActor {
    /// Creates the producer and checks that the brokers answer within `timeout`.
    ///
    /// # Errors
    /// Bad client configuration, or no metadata from the brokers in time.
    pub async fn connect(
        connection: &KafkaConnection,
        timeout: Duration,
    ) -> Result<ProducerActor, ProducerError> {
        let actor = Self::create(connection)?;
        let probe = actor.producer.clone();
        tokio::task::spawn_blocking(move || {
            probe
                .client()
                .fetch_metadata(None, Timeout::After(timeout))
                .map(|_| ())
        })
        .await
        .map_err(|e| ProducerError::Create(e.to_string()))?
        .map_err(|e| ProducerError::Unreachable {
            brokers: connection.bootstrap_servers.clone(),
            reason: e.to_string(),
        })?;
        Ok(actor)
    }

    /// Creates the producer without contacting the brokers (the supervisor's factory: a
    /// restart must not block on the network; deliveries wait for the brokers instead).
    ///
    /// # Errors
    /// Bad client configuration.
    pub fn create(connection: &KafkaConnection) -> Result<ProducerActor, ProducerError> {
        Self::from_config(&connection.producer_config())
    }

    /// The tick producer: batches with `kafka.tick_linger_ms`.
    ///
    /// # Errors
    /// Invalid client configuration.
    pub fn create_for_ticks(connection: &KafkaConnection) -> Result<ProducerActor, ProducerError> {
        Self::from_config(&connection.tick_producer_config())
    }

    fn from_config(config: &rdkafka::ClientConfig) -> Result<ProducerActor, ProducerError> {
        let producer: FutureProducer = config
            .create()
            .map_err(|e| ProducerError::Create(e.to_string()))?;
        Ok(ProducerActor {
            producer,
            health: None,
        })
    }

    /// Reports every delivery's outcome to `health`: a success, or a failure that is the
    /// broker's (transient), never one that is the record's.
    pub fn with_health(mut self, health: super::health::BrokerHealth) -> Self {
        self.health = Some(health);
        self
    }

    fn flush(&self) {
        let queued = self.producer.in_flight_count();
        if queued == 0 {
            return;
        }
        match self.producer.flush(Timeout::After(FLUSH_ON_STOP)) {
            Ok(()) => tracing::info!(records = queued, "producer flushed"),
            Err(e) => tracing::error!(
                error = %e,
                pending = self.producer.in_flight_count(),
                "producer flush failed; undelivered records may be lost"
            ),
        }
    }

    /// Starts the actor on the current arbiter and returns its address and handle.
    pub fn start_with_handle(self) -> (Addr<ProducerActor>, ProducerHandle) {
        let addr = self.start();
        let handle = ProducerHandle::new(addr.clone().recipient());
        (addr, handle)
    }
}

crate::supervised!(ProducerActor);

impl Actor for ProducerActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        // Publishers send far faster than the default 16-message mailbox drains under a
        // burst; the real bound is librdkafka's queue (queue.buffering.max.messages).
        ctx.set_mailbox_capacity(65_536);
    }

    fn stopped(&mut self, _ctx: &mut Self::Context) {
        self.flush();
    }
}

impl Handler<Publish> for ProducerActor {
    type Result = ResponseFuture<Result<Delivered, PublishError>>;

    fn handle(&mut self, Publish(record): Publish, _ctx: &mut Self::Context) -> Self::Result {
        let mut headers = OwnedHeaders::new_with_capacity(record.headers.len());
        for (name, value) in &record.headers {
            headers = headers.insert(Header {
                key: name,
                value: Some(value),
            });
        }
        let mut future_record = FutureRecord::to(&record.topic)
            .payload(&record.value)
            .headers(headers.clone());
        if let Some(key) = &record.key {
            future_record = future_record.key(key);
        }
        let health = self.health.clone();
        // Enqueue synchronously so publish order is handler order.
        match self.producer.send_result(future_record) {
            Ok(delivery) => {
                let topic = record.topic;
                Box::pin(async move {
                    let result = match delivery.await {
                        Ok(Ok(d)) => Ok(Delivered {
                            partition: d.partition,
                            offset: d.offset,
                        }),
                        Ok(Err((e, _))) => {
                            if let Some(health) = &health
                                && is_the_brokers_fault(&e)
                            {
                                let reason = format!("delivery to `{topic}` failed: {e}");
                                health.delivery_failed(std::time::Instant::now(), reason);
                            }
                            Err(PublishError::classify(&topic, &e))
                        }
                        Err(_) => Err(PublishError::Unavailable(
                            "delivery report dropped (producer shut down)".into(),
                        )),
                    };
                    if let (Some(health), Ok(_)) = (&health, &result) {
                        health.delivery_ok();
                    }
                    result
                })
            }
            Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), _)) => {
                // librdkafka's queue is full: wait for room (only under a burst larger than
                // the queue; order relative to later sends is not guaranteed then).
                let producer = self.producer.clone();
                Box::pin(async move {
                    let mut fr = FutureRecord::to(&record.topic)
                        .payload(&record.value)
                        .headers(headers);
                    if let Some(key) = &record.key {
                        fr = fr.key(key);
                    }
                    producer
                        .send(fr, Timeout::After(QUEUE_FULL_WAIT))
                        .await
                        .map(|d| Delivered {
                            partition: d.partition,
                            offset: d.offset,
                        })
                        .map_err(|(e, _)| PublishError::classify(&record.topic, &e))
                })
            }
            Err((e, _)) => {
                if let Some(health) = &self.health
                    && is_the_brokers_fault(&e)
                {
                    let reason = format!("producing to `{}` failed: {e}", record.topic);
                    health.delivery_failed(std::time::Instant::now(), reason);
                }
                let err = PublishError::classify(&record.topic, &e);
                Box::pin(async move { Err(err) })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::messages::MarketTick;
    use rust_decimal::Decimal;

    fn header<'a>(record: &'a OutboundRecord, name: &str) -> Option<&'a [u8]> {
        record
            .headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_slice())
    }

    #[test]
    fn envelope_records_carry_type_correlation_and_the_time_they_were_built() {
        let tick = MarketTick::ltp(738_561, Decimal::new(250_000, 2));
        let envelope = Envelope::root(tick, "test", chrono::Utc::now());
        let before = now_ns();
        let record = OutboundRecord::envelope(Topic::MARKET_TICKS, &envelope);
        let after = now_ns();

        assert_eq!(
            header(&record, HEADER_EVENT_TYPE),
            Some(&b"market_tick"[..])
        );
        let correlation = envelope.correlation_id.to_string();
        assert_eq!(
            header(&record, HEADER_CORRELATION_ID),
            Some(correlation.as_bytes())
        );
        let sent = header(&record, HEADER_SENT_NS).expect("ap-sent-ns header");
        let sent: i64 = std::str::from_utf8(sent)
            .expect("ASCII")
            .parse()
            .expect("decimal nanoseconds");
        assert!(
            (before..=after).contains(&sent),
            "{before} <= {sent} <= {after}"
        );
    }
}
