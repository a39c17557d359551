//! The actor shell: runs the reconnecting reader and the publisher in its own context (so
//! a panic in either is a failure its supervisor handles) and answers for its counters.
//!
//! Every failed dial or ended session is one WARN naming the endpoint (never the
//! credentials), the cause and the delay before the next attempt; the feed never gives up.
//! Its [`FeedHealth`] is handed in ([`MarketFeed::with_health`]) so that it outlives a
//! restart of the actor and readiness keeps reading the same handle.
//!
//! What to stream lives in the actor ([`WantedSet`]) and reaches the reader and the
//! publisher through a watch channel: the reader sends each change on the live connection,
//! the publisher publishes ticks of exactly the instruments streamed now (`requests.rs`
//! feeds the set from `market.subscriptions`).

use super::conflation::Conflator;
use super::health::FeedHealth;
use super::publish_log::{FailureLog, Line, SUMMARY_EVERY};
use super::session::{self, Ended, Endpoint, Sinks};
use super::stats::{FeedStats, FeedStatsSnapshot};
use super::wanted::{Targets, WantedSet};
use super::{FeedTarget, KiteOrderUpdate, SERVICE};
use crate::kite::ticker::MAX_INSTRUMENTS_PER_CONNECTION;
use crate::market::hours::{MarketCalendar, Session};
use crate::messages::Envelope;
use crate::streaming::retry::Backoff;
use crate::streaming::{KafkaConnection, ProducerHandle, Topic};
use crate::telemetry::metrics::FeedCounter;
use actix::prelude::*;
use chrono::Utc;
use futures::StreamExt;
use futures::stream::FuturesUnordered;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{Notify, watch};

/// Everything the feed needs.
#[derive(Clone)]
pub struct MarketFeedArgs {
    pub endpoint: Endpoint,
    pub targets: Vec<FeedTarget>,
    pub producer: ProducerHandle,
    pub liveness: Duration,
    /// Reconnect delays (its attempt count is ignored: the feed never gives up).
    pub reconnect: Backoff,
    /// Publications awaiting their broker ack before the publisher waits, and ticks the
    /// buffer queues before it starts conflating (`feed.max_pending_ticks`).
    pub max_in_flight: usize,
    pub order_updates: Option<Recipient<KiteOrderUpdate>>,
    /// When set (`market_hours.enforce = true`), connect only while the exchange is in its
    /// pre-open or normal session and disconnect at the close.
    pub market_hours: Option<MarketCalendar>,
}

pub struct MarketFeed {
    args: MarketFeedArgs,
    pub(super) stats: Arc<FeedStats>,
    health: FeedHealth,
    /// The configured instruments ∪ the runtime wishes.
    pub(super) wanted: WantedSet,
    /// [`WantedSet::targets`] for the reader and the publisher.
    pub(super) targets: watch::Sender<Arc<Targets>>,
    /// Where the runtime wishes are read from (`None`: only by message, as in tests).
    pub(super) requests: Option<KafkaConnection>,
}

crate::supervised!(MarketFeed);

impl MarketFeed {
    /// A feed with a health handle of its own (see [`MarketFeed::with_health`]).
    pub fn new(args: MarketFeedArgs) -> Self {
        MarketFeed::with_health(args, FeedHealth::default())
    }

    /// A feed reporting its link state to `health`. Give every incarnation of a supervised
    /// feed the same handle (a clone), and readiness the same again.
    pub fn with_health(args: MarketFeedArgs, health: FeedHealth) -> Self {
        let wanted = WantedSet::new(args.targets.clone(), MAX_INSTRUMENTS_PER_CONNECTION);
        let (targets, _) = watch::channel(Arc::new(wanted.targets().clone()));
        MarketFeed {
            args,
            stats: Arc::new(FeedStats::default()),
            health,
            wanted,
            targets,
            requests: None,
        }
    }

