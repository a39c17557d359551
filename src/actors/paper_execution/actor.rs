//! The actor shell around the paper venue.

use super::SERVICE;
use super::restart::{self, JOURNAL_INDEX, TRIGGER_INDEX, journal_key, trigger_key};
use crate::actors::venue_events::{VenuePublisher, publish_venue_event, republish_venue_event};
use crate::market::{InstrumentRegistry, IntradayDay, MarketCalendar};
use crate::messages::{
    Broker, Envelope, MarketTick, OrderFailed, OrderType, Payload, ValidatedSignal, client_order_id,
};
use crate::paper::{
    JournalEntry, PaperConfig, PaperVenue, TriggerRecord, TriggeredStop, VenueEvent,
};
use crate::store::Store;
use crate::streaming::consumer::{Completion, Deliver, HandlerError, HandlerResult};
use crate::streaming::producer::{Delivered, PendingDelivery};
use crate::streaming::{KafkaConnection, ProducerHandle, Stream, Topic};
use crate::supervision::{HandlingFuture, fail, handling};
use crate::telemetry::metrics;
use actix::fut;
use actix::prelude::*;
use rust_decimal::Decimal;
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

#[derive(Clone)]
pub struct PaperExecutionArgs {
    pub config: PaperConfig,
    pub producer: ProducerHandle,
    /// Where each placement's events are journaled (the dedup claim on the signal).
    pub store: Arc<dyn Store>,
    /// The exchange calendar (`market_hours.holidays`): an order lives until the close of
    /// its trading day, so a holiday is not one.
    pub calendar: MarketCalendar,
    /// Where the venue is rebuilt from at start (the paper order topics, with the journal:
    /// see [`super::restart`]); `None`: start empty (the backtest, tests without a broker).
    pub history: Option<KafkaConnection>,
}

pub struct PaperExecution {
    args: PaperExecutionArgs,
    venue: PaperVenue,
    /// Signals waiting for the tick they were decided on, since their first arrival.
    waiting: HashMap<uuid::Uuid, Instant>,
    /// Placements of this life whose journal write failed before anything was published
    /// (the store may still have taken it): found journaled later, they are published
    /// for the first time, so counted.
    unpublished: std::collections::HashSet<String>,
    /// How often the wall clock advances the venue's clock ([`AdvanceClock`]); `None`: only
    /// ticks do (the backtest's event time).
    wall_clock: Option<Duration>,
}

/// Advances the venue's clock to `at` with no tick: orders past their session close or
/// their timeout end, and the broker's auto square-off runs if due. The daemon sends it
/// from the wall clock ([`PaperExecution::with_wall_clock`]), because the venue may see no
/// tick at the moment it matters (a quiet instrument, a feed down at 15:20); its events
/// are root envelopes with ids derived from the orders, and their publication is not
/// waited for (a failure is logged).
#[derive(Debug, Clone, Copy, Message)]
#[rtype(result = "()")]
pub struct AdvanceClock {
    pub at: chrono::DateTime<chrono::Utc>,
}

/// The venue's view of one strategy's account: its cash and its position in `token`.
#[derive(Debug, Clone, Message)]
#[rtype(result = "PaperAccount")]
pub struct GetPaperAccount {
    pub strategy: String,
    pub token: u32,
}

/// The answer to [`GetPaperAccount`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PaperAccount {
    /// Cash, rupees (the starting cash until the strategy first trades).
    pub cash: Decimal,
    /// Signed position in the instrument (negative when short).
    pub position: i64,
    /// Orders open at the venue, all strategies.
    pub open_orders: usize,
    /// Placements whose events the venue still keeps for a retry: not yet known published
    /// ([`PaperVenue::unpublished_placements`]).
    pub unpublished_placements: usize,
}

crate::supervised!(PaperExecution);

impl PaperExecution {
    pub fn new(args: PaperExecutionArgs) -> Self {
        PaperExecution {
            venue: PaperVenue::new(Broker::Paper, args.config.clone())
                .with_calendar(args.calendar.clone()),
            args,
            waiting: HashMap::new(),
            unpublished: std::collections::HashSet::new(),
            wall_clock: None,
        }
    }

    /// The venue models the broker's auto square-off of MIS positions on `day`
    /// (`market_hours.intraday_day()`; `None`: never).
    pub fn with_intraday(mut self, day: Option<IntradayDay>) -> Self {
        self.venue = self.venue.with_intraday(day);
        self
    }

