//! Start-up: the ledgers rebuilt from the topics before any tick, then the outcomes
//! followed live from where the rebuild stopped (see the module docs).

use super::actor::LastSignal;
use super::{SERVICE, StrategyRunner, outcome_routes};
use crate::messages::{
    Broker, OrderFailed, OrderFilled, OrderSubmitted, RejectedSignal, SubscriptionsChanged,
    TradingSignal,
};
use crate::streaming::history::{History, decode_all, read_topics};
use crate::streaming::tail::tail;
use crate::streaming::{Stream, Topic};
use crate::supervision::fail;
use actix::prelude::*;
use std::collections::BTreeSet;
use std::time::Duration;

/// Longest wait for one metadata or fetch call of the rebuild.
const HISTORY_TIMEOUT: Duration = Duration::from_secs(10);

impl StrategyRunner {
    fn brokers(&self) -> Vec<Broker> {
        let brokers: BTreeSet<Broker> = self.running.iter().map(|r| r.slot.broker).collect();
        brokers.into_iter().collect()
    }

    /// Reads the history (the mailbox waits), applies it, then starts the tail.
    pub(super) fn rebuild_then_tail(&mut self, ctx: &mut Context<Self>) {
        let Some(connection) = self.history.clone() else {
            return;
        };
        let brokers = self.brokers();
        if brokers.is_empty() {
            return;
        }
        let mut topics: Vec<String> = brokers
            .iter()
            .flat_map(|b| {
                [
                    Stream::SignalsRaw,
                    Stream::SignalsRejected,
                    Stream::OrdersSubmitted,
                    Stream::OrdersFilled,
                    Stream::OrdersFailed,
                ]
                .map(|s| Topic::of(*b, s).name())
            })
            .collect();
        topics.push(Topic::MARKET_SUBSCRIPTIONS.name());
        let reading = connection.clone();
        let read =
            tokio::task::spawn_blocking(move || read_topics(&reading, &topics, HISTORY_TIMEOUT));
        ctx.wait(read.into_actor(self).map(move |result, act, ctx| {
            let history = match result.map_err(|e| e.to_string()) {
                Ok(Ok(history)) => history,
                Ok(Err(e)) => return fail::<Self>(ctx, format!("rebuilding the ledgers: {e}")),
                Err(e) => return fail::<Self>(ctx, format!("rebuilding the ledgers: {e}")),
            };
            act.apply_history(&history);
            act.restore_from(&history, ctx);
            let routes = outcome_routes(&ctx.address(), &brokers);
            // Only the outcomes: this runner is the one writer of its signals and of its
            // slots' subscriptions.
            let from: Vec<(String, i32, i64)> = history
                .ends
                .into_iter()
                .filter(|(topic, _, _)| {
                    !topic.ends_with(Stream::SignalsRaw.suffix())
                        && *topic != Topic::MARKET_SUBSCRIPTIONS.name()
                })
                .collect();
            let following = tail(connection, from, routes, SERVICE);
            ctx.spawn(following.into_actor(act).map(|result, _act, ctx| {
                let reason = match result {
                    Ok(()) => "the outcome tail ended".to_owned(),
                    Err(e) => e.to_string(),
                };
                fail::<Self>(ctx, reason);
            }));
        }));
    }

    /// The slots' runtime subscriptions from their latest records; the corrections (see
    /// `subscriptions.rs`) are published in the background: a failure is logged, and the
    /// slot's next change publishes its whole set again.
    fn restore_from(&mut self, history: &History, ctx: &mut Context<Self>) {
        let records = history
            .records
            .iter()
            .filter(|r| r.topic == Topic::MARKET_SUBSCRIPTIONS.name());
        let (records, _) = decode_all::<SubscriptionsChanged>(records);
        let deliveries = self.restore_subscriptions(&records, chrono::Utc::now());
        if deliveries.is_empty() {
            return;
        }
        ctx.spawn(
            async move {
                for delivery in deliveries {
                    if let Err(e) = delivery.await {
                        tracing::error!(error = %e, "publishing corrected runtime subscriptions failed");
                    }
                }
            }
            .into_actor(self),
        );
    }

    /// Signals first (the orders they became are pending), then acknowledgements, fills,
    /// failures and rejections: each applies to its order whatever the topics' relative
    /// order was, and applying is idempotent.
    fn apply_history(&mut self, history: &History) {
        let on = |stream: Stream| {
            history
                .records
                .iter()
                .filter(move |r| Topic::parse(&r.topic).is_some_and(|t| t.stream == stream))
        };
        let (signals, _) = decode_all::<TradingSignal>(on(Stream::SignalsRaw));
        let mut sent = 0;
        for env in &signals {
            if let Some(run) = self.slot_mut(&env.data.strategy_id, env.data.broker) {
                run.ledger.sent(env.id, &env.data, env.ts);
                if run
                    .last_signal
                    .as_ref()
                    .is_none_or(|l| l.envelope.ts <= env.ts)
                {
                    run.last_signal = Some(LastSignal {
                        envelope: env.clone(),
                    });
                }
                sent += 1;
            }
        }
        for env in decode_all::<OrderSubmitted>(on(Stream::OrdersSubmitted)).0 {
            let order = &env.data.order;
            if let Some(run) = self.slot_mut(&order.strategy_id, order.broker) {
                run.ledger.acknowledged(&order.client_order_id);
            }
        }
        let (fills, _) = decode_all::<OrderFilled>(on(Stream::OrdersFilled));
        for env in &fills {
            let order = &env.data.order;
            if let Some(run) = self.slot_mut(&order.strategy_id, order.broker) {
                run.ledger.filled(&env.data);
            }
        }
        for env in decode_all::<OrderFailed>(on(Stream::OrdersFailed)).0 {
            let order = &env.data.order;
            if let Some(run) = self.slot_mut(&order.strategy_id, order.broker) {
                run.ledger.failed(&env.data);
            }
        }
        for env in decode_all::<RejectedSignal>(on(Stream::SignalsRejected)).0 {
            let signal = &env.data.signal;
            if let (Some(id), Some(run)) = (
                env.causation_id,
                self.slot_mut(&signal.strategy_id, signal.broker),
            ) {
                let codes = env.data.reasons.iter().map(|r| r.code).collect();
                run.ledger.rejected(id, codes, String::new());
            }
        }
        tracing::info!(
            signals = sent,
            fills = fills.len(),
            "strategy ledgers rebuilt from the order topics"
        );
    }
}
