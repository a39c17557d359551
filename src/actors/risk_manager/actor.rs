//! The actor shell around the per-broker risk books.

use super::persist::{self, Kind, Unsaved};
use super::recent::RecentIds;
use super::{SERVICE, TradingHolds};
use crate::messages::{
    Broker, Envelope, MarketTick, OrderFailed, OrderFilled, RejectedSignal, TradingSignal,
    ValidatedSignal,
};
use crate::risk::{BrokerRisk, MarketRules, RiskLimits, TradingState};
use crate::store::Store;
use crate::streaming::consumer::{Completion, Deliver, HandlerError, HandlerResult};
use crate::streaming::producer::PendingDelivery;
use crate::streaming::{ProducerHandle, Stream, Topic};
use crate::supervision::handling;
use crate::telemetry::metrics;
use actix::prelude::*;
use std::collections::BTreeMap;
use std::sync::Arc;
use uuid::Uuid;

pub struct RiskManager {
    limits: BTreeMap<Broker, RiskLimits>,
    /// The market's rules per broker (tick and lot sizes, the MIS entry cutoff); a broker
    /// without an entry has none. From configuration, applied again to a restored book.
    market: BTreeMap<Broker, MarketRules>,
    books: BTreeMap<Broker, BrokerRisk>,
    /// Fill ids already applied, per broker: a redelivered fill must not move a position
    /// twice. Saved with the book.
    applied: BTreeMap<Broker, RecentIds<String>>,
    /// Raw signals already validated, per broker: a redelivered one is published again as
    /// validated without counting twice toward the limits. Saved with the book.
    validated: BTreeMap<Broker, RecentIds<Uuid>>,
    /// The ids above not yet known to be in the store.
    unsaved: Unsaved,
    producer: ProducerHandle,
    store: Arc<dyn Store>,
    holds: TradingHolds,
}

crate::supervised!(RiskManager);

impl RiskManager {
    /// Books start empty and are replaced by the saved state when the actor starts.
    pub fn new(
        limits: BTreeMap<Broker, RiskLimits>,
        producer: ProducerHandle,
        store: Arc<dyn Store>,
    ) -> Self {
        let market = BTreeMap::new();
        RiskManager {
            books: fresh_books(&limits, &market),
            limits,
            market,
            applied: BTreeMap::new(),
            validated: BTreeMap::new(),
            unsaved: Unsaved::default(),
            producer,
            store,
            holds: TradingHolds::default(),
        }
    }

    /// Applies each broker's market rules (tick and lot sizes, the MIS entry cutoff) as
    /// well as its limits.
    pub fn with_market(mut self, market: BTreeMap<Broker, MarketRules>) -> Self {
        self.market = market;
        self.books = fresh_books(&self.limits, &self.market);
        self
    }

    /// Shares `holds` with the services that may hold a broker HALTED.
    pub fn with_holds(mut self, holds: TradingHolds) -> Self {
        self.holds = holds;
        self
    }

    /// Saves one broker's book with the ids it newly applied; the returned future is part
    /// of the record's completion.
    fn save(&self, broker: Broker) -> Option<PendingDelivery> {
        let book = self.books.get(&broker)?;
        match persist::save(&*self.store, &self.unsaved, &book.snapshot()) {
            Ok(write) => Some(crate::store::as_output(write)),
            Err(e) => {
                tracing::error!(%broker, error = %e, "risk state not serialisable; not saved");
                None
            }
        }
    }

    /// Installs what was read back for `broker`.
    fn restore(&mut self, broker: Broker, restored: persist::Restored) {
        let limits = self.limits.get(&broker).cloned().unwrap_or_default();
        let market = self.market.get(&broker).cloned().unwrap_or_default();
        self.books.insert(
            broker,
            BrokerRisk::restore(restored.snapshot, limits).with_market(market),
        );
        self.applied.insert(broker, restored.applied);
        self.validated.insert(broker, restored.validated);
        if restored.migrated {
            tracing::info!(%broker, "risk state restored and rewritten in the current format");
        } else {
            tracing::info!(%broker, "risk state restored");
        }
    }
}

