//! Runtime subscriptions in the runner: a strategy's request on a tick is published as its
//! slot's whole set (a child of the tick) and routes the new instrument's ticks to it at
//! once; an unsubscribe stops them; a refused request publishes nothing; a restart gives
//! each slot its latest record, drops what the registry no longer knows and withdraws
//! requesters that are no slot here.

use super::*;
use crate::market::instruments::InstrumentRegistry;
use crate::messages::{
    Broker, Envelope, MarketTick, RecordOrigin, SubscriptionsChanged, TickMode, WantedInstrument,
    decode,
};
use crate::strategy::{Decision, Strategy, StrategyContext};
use crate::streaming::consumer::Deliver;
use crate::streaming::producer::Publish;
use crate::streaming::{ProducerHandle, Topic};
use crate::testkit::Probe;
use crate::testkit::fixtures::sample_time;
use actix::prelude::*;
use rust_decimal::Decimal;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

const RELIANCE: u32 = 738_561;
const INFY: u32 = 408_065;
const TCS: u32 = 2_953_217;

/// What the strategy does on each tick of its configured instrument (RELIANCE), in turn.
#[derive(Debug, Clone)]
enum Ask {
    Subscribe(&'static str, TickMode),
    Unsubscribe(&'static str),
    Nothing,
}

/// What the strategy saw: every tick's token, and the answer to each request.
#[derive(Clone, Default)]
struct Seen(Arc<Mutex<Vec<String>>>);

impl Seen {
    fn push(&self, line: String) {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(line);
    }

    fn take(&self) -> Vec<String> {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(PoisonError::into_inner))
    }
}

/// On each RELIANCE tick it makes its next request; it never trades.
struct Asking {
    asks: std::vec::IntoIter<Ask>,
    seen: Seen,
}

impl Strategy for Asking {
    fn on_tick(&mut self, tick: &MarketTick, ctx: &StrategyContext<'_>) -> Decision {
        self.seen.push(format!("tick {}", tick.token));
        if tick.token != RELIANCE {
            return Ok(None);
        }
        let answer = match self.asks.next().unwrap_or(Ask::Nothing) {
            Ask::Subscribe(symbol, mode) => ctx.subscribe(symbol, mode).map(|t| format!("{t}")),
            Ask::Unsubscribe(symbol) => ctx.unsubscribe(symbol).map(|()| "gone".into()),
            Ask::Nothing => return Ok(None),
        };
        self.seen.push(match answer {
            Ok(text) => format!("ok {text}"),
            Err(e) => format!("refused: {e}"),
        });
        Ok(None)
    }
}

fn slot(id: &str, asks: Vec<Ask>, seen: &Seen) -> StrategySlot {
    StrategySlot {
        id: id.into(),
        broker: Broker::Paper,
        tokens: vec![RELIANCE],
        strategy: Box::new(Asking {
            asks: asks.into_iter(),
            seen: seen.clone(),
        }),
    }
}

fn registry() -> Arc<InstrumentRegistry> {
    Arc::new(InstrumentRegistry::embedded().unwrap())
}

fn runner(slots: Vec<StrategySlot>, producer: &Probe<Publish>) -> StrategyRunner {
    StrategyRunner::new(RunnerArgs {
        slots,
        producer: ProducerHandle::new(producer.recipient()),
        history: None,
        unanswered_after: Duration::from_secs(3600),
    })
    .with_instruments(registry())
}

fn tick(token: u32, secs: i64) -> Envelope<MarketTick> {
    let ts = sample_time() + chrono::Duration::seconds(secs);
    Envelope::root(
        MarketTick::ltp(token, Decimal::from(100)),
        "market_feed",
        ts,
    )
}

/// Delivers a tick as the tick consumer does and answers the runtime subscription records
/// it published (its deliveries awaited, so the probe holds exactly them).
async fn on_tick(
    runner: &Addr<StrategyRunner>,
    producer: &mut Probe<Publish>,
    tick: &Envelope<MarketTick>,
) -> Vec<Envelope<SubscriptionsChanged>> {
    let deliver = Deliver {
        envelope: tick.clone(),
        origin: RecordOrigin {
            topic: Topic::MARKET_TICKS.name(),
            partition: 0,
            offset: 0,
        },
    };
    let completion = runner.send(deliver).await.unwrap().unwrap();
    for delivery in completion.deliveries {
        delivery.await.unwrap();
    }
    producer
        .drain()
        .iter()
        .map(|p| {
            assert_eq!(p.0.topic, "market.subscriptions");
            decode::<SubscriptionsChanged>(&p.0.value).expect("a valid record")
        })
        .collect()
}

fn wanted(token: u32, symbol: &str, mode: TickMode) -> WantedInstrument {
    WantedInstrument {
        token,
        symbol: symbol.into(),
        mode,
    }
}

#[actix::test]
async fn a_request_on_a_tick_is_published_whole_and_routes_the_instrument_until_unsubscribed() {
    let seen = Seen::default();
    let asks = vec![
        Ask::Subscribe("NSE:INFY", TickMode::Full),
        Ask::Subscribe("TCS", TickMode::Ltp),
        Ask::Unsubscribe("NSE:INFY"),
    ];
    let mut producer = Probe::<Publish>::acking_producer();
    let runner = runner(vec![slot("chooser", asks, &seen)], &producer).start();

    // Not subscribed yet: INFY's ticks do not reach it.
    assert!(
        on_tick(&runner, &mut producer, &tick(INFY, 1))
            .await
            .is_empty()
    );
    assert!(seen.take().is_empty());

    let cause = tick(RELIANCE, 2);
    let records = on_tick(&runner, &mut producer, &cause).await;
    assert_eq!(seen.take(), ["tick 738561", "ok 408065"]);
    assert_eq!(records.len(), 1, "{records:?}");
    let record = &records[0];
    assert_eq!(record.key, "chooser/paper");
    assert_eq!(record.causation_id, Some(cause.id), "a child of the tick");
    assert_eq!(
        record.data.instruments,
        [wanted(INFY, "INFY", TickMode::Full)]
    );
    assert!(
        on_tick(&runner, &mut producer, &tick(INFY, 3))
            .await
            .is_empty()
    );
    assert_eq!(seen.take(), ["tick 408065"], "routed at once");

    // The whole set each time, sorted by token.
    let records = on_tick(&runner, &mut producer, &tick(RELIANCE, 4)).await;
    assert_eq!(seen.take(), ["tick 738561", "ok 2953217"]);
    assert_eq!(
        records[0].data.instruments,
        [
            wanted(INFY, "INFY", TickMode::Full),
            wanted(TCS, "TCS", TickMode::Ltp)
        ]
    );

    let records = on_tick(&runner, &mut producer, &tick(RELIANCE, 5)).await;
    assert_eq!(seen.take(), ["tick 738561", "ok gone"]);
    assert_eq!(
        records[0].data.instruments,
        [wanted(TCS, "TCS", TickMode::Ltp)]
    );
    assert!(
        on_tick(&runner, &mut producer, &tick(INFY, 6))
            .await
            .is_empty()
    );
    assert!(seen.take().is_empty(), "INFY's ticks stopped");
    on_tick(&runner, &mut producer, &tick(TCS, 7)).await;
    assert_eq!(seen.take(), ["tick 2953217"]);
}

#[actix::test]
async fn an_unknown_instrument_is_refused_to_the_strategy_and_nothing_is_published() {
    let seen = Seen::default();
    let asks = vec![
        Ask::Subscribe("NFO:NOSUCH26DECFUT", TickMode::Full),
        Ask::Unsubscribe("NSE:INFY"),
    ];
    let mut producer = Probe::<Publish>::acking_producer();
    let runner = runner(vec![slot("chooser", asks, &seen)], &producer).start();
    assert!(
        on_tick(&runner, &mut producer, &tick(RELIANCE, 1))
            .await
            .is_empty()
    );
    assert_eq!(
        seen.take(),
        [
            "tick 738561",
            "refused: unknown instrument `NFO:NOSUCH26DECFUT` (not in the instrument registry)"
        ]
    );
    // Unsubscribing what is not subscribed is a no-op: nothing to publish.
    assert!(
        on_tick(&runner, &mut producer, &tick(RELIANCE, 2))
            .await
            .is_empty()
    );
    assert_eq!(seen.take(), ["tick 738561", "ok gone"]);
}

#[actix::test]
async fn a_configured_instrument_subscribed_again_reaches_the_strategy_once() {
    let seen = Seen::default();
    let asks = vec![Ask::Subscribe("RELIANCE", TickMode::Full)];
    let mut producer = Probe::<Publish>::acking_producer();
    let runner = runner(vec![slot("chooser", asks, &seen)], &producer).start();
    let records = on_tick(&runner, &mut producer, &tick(RELIANCE, 1)).await;
    assert_eq!(
        records[0].data.instruments,
        [wanted(RELIANCE, "RELIANCE", TickMode::Full)],
        "published: the feed streams it in full for this strategy"
    );
    seen.take();
    on_tick(&runner, &mut producer, &tick(RELIANCE, 2)).await;
    assert_eq!(seen.take(), ["tick 738561"]);
}

/// A restart: each slot gets its latest record's set; a token the registry no longer
/// knows is dropped and the corrected set published; a requester of this runner's broker
/// that is no slot here is withdrawn; another broker's requester is left alone.
#[actix::test]
async fn a_restart_restores_the_latest_sets_and_publishes_the_corrections() {
    let seen = Seen::default();
    let mut producer = Probe::<Publish>::acking_producer();
    let mut runner = runner(vec![slot("chooser", Vec::new(), &seen)], &producer);
    let record = |strategy: &str, broker: Broker, instruments: Vec<WantedInstrument>| {
        let data = SubscriptionsChanged {
            strategy_id: strategy.into(),
            broker,
            instruments,
        };
        Envelope::root(data, SERVICE, sample_time())
    };
    let expired = 999_999_999; // no such token in the registry
    let history = [
        record(
            "chooser",
            Broker::Paper,
            vec![wanted(INFY, "INFY", TickMode::Quote)],
        ),
        record(
            "gone",
            Broker::Paper,
            vec![wanted(TCS, "TCS", TickMode::Ltp)],
        ),
        record(
            "live",
            Broker::Zerodha,
            vec![wanted(TCS, "TCS", TickMode::Ltp)],
        ),
        // The latest of `chooser` wins.
        record(
            "chooser",
            Broker::Paper,
            vec![
                wanted(INFY, "INFY", TickMode::Full),
                wanted(expired, "NIFTY25JANFUT", TickMode::Full),
            ],
        ),
    ];
    let deliveries = runner.restore_subscriptions(&history, sample_time());
    for delivery in deliveries {
        delivery.await.unwrap();
    }
    let mut published: Vec<SubscriptionsChanged> = producer
        .drain()
        .iter()
        .map(|p| decode::<SubscriptionsChanged>(&p.0.value).unwrap().data)
        .collect();
    published.sort_by(|a, b| a.strategy_id.cmp(&b.strategy_id));
    assert_eq!(
        published,
        [
            SubscriptionsChanged {
                strategy_id: "chooser".into(),
                broker: Broker::Paper,
                instruments: vec![wanted(INFY, "INFY", TickMode::Full)],
            },
            SubscriptionsChanged {
                strategy_id: "gone".into(),
                broker: Broker::Paper,
                instruments: Vec::new(),
            },
        ]
    );
    let runner = runner.start();
    assert!(
        on_tick(&runner, &mut producer, &tick(INFY, 1))
            .await
            .is_empty()
    );
    assert_eq!(seen.take(), ["tick 408065"], "the rebuilt set routes");
}

/// A set whose publication failed is published again with the next handling (the
/// consumer redelivers the tick; the strategy, asked again, changes nothing).
#[actix::test]
async fn a_set_whose_publication_failed_is_published_again_with_the_next_tick() {
    let seen = Seen::default();
    let asks = vec![Ask::Subscribe("INFY", TickMode::Quote)];
    let calls = std::sync::atomic::AtomicUsize::new(0);
    let mut producer = Probe::<Publish>::with_reply(move |_| {
        use crate::streaming::producer::{Delivered, PublishError};
        if calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst) == 0 {
            return Err(PublishError::Transient {
                topic: "market.subscriptions".into(),
                reason: "broker down (test)".into(),
            });
        }
        Ok(Delivered {
            partition: 0,
            offset: 0,
        })
    });
    let runner = runner(vec![slot("chooser", asks, &seen)], &producer).start();
    let first = tick(RELIANCE, 1);
    let deliver = Deliver {
        envelope: first.clone(),
        origin: RecordOrigin {
            topic: Topic::MARKET_TICKS.name(),
            partition: 0,
            offset: 0,
        },
    };
    let completion = runner.send(deliver).await.unwrap().unwrap();
    let results: Vec<bool> = futures::future::join_all(completion.deliveries)
        .await
        .iter()
        .map(Result::is_ok)
        .collect();
    assert_eq!(results, [false], "the only output failed");
    assert_eq!(producer.drain().len(), 1);
    // Redelivered: the strategy finds INFY subscribed, yet the set goes out again.
    let records = on_tick(&runner, &mut producer, &first).await;
    assert_eq!(records.len(), 1, "{records:?}");
    assert_eq!(
        records[0].data.instruments,
        [wanted(INFY, "INFY", TickMode::Quote)]
    );
    assert!(
        on_tick(&runner, &mut producer, &tick(RELIANCE, 2))
            .await
            .is_empty()
    );
}
