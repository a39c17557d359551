//! The risk manager with probes: validated or rejected, the kill switch (read back after a
//! restart), separate brokers, a redelivered signal's verdict, the loss limit and flatten,
//! and the market's rules (the MIS entry cutoff). The rebuild from the topics is tested
//! against a real broker in `tests/risk_rebuild.rs`.

use super::*;
use crate::alerts::AlertKind;
use crate::alerts::capture::Capture;
use crate::market::{InstrumentRegistry, IntradayDay, MarketCalendar};
use crate::messages::{
    Broker, Envelope, Fees, OrderFilled, OrderRef, OrderType, RecordOrigin, RejectedSignal,
    RejectionCode, Side, TradingSignal, ValidatedSignal, Validity, decode,
};
use crate::messages::{Product, Rejection};
use crate::risk::{MarketRules, ProductRule, RiskLimits, TradingState};
use crate::store::{MemoryStore, Store};
use crate::streaming::ProducerHandle;
use crate::streaming::consumer::Completion;
use crate::streaming::consumer::Deliver;
use crate::streaming::producer::Publish;
use crate::testkit::Probe;
use actix::prelude::*;
use chrono::{TimeZone, Utc};
use rust_decimal::Decimal;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(5);

fn at() -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 26, 4, 30, 0).unwrap()
}

fn origin() -> RecordOrigin {
    RecordOrigin {
        topic: "t".into(),
        partition: 0,
        offset: 0,
    }
}

fn signal(broker: Broker, side: Side, quantity: u32) -> Deliver<TradingSignal> {
    let s = TradingSignal {
        strategy_id: "s1".into(),
        broker,
        token: 738_561,
        symbol: "RELIANCE".into(),
        side,
        quantity,
        order_type: OrderType::Market,
        price: None,
        trigger_price: None,
        validity: Validity::Day,
        reference_price: Decimal::from(100),
        reason: "test".into(),
        product: None,
        position: 0,
    };
    Deliver {
        envelope: Envelope::root(s, "strategy_runner", at()),
        origin: origin(),
    }
}

fn fill(broker: Broker, quantity: u32) -> Deliver<OrderFilled> {
    let f = OrderFilled {
        order: OrderRef {
            client_order_id: "ap1".into(),
            broker_order_id: None,
            strategy_id: "s1".into(),
            broker,
            token: 738_561,
            symbol: "RELIANCE".into(),
            side: Side::Buy,
        },
        fill_id: "ap1-1".into(),
        quantity,
        price: Decimal::from(100),
        fees: Fees::default(),
        cumulative_quantity: quantity,
        order_quantity: quantity,
        filled_at: at(),
    };
    Deliver {
        envelope: Envelope::root(f, "paper_execution", at()),
        origin: origin(),
    }
}

fn limits() -> BTreeMap<Broker, RiskLimits> {
    let l = RiskLimits {
        max_order_quantity: Some(50),
        max_position: Some(60),
        ..RiskLimits::default()
    };
    BTreeMap::from([(Broker::Paper, l.clone()), (Broker::Zerodha, l)])
}

fn start(store: Arc<dyn Store>, producer: &Probe<Publish>) -> Addr<RiskManager> {
    RiskManager::new(limits(), ProducerHandle::new(producer.recipient()), store).start()
}

#[actix::test]
async fn passing_signals_are_validated_and_failing_ones_rejected_with_their_codes() {
    let mut out = Probe::<Publish>::acking_producer();
    let risk = start(Arc::new(MemoryStore::default()), &out);
    risk.send(signal(Broker::Paper, Side::Buy, 10))
        .await
        .unwrap()
        .unwrap();
    let p = out.expect_msg(WAIT).await;
    assert_eq!(p.0.topic, "paper.signals.validated");
    assert_eq!(
        decode::<ValidatedSignal>(&p.0.value)
            .unwrap()
            .data
            .signal
            .quantity,
        10
    );

    risk.send(signal(Broker::Paper, Side::Buy, 80))
        .await
        .unwrap()
        .unwrap();
    let p = out.expect_msg(WAIT).await;
    assert_eq!(p.0.topic, "paper.signals.rejected");
    let codes: Vec<RejectionCode> = decode::<RejectedSignal>(&p.0.value)
        .unwrap()
        .data
        .reasons
        .iter()
        .map(|r| r.code)
        .collect();
    assert!(
        codes.contains(&RejectionCode::MaxOrderQuantity),
        "{codes:?}"
    );
    out.expect_no_msg(Duration::from_millis(100)).await;
}

