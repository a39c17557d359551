//! Publishing what an execution venue reports, shared by paper and Zerodha execution.
//!
//! Each [`VenueEvent`] becomes a child envelope of its cause (the validated signal, or
//! the tick that filled a resting paper order) on the broker's topic for its kind. The
//! child id is derived from the cause and a per-event discriminator — the client order
//! id for the submission, the fill id for a fill, `{client order id}/failed` for the
//! end — so publishing the same event again yields the same envelope id, which
//! downstream dedup absorbs.
//!
//! A first publication is logged and counted in the metrics; a republication of an event
//! already published ([`republish_venue_event`]: a redelivered signal found in the
//! journal) is neither, so `alpha_panda_fills_total` and its kin count distinct events.

use crate::messages::{Broker, Envelope, Payload, VenueEvent};
use crate::streaming::producer::PendingDelivery;
use crate::streaming::{ProducerHandle, Stream, Topic};
use crate::telemetry::metrics;
use chrono::{DateTime, Utc};

/// [`publish_venue_event`] or [`republish_venue_event`], for a caller that does either.
pub type VenuePublisher<C> =
    fn(&ProducerHandle, Broker, &str, &Envelope<C>, VenueEvent, DateTime<Utc>) -> PendingDelivery;

/// Publishes `event` as a child of `cause`, stamped `ts`; logs and counts it.
pub fn publish_venue_event<C: Payload>(
    producer: &ProducerHandle,
    broker: Broker,
    service: &str,
    cause: &Envelope<C>,
    event: VenueEvent,
    ts: DateTime<Utc>,
) -> PendingDelivery {
    announce(broker, cause, &event);
    republish_venue_event(producer, broker, service, cause, event, ts)
}

/// Publishes `event` again exactly as [`publish_venue_event`] did (same envelope id), with
/// no log line at INFO and no metric: it was counted when first published.
pub fn republish_venue_event<C: Payload>(
    producer: &ProducerHandle,
    broker: Broker,
    service: &str,
    cause: &Envelope<C>,
    event: VenueEvent,
    ts: DateTime<Utc>,
) -> PendingDelivery {
    match event {
        VenueEvent::Submitted(s) => {
            let id = s.order.client_order_id.clone();
            let env = cause.child(s, service, &id, ts);
            producer.publish_envelope(Topic::of(broker, Stream::OrdersSubmitted), &env)
        }
        VenueEvent::Filled(f) => {
            let id = f.fill_id.clone();
            let env = cause.child(f, service, &id, ts);
            producer.publish_envelope(Topic::of(broker, Stream::OrdersFilled), &env)
        }
        VenueEvent::Failed(f) => {
            let id = format!("{}/failed", f.order.client_order_id);
            let env = cause.child(f, service, &id, ts);
            producer.publish_envelope(Topic::of(broker, Stream::OrdersFailed), &env)
        }
    }
}

/// The log line and the metric of an event's first publication.
fn announce<C: Payload>(broker: Broker, cause: &Envelope<C>, event: &VenueEvent) {
    match event {
        VenueEvent::Submitted(s) => {
            tracing::info!(%broker, order = %s.order.client_order_id, broker_order = ?s.order.broker_order_id, strategy = %s.order.strategy_id, quantity = s.quantity, correlation_id = %cause.correlation_id, "order submitted");
            metrics::order_submitted(broker);
        }
        VenueEvent::Filled(f) => {
            tracing::info!(%broker, order = %f.order.client_order_id, strategy = %f.order.strategy_id, fill = %f.fill_id, quantity = f.quantity, price = %f.price, fees = %f.fees.total, correlation_id = %cause.correlation_id, "order filled");
            metrics::order_filled(broker);
        }
        VenueEvent::Failed(f) => {
            tracing::warn!(%broker, order = %f.order.client_order_id, kind = ?f.kind, detail = %f.message, correlation_id = %cause.correlation_id, "order failed");
            metrics::order_failed(broker, f.kind);
        }
    }
}
