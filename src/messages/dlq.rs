//! The dead-letter record: a record we could not process, kept byte for byte with why.
//!
//! # Records too large for one DLQ record
//!
//! A DLQ record carries the original key and value in base64 (so any bytes survive JSON),
//! which makes it a third larger than the original: a record of 750 KB already exceeds the
//! producer's 1 MB `message.max.bytes`, and such a record could never be dead-lettered.
//!
//! Decision: **chunking**. A record whose DLQ copy would not fit is written as several DLQ
//! records, each a [`DlqChunk`] of the original bytes (key then value), sharing one chunk
//! id, with their index, the count, both lengths and the SHA-256 of the whole; `dlq replay`
//! reassembles them ([`ChunkSet`]), checks length and digest, and re-publishes the original
//! record byte for byte. Chosen over a truncated copy plus a spill file because the DLQ
//! stays the one place that holds everything (a spill file lives on one host's disk, is
//! lost with it, and is not replicated by the broker), and replay needs nothing but the
//! topic. Chosen over a separate size-aware topic because a broker's record limit holds
//! per topic anyway; chunks fit any limit by choosing their size.
//!
//! Invariants:
//! - a plain record has `chunk: None` and is byte-compatible with records written before
//!   chunking existed; a chunk has `key_b64` and `value_b64` both `None`;
//! - each dead-lettering of a record gets a fresh chunk id, so a set cut short by a crash
//!   (the record is dead-lettered again after the restart) never mixes with the complete
//!   set: replay reports it as incomplete and never re-publishes it;
//! - every chunk of a set goes to the same DLQ partition (the chunk id is the Kafka key),
//!   in index order.

use super::envelope::{EventType, Payload};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::fmt;

/// The longest failure reason kept in a DLQ record, in bytes: a handler's reason is free
/// text, and the record must stay within the producer's size limit.
pub const MAX_REASON_BYTES: usize = 4096;

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
    /// Set when the original was too large for one DLQ record: this record carries one
    /// part of it (see the module docs). Absent from plain records.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chunk: Option<DlqChunk>,
}

/// One part of a record written as several DLQ records.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DlqChunk {
    /// Shared by the chunks of one dead-lettering (fresh for each).
    pub id: String,
    /// 0-based position of this chunk.
    pub index: u32,
    /// How many chunks the set has.
    pub count: u32,
    /// Length of the original key (`None`: the record had no key).
    pub key_len: Option<u64>,
    /// Length of the original value (`None`: the record had no value).
    pub value_len: Option<u64>,
    /// SHA-256 (lowercase hex) of the original key bytes followed by the value bytes.
    pub sha256: String,
    /// This chunk's slice of key-then-value, base64.
    pub data_b64: String,
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
            chunk: None,
        }
    }

    /// The original record as chunks of at most `chunk_bytes` raw bytes each (at least
    /// one chunk, even for an empty record), all under a fresh chunk id.
    pub fn chunked(
        origin: &RecordOrigin,
        key: Option<&[u8]>,
        value: Option<&[u8]>,
        failure: (DlqErrorKind, String),
        attempts: u32,
        service: &str,
        chunk_bytes: usize,
    ) -> Vec<DlqRecord> {
        let whole: Vec<u8> = [key.unwrap_or_default(), value.unwrap_or_default()].concat();
        let sha256 = hex(&Sha256::digest(&whole));
        let id = uuid::Uuid::new_v4().to_string();
        let parts: Vec<&[u8]> = if whole.is_empty() {
            vec![&[]]
        } else {
            whole.chunks(chunk_bytes.max(1)).collect()
        };
        let count = u32::try_from(parts.len()).unwrap_or(u32::MAX);
        let base = DlqRecord::new(origin, None, None, failure, attempts, service);
        parts
            .into_iter()
            .enumerate()
            .map(|(index, part)| DlqRecord {
                chunk: Some(DlqChunk {
                    id: id.clone(),
                    index: u32::try_from(index).unwrap_or(u32::MAX),
                    count,
                    key_len: key.map(|k| k.len() as u64),
                    value_len: value.map(|v| v.len() as u64),
                    sha256: sha256.clone(),
                    data_b64: B64.encode(part),
                }),
                ..base.clone()
            })
            .collect()
    }

    /// Size in bytes of the original key plus value (for a chunk, of the whole record).
    pub fn original_size(&self) -> u64 {
        if let Some(c) = &self.chunk {
            return c.key_len.unwrap_or(0) + c.value_len.unwrap_or(0);
        }
        // base64: 4 characters per 3 bytes, less the padding.
        let decoded = |b: &Option<String>| {
            b.as_deref().map_or(0, |t| {
                let pad = t.bytes().rev().take_while(|c| *c == b'=').count();
                (t.len() / 4 * 3).saturating_sub(pad) as u64
            })
        };
        decoded(&self.key_b64) + decoded(&self.value_b64)
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

/// `error` cut to at most [`MAX_REASON_BYTES`] bytes at a character boundary, saying so.
pub fn bounded_reason(error: String) -> String {
    if error.len() <= MAX_REASON_BYTES {
        return error;
    }
    let mut end = MAX_REASON_BYTES;
    while !error.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}… ({} bytes in all)", &error[..end], error.len())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The original record, reassembled from a chunk set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reassembled {
    pub key: Option<Vec<u8>>,
    pub value: Option<Vec<u8>>,
}