    /// Streams the runtime subscriptions of `market.subscriptions` too: at start the
    /// topic's history, then its new records (the daemon).
    pub fn with_requests(mut self, connection: KafkaConnection) -> Self {
        self.requests = Some(connection);
        self
    }

    pub fn stats(&self) -> Arc<FeedStats> {
        self.stats.clone()
    }

    /// The handle this feed reports to.
    pub fn health(&self) -> FeedHealth {
        self.health.clone()
    }
}

/// The feed's counters now.
#[derive(Debug, Message)]
#[rtype(result = "FeedStatsSnapshot")]
pub struct GetFeedStats;

impl Handler<GetFeedStats> for MarketFeed {
    type Result = MessageResult<GetFeedStats>;
    fn handle(&mut self, _: GetFeedStats, _ctx: &mut Self::Context) -> Self::Result {
        MessageResult(self.stats.snapshot())
    }
}

impl Actor for MarketFeed {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        let sinks = Sinks {
            buffer: Arc::new(Mutex::new(Conflator::new(self.args.max_in_flight))),
            wake: Arc::new(Notify::new()),
            stats: self.stats.clone(),
            health: self.health.clone(),
            order_updates: self.args.order_updates.clone(),
        };
        let targets = self.targets.subscribe();
        ctx.spawn(read(self.args.clone(), sinks.clone(), targets.clone()).into_actor(self));
        ctx.spawn(publish(self.args.clone(), sinks, targets).into_actor(self));
        self.follow_requests(ctx);
    }
}

/// Connects, reads, reconnects — forever (outside market hours, waits for the open).
async fn read(args: MarketFeedArgs, sinks: Sinks, mut targets: watch::Receiver<Arc<Targets>>) {
    let mut failures: u32 = 0;
    let endpoint = args.endpoint.shown();
    loop {
        let mut until = None;
        if let Some(calendar) = &args.market_hours {
            let now = Utc::now();
            if calendar.session_at(now) == Session::Closed {
                let open = calendar.next_open(now);
                sinks.health.waiting_for_open(open);
                tracing::info!(%open, "market closed; the feed connects at the next open");
                let wait = (open - now).to_std().unwrap_or_default();
                tokio::time::sleep(wait).await;
                continue;
            }
            until = calendar.session_close(now);
        }
        let session = session::run(&args.endpoint, &mut targets, args.liveness, &sinks);
        let (ended, healthy) = match until {
            None => session.await,
            Some(close) => {
                let left = (close - Utc::now()).to_std().unwrap_or_default();
                match tokio::time::timeout(left, session).await {
                    Ok(ended) => ended,
                    Err(_) => {
                        tracing::info!(%close, "market closed; disconnecting the feed");
                        failures = 0;
                        continue;
                    }
                }
            }
        };
        sinks.stats.add(FeedCounter::Disconnects, 1);
        sinks.health.disconnected(Utc::now(), ended.to_string());
        failures = if healthy {
            1
        } else {
            failures.saturating_add(1)
        };
        let delay = args.reconnect.delay(failures);
        match &ended {
            Ended::Connect { step, cause } => {
                sinks.stats.add(FeedCounter::ConnectFailures, 1);
                tracing::warn!(
                    %endpoint,
                    step = step.as_str(),
                    %cause,
                    attempt = failures,
                    retry_in = ?delay,
                    "ticker connect failed; retrying after the backoff"
                );
            }
            _ => {
                tracing::warn!(%endpoint, reason = %ended, retry_in = ?delay, "ticker disconnected; reconnecting")
            }
        }
        tokio::time::sleep(delay).await;
    }
}

