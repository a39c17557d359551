//! The actor shell around the per-broker risk books.

use super::persist::{self, LoadError};
use super::{SERVICE, TradingHolds};
use crate::alerts::{self, Alert, AlertKind};
use crate::messages::{
    Broker, Envelope, MarketTick, OrderFailed, OrderFilled, RejectedSignal, TradingSignal,
    ValidatedSignal, client_order_id,
};
use crate::risk::{BrokerRisk, LossLimitBreach, MarketRules, RiskLimits, RiskView, TradingState};
use crate::store::Store;
use crate::streaming::consumer::{Completion, Deliver, HandlerError, HandlerResult};
use crate::streaming::producer::PendingDelivery;
use crate::streaming::{KafkaConnection, ProducerHandle, Stream, Topic};
use crate::supervision::handling;
use crate::telemetry::metrics;
use actix::prelude::*;
use chrono::{DateTime, Utc};
use std::collections::BTreeMap;
use std::sync::Arc;
use uuid::Uuid;

pub struct RiskManager {
    pub(super) limits: BTreeMap<Broker, RiskLimits>,
    /// The market's rules per broker (tick and lot sizes, freeze quantities, the MIS entry
    /// cutoff); a broker without an entry has none.
    pub(super) market: BTreeMap<Broker, MarketRules>,
    pub(super) books: BTreeMap<Broker, BrokerRisk>,
    producer: ProducerHandle,
    store: Arc<dyn Store>,
    holds: TradingHolds,
    /// Where the books are rebuilt from at start; `None`: they start empty (the backtest,
    /// tests without a broker).
    pub(super) history: Option<KafkaConnection>,
    /// When each instrument's last tick was stamped: a closing order is stamped no later
    /// than its instrument's last tick, so the venue, which holds a market order back
    /// until it has the tick the order was decided on, does not wait for a tick of an
    /// instrument that another instrument's tick (or a fill) made the risk manager close.
    tick_times: std::collections::HashMap<u32, DateTime<Utc>>,
}

crate::supervised!(RiskManager);

impl RiskManager {
    /// Books start empty; at start the kill switches are read from the store and, with a
    /// history ([`Self::with_history`]), everything else is rebuilt from the topics.
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
            producer,
            store,
            holds: TradingHolds::default(),
            history: None,
            tick_times: std::collections::HashMap::new(),
        }
    }

    /// Applies each broker's market rules (tick and lot sizes, freeze quantities, the MIS
    /// entry cutoff) as well as its limits.
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

    /// Rebuilds the books from the topics of `connection` at start.
    pub fn with_history(mut self, connection: Option<KafkaConnection>) -> Self {
        self.history = connection;
        self
    }

    /// Shows each broker's state in force in `alpha_panda_trading_state`, with the holds
    /// as they are now. Called wherever the kill switch or a loss limit may change it, and
    /// every [`STATE_REFRESH`] for the holds, which other services set and lift.
    fn show_trading_states(&mut self) {
        for (broker, book) in &mut self.books {
            book.set_hold(self.holds.reason(*broker));
            metrics::trading_state(*broker, book.effective_state());
        }
    }

    /// Saves one broker's kill switch; the returned future is part of the record's
    /// completion.
    fn save(&self, broker: Broker) -> Option<PendingDelivery> {
        let book = self.books.get(&broker)?;
        Some(crate::store::as_output(persist::save(
            &*self.store,
            broker,
            book.state(),
        )))
    }

    /// Announces what the loss limits did and acts on it: the new state saved, and with
    /// `on_loss_limit = "flatten"` the scope's positions closed.
    fn on_breaches(
        &mut self,
        broker: Broker,
        breaches: Vec<LossLimitBreach>,
        at: DateTime<Utc>,
    ) -> Vec<PendingDelivery> {
        let mut out = Vec::new();
        for breach in breaches {
            tracing::error!(%broker, strategy = breach.strategy.as_deref().unwrap_or(""), "DAILY LOSS LIMIT reached: {breach}; only reducing orders pass until the next day");
            let scope = breach.strategy.as_deref().unwrap_or("broker");
            alerts::raise(
                Alert::new(
                    AlertKind::LossLimit,
                    scope,
                    format!("daily loss limit reached: {breach}"),
                )
                .on(broker),
            );
            if breach.state != breach.previous_state {
                out.extend(self.save(broker));
                self.show_trading_states();
                state_alert(
                    broker,
                    breach.state,
                    "loss_limit",
                    &format!(
                        "the broker's daily loss limit moved it to {}: only reducing orders pass until the next day",
                        breach.state
                    ),
                );
            }
            let flattens = self
                .books
                .get(&broker)
                .is_some_and(|b| b.flattens_on_loss());
            if flattens {
                let scope = breach.strategy.clone().unwrap_or_else(|| "*".into());
                let why = format!("loss/{}/{scope}", breach.day);
                out.extend(self.flatten(broker, breach.strategy.as_deref(), &why, at));
            }
        }
        out
    }

    /// Sends market orders closing every open position of `strategy` (every strategy's with
    /// `None`) on `broker`, less what is already in flight toward closing. They are the
    /// risk manager's own orders: validated here (they only reduce), published on
    /// `{broker}.signals.validated` with ids derived from `why`, the position and its size,
    /// and in flight from now on.
    pub(super) fn flatten(
        &mut self,
        broker: Broker,
        strategy: Option<&str>,
        why: &str,
        at: DateTime<Utc>,
    ) -> Vec<PendingDelivery> {
        let Some(book) = self.books.get_mut(&broker) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for signal in book.closing_orders(strategy) {
            let at = self
                .tick_times
                .get(&signal.token)
                .map_or(at, |ticked| (*ticked).min(at));
            let id = Uuid::new_v5(
                &Uuid::NAMESPACE_OID,
                format!(
                    "{SERVICE}/flatten/{broker}/{why}/{}/{}/{}",
                    signal.strategy_id, signal.token, signal.position
                )
                .as_bytes(),
            );
            let order_id = client_order_id(id);
            tracing::warn!(%broker, strategy = %signal.strategy_id, token = signal.token, side = ?signal.side, quantity = signal.quantity, order = %order_id, "flattening: closing order sent");
            book.record_validated(None, order_id, &signal, at);
            let envelope = Envelope::root_with_id(ValidatedSignal { signal }, SERVICE, at, id);
            out.push(
                self.producer
                    .publish_envelope(Topic::of(broker, Stream::SignalsValidated), &envelope),
            );
        }
        out
    }
}

