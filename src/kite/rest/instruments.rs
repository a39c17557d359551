//! `GET /instruments`: Kite's instrument master, every exchange, as one CSV.
//!
//! Kite answers the CSV gzipped. Three shapes are accepted, because proxies and the
//! HTTP stack differ in what they do with the encoding: `Content-Encoding: gzip` over a
//! gzip body, a gzip body without the header (recognised by its magic bytes `1f 8b`),
//! or plain CSV. What is refused, with the reason: a body that says gzip but is not, a
//! gzip stream that is corrupt or truncated (its CRC and length trailer are checked), a
//! master larger than [`MAX_MASTER_BYTES`] (compressed or not), and text that is not
//! UTF-8 (the error names the line).
//!
//! This module only fetches and decodes; whether the rows make sense is
//! [`InstrumentRegistry::parse`](crate::market::InstrumentRegistry::parse)'s job, run
//! before anything is cached.

use std::io::Read as _;
use std::time::Duration;

use flate2::read::MultiGzDecoder;

use reqwest::Method;

use super::client::{KiteClient, decode, transport};
use super::error::KiteError;
use super::rate::Budget;

/// Largest master accepted, decompressed (and compressed): 200 MiB. Kite's full master
/// is about 100k rows, some 10 MiB of CSV; a body beyond this is a broken answer, and
/// the bound keeps one from exhausting memory.
pub const MAX_MASTER_BYTES: usize = 200 * 1024 * 1024;

/// The shortest wait for the master: it is megabytes, so the per-request timeout of
/// orders (`kite.request_timeout_ms`, a few seconds) would cut it off on a slow link.
pub const MASTER_TIMEOUT_FLOOR: Duration = Duration::from_secs(60);

/// The two bytes every gzip stream starts with.
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

impl KiteClient {
    /// `GET /instruments`: the whole instrument master as CSV text, decompressed.
    ///
    /// Waits up to the larger of the client's timeout and [`MASTER_TIMEOUT_FLOOR`].
    ///
    /// # Errors
    /// Kite's refusal (a 403 token error, ...), a network failure or timeout, a 429 that
    /// outlasted the retries, or an answer that cannot be decoded
    /// ([`KiteError::Unknown`] naming why: corrupt or truncated gzip, too large, not
    /// UTF-8).
    pub async fn instruments(&self) -> Result<String, KiteError> {
        let timeout = self.timeout().max(MASTER_TIMEOUT_FLOOR);
        let answer = self
            .get_raw("/instruments", timeout, MAX_MASTER_BYTES)
            .await?;
        master_text(answer, MAX_MASTER_BYTES)
    }

    /// `GET path` answered with anything but Kite's JSON envelope (the instrument master's
    /// CSV): the raw answer, read up to `max_body` bytes, waiting at most `timeout`. Rate
    /// limits and 429s as for every other request; a status other than 200 is decoded as
    /// Kite's error envelope.
    ///
    /// # Errors
    /// As [`place_order`](Self::place_order); a body longer than `max_body` is
    /// [`KiteError::Unknown`] saying so.
    async fn get_raw(
        &self,
        path: &str,
        timeout: Duration,
        max_body: usize,
    ) -> Result<RawAnswer, KiteError> {
        self.retrying(Budget::Other, path, None, || {
            self.send_raw(path, timeout, max_body)
        })
        .await
    }

    /// One `GET path` whose 200 answer is kept raw (see [`get_raw`](Self::get_raw)).
    async fn send_raw(
        &self,
        path: &str,
        timeout: Duration,
        max_body: usize,
    ) -> Result<RawAnswer, KiteError> {
        let mut response = self
            .request(Method::GET, path)?
            .timeout(timeout)
            .send()
            .await
            .map_err(|e| transport(&e, timeout))?;
        let status = response.status().as_u16();
        let content_encoding = response
            .headers()
            .get(reqwest::header::CONTENT_ENCODING)
            .map(|v| {
                String::from_utf8_lossy(v.as_bytes())
                    .trim()
                    .to_ascii_lowercase()
            });
        let mut body = Vec::new();
        // Read chunk by chunk so an endless answer is cut at the bound, not buffered whole.
        while let Some(chunk) = response.chunk().await.map_err(|e| transport(&e, timeout))? {
            if body.len() + chunk.len() > max_body {
                return Err(KiteError::Unknown {
                    status: Some(status),
                    message: format!("answer larger than {max_body} bytes; refused"),
                });
            }
            body.extend_from_slice(&chunk);
        }
        if status != 200 {
            return Err(decode::<serde_json::Value>(status, &body)
                .err()
                // Unreachable: `decode` answers an error for every status but 200.
                .unwrap_or_else(|| KiteError::from_answer(status, None, String::new())));
        }
        Ok(RawAnswer {
            content_encoding,
            body,
        })
    }
}

