//! The runner as an actor: scripted strategies, a probe as its producer, outcomes delivered
//! as the consumer (or the tail) would deliver them, and what the strategies saw through
//! their context recorded in a shared log.
//!
//! Time is the ticks' event time: an order's expiry is driven by tick timestamps, so no
//! test sleeps. `expect_no_msg` bounds assert that nothing was published.

use super::*;
use crate::messages::{
    Broker, Envelope, MarketTick, OrderFailed, OrderFailureKind, OrderFilled, OrderRef,
    OrderSubmitted, OrderType, Payload, RecordOrigin, RejectedSignal, Rejection, RejectionCode,
    Side, TradingSignal, ValidatedSignal, client_order_id, client_order_id_of_signal, decode,
};
use crate::strategy::{Decision, EndKind, OrderIntent, Strategy, StrategyContext};
use crate::streaming::consumer::Deliver;
use crate::streaming::producer::Publish;
use crate::streaming::{ProducerHandle, Stream, Topic};
use crate::testkit::Probe;
use crate::testkit::fixtures::sample_time;
use actix::prelude::*;
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

/// How long "nothing else was published" is watched for.
const QUIET: Duration = Duration::from_millis(100);
const INFY: u32 = 408_065;
const RELIANCE: u32 = 738_561;
/// Long enough that no test order expires unless the test means it to.
const NEVER: Duration = Duration::from_secs(24 * 3600);

// ---------------------------------------------------------------------------------------
// Scripted strategies

/// What a strategy was called with, and what its context said at that moment.
#[derive(Debug, Clone, PartialEq)]
enum Seen {
    Tick {
        token: u32,
        position: i64,
        pending: usize,
    },
    Fill {
        quantity: u32,
        position: i64,
    },
    Ended {
        kind: EndKind,
        pending: usize,
    },
}

/// The calls of one strategy instance, shared with the test.
#[derive(Clone, Default)]
struct Log(Arc<Mutex<Vec<Seen>>>);

impl Log {
    fn push(&self, seen: Seen) {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(seen);
    }

    /// Everything recorded since the last call.
    fn take(&self) -> Vec<Seen> {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(PoisonError::into_inner))
    }
}