#[actix::test]
async fn the_kill_switch_halts_one_broker_only() {
    let alerts = Capture::start();
    let mut out = Probe::<Publish>::acking_producer();
    let risk = start(Arc::new(MemoryStore::default()), &out);
    let set = risk
        .send(SetTradingState {
            broker: Broker::Zerodha,
            state: TradingState::Halted,
        })
        .await
        .unwrap();
    assert_eq!(set, Ok(TradingState::Halted));
    risk.send(signal(Broker::Zerodha, Side::Buy, 1))
        .await
        .unwrap()
        .unwrap();
    risk.send(signal(Broker::Paper, Side::Buy, 1))
        .await
        .unwrap()
        .unwrap();
    let topics: Vec<String> = out
        .expect_msgs(2, WAIT)
        .await
        .into_iter()
        .map(|p| p.0.topic)
        .collect();
    assert_eq!(
        topics,
        ["zerodha.signals.rejected", "paper.signals.validated"]
    );
    assert_eq!(
        risk.send(GetTradingState(Broker::Paper)).await.unwrap(),
        Some(TradingState::Active)
    );
    let halted = alerts.of(AlertKind::TradingHalted);
    assert_eq!(halted.len(), 1, "{halted:?}");
    assert_eq!(
        (halted[0].broker, halted[0].subject.as_str()),
        (Some(Broker::Zerodha), "kill_switch")
    );
    assert_eq!(
        halted[0].message,
        "zerodha HALTED: trading state set from ACTIVE to HALTED (kill switch)"
    );
    // Setting the state it already has is no change: no second alert.
    risk.send(SetTradingState {
        broker: Broker::Zerodha,
        state: TradingState::Halted,
    })
    .await
    .unwrap()
    .unwrap();
    assert_eq!(alerts.of(AlertKind::TradingHalted).len(), 1);
}

fn fill_with(broker: Broker, fill_id: &str, side: Side, quantity: u32) -> Deliver<OrderFilled> {
    let mut d = fill(broker, quantity);
    d.envelope.data.fill_id = fill_id.into();
    d.envelope.data.order.side = side;
    d
}

/// Handles `m` and waits for its outputs and its save, as the consumer does.
async fn handled<M>(risk: &Addr<RiskManager>, m: M)
where
    M: Message<Result = crate::streaming::consumer::HandlerResult> + Send + 'static,
    RiskManager: Handler<M>,
{
    let completion: Completion = risk.send(m).await.unwrap().unwrap();
    futures::future::try_join_all(completion.deliveries)
        .await
        .unwrap();
}

/// The topic of the next output and its rejection codes.
async fn next_verdict(out: &mut Probe<Publish>) -> (String, Vec<RejectionCode>) {
    let p = out.expect_msg(WAIT).await;
    let codes = decode::<RejectedSignal>(&p.0.value)
        .map(|r| r.data.reasons.iter().map(|r| r.code).collect())
        .unwrap_or_default();
    (p.0.topic, codes)
}

#[actix::test]
async fn a_restarted_risk_manager_reads_its_kill_switch_back_from_the_store() {
    let store: Arc<dyn Store> = Arc::new(MemoryStore::default());
    let mut out = Probe::<Publish>::acking_producer();
    let first = start(store.clone(), &out);
    let set = first
        .send(SetTradingState {
            broker: Broker::Paper,
            state: TradingState::Reducing,
        })
        .await
        .unwrap();
    assert_eq!(set, Ok(TradingState::Reducing));
    drop(first);
    let second = start(store.clone(), &out);
    assert_eq!(
        second.send(GetTradingState(Broker::Paper)).await.unwrap(),
        Some(TradingState::Reducing)
    );
    assert_eq!(
        second.send(GetTradingState(Broker::Zerodha)).await.unwrap(),
        Some(TradingState::Active)
    );
    handled(&second, signal(Broker::Paper, Side::Buy, 1)).await;
    assert_eq!(
        next_verdict(&mut out).await,
        (
            "paper.signals.rejected".into(),
            vec![RejectionCode::TradingReducing]
        )
    );
}

