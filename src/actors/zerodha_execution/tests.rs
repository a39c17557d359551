//! Zerodha execution against the fake Kite REST server on 127.0.0.1, with a probe as its
//! producer and the in-memory journal and dedup stores (tests/zerodha_execution.rs runs
//! the restart scenario against Redis and a real broker).

use super::*;
use crate::actors::risk_manager::{SetTradingState, TradingHolds};
use crate::kite::fake::{FakeKite, FakeKiteConfig, Placement as Scripted};
use crate::kite::orders::{Product, Variety};
use crate::kite::rest::{KiteClient, KiteClientConfig, RateLimits};
use crate::market::InstrumentRegistry;
use crate::messages::{
    Broker, Envelope, OrderFailed, OrderFailureKind, OrderFilled, OrderSubmitted, Payload,
    RecordOrigin, Side, ValidatedSignal, client_order_id, decode,
};
use crate::paper::ChargeSchedule;
use crate::risk::TradingState;
use crate::settings::Secret;
use crate::store::{MemoryStore, Store};
use crate::streaming::ProducerHandle;
use crate::streaming::consumer::Deliver;
use crate::streaming::dedup::MemoryDedup;
use crate::streaming::producer::Publish;
use crate::testkit::Probe;
use crate::testkit::fixtures::validated_signal;
use actix::prelude::*;
use rust_decimal::Decimal;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(10);

fn d(text: &str) -> Decimal {
    Decimal::from_str(text).unwrap()
}

/// The fake, the probes and the shared stores one scenario uses.
struct Rig {
    kite: FakeKite,
    published: Probe<Publish>,
    kill_switch: Probe<SetTradingState>,
    store: Arc<MemoryStore>,
    dedup: Arc<MemoryDedup>,
    holds: TradingHolds,
}

impl Rig {
    async fn new() -> Rig {
        Rig {
            kite: FakeKite::start(FakeKiteConfig::default()).await.unwrap(),
            published: Probe::acking_producer(),
            kill_switch: Probe::with_reply(|_| Ok(TradingState::Halted)),
            store: Arc::new(MemoryStore::default()),
            dedup: Arc::new(MemoryDedup::new(1000)),
            holds: TradingHolds::default(),
        }
    }

    fn args(&self) -> ZerodhaExecutionArgs {
        let config = FakeKiteConfig::default();
        let client = KiteClient::new(KiteClientConfig {
            base_url: self.kite.base_url(),
            api_key: Secret::new(config.api_key),
            access_token: Secret::new(config.access_token),
            timeout: Duration::from_secs(5),
            limits: RateLimits::default(),
            rate_limit_backoff: Duration::from_millis(10),
            rate_limit_backoff_max: Duration::from_millis(40),
        })
        .unwrap();
        ZerodhaExecutionArgs {
            client,
            dry_run: false,
            registry: Arc::new(InstrumentRegistry::embedded().unwrap()),
            order_kinds: Default::default(),
            default_kind: (Product::Mis, Variety::Regular),
            charges: ChargeSchedule::default(),
            producer: ProducerHandle::new(self.published.recipient()),
            store: self.store.clone(),
            dedup: self.dedup.clone(),
            dedup_ttl: Duration::from_secs(3600),
            holds: self.holds.clone(),
            kill_switch: Some(self.kill_switch.recipient()),
            poll_interval: Duration::from_millis(20),
            settle: Duration::from_secs(60),
            reconcile_retry_initial: Duration::from_millis(10),
            reconcile_retry_max: Duration::from_millis(50),
        }
    }

    fn start(&self, args: ZerodhaExecutionArgs) -> Addr<ZerodhaExecution> {
        ZerodhaExecution::new(args).start()
    }

    /// The next published event, which must be of type `T`.
    async fn expect<T: Payload>(&mut self) -> (String, Envelope<T>) {
        let Publish(record) = self.published.expect_msg(WAIT).await;
        let envelope = decode::<T>(&record.value)
            .unwrap_or_else(|e| panic!("{} on {}: {e}", T::TYPE.as_str(), record.topic));
        (record.topic, envelope)
    }

    /// Waits until the actor has completed `n` more polls, then asserts nothing more was
    /// published: the polls saw the same state and produced nothing new.
    async fn expect_quiet_over_polls(&mut self, addr: &Addr<ZerodhaExecution>, n: u64) {
        let start = addr.send(GetZerodhaStats).await.unwrap().polls;
        tokio::time::timeout(WAIT, async {
            while addr.send(GetZerodhaStats).await.unwrap().polls < start + n {
                tokio::task::yield_now().await;
            }
        })
        .await
        .expect("polls continue");
        let extra = self.published.drain();
        assert!(extra.is_empty(), "published more: {extra:?}");
    }
}

