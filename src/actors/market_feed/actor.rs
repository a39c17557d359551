//! The actor shell: runs the reconnecting reader and the publisher in its own context (so
//! a panic in either is a failure its supervisor handles) and answers for its counters.

use super::conflation::Conflator;
use super::session::{self, Endpoint, Sinks};
use super::stats::{FeedStats, FeedStatsSnapshot};
use super::{FeedTarget, KiteOrderUpdate, SERVICE};
use crate::messages::Envelope;
use crate::streaming::retry::Backoff;
use crate::streaming::{ProducerHandle, Topic};
use actix::prelude::*;
use futures::StreamExt;
use futures::stream::FuturesUnordered;
use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::Notify;

/// Everything the feed needs.
#[derive(Clone)]
pub struct MarketFeedArgs {
    pub endpoint: Endpoint,
    pub targets: Vec<FeedTarget>,
    pub producer: ProducerHandle,
    pub liveness: Duration,
    /// Reconnect delays (its attempt count is ignored: the feed never gives up).
    pub reconnect: Backoff,
    /// Publications awaiting their broker ack before the publisher waits (and the buffer
    /// starts conflating).
    pub max_in_flight: usize,
    pub order_updates: Option<Recipient<KiteOrderUpdate>>,
}

pub struct MarketFeed {
    args: MarketFeedArgs,
    stats: Arc<FeedStats>,
}

crate::supervised!(MarketFeed);

impl MarketFeed {
    pub fn new(args: MarketFeedArgs) -> Self {
        MarketFeed {
            args,
            stats: Arc::new(FeedStats::default()),
        }
    }

    pub fn stats(&self) -> Arc<FeedStats> {
        self.stats.clone()
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
            buffer: Arc::new(Mutex::new(Conflator::default())),
            wake: Arc::new(Notify::new()),
            stats: self.stats.clone(),
            order_updates: self.args.order_updates.clone(),
        };
        ctx.spawn(read(self.args.clone(), sinks.clone()).into_actor(self));
        ctx.spawn(publish(self.args.clone(), sinks).into_actor(self));
    }
}

/// Connects, reads, reconnects — forever.
async fn read(args: MarketFeedArgs, sinks: Sinks) {
    let mut failures: u32 = 0;
    loop {
        let (ended, healthy) =
            session::run(&args.endpoint, &args.targets, args.liveness, &sinks).await;
        sinks.stats.disconnects.fetch_add(1, Ordering::Relaxed);
        failures = if healthy {
            1
        } else {
            failures.saturating_add(1)
        };
        let delay = args.reconnect.delay(failures);
        tracing::warn!(reason = %ended, ?delay, "ticker disconnected; reconnecting");
        tokio::time::sleep(delay).await;
    }
}

/// Takes the latest tick per instrument and publishes it, keeping at most
/// `max_in_flight` publications unacknowledged.
async fn publish(args: MarketFeedArgs, sinks: Sinks) {
    let symbols: HashMap<u32, String> = args
        .targets
        .iter()
        .map(|t| (t.token, t.symbol.clone()))
        .collect();
    let mut in_flight = FuturesUnordered::new();
    loop {
        let next = sinks.buffer.lock().ok().and_then(|mut b| b.pop());
        let Some(tick) = next else {
            tokio::select! {
                _ = sinks.wake.notified() => {}
                Some(result) = in_flight.next(), if !in_flight.is_empty() => settle(&sinks, result),
            }
            continue;
        };
        while in_flight.len() >= args.max_in_flight.max(1) {
            match in_flight.next().await {
                Some(result) => settle(&sinks, result),
                None => break,
            }
        }
        let market_tick = tick.to_market_tick(symbols.get(&tick.token).cloned());
        let envelope = Envelope::root(market_tick, SERVICE, chrono::Utc::now());
        in_flight.push(
            args.producer
                .publish_envelope(Topic::MARKET_TICKS, &envelope),
        );
    }
}

fn settle(
    sinks: &Sinks,
    result: Result<crate::streaming::producer::Delivered, crate::streaming::producer::PublishError>,
) {
    match result {
        Ok(_) => {
            sinks.stats.published.fetch_add(1, Ordering::Relaxed);
        }
        Err(e) => {
            sinks.stats.publish_failures.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(error = %e, "tick not published");
        }
    }
}
