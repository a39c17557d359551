//! The dead-letter record: a record we could not process, kept byte for byte with why.

use super::envelope::{EventType, Payload};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::fmt;

/// Why a record went to the DLQ.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DlqErrorKind {
    /// The bytes are not an envelope of the expected type and version.
    Decode,
    /// It decoded, but breaks the payload's invariants.
    Invalid,
    /// The handler refused it for good.
    Permanent,
    /// Transient failures (handler or output delivery) outlasted the retry budget.
    RetriesExhausted,
}

impl DlqErrorKind {
    pub fn as_str(self) -> &'static str {
        match self {
            DlqErrorKind::Decode => "decode",
            DlqErrorKind::Invalid => "invalid",
            DlqErrorKind::Permanent => "permanent",
            DlqErrorKind::RetriesExhausted => "retries_exhausted",
        }
    }
}

impl fmt::Display for DlqErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A dead-lettered record. Key and value are base64 so any bytes survive JSON exactly;
/// `dlq replay` re-publishes them unchanged to `topic`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DlqRecord {
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
    pub key_b64: Option<String>,
    pub value_b64: Option<String>,
    pub error_kind: DlqErrorKind,
    pub error: String,
    pub attempts: u32,
    /// The consuming service that gave up on it.
    pub service: String,
    pub failed_at: DateTime<Utc>,
}

/// Where a consumed record came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordOrigin {
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
}

impl DlqRecord {
    /// Wraps the original bytes of a failed record.
    pub fn new(
        origin: &RecordOrigin,
        key: Option<&[u8]>,
        value: Option<&[u8]>,
        failure: (DlqErrorKind, String),
        attempts: u32,
        service: &str,
    ) -> Self {
        DlqRecord {
            topic: origin.topic.clone(),
            partition: origin.partition,
            offset: origin.offset,
            key_b64: key.map(|k| B64.encode(k)),
            value_b64: value.map(|v| B64.encode(v)),
            error_kind: failure.0,
            error: failure.1,
            attempts,
            service: service.to_owned(),
            failed_at: Utc::now(),
        }
    }

    /// The original key bytes.
    ///
    /// # Errors
    /// The stored text is not base64.
    pub fn key_bytes(&self) -> Result<Option<Vec<u8>>, base64::DecodeError> {
        self.key_b64.as_deref().map(|k| B64.decode(k)).transpose()
    }

    /// The original value bytes.
    ///
    /// # Errors
    /// The stored text is not base64.
    pub fn value_bytes(&self) -> Result<Option<Vec<u8>>, base64::DecodeError> {
        self.value_b64.as_deref().map(|v| B64.decode(v)).transpose()
    }
}

impl Payload for DlqRecord {
    const TYPE: EventType = EventType::DlqRecord;
    fn partition_key(&self) -> String {
        format!("{}:{}", self.topic, self.partition)
    }
    fn validate(&self) -> Result<(), String> {
        if self.topic.is_empty() {
            return Err("topic: must not be empty".into());
        }
        self.key_bytes()
            .map_err(|e| format!("key_b64: not base64: {e}"))?;
        self.value_bytes()
            .map_err(|e| format!("value_b64: not base64: {e}"))?;
        Ok(())
    }
}