fn deliver(envelope: &Envelope<ValidatedSignal>) -> Deliver<ValidatedSignal> {
    Deliver {
        envelope: envelope.clone(),
        origin: RecordOrigin {
            topic: "zerodha.signals.validated".into(),
            partition: 0,
            offset: 0,
        },
    }
}

fn form_value<'a>(form: &'a [(String, String)], name: &str) -> Option<&'a str> {
    form.iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

#[actix::test]
async fn places_the_order_with_its_tag_and_publishes_the_submission() {
    let mut rig = Rig::new().await;
    let addr = rig.start(rig.args());
    let signal = validated_signal(Broker::Zerodha, Side::Buy, 10);
    addr.send(deliver(&signal)).await.unwrap().unwrap();

    let orders = rig.kite.orders();
    assert_eq!(orders.len(), 1);
    let placed = rig
        .kite
        .requests()
        .into_iter()
        .find(|r| r.method == "POST")
        .unwrap();
    assert_eq!(placed.path, "/orders/regular");
    assert_eq!(
        placed.authorization.as_deref(),
        Some("token fake_api_key:fake_access_token_0123456789")
    );
    let tag = client_order_id(signal.id);
    for (field, value) in [
        ("exchange", "NSE"),
        ("tradingsymbol", "INFY"),
        ("transaction_type", "BUY"),
        ("quantity", "10"),
        ("product", "MIS"),
        ("order_type", "MARKET"),
        ("validity", "DAY"),
        ("tag", tag.as_str()),
    ] {
        assert_eq!(form_value(&placed.form, field), Some(value), "{field}");
    }
    let (topic, submitted) = rig.expect::<OrderSubmitted>().await;
    assert_eq!(topic, "zerodha.orders.submitted");
    assert_eq!(submitted.causation_id, Some(signal.id));
    assert_eq!(submitted.data.order.client_order_id, tag);
    assert_eq!(
        submitted.data.order.broker_order_id.as_deref(),
        Some(orders[0].order_id.as_str())
    );
    assert_eq!(submitted.data.quantity, 10);
}

#[actix::test]
async fn a_refusal_fails_the_order_with_kites_message() {
    let mut rig = Rig::new().await;
    rig.kite.script_next_placement(Scripted::Reject {
        status: 400,
        error_type: "InputException".into(),
        message: "Insufficient funds. Required margin is 15000.00".into(),
    });
    let addr = rig.start(rig.args());
    let signal = validated_signal(Broker::Zerodha, Side::Buy, 10);
    addr.send(deliver(&signal)).await.unwrap().unwrap();
    let (topic, failed) = rig.expect::<OrderFailed>().await;
    assert_eq!(topic, "zerodha.orders.failed");
    assert_eq!(failed.data.kind, OrderFailureKind::Rejected);
    assert_eq!(
        failed.data.message,
        "Insufficient funds. Required margin is 15000.00"
    );
    assert_eq!(failed.data.order.broker_order_id, None);
    assert!(rig.kite.orders().is_empty());
    rig.published
        .expect_no_msg(Duration::from_millis(100))
        .await;
}

#[actix::test]
async fn partial_then_full_fills_are_each_published_exactly_once() {
    let mut rig = Rig::new().await;
    let addr = rig.start(rig.args());
    let signal = validated_signal(Broker::Zerodha, Side::Buy, 10);
    addr.send(deliver(&signal)).await.unwrap().unwrap();
    let (_, submitted) = rig.expect::<OrderSubmitted>().await;
    let order_id = submitted.data.order.broker_order_id.unwrap();

    let first = rig.kite.fill(&order_id, 4, d("1500.05"));
    let (topic, fill) = rig.expect::<OrderFilled>().await;
    assert_eq!(topic, "zerodha.orders.filled");
    assert_eq!(fill.data.fill_id, format!("zerodha:{first}"));
    assert_eq!(
        (
            fill.data.quantity,
            fill.data.cumulative_quantity,
            fill.data.price
        ),
        (4, 4, d("1500.05"))
    );
    rig.expect_quiet_over_polls(&addr, 3).await;

    let second = rig.kite.fill(&order_id, 6, d("1500.10"));
    let (_, fill) = rig.expect::<OrderFilled>().await;
    assert_eq!(fill.data.fill_id, format!("zerodha:{second}"));
    assert_eq!((fill.data.quantity, fill.data.cumulative_quantity), (6, 10));
    // Settled: polling stops touching it and nothing more is published.
    rig.expect_quiet_over_polls(&addr, 3).await;
    assert_eq!(addr.send(GetZerodhaStats).await.unwrap().open_orders, 0);
}