/// Raises `trading_halted` or `trading_reducing` for `broker` now in `state` (nothing for
/// ACTIVE: resuming is the operator's own act). `cause` is the subject, so a halt by the
/// kill switch and one by the loss limit are told apart.
fn state_alert(broker: Broker, state: TradingState, cause: &str, message: &str) {
    let kind = match state {
        TradingState::Halted => AlertKind::TradingHalted,
        TradingState::Reducing => AlertKind::TradingReducing,
        TradingState::Active => return,
    };
    alerts::raise(Alert::new(kind, cause, format!("{broker} {state}: {message}")).on(broker));
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

    /// Before handling anything (the mailbox waits): each broker's kill switch read from
    /// the store, then the books rebuilt from the topics (see `rebuild`).
    fn started(&mut self, ctx: &mut Self::Context) {
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
                let Some(book) = act.books.get_mut(&broker) else {
                    continue;
                };
                match result {
                    Ok(Some(state)) => {
                        book.set_state(state);
                        tracing::info!(%broker, %state, "trading state read back");
                    }
                    Ok(None) => {}
                    Err(e @ LoadError::Unreadable(_)) => {
                        tracing::error!(%broker, error = %e, "starting HALTED: resume once checked");
                        book.set_state(TradingState::Halted);
                        state_alert(
                            broker,
                            TradingState::Halted,
                            "state_unreadable",
                            &format!("started HALTED: the saved trading state is unreadable ({e}); check it, then resume"),
                        );
                    }
                    Err(e @ LoadError::Store(_)) => {
                        // Trading with a forgotten HALT would override the operator.
                        crate::supervision::fail::<Self>(
                            ctx,
                            format!("cannot read risk state: {e}"),
                        );
                        return;
                    }
                }
            }
            act.show_trading_states();
            ctx.run_interval(STATE_REFRESH, |act, _ctx| act.show_trading_states());
            act.rebuild(ctx);
        }));
    }
}