    /// The venue knows `registry`'s instruments: prices on each one's tick grid, indices
    /// refused ([`PaperVenue::with_instruments`]).
    pub fn with_instruments(mut self, registry: &InstrumentRegistry) -> Self {
        self.venue = self.venue.with_instruments(registry);
        self
    }

    /// The venue knows `registry`'s futures and options, each underlying priced by the
    /// instrument `underlying_key` names (`FnoSettings::underlying_key`): F&O charges,
    /// products and expiry settlement ([`PaperVenue::with_derivatives`]).
    pub fn with_derivatives(
        mut self,
        registry: &InstrumentRegistry,
        underlying_key: impl Fn(&str) -> String,
    ) -> Self {
        self.venue = self.venue.with_derivatives(registry, underlying_key);
        self
    }

    /// MARKET orders are refused outside the normal session when `enforced`
    /// (`market_hours.enforce`; [`PaperVenue::with_market_hours`]).
    pub fn with_market_hours(mut self, enforced: bool) -> Self {
        self.venue = self.venue.with_market_hours(enforced);
        self
    }

    /// Every `every`, the wall clock advances the venue's clock ([`AdvanceClock`] at
    /// `Utc::now()`), besides the ticks; `None` (the default): ticks only. For the daemon,
    /// whose ticks are stamped with the wall clock anyway; never for the backtest, which
    /// runs in the ticks' event time.
    pub fn with_wall_clock(mut self, every: Option<Duration>) -> Self {
        self.wall_clock = every.filter(|e| !e.is_zero());
        self
    }

    /// Publishes what the venue's clock did at `at` with no tick to cause it: root
    /// envelopes whose ids derive from the event (so the same event published again has
    /// the same id). Their deliveries are not waited for (a failure is logged).
    fn publish_roots(&self, events: Vec<VenueEvent>, at: chrono::DateTime<chrono::Utc>) {
        for delivery in self.root_deliveries(events, at) {
            actix::spawn(async move {
                if let Err(e) = delivery.await {
                    tracing::warn!(error = %e, "a paper order event of the venue's clock was not delivered");
                }
            });
        }
    }

    /// Publishes `events` as root envelopes (see [`Self::publish_roots`]), logged and
    /// counted; the deliveries are the caller's to await.
    fn root_deliveries(
        &self,
        events: Vec<VenueEvent>,
        at: chrono::DateTime<chrono::Utc>,
    ) -> Vec<PendingDelivery> {
        events
            .into_iter()
            .map(|event| match event {
                VenueEvent::Submitted(s) => {
                    tracing::info!(order = %s.order.client_order_id, strategy = %s.order.strategy_id, quantity = s.quantity, "order submitted");
                    metrics::order_submitted(Broker::Paper);
                    let id = format!("submitted/{}", s.order.client_order_id);
                    self.publish_root(Stream::OrdersSubmitted, s, &id, at)
                }
                VenueEvent::Filled(f) => {
                    tracing::info!(order = %f.order.client_order_id, strategy = %f.order.strategy_id, fill = %f.fill_id, quantity = f.quantity, price = %f.price, fees = %f.fees.total, "order filled");
                    metrics::order_filled(Broker::Paper);
                    let id = format!("filled/{}", f.fill_id);
                    self.publish_root(Stream::OrdersFilled, f, &id, at)
                }
                VenueEvent::Failed(f) => {
                    tracing::warn!(order = %f.order.client_order_id, kind = ?f.kind, detail = %f.message, "order failed");
                    metrics::order_failed(Broker::Paper, f.kind);
                    let id = format!("failed/{}", f.order.client_order_id);
                    self.publish_root(Stream::OrdersFailed, f, &id, at)
                }
            })
            .collect()
    }

    fn publish_root<T: Payload>(
        &self,
        stream: Stream,
        data: T,
        discriminator: &str,
        at: chrono::DateTime<chrono::Utc>,
    ) -> PendingDelivery {
        let id = uuid::Uuid::new_v5(
            &uuid::Uuid::NAMESPACE_OID,
            format!("{SERVICE}/{discriminator}").as_bytes(),
        );
        let envelope = Envelope::root_with_id(data, SERVICE, at, id);
        self.args
            .producer
            .publish_envelope(Topic::of(Broker::Paper, stream), &envelope)
    }

