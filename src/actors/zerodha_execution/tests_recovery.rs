//! Zerodha execution when answers are lost or late: timeouts, unknown placements,
//! reconciliation at start-up, ticker order updates, and a restart mid-placement.

use super::test_rig::*;
use super::*;
use crate::kite::fake::Placement as Scripted;
use crate::kite::rest::{KiteClient, KiteClientConfig};
use crate::messages::{Broker, OrderFailed, OrderFailureKind, OrderFilled, OrderSubmitted, Side};
use crate::store::Store;
use crate::testkit::fixtures::validated_signal;
use actix::prelude::*;
use std::time::Duration;

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
    handled(&addr, &signal).await;
    let (_, submitted) = rig.expect::<OrderSubmitted>().await;
    let order_id = submitted.data.order.broker_order_id.unwrap();
    rig.kite.fill(&order_id, 10, d("1499.95"));
    let (_, fill) = rig.expect::<OrderFilled>().await;
    assert_eq!(fill.data.cumulative_quantity, 10);
    // The same signal again: still one order at Kite.
    handled(&addr, &signal).await;
    rig.expect_quiet_over_polls(&addr, 2).await;
    assert_eq!(rig.kite.placements(), 1);
    assert_eq!(addr.send(GetZerodhaStats).await.unwrap().placements_sent, 1);
}

/// A placement whose 503 left its fate unknown, and a Kite that never lists it: after the
/// settle time (1 ms here) it fails as not placed.
async fn declared_not_placed() -> (
    Rig,
    Addr<ZerodhaExecution>,
    crate::messages::Envelope<crate::messages::ValidatedSignal>,
    crate::messages::Envelope<OrderFailed>,
) {
    let mut rig = Rig::new().await;
    rig.kite
        .script_next_placement(Scripted::ServerError { status: 503 });
    let mut args = rig.args();
    args.settle = Duration::from_millis(1);
    let addr = rig.start(args);
    let signal = validated_signal(Broker::Zerodha, Side::Buy, 10);
    handled(&addr, &signal).await;
    let (_, failed) = rig.expect::<OrderFailed>().await;
    assert_eq!(failed.data.kind, OrderFailureKind::NotPlaced);
    (rig, addr, signal, failed)
}

#[actix::test]
async fn kite_without_the_order_long_after_a_lost_answer_fails_it_as_not_placed() {
    let (mut rig, addr, _, failed) = declared_not_placed().await;
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
    completed(placed.await.unwrap()).await;
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
    handled(&addr, &signal).await;
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
    handled(&second, &signal).await;
    rig.expect_quiet_over_polls(&second, 2).await;
    assert_eq!(rig.kite.placements(), 1);
    let journal = rig.store.members(SETTLED_INDEX).await.unwrap();
    assert_eq!(journal.len(), 1);
}

#[actix::test]
async fn an_order_declared_not_placed_that_turns_up_at_kite_halts_and_is_booked() {
    let (mut rig, addr, signal, _) = declared_not_placed().await;

    // The lost request reaches Kite after all (replayed here with the same tag).
    let late = KiteClient::new(client_config(&rig)).unwrap();
    let record_params = {
        let registry = crate::market::InstrumentRegistry::embedded().unwrap();
        let target = crate::zerodha::order_target(
            &signal.data,
            &registry,
            crate::kite::orders::Product::Mis,
            crate::kite::orders::Variety::Regular,
        )
        .unwrap()
        .protected(signal.data.signal.order_type, -1);
        crate::zerodha::OrderRecord::new(
            crate::messages::client_order_id(signal.id),
            signal.clone(),
            target,
            chrono::Utc::now(),
        )
        .params(0)
    };
    let order_id = late.place_order(&record_params).await.unwrap();
    rig.kite
        .fill(&order_id, 10, rust_decimal::Decimal::new(150_000, 2));

    let halt = rig.kill_switch.expect_msg(WAIT).await;
    assert_eq!(halt.broker, Broker::Zerodha);
    let (_, submitted) = rig.expect::<OrderSubmitted>().await;
    assert_eq!(
        submitted.data.order.broker_order_id.as_deref(),
        Some(order_id.as_str())
    );
    let (_, fill) = rig.expect::<OrderFilled>().await;
    assert_eq!(fill.data.cumulative_quantity, 10);
    rig.expect_quiet_over_polls(&addr, 2).await;
}

#[actix::test]
async fn a_store_outage_publishes_each_fill_once_and_journals_it_when_the_store_is_back() {
    let mut rig = Rig::new().await;
    let mut args = rig.args();
    let store = crate::testkit::SwitchableStore::new(rig.store.clone());
    let down = store.switch();
    args.store = std::sync::Arc::new(store);
    let addr = rig.start(args);
    wait_reconciled(&addr).await;
    let signal = validated_signal(Broker::Zerodha, Side::Buy, 10);
    handled(&addr, &signal).await;
    let (_, submitted) = rig.expect::<OrderSubmitted>().await;
    let order_id = submitted.data.order.broker_order_id.unwrap();
    let id = submitted.data.order.client_order_id.clone();

    down.store(true, std::sync::atomic::Ordering::SeqCst);
    rig.kite.fill(&order_id, 10, d("1500.25"));
    let (_, fill) = rig.expect::<OrderFilled>().await;
    assert_eq!((fill.data.quantity, fill.data.price), (10, d("1500.25")));
    // Before: every poll of the outage re-derived the fill and published it again.
    rig.expect_quiet_over_polls(&addr, 10).await;
    let key = crate::zerodha::OrderRecord::key(&id);
    let settled = rig.store.members(SETTLED_INDEX).await.unwrap();
    assert!(
        !settled.contains(&key),
        "not journaled while the store is down"
    );

    down.store(false, std::sync::atomic::Ordering::SeqCst);
    tokio::time::timeout(WAIT, async {
        while !rig
            .store
            .members(SETTLED_INDEX)
            .await
            .unwrap()
            .contains(&key)
        {
            tokio::task::yield_now().await;
        }
    })
    .await
    .expect("journaled as settled once the store is back");
    assert!(!rig.store.members(OPEN_INDEX).await.unwrap().contains(&key));
    rig.expect_quiet_over_polls(&addr, 3).await;
}