/// Takes the latest tick per instrument and publishes it, keeping at most
/// `max_in_flight` publications unacknowledged.
async fn publish(args: MarketFeedArgs, sinks: Sinks, mut targets: watch::Receiver<Arc<Targets>>) {
    let mut symbols = symbols_of(&targets.borrow_and_update());
    let mut in_flight = FuturesUnordered::new();
    let mut failure_log = FailureLog::new(SUMMARY_EVERY);
    let mut report = tokio::time::interval(STATS_LOG_EVERY);
    let mut reported = sinks.stats.snapshot();
    loop {
        let next = sinks.buffer.lock().ok().and_then(|mut b| b.pop());
        let Some(tick) = next else {
            tokio::select! {
                _ = sinks.wake.notified() => {}
                Some(result) = in_flight.next(), if !in_flight.is_empty() => settle(&sinks, &mut failure_log, result),
                _ = report.tick() => reported = log_progress(&sinks, reported),
            }
            continue;
        };
        while in_flight.len() >= args.max_in_flight.max(1) {
            match in_flight.next().await {
                Some(result) => settle(&sinks, &mut failure_log, result),
                None => break,
            }
        }
        // Only what this feed streams now, and only sane ticks, reach `market.ticks`: a bad
        // tick published would be dead-lettered once by every consuming service.
        if targets.has_changed().unwrap_or(false) {
            symbols = symbols_of(&targets.borrow_and_update());
        }
        let Some(symbol) = symbols.get(&tick.token) else {
            sinks.stats.add(FeedCounter::Unsubscribed, 1);
            continue;
        };
        let market_tick = tick.to_market_tick(Some(symbol.clone()));
        if let Err(problem) = market_tick.check() {
            if sinks.stats.add(FeedCounter::Invalid, 1) == 0 {
                tracing::warn!(token = tick.token, %problem, "tick refused by the tick checks (not published; later ones are counted in the feed's progress line)");
            }
            continue;
        }
        let envelope = Envelope::root(market_tick, SERVICE, chrono::Utc::now());
        in_flight.push(
            args.producer
                .publish_envelope(Topic::MARKET_TICKS, &envelope),
        );
    }
}

/// Token → symbol of what is streamed (the publisher's per-tick lookup, rebuilt on a
/// change only).
fn symbols_of(targets: &Targets) -> HashMap<u32, String> {
    targets
        .values()
        .map(|t: &FeedTarget| (t.token, t.symbol.clone()))
        .collect()
}

/// How often the feed logs its progress.
const STATS_LOG_EVERY: Duration = Duration::from_secs(10);

/// One line an operator can watch: what moved since the last report.
fn log_progress(sinks: &Sinks, before: FeedStatsSnapshot) -> FeedStatsSnapshot {
    let now = sinks.stats.snapshot();
    if now.ticks > before.ticks || now.disconnects > before.disconnects {
        tracing::info!(
            ticks = now.ticks - before.ticks,
            published = now.published - before.published,
            conflated = now.conflated - before.conflated,
            publish_failures = now.publish_failures - before.publish_failures,
            reconnects = now.disconnects - before.disconnects,
            connect_failures = now.connect_failures - before.connect_failures,
            unsubscribed = now.unsubscribed - before.unsubscribed,
            invalid = now.invalid - before.invalid,
            "market feed: last {STATS_LOG_EVERY:?}"
        );
    }
    now
}

fn settle(
    sinks: &Sinks,
    log: &mut FailureLog,
    result: Result<crate::streaming::producer::Delivered, crate::streaming::producer::PublishError>,
) {
    let now = std::time::Instant::now();
    match result {
        Ok(_) => {
            sinks.stats.add(FeedCounter::Published, 1);
            if let Some(Line::Recovered { total, lasted }) = log.succeeded(now) {
                tracing::info!(failures = total, ?lasted, "ticks are published again");
            }
        }
        Err(e) => {
            sinks.stats.add(FeedCounter::PublishFailures, 1);
            match log.failed(now) {
                Some(Line::First) => tracing::warn!(
                    error = %e,
                    "tick not published (not retried: a newer tick supersedes it); further failures are summarised every {SUMMARY_EVERY:?}"
                ),
                Some(Line::Summary { failures, total }) => tracing::warn!(
                    failures,
                    total,
                    last_error = %e,
                    "ticks still not published"
                ),
                _ => {}
            }
        }
    }
}
