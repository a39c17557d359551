//! The runner with scripted strategies and a probe as its producer.

use super::*;
use crate::messages::{
    Broker, Envelope, MarketTick, OrderType, RecordOrigin, Side, TradingSignal, Validity, decode,
};
use crate::strategy::{SignalIntent, Strategy};
use crate::streaming::ProducerHandle;
use crate::streaming::consumer::Deliver;
use crate::streaming::producer::Publish;
use crate::testkit::Probe;
use actix::prelude::*;
use chrono::{TimeZone, Utc};
use rust_decimal::Decimal;
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(5);

/// Buys 10 whenever the price ends in .00, and panics on a price of 13.13.
struct Scripted {
    id: String,
}

impl Strategy for Scripted {
    fn id(&self) -> &str {
        &self.id
    }
    fn on_tick(&mut self, tick: &MarketTick, _at: chrono::DateTime<Utc>) -> Option<SignalIntent> {
        if tick.last_price == Decimal::new(1313, 2) {
            panic!("bad tick for {}", self.id);
        }
        (tick.last_price.fract().is_zero()).then(|| SignalIntent {
            side: Side::Buy,
            quantity: 10,
            order_type: OrderType::Market,
            price: None,
            trigger_price: None,
            validity: Validity::Day,
            reason: "round price".into(),
        })
    }
}

fn slot(id: &str, brokers: &[Broker], tokens: &[u32]) -> StrategySlot {
    StrategySlot {
        id: id.into(),
        brokers: brokers.to_vec(),
        tokens: tokens.to_vec(),
        strategy: Box::new(Scripted { id: id.into() }),
    }
}

fn deliver(token: u32, price_paise: i64) -> Deliver<MarketTick> {
    let mut tick = MarketTick::ltp(token, Decimal::new(price_paise, 2));
    tick.symbol = Some(format!("SYM{token}"));
    Deliver {
        envelope: Envelope::root(
            tick,
            "market_feed",
            Utc.with_ymd_and_hms(2026, 11, 26, 4, 0, 0).unwrap(),
        ),
        origin: RecordOrigin {
            topic: "market.ticks".into(),
            partition: 0,
            offset: 0,
        },
    }
}

fn signal_of(p: &Publish) -> (String, Envelope<TradingSignal>) {
    (
        p.0.topic.clone(),
        decode::<TradingSignal>(&p.0.value).unwrap(),
    )
}

#[actix::test]
async fn routes_ticks_only_to_strategies_of_that_instrument_and_fans_out_per_broker() {
    let mut producer = Probe::<Publish>::acking_producer();
    let runner = StrategyRunner::new(
        vec![
            slot("both", &[Broker::Paper, Broker::Zerodha], &[1]),
            slot("other", &[Broker::Paper], &[2]),
        ],
        ProducerHandle::new(producer.recipient()),
    )
    .start();
    let tick = deliver(1, 10_000);
    let tick_id = tick.envelope.id;
    runner.send(tick.clone()).await.unwrap().unwrap();
    let published: Vec<(String, Envelope<TradingSignal>)> = producer
        .expect_msgs(2, WAIT)
        .await
        .iter()
        .map(signal_of)
        .collect();
    assert_eq!(published[0].0, "paper.signals.raw");
    assert_eq!(published[1].0, "zerodha.signals.raw");
    for (_, env) in &published {
        assert_eq!(env.data.strategy_id, "both");
        assert_eq!((env.data.side, env.data.quantity), (Side::Buy, 10));
        assert_eq!(env.data.reference_price, Decimal::new(10_000, 2));
        assert_eq!(env.data.symbol, "SYM1");
        assert_eq!(env.causation_id, Some(tick_id));
        assert_eq!(env.key, "both:1");
    }
    // Redelivery of the same tick yields the same signal ids (dedup downstream).
    runner.send(tick).await.unwrap().unwrap();
    let again: Vec<_> = producer
        .expect_msgs(2, WAIT)
        .await
        .iter()
        .map(signal_of)
        .collect();
    assert_eq!(again[0].1.id, published[0].1.id);
    // Not a round price: no signal; a tick of an instrument nobody trades: nothing.
    runner.send(deliver(1, 10_001)).await.unwrap().unwrap();
    runner.send(deliver(3, 10_000)).await.unwrap().unwrap();
    producer.expect_no_msg(Duration::from_millis(100)).await;
}

#[actix::test]
async fn a_strategy_that_keeps_panicking_is_disabled_and_the_others_keep_running() {
    let mut producer = Probe::<Publish>::acking_producer();
    let runner = StrategyRunner::new(
        vec![
            slot("fragile", &[Broker::Paper], &[1]),
            slot("steady", &[Broker::Paper], &[2]),
        ],
        ProducerHandle::new(producer.recipient()),
    )
    .start();
    for _ in 0..MAX_FAILURES {
        runner.send(deliver(1, 1313)).await.unwrap().unwrap();
    }
    let status = runner.send(GetRunnerStatus).await.unwrap();
    assert_eq!(status.strategies[0].0, "fragile");
    assert!(
        status.strategies[0]
            .1
            .as_deref()
            .unwrap()
            .contains("bad tick for fragile")
    );
    assert_eq!(status.strategies[1], ("steady".into(), None));
    // Disabled: a signal-worthy tick produces nothing; the other strategy still trades.
    runner.send(deliver(1, 10_000)).await.unwrap().unwrap();
    runner.send(deliver(2, 10_000)).await.unwrap().unwrap();
    let (_, env) = signal_of(&producer.expect_msg(WAIT).await);
    assert_eq!(env.data.strategy_id, "steady");
    producer.expect_no_msg(Duration::from_millis(100)).await;
}
