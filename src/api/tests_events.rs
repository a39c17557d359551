//! Tests of the event stream: over the real server ([`serve`] on 127.0.0.1:0, read with
//! reqwest chunk by chunk), and the [`Feed`] alone under paused time for keep-alive, lag,
//! filtering and its end.

use std::collections::BTreeSet;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::sync::{broadcast, watch};
use uuid::Uuid;

use super::events::{CONNECTED, Feed, KEEP_ALIVE, KEEP_ALIVE_FRAME};
use super::test_support::Fixture;
use super::*;

/// Upper bound of any wait on the real server.
const WAIT: Duration = Duration::from_secs(5);

fn event(kind: &str, n: u64) -> ApiEvent {
    ApiEvent {
        kind: kind.to_owned(),
        broker: Some(Broker::Paper),
        correlation_id: Some(Uuid::from_u128(u128::from(n))),
        data: json!({ "n": n }),
    }
}

/// Reads chunks until the text read so far contains `needle`; returns all of it.
async fn read_until(response: &mut reqwest::Response, needle: &str) -> String {
    let mut text = String::new();
    let read = async {
        while !text.contains(needle) {
            match response.chunk().await.unwrap() {
                Some(chunk) => text.push_str(std::str::from_utf8(&chunk).unwrap()),
                None => panic!("stream ended before {needle:?}; got {text:?}"),
            }
        }
    };
    if tokio::time::timeout(WAIT, read).await.is_err() {
        panic!("no {needle:?} within {WAIT:?}");
    }
    text
}

/// The JSON of the `data:` line following `event: {kind}` in `text`.
fn data_of(text: &str, kind: &str) -> Value {
    let frame = text
        .split("\n\n")
        .find(|f| f.starts_with(&format!("event: {kind}\n")));
    let data = frame.and_then(|f| f.lines().find_map(|l| l.strip_prefix("data: ")));
    serde_json::from_str(data.unwrap_or_else(|| panic!("no {kind} frame in {text:?}"))).unwrap()
}

async fn subscribe(server: &ApiServer, query: &str) -> reqwest::Response {
    let url = format!("http://{}/api/v1/events{query}", server.addr);
    let response = reqwest::get(url).await.unwrap();
    assert_eq!(response.status(), reqwest::StatusCode::OK);
    let content_type = response.headers()["content-type"].to_str().unwrap();
    assert_eq!(content_type, "text/event-stream");
    response
}

#[actix_web::test]
async fn events_stream_over_the_real_server_until_it_stops() {
    let fixture = Fixture::new().await;
    let server = serve("127.0.0.1:0".parse().unwrap(), fixture.context())
        .await
        .unwrap();
    assert_ne!(server.addr.port(), 0);
    let live = reqwest::get(format!("http://{}/health/live", server.addr))
        .await
        .unwrap();
    assert_eq!(live.status(), reqwest::StatusCode::OK);

    let mut response = subscribe(&server, "").await;
    // The response head arrived, so the handler has subscribed.
    let filled = event("order_filled", 1);
    fixture.events.send(filled.clone()).unwrap();
    let text = read_until(&mut response, "event: order_filled\n").await;
    assert!(text.starts_with(": connected\n\n"), "{text:?}");
    assert_eq!(
        data_of(&text, "order_filled"),
        serde_json::to_value(&filled).unwrap()
    );
    assert!(text.ends_with("\n\n"), "{text:?}");

    tokio::time::timeout(WAIT, server.stop())
        .await
        .expect("stop is not held by the stream");
    // A clean end of the body (not a connection cut by a forced shutdown).
    let end = tokio::time::timeout(WAIT, async {
        while let Some(chunk) = response.chunk().await.expect("the stream ends cleanly") {
            assert!(!chunk.is_empty());
        }
    });
    end.await.expect("the stream ends when the server stops");
}

#[actix_web::test]
async fn kinds_filter_over_the_real_server() {
    let fixture = Fixture::new().await;
    let server = serve("127.0.0.1:0".parse().unwrap(), fixture.context())
        .await
        .unwrap();
    let mut response = subscribe(&server, "?kinds=signal,%20order_failed").await;
    fixture.events.send(event("order_filled", 1)).unwrap();
    fixture.events.send(event("signal", 2)).unwrap();
    let text = read_until(&mut response, "event: signal\n").await;
    assert!(!text.contains("order_filled"), "{text:?}");
    assert_eq!(data_of(&text, "signal")["data"], json!({ "n": 2 }));
    server.stop().await;
}