/// A fresh book per broker with limits, under its market rules.
fn fresh_books(
    limits: &BTreeMap<Broker, RiskLimits>,
    market: &BTreeMap<Broker, MarketRules>,
) -> BTreeMap<Broker, BrokerRisk> {
    limits
        .iter()
        .map(|(b, l)| {
            let rules = market.get(b).cloned().unwrap_or_default();
            (*b, BrokerRisk::new(*b, l.clone()).with_market(rules))
        })
        .collect()
}

impl Actor for RiskManager {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        // Read the saved state back before handling anything (the mailbox waits). What
        // was not written before a restart is not in the store: forget it.
        self.unsaved.clear();
        let store = self.store.clone();
        let brokers: Vec<Broker> = self.limits.keys().copied().collect();
        let load = async move {
            let mut saved = Vec::new();
            for broker in brokers {
                saved.push((broker, persist::load(&*store, broker).await));
            }
            saved
        };
        ctx.wait(load.into_actor(self).map(|saved, act, ctx| {
            for (broker, result) in saved {
                match result {
                    Ok(Some(restored)) => act.restore(broker, restored),
                    Ok(None) => {}
                    Err(e @ persist::LoadError::Unreadable(_)) => {
                        tracing::error!(%broker, error = %e, "starting empty");
                    }
                    Err(e @ persist::LoadError::Store(_)) => {
                        // Trading on an empty book after a crash would forget positions.
                        crate::supervision::fail::<Self>(
                            ctx,
                            format!("cannot read risk state: {e}"),
                        );
                        return;
                    }
                }
            }
        }));
    }
}

impl Handler<Deliver<TradingSignal>> for RiskManager {
    type Result = HandlerResult;

    fn handle(&mut self, d: Deliver<TradingSignal>, _ctx: &mut Self::Context) -> HandlerResult {
        let _handling = handling::<Deliver<TradingSignal>>();
        let signal = &d.envelope.data;
        let broker = signal.broker;
        let Some(book) = self.books.get_mut(&broker) else {
            return Err(HandlerError::Permanent(format!(
                "no risk limits for broker {broker}"
            )));
        };
        let seen = self.validated.entry(broker).or_default();
        if seen.contains(&d.envelope.id) {
            // If its save failed (which is why it came again), this record saves it.
            let unsaved =
                self.unsaved
                    .contains(broker, Kind::Validated, &d.envelope.id.to_string());
            // Redelivered after it was validated (its outputs may not have got out):
            // publish the same validated event again; the limits already count it.
            let out = validated(&d.envelope);
            tracing::info!(%broker, strategy = %signal.strategy_id, correlation_id = %d.envelope.correlation_id, "signal already validated; published again");
            let publish = self
                .producer
                .publish_envelope(Topic::of(broker, Stream::SignalsValidated), &out);
            let save = unsaved.then(|| self.save(broker)).flatten();
            return Ok(Completion::after(
                std::iter::once(publish).chain(save).collect(),
            ));
        }
        book.set_hold(self.holds.reason(broker));
        let decision = book.check(signal, d.envelope.ts);
        if decision.is_ok() {
            seen.insert(d.envelope.id);
            self.unsaved
                .add(broker, Kind::Validated, d.envelope.id.to_string());
        }
        let delivery = match decision {
            Ok(()) => {
                let out = validated(&d.envelope);
                tracing::info!(%broker, strategy = %signal.strategy_id, correlation_id = %out.correlation_id, "signal validated");
                metrics::signal_validated(broker);
                self.producer
                    .publish_envelope(Topic::of(broker, Stream::SignalsValidated), &out)
            }
            Err(reasons) => {
                let codes: Vec<&str> = reasons.iter().map(|r| r.code.as_str()).collect();
                tracing::warn!(%broker, strategy = %signal.strategy_id, reasons = ?codes, correlation_id = %d.envelope.correlation_id, "signal rejected");
                for code in &codes {
                    metrics::signal_rejected(broker, code);
                }
                let out = d.envelope.child(
                    RejectedSignal {
                        signal: signal.clone(),
                        reasons,
                    },
                    SERVICE,
                    "",
                    d.envelope.ts,
                );
                self.producer
                    .publish_envelope(Topic::of(broker, Stream::SignalsRejected), &out)
            }
        };
        Ok(Completion::after(
            std::iter::once(delivery).chain(self.save(broker)).collect(),
        ))
    }
}

