//! Runtime subscriptions in: strategies' wishes ([`SubscriptionsChanged`]) applied to the
//! feed's [`WantedSet`]; a change of what is streamed goes to the live connection at once
//! (and every later connection is subscribed to the whole set).
//!
//! Where wishes come from (derived, not counted): with [`MarketFeed::with_requests`] (the
//! daemon), `market.subscriptions` is read from the beginning at start — each requester's
//! latest record is its current wish, so a restarted feed (or process) streams exactly what
//! was asked before, without asking anyone — and then followed live from where that read
//! ended ([`crate::streaming::tail`]: per process, no consumer group, since the one feed
//! needs every requester's records whoever else reads them). The connection is not held
//! back meanwhile: it subscribes the configured instruments at once and the rebuilt wishes
//! a moment later, on the live connection. A history that cannot be read fails the feed (its
//! supervisor restarts it), as every rebuild here does.
//!
//! A wish beyond one connection's 3000 instruments is refused whole (the requester's
//! previous wish stands), logged and counted (`subscriptions_refused`).

use super::SERVICE;
use super::actor::MarketFeed;
use super::wanted::Applied;
use crate::messages::SubscriptionsChanged;
use crate::streaming::Topic;
use crate::streaming::consumer::{Completion, Deliver, HandlerResult, Routes};
use crate::streaming::history::{decode_all, read_topics};
use crate::streaming::tail::tail;
use crate::supervision::{fail, handling};
use crate::telemetry::metrics::FeedCounter;
use actix::prelude::*;
use std::sync::Arc;
use std::time::Duration;

/// Longest wait for one metadata or fetch call of the history read.
const HISTORY_TIMEOUT: Duration = Duration::from_secs(10);

impl Handler<Deliver<SubscriptionsChanged>> for MarketFeed {
    type Result = HandlerResult;

    fn handle(
        &mut self,
        d: Deliver<SubscriptionsChanged>,
        _ctx: &mut Self::Context,
    ) -> HandlerResult {
        let _handling = handling::<Deliver<SubscriptionsChanged>>();
        if self.apply_wish(&d.envelope.data) {
            self.stream_wanted();
        }
        Ok(Completion::done())
    }
}

impl MarketFeed {
    /// Applies one wish; answers whether what is streamed changed.
    fn apply_wish(&mut self, wish: &SubscriptionsChanged) -> bool {
        let requester = wish.requester();
        match self.wanted.apply(wish) {
            Applied::Changed => {
                self.stats.add(FeedCounter::SubscriptionChanges, 1);
                tracing::info!(%requester, instruments = wish.instruments.len(), streamed = self.wanted.targets().len(), "runtime subscriptions applied");
                true
            }
            Applied::Unchanged => {
                tracing::debug!(%requester, "runtime subscriptions: nothing new to stream");
                false
            }
            Applied::Refused { wanted, limit } => {
                self.stats.add(FeedCounter::SubscriptionsRefused, 1);
                tracing::warn!(%requester, instruments = wish.instruments.len(), would_stream = wanted, limit, "runtime subscriptions REFUSED: more instruments than one ticker connection carries; the requester's previous subscriptions stand");
                false
            }
        }
    }

    /// Hands the current set to the reader (which sends the difference on the live
    /// connection) and the publisher.
    fn stream_wanted(&self) {
        self.targets
            .send_replace(Arc::new(self.wanted.targets().clone()));
    }

    /// With a connection: rebuilds the wishes from the topic, then follows it.
    pub(super) fn follow_requests(&mut self, ctx: &mut Context<Self>) {
        let Some(connection) = self.requests.clone() else {
            return;
        };
        let reading = connection.clone();
        let read = tokio::task::spawn_blocking(move || {
            read_topics(
                &reading,
                &[Topic::MARKET_SUBSCRIPTIONS.name()],
                HISTORY_TIMEOUT,
            )
        });
        ctx.spawn(read.into_actor(self).map(move |result, act, ctx| {
            let history = match result {
                Ok(Ok(history)) => history,
                Ok(Err(e)) => {
                    return fail::<Self>(ctx, format!("reading market.subscriptions: {e}"));
                }
                Err(e) => return fail::<Self>(ctx, format!("reading market.subscriptions: {e}")),
            };
            let (wishes, undecodable) = decode_all::<SubscriptionsChanged>(&history.records);
            let mut changed = false;
            for wish in &wishes {
                changed |= act.apply_wish(&wish.data);
            }
            if changed {
                act.stream_wanted();
            }
            tracing::info!(
                records = wishes.len(),
                undecodable,
                streamed = act.wanted.targets().len(),
                "feed subscriptions rebuilt from market.subscriptions"
            );
            let routes = Routes::new().route::<SubscriptionsChanged>(
                Topic::MARKET_SUBSCRIPTIONS,
                ctx.address().recipient(),
            );
            let following = tail(connection, history.ends, routes, SERVICE);
            ctx.spawn(following.into_actor(act).map(|result, _act, ctx| {
                let reason = match result {
                    Ok(()) => "the market.subscriptions tail ended".to_owned(),
                    Err(e) => e.to_string(),
                };
                fail::<Self>(ctx, reason);
            }));
        }));
    }
}
