//! The risk manager with probes: validated or rejected, the kill switch, separate brokers,
//! state read back after a restart (the remembered ids bounded, the old format migrated),
//! a failed save made good by the redelivery, and the market's rules (the MIS entry cutoff)
//! applied to a restored book.

use super::*;
use crate::market::{InstrumentRegistry, IntradayDay, MarketCalendar};
use crate::messages::{
    Broker, Envelope, Fees, OrderFilled, OrderRef, OrderType, RecordOrigin, RejectedSignal,
    RejectionCode, Side, TradingSignal, ValidatedSignal, Validity, decode,
};
use crate::messages::{Product, Rejection};
use crate::risk::{BrokerRisk, MarketRules, ProductRule, RiskLimits, TradingState};
use crate::store::{ListWrite, MemoryStore, Store, StoreError, ValueWithLists};
use crate::streaming::ProducerHandle;
use crate::streaming::consumer::Completion;
use crate::streaming::consumer::Deliver;
use crate::streaming::producer::Publish;
use crate::testkit::Probe;
use actix::prelude::*;
use chrono::{TimeZone, Utc};
use futures::future::BoxFuture;
use rust_decimal::Decimal;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
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

async fn saved(store: &Arc<dyn Store>, broker: Broker) -> ValueWithLists {
    let (fills, signals) = (applied_fills_key(broker), validated_key(broker));
    store
        .get_with_lists(&state_key(broker), &[&fills, &signals])
        .await
        .unwrap()
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
async fn a_restart_after_more_fills_than_kept_remembers_exactly_the_last_5000() {
    let store: Arc<dyn Store> = Arc::new(MemoryStore::default());
    let mut out = Probe::<Publish>::acking_producer();
    let first = start(store.clone(), &out);
    // Long 59, then sell 1, buy 1, ...: long 59 again after an even number of fills.
    handled(&first, fill_with(Broker::Paper, "base", Side::Buy, 59)).await;
    let n = recent::KEPT + 10;
    for i in 0..n {
        let side = if i.is_multiple_of(2) {
            Side::Sell
        } else {
            Side::Buy
        };
        handled(&first, fill_with(Broker::Paper, &format!("f{i}"), side, 1)).await;
    }
    drop(first);

    let expected: Vec<String> = (10..n).map(|i| format!("f{i}")).collect();
    let state = saved(&store, Broker::Paper).await;
    assert_eq!(state.lists[0], expected);
    assert!(state.lists[1].is_empty());

    let second = start(store.clone(), &out);
    // The last fill (a buy of 1) redelivered within the window: not applied again, so
    // the position is 59, not 60: a buy of 2 breaks max_position 60, a buy of 1 does not.
    let last = fill_with(Broker::Paper, &format!("f{}", n - 1), Side::Buy, 1);
    handled(&second, last).await;
    handled(&second, signal(Broker::Paper, Side::Buy, 2)).await;
    handled(&second, signal(Broker::Paper, Side::Buy, 1)).await;
    assert_eq!(
        next_verdict(&mut out).await,
        (
            "paper.signals.rejected".into(),
            vec![RejectionCode::MaxPosition]
        )
    );
    assert_eq!(next_verdict(&mut out).await.0, "paper.signals.validated");
    // Still exactly the last 5,000 fills (nothing new was applied), and the one signal.
    let state = saved(&store, Broker::Paper).await;
    assert_eq!(state.lists[0], expected);
    assert_eq!(state.lists[1].len(), 1);
}

#[actix::test]
async fn a_fill_redelivered_after_a_restart_is_not_applied_twice() {
    let store: Arc<dyn Store> = Arc::new(MemoryStore::default());
    let mut out = Probe::<Publish>::acking_producer();
    let first = start(store.clone(), &out);
    handled(&first, fill(Broker::Paper, 50)).await;
    drop(first);

    let second = start(store.clone(), &out);
    handled(&second, fill(Broker::Paper, 50)).await; // Redelivered: same fill id.
    // Long 50, not 100: 10 more reaches max_position 60 exactly, 11 would not.
    handled(&second, signal(Broker::Paper, Side::Buy, 11)).await;
    handled(&second, signal(Broker::Paper, Side::Buy, 10)).await;
    assert_eq!(
        next_verdict(&mut out).await,
        (
            "paper.signals.rejected".into(),
            vec![RejectionCode::MaxPosition]
        )
    );
    assert_eq!(next_verdict(&mut out).await.0, "paper.signals.validated");
}

#[actix::test]
async fn a_risk_state_saved_in_the_old_format_is_read_and_rewritten_once() {
    // The format of earlier versions: the ids inside the one value.
    let limits = RiskLimits {
        max_position: Some(60),
        max_daily_trades: Some(2),
        ..RiskLimits::default()
    };
    let (old_fill, old_signal) = (fill(Broker::Paper, 50), signal(Broker::Paper, Side::Buy, 5));
    let mut book = BrokerRisk::new(Broker::Paper, limits.clone());
    let _ = book.on_fill(&old_fill.envelope.data, at());
    assert!(book.check(&old_signal.envelope.data, at()).is_ok());
    let old = serde_json::json!({
        "snapshot": book.snapshot(),
        "applied_fills": [old_fill.envelope.data.fill_id],
        "validated": [old_signal.envelope.id],
    });
    let store: Arc<dyn Store> = Arc::new(MemoryStore::default());
    let key = state_key(Broker::Paper);
    store.put(STATE_INDEX, &key, old.to_string()).await.unwrap();
    let mut out = Probe::<Publish>::acking_producer();
    let start_paper = || {
        let limits = BTreeMap::from([(Broker::Paper, limits.clone())]);
        RiskManager::new(limits, ProducerHandle::new(out.recipient()), store.clone()).start()
    };

    let first = start_paper();
    // Rewritten at start: the book alone under the key, the ids in their lists.
    first.send(GetTradingState(Broker::Paper)).await.unwrap();
    let state = saved(&store, Broker::Paper).await;
    let value: serde_json::Value = serde_json::from_str(state.value.as_deref().unwrap()).unwrap();
    assert_eq!(value["version"], 2);
    assert_eq!(value["snapshot"], old["snapshot"]);
    assert!(value.get("applied_fills").is_none() && value.get("validated").is_none());
    assert_eq!(state.lists[0], ["ap1-1"]);
    assert_eq!(state.lists[1], [old_signal.envelope.id.to_string()]);
    drop(first);

    // Read again in the current format: the same state.
    let second = start_paper();
    handled(&second, old_fill).await; // Applied already: long 50, not 100.
    handled(&second, old_signal).await; // Validated already: published, not counted.
    assert_eq!(next_verdict(&mut out).await.0, "paper.signals.validated");
    handled(&second, signal(Broker::Paper, Side::Buy, 10)).await; // The 2nd trade; 60.
    assert_eq!(next_verdict(&mut out).await.0, "paper.signals.validated");
    handled(&second, signal(Broker::Paper, Side::Sell, 1)).await;
    assert_eq!(
        next_verdict(&mut out).await,
        (
            "paper.signals.rejected".into(),
            vec![RejectionCode::MaxDailyTrades]
        )
    );
}

/// A memory store whose writes fail while `down` is set.
#[derive(Default)]
struct FlakyStore {
    inner: MemoryStore,
    down: AtomicBool,
}

impl FlakyStore {
    fn refuse<T: Send + 'static>(&self) -> Option<BoxFuture<'static, Result<T, StoreError>>> {
        self.down
            .load(Ordering::SeqCst)
            .then(|| -> BoxFuture<'static, _> {
                Box::pin(async { Err(StoreError("connection refused".into())) })
            })
    }
}

