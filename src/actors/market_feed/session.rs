//! One ticker connection: dial (TCP within the dial timeout, then the TLS and WebSocket
//! handshake within it again), subscribe every target and restore its mode, then read
//! frames until the connection fails or goes quiet for longer than the liveness timeout.
//! While it reads, a change of what the feed streams (runtime subscriptions, see
//! `wanted`) is sent on it at once as subscribe/mode/unsubscribe requests, diffed against
//! what this connection was sent; a new connection is sent the whole current set.
//!
//! Why two bounded steps: a server that accepts TCP and never completes the handshake
//! stopped the feed for good (issue 16). Each step now ends within its timeout and the
//! failure names its step, so the operator can tell "unreachable" from "hanging".

use super::KiteOrderUpdate;
use super::conflation::Conflator;
use super::health::FeedHealth;
use super::stats::FeedStats;
use super::wanted::{Targets, changes};
use crate::kite::text::ServerText;
use crate::kite::ticker::{Frame, parse_frame};
use crate::settings::Secret;
use crate::telemetry::metrics::{self, FeedCounter};
use actix::Recipient;
use chrono::Utc;
use futures::{SinkExt, StreamExt};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{Notify, watch};
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

impl Endpoint {
    /// The URL as logs may show it: any credential in it replaced by `***`.
    pub fn shown(&self) -> String {
        redact(&self.url, self)
    }
}

/// Where decoded data goes.
#[derive(Clone)]
pub(super) struct Sinks {
    pub buffer: Arc<Mutex<Conflator>>,
    pub wake: Arc<Notify>,
    pub stats: Arc<FeedStats>,
    pub health: FeedHealth,
    pub order_updates: Option<Recipient<KiteOrderUpdate>>,
}

/// The step of a dial that failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Step {
    /// Resolving the host and opening the TCP connection.
    Tcp,
    /// TLS (for `wss://`) and the WebSocket upgrade.
    Handshake,
}

impl Step {
    pub(super) fn as_str(self) -> &'static str {
        match self {
            Step::Tcp => "tcp",
            Step::Handshake => "handshake",
        }
    }
}

/// Why a session ended.
#[derive(Debug)]
pub(super) enum Ended {
    Connect { step: Step, cause: String },
    Quiet(Duration),
    Closed,
    Failed(String),
}

impl std::fmt::Display for Ended {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Ended::Connect { step, cause } => {
                write!(f, "cannot connect ({} step): {cause}", step.as_str())
            }
            Ended::Quiet(t) => write!(f, "no frame for {t:?} (liveness timeout)"),
            Ended::Closed => f.write_str("closed by the server"),
            Ended::Failed(e) => write!(f, "connection failed: {e}"),
        }
    }
}

