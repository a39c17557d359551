//! Start-up: every broker's book rebuilt from its topics before any record is handled.
//!
//! Read, per broker: `signals.validated` (orders in flight, the day's counts, verdicts),
//! `signals.rejected` (verdicts), `orders.filled` (positions, realized P&L, what is left in
//! flight) and `orders.failed` (orders ended). The day is first moved to today by the
//! wall clock, so only today's events count toward today; then validations are applied
//! before fills and failures (an order must be in flight before its fills lower it).
//! The live consumers then resume from their committed offsets; whatever they deliver
//! again is absorbed by the book (fills by id, verdicts by raw signal id, failures once).

use super::{RiskManager, SERVICE};
use crate::messages::{
    Broker, OrderFailed, OrderFilled, RejectedSignal, ValidatedSignal, client_order_id,
};
use crate::risk::BrokerRisk;
use crate::streaming::history::{History, decode_all, read_topics_for};
use crate::streaming::{Stream, Topic};
use crate::supervision::fail;
use actix::prelude::*;
use std::time::Duration;

/// Longest wait for one metadata or fetch call of the rebuild.
const HISTORY_TIMEOUT: Duration = Duration::from_secs(10);

/// The topics a broker's book is rebuilt from.
const STREAMS: [Stream; 4] = [
    Stream::SignalsValidated,
    Stream::SignalsRejected,
    Stream::OrdersFilled,
    Stream::OrdersFailed,
];

impl RiskManager {
    /// Reads the history (the mailbox waits) and applies it; a failed read fails the actor
    /// (its supervisor restarts it): trading on a partial book could breach a limit.
    pub(super) fn rebuild(&mut self, ctx: &mut Context<Self>) {
        let Some(connection) = self.history.clone() else {
            return;
        };
        let brokers: Vec<Broker> = self.books.keys().copied().collect();
        let topics: Vec<String> = brokers
            .iter()
            .flat_map(|b| STREAMS.map(|s| Topic::of(*b, s).name()))
            .collect();
        // To the later of each partition's end and this service's committed offset: a
        // broker that under-reports its high watermark must not hide committed fills.
        let read = tokio::task::spawn_blocking(move || {
            read_topics_for(&connection, SERVICE, &topics, HISTORY_TIMEOUT)
        });
        ctx.wait(read.into_actor(self).map(|result, act, ctx| {
            let history = match result.map_err(|e| e.to_string()) {
                Ok(Ok(history)) => history,
                Ok(Err(e)) => return fail::<Self>(ctx, format!("rebuilding risk: {e}")),
                Err(e) => return fail::<Self>(ctx, format!("rebuilding risk: {e}")),
            };
            let now = chrono::Utc::now();
            for (broker, book) in &mut act.books {
                book.roll_to(now);
                // A limit reached again while replaying must not override the operator's
                // later resume: the saved kill switch stands.
                let state = book.state();
                let applied = apply(book, *broker, &history);
                book.set_state(state);
                tracing::info!(%broker, service = SERVICE, validated = applied.0, rejected = applied.1, fills = applied.2, failures = applied.3, open_orders = book.open_orders(), "risk rebuilt from the topics");
            }
            act.finish_flattening(now);
        }));
    }
}

impl RiskManager {
    /// A loss limit reached today with `on_loss_limit = "flatten"`: the closing orders a
    /// crash may have cut short are sent now. The ids are those the first attempt used
    /// for the same position, and orders already in flight are not sent again, so this
    /// sends only what is missing. Not waited for: a failure is logged, and the next
    /// start tries again.
    fn finish_flattening(&mut self, now: chrono::DateTime<chrono::Utc>) {
        let mut scopes = Vec::new();
        for (broker, book) in &self.books {
            if !book.flattens_on_loss() {
                continue;
            }
            let view = book.view();
            let Some(day) = view.day else { continue };
            if view.loss_limit_reached {
                scopes.push((*broker, None, day));
            }
            for strategy in view.strategies_at_loss_limit {
                scopes.push((*broker, Some(strategy), day));
            }
        }
        for (broker, strategy, day) in scopes {
            let scope = strategy.clone().unwrap_or_else(|| "*".into());
            let why = format!("loss/{day}/{scope}");
            for delivery in self.flatten(broker, strategy.as_deref(), &why, now) {
                actix::spawn(async move {
                    if let Err(e) = delivery.await {
                        tracing::warn!(error = %e, "a closing order sent at start was not delivered");
                    }
                });
            }
        }
    }
}

/// Applies one broker's history; answers how many validations, rejections, fills and
/// failures were read.
pub(crate) fn apply(
    book: &mut BrokerRisk,
    broker: Broker,
    history: &History,
) -> (usize, usize, usize, usize) {
    let on = |stream: Stream| {
        let topic = Topic::of(broker, stream).name();
        history.records.iter().filter(move |r| r.topic == topic)
    };
    let (validated, _) = decode_all::<ValidatedSignal>(on(Stream::SignalsValidated));
    for env in &validated {
        let order_id = client_order_id(env.id);
        book.record_validated(env.causation_id, order_id, &env.data.signal, env.ts);
    }
    let (rejected, _) = decode_all::<RejectedSignal>(on(Stream::SignalsRejected));
    for env in &rejected {
        if let Some(raw) = env.causation_id {
            book.record_rejected(raw, env.data.reasons.clone());
        }
    }
    let (fills, _) = decode_all::<OrderFilled>(on(Stream::OrdersFilled));
    for env in &fills {
        // Limits reached again while replaying were announced (and acted on) when they
        // were first reached; the state they set is the saved kill switch.
        let _ = book.on_fill(&env.data, env.ts);
    }
    let (failures, _) = decode_all::<OrderFailed>(on(Stream::OrdersFailed));
    for env in &failures {
        book.on_order_failed(&env.data);
    }
    (validated.len(), rejected.len(), fills.len(), failures.len())
}
