//! The event hub: the API's view of the pipeline. It consumes every broker's signals and
//! order events (its own consumer group per process, `{group_prefix}.event_hub.{instance}`,
//! so each API instance sees everything), keeps the latest state of recent orders
//! ([`RecentOrders`]) for `GET /api/v1/orders`, and broadcasts each event to the
//! server-sent-events stream `GET /api/v1/events`. It has no side effects: an event no
//! one listens to is simply dropped.

mod recent;

pub use recent::{KEPT_PER_BROKER, OrderView, RecentOrders};

use crate::messages::{
    Broker, Envelope, OrderFailed, OrderFilled, OrderSubmitted, Payload, RejectedSignal,
    TradingSignal, ValidatedSignal,
};
use crate::streaming::consumer::{Completion, Deliver, HandlerResult, Routes};
use crate::streaming::{Stream, Topic};
use actix::prelude::*;
use serde::{Deserialize, Serialize};
use std::sync::{Arc, Mutex, PoisonError};
use tokio::sync::broadcast;
use uuid::Uuid;

/// A live pipeline event for `GET /api/v1/events`, sent as `event: {kind}` with the whole
/// event as JSON in `data:`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApiEvent {
    /// `signal`, `order_submitted`, `order_filled`, `order_failed`, ...: the SSE event name.
    pub kind: String,
    /// The broker namespace, if the event has one.
    pub broker: Option<Broker>,
    /// The correlation id of the pipeline run it belongs to.
    pub correlation_id: Option<Uuid>,
    /// The payload.
    pub data: serde_json::Value,
}

pub const SERVICE: &str = "event_hub";

/// Shared with the API: recent orders, read on each request.
pub type SharedOrders = Arc<Mutex<RecentOrders>>;

/// Reads the recent orders (a poisoned lock still holds valid views).
pub fn list_orders(orders: &SharedOrders, broker: Option<Broker>, limit: usize) -> Vec<OrderView> {
    orders
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .list(broker, limit)
}

pub struct EventHub {
    events: broadcast::Sender<ApiEvent>,
    orders: SharedOrders,
}

crate::supervised!(EventHub);

impl EventHub {
    pub fn new(events: broadcast::Sender<ApiEvent>, orders: SharedOrders) -> Self {
        EventHub { events, orders }
    }

    fn emit<T: Payload + serde::Serialize>(&self, kind: &str, envelope: &Envelope<T>) {
        if self.events.receiver_count() == 0 {
            return;
        }
        let event = ApiEvent {
            kind: kind.to_owned(),
            broker: envelope.broker,
            correlation_id: Some(envelope.correlation_id),
            data: serde_json::to_value(&envelope.data).unwrap_or_default(),
        };
        // No subscriber left is not an error: the event is for whoever listens.
        let _ = self.events.send(event);
    }

    fn orders(&self) -> std::sync::MutexGuard<'_, RecentOrders> {
        self.orders.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Actor for EventHub {
    type Context = Context<Self>;
}

/// The kinds of event the hub relays, as `GET /api/v1/events?kinds=` names them.
pub mod kind {
    pub const SIGNAL: &str = "signal";
    pub const SIGNAL_VALIDATED: &str = "signal_validated";
    pub const SIGNAL_REJECTED: &str = "signal_rejected";
    pub const ORDER_SUBMITTED: &str = "order_submitted";
    pub const ORDER_FILLED: &str = "order_filled";
    pub const ORDER_FAILED: &str = "order_failed";
}

/// Every kind the hub relays (one `relay!` below each): the one list.
pub const KINDS: [&str; 6] = [
    kind::SIGNAL,
    kind::SIGNAL_VALIDATED,
    kind::SIGNAL_REJECTED,
    kind::ORDER_SUBMITTED,
    kind::ORDER_FILLED,
    kind::ORDER_FAILED,
];

macro_rules! relay {
    ($payload:ty, $kind:expr) => {
        impl Handler<Deliver<$payload>> for EventHub {
            type Result = HandlerResult;

            fn handle(&mut self, d: Deliver<$payload>, _ctx: &mut Self::Context) -> HandlerResult {
                self.emit($kind, &d.envelope);
                Ok(Completion::done())
            }
        }
    };
    ($payload:ty, $kind:expr, |$hub:ident, $env:ident| $record:expr) => {
        impl Handler<Deliver<$payload>> for EventHub {
            type Result = HandlerResult;

            fn handle(&mut self, d: Deliver<$payload>, _ctx: &mut Self::Context) -> HandlerResult {
                let ($hub, $env) = (&*self, &d.envelope);
                $record;
                self.emit($kind, &d.envelope);
                Ok(Completion::done())
            }
        }
    };
}

relay!(TradingSignal, kind::SIGNAL);
relay!(ValidatedSignal, kind::SIGNAL_VALIDATED);
relay!(RejectedSignal, kind::SIGNAL_REJECTED);
relay!(OrderSubmitted, kind::ORDER_SUBMITTED, |hub, env| hub
    .orders()
    .submitted(&env.data, env.ts));
relay!(OrderFilled, kind::ORDER_FILLED, |hub, env| hub
    .orders()
    .filled(&env.data, env.ts));
relay!(OrderFailed, kind::ORDER_FAILED, |hub, env| hub
    .orders()
    .failed(&env.data, env.ts));

/// The hub's routing table: signals and order events of every broker.
pub fn routes(hub: &Addr<EventHub>, brokers: &[Broker]) -> Routes {
    let mut routes = Routes::new();
    for b in brokers {
        routes = routes
            .route::<TradingSignal>(Topic::of(*b, Stream::SignalsRaw), hub.clone().recipient())
            .route::<ValidatedSignal>(
                Topic::of(*b, Stream::SignalsValidated),
                hub.clone().recipient(),
            )
            .route::<RejectedSignal>(
                Topic::of(*b, Stream::SignalsRejected),
                hub.clone().recipient(),
            )
            .route::<OrderSubmitted>(
                Topic::of(*b, Stream::OrdersSubmitted),
                hub.clone().recipient(),
            )
            .route::<OrderFilled>(Topic::of(*b, Stream::OrdersFilled), hub.clone().recipient())
            .route::<OrderFailed>(Topic::of(*b, Stream::OrdersFailed), hub.clone().recipient());
    }
    routes
}
