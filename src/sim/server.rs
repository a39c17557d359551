//! The simulator's WebSocket server: Kite's ticker protocol on loopback, for the default
//! run and for tests. It accepts subscribe/unsubscribe/mode requests, streams frames for
//! exactly the subscribed tokens in their modes at `ticks_per_sec` (or open loop at a fixed
//! total rate, see [`Pacing`]), sends a heartbeat every second, counts the ticks it sent,
//! and has test controls: drop every connection, go silent, inject raw frames. Every
//! instrument of the registry can be subscribed; futures and options are priced from
//! their underlying ([`super::market`]), whose walk moves whether or not it is subscribed.

use super::market::{Derivatives, Market};
use super::pacing::{MAX_TICKS_PER_FRAME, Pacer, Pacing, paced, paced_ticks};
use crate::kite::text::{Request, ServerText};
use crate::kite::ticker::{KiteTick, encode_frame, heartbeat};
use crate::market::instruments::InstrumentRegistry;
use crate::messages::TickMode;
use futures::{SinkExt, StreamExt};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{broadcast, watch};
use tokio_tungstenite::tungstenite::Message;

/// How the simulator runs.
#[derive(Debug, Clone)]
pub struct SimulatorOptions {
    pub listen: SocketAddr,
    /// Ticks per second per subscribed instrument.
    pub ticks_per_sec: u32,
    pub seed: u64,
    /// How futures and options are priced from their underlyings.
    pub derivatives: Derivatives,
}

/// What tests can observe: connections accepted so far and the subscriptions (token → mode)
/// of the most recent connection.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SimulatorStatus {
    pub accepted: u64,
    pub subscriptions: BTreeMap<u32, TickMode>,
}

#[derive(Debug, Clone)]
enum Control {
    DropAll,
    Binary(Vec<u8>),
    Text(String),
}

struct Shared {
    market: Mutex<Market>,
    silent: AtomicBool,
    accepted: AtomicU64,
    ticks_sent: AtomicU64,
    pacing: Pacing,
    status: watch::Sender<SimulatorStatus>,
}

/// A running simulator; dropping it stops it.
pub struct Simulator {
    addr: SocketAddr,
    shared: Arc<Shared>,
    control: broadcast::Sender<Control>,
    stop: watch::Sender<bool>,
}

impl Simulator {
    /// Binds and starts serving, `options.ticks_per_sec` per subscribed instrument.
    ///
    /// # Errors
    /// The address cannot be bound.
    pub async fn start(
        options: SimulatorOptions,
        registry: &InstrumentRegistry,
    ) -> std::io::Result<Simulator> {
        Self::start_with_pacing(options, Pacing::PerInstrument, registry).await
    }