/// Runs one connection to its end, subscribed to what `wanted` says now and following its
/// changes. `Ok` carries whether any frame arrived (a healthy session resets the reconnect
/// backoff). Each dial step is bounded by `liveness`.
pub(super) async fn run(
    endpoint: &Endpoint,
    wanted: &mut watch::Receiver<Arc<Targets>>,
    liveness: Duration,
    sinks: &Sinks,
) -> (Ended, bool) {
    let ws = match connect(endpoint, liveness).await {
        Ok(ws) => ws,
        Err((step, cause)) => return (Ended::Connect { step, cause }, false),
    };
    sinks.stats.add(FeedCounter::Connects, 1);
    let (mut sink, mut source) = ws.split();
    let mut sent = Arc::new(Targets::new());
    let now = wanted.borrow_and_update().clone();
    if let Err(e) = follow(&mut sink, &mut sent, now).await {
        return (Ended::Failed(e.to_string()), false);
    }
    sinks.health.connected(Utc::now());
    tracing::info!(endpoint = %endpoint.shown(), instruments = sent.len(), "ticker connected and subscribed");
    let mut healthy = false;
    let mut following = true;
    let mut quiet_at = tokio::time::Instant::now() + liveness;
    loop {
        let next = tokio::select! {
            changed = wanted.changed(), if following => {
                if changed.is_err() {
                    // The feed is stopping; the connection ends with it.
                    following = false;
                    continue;
                }
                let now = wanted.borrow_and_update().clone();
                let before = sent.len();
                if let Err(e) = follow(&mut sink, &mut sent, now).await {
                    return (Ended::Failed(redact(&e.to_string(), endpoint)), healthy);
                }
                tracing::info!(before, instruments = sent.len(), "ticker subscriptions changed on the live connection");
                continue;
            }
            next = tokio::time::timeout_at(quiet_at, source.next()) => next,
        };
        let next = match next {
            Err(_) => return (Ended::Quiet(liveness), healthy),
            Ok(None) => return (Ended::Closed, healthy),
            Ok(Some(Err(e))) => return (Ended::Failed(redact(&e.to_string(), endpoint)), healthy),
            Ok(Some(Ok(message))) => message,
        };
        quiet_at = tokio::time::Instant::now() + liveness;
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

/// Dials `endpoint`: TCP within `step_timeout`, then TLS and the WebSocket handshake
/// within `step_timeout`. Errors never carry the credentials.
async fn connect(endpoint: &Endpoint, step_timeout: Duration) -> Result<Ws, (Step, String)> {
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
    let invalid = || {
        (
            Step::Tcp,
            format!("invalid ticker URL `{}`", endpoint.shown()),
        )
    };
    let mut request = url.into_client_request().map_err(|_| invalid())?;
    request
        .headers_mut()
        .insert("X-Kite-Version", HeaderValue::from_static("3"));
    let uri = request.uri();
    let host = uri.host().ok_or_else(invalid)?;
    let port = uri
        .port_u16()
        .unwrap_or(if uri.scheme_str() == Some("wss") {
            443
        } else {
            80
        });
    // `host` keeps the brackets of an IPv6 literal, so `host:port` parses either way.
    let address = format!("{host}:{port}");
    let tcp =
        match tokio::time::timeout(step_timeout, tokio::net::TcpStream::connect(&address)).await {
            Err(_) => {
                let cause = format!("no TCP connection to {address} within {step_timeout:?}");
                return Err((Step::Tcp, cause));
            }
            Ok(Err(e)) => return Err((Step::Tcp, format!("{address}: {e}"))),
            Ok(Ok(tcp)) => tcp,
        };
    // Ticks are small and latency matters more than packet count.
    let _ = tcp.set_nodelay(true);
    match tokio::time::timeout(
        step_timeout,
        tokio_tungstenite::client_async_tls_with_config(request, tcp, Some(ws_config()), None),
    )
    .await
    {
        Err(_) => Err((
            Step::Handshake,
            format!("no TLS/WebSocket handshake within {step_timeout:?} (the server accepted TCP)"),
        )),
        Ok(Err(e)) => {
            let cause = redact(&e.to_string(), endpoint);
            if refuses_credentials(&e) {
                crate::alerts::raise(crate::alerts::Alert::new(
                    crate::alerts::AlertKind::KiteTokenRejected,
                    "ticker",
                    format!(
                        "the Kite ticker refused the session ({cause}): no market data. Log in again (alpha-panda zerodha session --request-token T) and restart"
                    ),
                ));
            }
            Err((Step::Handshake, cause))
        }
        Ok(Ok((ws, _response))) => Ok(ws),
    }
}

/// True if the ticker's handshake was answered 401 or 403: Kite's answer to a wrong or
/// expired access token (or API key) on `wss://ws.kite.trade`.
fn refuses_credentials(e: &tokio_tungstenite::tungstenite::Error) -> bool {
    matches!(e, tokio_tungstenite::tungstenite::Error::Http(response)
        if matches!(response.status().as_u16(), 401 | 403))
}

/// The WebSocket client's settings: tungstenite's defaults but a 16 KiB read buffer. The
/// buffer is zero-filled to its full size on every read; at tungstenite's default
/// (128 KiB) that memset was the feed thread's largest single cost at 30,000 ticks/s
/// (docs/PERFORMANCE.md). A frame larger than the buffer is read in several reads.
fn ws_config() -> tokio_tungstenite::tungstenite::protocol::WebSocketConfig {
    tokio_tungstenite::tungstenite::protocol::WebSocketConfig::default().read_buffer_size(16 * 1024)
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

/// Sends what moves the connection from `sent` to `now`; `sent` is `now` once every
/// request went out.
async fn follow<S>(
    sink: &mut S,
    sent: &mut Arc<Targets>,
    now: Arc<Targets>,
) -> Result<(), tokio_tungstenite::tungstenite::Error>
where
    S: futures::Sink<Message, Error = tokio_tungstenite::tungstenite::Error> + Unpin,
{
    for request in changes(sent, &now) {
        sink.send(Message::text(request.to_json())).await?;
    }
    *sent = now;
    Ok(())
}

fn on_binary(bytes: &[u8], sinks: &Sinks) {
    let stats = &sinks.stats;
    match parse_frame(bytes) {
        Ok(Frame::Heartbeat) => {
            stats.add(FeedCounter::Heartbeats, 1);
        }
        Ok(Frame::Packets(packets)) => {
            stats.add(FeedCounter::Frames, 1);
            let mut got = 0u64;
            if let Ok(mut buffer) = sinks.buffer.lock() {
                for packet in packets {
                    match packet {
                        Ok(tick) => {
                            got += 1;
                            if buffer.push(tick) {
                                stats.add(FeedCounter::Conflated, 1);
                            }
                        }
                        Err(e) => {
                            stats.add(FeedCounter::PacketErrors, 1);
                            tracing::debug!(error = %e, "skipped a malformed packet");
                        }
                    }
                }
            }
            stats.add(FeedCounter::Ticks, got);
            metrics::ticks_received(got);
            if got > 0 {
                sinks.health.tick(Utc::now());
                sinks.wake.notify_one();
            }
        }
        Err(e) => {
            stats.add(FeedCounter::MalformedFrames, 1);
            tracing::warn!(error = %e, len = bytes.len(), "skipped a malformed frame");
        }
    }
}

fn on_text(text: &str, sinks: &Sinks) {
    match ServerText::parse(text) {
        Ok(ServerText::Order(update)) => {
            sinks.stats.add(FeedCounter::OrderUpdates, 1);
            match &sinks.order_updates {
                Some(to) => to.do_send(KiteOrderUpdate(update)),
                None => {
                    tracing::info!(order_id = ?update.order_id(), status = ?update.status(), "order update (no execution actor attached)")
                }
            }
        }
        Ok(ServerText::Error(message)) => {
            sinks.stats.add(FeedCounter::ServerErrors, 1);
            tracing::error!(%message, "ticker error");
        }
        Ok(ServerText::Message(value)) => tracing::info!(%value, "ticker message"),
        Err(e) => {
            sinks.stats.add(FeedCounter::MalformedFrames, 1);
            tracing::warn!(error = %e, "unreadable text frame");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// A ticker that answers the WebSocket upgrade with `status`, as Kite does with 403 to
    /// a wrong or expired access token.
    async fn refusing_ticker(status: &'static str) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let (mut socket, _) = listener.accept().await.unwrap();
            let mut request = vec![0u8; 4096];
            let _ = socket.read(&mut request).await;
            let answer = format!("HTTP/1.1 {status}\r\nContent-Length: 0\r\n\r\n");
            let _ = socket.write_all(answer.as_bytes()).await;
        });
        format!("ws://{addr}")
    }

    fn endpoint(url: String) -> Endpoint {
        Endpoint {
            url,
            api_key: Secret::new("ticker-api-key"),
            access_token: Secret::new("expired-access-token-42"),
        }
    }

    #[tokio::test]
    async fn a_handshake_refused_403_raises_kite_token_rejected_without_the_token() {
        let alerts = crate::alerts::capture::Capture::start();
        let endpoint = endpoint(refusing_ticker("403 Forbidden").await);
        let Err((step, cause)) = connect(&endpoint, Duration::from_secs(5)).await else {
            panic!("a refused handshake connected");
        };
        assert_eq!(step, Step::Handshake);
        let raised = alerts.of(crate::alerts::AlertKind::KiteTokenRejected);
        assert_eq!(raised.len(), 1, "{raised:?}");
        assert_eq!(raised[0].subject, "ticker");
        assert!(raised[0].message.contains("403"), "{}", raised[0].message);
        for text in [&cause, &raised[0].message] {
            assert!(!text.contains("expired-access-token-42"), "{text}");
        }
    }

    #[tokio::test]
    async fn another_handshake_failure_raises_nothing() {
        let alerts = crate::alerts::capture::Capture::start();
        let endpoint = endpoint(refusing_ticker("500 Internal Server Error").await);
        assert!(connect(&endpoint, Duration::from_secs(5)).await.is_err());
        assert!(alerts.alerts().is_empty(), "{:?}", alerts.alerts());
    }
}
