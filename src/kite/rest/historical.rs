//! `GET /instruments/historical/{token}/{interval}`: Kite's OHLC candles, fetched in chunks
//! within the interval's span limit, at most [`HISTORICAL_PER_SEC`] requests a second, with
//! retries.
//!
//! Decisions:
//! - Chunks are whole IST days: `[d 00:00:00, d + span − 1 23:59:59]`, the last one cut at
//!   the range's end ([`chunks`]), so `to − from` stays under Kite's limit and a chunk's
//!   file name is a pair of dates.
//! - The rate is a sliding window of its own ([`Bucket`]: 3 in any 1.1 s, the client's
//!   tenth of margin), shared by the clones of one [`HistoricalClient`]; every attempt,
//!   retries included, draws on it.
//! - A 429, a 5xx or no answer at all is retried after an exponential backoff (doubling from
//!   `backoff` up to `backoff_max`), at most `retries` times. A 4xx other than 429 (a span
//!   too long, a bad token) and an answer that does not parse are not retried: the error
//!   names the request (path and query) and the caller writes nothing of that chunk.

use super::client::{KiteClient, decode, transport};
use super::error::KiteError;
use super::rate::Bucket;
use crate::market::candles::{self, Candle, Interval, Ohlc};
use chrono::{Duration, NaiveDate, NaiveDateTime, NaiveTime};
use reqwest::Method;
use serde::Deserialize;
use std::sync::{Arc, Mutex};
use thiserror::Error;

/// Kite's limit on historical requests a second.
pub const HISTORICAL_PER_SEC: u32 = 3;

/// Kite's time format of `from` and `to` (IST wall clock).
const KITE_TIME: &str = "%Y-%m-%d %H:%M:%S";

/// One chunk of a range: IST wall-clock times, inclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Chunk {
    pub from: NaiveDateTime,
    pub to: NaiveDateTime,
}

impl Chunk {
    /// The first day of the chunk.
    pub fn first_day(&self) -> NaiveDate {
        self.from.date()
    }

    /// The last day of the chunk.
    pub fn last_day(&self) -> NaiveDate {
        self.to.date()
    }
}

/// The chunks of the IST days `from..=to` for `interval`: each at most the interval's span
/// limit in days, in order, covering every day once. Empty when `from > to`.
pub fn chunks(interval: Interval, from: NaiveDate, to: NaiveDate) -> Vec<Chunk> {
    let span = interval.max_span_days();
    let mut out = Vec::new();
    let mut first = from;
    while first <= to {
        let last = (first + Duration::days(span - 1)).min(to);
        out.push(Chunk {
            from: first.and_time(NaiveTime::MIN),
            to: last
                .and_hms_opt(23, 59, 59)
                .unwrap_or(last.and_time(NaiveTime::MIN)),
        });
        match last.succ_opt() {
            Some(next) => first = next,
            None => break,
        }
    }
    out
}

/// What to fetch of one instrument.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HistoryQuery {
    pub token: u32,
    pub interval: Interval,
    /// `continuous=1`: expired futures stitched into one series.
    pub continuous: bool,
    /// `oi=1`: open interest with every candle.
    pub oi: bool,
}

impl HistoryQuery {
    /// The request's path and query (what errors name).
    pub fn path(&self, chunk: Chunk) -> String {
        let mut pairs = vec![
            ("from", chunk.from.format(KITE_TIME).to_string()),
            ("to", chunk.to.format(KITE_TIME).to_string()),
        ];
        if self.continuous {
            pairs.push(("continuous", "1".into()));
        }
        if self.oi {
            pairs.push(("oi", "1".into()));
        }
        let query = serde_urlencoded::to_string(&pairs).unwrap_or_default();
        format!(
            "/instruments/historical/{}/{}?{query}",
            self.token, self.interval
        )
    }
}

/// A historical request that failed, with the request it was.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("GET {request}: {error}")]
pub struct HistoryError {
    /// Path and query.
    pub request: String,
    pub error: KiteError,
}

/// Retries of one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    pub retries: u32,
    pub backoff: std::time::Duration,
    pub backoff_max: std::time::Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            retries: 5,
            backoff: std::time::Duration::from_millis(500),
            backoff_max: std::time::Duration::from_secs(30),
        }
    }
}