/// How often the trading-state gauge picks up holds set or lifted by other services (the
/// risk manager learns of a hold only when it looks; a second is fresh enough for a board).
const STATE_REFRESH: std::time::Duration = std::time::Duration::from_secs(1);

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
        // Decided before (in this life, or read back from the topics): the same verdict
        // again, counted once; its outputs may not have got out.
        let repeat = book.verdict(&d.envelope.id).is_some();
        book.set_hold(self.holds.reason(broker));
        let decision = book.check(d.envelope.id, signal, d.envelope.ts);
        let delivery = match decision {
            Ok(()) => {
                let out = validated(&d.envelope);
                if repeat {
                    tracing::info!(%broker, strategy = %signal.strategy_id, correlation_id = %out.correlation_id, "signal already validated; published again");
                } else {
                    tracing::info!(%broker, strategy = %signal.strategy_id, correlation_id = %out.correlation_id, "signal validated");
                    metrics::signal_validated(broker);
                }
                self.producer
                    .publish_envelope(Topic::of(broker, Stream::SignalsValidated), &out)
            }
            Err(reasons) => {
                let codes: Vec<&str> = reasons.iter().map(|r| r.code.as_str()).collect();
                if repeat {
                    tracing::info!(%broker, strategy = %signal.strategy_id, reasons = ?codes, correlation_id = %d.envelope.correlation_id, "signal already rejected; published again");
                } else {
                    tracing::warn!(%broker, strategy = %signal.strategy_id, reasons = ?codes, correlation_id = %d.envelope.correlation_id, "signal rejected");
                    for code in &codes {
                        metrics::signal_rejected(broker, code);
                    }
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
        Ok(Completion::after(vec![delivery]))
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
        self.tick_times.insert(tick.token, d.envelope.ts);
        let mut breached = Vec::new();
        for (broker, book) in &mut self.books {
            let breaches = book.on_tick(tick.token, tick.last_price);
            if !breaches.is_empty() {
                breached.push((*broker, breaches));
            }
        }
        let mut out = Vec::new();
        for (broker, breaches) in breached {
            out.extend(self.on_breaches(broker, breaches, d.envelope.ts));
        }
        Ok(Completion::after(out))
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
        // A redelivered fill (same `fill_id`) changes nothing.
        let breaches = book.on_fill(&d.envelope.data, d.envelope.ts);
        Ok(Completion::after(self.on_breaches(
            broker,
            breaches,
            d.envelope.ts,
        )))
    }
}

impl Handler<Deliver<OrderFailed>> for RiskManager {
    type Result = HandlerResult;

    fn handle(&mut self, d: Deliver<OrderFailed>, _ctx: &mut Self::Context) -> HandlerResult {
        let broker = d.envelope.data.order.broker;
        if let Some(book) = self.books.get_mut(&broker) {
            book.on_order_failed(&d.envelope.data);
        }
        Ok(Completion::done())
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
        let before = book.state();
        book.set_state(m.state);
        if m.state != before {
            state_alert(
                m.broker,
                m.state,
                "kill_switch",
                &format!(
                    "trading state set from {before} to {} (kill switch)",
                    m.state
                ),
            );
        }
        // The answer is the state in force: a hold (reconciliation, a refused Kite token)
        // keeps the broker HALTED whatever the kill switch says.
        book.set_hold(self.holds.reason(m.broker));
        let in_force = book.effective_state();
        tracing::warn!(broker = %m.broker, state = ?m.state, ?in_force, "trading state set");
        metrics::trading_state(m.broker, in_force);
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

/// Flatten a broker: REDUCING, and market orders closing every open position (less what
/// is already in flight toward closing). Answers with the number of orders sent. Refused
/// while a hold (Zerodha's reconciliation, a refused token) keeps the broker HALTED: no
/// order can go out then.
#[derive(Debug, Message)]
#[rtype(result = "Result<FlattenReport, String>")]
pub struct Flatten {
    pub broker: Broker,
}

/// What [`Flatten`] did.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct FlattenReport {
    pub state: TradingState,
    /// Closing orders sent now.
    pub orders: usize,
}

impl Handler<Flatten> for RiskManager {
    type Result = ResponseFuture<Result<FlattenReport, String>>;

    fn handle(&mut self, m: Flatten, _ctx: &mut Self::Context) -> Self::Result {
        let hold = self.holds.reason(m.broker);
        let Some(book) = self.books.get_mut(&m.broker) else {
            let err = format!("no risk limits for broker {}", m.broker);
            return Box::pin(async move { Err(err) });
        };
        if let Some(reason) = hold {
            let err = format!(
                "{} is held HALTED ({reason}): nothing can be sent",
                m.broker
            );
            return Box::pin(async move { Err(err) });
        }
        book.set_state(TradingState::Reducing);
        let now = Utc::now();
        let why = format!("operator/{}", now.timestamp_millis());
        let mut pending: Vec<PendingDelivery> = self.flatten(m.broker, None, &why, now);
        let orders = pending.len();
        tracing::warn!(broker = %m.broker, orders, "flatten: REDUCING and closing every position");
        metrics::trading_state(m.broker, TradingState::Reducing);
        state_alert(
            m.broker,
            TradingState::Reducing,
            "flatten",
            &format!("flatten: REDUCING, {orders} closing orders sent"),
        );
        pending.extend(self.save(m.broker));
        Box::pin(async move {
            for p in pending {
                p.await.map_err(|e| e.to_string())?;
            }
            Ok(FlattenReport {
                state: TradingState::Reducing,
                orders,
            })
        })
    }
}

/// What a broker's risk state believes now (`GET /api/v1/risk/{broker}`); `None` for a
/// broker without limits.
#[derive(Debug, Message)]
#[rtype(result = "Option<RiskView>")]
pub struct GetRiskView(pub Broker);

impl Handler<GetRiskView> for RiskManager {
    type Result = Option<RiskView>;
    fn handle(&mut self, m: GetRiskView, _ctx: &mut Self::Context) -> Self::Result {
        let hold = self.holds.reason(m.0);
        self.books.get_mut(&m.0).map(|book| {
            book.set_hold(hold);
            book.view()
        })
    }
}
