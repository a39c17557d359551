//! The actor shell around the paper venue.

use super::SERVICE;
use crate::actors::supervisor::{HandlingFuture, handling};
use crate::actors::venue_events::publish_venue_event;
use crate::messages::{Broker, Envelope, MarketTick, ValidatedSignal, client_order_id};
use crate::paper::{PaperConfig, PaperVenue, VenueEvent};
use crate::streaming::ProducerHandle;
use crate::streaming::consumer::{Completion, Deliver, HandlerError, HandlerResult};
use crate::streaming::dedup::{Claim, DedupStore};
use crate::streaming::producer::PendingDelivery;
use actix::prelude::*;
use std::sync::Arc;
use std::time::Duration;

#[derive(Clone)]
pub struct PaperExecutionArgs {
    pub config: PaperConfig,
    pub producer: ProducerHandle,
    pub dedup: Arc<dyn DedupStore>,
    pub dedup_ttl: Duration,
}

pub struct PaperExecution {
    args: PaperExecutionArgs,
    venue: PaperVenue,
}

crate::supervised!(PaperExecution);

impl PaperExecution {
    pub fn new(args: PaperExecutionArgs) -> Self {
        PaperExecution {
            venue: PaperVenue::new(Broker::Paper, args.config.clone()),
            args,
        }
    }

    fn publish<C: crate::messages::Payload>(
        &self,
        cause: &Envelope<C>,
        events: Vec<VenueEvent>,
    ) -> Vec<PendingDelivery> {
        events
            .into_iter()
            .map(|event| {
                publish_venue_event(
                    &self.args.producer,
                    Broker::Paper,
                    SERVICE,
                    cause,
                    event,
                    cause.ts,
                )
            })
            .collect()
    }
}

impl Actor for PaperExecution {
    type Context = Context<Self>;
}

impl Handler<Deliver<ValidatedSignal>> for PaperExecution {
    type Result = ResponseActFuture<Self, HandlerResult>;

    fn handle(&mut self, d: Deliver<ValidatedSignal>, _ctx: &mut Self::Context) -> Self::Result {
        let claim = self
            .args
            .dedup
            .claim(SERVICE, d.envelope.id, self.args.dedup_ttl);
        let fut = claim
            .into_actor(self)
            .map(move |claim, act, _ctx| match claim {
                Err(e) => Err(HandlerError::from(e)),
                Ok(Claim::Duplicate) => {
                    // Placed before: publish what that placement produced again (same
                    // envelope ids, so downstream dedup absorbs them) in case its first
                    // publication failed. Never place it twice.
                    let events = act.venue.replay(&client_order_id(d.envelope.id));
                    tracing::info!(signal = %d.envelope.id, republished = events.len(), "validated signal already executed");
                    Ok(Completion::after(act.publish(&d.envelope, events)))
                }
                Ok(Claim::First) => {
                    let order_id = client_order_id(d.envelope.id);
                    let events = act.venue.submit(&order_id, &d.envelope.data.signal, d.envelope.ts);
                    Ok(Completion::after(act.publish(&d.envelope, events)))
                }
            });
        Box::pin(HandlingFuture::<Deliver<ValidatedSignal>, _>::new(fut))
    }
}

impl Handler<Deliver<MarketTick>> for PaperExecution {
    type Result = HandlerResult;

    fn handle(&mut self, d: Deliver<MarketTick>, _ctx: &mut Self::Context) -> HandlerResult {
        let _handling = handling::<Deliver<MarketTick>>();
        let mut events = self.venue.on_tick(&d.envelope.data, d.envelope.ts);
        events.extend(self.venue.expire_day_orders(d.envelope.ts));
        Ok(Completion::after(self.publish(&d.envelope, events)))
    }
}