/// The historical API of one Kite app: the client, its 3/s window and the retry policy.
/// Clones share the window.
#[derive(Debug, Clone)]
pub struct HistoricalClient {
    client: KiteClient,
    window: Arc<Mutex<Bucket>>,
    retry: RetryPolicy,
}

/// Kite's answer: `{"candles": [[ts, o, h, l, c, v, (oi)], ...]}`.
#[derive(Deserialize)]
struct Answer {
    candles: Vec<Vec<serde_json::Value>>,
}

impl HistoricalClient {
    pub fn new(client: KiteClient, retry: RetryPolicy) -> Self {
        let window = std::time::Duration::from_secs(1);
        let window = window + window / super::rate::SAFETY_MARGIN_DIVISOR;
        HistoricalClient {
            client,
            window: Arc::new(Mutex::new(Bucket::new(HISTORICAL_PER_SEC, window))),
            retry,
        }
    }

    /// The candles of one chunk, checked, in Kite's order.
    ///
    /// # Errors
    /// Kite's refusal, a failure that outlasted the retries, or an answer that does not
    /// parse (a candle that fails [`Candle::new`] included), each naming the request.
    pub async fn candles(
        &self,
        query: &HistoryQuery,
        chunk: Chunk,
    ) -> Result<Vec<Candle>, HistoryError> {
        let request = query.path(chunk);
        let named = |error| HistoryError {
            request: request.clone(),
            error,
        };
        let mut backoff = self.retry.backoff;
        let mut attempt = 0;
        let answer: Answer = loop {
            self.wait_for_slot().await;
            match self.send(&request).await {
                Ok(answer) => break answer,
                Err(e) if attempt < self.retry.retries && retryable(&e) => {
                    attempt += 1;
                    tracing::warn!(request = %request, attempt, backoff_ms = backoff.as_millis() as u64, error = %e, "historical request failed; retrying");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(self.retry.backoff_max);
                }
                Err(e) => return Err(named(e)),
            }
        };
        answer
            .candles
            .iter()
            .enumerate()
            .map(|(i, row)| {
                parse_candle(query, row).map_err(|message| {
                    named(KiteError::Unknown {
                        status: Some(200),
                        message: format!("candle {i}: {message}"),
                    })
                })
            })
            .collect()
    }

    async fn wait_for_slot(&self) {
        let now = tokio::time::Instant::now();
        let wait = self
            .window
            .lock()
            // A poisoned window only means a panic elsewhere mid-arithmetic; its state is
            // still a valid bucket.
            .unwrap_or_else(|p| p.into_inner())
            .reserve(now.into_std());
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
    }

    async fn send(&self, request: &str) -> Result<Answer, KiteError> {
        let timeout = self.client.timeout();
        let response = self
            .client
            .request(Method::GET, request)?
            .send()
            .await
            .map_err(|e| transport(&e, timeout))?;
        let status = response.status().as_u16();
        let body = response.bytes().await.map_err(|e| transport(&e, timeout))?;
        decode(status, &body)
    }
}

/// 429, 5xx, or no answer.
fn retryable(e: &KiteError) -> bool {
    match e {
        KiteError::RateLimited { .. } => true,
        _ => e.status().is_none_or(|s| s >= 500),
    }
}

