//! `history fetch` against the fake Kite: chunks at each interval's limit, the 3/s rate on
//! the fake's own clock, resume after an interrupted run, retries of 429 and 5xx, and a
//! malformed answer that names its request and leaves nothing corrupt on disk.

use super::*;
use crate::kite::fake::{FakeKite, FakeKiteConfig};
use crate::kite::rest::historical::Chunk;
use crate::kite::rest::{KiteClientConfig, KiteError, RateLimits};
use crate::settings::Secret;
use std::time::Duration;

async fn fake() -> FakeKite {
    FakeKite::start(FakeKiteConfig::default()).await.unwrap()
}

fn client(kite: &FakeKite) -> HistoricalClient {
    let config = FakeKiteConfig::default();
    let client = KiteClient::new(KiteClientConfig {
        base_url: kite.base_url(),
        api_key: Secret::new(config.api_key),
        access_token: Secret::new(config.access_token),
        timeout: Duration::from_secs(5),
        limits: RateLimits::default(),
        rate_limit_backoff: Duration::from_millis(10),
        rate_limit_backoff_max: Duration::from_millis(40),
    })
    .unwrap();
    let retry = RetryPolicy {
        retries: 3,
        backoff: Duration::from_millis(10),
        backoff_max: Duration::from_millis(40),
    };
    HistoricalClient::new(client, retry)
}

fn day(text: &str) -> NaiveDate {
    text.parse().unwrap()
}

fn job(key: &str, token: u32, interval: Interval) -> Job {
    Job {
        key: key.into(),
        query: HistoryQuery {
            token,
            interval,
            continuous: false,
            oi: false,
        },
    }
}

/// Every file under `dir` (hidden ones included), relative, sorted.
fn listing(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for entry in fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                out.push(path.strip_prefix(dir).unwrap().display().to_string());
            }
        }
    }
    out.sort();
    out
}

/// `from` and `to` of each recorded historical request.
fn ranges(kite: &FakeKite) -> Vec<(String, String)> {
    kite.historical_requests()
        .iter()
        .map(|r| {
            let q: Vec<(String, String)> = serde_urlencoded::from_str(&r.query).unwrap();
            (q[0].1.clone(), q[1].1.clone())
        })
        .collect()
}

#[actix::test]
async fn fetches_each_interval_in_chunks_at_its_span_limit() {
    let kite = fake().await;
    let client = client(&kite);
    let out = tempfile::tempdir().unwrap();
    for interval in Interval::ALL {
        // One day more than the limit: two requests, the first exactly at the limit.
        let from = day("2026-01-01");
        let to = from + chrono::Duration::days(interval.max_span_days());
        let before = kite.historical_requests().len();
        let jobs = [job("NSE:INFY", 408_065, interval)];
        let summary = fetch(&client, &jobs, (from, to), out.path(), &mut |_| {})
            .await
            .unwrap();
        assert_eq!(summary.fetched_chunks, 2, "{interval}");
        let seen = &ranges(&kite)[before..];
        let last_of_first = from + chrono::Duration::days(interval.max_span_days() - 1);
        assert_eq!(
            seen,
            [
                (
                    format!("{from} 00:00:00"),
                    format!("{last_of_first} 23:59:59")
                ),
                (format!("{to} 00:00:00"), format!("{to} 23:59:59")),
            ],
            "{interval}"
        );
        let requests = kite.requests();
        assert!(
            requests[before..].iter().all(|r| r.status == 200),
            "{interval}"
        );
    }
    // A chunk one day longer than the limit is refused by the fake, as by Kite.
    let too_long = Chunk {
        from: day("2026-01-01").and_hms_opt(0, 0, 0).unwrap(),
        to: day("2026-03-02").and_hms_opt(0, 0, 1).unwrap(),
    };
    let answer = client
        .candles(&job("NSE:INFY", 408_065, Interval::Minute).query, too_long)
        .await;
    let Err(e) = answer else {
        panic!("a span of 60 days and a second was accepted")
    };
    assert!(matches!(e.error, KiteError::Input { .. }), "{e}");
    assert!(e.to_string().contains("max limit: 60 days"), "{e}");
}

#[actix::test]
async fn never_more_than_3_requests_in_any_second_as_the_fake_saw_them() {
    let kite = fake().await;
    let client = client(&kite);
    let out = tempfile::tempdir().unwrap();
    // 7 instruments × 1 chunk: 7 requests.
    let jobs: Vec<Job> = (1..=7)
        .map(|n| job(&format!("NSE:X{n}"), 1000 + n, Interval::Day))
        .collect();
    fetch(
        &client,
        &jobs,
        (day("2026-01-05"), day("2026-01-09")),
        out.path(),
        &mut |_| {},
    )
    .await
    .unwrap();
    let at: Vec<_> = kite.historical_requests().iter().map(|r| r.at).collect();
    assert_eq!(at.len(), 7);
    for window in at.windows(4) {
        let spread = window[3] - window[0];
        assert!(
            spread >= Duration::from_secs(1),
            "4 requests within {spread:?}"
        );
    }
    // The weekdays of the range, one `day` candle each, with IST times.
    let text = fs::read_to_string(out.path().join(format!(
        "{}.csv",
        file_stem(&jobs[0], (day("2026-01-05"), day("2026-01-09")))
    )))
    .unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 6);
    assert!(
        lines[1].starts_with("2026-01-05T00:00:00+05:30,1001,"),
        "{}",
        lines[1]
    );
}