#[actix::test]
async fn cancelled_and_rejected_orders_are_reported_as_such() {
    let mut rig = Rig::new().await;
    rig.kite.script_next_placement(Scripted::Accept);
    rig.kite.script_next_placement(Scripted::AcceptAndReject {
        message: "RMS:Margin Exceeds".into(),
    });
    let addr = rig.start(rig.args());
    let to_cancel = validated_signal(Broker::Zerodha, Side::Buy, 10);
    addr.send(deliver(&to_cancel)).await.unwrap().unwrap();
    let (_, submitted) = rig.expect::<OrderSubmitted>().await;
    let order_id = submitted.data.order.broker_order_id.unwrap();
    rig.kite.fill(&order_id, 3, d("1500"));
    let (_, fill) = rig.expect::<OrderFilled>().await;
    assert_eq!(fill.data.quantity, 3);
    rig.kite.cancel(&order_id);
    let (_, failed) = rig.expect::<OrderFailed>().await;
    assert_eq!(
        (
            failed.data.kind,
            failed.data.filled_quantity,
            failed.data.message.as_str()
        ),
        (OrderFailureKind::Cancelled, 3, "Cancelled by user")
    );

    let to_reject = validated_signal(Broker::Zerodha, Side::Sell, 5);
    addr.send(deliver(&to_reject)).await.unwrap().unwrap();
    let (_, submitted) = rig.expect::<OrderSubmitted>().await;
    assert_eq!(submitted.data.order.side, Side::Sell);
    let (_, failed) = rig.expect::<OrderFailed>().await;
    assert_eq!(
        (failed.data.kind, failed.data.message.as_str()),
        (OrderFailureKind::Rejected, "RMS:Margin Exceeds")
    );
    rig.expect_quiet_over_polls(&addr, 2).await;
}

#[actix::test]
async fn a_placement_that_times_out_is_settled_by_polling_with_no_second_placement() {
    let mut rig = Rig::new().await;
    rig.kite
        .script_next_placement(Scripted::AcceptThenDelay(Duration::from_secs(3)));
    let mut args = rig.args();
    args.client = KiteClient::new(KiteClientConfig {
        timeout: Duration::from_millis(300),
        ..client_config(&rig)
    })
    .unwrap();
    let addr = rig.start(args);
    let signal = validated_signal(Broker::Zerodha, Side::Buy, 10);
    // The handler answers once the order is in flight (its answer lost).
    addr.send(deliver(&signal)).await.unwrap().unwrap();
    let (_, submitted) = rig.expect::<OrderSubmitted>().await;
    let order_id = submitted.data.order.broker_order_id.unwrap();
    rig.kite.fill(&order_id, 10, d("1499.95"));
    let (_, fill) = rig.expect::<OrderFilled>().await;
    assert_eq!(fill.data.cumulative_quantity, 10);
    // The same signal again: still one order at Kite.
    addr.send(deliver(&signal)).await.unwrap().unwrap();
    rig.expect_quiet_over_polls(&addr, 2).await;
    assert_eq!(rig.kite.placements(), 1);
    assert_eq!(addr.send(GetZerodhaStats).await.unwrap().placements_sent, 1);
}

fn client_config(rig: &Rig) -> KiteClientConfig {
    let config = FakeKiteConfig::default();
    KiteClientConfig {
        base_url: rig.kite.base_url(),
        api_key: Secret::new(config.api_key),
        access_token: Secret::new(config.access_token),
        timeout: Duration::from_secs(5),
        limits: RateLimits::default(),
        rate_limit_backoff: Duration::from_millis(10),
        rate_limit_backoff_max: Duration::from_millis(40),
    }
}

#[actix::test]
async fn kite_without_the_order_long_after_a_lost_answer_fails_it_as_not_placed() {
    let mut rig = Rig::new().await;
    rig.kite
        .script_next_placement(Scripted::ServerError { status: 503 });
    let mut args = rig.args();
    args.settle = Duration::from_millis(1);
    let addr = rig.start(args);
    let signal = validated_signal(Broker::Zerodha, Side::Buy, 10);
    addr.send(deliver(&signal)).await.unwrap().unwrap();
    let (_, failed) = rig.expect::<OrderFailed>().await;
    assert_eq!(failed.data.kind, OrderFailureKind::NotPlaced);
    assert!(
        failed.data.message.contains("not re-sent"),
        "{}",
        failed.data.message
    );
    rig.expect_quiet_over_polls(&addr, 2).await;
    assert_eq!(rig.kite.placements(), 0);
    let posts = rig
        .kite
        .requests()
        .iter()
        .filter(|r| r.method == "POST")
        .count();
    assert_eq!(posts, 1, "never sent twice");
}

