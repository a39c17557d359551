//! One ticker connection: connect (within the liveness timeout), subscribe every target and
//! restore its mode, then read frames until the connection fails or goes quiet for longer
//! than the liveness timeout.

use super::conflation::Conflator;
use super::stats::FeedStats;
use super::{FeedTarget, KiteOrderUpdate};
use crate::kite::text::{Request, ServerText};
use crate::kite::ticker::{Frame, parse_frame};
use crate::messages::TickMode;
use crate::settings::Secret;
use crate::telemetry::metrics;
use actix::Recipient;
use futures::{SinkExt, StreamExt};
use std::collections::BTreeMap;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::Notify;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;

/// Where and who to connect as.
#[derive(Clone)]
pub struct Endpoint {
    /// `ws://…` or `wss://ws.kite.trade` (without credentials).
    pub url: String,
    pub api_key: Secret,
    pub access_token: Secret,
}

/// Where decoded data goes.
#[derive(Clone)]
pub(super) struct Sinks {
    pub buffer: Arc<Mutex<Conflator>>,
    pub wake: Arc<Notify>,
    pub stats: Arc<FeedStats>,
    pub order_updates: Option<Recipient<KiteOrderUpdate>>,
}

/// Why a session ended.
#[derive(Debug)]
pub(super) enum Ended {
    Connect(String),
    Quiet(Duration),
    Closed,
    Failed(String),
}

impl std::fmt::Display for Ended {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Ended::Connect(e) => write!(f, "cannot connect: {e}"),
            Ended::Quiet(t) => write!(f, "no frame for {t:?} (liveness timeout)"),
            Ended::Closed => f.write_str("closed by the server"),
            Ended::Failed(e) => write!(f, "connection failed: {e}"),
        }
    }
}

/// Runs one connection to its end. `Ok` carries whether any frame arrived (a healthy
/// session resets the reconnect backoff).
pub(super) async fn run(
    endpoint: &Endpoint,
    targets: &[FeedTarget],
    liveness: Duration,
    sinks: &Sinks,
) -> (Ended, bool) {
    // A server that accepts TCP and never completes the handshake must not stop the feed
    // for good: the dial gets the liveness timeout too, then the reconnect backoff.
    let ws = match tokio::time::timeout(liveness, connect(endpoint)).await {
        Ok(Ok(ws)) => ws,
        Ok(Err(e)) => return (Ended::Connect(e), false),
        Err(_) => {
            let why = format!("no WebSocket handshake within {liveness:?}");
            return (Ended::Connect(why), false);
        }
    };
    sinks.stats.connects.fetch_add(1, Ordering::Relaxed);
    let (mut sink, mut source) = ws.split();
    for request in subscription_requests(targets) {
        if let Err(e) = sink.send(Message::text(request.to_json())).await {
            return (Ended::Failed(e.to_string()), false);
        }
    }
    tracing::info!(url = %endpoint.url, instruments = targets.len(), "ticker connected and subscribed");
    let mut healthy = false;
    loop {
        let next = match tokio::time::timeout(liveness, source.next()).await {
            Err(_) => return (Ended::Quiet(liveness), healthy),
            Ok(None) => return (Ended::Closed, healthy),
            Ok(Some(Err(e))) => return (Ended::Failed(e.to_string()), healthy),
            Ok(Some(Ok(message))) => message,
        };
        healthy = true;
        match next {
            Message::Binary(bytes) => on_binary(&bytes, sinks),
            Message::Text(text) => on_text(text.as_str(), sinks),
            Message::Close(_) => return (Ended::Closed, healthy),
            _ => {}
        }
    }
}

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn connect(endpoint: &Endpoint) -> Result<Ws, String> {
    // `ws://host:port` has no path; the handshake's request line needs at least "/".
    let after_scheme = endpoint.url.split_once("://").map_or("", |(_, rest)| rest);
    let slash = if after_scheme.contains('/') { "" } else { "/" };
    let separator = if endpoint.url.contains('?') { '&' } else { '?' };
    let url = format!(
        "{}{slash}{separator}api_key={}&access_token={}",
        endpoint.url,
        endpoint.api_key.expose(),
        endpoint.access_token.expose()
    );
    // Errors must not echo the URL: it carries the access token.
    let mut request = url
        .into_client_request()
        .map_err(|_| format!("invalid ticker URL `{}`", endpoint.url))?;
    request
        .headers_mut()
        .insert("X-Kite-Version", HeaderValue::from_static("3"));
    let (ws, _response) = tokio_tungstenite::connect_async(request)
        .await
        .map_err(|e| redact(&e.to_string(), endpoint))?;
    Ok(ws)
}

