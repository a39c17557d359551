//! `GET /api/v1/events[?kinds=a,b]`: live pipeline events as Server-Sent Events.
//!
//! Frames, each ending in a blank line:
//! - `: connected` once at the start, so a client (and any proxy) sees the stream open;
//! - `event: {kind}` + `data: {the ApiEvent as one line of JSON}` per event, only the kinds
//!   asked for when `kinds` is given;
//! - `: keep-alive` every 15 s, so proxies do not cut a quiet connection;
//! - `event: lagged` + `data: {"missed":N}` when this client fell more than the channel's
//!   capacity behind and `N` events were dropped for it; the stream goes on.
//!
//! `kinds` names event kinds from [`KINDS`]; an unknown one is a 400 naming it and the
//! valid ones (it used to be accepted and stream nothing, silently).
//!
//! Invariants: the subscription is taken before the response starts, so a client that has
//! the response headers misses no event sent after that. A stream ends when the event
//! channel closes or the server stops ([`ApiServer::stop`](super::ApiServer::stop)).

use std::collections::BTreeSet;
use std::convert::Infallible;
use std::time::Duration;

use actix_web::HttpResponse;
use actix_web::http::header::CACHE_CONTROL;
use actix_web::web::{self, Bytes};
use futures::stream::{self, Stream, StreamExt as _};
use serde::Deserialize;
use serde_json::json;
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::{broadcast, watch};
use tokio::time::{Instant, Interval, MissedTickBehavior};

use super::errors::ApiError;
use super::{ApiEvent, ApiState};

/// The values `?kinds=` accepts: every kind the event hub relays. `lagged` is not one:
/// every stream gets it when it falls behind.
pub(super) use crate::actors::event_hub::KINDS;

/// How often a keep-alive comment is sent.
pub(super) const KEEP_ALIVE: Duration = Duration::from_secs(15);

/// The first frame of every stream.
pub(super) const CONNECTED: &[u8] = b": connected\n\n";

/// The keep-alive frame.
pub(super) const KEEP_ALIVE_FRAME: &[u8] = b": keep-alive\n\n";

/// `?kinds=order_filled,signal`.
#[derive(Debug, Deserialize)]
pub(super) struct EventsQuery {
    kinds: Option<String>,
}

/// Handles `GET /api/v1/events`.
///
/// # Errors
/// [`ApiError::BadRequest`] naming every unknown kind in `kinds` and the valid ones.
pub(super) async fn stream(
    state: web::Data<ApiState>,
    query: web::Query<EventsQuery>,
) -> Result<HttpResponse, ApiError> {
    let kinds = kinds(query.kinds.as_deref())?;
    let feed = Feed::new(
        state.context.events.subscribe(),
        state.closing.subscribe(),
        kinds,
    );
    let frames = stream::once(async { Ok::<_, Infallible>(Bytes::from_static(CONNECTED)) })
        .chain(feed.frames());
    Ok(HttpResponse::Ok()
        .content_type("text/event-stream")
        .insert_header((CACHE_CONTROL, "no-cache"))
        // nginx buffers responses unless told otherwise; events must arrive as they happen.
        .insert_header(("X-Accel-Buffering", "no"))
        .streaming(frames))
}

/// The kinds asked for, or `None` for every kind (no or an empty `kinds`).
///
/// # Errors
/// [`ApiError::BadRequest`] if any kind is not one of [`KINDS`].
fn kinds(list: Option<&str>) -> Result<Option<BTreeSet<String>>, ApiError> {
    let Some(list) = list else {
        return Ok(None);
    };
    let kinds: BTreeSet<String> = list
        .split(',')
        .map(str::trim)
        .filter(|k| !k.is_empty())
        .map(str::to_owned)
        .collect();
    let unknown: Vec<&str> = kinds
        .iter()
        .map(String::as_str)
        .filter(|k| !KINDS.contains(k))
        .collect();
    if !unknown.is_empty() {
        // Quoted with `{:?}`, so a kind with odd characters cannot forge the message.
        let unknown: Vec<String> = unknown.iter().map(|k| format!("{k:?}")).collect();
        return Err(ApiError::BadRequest(format!(
            "unknown event kind {}; valid kinds: {}",
            unknown.join(", "),
            KINDS.join(", ")
        )));
    }
    Ok((!kinds.is_empty()).then_some(kinds))
}

/// One client's view of the event channel: what it asked for and when to keep alive.
pub(super) struct Feed {
    events: broadcast::Receiver<ApiEvent>,
    closing: watch::Receiver<bool>,
    kinds: Option<BTreeSet<String>>,
    keep_alive: Interval,
}

impl Feed {
    /// A feed over a subscription, ending when `closing` turns true (or its sender goes).
    /// The first keep-alive is due [`KEEP_ALIVE`] from now.
    pub(super) fn new(
        events: broadcast::Receiver<ApiEvent>,
        closing: watch::Receiver<bool>,
        kinds: Option<BTreeSet<String>>,
    ) -> Feed {
        let mut keep_alive = tokio::time::interval_at(Instant::now() + KEEP_ALIVE, KEEP_ALIVE);
        keep_alive.set_missed_tick_behavior(MissedTickBehavior::Delay);
        Feed {
            events,
            closing,
            kinds,
            keep_alive,
        }
    }

    /// The frames of this feed, as a body stream.
    pub(super) fn frames(self) -> impl Stream<Item = Result<Bytes, Infallible>> + 'static {
        stream::unfold(self, |mut feed| async move {
            let frame = feed.next_frame().await?;
            Some((Ok(frame), feed))
        })
    }

    /// The next frame, or `None` once the stream is over.
    pub(super) async fn next_frame(&mut self) -> Option<Bytes> {
        loop {
            if *self.closing.borrow() {
                return None;
            }
            tokio::select! {
                changed = self.closing.changed() => {
                    if changed.is_err() {
                        return None;
                    }
                }
                _ = self.keep_alive.tick() => return Some(Bytes::from_static(KEEP_ALIVE_FRAME)),
                received = self.events.recv() => match received {
                    Ok(event) => {
                        if let Some(frame) = self.frame(&event) {
                            return Some(frame);
                        }
                    }
                    Err(RecvError::Lagged(missed)) => return Some(lagged_frame(missed)),
                    Err(RecvError::Closed) => return None,
                },
            }
        }
    }

    /// The frame of `event`, or `None` if its kind was not asked for (or it cannot be
    /// written, which a JSON value never fails).
    fn frame(&self, event: &ApiEvent) -> Option<Bytes> {
        if let Some(kinds) = &self.kinds
            && !kinds.contains(&event.kind)
        {
            return None;
        }
        match serde_json::to_string(event) {
            Ok(data) => Some(event_frame(&event.kind, &data)),
            Err(error) => {
                tracing::warn!(kind = %event.kind, %error, "event not serialisable; skipped");
                None
            }
        }
    }
}

/// `event: lagged` with `{"missed": N}`: `missed` events were dropped for this client.
fn lagged_frame(missed: u64) -> Bytes {
    event_frame("lagged", &json!({ "missed": missed }).to_string())
}

/// `event: {kind}\ndata: {data}\n\n`. A kind with a line break would end the field early,
/// so line breaks in it become spaces; `data` is compact JSON, which has none.
fn event_frame(kind: &str, data: &str) -> Bytes {
    let kind = kind.replace(['\r', '\n'], " ");
    Bytes::from(format!("event: {kind}\ndata: {data}\n\n"))
}