#[actix::test]
async fn the_same_validated_signal_delivered_twice_places_one_broker_order() {
    let mut rig = Rig::new().await;
    let addr = rig.start(rig.args());
    let signal = validated_signal(Broker::Zerodha, Side::Buy, 10);
    let (a, b) = futures::join!(addr.send(deliver(&signal)), addr.send(deliver(&signal)));
    // One is handled; the other either found it busy (retried by the consumer) or done.
    assert!(a.unwrap().is_ok() || b.unwrap().is_ok());
    addr.send(deliver(&signal)).await.unwrap().unwrap();
    let (_, submitted) = rig.expect::<OrderSubmitted>().await;
    assert_eq!(
        submitted.data.order.client_order_id,
        client_order_id(signal.id)
    );
    rig.expect_quiet_over_polls(&addr, 2).await;
    assert_eq!(rig.kite.placements(), 1);
}

#[actix::test]
async fn a_429_is_retried_after_backoff_and_places_once() {
    let mut rig = Rig::new().await;
    let addr = rig.start(rig.args());
    wait_reconciled(&addr).await;
    rig.kite.rate_limit_next(2);
    let signal = validated_signal(Broker::Zerodha, Side::Buy, 10);
    addr.send(deliver(&signal)).await.unwrap().unwrap();
    rig.expect::<OrderSubmitted>().await;
    let statuses: Vec<u16> = rig
        .kite
        .requests()
        .iter()
        .filter(|r| r.method == "POST")
        .map(|r| r.status)
        .collect();
    assert_eq!(statuses, [429, 429, 200]);
    assert_eq!(rig.kite.placements(), 1);
}

#[actix::test]
async fn a_token_error_halts_zerodha_and_the_token_never_reaches_the_logs() {
    let (logs, _guard) = crate::testkit::logs::capture();
    let mut rig = Rig::new().await;
    let addr = rig.start(rig.args());
    // Reconciled with a good token first, so the placement is what meets the 403.
    wait_reconciled(&addr).await;
    rig.kite.expire_token();
    let signal = validated_signal(Broker::Zerodha, Side::Buy, 10);
    addr.send(deliver(&signal)).await.unwrap().unwrap();
    let halt = rig.kill_switch.expect_msg(WAIT).await;
    assert_eq!(
        (halt.broker, halt.state),
        (Broker::Zerodha, TradingState::Halted)
    );
    let (_, failed) = rig.expect::<OrderFailed>().await;
    assert_eq!(failed.data.kind, OrderFailureKind::Rejected);
    assert!(
        failed.data.message.contains("access_token"),
        "{}",
        failed.data.message
    );
    let text = logs.text();
    assert!(text.contains("zerodha trading is HALTED"), "{text}");
    assert!(text.contains("order placed on Kite") || text.contains("Kite refused the order"));
    let token = FakeKiteConfig::default().access_token;
    assert!(
        !text.contains(&token),
        "the access token leaked into the logs"
    );
    assert!(!text.contains("fake_api_secret"));
}

#[actix::test]
async fn dry_run_logs_the_request_and_sends_nothing() {
    let (logs, _guard) = crate::testkit::logs::capture();
    let mut rig = Rig::new().await;
    let mut args = rig.args();
    args.dry_run = true;
    let addr = rig.start(args);
    let signal = validated_signal(Broker::Zerodha, Side::Buy, 10);
    addr.send(deliver(&signal)).await.unwrap().unwrap();
    let (_, failed) = rig.expect::<OrderFailed>().await;
    assert_eq!(failed.data.kind, OrderFailureKind::NotPlaced);
    assert_eq!(failed.data.message, "dry run: order not sent");
    assert!(rig.kite.requests().is_empty(), "{:?}", rig.kite.requests());
    let text = logs.text();
    let expected = format!(
        "POST {}/orders/regular exchange=NSE&tradingsymbol=INFY&transaction_type=BUY&quantity=10&product=MIS&order_type=MARKET&validity=DAY&tag={}",
        rig.kite.base_url(),
        client_order_id(signal.id)
    );
    assert!(text.contains(&expected), "{text}");
}

