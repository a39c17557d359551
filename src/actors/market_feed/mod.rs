//! The market feed: Kite ticker WebSocket in, `market.ticks` out.
//!
//! It connects to the configured ticker URL with the API key and access token (never
//! logged), subscribes every configured instrument and sets its mode, and publishes each
//! tick as a `market.ticks` envelope keyed by token, with the symbol attached. No frame for
//! `liveness_secs` means reconnect; reconnects back off exponentially with jitter, capped,
//! and never give up; every connect subscribes again and restores each token's mode.
//! Text frames: order updates go to the execution side as [`KiteOrderUpdate`], errors are
//! logged. The socket reader never waits on the publisher: ticks pass through a buffer
//! ([`conflation::Conflator`]) that keeps every tick in order up to
//! `feed.max_pending_ticks` and conflates (latest-wins per instrument, counted) only past
//! that.
//!
//! A tick whose publication fails is counted and logged, not retried: a newer tick for the
//! instrument supersedes it. A streak of failures is logged as its first failure, a
//! summary every 10 s and one line when publishing recovers (`publish_log`).
//!
//! Runtime subscriptions (`requests`, [`wanted`]): strategies' wishes on
//! `market.subscriptions` (rebuilt from the topic at start, then followed) are added to the
//! configured instruments; the union is what the feed streams, sent on the live connection
//! as it changes and whole on every (re)connect, at most 3000 instruments (Kite's limit per
//! connection; a wish beyond it is refused, logged and counted).
//!
//! Dialling is bounded: TCP within the liveness timeout, then TLS and the WebSocket
//! handshake within it again; a failed dial is counted (`connect_failures`), logged once
//! (endpoint, step, cause, next delay) and retried with the reconnect backoff. Every
//! counter of [`FeedStats`] is in `/metrics` as `alpha_panda_feed_<counter>_total`, and
//! [`FeedHealth`] gives readiness its `feed` check, which [`stale_alert::watch`] also
//! looks at on a timer to raise the `feed_stale` alert; a handshake refused 401/403 (a
//! wrong or expired access token) raises `kite_token_rejected`.

mod actor;
pub mod conflation;
#[cfg(test)]
mod fno_tests;
mod health;
mod publish_log;
mod requests;
mod session;
pub mod stale_alert;
mod stats;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_subscriptions;
pub mod wanted;

pub use actor::{GetFeedStats, MarketFeed, MarketFeedArgs};
pub use health::{DEFAULT_STALE_AFTER, FeedHealth, FeedStatus, Link};
pub use session::Endpoint;
pub use stats::{FeedStats, FeedStatsSnapshot};

use crate::kite::text::OrderUpdate;
use crate::market::instruments::InstrumentRegistry;
use crate::messages::TickMode;
use crate::settings::Subscription;
use actix::Message;

/// The service name, in logs, envelopes and the supervision tree.
pub const SERVICE: &str = "market_feed";

/// One instrument to stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedTarget {
    pub token: u32,
    pub symbol: String,
    pub mode: TickMode,
}

/// An order update from the ticker, for the execution side.
#[derive(Debug, Clone, Message)]
#[rtype(result = "()")]
pub struct KiteOrderUpdate(pub OrderUpdate);

/// Resolves configured `SYMBOL:mode` subscriptions against the registry.
///
/// # Errors
/// Every symbol the registry does not know, in one message.
pub fn resolve_targets(
    subscriptions: &[Subscription],
    registry: &InstrumentRegistry,
) -> Result<Vec<FeedTarget>, String> {
    let mut unknown = Vec::new();
    let mut targets = Vec::new();
    for s in subscriptions {
        match registry.by_symbol(&s.symbol) {
            Some(i) => targets.push(FeedTarget {
                token: i.token,
                symbol: i.symbol.clone(),
                mode: s.mode,
            }),
            None => unknown.push(s.symbol.clone()),
        }
    }
    if unknown.is_empty() {
        Ok(targets)
    } else {
        Err(format!(
            "feed.subscriptions: unknown instruments {} (not in the instrument registry)",
            unknown.join(", ")
        ))
    }
}