/// Collects the chunks of one set, in any order, and rebuilds the original once all
/// arrived. Refuses a chunk that contradicts the set (count, lengths, digest, a repeated
/// index with other bytes).
#[derive(Debug)]
pub struct ChunkSet {
    first: DlqChunk,
    parts: Vec<Option<Vec<u8>>>,
    received: u32,
}

impl ChunkSet {
    /// Starts a set from any one of its chunks.
    ///
    /// # Errors
    /// The chunk is malformed (index out of range, count zero, data not base64).
    pub fn new(chunk: &DlqChunk) -> Result<Self, String> {
        if chunk.count == 0 {
            return Err(format!("chunk {}: count 0", chunk.id));
        }
        let mut set = ChunkSet {
            first: DlqChunk {
                data_b64: String::new(),
                ..chunk.clone()
            },
            parts: vec![None; chunk.count as usize],
            received: 0,
        };
        set.add(chunk)?;
        Ok(set)
    }

    /// How many chunks arrived, of how many.
    pub fn progress(&self) -> (u32, u32) {
        (self.received, self.first.count)
    }

    /// Adds a chunk of this set.
    ///
    /// # Errors
    /// It belongs to another set, contradicts the set, or its data is not base64.
    pub fn add(&mut self, chunk: &DlqChunk) -> Result<(), String> {
        let f = &self.first;
        if (
            chunk.id.as_str(),
            chunk.count,
            chunk.key_len,
            chunk.value_len,
            &chunk.sha256,
        ) != (f.id.as_str(), f.count, f.key_len, f.value_len, &f.sha256)
        {
            return Err(format!(
                "chunk {} #{}: contradicts the set's count, lengths or digest",
                chunk.id, chunk.index
            ));
        }
        let Some(slot) = self.parts.get_mut(chunk.index as usize) else {
            return Err(format!(
                "chunk {} #{}: index beyond count {}",
                chunk.id, chunk.index, f.count
            ));
        };
        let data = B64
            .decode(&chunk.data_b64)
            .map_err(|e| format!("chunk {} #{}: data_b64: {e}", chunk.id, chunk.index))?;
        match slot {
            Some(existing) if *existing != data => Err(format!(
                "chunk {} #{}: repeated with other bytes",
                chunk.id, chunk.index
            )),
            Some(_) => Ok(()), // The same chunk written twice (a producer retry).
            None => {
                *slot = Some(data);
                self.received += 1;
                Ok(())
            }
        }
    }

