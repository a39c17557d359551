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
//!   the retry budget the record goes to the DLQ.
//!
//! Dead-lettering cannot fail for good (`dead_letter`): a record too large for one DLQ
//! record is written as chunks (design: `crate::messages::dlq`), a failed write is retried
//! until it is acknowledged, and only then is it counted (`alpha_panda_dlq_records_total`)
//! and logged as "record dead-lettered". Its offset is held back meanwhile.
//!
//! No record stops the consumer's other partitions, and nothing makes the loop sleep: a
//! record being retried pauses only its own partition (see `pipeline`), which keeps
//! per-key order and keeps the loop polling — a consumer that stops polling is dropped from
//! its group.
//!
//! Group health ([`ConsumerHealth`]): partitions assigned, how long without any, total
//! lag — read by readiness; a consumer left without partitions longer than its bound
//! (`kafka.unassigned_exit_secs`) fails, so its supervisor restarts it (a new member joins
//! the group afresh) and, if that keeps happening, escalates.
//!
//! Metrics: dead-lettered records, handler retries, handler latency and partition lag
//! (from librdkafka's statistics; see `meters`) go to [`crate::telemetry::metrics`].

mod actor;
mod context;
mod dead_letter;
mod fan_out;
#[cfg(test)]
mod fan_out_tests;
mod health;
mod meters;
mod pipeline;
mod routing;
mod stats;
mod window;

pub use actor::{ConsumerActor, ConsumerArgs, GetHealth, GetProgress, Shutdown};
pub use context::PipelineContext;
pub use dead_letter::{DEFAULT_MAX_RECORD_BYTES, MIN_RECORD_BYTES, max_record_bytes};
pub use fan_out::Owner;
pub use health::{ConsumerHealth, ConsumerHealthSnapshot, DEFAULT_UNASSIGNED_EXIT};
pub use routing::{HANDLER_TIMEOUT, Routes};
pub use stats::{ConsumerStats, Progress, StatsSnapshot};
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
