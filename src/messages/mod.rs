//! The typed vocabulary of the pipeline: one [`Envelope`] around every payload on Kafka.
//!
//! Invariants:
//! - JSON on the wire; prices and money are `rust_decimal::Decimal` serialised as strings
//!   (a JSON number is refused, so no value ever passes through `f64`); timestamps are
//!   RFC 3339 UTC.
//! - A caused event carries `causation_id = parent.id`, the parent's `correlation_id`, and an
//!   id derived deterministically from the parent ([`Envelope::child`]), so redelivery of the
//!   same input yields the same output id and downstream dedup makes it effectively-once.
//! - [`codec::decode`] is the only way bytes become an envelope (a single-pass fast path for
//!   valid records, the path-tracking parse to name what is wrong otherwise): it checks the event type,
//!   the schema version and each payload's own invariants ([`Payload::validate`]).

pub mod codec;
mod common;
mod dlq;
mod envelope;
mod market;
mod orders;
mod pnl;
mod signals;
mod subscriptions;
#[cfg(test)]
mod tests;

pub use codec::{DecodeError, decode, encode};
pub use common::{Broker, OrderType, Product, Side, Validity};
pub use dlq::{
    ChunkSet, DlqChunk, DlqErrorKind, DlqRecord, MAX_REASON_BYTES, Reassembled, RecordOrigin,
    bounded_reason,
};
pub use envelope::{
    Envelope, EventType, Lineage, Payload, SCHEMA_VERSION, check_time, derive_child_id,
};
pub use market::{
    DepthLevel, MAX_PRICE, MAX_PRICE_DECIMALS, MarketDepth, MarketTick, Ohlc, TickMode, TickProblem,
};
pub use orders::{
    AUTO_SQUARE_OFF_PREFIX, EXPIRY_SETTLEMENT_PREFIX, EXTERNAL_ORDER_PREFIX, Fees, OrderFailed,
    OrderFailureKind, OrderFilled, OrderRef, OrderSubmitted, VenueEvent, client_order_id,
    client_order_id_of_signal, is_expiry_settlement, is_venue_initiated,
};
pub use pnl::{PnlSnapshot, PositionSnapshot};
pub use signals::{
    RejectedSignal, Rejection, RejectionCode, TradingSignal, ValidatedSignal, strategy_key,
};
pub use subscriptions::{SubscriptionsChanged, WantedInstrument, requester_key};
