//! Bytes ⇄ envelopes. Decoding is strict and every refusal says what was wrong and where.

use super::envelope::{Envelope, EventType, Payload, SCHEMA_VERSION};
use serde_json::value::RawValue;
use thiserror::Error;

/// Why bytes are not a valid envelope of the expected payload type. Every variant is
/// permanent: the same bytes will fail the same way, so the record belongs in the DLQ.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum DecodeError {
    #[error("empty record: no value bytes")]
    Empty,
    #[error("malformed envelope at `{path}`: {message}")]
    Envelope { path: String, message: String },
    #[error("wrong event type: expected `{expected}`, got `{found}`")]
    WrongType {
        expected: EventType,
        found: EventType,
    },
    #[error("unsupported schema version {found} (this build reads {supported})")]
    UnsupportedVersion { found: u16, supported: u16 },
    #[error("malformed `{event_type}` payload at `data.{path}`: {message}")]
    Payload {
        event_type: EventType,
        path: String,
        message: String,
    },
    #[error("invalid `{event_type}`: {reason}")]
    Invalid {
        event_type: EventType,
        reason: String,
    },
}

/// Bytes reserved for an encoded envelope: a quote-mode tick is about 600, so most
/// records are written without the buffer growing (each growth a reallocation and copy).
const ENCODE_CAPACITY: usize = 1024;

/// Serialises an envelope to its JSON bytes.
pub fn encode<T: Payload>(envelope: &Envelope<T>) -> Vec<u8> {
    let mut out = Vec::with_capacity(ENCODE_CAPACITY);
    // Cannot fail: every payload is plain structs, enums, strings, numbers and
    // string-keyed maps, which serde_json always serialises, into a Vec.
    #[allow(clippy::expect_used)]
    serde_json::to_writer(&mut out, envelope).expect("envelope serialisation is infallible");
    out
}

/// Parses and checks an envelope carrying a `T`.
///
/// # Errors
/// [`DecodeError`] naming the first problem: empty bytes, malformed JSON or a missing or
/// unknown envelope field (with its path), another event type, another schema version, a
/// malformed payload field (with its path), a key or broker that contradicts the payload,
/// or a payload that breaks its own invariants.
pub fn decode<T: Payload>(bytes: &[u8]) -> Result<Envelope<T>, DecodeError> {
    if bytes.is_empty() {
        return Err(DecodeError::Empty);
    }
    // Fast path: one pass, no path tracking. Anything it does not accept (malformed JSON,
    // another type or version) goes through the checked path below, which names the error.
    if let Ok(envelope) = serde_json::from_slice::<Envelope<T>>(bytes)
        && envelope.event_type == T::TYPE
        && envelope.version == SCHEMA_VERSION
    {
        return check(envelope);
    }
    decode_checked(bytes)
}

fn check<T: Payload>(envelope: Envelope<T>) -> Result<Envelope<T>, DecodeError> {
    let invalid = |reason: String| DecodeError::Invalid {
        event_type: T::TYPE,
        reason,
    };
    envelope.data.validate().map_err(invalid)?;
    super::check_time(envelope.ts).map_err(|e| invalid(format!("ts: {e}")))?;
    let expected_key = envelope.data.partition_key();
    if envelope.key != expected_key {
        return Err(invalid(format!(
            "key: envelope says `{}` but the payload's key is `{expected_key}`",
            envelope.key
        )));
    }
    if envelope.broker != envelope.data.broker() {
        return Err(invalid(format!(
            "broker: envelope says {:?} but the payload says {:?}",
            envelope.broker,
            envelope.data.broker()
        )));
    }
    Ok(envelope)
}

fn decode_checked<T: Payload>(bytes: &[u8]) -> Result<Envelope<T>, DecodeError> {
    let raw: Envelope<&RawValue> =
        parse(bytes).map_err(|(path, message)| DecodeError::Envelope { path, message })?;
    if raw.event_type != T::TYPE {
        return Err(DecodeError::WrongType {
            expected: T::TYPE,
            found: raw.event_type,
        });
    }
    if raw.version != SCHEMA_VERSION {
        return Err(DecodeError::UnsupportedVersion {
            found: raw.version,
            supported: SCHEMA_VERSION,
        });
    }
    let data: T =
        parse(raw.data.get().as_bytes()).map_err(|(path, message)| DecodeError::Payload {
            event_type: T::TYPE,
            path,
            message,
        })?;
    check(Envelope {
        id: raw.id,
        event_type: raw.event_type,
        correlation_id: raw.correlation_id,
        causation_id: raw.causation_id,
        trace_id: raw.trace_id,
        broker: raw.broker,
        ts: raw.ts,
        key: raw.key,
        source: raw.source,
        version: raw.version,
        data,
    })
}

/// JSON parse with the failing field's path. Paths are dotted (`depth.bids[0].price`);
/// `.` is the document itself.
fn parse<'de, D: serde::Deserialize<'de>>(bytes: &'de [u8]) -> Result<D, (String, String)> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut de)
        .map_err(|e| (e.path().to_string(), e.into_inner().to_string()))?;
    de.end().map_err(|e| (".".to_owned(), e.to_string()))?;
    Ok(value)
}
