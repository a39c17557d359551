//! The actor shell around the paper venue.

use super::SERVICE;
use crate::actors::venue_events::publish_venue_event;
use crate::market::MarketCalendar;
use crate::messages::{
    Broker, Envelope, MarketTick, OrderFilled, ValidatedSignal, client_order_id,
};
use crate::paper::{PaperConfig, PaperVenue, VenueEvent};
use crate::store::Store;
use crate::streaming::consumer::{Completion, Deliver, HandlerError, HandlerResult};
use crate::streaming::history::read_history;
use crate::streaming::producer::PendingDelivery;
use crate::streaming::{KafkaConnection, ProducerHandle, Stream, Topic};
use crate::supervision::{HandlingFuture, fail, handling};
use actix::fut;
use actix::prelude::*;
use std::sync::Arc;

#[derive(Clone)]
pub struct PaperExecutionArgs {
    pub config: PaperConfig,
    pub producer: ProducerHandle,
    /// Where each placement's events are journaled (the dedup claim on the signal).
    pub store: Arc<dyn Store>,
    /// The exchange calendar (`market_hours.holidays`): an order lives until the close of
    /// its trading day, so a holiday is not one.
    pub calendar: MarketCalendar,
    /// Where the venue's accounts are rebuilt from at start (`paper.orders.filled`);
    /// `None`: start empty (the backtest, tests without a broker).
    pub history: Option<KafkaConnection>,
}

pub struct PaperExecution {
    args: PaperExecutionArgs,
    venue: PaperVenue,
}

crate::supervised!(PaperExecution);

impl PaperExecution {
    pub fn new(args: PaperExecutionArgs) -> Self {
        PaperExecution {
            venue: PaperVenue::new(Broker::Paper, args.config.clone())
                .with_calendar(args.calendar.clone()),
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

    /// Rebuilds the accounts (positions and cash per strategy) from every fill on
    /// `paper.orders.filled` before handling anything (the mailbox waits): the venue of a
    /// new life must refuse a sell as a short only when the real position does not cover
    /// it. Orders that were resting when the last life ended are not restored.
    fn started(&mut self, ctx: &mut Self::Context) {
        let Some(connection) = self.args.history.clone() else {
            return;
        };
        let topic = Topic::of(Broker::Paper, Stream::OrdersFilled).name();
        let read = tokio::task::spawn_blocking(move || {
            read_history::<OrderFilled>(&connection, &topic, HISTORY_TIMEOUT)
        });
        ctx.wait(read.into_actor(self).map(|result, act, ctx| {
            match result
                .map_err(|e| e.to_string())
                .and_then(|r| r.map_err(|e| e.to_string()))
            {
                Ok((fills, _)) => {
                    let booked = fills
                        .iter()
                        .filter(|f| act.venue.restore_fill(&f.data))
                        .count();
                    tracing::info!(
                        fills = booked,
                        "paper venue accounts rebuilt from its fills"
                    );
                }
                Err(e) => fail::<Self>(ctx, format!("rebuilding the paper accounts: {e}")),
            }
        }));
    }
}

/// Longest wait for one metadata or fetch call of the rebuild.
const HISTORY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

impl Handler<Deliver<ValidatedSignal>> for PaperExecution {
    type Result = ResponseActFuture<Self, HandlerResult>;

    fn handle(&mut self, d: Deliver<ValidatedSignal>, _ctx: &mut Self::Context) -> Self::Result {
        let order_id = client_order_id(d.envelope.id);
        let key = journal_key(&order_id);
        let lookup = self.args.store.get(&key);
        let fut = lookup.into_actor(self).then(move |found, act, _ctx| {
            let journaled = match found {
                Err(e) => return fut::ready(Err(HandlerError::Transient(e.to_string()))).boxed_local(),
                Ok(found) => found,
            };
            if let Some(json) = journaled {
                // Placed before (in this life or an earlier one): publish exactly what that
                // placement produced again (same ids; downstream dedup absorbs them).
                let result = serde_json::from_str::<Vec<VenueEvent>>(&json)
                    .map_err(|e| HandlerError::Permanent(format!("journal entry {key} is unreadable: {e}")))
                    .map(|events| {
                        // A fill journaled by an earlier life whose publication never got
                        // out is not in the rebuilt accounts yet.
                        for event in &events {
                            if let VenueEvent::Filled(fill) = event {
                                act.venue.restore_fill(fill);
                            }
                        }
                        tracing::info!(order = %order_id, republished = events.len(), "validated signal already executed");
                        Completion::after(act.publish(&d.envelope, events))
                    });
                return fut::ready(result).boxed_local();
            }
            // This life may have placed it already (and then failed to journal it): the
            // venue remembers; never place twice.
            let mut events = act.venue.replay(&order_id);
            if events.is_empty() {
                events = act.venue.submit(&order_id, &d.envelope.data.signal, d.envelope.ts);
            }
            let json = match serde_json::to_string(&events) {
                Ok(json) => json,
                Err(e) => return fut::ready(Err(HandlerError::Permanent(e.to_string()))).boxed_local(),
            };
            // Journaled before anything is published: a restart then republishes exactly
            // these events instead of placing the order again on a fresh venue.
            let create = act.args.store.create(JOURNAL_INDEX, &key, json);
            create
                .into_actor(act)
                .map(move |created, act, _ctx| match created {
                    Err(e) => Err(HandlerError::Transient(e.to_string())),
                    Ok(_) => Ok(Completion::after(act.publish(&d.envelope, events))),
                })
                .boxed_local()
        });
        Box::pin(HandlingFuture::<Deliver<ValidatedSignal>, _>::new(fut))
    }
}

/// The store index of paper placements.
pub const JOURNAL_INDEX: &str = "paper:orders";

/// The store key of the journal entry of `client_order_id`: the events its placement
/// produced.
pub fn journal_key(client_order_id: &str) -> String {
    format!("paper:order:{client_order_id}")
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