    /// Binds and starts serving, ticks paced by `pacing`.
    ///
    /// # Errors
    /// The address cannot be bound.
    pub async fn start_with_pacing(
        options: SimulatorOptions,
        pacing: Pacing,
        registry: &InstrumentRegistry,
    ) -> std::io::Result<Simulator> {
        let listener = TcpListener::bind(options.listen).await?;
        let addr = listener.local_addr()?;
        let market = Market::new(registry, options.seed, &options.derivatives);
        let (status, _) = watch::channel(SimulatorStatus::default());
        let shared = Arc::new(Shared {
            market: Mutex::new(market),
            silent: AtomicBool::new(false),
            accepted: AtomicU64::new(0),
            ticks_sent: AtomicU64::new(0),
            pacing,
            status,
        });
        let (control, _) = broadcast::channel(64);
        let (stop, _) = watch::channel(false);
        let (steps, _) = watch::channel(0u64);
        if pacing == Pacing::PerInstrument {
            let period = Duration::from_secs(1) / options.ticks_per_sec.max(1);
            tokio::spawn(step_market(
                shared.clone(),
                steps.clone(),
                period,
                stop.subscribe(),
            ));
        }
        tokio::spawn(accept_loop(
            listener,
            shared.clone(),
            control.clone(),
            steps,
            stop.subscribe(),
        ));
        tracing::info!(%addr, ticks_per_sec = options.ticks_per_sec, ?pacing, seed = options.seed, "Kite simulator listening");
        Ok(Simulator {
            addr,
            shared,
            control,
            stop,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The ticker URL to point a client at.
    pub fn url(&self) -> String {
        format!("ws://{}", self.addr)
    }

    /// Closes every connection abruptly (no close frame), as a network failure would.
    pub fn drop_connections(&self) {
        let _ = self.control.send(Control::DropAll);
    }

    /// Stops (or resumes) sending anything, heartbeats included, on every connection.
    pub fn set_silent(&self, silent: bool) {
        self.shared.silent.store(silent, Ordering::SeqCst);
    }

    /// Sends raw bytes as a binary frame on every connection (for malformed-frame tests).
    pub fn send_binary(&self, bytes: Vec<u8>) {
        let _ = self.control.send(Control::Binary(bytes));
    }

    /// Sends a text frame on every connection (order updates, errors).
    pub fn send_text(&self, text: String) {
        let _ = self.control.send(Control::Text(text));
    }

    /// Ticks sent so far, over every connection.
    pub fn ticks_sent(&self) -> u64 {
        self.shared.ticks_sent.load(Ordering::SeqCst)
    }

    /// Watches connections and subscriptions.
    pub fn status(&self) -> watch::Receiver<SimulatorStatus> {
        self.shared.status.subscribe()
    }
}

impl Drop for Simulator {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
        let _ = self.control.send(Control::DropAll);
    }
}

async fn step_market(
    shared: Arc<Shared>,
    steps: watch::Sender<u64>,
    period: Duration,
    mut stop: watch::Receiver<bool>,
) {
    let mut interval = tokio::time::interval(period);
    loop {
        tokio::select! {
            _ = interval.tick() => {}
            _ = stop.changed() => return,
        }
        if let Ok(mut market) = shared.market.lock() {
            market.step_all(unix_now());
        }
        steps.send_modify(|n| *n += 1);
    }
}

async fn accept_loop(
    listener: TcpListener,
    shared: Arc<Shared>,
    control: broadcast::Sender<Control>,
    steps: watch::Sender<u64>,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        let accepted = tokio::select! {
            a = listener.accept() => a,
            _ = stop.changed() => return,
        };
        let Ok((stream, peer)) = accepted else {
            continue;
        };
        // Each frame leaves when it is sent: Nagle's algorithm would hold small frames
        // until the previous segment is acknowledged and deliver ticks in bursts.
        if let Err(e) = stream.set_nodelay(true) {
            tracing::debug!(%peer, error = %e, "simulator: cannot set TCP_NODELAY");
        }
        let pacer = match shared.pacing {
            Pacing::PerInstrument => None,
            Pacing::Total { ticks_per_sec } => Some(Pacer::new(ticks_per_sec)),
        };
        let connection = Connection {
            shared: shared.clone(),
            control: control.subscribe(),
            steps: steps.subscribe(),
            subscriptions: BTreeMap::new(),
            pacer,
            cursor: 0,
        };
        tokio::spawn(async move {
            if let Err(e) = connection.serve(stream).await {
                tracing::debug!(%peer, error = %e, "simulator connection ended");
            }
        });
    }
}

struct Connection {
    shared: Arc<Shared>,
    control: broadcast::Receiver<Control>,
    steps: watch::Receiver<u64>,
    subscriptions: BTreeMap<u32, TickMode>,
    /// `Some` under [`Pacing::Total`]: this connection's schedule.
    pacer: Option<Pacer>,
    /// Where the round-robin over the subscriptions continues.
    cursor: usize,
}

type WsError = tokio_tungstenite::tungstenite::Error;

impl Connection {
    async fn serve(mut self, stream: TcpStream) -> Result<(), WsError> {
        let ws = tokio_tungstenite::accept_async(stream).await?;
        let (mut sink, mut source) = ws.split();
        self.shared.accepted.fetch_add(1, Ordering::SeqCst);
        self.publish_status();
        let mut heartbeat_every = tokio::time::interval(Duration::from_secs(1));
        let mut frame = Vec::with_capacity(4096);
        loop {
            let active = !self.silent() && !self.subscriptions.is_empty();
            if !active && let Some(pacer) = self.pacer.as_mut() {
                pacer.pause();
            }
            tokio::select! {
                incoming = source.next() => match incoming {
                    Some(Ok(Message::Text(text))) => {
                        if let Some(reply) = self.on_request(text.as_str()) {
                            sink.send(Message::text(reply)).await?;
                        }
                    }
                    Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return Ok(()),
                    Some(Ok(_)) => {}
                },
                _ = self.steps.changed() => {
                    if self.silent() || self.subscriptions.is_empty() {
                        continue;
                    }
                    let ticks = self.ticks();
                    self.send_ticks(&mut sink, &ticks, &mut frame).await?;
                }
                due = paced(&mut self.pacer), if active && self.pacer.is_some() => {
                    if self.silent() {
                        continue;
                    }
                    let due = usize::try_from(due).unwrap_or(usize::MAX);
                    let mut left = due;
                    while left > 0 {
                        let count = left.min(MAX_TICKS_PER_FRAME);
                        let ticks = paced_ticks(&self.shared.market, &self.subscriptions, &mut self.cursor, count);
                        if ticks.is_empty() {
                            break;
                        }
                        left -= ticks.len();
                        self.send_ticks(&mut sink, &ticks, &mut frame).await?;
                    }
                }
                _ = heartbeat_every.tick() => {
                    if !self.silent() {
                        sink.send(Message::binary(heartbeat().to_vec())).await?;
                    }
                }
                control = self.control.recv() => match control {
                    Ok(Control::DropAll) | Err(broadcast::error::RecvError::Closed) => return Ok(()),
                    Ok(Control::Binary(bytes)) => sink.send(Message::binary(bytes)).await?,
                    Ok(Control::Text(text)) => sink.send(Message::text(text)).await?,
                    Err(broadcast::error::RecvError::Lagged(_)) => {}
                },
            }
        }
    }