    /// Publishes `events` as children of `cause`: logged and counted.
    fn publish<C: crate::messages::Payload>(
        &self,
        cause: &Envelope<C>,
        events: Vec<VenueEvent>,
    ) -> Vec<PendingDelivery> {
        self.publish_with(publish_venue_event, cause, events)
    }

    /// Publishes again what an earlier handling of `cause` published (not counted again).
    fn republish<C: crate::messages::Payload>(
        &self,
        cause: &Envelope<C>,
        events: Vec<VenueEvent>,
    ) -> Vec<PendingDelivery> {
        self.publish_with(republish_venue_event, cause, events)
    }

    fn publish_with<C: crate::messages::Payload>(
        &self,
        publisher: VenuePublisher<C>,
        cause: &Envelope<C>,
        events: Vec<VenueEvent>,
    ) -> Vec<PendingDelivery> {
        events
            .into_iter()
            .map(|event| {
                publisher(
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

    /// Before handling anything (the mailbox waits), with a broker to read: rebuilds the
    /// venue as the last life left it ([`super::restart`]) — the accounts from every fill
    /// on `paper.orders.filled`, so a sell the real position covers is not refused as a
    /// short; the open orders from the journal, the order topics and the trigger records,
    /// so they go on working on the next ticks. An open order that cannot be restored is
    /// ended as cancelled instead.
    ///
    /// With a wall clock, the clock sweep starts too (it waits for the rebuild, as the
    /// mailbox does).
    fn started(&mut self, ctx: &mut Self::Context) {
        if let Some(every) = self.wall_clock {
            ctx.run_interval(every, |act, ctx| {
                let now = chrono::Utc::now();
                if act.venue.wall_clock_agrees(now) {
                    ctx.notify(AdvanceClock { at: now });
                }
            });
        }
        let Some(connection) = self.args.history.clone() else {
            return;
        };
        let topics =
            tokio::task::spawn_blocking(move || restart::read_topics(&connection, HISTORY_TIMEOUT));
        let store = self.args.store.clone();
        let rebuild = topics
            .into_actor(self)
            .then(move |topics, act, _ctx| {
                restart::read_store(store)
                    .into_actor(act)
                    .map(move |recorded, _, _| (topics, recorded))
            })
            .map(|(topics, recorded), act, ctx| {
                let topics = match topics {
                    Ok(Ok(topics)) => topics,
                    Ok(Err(e)) => {
                        fail::<Self>(ctx, format!("restoring the paper venue: {e}"));
                        return None;
                    }
                    Err(e) => {
                        fail::<Self>(ctx, format!("restoring the paper venue: {e}"));
                        return None;
                    }
                };
                let recorded = match recorded {
                    Ok(recorded) => recorded,
                    Err(e) => {
                        fail::<Self>(ctx, format!("restoring the paper venue: {e}"));
                        return None;
                    }
                };
                let restored = restart::restore(&mut act.venue, &topics, &recorded);
                Some((
                    act.publish_unpublished(restored.unpublished),
                    restored.orphans,
                ))
            })
            // The last life's unpublished fills are acknowledged, then the orphans'
            // cancellations, before anything else is handled: an order's end never
            // precedes its fills on the topics. A delivery that fails fails the start
            // (the next one publishes them again, with the same ids).
            .then(|restored, act, _ctx| {
                let (fills, orphans) = restored.unzip();
                let fills = fills.unwrap_or_default();
                async move { futures::future::try_join_all(fills).await.map(|_| ()) }
                    .into_actor(act)
                    .map(move |delivered, _act, _ctx| {
                        delivered.map(|()| orphans.unwrap_or_default())
                    })
            })
            .then(|orphans, act, _ctx| {
                let cancels = match orphans {
                    Ok(orphans) => Ok(act.cancel_orphans(orphans)),
                    Err(e) => Err(e),
                };
                async move {
                    match cancels {
                        Ok(cancels) => futures::future::try_join_all(cancels).await.map(|_| ()),
                        Err(e) => Err(e),
                    }
                }
                .into_actor(act)
            })
            .map(|delivered, _act, ctx| {
                if let Err(e) = delivered {
                    fail::<Self>(
                        ctx,
                        format!(
                            "restoring the paper venue: publishing what the last life left: {e}"
                        ),
                    );
                }
            });
        ctx.wait(rebuild);
    }
}

impl PaperExecution {
    /// A signal is decided on a tick of its instrument, and the venue reads ticks on
    /// another topic: the signal can arrive first. Executing a market order then would use
    /// the quote before the one its strategy saw (a backtest never does), so while the
    /// venue's quote is older than such a signal, it is a transient failure the consumer retries
    /// moments later — for at most [`TICK_WAIT`] from its first arrival (inside the
    /// consumer's retry budget), after which it executes on the quote there is (the tick
    /// may never come: dead-lettered, or the feed stopped).
    fn tick_has_arrived(&mut self, signal: &Envelope<ValidatedSignal>) -> Result<(), HandlerError> {
        let token = signal.data.signal.token;
        let behind = signal.data.signal.order_type == OrderType::Market
            && self
                .venue
                .quoted_at(token)
                .is_some_and(|quoted| quoted < signal.ts);
        if !behind {
            self.waiting.remove(&signal.id);
            return Ok(());
        }
        let first = *self.waiting.entry(signal.id).or_insert_with(Instant::now);
        if first.elapsed() >= TICK_WAIT {
            self.waiting.remove(&signal.id);
            tracing::warn!(order = %client_order_id(signal.id), "the tick this signal was decided on never reached the paper venue; executing on the quote there is");
            return Ok(());
        }
        Err(HandlerError::Transient(format!(
            "the tick at {} this signal was decided on has not reached the paper venue yet",
            signal.ts
        )))
    }

    /// Publishes the fills the last life journaled but never got out, before anything else
    /// (a later failure of their order must not precede them): as the children of their
    /// validated signal they would have been (the same ids), or, for an entry written
    /// before the journal kept its cause, as root envelopes with ids derived from the fill.
    /// The deliveries are awaited by the start.
    fn publish_unpublished(&self, fills: Vec<restart::Unpublished>) -> Vec<PendingDelivery> {
        if fills.is_empty() {
            return Vec::new();
        }
        tracing::warn!(
            fills = fills.len(),
            "paper fills journaled by the last life but never published: published now"
        );
        let mut roots = Vec::new();
        let mut deliveries = Vec::new();
        for restart::Unpublished { fill, cause } in fills {
            let Some((lineage, ts)) = cause else {
                roots.push(VenueEvent::Filled(fill));
                continue;
            };
            metrics::order_filled(Broker::Paper);
            // As `publish_venue_event` would have: discriminated by the fill id, stamped
            // with the signal's time.
            let fill_id = fill.fill_id.clone();
            let envelope = Envelope::child_of(lineage, fill, SERVICE, &fill_id, ts);
            deliveries.push(
                self.args
                    .producer
                    .publish_envelope(Topic::of(Broker::Paper, Stream::OrdersFilled), &envelope),
            );
        }
        deliveries.extend(self.root_deliveries(roots, chrono::Utc::now()));
        deliveries
    }

    /// Publishes the cancellation of each order left open that could not be restored (ids
    /// derived from the order, so a second restart before they are read back publishes the
    /// same events again).
    fn cancel_orphans(&self, orphans: Vec<OrderFailed>) -> Vec<PendingDelivery> {
        if orphans.is_empty() {
            return Vec::new();
        }
        tracing::warn!(
            orders = orphans.len(),
            "paper orders open at the last stop that cannot be restored are cancelled"
        );
        let now = chrono::Utc::now();
        let mut deliveries = Vec::new();
        for orphan in orphans {
            let id = uuid::Uuid::new_v5(
                &uuid::Uuid::NAMESPACE_OID,
                orphan.order.client_order_id.as_bytes(),
            );
            tracing::warn!(order = %orphan.order.client_order_id, strategy = %orphan.order.strategy_id, filled = orphan.filled_quantity, detail = %orphan.message, "order failed: cancelled, not restorable at the restart");
            metrics::order_failed(Broker::Paper, orphan.kind);
            let envelope = Envelope::root_with_id(orphan, SERVICE, now, id);
            deliveries.push(
                self.args
                    .producer
                    .publish_envelope(Topic::of(Broker::Paper, Stream::OrdersFailed), &envelope),
            );
        }
        deliveries
    }
}

/// How often the daemon's wall clock advances the paper venue's clock
/// ([`PaperExecution::with_wall_clock`]): an order timeout or the broker's square-off is
/// then late by at most this much when no tick comes.
pub const WALL_CLOCK_SWEEP: Duration = Duration::from_secs(1);

/// How long a signal may wait for the tick it was decided on (see
/// [`PaperExecution::tick_has_arrived`]); below the consumer's default retry budget
/// (50 ms doubling, five attempts: about 1.5 s).
const TICK_WAIT: Duration = Duration::from_secs(1);

/// Longest wait for one metadata or fetch call of the rebuild.
const HISTORY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// Atomic: while a placement is journaled and published, the venue handles nothing else.
/// Ticks come from their own consumer, so without it a tick could end the order (a
/// square-off, a cancellation) and publish that end while the placement's fill still waits
/// for its journal write: an order's end before its fill on the topics (the accounting
/// e2e test caught it).
impl Handler<Deliver<ValidatedSignal>> for PaperExecution {
    type Result = AtomicResponse<Self, HandlerResult>;

    fn handle(&mut self, d: Deliver<ValidatedSignal>, _ctx: &mut Self::Context) -> Self::Result {
        if let Err(e) = self.tick_has_arrived(&d.envelope) {
            return AtomicResponse::new(Box::pin(fut::ready(Err(e))));
        }
        let order_id = client_order_id(d.envelope.id);
        let key = journal_key(&order_id);
        let lookup = self.args.store.get(&key);
        let fut = lookup.into_actor(self).then(move |found, act, ctx| {
            let journaled = match found {
                Err(e) => return fut::ready(Err(HandlerError::Unavailable(e.to_string()))).boxed_local(),
                Ok(found) => found,
            };
            if let Some(json) = journaled {
                // Placed before (in this life or an earlier one): publish exactly what that
                // placement produced again (same ids; downstream dedup absorbs them).
                let result = JournalEntry::from_json(&json)
                    .map_err(|e| HandlerError::Permanent(format!("journal entry {key} is unreadable: {e}")))
                    .map(|entry| {
                        act.venue.learn_placement(&entry);
                        let events = entry.events;
                        // A fill journaled by an earlier life whose publication never got
                        // out is not in the rebuilt accounts yet.
                        for event in &events {
                            if let VenueEvent::Filled(fill) = event {
                                act.venue.restore_fill(fill);
                            }
                        }
                        let deliveries = if act.unpublished.remove(&order_id) {
                            act.publish(&d.envelope, events)
                        } else {
                            tracing::info!(order = %order_id, republished = events.len(), "validated signal already executed");
                            act.republish(&d.envelope, events)
                        };
                        Completion::after(forget_once_delivered(ctx.address(), order_id, deliveries))
                    });
                return fut::ready(result).boxed_local();
            }
            // This life may have placed it already (and then failed to journal it): the
            // venue remembers; never place twice.
            let mut events = act.venue.replay(&order_id);
            let signal = &d.envelope.data.signal;
            if events.is_empty() {
                events = act.venue.submit(&order_id, signal, d.envelope.ts);
            }
            // The submission time goes with the events: a restart times the order from it;
            // and its product and contract: a restart books its fills as that product, and
            // settles them even when the day's master no longer lists the contract.
            let entry = JournalEntry {
                submitted_at: Some(d.envelope.ts),
                events,
                cause: Some(d.envelope.lineage()),
                product: act.venue.product_of(signal).ok(),
                contract: act.venue.contract(signal.token).cloned(),
            };
            let json = match entry.to_json() {
                Ok(json) => json,
                Err(e) => return fut::ready(Err(HandlerError::Permanent(e.to_string()))).boxed_local(),
            };
            // Journaled before anything is published: a restart then republishes exactly
            // these events instead of placing the order again on a fresh venue.
            let create = act.args.store.create(JOURNAL_INDEX, &key, json);
            create
                .into_actor(act)
                .map(move |created, act, ctx| match created {
                    Err(e) => {
                        act.unpublished.insert(order_id.clone());
                        Err(HandlerError::Unavailable(e.to_string()))
                    }
                    Ok(_) => {
                        let deliveries = act.publish(&d.envelope, entry.events);
                        Ok(Completion::after(forget_once_delivered(ctx.address(), order_id, deliveries)))
                    }
                })
                .boxed_local()
        });
        AtomicResponse::new(Box::pin(
            HandlingFuture::<Deliver<ValidatedSignal>, _>::new(fut),
        ))
    }
}

/// The events of the placement of `client_order_id` are published (journaled, every
/// delivery acknowledged): the venue lets them go ([`PaperVenue::published`]). Until then
/// it keeps them, so a retry after a failed journal write or publication answers exactly
/// the same events; after, a redelivery is answered from the journal, and the venue, which
/// still knows the id, never places the order again.
#[derive(Debug, Clone, Message)]
#[rtype(result = "()")]
struct Published {
    client_order_id: String,
}

impl Handler<Published> for PaperExecution {
    type Result = ();

    fn handle(&mut self, p: Published, _ctx: &mut Self::Context) {
        self.venue.published(&p.client_order_id);
    }
}

/// `deliveries`, each as it was; once the last of them is acknowledged, `paper` is told the
/// placement `client_order_id` is published ([`Published`]). A failed delivery tells
/// nothing: the record is retried and the venue still has the events.
fn forget_once_delivered(
    paper: Addr<PaperExecution>,
    client_order_id: String,
    deliveries: Vec<PendingDelivery>,
) -> Vec<PendingDelivery> {
    if deliveries.is_empty() {
        paper.do_send(Published { client_order_id });
        return deliveries;
    }
    let remaining = Arc::new(AtomicUsize::new(deliveries.len()));
    deliveries
        .into_iter()
        .map(|delivery| {
            let remaining = remaining.clone();
            let paper = paper.clone();
            let client_order_id = client_order_id.clone();
            Box::pin(async move {
                let delivered = delivery.await?;
                if remaining.fetch_sub(1, Ordering::AcqRel) == 1 {
                    paper.do_send(Published { client_order_id });
                }
                Ok(delivered)
            }) as PendingDelivery
        })
        .collect()
}

impl Handler<Deliver<MarketTick>> for PaperExecution {
    type Result = HandlerResult;

    /// Works the tick; its events are published, and the stops it triggered that stay open
    /// are recorded (so a restart restores them triggered) before the tick completes.
    fn handle(&mut self, d: Deliver<MarketTick>, _ctx: &mut Self::Context) -> HandlerResult {
        let _handling = handling::<Deliver<MarketTick>>();
        let events = self.venue.on_tick(&d.envelope.data, d.envelope.ts);
        let mut pending = self.publish(&d.envelope, events);
        pending.extend(
            self.venue
                .take_triggered()
                .into_iter()
                .map(|stop| self.record_trigger(stop)),
        );
        Ok(Completion::after(pending))
    }
}

impl PaperExecution {
    /// Records that `stop` triggered ([`TriggerRecord`] under [`TRIGGER_INDEX`]). A
    /// store that cannot take it is logged, not retried: the tick's fills are out, and
    /// re-working the tick would be worse than a stop restored untriggered after a restart
    /// (it triggers again when the last price crosses it).
    fn record_trigger(&self, stop: TriggeredStop) -> PendingDelivery {
        let key = trigger_key(&stop.client_order_id);
        let record = TriggerRecord {
            client_order_id: stop.client_order_id,
            triggered_at: stop.triggered_at,
        };
        let write = serde_json::to_string(&record)
            .map(|json| self.args.store.put(TRIGGER_INDEX, &key, json));
        Box::pin(async move {
            let outcome = match write {
                Ok(write) => write.await.map_err(|e| e.to_string()),
                Err(e) => Err(e.to_string()),
            };
            if let Err(e) = outcome {
                tracing::warn!(key = %key, error = %e, "a paper stop's trigger was not recorded");
            }
            Ok(Delivered {
                partition: 0,
                offset: 0,
            })
        })
    }
}

impl Handler<GetPaperAccount> for PaperExecution {
    type Result = MessageResult<GetPaperAccount>;

    fn handle(&mut self, q: GetPaperAccount, _ctx: &mut Self::Context) -> Self::Result {
        MessageResult(PaperAccount {
            cash: self.venue.cash(&q.strategy),
            position: self.venue.position(&q.strategy, q.token),
            open_orders: self.venue.open_orders(),
            unpublished_placements: self.venue.unpublished_placements(),
        })
    }
}

impl Handler<AdvanceClock> for PaperExecution {
    type Result = ();

    fn handle(&mut self, clock: AdvanceClock, _ctx: &mut Self::Context) {
        let events = self.venue.on_clock(clock.at);
        self.publish_roots(events, clock.at);
    }
}
