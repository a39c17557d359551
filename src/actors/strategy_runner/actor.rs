//! The actor shell: slots, the tick handler and the guarded calls into strategies.

use super::intraday::{Intraday, square_off};
use super::{MAX_FAILURES, SERVICE};
use crate::market::bars::BarBuilder;
use crate::market::candles::{Candle, Interval};
use crate::market::instruments::InstrumentRegistry;
use crate::messages::{
    Broker, Envelope, MarketTick, Payload, Product, TradingSignal, client_order_id_of_signal,
};
use crate::strategy::square_off::SquareOff;
use crate::strategy::{Ledger, RuntimeSubscriptions, Strategy, StrategyContext, StrategyFault};
use crate::streaming::consumer::{Completion, Deliver, HandlerResult};
use crate::streaming::producer::PendingDelivery;
use crate::streaming::{KafkaConnection, ProducerHandle, Stream, Topic};
use crate::supervision::handling;
use crate::telemetry::metrics;
use actix::prelude::*;
use chrono::{DateTime, Utc};
use std::collections::HashMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

/// One strategy instance at one broker, and the instruments it trades (its configured
/// ones; it may subscribe more at runtime).
pub struct StrategySlot {
    pub id: String,
    pub broker: Broker,
    pub tokens: Vec<u32>,
    pub strategy: Box<dyn Strategy>,
}

/// What the runner is built with.
pub struct RunnerArgs {
    pub slots: Vec<StrategySlot>,
    pub producer: ProducerHandle,
    /// Where to rebuild the ledgers from and tail the outcomes (`None`: start empty and
    /// receive outcomes as messages — the backtest and actor tests).
    pub history: Option<KafkaConnection>,
    /// An order nothing answered within this (event time) ends as unanswered.
    pub unanswered_after: Duration,
}

/// Why a strategy does not run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Disabled {
    /// It failed [`MAX_FAILURES`] times in a row; the last failure.
    Failing(String),
    /// An operator disabled it.
    Operator(String),
}

/// The last signal a slot sent.
#[derive(Debug, Clone)]
pub(super) struct LastSignal {
    pub envelope: Envelope<TradingSignal>,
}

pub(super) struct Running {
    pub slot: StrategySlot,
    pub ledger: Ledger,
    pub failures: u32,
    pub disabled: Option<Disabled>,
    pub last_signal: Option<LastSignal>,
    /// The product of its positions, when the runner follows the intraday day.
    pub product: Option<Product>,
    pub square_off: SquareOff,
    /// What it subscribed at runtime (rebuilt from `market.subscriptions` at start).
    pub subscriptions: RuntimeSubscriptions,
    /// Set when the publication of its set failed: the next handling publishes it again.
    pub subscriptions_unsent: Arc<AtomicBool>,
    /// Resolves the names it subscribes by (shared by every slot).
    pub instruments: Arc<InstrumentRegistry>,
}

pub struct StrategyRunner {
    pub(super) running: Vec<Running>,
    /// The slots each instrument's ticks go to: configured ∪ runtime instruments
    /// ([`StrategyRunner::reindex`]).
    pub(super) by_token: HashMap<u32, Vec<usize>>,
    pub(super) by_key: HashMap<(String, Broker), usize>,
    pub(super) producer: ProducerHandle,
    pub(super) history: Option<KafkaConnection>,
    pub(super) unanswered_after: chrono::Duration,
    pub(super) intraday: Intraday,
    /// Each token's minute bar in progress, for [`Strategy::on_bar`].
    pub(super) bars: BarBuilder,
}

crate::supervised!(StrategyRunner);

impl StrategyRunner {
    /// A runner whose strategies subscribe by token or symbol in an empty registry (so
    /// every runtime request is refused as unknown) until
    /// [`StrategyRunner::with_instruments`].
    pub fn new(args: RunnerArgs) -> Self {
        let mut by_key = HashMap::new();
        for (i, slot) in args.slots.iter().enumerate() {
            by_key.insert((slot.id.clone(), slot.broker), i);
        }
        let instruments = Arc::new(InstrumentRegistry::default());
        let mut runner = StrategyRunner {
            running: args
                .slots
                .into_iter()
                .map(|slot| Running {
                    slot,
                    ledger: Ledger::default(),
                    failures: 0,
                    disabled: None,
                    last_signal: None,
                    product: None,
                    square_off: SquareOff::default(),
                    subscriptions: RuntimeSubscriptions::default(),
                    subscriptions_unsent: Arc::default(),
                    instruments: instruments.clone(),
                })
                .collect(),
            by_token: HashMap::new(),
            by_key,
            producer: args.producer,
            history: args.history,
            unanswered_after: chrono::Duration::from_std(args.unanswered_after)
                .unwrap_or(chrono::Duration::MAX),
            intraday: Intraday::off(),
            bars: BarBuilder::new(Interval::Minute),
        };
        runner.reindex();
        runner
    }

