//! The consumer actor: Kafka records in, typed messages to their owners, offsets out.
//!
//! For each record it decodes, sends the typed [`Deliver`] to the actor that owns that
//! message type (a routing table built once), awaits the handler's answer, and only then
//! considers the record handled. The answer carries the handler's pending output
//! deliveries ([`Completion`]); a record is complete when they are all acknowledged, and the
//! offset stored for commit is that of the highest record with every record before it
//! complete (per partition, so order and at-least-once both hold).
//!
//! Outcomes, each counted in [`ConsumerStats`]:
//! - undecodable or invalid record (its payload fails [`Payload::validate`]: a tick at a
//!   price ≤ 0 or above the ceiling, a crossed book, see
//!   [`crate::messages::MarketTick::check`]) → its `{topic}.dlq` at once, with kind
//!   `invalid` and the reason naming the field and value; the handler is never called;
//! - [`HandlerError::Permanent`] → DLQ; [`HandlerError::Transient`] → retried with
//!   exponential backoff and jitter, then DLQ;
//! - [`HandlerError::Unavailable`] (a dependency down: the store) → retried with capped
//!   backoff for as long as it lasts, never dead-lettered: the record is fine, and
//!   dead-lettering it during an outage would lose it (a validated order never placed);
//!   readiness names the dependency meanwhile;
//! - a failed output delivery → the partition is rewound to that record and everything
//!   from it is handled again (handlers are idempotent by event id), with backoff; after
//!   the retry budget the record goes to the DLQ;
//! - a DLQ record that cannot be delivered holds the offset back and is retried: nothing is
//!   ever dropped silently.
//!
//! Metrics: dead-lettered records, handler retries, handler latency and partition lag
//! (from librdkafka's statistics; see `meters`) go to [`crate::telemetry::metrics`].
//!
//! Retries block the consumer's other partitions (one loop per consumer); to spread that
//! risk run more consumers in the group.

mod actor;
mod meters;
mod pipeline;
mod routing;
mod window;

pub use actor::{ConsumerActor, ConsumerArgs, GetProgress, Shutdown};
pub use pipeline::{ConsumerStats, Progress, StatsSnapshot};
pub use routing::{HANDLER_TIMEOUT, Routes};
pub use window::PartitionWindow;

use crate::messages::{Envelope, Payload, RecordOrigin};
use crate::streaming::producer::PendingDelivery;
use actix::Message;
use thiserror::Error;

/// A decoded record delivered to the actor that owns its type.
#[derive(Debug, Clone)]
pub struct Deliver<T: Payload> {
    pub envelope: Envelope<T>,
    pub origin: RecordOrigin,
}

impl<T: Payload> Message for Deliver<T> {
    type Result = HandlerResult;
}

/// A handler's answer.
pub type HandlerResult = Result<Completion, HandlerError>;

/// What a handler leaves in flight: the deliveries of the outputs it published. The record
/// is complete when all have been acknowledged.
#[derive(Default)]
pub struct Completion {
    pub deliveries: Vec<PendingDelivery>,
}

impl Completion {
    /// Handled, nothing published.
    pub fn done() -> Self {
        Completion::default()
    }

    /// Handled; complete once these deliveries succeed.
    pub fn after(deliveries: Vec<PendingDelivery>) -> Self {
        Completion { deliveries }
    }
}

impl std::fmt::Debug for Completion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Completion({} pending)", self.deliveries.len())
    }
}

/// Why a handler could not handle a record, classified by what the consumer must do.
#[derive(Debug, Clone, Error, PartialEq, Eq)]
pub enum HandlerError {
    /// May succeed later (store or broker unreachable): retry with backoff, then DLQ.
    #[error("transient: {0}")]
    Transient(String),
    /// Will never succeed: DLQ now.
    #[error("permanent: {0}")]
    Permanent(String),
    /// A dependency (the store) is down: retry until it is back, never DLQ.
    #[error("unavailable: {0}")]
    Unavailable(String),
}