impl Store for FlakyStore {
    fn put(&self, i: &str, k: &str, v: String) -> BoxFuture<'static, Result<(), StoreError>> {
        self.refuse().unwrap_or_else(|| self.inner.put(i, k, v))
    }
    fn create(&self, i: &str, k: &str, v: String) -> BoxFuture<'static, Result<bool, StoreError>> {
        self.refuse().unwrap_or_else(|| self.inner.create(i, k, v))
    }
    fn put_and_move(
        &self,
        from: &str,
        to: &str,
        k: &str,
        v: String,
    ) -> BoxFuture<'static, Result<(), StoreError>> {
        self.refuse()
            .unwrap_or_else(|| self.inner.put_and_move(from, to, k, v))
    }
    fn get(&self, k: &str) -> BoxFuture<'static, Result<Option<String>, StoreError>> {
        self.inner.get(k)
    }
    fn members(&self, i: &str) -> BoxFuture<'static, Result<Vec<String>, StoreError>> {
        self.inner.members(i)
    }
    fn put_with_lists(
        &self,
        i: &str,
        k: &str,
        v: String,
        lists: Vec<ListWrite>,
    ) -> BoxFuture<'static, Result<(), StoreError>> {
        self.refuse()
            .unwrap_or_else(|| self.inner.put_with_lists(i, k, v, lists))
    }
    fn get_with_lists(
        &self,
        k: &str,
        lists: &[&str],
    ) -> BoxFuture<'static, Result<ValueWithLists, StoreError>> {
        self.inner.get_with_lists(k, lists)
    }
}

#[actix::test]
async fn a_fill_whose_save_failed_is_saved_with_its_redelivery() {
    let flaky = Arc::new(FlakyStore::default());
    let store: Arc<dyn Store> = flaky.clone();
    let mut out = Probe::<Publish>::acking_producer();
    let first = start(store.clone(), &out);
    flaky.down.store(true, Ordering::SeqCst);
    let completion = first.send(fill(Broker::Paper, 50)).await.unwrap().unwrap();
    assert!(
        futures::future::try_join_all(completion.deliveries)
            .await
            .is_err()
    );
    flaky.down.store(false, Ordering::SeqCst);
    // Redelivered (the consumer retries a failed record): applied already in memory, but
    // not in the store, so this record saves it, with the book that counts it.
    handled(&first, fill(Broker::Paper, 50)).await;
    assert_eq!(saved(&store, Broker::Paper).await.lists[0], ["ap1-1"]);
    // Saved once: a later save does not append it again.
    handled(&first, fill(Broker::Paper, 50)).await;
    handled(&first, signal(Broker::Paper, Side::Sell, 1)).await;
    assert_eq!(saved(&store, Broker::Paper).await.lists[0], ["ap1-1"]);
    drop(first);

    let second = start(store, &out);
    handled(&second, fill(Broker::Paper, 50)).await;
    handled(&second, signal(Broker::Paper, Side::Buy, 11)).await;
    let _ = next_verdict(&mut out).await; // The sell of 1 above.
    assert_eq!(
        next_verdict(&mut out).await,
        (
            "paper.signals.rejected".into(),
            vec![RejectionCode::MaxPosition]
        )
    );
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
async fn an_mis_entry_after_the_cutoff_is_rejected_and_a_reduction_validated_after_a_restart() {
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
    let first = start_mis();
    handled(&first, fill(Broker::Paper, 50)).await; // Long 50 at 10:00 IST.
    drop(first);

    // The book read back is judged under the same rules. Thursday 2026-11-26, 15:05 IST.
    let second = start_mis();
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