/// A 200 answer kept as bytes: its `Content-Encoding` (lowercase) and its body as sent.
#[derive(Debug)]
struct RawAnswer {
    content_encoding: Option<String>,
    body: Vec<u8>,
}

/// The CSV text of a 200 answer: gunzipped when it is gzip, at most `max` bytes.
fn master_text(answer: RawAnswer, max: usize) -> Result<String, KiteError> {
    let refused = |message: String| KiteError::Unknown {
        status: Some(200),
        message: format!("instrument master: {message}"),
    };
    let declared_gzip = answer
        .content_encoding
        .as_deref()
        .is_some_and(|e| e == "gzip" || e == "x-gzip");
    let bytes = if answer.body.starts_with(&GZIP_MAGIC) {
        gunzip(&answer.body, max).map_err(refused)?
    } else if declared_gzip {
        return Err(refused(
            "the answer says Content-Encoding gzip but the body is not gzip".to_owned(),
        ));
    } else {
        answer.body
    };
    String::from_utf8(bytes).map_err(|e| {
        let at = e.utf8_error().valid_up_to();
        let line = 1 + e.as_bytes()[..at].iter().filter(|&&b| b == b'\n').count();
        refused(format!("line {line} is not UTF-8 (byte {at})"))
    })
}

/// The decompressed bytes of a gzip stream, at most `max` of them.
fn gunzip(body: &[u8], max: usize) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    // One byte past the bound tells "exactly max" from "more than max".
    let limit = u64::try_from(max).unwrap_or(u64::MAX).saturating_add(1);
    MultiGzDecoder::new(body)
        .take(limit)
        .read_to_end(&mut out)
        .map_err(|e| format!("the gzip body is corrupt or truncated: {e}"))?;
    if out.len() > max {
        return Err(format!("larger than {max} bytes decompressed; refused"));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::Compression;
    use flate2::write::GzEncoder;
    use std::io::Write as _;

    const CSV: &str = "instrument_token,exchange_token\n1,2\n";

    fn gzip(text: &[u8]) -> Vec<u8> {
        let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
        encoder.write_all(text).unwrap();
        encoder.finish().unwrap()
    }

    fn answer(encoding: Option<&str>, body: Vec<u8>) -> RawAnswer {
        RawAnswer {
            content_encoding: encoding.map(str::to_owned),
            body,
        }
    }

    #[test]
    fn accepts_gzip_with_or_without_the_header_and_plain_csv() {
        let cases = [
            ("declared gzip", answer(Some("gzip"), gzip(CSV.as_bytes()))),
            ("undeclared gzip", answer(None, gzip(CSV.as_bytes()))),
            ("plain", answer(None, CSV.as_bytes().to_vec())),
        ];
        for (case, answer) in cases {
            assert_eq!(master_text(answer, 1024).unwrap(), CSV, "{case}");
        }
    }

    #[test]
    fn refuses_truncated_corrupt_mislabelled_oversized_and_non_utf8_masters() {
        let whole = gzip(CSV.as_bytes());
        let mut corrupt = whole.clone();
        let crc_at = corrupt.len() - 8;
        corrupt[crc_at] ^= 0xFF;
        let mut bad_line = b"header\nok\n".to_vec();
        bad_line.extend_from_slice(&[0xC3, 0x28, b'\n']);
        let cases = [
            (
                "truncated",
                answer(Some("gzip"), whole[..whole.len() / 2].to_vec()),
                "corrupt or truncated",
            ),
            ("bad crc", answer(None, corrupt), "corrupt or truncated"),
            (
                "says gzip, is not",
                answer(Some("gzip"), CSV.as_bytes().to_vec()),
                "body is not gzip",
            ),
            (
                "too large",
                answer(None, gzip(&vec![b'a'; 2048])),
                "larger than",
            ),
            ("not utf-8", answer(None, bad_line), "line 3 is not UTF-8"),
        ];
        for (case, answer, says) in cases {
            let error = master_text(answer, 1024).unwrap_err();
            assert!(
                matches!(
                    error,
                    KiteError::Unknown {
                        status: Some(200),
                        ..
                    }
                ),
                "{case}: {error:?}"
            );
            assert!(error.to_string().contains(says), "{case}: {error}");
        }
    }

    #[test]
    fn a_master_of_exactly_the_bound_is_accepted() {
        let text = vec![b'x'; 1024];
        let decoded = master_text(answer(None, gzip(&text)), 1024).unwrap();
        assert_eq!(decoded.len(), 1024);
    }
}