type Script = Box<dyn FnMut(&MarketTick, &StrategyContext<'_>) -> Decision + Send>;

/// Decides by its script; records every call with the position and pending orders its
/// context showed.
struct Scripted {
    script: Script,
    log: Log,
}

impl Strategy for Scripted {
    fn on_tick(&mut self, tick: &MarketTick, ctx: &StrategyContext<'_>) -> Decision {
        self.log.push(Seen::Tick {
            token: tick.token,
            position: ctx.position(),
            pending: ctx.pending().len(),
        });
        (self.script)(tick, ctx)
    }

    fn on_fill(&mut self, fill: &OrderFilled, ctx: &StrategyContext<'_>) {
        self.log.push(Seen::Fill {
            quantity: fill.quantity,
            position: ctx.position(),
        });
    }

    fn on_order_ended(&mut self, ended: &crate::strategy::OrderEnded, ctx: &StrategyContext<'_>) {
        self.log.push(Seen::Ended {
            kind: ended.kind.clone(),
            pending: ctx.pending().len(),
        });
    }
}

fn buy(quantity: u32) -> OrderIntent {
    OrderIntent::market(Side::Buy, quantity, "scripted")
}

/// Sends `intent` on every tick.
fn always(intent: OrderIntent) -> Script {
    Box::new(move |_, _| Ok(Some(intent.clone())))
}

/// Buys `quantity` whenever no order of the instrument is in flight.
fn buy_unless_pending(quantity: u32) -> Script {
    Box::new(move |_, ctx| Ok((!ctx.has_pending()).then(|| buy(quantity))))
}

fn slot(id: &str, broker: Broker, tokens: &[u32], script: Script, log: &Log) -> StrategySlot {
    StrategySlot {
        id: id.into(),
        broker,
        tokens: tokens.to_vec(),
        strategy: Box::new(Scripted {
            script,
            log: log.clone(),
        }),
    }
}

// ---------------------------------------------------------------------------------------
// Messages in

fn at(secs: i64) -> DateTime<Utc> {
    sample_time() + chrono::Duration::seconds(secs)
}

fn tick(token: u32, rupees: i64, ts: DateTime<Utc>) -> Envelope<MarketTick> {
    let mut tick = MarketTick::ltp(token, Decimal::from(rupees));
    tick.symbol = Some(match token {
        INFY => "INFY".into(),
        RELIANCE => "RELIANCE".into(),
        other => other.to_string(),
    });
    Envelope::root(tick, "market_feed", ts)
}

fn deliver<T: Payload>(envelope: Envelope<T>, topic: Topic) -> Deliver<T> {
    Deliver {
        envelope,
        origin: RecordOrigin {
            topic: topic.name(),
            partition: 0,
            offset: 0,
        },
    }
}

/// The order a signal becomes, as the venues name it.
fn order_of(signal: &Envelope<TradingSignal>) -> OrderRef {
    OrderRef {
        client_order_id: client_order_id_of_signal(signal.id),
        broker_order_id: None,
        strategy_id: signal.data.strategy_id.clone(),
        broker: signal.data.broker,
        token: signal.data.token,
        symbol: signal.data.symbol.clone(),
        side: signal.data.side,
    }
}

/// The risk manager's validated event of a signal: the cause of the venue's events.
fn validated(signal: &Envelope<TradingSignal>) -> Envelope<ValidatedSignal> {
    let data = ValidatedSignal {
        signal: signal.data.clone(),
    };
    signal.child(data, "risk_manager", "", signal.ts)
}

fn submitted(signal: &Envelope<TradingSignal>) -> Deliver<OrderSubmitted> {
    let order = order_of(signal);
    let id = order.client_order_id.clone();
    let data = OrderSubmitted {
        order,
        quantity: signal.data.quantity,
        order_type: signal.data.order_type,
        price: signal.data.price,
        trigger_price: signal.data.trigger_price,
        validity: signal.data.validity,
    };
    let topic = Topic::of(signal.data.broker, Stream::OrdersSubmitted);
    deliver(
        validated(signal).child(data, "paper_execution", &id, signal.ts),
        topic,
    )
}

/// An execution of `quantity` bringing the order to `cumulative`.
fn filled(
    signal: &Envelope<TradingSignal>,
    quantity: u32,
    cumulative: u32,
) -> Deliver<OrderFilled> {
    let order = order_of(signal);
    let fill_id = format!("{}-{cumulative}", order.client_order_id);
    let data = OrderFilled {
        order,
        fill_id: fill_id.clone(),
        quantity,
        price: signal.data.reference_price,
        fees: crate::messages::Fees::default(),
        cumulative_quantity: cumulative,
        order_quantity: signal.data.quantity,
        filled_at: signal.ts,
    };
    let topic = Topic::of(signal.data.broker, Stream::OrdersFilled);
    deliver(
        validated(signal).child(data, "paper_execution", &fill_id, signal.ts),
        topic,
    )
}

fn failed(
    signal: &Envelope<TradingSignal>,
    filled_quantity: u32,
    kind: OrderFailureKind,
) -> Deliver<OrderFailed> {
    let order = order_of(signal);
    let id = format!("{}/failed", order.client_order_id);
    let data = OrderFailed {
        order,
        quantity: signal.data.quantity,
        filled_quantity,
        kind,
        message: "cancelled at the venue".into(),
    };
    let topic = Topic::of(signal.data.broker, Stream::OrdersFailed);
    deliver(
        validated(signal).child(data, "paper_execution", &id, signal.ts),
        topic,
    )
}

/// The risk manager's refusal: a child of the raw signal, so its causation is the signal.
fn rejected(signal: &Envelope<TradingSignal>, code: RejectionCode) -> Deliver<RejectedSignal> {
    let data = RejectedSignal {
        signal: signal.data.clone(),
        reasons: vec![Rejection {
            code,
            message: format!("refused by the test ({code})"),
        }],
    };
    let topic = Topic::of(signal.data.broker, Stream::SignalsRejected);
    deliver(signal.child(data, "risk_manager", "", signal.ts), topic)
}

// ---------------------------------------------------------------------------------------
// The rig

struct Rig {
    runner: Addr<StrategyRunner>,
    producer: Probe<Publish>,
}

impl Rig {
    fn start(slots: Vec<StrategySlot>) -> Self {
        Self::start_with(slots, NEVER)
    }

    fn start_with(slots: Vec<StrategySlot>, unanswered_after: Duration) -> Self {
        Self::start_intraday(slots, IntradayArgs::off(), unanswered_after)
    }

    /// A runner following the intraday day as `intraday` says.
    fn start_intraday(
        slots: Vec<StrategySlot>,
        intraday: IntradayArgs,
        unanswered_after: Duration,
    ) -> Self {
        let producer = Probe::<Publish>::acking_producer();
        let runner = StrategyRunner::new(RunnerArgs {
            slots,
            producer: ProducerHandle::new(producer.recipient()),
            history: None,
            unanswered_after,
        })
        .with_intraday(intraday)
        .start();
        Rig { runner, producer }
    }

    /// Handles one tick and answers the signals it published, in order: the handler's
    /// deliveries are awaited (the probe acknowledges each after recording it), so what the
    /// probe holds then is exactly what the tick published.
    async fn tick(
        &mut self,
        tick: &Envelope<MarketTick>,
    ) -> Vec<(String, Envelope<TradingSignal>)> {
        let completion = self
            .runner
            .send(deliver(tick.clone(), Topic::MARKET_TICKS))
            .await
            .expect("runner alive")
            .expect("a tick is always handled");
        let expected = completion.deliveries.len();
        for delivery in completion.deliveries {
            delivery.await.expect("the probe acknowledges");
        }
        let published: Vec<_> = self
            .producer
            .drain()
            .iter()
            .map(|p| {
                let signal = decode::<TradingSignal>(&p.0.value).expect("a valid signal");
                (p.0.topic.clone(), signal)
            })
            .collect();
        assert_eq!(published.len(), expected, "published: {published:?}");
        published
    }

    /// Handles one tick that must publish exactly one signal, and answers it.
    async fn tick_one(&mut self, tick: &Envelope<MarketTick>) -> Envelope<TradingSignal> {
        let mut sent = self.tick(tick).await;
        assert_eq!(sent.len(), 1, "one signal expected: {sent:?}");
        sent.remove(0).1
    }

    async fn send<M>(&self, message: M)
    where
        M: Message<Result = crate::streaming::consumer::HandlerResult> + Send + 'static,
        StrategyRunner: Handler<M>,
    {
        let completion = self
            .runner
            .send(message)
            .await
            .expect("runner alive")
            .expect("an outcome is always handled");
        assert!(completion.deliveries.is_empty(), "outcomes publish nothing");
    }

    async fn view(&self, strategy: &str, broker: Broker) -> StrategyView {
        let status = self
            .runner
            .send(GetRunnerStatus)
            .await
            .expect("runner alive");
        status
            .strategies
            .into_iter()
            .find(|s| s.strategy_id == strategy && s.broker == broker)
            .unwrap_or_else(|| panic!("no view of {strategy} at {broker}"))
    }

    /// `(position, pending orders)` of one instrument as the status shows it.
    async fn book(
        &self,
        strategy: &str,
        broker: Broker,
        token: u32,
    ) -> (i64, Vec<crate::strategy::PendingOrder>) {
        self.view(strategy, broker)
            .await
            .instruments
            .into_iter()
            .find(|i| i.token == token)
            .map_or((0, Vec::new()), |i| (i.position, i.pending))
    }

    async fn set_enabled(
        &self,
        strategy: &str,
        broker: Option<Broker>,
        enabled: bool,
    ) -> Result<Vec<StrategyView>, SwitchError> {
        let message = SetStrategyEnabled {
            strategy: strategy.into(),
            broker,
            enabled,
            reason: "maintenance window".into(),
        };
        self.runner.send(message).await.expect("runner alive")
    }
}

fn tick_seen(position: i64, pending: usize) -> Seen {
    Seen::Tick {
        token: INFY,
        position,
        pending,
    }
}

// ---------------------------------------------------------------------------------------
// Routing and signal identity

#[actix::test]
async fn routes_ticks_only_to_the_strategies_of_that_instrument_one_signal_per_broker_slot() {
    let (paper, zerodha, other) = (Log::default(), Log::default(), Log::default());
    let mut rig = Rig::start(vec![
        slot("both", Broker::Paper, &[INFY], always(buy(10)), &paper),
        slot("both", Broker::Zerodha, &[INFY], always(buy(10)), &zerodha),
        slot("other", Broker::Paper, &[RELIANCE], always(buy(5)), &other),
    ]);

    let infy = tick(INFY, 1500, at(0));
    let sent = rig.tick(&infy).await;
    let topics: Vec<&str> = sent.iter().map(|(t, _)| t.as_str()).collect();
    assert_eq!(topics, ["paper.signals.raw", "zerodha.signals.raw"]);
    for ((_, signal), broker) in sent.iter().zip([Broker::Paper, Broker::Zerodha]) {
        let s = &signal.data;
        assert_eq!((s.strategy_id.as_str(), s.broker), ("both", broker));
        assert_eq!((s.token, s.symbol.as_str()), (INFY, "INFY"));
        assert_eq!(
            (s.side, s.quantity, s.order_type),
            (Side::Buy, 10, OrderType::Market)
        );
        assert_eq!(s.reference_price, Decimal::from(1500));
        assert_eq!((s.reason.as_str(), s.position), ("scripted", 0));
        assert_eq!(signal.causation_id, Some(infy.id));
        assert_eq!(signal.correlation_id, infy.correlation_id);
        assert_eq!((signal.ts, signal.key.as_str()), (infy.ts, "both:408065"));
    }
    assert_ne!(sent[0].1.id, sent[1].1.id, "one id per broker slot");
    assert_eq!(paper.take(), [tick_seen(0, 0)]);
    assert_eq!(zerodha.take(), [tick_seen(0, 0)]);
    assert_eq!(
        other.take(),
        [],
        "an INFY tick never reaches a RELIANCE strategy"
    );

    let reliance = rig.tick(&tick(RELIANCE, 2450, at(1))).await;
    assert_eq!(reliance.len(), 1);
    assert_eq!(reliance[0].0, "paper.signals.raw");
    assert_eq!(reliance[0].1.data.strategy_id, "other");
    let reliance_seen = Seen::Tick {
        token: RELIANCE,
        position: 0,
        pending: 0,
    };
    assert_eq!(other.take(), [reliance_seen]);
    assert_eq!(paper.take(), []);
    assert_eq!(zerodha.take(), []);

    // An instrument nobody trades: nothing is called, nothing published.
    assert_eq!(rig.tick(&tick(1, 100, at(2))).await, []);
    rig.producer.expect_no_msg(QUIET).await;
    assert_eq!(
        (paper.take(), zerodha.take(), other.take()),
        (vec![], vec![], vec![])
    );
}

#[actix::test]
async fn a_redelivered_tick_yields_the_same_signal_ids_and_one_pending_order_per_slot() {
    let slots = |log: &Log| {
        vec![
            slot("s", Broker::Paper, &[INFY], always(buy(10)), log),
            slot("s", Broker::Zerodha, &[INFY], always(buy(10)), log),
        ]
    };
    let log = Log::default();
    let mut rig = Rig::start(slots(&log));
    let infy = tick(INFY, 1500, at(0));
    let first: Vec<_> = rig
        .tick(&infy)
        .await
        .into_iter()
        .map(|(_, s)| s.id)
        .collect();
    let again: Vec<_> = rig
        .tick(&infy)
        .await
        .into_iter()
        .map(|(_, s)| s.id)
        .collect();
    assert_eq!(first, again);

    // The ledger counted each order once, under the id the venues will give it.
    for (broker, id) in [Broker::Paper, Broker::Zerodha].into_iter().zip(&first) {
        let (position, pending) = rig.book("s", broker, INFY).await;
        assert_eq!(position, 0);
        let ids: Vec<&str> = pending.iter().map(|o| o.client_order_id.as_str()).collect();
        assert_eq!(ids, [client_order_id_of_signal(*id)]);
        assert_eq!(pending[0].signal_id, *id);
        let view = rig.view("s", broker).await;
        assert_eq!(view.last_signal.map(|s| s.id), Some(*id));
    }

    // A restarted runner given the same tick derives the same ids (nothing random).
    let mut restarted = Rig::start(slots(&Log::default()));
    let after_restart: Vec<_> = restarted
        .tick(&infy)
        .await
        .into_iter()
        .map(|(_, s)| s.id)
        .collect();
    assert_eq!(after_restart, first);

    // Another tick: other ids.
    let next: Vec<_> = rig
        .tick(&tick(INFY, 1501, at(1)))
        .await
        .into_iter()
        .map(|(_, s)| s.id)
        .collect();
    assert!(next.iter().all(|id| !first.contains(id)));
}

// ---------------------------------------------------------------------------------------
// Outcomes and the ledger

#[actix::test]
async fn acknowledgements_and_fills_move_what_the_next_tick_and_the_status_see() {
    let log = Log::default();
    let mut rig = Rig::start(vec![slot(
        "s",
        Broker::Paper,
        &[INFY],
        buy_unless_pending(10),
        &log,
    )]);

    let first = rig.tick_one(&tick(INFY, 1500, at(0))).await;
    assert_eq!(first.data.position, 0);
    // The venues' id of the order is the one derived through the risk manager's event.
    assert_eq!(
        order_of(&first).client_order_id,
        client_order_id(validated(&first).id)
    );
    let (position, pending) = rig.book("s", Broker::Paper, INFY).await;
    assert_eq!(position, 0);
    assert_eq!(pending.len(), 1);
    assert_eq!(
        (
            pending[0].quantity,
            pending[0].filled,
            pending[0].acknowledged
        ),
        (10, 0, false)
    );

    rig.send(submitted(&first)).await;
    let (_, pending) = rig.book("s", Broker::Paper, INFY).await;
    assert!(pending[0].acknowledged);

    rig.send(filled(&first, 4, 4)).await;
    let (position, pending) = rig.book("s", Broker::Paper, INFY).await;
    assert_eq!((position, pending[0].filled), (4, 4));
    // Still in flight: the strategy does not send again, and saw the partial position.
    assert_eq!(rig.tick(&tick(INFY, 1501, at(1))).await, []);

    // A redelivered partial fill is not counted again, nor announced again.
    rig.send(filled(&first, 4, 4)).await;
    assert_eq!(rig.book("s", Broker::Paper, INFY).await.0, 4);

    rig.send(filled(&first, 6, 10)).await;
    rig.send(filled(&first, 6, 10)).await;
    let (position, pending) = rig.book("s", Broker::Paper, INFY).await;
    assert_eq!((position, pending), (10, vec![]));

    let second = rig.tick_one(&tick(INFY, 1502, at(2))).await;
    assert_eq!(
        second.data.position, 10,
        "the signal carries the ledger's position"
    );
    assert_ne!(second.id, first.id);

    assert_eq!(
        log.take(),
        [
            tick_seen(0, 0),
            Seen::Fill {
                quantity: 4,
                position: 4
            },
            tick_seen(4, 1),
            Seen::Fill {
                quantity: 6,
                position: 10
            },
            tick_seen(10, 0),
        ]
    );
}

#[actix::test]
async fn a_rejection_by_risk_ends_the_order_and_the_strategy_may_send_again() {
    let log = Log::default();
    let mut rig = Rig::start(vec![slot(
        "s",
        Broker::Paper,
        &[INFY],
        buy_unless_pending(10),
        &log,
    )]);
    let first = rig.tick_one(&tick(INFY, 1500, at(0))).await;

    rig.send(rejected(&first, RejectionCode::MaxPosition)).await;
    assert_eq!(rig.book("s", Broker::Paper, INFY).await, (0, vec![]));
    // A redelivered rejection ends nothing more.
    rig.send(rejected(&first, RejectionCode::MaxPosition)).await;

    let second = rig.tick_one(&tick(INFY, 1501, at(1))).await;
    assert_ne!(second.id, first.id);
    assert_eq!(second.data.position, 0);
    assert_eq!(
        log.take(),
        [
            tick_seen(0, 0),
            Seen::Ended {
                kind: EndKind::RejectedByRisk {
                    codes: vec![RejectionCode::MaxPosition]
                },
                pending: 0
            },
            tick_seen(0, 0),
        ]
    );
}

#[actix::test]
async fn a_venue_failure_after_a_partial_fill_keeps_the_partial_position() {
    let log = Log::default();
    let mut rig = Rig::start(vec![slot(
        "s",
        Broker::Paper,
        &[INFY],
        buy_unless_pending(10),
        &log,
    )]);
    let first = rig.tick_one(&tick(INFY, 1500, at(0))).await;

    rig.send(filled(&first, 3, 3)).await;
    rig.send(failed(&first, 3, OrderFailureKind::Cancelled))
        .await;
    rig.send(failed(&first, 3, OrderFailureKind::Cancelled))
        .await;
    assert_eq!(rig.book("s", Broker::Paper, INFY).await, (3, vec![]));

    let second = rig.tick_one(&tick(INFY, 1501, at(1))).await;
    assert_eq!(second.data.position, 3);
    assert_eq!(
        log.take(),
        [
            tick_seen(0, 0),
            Seen::Fill {
                quantity: 3,
                position: 3
            },
            Seen::Ended {
                kind: EndKind::Failed {
                    failure: OrderFailureKind::Cancelled
                },
                pending: 0
            },
            tick_seen(3, 0),
        ]
    );
}

#[actix::test]
async fn paper_and_zerodha_slots_of_one_strategy_never_share_a_ledger() {
    let (paper, zerodha) = (Log::default(), Log::default());
    let mut rig = Rig::start(vec![
        slot("s", Broker::Paper, &[INFY], buy_unless_pending(10), &paper),
        slot(
            "s",
            Broker::Zerodha,
            &[INFY],
            buy_unless_pending(10),
            &zerodha,
        ),
    ]);
    let sent = rig.tick(&tick(INFY, 1500, at(0))).await;
    let (at_paper, at_zerodha) = (&sent[0].1, &sent[1].1);
    assert_eq!(
        (at_paper.data.broker, at_zerodha.data.broker),
        (Broker::Paper, Broker::Zerodha)
    );

    rig.send(filled(at_paper, 10, 10)).await;
    assert_eq!(rig.book("s", Broker::Paper, INFY).await, (10, vec![]));
    let (position, pending) = rig.book("s", Broker::Zerodha, INFY).await;
    assert_eq!(position, 0, "a fill at paper does not move zerodha");
    assert_eq!(pending.len(), 1);

    // Paper is flat of orders and sends again; zerodha's order is still in flight.
    let again = rig.tick(&tick(INFY, 1501, at(1))).await;
    assert_eq!(again.len(), 1);
    assert_eq!(
        (again[0].0.as_str(), again[0].1.data.position),
        ("paper.signals.raw", 10)
    );

    rig.send(filled(at_zerodha, 4, 4)).await;
    assert_eq!(rig.book("s", Broker::Zerodha, INFY).await.0, 4);
    assert_eq!(rig.book("s", Broker::Paper, INFY).await.0, 10);

    assert_eq!(
        paper.take(),
        [
            tick_seen(0, 0),
            Seen::Fill {
                quantity: 10,
                position: 10
            },
            tick_seen(10, 0),
        ]
    );
    assert_eq!(
        zerodha.take(),
        [
            tick_seen(0, 0),
            tick_seen(0, 1),
            Seen::Fill {
                quantity: 4,
                position: 4
            },
        ]
    );
}

#[actix::test]
async fn an_unanswered_order_expires_after_unanswered_after_of_tick_time_and_the_strategy_may_send_again()
 {
    let log = Log::default();
    let mut rig = Rig::start_with(
        vec![slot(
            "s",
            Broker::Paper,
            &[INFY],
            buy_unless_pending(10),
            &log,
        )],
        Duration::from_secs(30),
    );
    let lost = rig.tick_one(&tick(INFY, 1500, at(0))).await;

    // Exactly `unanswered_after` later the order is still awaited.
    assert_eq!(rig.tick(&tick(INFY, 1500, at(30))).await, []);
    assert_eq!(rig.book("s", Broker::Paper, INFY).await.1.len(), 1);

    // Past it: the order ends as unanswered before the tick, which may trade again.
    let retry = rig.tick_one(&tick(INFY, 1500, at(31))).await;
    assert_ne!(retry.id, lost.id);
    let (_, pending) = rig.book("s", Broker::Paper, INFY).await;
    let ids: Vec<_> = pending.iter().map(|o| o.signal_id).collect();
    assert_eq!(ids, [retry.id]);

    // An acknowledged order rests: it does not expire however long it waits.
    rig.send(submitted(&retry)).await;
    assert_eq!(rig.tick(&tick(INFY, 1500, at(31 + 3600))).await, []);
    assert_eq!(rig.book("s", Broker::Paper, INFY).await.1.len(), 1);

    // A fill of the expired order that still comes counts.
    rig.send(filled(&lost, 10, 10)).await;
    assert_eq!(rig.book("s", Broker::Paper, INFY).await.0, 10);

    assert_eq!(
        log.take(),
        [
            tick_seen(0, 0),
            tick_seen(0, 1),
            Seen::Ended {
                kind: EndKind::Unanswered,
                pending: 0
            },
            tick_seen(0, 0),
            tick_seen(0, 1),
            Seen::Fill {
                quantity: 10,
                position: 10
            },
        ]
    );
}

// ---------------------------------------------------------------------------------------
// Failing strategies and the operator's switch

#[derive(Debug, Clone, Copy)]
enum Failure {
    Panic,
    Error,
}

fn failing(how: Failure) -> Script {
    Box::new(move |_, _| match how {
        Failure::Panic => panic!("fragile broke"),
        Failure::Error => Err("fragile broke".into()),
    })
}

#[actix::test]
async fn a_strategy_failing_max_failures_times_in_a_row_is_disabled_while_others_keep_running() {
    for (how, reason) in [
        (Failure::Panic, "panic: fragile broke"),
        (Failure::Error, "error: fragile broke"),
    ] {
        let alerts = crate::alerts::capture::Capture::start();
        let (fragile, steady) = (Log::default(), Log::default());
        let mut rig = Rig::start(vec![
            slot("fragile", Broker::Paper, &[INFY], failing(how), &fragile),
            slot("steady", Broker::Paper, &[INFY], always(buy(1)), &steady),
        ]);
        for n in 1..=MAX_FAILURES {
            let sent = rig.tick(&tick(INFY, 1500, at(i64::from(n)))).await;
            let from: Vec<&str> = sent
                .iter()
                .map(|(_, s)| s.data.strategy_id.as_str())
                .collect();
            assert_eq!(from, ["steady"], "{how:?}: failure {n}");
            let view = rig.view("fragile", Broker::Paper).await;
            assert_eq!(view.failures, n, "{how:?}");
            assert_eq!(view.enabled, n < MAX_FAILURES, "{how:?}: failure {n}");
        }
        let status = rig.runner.send(GetRunnerStatus).await.unwrap();
        let disabled: Vec<_> = status.disabled().collect();
        assert_eq!(disabled.len(), 1, "{how:?}: {disabled:?}");
        assert_eq!(disabled[0].strategy_id, "fragile");
        assert_eq!(disabled[0].disabled_by, Some("failing"));
        assert_eq!(disabled[0].disabled_reason.as_deref(), Some(reason));
        let raised = alerts.of(crate::alerts::AlertKind::StrategyDisabled);
        assert_eq!(
            raised.len(),
            1,
            "{how:?}: once, at the last failure: {raised:?}"
        );
        assert_eq!(
            (raised[0].subject.as_str(), raised[0].broker),
            ("fragile", Some(Broker::Paper))
        );
        assert!(raised[0].message.contains(reason), "{}", raised[0].message);

        // Disabled: no longer called; the other strategy keeps trading.
        let sent = rig.tick(&tick(INFY, 1500, at(100))).await;
        assert_eq!(sent.len(), 1);
        assert_eq!(sent[0].1.data.strategy_id, "steady");
        assert_eq!(fragile.take().len(), MAX_FAILURES as usize, "{how:?}");
        assert_eq!(steady.take().len(), MAX_FAILURES as usize + 1, "{how:?}");
        rig.producer.expect_no_msg(QUIET).await;
    }
}

#[actix::test]
async fn only_failures_in_a_row_count_towards_disabling() {
    // Fails on every price but 1000 rupees, where it trades.
    let script: Script = Box::new(|tick, _| {
        if tick.last_price == Decimal::from(1000) {
            Ok(Some(buy(1)))
        } else {
            Err("cannot handle this price".into())
        }
    });
    let log = Log::default();
    let mut rig = Rig::start(vec![slot("s", Broker::Paper, &[INFY], script, &log)]);
    let prices = [1, 1, 1000, 1, 1];
    for (n, price) in prices.into_iter().enumerate() {
        let sent = rig.tick(&tick(INFY, price, at(n as i64))).await;
        assert_eq!(sent.len(), usize::from(price == 1000));
    }
    let view = rig.view("s", Broker::Paper).await;
    assert_eq!((view.enabled, view.failures), (true, 2));
    assert_eq!(rig.tick(&tick(INFY, 1, at(10))).await, []);
    let view = rig.view("s", Broker::Paper).await;
    assert_eq!((view.enabled, view.disabled_by), (false, Some("failing")));
    assert_eq!(
        view.disabled_reason.as_deref(),
        Some("error: cannot handle this price")
    );

    // An operator may re-enable it: the count starts again and it trades on a good price.
    let changed = rig.set_enabled("s", None, true).await.unwrap();
    assert_eq!((changed[0].enabled, changed[0].failures), (true, 0));
    assert_eq!(
        rig.tick_one(&tick(INFY, 1000, at(11))).await.data.quantity,
        1
    );
}

#[actix::test]
async fn an_invalid_intent_counts_as_a_failure_and_is_not_published() {
    let price = |rupees: i64| Some(Decimal::from(rupees));
    let cases = [
        ("quantity 0", buy(0), "quantity"),
        (
            "LIMIT without a price",
            OrderIntent {
                order_type: OrderType::Limit,
                ..buy(10)
            },
            "price",
        ),
        (
            "LIMIT at a negative price",
            OrderIntent {
                order_type: OrderType::Limit,
                price: price(-5),
                ..buy(10)
            },
            "price",
        ),
        (
            "SL-M without a trigger",
            OrderIntent {
                order_type: OrderType::StopMarket,
                ..buy(10)
            },
            "trigger_price",
        ),
        (
            "SL without a trigger",
            OrderIntent {
                order_type: OrderType::StopLimit,
                price: price(1500),
                ..buy(10)
            },
            "trigger_price",
        ),
    ];
    for (case, intent, field) in cases {
        let log = Log::default();
        let mut rig = Rig::start(vec![slot(
            "s",
            Broker::Paper,
            &[INFY],
            always(intent),
            &log,
        )]);
        for n in 1..=MAX_FAILURES {
            assert_eq!(
                rig.tick(&tick(INFY, 1500, at(i64::from(n)))).await,
                [],
                "{case}"
            );
            let view = rig.view("s", Broker::Paper).await;
            assert_eq!(view.failures, n, "{case}");
            assert!(view.instruments.is_empty(), "{case}: nothing pending");
            assert_eq!(view.last_signal, None, "{case}");
        }
        let view = rig.view("s", Broker::Paper).await;
        assert_eq!(view.disabled_by, Some("failing"), "{case}");
        let reason = view.disabled_reason.unwrap_or_default();
        assert!(
            reason.starts_with("error: ") && reason.contains(field),
            "{case}: {reason}"
        );
        rig.producer.expect_no_msg(QUIET).await;
    }
}

#[actix::test]
async fn an_operator_disables_and_re_enables_a_strategy_whose_ledger_keeps_following() {
    let (paper, zerodha) = (Log::default(), Log::default());
    let mut rig = Rig::start(vec![
        slot("s", Broker::Paper, &[INFY], buy_unless_pending(10), &paper),
        slot("s", Broker::Zerodha, &[INFY], always(buy(1)), &zerodha),
    ]);
    let sent = rig.tick(&tick(INFY, 1500, at(0))).await;
    let at_paper = sent[0].1.clone();

    let alerts = crate::alerts::capture::Capture::start();
    let changed = rig
        .set_enabled("s", Some(Broker::Paper), false)
        .await
        .unwrap();
    assert_eq!(changed.len(), 1);
    let view = &changed[0];
    assert_eq!(
        (view.broker, view.enabled, view.disabled_by),
        (Broker::Paper, false, Some("operator"))
    );
    assert_eq!(view.disabled_reason.as_deref(), Some("maintenance window"));
    assert_eq!(rig.view("s", Broker::Paper).await, *view);
    let raised = alerts.of(crate::alerts::AlertKind::StrategyDisabled);
    assert_eq!(raised.len(), 1, "{raised:?}");
    assert_eq!(
        raised[0].message,
        "strategy s disabled by an operator: maintenance window"
    );
    assert_eq!(raised[0].broker, Some(Broker::Paper));

    // Disabled at paper only: zerodha still trades.
    let sent = rig.tick(&tick(INFY, 1500, at(1))).await;
    let topics: Vec<&str> = sent.iter().map(|(t, _)| t.as_str()).collect();
    assert_eq!(topics, ["zerodha.signals.raw"]);

    // The ledger follows outcomes while the strategy is off; the strategy is not called.
    rig.send(filled(&at_paper, 10, 10)).await;
    assert_eq!(rig.book("s", Broker::Paper, INFY).await, (10, vec![]));

    // Off at every broker: nothing at all is sent.
    let changed = rig.set_enabled("s", None, false).await.unwrap();
    assert_eq!(changed.len(), 2);
    let brokers: Vec<Option<Broker>> = alerts
        .of(crate::alerts::AlertKind::StrategyDisabled)
        .iter()
        .map(|a| a.broker)
        .collect();
    assert_eq!(
        brokers,
        [Some(Broker::Paper), Some(Broker::Zerodha)],
        "paper was off already: only zerodha is new"
    );
    assert_eq!(rig.tick(&tick(INFY, 1500, at(2))).await, []);
    rig.producer.expect_no_msg(QUIET).await;

    // On again: the tick sees the position filled meanwhile.
    let changed = rig.set_enabled("s", None, true).await.unwrap();
    assert!(changed.iter().all(|v| v.enabled && v.disabled_by.is_none()));
    let sent = rig.tick(&tick(INFY, 1500, at(3))).await;
    assert_eq!(sent.len(), 2);
    assert_eq!(sent[0].1.data.position, 10);

    assert_eq!(paper.take(), [tick_seen(0, 0), tick_seen(10, 0)]);
    assert_eq!(zerodha.take().len(), 3);

    let unknown = rig.set_enabled("nobody", None, false).await;
    let not_running = SwitchError::NotRunning {
        strategy: "nobody".into(),
        broker: None,
    };
    assert_eq!(unknown, Err(not_running));
    // A known strategy at a broker it does not trade on is not running there either.
    let log = Log::default();
    let rig = Rig::start(vec![slot(
        "z",
        Broker::Zerodha,
        &[INFY],
        always(buy(1)),
        &log,
    )]);
    let refused = rig.set_enabled("z", Some(Broker::Paper), false).await;
    let not_at_paper = SwitchError::NotRunning {
        strategy: "z".into(),
        broker: Some(Broker::Paper),
    };
    assert_eq!(refused, Err(not_at_paper));
    assert!(rig.view("z", Broker::Zerodha).await.enabled);
}

// ---------------------------------------------------------------------------------------
// Regressions: a strategy disabled by its own order-ended hook, an unbounded timeout.

/// Trades on a round price unless an order is in flight, fails on a price of 1 rupee, and
/// panics whenever told an order ended.
struct PanicsOnEnd;

impl Strategy for PanicsOnEnd {
    fn on_tick(&mut self, tick: &MarketTick, ctx: &StrategyContext<'_>) -> Decision {
        if tick.last_price == Decimal::ONE {
            return Err("cannot trade at 1".into());
        }
        Ok((!ctx.has_pending()).then(|| buy(1)))
    }

    fn on_order_ended(&mut self, _: &crate::strategy::OrderEnded, _: &StrategyContext<'_>) {
        panic!("on_order_ended broke");
    }
}

#[actix::test]
async fn a_strategy_disabled_by_its_expiry_notice_is_not_called_on_that_tick() {
    let mut rig = Rig::start_with(
        vec![StrategySlot {
            id: "s".into(),
            broker: Broker::Paper,
            tokens: vec![INFY],
            strategy: Box::new(PanicsOnEnd),
        }],
        Duration::from_secs(30),
    );
    rig.tick_one(&tick(INFY, 1000, at(0))).await;
    for n in 1..MAX_FAILURES {
        assert_eq!(rig.tick(&tick(INFY, 1, at(i64::from(n)))).await, []);
    }
    // The order expires; announcing it is the last failure allowed: the strategy is
    // disabled, so the tick must not reach it, let alone publish.
    assert_eq!(rig.tick(&tick(INFY, 1000, at(60))).await, []);
    let view = rig.view("s", Broker::Paper).await;
    assert_eq!((view.enabled, view.disabled_by), (false, Some("failing")));
    assert_eq!(view.failures, MAX_FAILURES);
    assert_eq!(
        view.disabled_reason.as_deref(),
        Some("panic: on_order_ended broke")
    );
}

#[actix::test]
async fn an_unanswered_after_beyond_the_calendar_means_never() {
    let log = Log::default();
    let mut rig = Rig::start_with(
        vec![slot(
            "s",
            Broker::Paper,
            &[INFY],
            buy_unless_pending(1),
            &log,
        )],
        Duration::MAX,
    );
    rig.tick_one(&tick(INFY, 1000, at(0))).await;
    assert_eq!(rig.tick(&tick(INFY, 1000, at(365 * 24 * 3600))).await, []);
    assert_eq!(rig.book("s", Broker::Paper, INFY).await.1.len(), 1);
}

#[path = "tests_intraday.rs"]
mod intraday;