    /// Resolves the strategies' runtime subscriptions against `registry` (the daemon and
    /// the backtest pass theirs).
    pub fn with_instruments(mut self, registry: Arc<InstrumentRegistry>) -> Self {
        for run in &mut self.running {
            run.instruments = registry.clone();
        }
        self
    }
}

impl Actor for StrategyRunner {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        // A fresh incarnation runs every strategy again.
        metrics::strategies_disabled(0);
        self.rebuild_then_tail(ctx);
        self.start_clock(ctx);
    }
}

/// Which strategy call [`Running::guarded`] makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Call {
    Tick,
    /// `on_fill` or `on_order_ended`.
    Notice,
}

impl Running {
    /// Ends the orders of `token` sent before `deadline` that nothing answered, telling
    /// the strategy at `at`.
    pub(super) fn expire(&mut self, token: u32, deadline: DateTime<Utc>, at: DateTime<Utc>) {
        for ended in self.ledger.expire_unanswered(token, deadline) {
            tracing::warn!(strategy = %self.slot.id, broker = %self.slot.broker, order = %ended.order.client_order_id, "order unanswered; treated as ended");
            self.notify_ended(&ended, at);
        }
    }

    /// Calls the strategy with its context at `at` for the instrument `token`, counting a
    /// panic or a fault; disables it after too many in a row. Only a decision
    /// (`Call::Tick`) that succeeds ends a run of failures: a strategy whose every tick
    /// fails is disabled even while its fills keep being announced. What it subscribed
    /// during the call stands whatever the call's outcome (the runner publishes it next).
    pub(super) fn guarded<T>(
        &mut self,
        kind: Call,
        at: DateTime<Utc>,
        token: u32,
        call: impl FnOnce(&mut dyn Strategy, &StrategyContext<'_>) -> Result<T, StrategyFault>,
    ) -> Option<T> {
        let ctx = StrategyContext::new(at, &self.slot.id, self.slot.broker, token, &self.ledger)
            .with_subscriptions(&self.instruments, &self.subscriptions);
        let strategy = &mut self.slot.strategy;
        let outcome = catch_unwind(AssertUnwindSafe(|| call(strategy.as_mut(), &ctx)));
        let failure = match outcome {
            Ok(Ok(value)) => {
                if kind == Call::Tick {
                    self.failures = 0;
                }
                return Some(value);
            }
            Ok(Err(fault)) => format!("error: {fault}"),
            Err(panic) => {
                let text = panic
                    .downcast_ref::<&str>()
                    .map(|s| (*s).to_owned())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "(non-string panic)".into());
                format!("panic: {text}")
            }
        };
        self.failures += 1;
        let (strategy, broker) = (&self.slot.id, self.slot.broker);
        tracing::error!(%strategy, %broker, failures = self.failures, %failure, "strategy failed");
        metrics::strategy_failed(broker);
        if self.failures >= MAX_FAILURES {
            tracing::error!(%strategy, %broker, "strategy DISABLED for this run after {MAX_FAILURES} consecutive failures");
            crate::alerts::raise(
                crate::alerts::Alert::new(
                    crate::alerts::AlertKind::StrategyDisabled,
                    strategy.as_str(),
                    format!("strategy {strategy} DISABLED for this run after {MAX_FAILURES} consecutive failures; last: {failure}. Fix it and restart, or enable it again from the API"),
                )
                .on(broker),
            );
            self.disabled = Some(Disabled::Failing(failure));
            metrics::strategy_disabled_changed(1);
        }
        None
    }
}

impl Handler<Deliver<MarketTick>> for StrategyRunner {
    type Result = HandlerResult;

