//! What happened to the runner's orders: risk rejections, venue acknowledgements, fills
//! and failures, applied to the slot's ledger and announced to its strategy.

use super::StrategyRunner;
use super::actor::{Call, Running};
use crate::messages::{Broker, OrderFailed, OrderFilled, OrderSubmitted, RejectedSignal};
use crate::strategy::OrderEnded;
use crate::streaming::consumer::{Completion, Deliver, HandlerResult, Routes};
use crate::streaming::{Stream, Topic};
use crate::supervision::handling;
use actix::prelude::*;
use chrono::{DateTime, Utc};

/// The outcome topics of every broker in `brokers`, routed to the runner: what the tail
/// follows in the daemon and what the backtest delivers in-process.
pub fn outcome_routes(runner: &Addr<StrategyRunner>, brokers: &[Broker]) -> Routes {
    let mut routes = Routes::new();
    for b in brokers {
        routes = routes
            .route::<RejectedSignal>(
                Topic::of(*b, Stream::SignalsRejected),
                runner.clone().recipient(),
            )
            .route::<OrderSubmitted>(
                Topic::of(*b, Stream::OrdersSubmitted),
                runner.clone().recipient(),
            )
            .route::<OrderFilled>(
                Topic::of(*b, Stream::OrdersFilled),
                runner.clone().recipient(),
            )
            .route::<OrderFailed>(
                Topic::of(*b, Stream::OrdersFailed),
                runner.clone().recipient(),
            );
    }
    routes
}

impl Running {
    /// Tells the strategy an order ended (its ledger already says so).
    pub(super) fn notify_ended(&mut self, ended: &OrderEnded, at: DateTime<Utc>) {
        self.square_off
            .ended(&ended.order.client_order_id, ended.token, at);
        if self.disabled.is_some() {
            return;
        }
        let (id, broker) = (&self.slot.id, self.slot.broker);
        tracing::info!(strategy = %id, %broker, order = %ended.order.client_order_id, kind = ?ended.kind, detail = %ended.message, "order ended without a full fill");
        self.guarded(Call::Notice, at, ended.token, |strategy, ctx| {
            strategy.on_order_ended(ended, ctx);
            Ok(())
        });
    }

    pub(super) fn apply_fill(&mut self, fill: &OrderFilled) {
        let Some(applied) = self.ledger.filled(fill) else {
            return;
        };
        let id = &fill.order.client_order_id;
        self.square_off.filled(id, applied.token, applied.completed);
        if self.disabled.is_some() {
            return;
        }
        self.guarded(
            Call::Notice,
            fill.filled_at,
            fill.order.token,
            |strategy, ctx| {
                strategy.on_fill(fill, ctx);
                Ok(())
            },
        );
    }

    pub(super) fn apply_failure(&mut self, failed: &OrderFailed, at: DateTime<Utc>) {
        if let Some(ended) = self.ledger.failed(failed) {
            self.notify_ended(&ended, at);
        }
    }

    pub(super) fn apply_rejection(
        &mut self,
        signal_id: uuid::Uuid,
        rejected: &RejectedSignal,
        at: DateTime<Utc>,
    ) {
        let codes = rejected.reasons.iter().map(|r| r.code).collect();
        let message = rejected
            .reasons
            .iter()
            .map(|r| r.message.as_str())
            .collect::<Vec<_>>()
            .join("; ");
        if let Some(ended) = self.ledger.rejected(signal_id, codes, message) {
            self.notify_ended(&ended, at);
        }
    }
}

impl StrategyRunner {
    pub(super) fn slot_mut(&mut self, strategy: &str, broker: Broker) -> Option<&mut Running> {
        let i = *self.by_key.get(&(strategy.to_owned(), broker))?;
        self.running.get_mut(i)
    }
}

impl Handler<Deliver<RejectedSignal>> for StrategyRunner {
    type Result = HandlerResult;

    fn handle(&mut self, d: Deliver<RejectedSignal>, _ctx: &mut Self::Context) -> HandlerResult {
        let _handling = handling::<Deliver<RejectedSignal>>();
        let signal = &d.envelope.data.signal;
        if let (Some(signal_id), Some(run)) = (
            d.envelope.causation_id,
            self.slot_mut(&signal.strategy_id, signal.broker),
        ) {
            run.apply_rejection(signal_id, &d.envelope.data, d.envelope.ts);
        }
        let deliveries = self.publish_subscriptions(Some(d.envelope.lineage()), d.envelope.ts);
        Ok(Completion::after(deliveries))
    }
}

impl Handler<Deliver<OrderSubmitted>> for StrategyRunner {
    type Result = HandlerResult;

    fn handle(&mut self, d: Deliver<OrderSubmitted>, _ctx: &mut Self::Context) -> HandlerResult {
        let _handling = handling::<Deliver<OrderSubmitted>>();
        let order = &d.envelope.data.order;
        if let Some(run) = self.slot_mut(&order.strategy_id, order.broker) {
            run.ledger.acknowledged(&order.client_order_id);
        }
        Ok(Completion::done())
    }
}

impl Handler<Deliver<OrderFilled>> for StrategyRunner {
    type Result = HandlerResult;

    fn handle(&mut self, d: Deliver<OrderFilled>, _ctx: &mut Self::Context) -> HandlerResult {
        let _handling = handling::<Deliver<OrderFilled>>();
        let fill = &d.envelope.data;
        if let Some(run) = self.slot_mut(&fill.order.strategy_id, fill.order.broker) {
            run.apply_fill(fill);
        }
        let deliveries = self.publish_subscriptions(Some(d.envelope.lineage()), d.envelope.ts);
        Ok(Completion::after(deliveries))
    }
}

impl Handler<Deliver<OrderFailed>> for StrategyRunner {
    type Result = HandlerResult;

    fn handle(&mut self, d: Deliver<OrderFailed>, _ctx: &mut Self::Context) -> HandlerResult {
        let _handling = handling::<Deliver<OrderFailed>>();
        let failed = &d.envelope.data;
        if let Some(run) = self.slot_mut(&failed.order.strategy_id, failed.order.broker) {
            run.apply_failure(failed, d.envelope.ts);
        }
        let deliveries = self.publish_subscriptions(Some(d.envelope.lineage()), d.envelope.ts);
        Ok(Completion::after(deliveries))
    }
}
