//! The fake's `GET /instruments/historical/{token}/{interval}?from=&to=[&continuous=1][&oi=1]`:
//! deterministic candles for any token and interval, with Kite's checks.
//!
//! Checks, as Kite answers them (400 InputException, nothing served): a known interval, a
//! numeric token, `from` and `to` as `yyyy-mm-dd hh:mm:ss` (IST), `from ≤ to`, and a span
//! `to − from` of at most the interval's limit in days ([`Interval::max_span_days`]).
//!
//! Candles: one per bar of the normal market (09:15–15:30 IST, weekdays; holidays are not
//! modelled) whose start lies in `[from, to]`; a `day` candle per weekday, stamped
//! `00:00:00+0530`. Prices are a pure function of (token, interval, bar start), on the
//! ₹0.05 grid, so two fetches of the same range are identical and chunks join seamlessly.
//! With `oi=1` every candle carries a seventh field, open interest.
//!
//! Every historical request's arrival is recorded ([`FakeKite::historical_requests`]) with
//! its instant, so a test asserts the client's rate on what the server saw.
//! [`FakeKite::malform_next_historical`] (or [`FakeKite::malform_historical_after`]) answers
//! the next ones with a truncated JSON body
//! (status 200), as a broken proxy or a cut connection would.

use super::reply::{INPUT, RawBody, Reply, error, raw, success};
use super::{FakeKite, form::decode_form};
use crate::market::candles::Interval;
use crate::market::hours::{IST, NORMAL_END, NORMAL_START};
use chrono::{Datelike, Duration, NaiveDateTime, TimeZone, Weekday};
use rust_decimal::Decimal;
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Instant;

/// One historical request as the fake received it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoricalRequest {
    /// When it arrived (the fake's clock).
    pub at: Instant,
    /// `/instruments/historical/{token}/{interval}`.
    pub path: String,
    /// The raw query string.
    pub query: String,
}

/// The fake's historical state.
#[derive(Debug, Default)]
pub(super) struct Historical {
    pub requests: Vec<HistoricalRequest>,
    /// Well-formed answers still to give before the malformed ones.
    pub malformed_after: usize,
    pub malformed_next: usize,
}

const KITE_TIME: &str = "%Y-%m-%d %H:%M:%S";

/// Answers one historical request (after the header, token and scripted-failure checks).
pub(super) fn answer(
    historical: &mut Historical,
    token: &str,
    interval: &str,
    query: &str,
) -> Reply {
    if historical.malformed_after > 0 {
        historical.malformed_after -= 1;
    } else if historical.malformed_next > 0 {
        historical.malformed_next -= 1;
        return raw(RawBody {
            content_type: "application/json",
            gzip_header: false,
            bytes: Arc::new(
                br#"{"status":"success","data":{"candles":[["2026-01-02T09:15:00+0530",100"#
                    .to_vec(),
            ),
        });
    }
    match candles(token, interval, query) {
        Ok(candles) => success(json!({ "candles": candles })),
        Err(message) => error(400, INPUT, message),
    }
}

fn candles(token: &str, interval: &str, query: &str) -> Result<Vec<Value>, String> {
    let interval: Interval = interval
        .parse()
        .map_err(|_| "invalid interval".to_owned())?;
    let token: u32 = token
        .parse()
        .map_err(|_| "invalid instrument token".to_owned())?;
    let query = decode_form(query.as_bytes()).map_err(|why| format!("Invalid query: {why}."))?;
    let field = |name: &str| {
        query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let time = |name: &str| {
        let text = field(name).ok_or_else(|| format!("missing `{name}`"))?;
        NaiveDateTime::parse_from_str(text, KITE_TIME)
            .map_err(|_| format!("invalid `{name}`: expected yyyy-mm-dd hh:mm:ss"))
    };
    let (from, to) = (time("from")?, time("to")?);
    if from > to {
        return Err("`from` is after `to`".into());
    }
    let limit = interval.max_span_days();
    if to - from > Duration::days(limit) {
        return Err(format!("interval exceeds max limit: {limit} days"));
    }
    let with_oi = field("oi") == Some("1");
    let mut out = Vec::new();
    let mut date = from.date();
    while date <= to.date() {
        if !matches!(date.weekday(), Weekday::Sat | Weekday::Sun) {
            if interval == Interval::Day {
                let stamp = date.and_time(chrono::NaiveTime::MIN);
                if stamp >= from.date().and_time(chrono::NaiveTime::MIN) && stamp <= to {
                    out.push(candle(token, interval, stamp, with_oi));
                }
            } else {
                let mut start = date.and_time(NORMAL_START);
                while start.time() < NORMAL_END {
                    if start >= from && start <= to {
                        out.push(candle(token, interval, start, with_oi));
                    }
                    start += interval.length();
                }
            }
        }
        date = date.succ_opt().ok_or("date out of range")?;
    }
    Ok(out)
}

/// A deterministic bar: prices on the ₹0.05 grid around ₹100–₹1000 by token, moving with
/// the bar's start.
fn candle(token: u32, interval: Interval, start: NaiveDateTime, with_oi: bool) -> Value {
    let k = start.and_utc().timestamp() / 60 / interval.length().num_minutes().max(1);
    let base = 2_000 + i64::from(token % 18_000);
    let step = |n: i64| base + (n.wrapping_mul(7).wrapping_add(i64::from(token)) % 41) - 20;
    let (open, close) = (step(k), step(k + 1));
    let price = |ticks: i64| json_price(Decimal::new(ticks * 5, 2));
    let stamp = IST
        .from_local_datetime(&start)
        .single()
        .map(|t| t.format("%Y-%m-%dT%H:%M:%S%z").to_string())
        .unwrap_or_default();
    let volume = 1_000 + k.rem_euclid(500);
    let mut row = vec![
        Value::from(stamp),
        price(open),
        price(open.max(close) + 2),
        price(open.min(close) - 2),
        price(close),
        Value::from(volume),
    ];
    if with_oi {
        row.push(Value::from(50_000 + k.rem_euclid(1_000)));
    }
    Value::from(row)
}

fn json_price(price: Decimal) -> Value {
    super::state::price_json(price)
}

impl FakeKite {
    /// Every historical request, in arrival order, with its arrival instant.
    pub fn historical_requests(&self) -> Vec<HistoricalRequest> {
        self.lock().historical.requests.clone()
    }

    /// Answers the next `n` historical requests with a truncated JSON body (status 200).
    pub fn malform_next_historical(&self, n: usize) {
        self.malform_historical_after(0, n);
    }

    /// Answers `skip` historical requests (that pass the header, token and scripted-failure
    /// checks) as usual, then the next `n` with a truncated JSON body.
    pub fn malform_historical_after(&self, skip: usize, n: usize) {
        self.script(|state| {
            state.historical.malformed_after = skip;
            state.historical.malformed_next = n;
            Ok(())
        });
    }
}