#[actix::test]
async fn an_unreadable_saved_state_starts_the_broker_halted() {
    let alerts = Capture::start();
    let store: Arc<dyn Store> = Arc::new(MemoryStore::default());
    store
        .put(
            super::STATE_INDEX,
            &state_key(Broker::Paper),
            "{not json".into(),
        )
        .await
        .unwrap();
    let out = Probe::<Publish>::acking_producer();
    let risk = start(store, &out);
    assert_eq!(
        risk.send(GetTradingState(Broker::Paper)).await.unwrap(),
        Some(TradingState::Halted)
    );
    let halted = alerts.of(AlertKind::TradingHalted);
    assert_eq!(halted.len(), 1, "{halted:?}");
    assert_eq!(halted[0].subject, "state_unreadable");
    assert_eq!(halted[0].broker, Some(Broker::Paper));
}

/// A raw signal redelivered (its offset not committed before a crash) gets the verdict it
/// got, published again with the same id, and is counted once.
#[actix::test]
async fn a_redelivered_signal_gets_its_first_verdict_again() {
    let mut out = Probe::<Publish>::acking_producer();
    let risk = start(Arc::new(MemoryStore::default()), &out);
    let small = signal(Broker::Paper, Side::Buy, 40);
    let again = Deliver {
        envelope: small.envelope.clone(),
        origin: origin(),
    };
    handled(&risk, small).await;
    let first = out.expect_msg(WAIT).await;
    // Long 0 + 40 in flight: another 40 would make 80 > 60.
    handled(&risk, signal(Broker::Paper, Side::Buy, 40)).await;
    assert_eq!(
        next_verdict(&mut out).await,
        (
            "paper.signals.rejected".into(),
            vec![RejectionCode::MaxPosition]
        )
    );
    risk.send(SetTradingState {
        broker: Broker::Paper,
        state: TradingState::Halted,
    })
    .await
    .unwrap()
    .unwrap();
    handled(&risk, again).await;
    let repeat = out.expect_msg(WAIT).await;
    assert_eq!(repeat.0.topic, "paper.signals.validated");
    assert_eq!(repeat.0.value, first.0.value, "the same event, the same id");
    out.expect_no_msg(Duration::from_millis(100)).await;
}

/// The loss limit marked to market: a tick takes the open loss to the limit, the broker
/// goes REDUCING and, with `flatten`, the risk manager sends the closing order itself.
#[actix::test]
async fn a_loss_limit_reached_on_a_tick_flattens_the_position() {
    let alerts = Capture::start();
    let mut out = Probe::<Publish>::acking_producer();
    let limits = RiskLimits {
        daily_loss_limit: Some(Decimal::from(500)),
        on_loss_limit: crate::risk::LossAction::Flatten,
        ..RiskLimits::default()
    };
    let risk = RiskManager::new(
        BTreeMap::from([(Broker::Paper, limits)]),
        ProducerHandle::new(out.recipient()),
        Arc::new(MemoryStore::default()),
    )
    .start();
    handled(&risk, fill(Broker::Paper, 50)).await; // Long 50 at 100.
    handled(&risk, tick(95)).await; // −250: not yet.
    handled(&risk, tick(90)).await; // −500: reached.
    let p = out.expect_msg(WAIT).await;
    assert_eq!(p.0.topic, "paper.signals.validated");
    let closing = decode::<ValidatedSignal>(&p.0.value).unwrap().data.signal;
    assert_eq!(
        (
            closing.side,
            closing.quantity,
            closing.order_type,
            closing.strategy_id.as_str()
        ),
        (Side::Sell, 50, OrderType::Market, "s1")
    );
    assert_eq!(
        risk.send(GetTradingState(Broker::Paper)).await.unwrap(),
        Some(TradingState::Reducing)
    );
    let loss = alerts.of(AlertKind::LossLimit);
    assert_eq!(loss.len(), 1, "{loss:?}");
    assert_eq!(
        (loss[0].broker, loss[0].subject.as_str()),
        (Some(Broker::Paper), "broker")
    );
    assert!(
        loss[0]
            .message
            .contains("reached the daily loss limit -500"),
        "{}",
        loss[0].message
    );
    let reducing = alerts.of(AlertKind::TradingReducing);
    assert_eq!(reducing.len(), 1, "{reducing:?}");
    assert_eq!(reducing[0].subject, "loss_limit");
    // A lower price again sends nothing more: the order is in flight, the limit reported.
    handled(&risk, tick(80)).await;
    out.expect_no_msg(Duration::from_millis(100)).await;
    assert_eq!(alerts.of(AlertKind::LossLimit).len(), 1, "reported once");
    // The operator's flatten now has nothing left to send.
    let report = risk
        .send(Flatten {
            broker: Broker::Paper,
        })
        .await
        .unwrap()
        .unwrap();
    assert_eq!(report.orders, 0);
}