/// The validated event of a raw signal: the same id on every redelivery.
fn validated(signal: &Envelope<TradingSignal>) -> Envelope<ValidatedSignal> {
    signal.child(
        ValidatedSignal {
            signal: signal.data.clone(),
        },
        SERVICE,
        "",
        signal.ts,
    )
}

impl Handler<Deliver<MarketTick>> for RiskManager {
    type Result = HandlerResult;

    fn handle(&mut self, d: Deliver<MarketTick>, _ctx: &mut Self::Context) -> HandlerResult {
        let tick = &d.envelope.data;
        for book in self.books.values_mut() {
            book.on_tick(tick.token, tick.last_price);
        }
        // Last prices are not saved: the next tick restores them.
        Ok(Completion::done())
    }
}

impl Handler<Deliver<OrderFilled>> for RiskManager {
    type Result = HandlerResult;

    fn handle(&mut self, d: Deliver<OrderFilled>, _ctx: &mut Self::Context) -> HandlerResult {
        let _handling = handling::<Deliver<OrderFilled>>();
        let broker = d.envelope.data.order.broker;
        let Some(book) = self.books.get_mut(&broker) else {
            return Ok(Completion::done());
        };
        let fill_id = &d.envelope.data.fill_id;
        if !self
            .applied
            .entry(broker)
            .or_default()
            .insert(fill_id.clone())
        {
            // Redelivered: already counted. If its save failed, this record saves it.
            if self.unsaved.contains(broker, Kind::Fill, fill_id) {
                return Ok(Completion::after(self.save(broker).into_iter().collect()));
            }
            return Ok(Completion::done());
        }
        self.unsaved.add(broker, Kind::Fill, fill_id.clone());
        if let Some(breach) = book.on_fill(&d.envelope.data, d.envelope.ts) {
            tracing::error!(%broker, ?breach, "DAILY LOSS LIMIT breached: broker {broker} is HALTED; nothing trades until it is resumed");
        }
        Ok(Completion::after(self.save(broker).into_iter().collect()))
    }
}

impl Handler<Deliver<OrderFailed>> for RiskManager {
    type Result = HandlerResult;

    fn handle(&mut self, d: Deliver<OrderFailed>, _ctx: &mut Self::Context) -> HandlerResult {
        let broker = d.envelope.data.order.broker;
        if let Some(book) = self.books.get_mut(&broker) {
            book.on_order_failed(&d.envelope.data);
        }
        Ok(Completion::after(self.save(broker).into_iter().collect()))
    }
}

/// The kill switch: set a broker's trading state. Answers with the state now in force
/// (HALTED while a hold is on, whatever was set).
#[derive(Debug, Message)]
#[rtype(result = "Result<TradingState, String>")]
pub struct SetTradingState {
    pub broker: Broker,
    pub state: TradingState,
}

impl Handler<SetTradingState> for RiskManager {
    type Result = ResponseFuture<Result<TradingState, String>>;

    fn handle(&mut self, m: SetTradingState, _ctx: &mut Self::Context) -> Self::Result {
        let Some(book) = self.books.get_mut(&m.broker) else {
            let err = format!("no risk limits for broker {}", m.broker);
            return Box::pin(async move { Err(err) });
        };
        book.set_state(m.state);
        // The answer is the state in force: a hold (reconciliation, a refused Kite token)
        // keeps the broker HALTED whatever the kill switch says.
        book.set_hold(self.holds.reason(m.broker));
        let in_force = book.effective_state();
        tracing::warn!(broker = %m.broker, state = ?m.state, ?in_force, "trading state set");
        let save = self.save(m.broker);
        Box::pin(async move {
            if let Some(save) = save {
                save.await.map_err(|e| e.to_string())?;
            }
            Ok(in_force)
        })
    }
}

/// A broker's trading state in force now (HALTED while a hold is on).
#[derive(Debug, Message)]
#[rtype(result = "Option<TradingState>")]
pub struct GetTradingState(pub Broker);

impl Handler<GetTradingState> for RiskManager {
    type Result = Option<TradingState>;
    fn handle(&mut self, m: GetTradingState, _ctx: &mut Self::Context) -> Self::Result {
        let hold = self.holds.reason(m.0);
        self.books.get_mut(&m.0).map(|book| {
            book.set_hold(hold);
            book.effective_state()
        })
    }
}
