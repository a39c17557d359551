//! The risk manager with probes: validated or rejected, the kill switch, separate brokers,
//! and state read back after a restart.

use super::*;
use crate::messages::{
    Broker, Envelope, Fees, OrderFilled, OrderRef, OrderType, RecordOrigin, RejectedSignal,
    RejectionCode, Side, TradingSignal, ValidatedSignal, Validity, decode,
};
use crate::risk::{RiskLimits, TradingState};
use crate::store::{MemoryStore, Store};
use crate::streaming::ProducerHandle;
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
}

#[actix::test]
async fn a_restarted_risk_manager_reads_its_state_back_from_the_store() {
    let store: Arc<dyn Store> = Arc::new(MemoryStore::default());
    let mut out = Probe::<Publish>::acking_producer();
    let first = start(store.clone(), &out);
    first.send(fill(Broker::Paper, 50)).await.unwrap().unwrap();
    first.send(fill(Broker::Paper, 50)).await.unwrap().unwrap(); // redelivered: same fill id
    first
        .send(SetTradingState {
            broker: Broker::Zerodha,
            state: TradingState::Reducing,
        })
        .await
        .unwrap()
        .unwrap();
    drop(first);

    let second = start(store, &out);
    assert_eq!(
        second.send(GetTradingState(Broker::Zerodha)).await.unwrap(),
        Some(TradingState::Reducing)
    );
    // The position of 50 survived: 20 more would exceed max_position 60.
    second
        .send(signal(Broker::Paper, Side::Buy, 20))
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
    assert_eq!(codes, [RejectionCode::MaxPosition]);
}

#[actix::test]
async fn a_redelivered_validated_signal_is_published_again_but_counted_once() {
    let mut out = Probe::<Publish>::acking_producer();
    let store: Arc<dyn Store> = Arc::new(MemoryStore::default());
    let one_trade = RiskLimits {
        max_daily_trades: Some(1),
        ..RiskLimits::default()
    };
    let risk = RiskManager::new(
        BTreeMap::from([(Broker::Paper, one_trade.clone())]),
        ProducerHandle::new(out.recipient()),
        store.clone(),
    )
    .start();
    let first = signal(Broker::Paper, Side::Buy, 10);
    risk.send(first.clone()).await.unwrap().unwrap();
    let validated = out.expect_msg(WAIT).await;
    assert_eq!(validated.0.topic, "paper.signals.validated");
    // Redelivered (its outputs' fate unknown): the same event again, not a second trade.
    risk.send(first.clone()).await.unwrap().unwrap();
    let again = out.expect_msg(WAIT).await;
    assert_eq!(again.0.value, validated.0.value);
    // The limit counted it once: the next, different signal is the second trade.
    risk.send(signal(Broker::Paper, Side::Buy, 10))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(out.expect_msg(WAIT).await.0.topic, "paper.signals.rejected");

    // After a restart from the saved state, still counted once.
    let restarted = RiskManager::new(
        BTreeMap::from([(Broker::Paper, one_trade)]),
        ProducerHandle::new(out.recipient()),
        store,
    )
    .start();
    restarted.send(first).await.unwrap().unwrap();
    assert_eq!(out.expect_msg(WAIT).await.0.value, validated.0.value);
    out.expect_no_msg(Duration::from_millis(100)).await;
}