#[actix::test]
async fn a_malformed_answer_names_its_request_and_a_rerun_resumes_where_it_stopped() {
    let kite = fake().await;
    let client = client(&kite);
    let out = tempfile::tempdir().unwrap();
    let range = (day("2026-01-01"), day("2026-06-30"));
    let jobs = [
        job("NSE:INFY", 408_065, Interval::Minute),
        job("NSE:TCS", 2_953_217, Interval::Minute),
    ];
    // INFY's four chunks, then TCS's first two answer well; the third is cut off.
    kite.malform_historical_after(6, 1);
    let e = fetch(&client, &jobs, range, out.path(), &mut |_| {})
        .await
        .unwrap_err();
    let shown = e.to_string();
    assert!(
        shown.starts_with(
            "GET /instruments/historical/2953217/minute?from=2026-05-01+00%3A00%3A00&to=2026-06-29+23%3A59%3A59: "
        ),
        "{shown}"
    );
    assert!(shown.contains("not Kite's JSON envelope"), "{shown}");
    let infy = format!("{}.csv", file_stem(&jobs[0], range));
    let tcs = file_stem(&jobs[1], range);
    assert_eq!(
        listing(out.path()),
        vec![
            format!(".parts/{tcs}/2026-01-01_2026-03-01.csv"),
            format!(".parts/{tcs}/2026-03-02_2026-04-30.csv"),
            infy.clone(),
        ],
        "INFY complete, TCS's two good chunks kept, nothing of the bad one"
    );

    let before = kite.historical_requests().len();
    let summary = fetch(&client, &jobs, range, out.path(), &mut |_| {})
        .await
        .unwrap();
    assert_eq!(
        (
            summary.skipped_instruments,
            summary.resumed_chunks,
            summary.fetched_chunks
        ),
        (1, 2, 2)
    );
    assert_eq!(
        ranges(&kite)[before..],
        [
            ("2026-05-01 00:00:00".into(), "2026-06-29 23:59:59".into()),
            ("2026-06-30 00:00:00".into(), "2026-06-30 23:59:59".into()),
        ]
    );
    assert_eq!(
        listing(out.path()),
        vec![infy.clone(), format!("{tcs}.csv")]
    );

    // The resumed files are byte for byte what one clean run writes.
    let clean = tempfile::tempdir().unwrap();
    fetch(&client, &jobs, range, clean.path(), &mut |_| {})
        .await
        .unwrap();
    for name in [infy, format!("{tcs}.csv")] {
        let resumed = fs::read(out.path().join(&name)).unwrap();
        assert_eq!(
            resumed,
            fs::read(clean.path().join(&name)).unwrap(),
            "{name}"
        );
        // 181 days of 2026-H1 hold 129 weekdays of 75 minute bars.
        let candles: Vec<_> = CandleReader::new(resumed.as_slice())
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(candles.len(), 129 * 375, "{name}");
    }
}

#[actix::test]
async fn rate_limits_and_server_errors_are_retried_with_backoff() {
    let kite = fake().await;
    let client = client(&kite);
    let out = tempfile::tempdir().unwrap();
    kite.rate_limit_next(1);
    let jobs = [job("NSE:INFY", 408_065, Interval::Day)];
    let range = (day("2026-01-05"), day("2026-01-06"));
    fetch(&client, &jobs, range, out.path(), &mut |_| {})
        .await
        .unwrap();
    kite.fail_next_gets(2, 503);
    let other = tempfile::tempdir().unwrap();
    fetch(&client, &jobs, range, other.path(), &mut |_| {})
        .await
        .unwrap();
    let statuses: Vec<u16> = kite.requests().iter().map(|r| r.status).collect();
    assert_eq!(statuses, vec![429, 200, 503, 503, 200]);
    // Retries give up after the policy's count, with the request named.
    kite.fail_next_gets(4, 500);
    let third = tempfile::tempdir().unwrap();
    let e = fetch(&client, &jobs, range, third.path(), &mut |_| {})
        .await
        .unwrap_err();
    assert!(
        e.to_string()
            .starts_with("GET /instruments/historical/408065/day?"),
        "{e}"
    );
    assert!(
        listing(third.path()).is_empty(),
        "{:?}",
        listing(third.path())
    );
}

#[test]
fn symbols_and_future_rules_resolve_through_the_registry() {
    let today = day("2026-12-07");
    let registry = InstrumentRegistry::embedded_on(today).unwrap();
    let args = |list: &[&str]| FetchArgs {
        instruments: list.iter().map(|s| s.to_string()).collect(),
        interval: Interval::Minute,
        from: today,
        to: today,
        out: PathBuf::new(),
        continuous: false,
        oi: false,
        date: None,
    };
    let jobs = resolve(
        &registry,
        &args(&["NSE:INFY", "NIFTY:FUT:current_month", "INFY"]),
        today,
    )
    .unwrap();
    let keys: Vec<&str> = jobs.iter().map(|j| j.key.as_str()).collect();
    assert_eq!(keys, vec!["NSE:INFY", "NFO:NIFTY26DECFUT"]);
    let e = resolve(
        &registry,
        &args(&["NSE:NOPE", "NIFTY:FUT:2020-01-30"]),
        today,
    )
    .unwrap_err();
    let shown = e.to_string();
    assert!(
        shown.contains("NSE:NOPE: not in the instrument registry"),
        "{shown}"
    );
    assert!(shown.contains("NIFTY:FUT:2020-01-30:"), "{shown}");
}