fn redact(text: &str, endpoint: &Endpoint) -> String {
    let mut out = text.to_owned();
    for secret in [endpoint.access_token.expose(), endpoint.api_key.expose()] {
        if !secret.is_empty() {
            out = out.replace(secret, "***");
        }
    }
    out
}

/// Subscribe to every token, then set each mode (Kite starts new subscriptions in quote).
pub(super) fn subscription_requests(targets: &[FeedTarget]) -> Vec<Request> {
    let mut by_mode: BTreeMap<u8, (TickMode, Vec<u32>)> = BTreeMap::new();
    for t in targets {
        let rank = match t.mode {
            TickMode::Ltp => 0,
            TickMode::Quote => 1,
            TickMode::Full => 2,
        };
        by_mode
            .entry(rank)
            .or_insert((t.mode, Vec::new()))
            .1
            .push(t.token);
    }
    let mut requests = vec![Request::Subscribe(
        targets.iter().map(|t| t.token).collect(),
    )];
    requests.extend(
        by_mode
            .into_values()
            .map(|(mode, tokens)| Request::Mode(mode, tokens)),
    );
    requests
}

fn on_binary(bytes: &[u8], sinks: &Sinks) {
    let stats = &sinks.stats;
    match parse_frame(bytes) {
        Ok(Frame::Heartbeat) => {
            stats.heartbeats.fetch_add(1, Ordering::Relaxed);
        }
        Ok(Frame::Packets(packets)) => {
            stats.frames.fetch_add(1, Ordering::Relaxed);
            let mut got = 0u64;
            if let Ok(mut buffer) = sinks.buffer.lock() {
                for packet in packets {
                    match packet {
                        Ok(tick) => {
                            got += 1;
                            if buffer.push(tick) {
                                stats.conflated.fetch_add(1, Ordering::Relaxed);
                            }
                        }
                        Err(e) => {
                            stats.packet_errors.fetch_add(1, Ordering::Relaxed);
                            tracing::debug!(error = %e, "skipped a malformed packet");
                        }
                    }
                }
            }
            stats.ticks.fetch_add(got, Ordering::Relaxed);
            metrics::ticks_received(got);
            if got > 0 {
                sinks.wake.notify_one();
            }
        }
        Err(e) => {
            stats.malformed_frames.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(error = %e, len = bytes.len(), "skipped a malformed frame");
        }
    }
}

fn on_text(text: &str, sinks: &Sinks) {
    match ServerText::parse(text) {
        Ok(ServerText::Order(update)) => {
            sinks.stats.order_updates.fetch_add(1, Ordering::Relaxed);
            match &sinks.order_updates {
                Some(to) => to.do_send(KiteOrderUpdate(update)),
                None => {
                    tracing::info!(order_id = ?update.order_id(), status = ?update.status(), "order update (no execution actor attached)")
                }
            }
        }
        Ok(ServerText::Error(message)) => {
            sinks.stats.server_errors.fetch_add(1, Ordering::Relaxed);
            tracing::error!(%message, "ticker error");
        }
        Ok(ServerText::Message(value)) => tracing::info!(%value, "ticker message"),
        Err(e) => {
            sinks.stats.malformed_frames.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(error = %e, "unreadable text frame");
        }
    }
}