#[actix::test]
async fn flatten_closes_every_position_and_is_refused_while_held() {
    let alerts = Capture::start();
    let mut out = Probe::<Publish>::acking_producer();
    let holds = TradingHolds::default();
    let risk = RiskManager::new(
        limits(),
        ProducerHandle::new(out.recipient()),
        Arc::new(MemoryStore::default()),
    )
    .with_holds(holds.clone())
    .start();
    handled(&risk, fill(Broker::Paper, 30)).await;
    handled(&risk, fill_with(Broker::Paper, "other", Side::Sell, 10)).await; // Long 20.
    holds.hold(Broker::Paper, "test", "reconciliation pending");
    let refused = risk
        .send(Flatten {
            broker: Broker::Paper,
        })
        .await
        .unwrap();
    assert_eq!(
        refused,
        Err("paper is held HALTED (reconciliation pending): nothing can be sent".into())
    );
    assert!(
        alerts.of(AlertKind::TradingReducing).is_empty(),
        "a refused flatten changes nothing"
    );
    holds.release(Broker::Paper, "test");
    let report = risk
        .send(Flatten {
            broker: Broker::Paper,
        })
        .await
        .unwrap()
        .unwrap();
    assert_eq!((report.state, report.orders), (TradingState::Reducing, 1));
    let closing = decode::<ValidatedSignal>(&out.expect_msg(WAIT).await.0.value)
        .unwrap()
        .data
        .signal;
    assert_eq!((closing.side, closing.quantity), (Side::Sell, 20));
    let reducing = alerts.of(AlertKind::TradingReducing);
    assert_eq!(reducing.len(), 1, "{reducing:?}");
    assert_eq!(reducing[0].subject, "flatten");
    assert_eq!(
        reducing[0].message,
        "paper REDUCING: flatten: REDUCING, 1 closing orders sent"
    );
}

fn tick(price: i64) -> Deliver<crate::messages::MarketTick> {
    let t = crate::messages::MarketTick::ltp(738_561, Decimal::from(price));
    Deliver {
        envelope: Envelope::root(t, "market_feed", at()),
        origin: origin(),
    }
}

/// Paper: every order MIS, entries closing at 15:00 IST, the embedded registry's grids.
fn mis_rules() -> BTreeMap<Broker, MarketRules> {
    let hm = |h, m| chrono::NaiveTime::from_hms_opt(h, m, 0).unwrap();
    let day = IntradayDay::new(hm(15, 0), hm(15, 15), hm(15, 20), MarketCalendar::default());
    let rules = MarketRules::new(&InstrumentRegistry::embedded().unwrap())
        .with_entry_cutoff(Some(day), ProductRule::Fixed(Product::Mis));
    BTreeMap::from([(Broker::Paper, rules)])
}

#[actix::test]
async fn an_mis_entry_after_the_cutoff_is_rejected_and_a_reduction_validated() {
    let store: Arc<dyn Store> = Arc::new(MemoryStore::default());
    let mut out = Probe::<Publish>::acking_producer();
    let start_mis = || {
        RiskManager::new(
            limits(),
            ProducerHandle::new(out.recipient()),
            store.clone(),
        )
        .with_market(mis_rules())
        .start()
    };
    let second = start_mis();
    handled(&second, fill(Broker::Paper, 50)).await; // Long 50 at 10:00 IST.
    // Thursday 2026-11-26, 15:05 IST.
    let late = Utc.with_ymd_and_hms(2026, 11, 26, 9, 35, 0).unwrap();
    let at_late = |mut d: Deliver<TradingSignal>| {
        d.envelope.ts = late;
        d
    };
    handled(&second, at_late(signal(Broker::Paper, Side::Buy, 10))).await;
    handled(&second, at_late(signal(Broker::Paper, Side::Sell, 50))).await;
    let p = out.expect_msg(WAIT).await;
    assert_eq!(p.0.topic, "paper.signals.rejected");
    assert_eq!(
        decode::<RejectedSignal>(&p.0.value).unwrap().data.reasons,
        [Rejection {
            code: RejectionCode::EntryCutoff,
            message: "MIS entries closed at 15:00 IST on 2026-11-26: order +10 at 15:05:00 IST \
                      moves position 50 to 60, not toward zero"
                .into(),
        }]
    );
    assert_eq!(next_verdict(&mut out).await.0, "paper.signals.validated");
    out.expect_no_msg(Duration::from_millis(100)).await;
}