/// `[ts, open, high, low, close, volume, (oi)]`.
fn parse_candle(query: &HistoryQuery, row: &[serde_json::Value]) -> Result<Candle, String> {
    if !(6..=7).contains(&row.len()) {
        return Err(format!("{} fields, expected 6 or 7", row.len()));
    }
    let ts = row[0].as_str().ok_or("timestamp is not a string")?;
    let start = candles::parse_timestamp(ts)?;
    let price = |i: usize, name: &str| {
        let text = match &row[i] {
            serde_json::Value::Number(n) => n.to_string(),
            other => return Err(format!("{name}: {other} is not a number")),
        };
        candles::parse_price(&text).map_err(|e| format!("{name}: {e}"))
    };
    let count = |i: usize, name: &str| {
        row[i]
            .as_u64()
            .ok_or_else(|| format!("{name}: {} is not an unsigned integer", row[i]))
    };
    let prices = Ohlc {
        open: price(1, "open")?,
        high: price(2, "high")?,
        low: price(3, "low")?,
        close: price(4, "close")?,
    };
    let volume = count(5, "volume")?;
    let oi = if row.len() == 7 {
        Some(count(6, "oi")?)
    } else {
        None
    };
    Candle::new(start, query.token, prices, volume, oi)
        .map_err(|(field, m)| format!("{field}: {m}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(text: &str) -> NaiveDate {
        text.parse().unwrap()
    }

    #[test]
    fn chunks_cover_every_day_once_within_each_intervals_span() {
        for interval in Interval::ALL {
            let (from, to) = (day("2020-01-01"), day("2026-06-30"));
            let parts = chunks(interval, from, to);
            assert_eq!(parts[0].first_day(), from);
            assert_eq!(parts.last().unwrap().last_day(), to);
            for pair in parts.windows(2) {
                assert_eq!(pair[0].last_day().succ_opt(), Some(pair[1].first_day()));
            }
            for chunk in &parts {
                assert!(chunk.to - chunk.from < Duration::days(interval.max_span_days()));
                assert_eq!(
                    (chunk.last_day() - chunk.first_day()).num_days() + 1,
                    if chunk == parts.last().unwrap() {
                        (chunk.last_day() - chunk.first_day()).num_days() + 1
                    } else {
                        interval.max_span_days()
                    }
                );
            }
        }
        let minute = chunks(Interval::Minute, day("2026-01-01"), day("2026-06-30"));
        let days: Vec<_> = minute
            .iter()
            .map(|c| (c.first_day(), c.last_day()))
            .collect();
        assert_eq!(
            days,
            vec![
                (day("2026-01-01"), day("2026-03-01")),
                (day("2026-03-02"), day("2026-04-30")),
                (day("2026-05-01"), day("2026-06-29")),
                (day("2026-06-30"), day("2026-06-30")),
            ]
        );
        assert!(chunks(Interval::Day, day("2026-01-02"), day("2026-01-01")).is_empty());
    }

    #[test]
    fn the_request_names_kites_times_and_the_flags_asked_for() {
        let query = HistoryQuery {
            token: 408_065,
            interval: Interval::Minute5,
            continuous: true,
            oi: true,
        };
        let chunk = chunks(Interval::Minute5, day("2026-01-01"), day("2026-01-02"))[0];
        assert_eq!(
            query.path(chunk),
            "/instruments/historical/408065/5minute?from=2026-01-01+00%3A00%3A00&to=2026-01-02+23%3A59%3A59&continuous=1&oi=1"
        );
    }

    #[test]
    fn a_candle_row_is_checked_field_by_field() {
        let query = HistoryQuery {
            token: 1,
            interval: Interval::Minute,
            continuous: false,
            oi: false,
        };
        let row = |text: &str| -> Vec<serde_json::Value> { serde_json::from_str(text).unwrap() };
        let good = parse_candle(
            &query,
            &row(r#"["2026-01-02T09:15:00+0530",10,11.5,9.95,10.05,1200]"#),
        )
        .unwrap();
        assert_eq!(
            (good.high, good.volume, good.oi),
            ("11.5".parse().unwrap(), 1200, None)
        );
        let with_oi = parse_candle(
            &query,
            &row(r#"["2026-01-02T09:15:00+0530",10,11,9,10,1,77]"#),
        )
        .unwrap();
        assert_eq!(with_oi.oi, Some(77));
        for (text, says) in [
            (r#"["2026-01-02T09:15:00+0530",10,11,9,10]"#, "5 fields"),
            (r#"["yesterday",10,11,9,10,1]"#, "ISO-8601"),
            (r#"["2026-01-02T09:15:00+0530","10",11,9,10,1]"#, "open"),
            (r#"["2026-01-02T09:15:00+0530",10,9,9,10,1]"#, "high"),
            (r#"["2026-01-02T09:15:00+0530",10,11,9,10,-1]"#, "volume"),
        ] {
            let e = parse_candle(&query, &row(text)).unwrap_err();
            assert!(e.contains(says), "{text}: {e}");
        }
    }
}
