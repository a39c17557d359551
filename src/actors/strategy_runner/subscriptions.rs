//! Runtime subscriptions in the runner: after every strategy call, a slot whose runtime set
//! changed ([`crate::strategy::subscriptions`]) has its ticks re-routed at once (its
//! configured ∪ runtime instruments) and its whole set published to
//! `market.subscriptions` ([`SubscriptionsChanged`], keyed by `strategy/broker`) for the
//! market feed, wherever it runs.
//!
//! - The record is a child of the event whose handling changed the set (the tick, the fill,
//!   the order's end), so a subscription can be followed back to what caused it. Its
//!   publication is one of that event's outputs: the record is complete (its offset
//!   committed) only once it is acknowledged. A failed publication marks the slot, and the
//!   next handling (the redelivered event, or any later one) publishes its whole set again:
//!   the strategy, asked again, would find nothing to change.
//! - Start (daemon): the rebuild reads `market.subscriptions` with the order topics and
//!   gives each slot its latest record's set ([`StrategyRunner::restore_subscriptions`]).
//!   Instruments the registry no longer knows (contracts expired since) are dropped and
//!   the corrected set published; a requester of one of this runner's brokers that is no
//!   longer a slot here (a strategy disabled or removed from the configuration) is
//!   withdrawn with an empty set, so the feed stops streaming for nobody.
//! - One writer per requester: the slot of this runner. Run the runner in several
//!   processes and each instance of a strategy publishes its own set under the same key;
//!   the last one wins (docs/STRATEGIES.md).
//! - The backtest has no feed: the record goes to the in-process outbox, which no service
//!   reads, and the routing change alone decides which ticks of the file reach the
//!   strategy.

use super::{SERVICE, StrategyRunner};
use crate::messages::{Broker, Envelope, Lineage, SubscriptionsChanged};
use crate::strategy::RuntimeSubscriptions;
use crate::streaming::Topic;
use crate::streaming::producer::PendingDelivery;
use chrono::{DateTime, Utc};
use futures::FutureExt;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::atomic::Ordering;

impl StrategyRunner {
    /// Rebuilds the tick routing: each slot takes its configured and runtime instruments
    /// (each once, whichever way it was asked for).
    pub(super) fn reindex(&mut self) {
        let mut by_token: HashMap<u32, Vec<usize>> = HashMap::new();
        for (i, run) in self.running.iter().enumerate() {
            let tokens: BTreeSet<u32> = run
                .slot
                .tokens
                .iter()
                .copied()
                .chain(run.subscriptions.tokens())
                .collect();
            for token in tokens {
                by_token.entry(token).or_default().push(i);
            }
        }
        self.by_token = by_token;
    }

    /// Publishes the set of every slot whose runtime subscriptions changed since the last
    /// call, or whose last publication failed (a child of `cause` when there is one, at
    /// `at`), and re-routes the ticks.
    pub(super) fn publish_subscriptions(
        &mut self,
        cause: Option<Lineage>,
        at: DateTime<Utc>,
    ) -> Vec<PendingDelivery> {
        let mut deliveries = Vec::new();
        for run in &self.running {
            let changed = run.subscriptions.take_changed();
            let unsent = run.subscriptions_unsent.swap(false, Ordering::SeqCst);
            if !changed && !unsent {
                continue;
            }
            let changed = SubscriptionsChanged {
                strategy_id: run.slot.id.clone(),
                broker: run.slot.broker,
                instruments: run.subscriptions.wanted(),
            };
            let tokens: Vec<u32> = changed.instruments.iter().map(|w| w.token).collect();
            tracing::info!(strategy = %changed.strategy_id, broker = %changed.broker, ?tokens, "runtime subscriptions changed");
            let envelope = match cause {
                Some(parent) => {
                    let requester = changed.requester();
                    Envelope::child_of(parent, changed, SERVICE, &requester, at)
                }
                None => Envelope::root(changed, SERVICE, at),
            };
            let unsent = run.subscriptions_unsent.clone();
            let delivery = self
                .producer
                .publish_envelope(Topic::MARKET_SUBSCRIPTIONS, &envelope)
                .inspect(move |result| {
                    if result.is_err() {
                        unsent.store(true, Ordering::SeqCst);
                    }
                });
            deliveries.push(delivery.boxed());
        }
        if !deliveries.is_empty() {
            self.reindex();
        }
        deliveries
    }

    /// Gives each slot the set of its latest record in `records` (in topic order), drops
    /// instruments the registry no longer knows, withdraws requesters of this runner's
    /// brokers that are not slots here; answers the publications of the corrections.
    pub(super) fn restore_subscriptions(
        &mut self,
        records: &[Envelope<SubscriptionsChanged>],
        at: DateTime<Utc>,
    ) -> Vec<PendingDelivery> {
        let mut latest: BTreeMap<(String, Broker), &SubscriptionsChanged> = BTreeMap::new();
        for record in records {
            let data = &record.data;
            latest.insert((data.strategy_id.clone(), data.broker), data);
        }
        let brokers: BTreeSet<Broker> = self.running.iter().map(|r| r.slot.broker).collect();
        let mut withdrawn = Vec::new();
        let mut restored = 0;
        for ((strategy, broker), data) in latest {
            let Some(run) = self.slot_mut(&strategy, broker) else {
                if brokers.contains(&broker) && !data.instruments.is_empty() {
                    withdrawn.push(SubscriptionsChanged {
                        strategy_id: strategy,
                        broker,
                        instruments: Vec::new(),
                    });
                }
                continue;
            };
            run.subscriptions = RuntimeSubscriptions::restored(data.instruments.clone());
            restored += data.instruments.len();
            let dropped = run.subscriptions.retain_known(&run.instruments);
            if !dropped.is_empty() {
                let tokens: Vec<u32> = dropped.iter().map(|w| w.token).collect();
                tracing::warn!(%strategy, %broker, ?tokens, "runtime subscriptions no longer in the instrument registry (expired?) dropped");
            }
        }
        tracing::info!(
            instruments = restored,
            "runtime subscriptions rebuilt from market.subscriptions"
        );
        self.reindex();
        let mut deliveries = self.publish_subscriptions(None, at);
        for changed in withdrawn {
            tracing::info!(strategy = %changed.strategy_id, broker = %changed.broker, "runtime subscriptions withdrawn: not a strategy of this runner");
            let envelope = Envelope::root(changed, SERVICE, at);
            deliveries.push(
                self.producer
                    .publish_envelope(Topic::MARKET_SUBSCRIPTIONS, &envelope),
            );
        }
        deliveries
    }
}