async fn wait_reconciled(addr: &Addr<ZerodhaExecution>) {
    tokio::time::timeout(WAIT, async {
        while !addr.send(GetZerodhaStats).await.unwrap().reconciled {
            tokio::task::yield_now().await;
        }
    })
    .await
    .expect("reconciled");
}

#[actix::test]
async fn zerodha_stays_halted_and_places_nothing_until_reconciliation_succeeds() {
    let mut rig = Rig::new().await;
    rig.kite.fail_next_gets(3, 503);
    let addr = rig.start(rig.args());
    // The reconciliation's first GET /orders failed; it is retrying.
    tokio::time::timeout(
        WAIT,
        rig.kite
            .wait_until(|k| k.requests().iter().filter(|r| r.status == 503).count() >= 2),
    )
    .await
    .unwrap();
    assert!(
        rig.holds.reason(Broker::Zerodha).is_some(),
        "held while reconciliation is failing"
    );
    let signal = validated_signal(Broker::Zerodha, Side::Buy, 10);
    let placed = addr.send(deliver(&signal));
    // Kite answers again: reconciliation succeeds, the hold lifts, the waiting signal
    // is placed.
    placed.await.unwrap().unwrap();
    assert_eq!(rig.holds.reason(Broker::Zerodha), None);
    rig.expect::<OrderSubmitted>().await;
    let first_post = rig
        .kite
        .requests()
        .iter()
        .position(|r| r.method == "POST")
        .unwrap();
    let last_failed_get = rig
        .kite
        .requests()
        .iter()
        .rposition(|r| r.status == 503)
        .unwrap();
    assert!(
        first_post > last_failed_get,
        "placed only after reconciling"
    );
}

#[actix::test]
async fn order_updates_from_the_ticker_publish_fills_without_waiting_for_a_poll() {
    let mut rig = Rig::new().await;
    let mut args = rig.args();
    args.poll_interval = Duration::from_secs(3600);
    let addr = rig.start(args);
    let signal = validated_signal(Broker::Zerodha, Side::Buy, 10);
    addr.send(deliver(&signal)).await.unwrap().unwrap();
    let (_, submitted) = rig.expect::<OrderSubmitted>().await;
    let order_id = submitted.data.order.broker_order_id.unwrap();
    rig.kite.fill(&order_id, 10, d("1500.25"));
    let frame = rig.kite.order_update_json(&order_id);
    let text = frame.to_string();
    let crate::kite::text::ServerText::Order(update) =
        crate::kite::text::ServerText::parse(&text).unwrap()
    else {
        panic!("not an order update: {text}")
    };
    addr.do_send(crate::actors::market_feed::KiteOrderUpdate(update));
    let (_, fill) = rig.expect::<OrderFilled>().await;
    assert_eq!((fill.data.quantity, fill.data.price), (10, d("1500.25")));
}

#[actix::test]
async fn a_restart_between_placement_and_publication_reconciles_by_tag_and_places_nothing_again() {
    let mut rig = Rig::new().await;
    // Kite takes the order and fills it, but its answer never reaches the first
    // incarnation, which dies waiting.
    rig.kite
        .script_next_placement(Scripted::AcceptThenDelay(Duration::from_secs(30)));
    let signal = validated_signal(Broker::Zerodha, Side::Buy, 10);
    let first = Arbiter::new();
    let args = rig.args();
    let envelope = signal.clone();
    first.spawn(async move {
        let addr = ZerodhaExecution::new(args).start();
        let _ = addr.send(deliver(&envelope)).await;
    });
    tokio::time::timeout(WAIT, rig.kite.wait_for_orders(1))
        .await
        .unwrap();
    first.stop();
    first.join().unwrap();
    let order_id = rig.kite.orders()[0].order_id.clone();
    rig.kite.fill(&order_id, 10, d("1500"));
    assert!(
        rig.published.drain().is_empty(),
        "nothing was published before the crash"
    );

    let second = rig.start(rig.args());
    let (_, submitted) = rig.expect::<OrderSubmitted>().await;
    assert_eq!(
        submitted.data.order.broker_order_id.as_deref(),
        Some(order_id.as_str())
    );
    let (_, fill) = rig.expect::<OrderFilled>().await;
    assert_eq!(fill.data.cumulative_quantity, 10);
    // The consumer redelivers the signal (its offset was never committed).
    second.send(deliver(&signal)).await.unwrap().unwrap();
    rig.expect_quiet_over_polls(&second, 2).await;
    assert_eq!(rig.kite.placements(), 1);
    let journal = rig.store.members(SETTLED_INDEX).await.unwrap();
    assert_eq!(journal.len(), 1);
}
