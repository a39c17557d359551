//! The envelope every Kafka record carries, and the rules for deriving caused events.

use super::common::Broker;
use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::fmt;
use uuid::Uuid;

/// The schema version this build writes and reads.
pub const SCHEMA_VERSION: u16 = 1;

/// Namespace for UUIDv5 ids of caused events. Changing it changes every derived id, which
/// would defeat dedup across a rolling upgrade: never change it.
const CHILD_ID_NAMESPACE: Uuid = Uuid::from_u128(0x6a0c_52f1_1d4e_4b7a_9a55_0e5b_7d2c_a11f);

/// What the envelope's `data` holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventType {
    MarketTick,
    TradingSignal,
    ValidatedSignal,
    RejectedSignal,
    OrderSubmitted,
    OrderFilled,
    OrderFailed,
    PnlSnapshot,
    SubscriptionsChanged,
    DlqRecord,
}

impl EventType {
    /// The wire name, also used in the `event-type` record header.
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::MarketTick => "market_tick",
            EventType::TradingSignal => "trading_signal",
            EventType::ValidatedSignal => "validated_signal",
            EventType::RejectedSignal => "rejected_signal",
            EventType::OrderSubmitted => "order_submitted",
            EventType::OrderFilled => "order_filled",
            EventType::OrderFailed => "order_failed",
            EventType::PnlSnapshot => "pnl_snapshot",
            EventType::SubscriptionsChanged => "subscriptions_changed",
            EventType::DlqRecord => "dlq_record",
        }
    }
}

impl fmt::Display for EventType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A payload that can travel in an [`Envelope`].
pub trait Payload: Serialize + DeserializeOwned + Clone + fmt::Debug + Send + 'static {
    /// The envelope `type` this payload is carried under.
    const TYPE: EventType;

    /// The record key: ticks by instrument token, signals/orders/fills by `strategy:token`,
    /// so each key's events stay in order on one partition.
    fn partition_key(&self) -> String;

    /// The broker namespace, for payloads that belong to one.
    fn broker(&self) -> Option<Broker> {
        None
    }

    /// Invariants serde cannot express (positive quantities, prices required by an order
    /// type...). A record that fails them is invalid and goes to the DLQ.
    ///
    /// # Errors
    /// A sentence naming the field and what is wrong with it.
    fn validate(&self) -> Result<(), String> {
        Ok(())
    }
}

/// One Kafka record's value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Envelope<T> {
    pub id: Uuid,
    #[serde(rename = "type")]
    pub event_type: EventType,
    /// Shared by every event that descends from the same root event.
    pub correlation_id: Uuid,
    /// The id of the event that caused this one; `None` for a root event.
    pub causation_id: Option<Uuid>,
    /// Trace id for distributed tracing; inherited from the root.
    pub trace_id: Uuid,
    pub broker: Option<Broker>,
    pub ts: DateTime<Utc>,
    pub key: String,
    /// The service that wrote the event.
    pub source: String,
    pub version: u16,
    pub data: T,
}

/// The ids a child envelope inherits from its parent, kept where the parent itself is not
/// (the paper venue's journal), so the same child can be built again with the same id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Lineage {
    pub id: Uuid,
    pub correlation_id: Uuid,
    pub trace_id: Uuid,
}

/// A random (version 4) UUID from the thread's cryptographically secure generator, seeded
/// from the OS once per thread: `Uuid::new_v4` asks the OS for every id, a system call per
/// tick on the feed's hot path (docs/PERFORMANCE.md). Ids only need to be unique.
pub fn random_id() -> Uuid {
    uuid::Builder::from_random_bytes(rand::random()).into_uuid()
}

impl<T: Payload> Envelope<T> {
    /// The child of the parent `lineage` describes: the same envelope as
    /// [`Envelope::child`] of that parent.
    pub fn child_of(
        lineage: Lineage,
        data: T,
        source: &str,
        discriminator: &str,
        ts: DateTime<Utc>,
    ) -> Envelope<T> {
        let id = derive_child_id(lineage.id, T::TYPE, discriminator);
        Envelope::build(
            data,
            source,
            ts,
            id,
            lineage.correlation_id,
            Some(lineage.id),
            lineage.trace_id,
        )
    }

    /// A root event (no cause): a fresh random id that is also its correlation and trace id.
    pub fn root(data: T, source: &str, ts: DateTime<Utc>) -> Self {
        let id = random_id();
        Self::build(data, source, ts, id, id, None, id)
    }

    /// A root event with a caller-chosen `id` (also its correlation and trace id): for
    /// replays that must give the same input the same ids, such as a backtest's ticks.
    pub fn root_with_id(data: T, source: &str, ts: DateTime<Utc>, id: Uuid) -> Self {
        Self::build(data, source, ts, id, id, None, id)
    }

    /// An event caused by `self`. Its id is a UUIDv5 of the parent id, the child's type and
    /// `discriminator` (use it when one parent yields several children of one type, e.g. a
    /// signal per broker or one fill per execution; pass `""` otherwise). Same parent and
    /// arguments → same id, which is what makes redelivery harmless.
    pub fn child<U: Payload>(
        &self,
        data: U,
        source: &str,
        discriminator: &str,
        ts: DateTime<Utc>,
    ) -> Envelope<U> {
        Envelope::child_of(self.lineage(), data, source, discriminator, ts)
    }

    /// What a child needs of this envelope (see [`Lineage`]).
    pub fn lineage(&self) -> Lineage {
        Lineage {
            id: self.id,
            correlation_id: self.correlation_id,
            trace_id: self.trace_id,
        }
    }

    fn build(
        data: T,
        source: &str,
        ts: DateTime<Utc>,
        id: Uuid,
        correlation_id: Uuid,
        causation_id: Option<Uuid>,
        trace_id: Uuid,
    ) -> Self {
        Envelope {
            id,
            event_type: T::TYPE,
            correlation_id,
            causation_id,
            trace_id,
            broker: data.broker(),
            ts,
            key: data.partition_key(),
            source: source.to_owned(),
            version: SCHEMA_VERSION,
            data,
        }
    }
}

/// The deterministic id of a caused event.
pub fn derive_child_id(parent: Uuid, child_type: EventType, discriminator: &str) -> Uuid {
    let mut name = Vec::with_capacity(16 + 24 + discriminator.len());
    name.extend_from_slice(parent.as_bytes());
    name.extend_from_slice(child_type.as_str().as_bytes());
    name.push(b'/');
    name.extend_from_slice(discriminator.as_bytes());
    Uuid::new_v5(&CHILD_ID_NAMESPACE, &name)
}

/// An event time the system can compute with: within the years 1677 to 2262 (nanoseconds
/// since the epoch in 64 bits). Outside it, calendar arithmetic (the IST offset, the
/// intraday day) overflows and panics, so such a time is refused wherever it enters:
/// decoding a record ([`crate::messages::decode`]) and reading a tick file.
///
/// # Errors
/// The time is outside that range; the message says so.
pub fn check_time(ts: DateTime<Utc>) -> Result<(), String> {
    match ts.timestamp_nanos_opt() {
        Some(_) => Ok(()),
        None => Err(format!(
            "{} is outside the years 1677 to 2262 (nanoseconds since the epoch in 64 bits)",
            ts.to_rfc3339()
        )),
    }
}