/// A feed with its own channel (capacity 2) and stop signal.
fn feed(kinds: Option<&[&str]>) -> (Feed, broadcast::Sender<ApiEvent>, watch::Sender<bool>) {
    let (events, receiver) = broadcast::channel(2);
    let closing = watch::Sender::new(false);
    let kinds = kinds.map(|k| k.iter().map(|s| s.to_string()).collect::<BTreeSet<_>>());
    (
        Feed::new(receiver, closing.subscribe(), kinds),
        events,
        closing,
    )
}

async fn next_text(feed: &mut Feed) -> Option<String> {
    let frame = feed.next_frame().await?;
    Some(String::from_utf8(frame.to_vec()).unwrap())
}

#[tokio::test(start_paused = true)]
async fn keep_alive_every_15_seconds_when_quiet() {
    let (mut feed, _events, _closing) = feed(None);
    let start = tokio::time::Instant::now();
    let keep_alive = std::str::from_utf8(KEEP_ALIVE_FRAME).unwrap();
    assert_eq!(next_text(&mut feed).await.as_deref(), Some(keep_alive));
    assert_eq!(start.elapsed(), KEEP_ALIVE);
    assert_eq!(next_text(&mut feed).await.as_deref(), Some(keep_alive));
    assert_eq!(start.elapsed(), KEEP_ALIVE * 2);
    assert_eq!(CONNECTED, b": connected\n\n");
}

#[tokio::test(start_paused = true)]
async fn lagged_client_is_told_how_many_it_missed_and_goes_on() {
    let (mut feed, events, _closing) = feed(None);
    for n in 1..=5 {
        events.send(event("signal", n)).unwrap();
    }
    let lagged = next_text(&mut feed).await.unwrap();
    assert_eq!(lagged, "event: lagged\ndata: {\"missed\":3}\n\n");
    for n in [4, 5] {
        let text = next_text(&mut feed).await.unwrap();
        assert_eq!(data_of(&text, "signal")["data"], json!({ "n": n }));
    }
}

#[tokio::test(start_paused = true)]
async fn only_the_kinds_asked_for() {
    let (mut feed, events, _closing) = feed(Some(&["order_failed"]));
    events.send(event("signal", 1)).unwrap();
    events.send(event("order_failed", 2)).unwrap();
    let text = next_text(&mut feed).await.unwrap();
    assert!(text.starts_with("event: order_failed\ndata: {"), "{text:?}");
}

#[tokio::test(start_paused = true)]
async fn feed_ends_on_stop_and_on_a_closed_channel() {
    let (mut feed_a, _events, closing) = feed(None);
    closing.send_replace(true);
    assert_eq!(next_text(&mut feed_a).await, None);

    let (mut feed_b, events, _closing) = feed(None);
    drop(events);
    assert_eq!(next_text(&mut feed_b).await, None);
}

#[actix_web::test]
async fn an_unknown_kind_is_a_400_naming_it_and_the_valid_ones() {
    use super::test_support::call;
    use actix_web::http::StatusCode;
    use actix_web::test::TestRequest;
    let fixture = Fixture::new().await;
    let answer = call(
        fixture.context(),
        TestRequest::get().uri("/api/v1/events?kinds=signal,order_fill,bogus"),
    )
    .await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        answer.error(),
        "unknown event kind \"bogus\", \"order_fill\"; valid kinds: signal, signal_validated, \
         signal_rejected, order_submitted, order_filled, order_failed"
    );
    // Every valid kind (and an empty list) is still a stream.
    let all = super::events::KINDS.join(",");
    for query in [format!("?kinds={all}"), "?kinds=".to_owned(), String::new()] {
        let fixture = Fixture::new().await;
        let server = serve("127.0.0.1:0".parse().unwrap(), fixture.context())
            .await
            .unwrap();
        subscribe(&server, &query).await;
        server.stop().await;
    }
}