    /// The original record, once every chunk arrived; `None` while some are missing.
    ///
    /// # Errors
    /// All arrived but the bytes do not match the recorded lengths or digest.
    pub fn finish(&self) -> Result<Option<Reassembled>, String> {
        if self.received < self.first.count {
            return Ok(None);
        }
        let whole: Vec<u8> = self.parts.iter().flatten().flatten().copied().collect();
        let f = &self.first;
        let key_len = f.key_len.unwrap_or(0);
        let expected = key_len + f.value_len.unwrap_or(0);
        if whole.len() as u64 != expected {
            return Err(format!(
                "chunk set {}: {} bytes, expected {expected}",
                f.id,
                whole.len()
            ));
        }
        if hex(&Sha256::digest(&whole)) != f.sha256 {
            return Err(format!("chunk set {}: SHA-256 mismatch", f.id));
        }
        // Infallible: key_len <= whole.len() was checked through the total just above.
        let (key, value) = whole.split_at(key_len as usize);
        Ok(Some(Reassembled {
            key: f.key_len.map(|_| key.to_vec()),
            value: f.value_len.map(|_| value.to_vec()),
        }))
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
        if let Some(c) = &self.chunk {
            if self.key_b64.is_some() || self.value_b64.is_some() {
                return Err("chunk: a chunk carries no key_b64 or value_b64".into());
            }
            if c.count == 0 || c.index >= c.count {
                return Err(format!("chunk: index {} of count {}", c.index, c.count));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn origin() -> RecordOrigin {
        RecordOrigin {
            topic: "signals.raw".into(),
            partition: 1,
            offset: 9,
        }
    }

    fn chunks(key: Option<&[u8]>, value: Option<&[u8]>, size: usize) -> Vec<DlqChunk> {
        DlqRecord::chunked(
            &origin(),
            key,
            value,
            (DlqErrorKind::Decode, "x".into()),
            1,
            "svc",
            size,
        )
        .into_iter()
        .filter_map(|r| r.chunk)
        .collect()
    }

    fn rebuild(chunks: &[DlqChunk]) -> Result<Option<Reassembled>, String> {
        let mut set = ChunkSet::new(&chunks[0])?;
        for c in &chunks[1..] {
            set.add(c)?;
        }
        set.finish()
    }

    #[test]
    fn chunks_rebuild_key_and_value_byte_for_byte_in_any_order() {
        let value: Vec<u8> = (0..1000u32).map(|i| (i * 7 % 256) as u8).collect();
        let mut parts = chunks(Some(b"k\xff"), Some(&value), 64);
        assert_eq!(parts.len(), 16, "1002 bytes in chunks of 64");
        parts.reverse();
        let rebuilt = rebuild(&parts);
        assert_eq!(
            rebuilt,
            Ok(Some(Reassembled {
                key: Some(b"k\xff".to_vec()),
                value: Some(value)
            }))
        );
    }

    #[test]
    fn a_missing_chunk_leaves_the_set_unfinished_and_a_wrong_one_is_refused() {
        let parts = chunks(None, Some(&[1u8; 300]), 100);
        assert_eq!(rebuild(&parts[..2]), Ok(None));
        let mut tampered = parts.clone();
        tampered[1].data_b64 = B64.encode([2u8; 100]);
        assert_eq!(
            rebuild(&tampered),
            Err(format!("chunk set {}: SHA-256 mismatch", parts[0].id))
        );
        let mut other = parts.clone();
        other[2].count = 4;
        assert!(rebuild(&other).is_err(), "contradicts the set's count");
    }

    #[test]
    fn an_empty_record_is_one_chunk_and_absent_parts_stay_absent() {
        let parts = chunks(None, None, 100);
        assert_eq!(parts.len(), 1);
        assert_eq!(
            rebuild(&parts),
            Ok(Some(Reassembled {
                key: None,
                value: None
            }))
        );
    }

    #[test]
    fn a_plain_record_has_no_chunk_field_on_the_wire() {
        let r = DlqRecord::new(
            &origin(),
            None,
            Some(b"v"),
            (DlqErrorKind::Decode, "x".into()),
            1,
            "s",
        );
        let json = serde_json::to_string(&r).unwrap_or_default();
        assert!(!json.contains("chunk"), "{json}");
        assert_eq!(r.original_size(), 1);
    }

    #[test]
    fn a_long_reason_is_cut_at_a_character_boundary() {
        let reason = "é".repeat(MAX_REASON_BYTES);
        let cut = bounded_reason(reason);
        assert!(cut.len() < MAX_REASON_BYTES + 40, "{}", cut.len());
        assert!(cut.ends_with(&format!("({} bytes in all)", 2 * MAX_REASON_BYTES)));
    }
}