    /// Sends `ticks` as one frame and counts them.
    async fn send_ticks<S>(
        &self,
        sink: &mut S,
        ticks: &[KiteTick],
        frame: &mut Vec<u8>,
    ) -> Result<(), WsError>
    where
        S: futures::Sink<Message, Error = WsError> + Unpin,
    {
        frame.clear();
        if encode_frame(ticks, frame).is_ok() {
            sink.send(Message::binary(frame.clone())).await?;
            let sent = u64::try_from(ticks.len()).unwrap_or(u64::MAX);
            self.shared.ticks_sent.fetch_add(sent, Ordering::SeqCst);
        }
        Ok(())
    }

    fn silent(&self) -> bool {
        self.shared.silent.load(Ordering::SeqCst)
    }

    /// Applies a client request; answers with an error frame for a bad one.
    fn on_request(&mut self, text: &str) -> Option<String> {
        let request = match Request::parse(text) {
            Ok(r) => r,
            Err(e) => return Some(ServerText::error_json(&e.to_string())),
        };
        let known = |token: &u32| {
            self.shared
                .market
                .lock()
                .map(|m| m.contains(*token))
                .unwrap_or(false)
        };
        let mut unknown = Vec::new();
        match request {
            Request::Subscribe(tokens) => {
                for t in tokens {
                    if known(&t) {
                        // Kite starts new subscriptions in quote mode.
                        self.subscriptions.entry(t).or_insert(TickMode::Quote);
                    } else {
                        unknown.push(t);
                    }
                }
            }
            Request::Unsubscribe(tokens) => {
                for t in tokens {
                    self.subscriptions.remove(&t);
                }
            }
            Request::Mode(mode, tokens) => {
                for t in tokens {
                    match self.subscriptions.get_mut(&t) {
                        Some(m) => *m = mode,
                        None => unknown.push(t),
                    }
                }
            }
        }
        self.publish_status();
        (!unknown.is_empty()).then(|| {
            ServerText::error_json(&format!("unknown or unsubscribed tokens: {unknown:?}"))
        })
    }

    fn publish_status(&self) {
        let accepted = self.shared.accepted.load(Ordering::SeqCst);
        self.shared.status.send_replace(SimulatorStatus {
            accepted,
            subscriptions: self.subscriptions.clone(),
        });
    }

    fn ticks(&self) -> Vec<KiteTick> {
        let now = unix_now();
        let Ok(mut market) = self.shared.market.lock() else {
            return Vec::new();
        };
        self.subscriptions
            .iter()
            .filter_map(|(token, mode)| market.tick(*token, *mode, now))
            .collect()
    }
}

/// The wall clock in Unix seconds, as ticks carry it.
pub(super) fn unix_now() -> u32 {
    u32::try_from(chrono::Utc::now().timestamp()).unwrap_or(0)
}