    fn handle(&mut self, delivery: Deliver<MarketTick>, _ctx: &mut Self::Context) -> HandlerResult {
        let _handling = handling::<Deliver<MarketTick>>();
        let tick = &delivery.envelope;
        let Some(indexes) = self.by_token.get(&tick.data.token) else {
            return Ok(Completion::done());
        };
        let deadline = self.deadline(tick.ts);
        let windows = self.intraday.at_tick(tick);
        let bar: Option<Candle> = self.bars.on_tick(
            tick.data.token,
            tick.ts,
            tick.data.last_price,
            tick.data.volume_traded,
        );
        let mut deliveries = Vec::new();
        for &i in indexes {
            let Some(run) = self.running.get_mut(i) else {
                continue;
            };
            // A disabled slot's positions are squared off all the same.
            let closing = windows.square_off && run.is_mis();
            if run.disabled.is_some() && !closing {
                continue;
            }
            run.expire(tick.data.token, deadline, tick.ts);
            if closing {
                // First, so the strategy sees its closing order in flight.
                deliveries.extend(square_off(run, &self.producer, tick, tick.ts));
            }
            if run.disabled.is_some() {
                // Its order-ended hook just failed once too often.
                continue;
            }
            if let Some(bar) = &bar {
                let decide = |s: &mut dyn Strategy, ctx: &StrategyContext<'_>| s.on_bar(bar, ctx);
                deliveries.extend(decide_and_send(
                    run,
                    &self.producer,
                    tick,
                    windows,
                    "bar",
                    decide,
                ));
                if run.disabled.is_some() {
                    continue;
                }
            }
            let decide =
                |s: &mut dyn Strategy, ctx: &StrategyContext<'_>| s.on_tick(&tick.data, ctx);
            deliveries.extend(decide_and_send(
                run,
                &self.producer,
                tick,
                windows,
                "",
                decide,
            ));
        }
        deliveries.extend(self.publish_subscriptions(Some(tick.lineage()), tick.ts));
        Ok(Completion::after(deliveries))
    }
}

/// Asks the strategy (`decide`: its tick or bar callback) and sends the signal it makes,
/// unless the entry cutoff holds it back. `call` tells a bar's signal from a tick's in the
/// derived id (`""` for a tick, keeping the ids the runner always derived).
fn decide_and_send(
    run: &mut Running,
    producer: &ProducerHandle,
    tick: &Envelope<MarketTick>,
    windows: super::intraday::Windows,
    call: &str,
    decide: impl FnOnce(&mut dyn Strategy, &StrategyContext<'_>) -> crate::strategy::Decision,
) -> Option<PendingDelivery> {
    let (id, broker) = (run.slot.id.clone(), run.slot.broker);
    let decision = run.guarded(Call::Tick, tick.ts, tick.data.token, |strategy, ctx| {
        let intent = decide(strategy, ctx)?;
        let position = ctx.position();
        intent
            .map(|intent| {
                let signal = intent.into_signal(&id, broker, &tick.data, position);
                signal
                    .validate()
                    .map(|()| signal)
                    .map_err(StrategyFault::from)
            })
            .transpose()
    });
    let Some(Some(signal)) = decision else {
        return None;
    };
    if windows.entries_closed && run.opens_mis(&signal) {
        tracing::debug!(strategy = %id, %broker, token = signal.token, side = ?signal.side, quantity = signal.quantity, "held back: no new MIS exposure after the entry cutoff");
        return None;
    }
    let discriminator = if call.is_empty() {
        format!("{id}/{broker}")
    } else {
        format!("{id}/{broker}/{call}")
    };
    let (_, delivery) = send_signal(run, producer, tick, signal, &discriminator, tick.ts);
    Some(delivery)
}

/// Records the signal as pending in the slot's ledger and publishes it: a child of `tick`
/// (its id derived from the tick's and `discriminator`), sent at `at`. Answers the client
/// order id its order gets.
pub(super) fn send_signal(
    run: &mut Running,
    producer: &ProducerHandle,
    tick: &Envelope<MarketTick>,
    signal: TradingSignal,
    discriminator: &str,
    at: DateTime<Utc>,
) -> (String, PendingDelivery) {
    let broker = signal.broker;
    let envelope = tick.child(signal, SERVICE, discriminator, at);
    run.ledger.sent(envelope.id, &envelope.data, at);
    tracing::info!(
        strategy = %envelope.data.strategy_id, %broker, token = envelope.data.token,
        side = ?envelope.data.side, quantity = envelope.data.quantity,
        position = envelope.data.position, correlation_id = %envelope.correlation_id, "signal"
    );
    metrics::signal_emitted(broker);
    let delivery = producer.publish_envelope(Topic::of(broker, Stream::SignalsRaw), &envelope);
    let client_order_id = client_order_id_of_signal(envelope.id);
    run.last_signal = Some(LastSignal { envelope });
    (client_order_id, delivery)
}
