//! Zerodha execution against the fake Kite REST server: placement, refusals, fills,
//! duplicates, rate limits, token errors and dry runs.

use super::test_rig::*;
use super::*;
use crate::kite::fake::Placement as Scripted;
use crate::messages::{
    Broker, OrderFailed, OrderFailureKind, OrderFilled, OrderSubmitted, Side, client_order_id,
};
use crate::risk::TradingState;
use crate::testkit::fixtures::validated_signal;
use std::time::Duration;

#[actix::test]
async fn places_the_order_with_its_tag_and_publishes_the_submission() {
    let mut rig = Rig::new().await;
    let addr = rig.start(rig.args());
    let signal = validated_signal(Broker::Zerodha, Side::Buy, 10);
    handled(&addr, &signal).await;

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
        // Mandatory for API market orders since April 2026 (the fake refuses without).
        ("market_protection", "-1"),
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
async fn market_protection_goes_with_sl_m_orders_as_configured_and_not_with_limits() {
    let rig = Rig::new().await;
    let mut args = rig.args();
    args.market_protection = 3;
    let addr = rig.start(args);
    let mut stop = validated_signal(Broker::Zerodha, Side::Sell, 5);
    stop.data.signal.order_type = crate::messages::OrderType::StopMarket;
    stop.data.signal.trigger_price = Some(rust_decimal::Decimal::new(149_000, 2));
    let mut limit = validated_signal(Broker::Zerodha, Side::Buy, 5);
    limit.data.signal.order_type = crate::messages::OrderType::Limit;
    limit.data.signal.price = Some(rust_decimal::Decimal::new(149_500, 2));
    for signal in [&stop, &limit] {
        handled(&addr, signal).await;
    }
    let posts: Vec<_> = rig
        .kite
        .requests()
        .into_iter()
        .filter(|r| r.method == "POST")
        .collect();
    assert_eq!(posts.len(), 2);
    assert_eq!(form_value(&posts[0].form, "order_type"), Some("SL-M"));
    assert_eq!(form_value(&posts[0].form, "market_protection"), Some("3"));
    assert_eq!(form_value(&posts[1].form, "order_type"), Some("LIMIT"));
    assert_eq!(form_value(&posts[1].form, "market_protection"), None);
    assert_eq!(rig.kite.orders().len(), 2, "the fake accepted both");
}

#[actix::test]
async fn a_strategy_with_a_limit_buffer_sends_its_market_orders_as_limits_on_the_grid() {
    let mut rig = Rig::new().await;
    let mut args = rig.args();
    args.limit_buffers = [("momentum_1".to_owned(), rust_decimal::Decimal::new(5, 1))].into();
    let addr = rig.start(args);
    // The fixture's last price is 1500.00; INFY's tick is 0.05.
    let buy = validated_signal(Broker::Zerodha, Side::Buy, 10);
    let sell = validated_signal(Broker::Zerodha, Side::Sell, 10);
    for signal in [&buy, &sell] {
        handled(&addr, signal).await;
    }
    let posts: Vec<_> = rig
        .kite
        .requests()
        .into_iter()
        .filter(|r| r.method == "POST")
        .collect();
    assert_eq!(posts.len(), 2);
    for (post, price) in posts.iter().zip(["1507.5", "1492.5"]) {
        assert_eq!(form_value(&post.form, "order_type"), Some("LIMIT"));
        assert_eq!(form_value(&post.form, "price"), Some(price));
        assert_eq!(form_value(&post.form, "market_protection"), None);
    }
    let (_, submitted) = rig.expect::<OrderSubmitted>().await;
    assert_eq!(submitted.data.order_type, crate::messages::OrderType::Limit);
    assert_eq!(
        submitted.data.price,
        Some(rust_decimal::Decimal::new(15075, 1))
    );
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
    handled(&addr, &signal).await;
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
    handled(&addr, &signal).await;
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
    handled(&addr, &to_cancel).await;
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
    handled(&addr, &to_reject).await;
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
async fn the_same_validated_signal_delivered_twice_places_one_broker_order() {
    let mut rig = Rig::new().await;
    let addr = rig.start(rig.args());
    let signal = validated_signal(Broker::Zerodha, Side::Buy, 10);
    let (a, b) = futures::join!(addr.send(deliver(&signal)), addr.send(deliver(&signal)));
    // One places it; the other waits while it is busy, then finds it placed.
    completed(a.unwrap()).await;
    completed(b.unwrap()).await;
    handled(&addr, &signal).await;
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
    let mut args = rig.args();
    // No polls: both 429s below are the placement's.
    args.poll_interval = Duration::from_secs(3600);
    let addr = rig.start(args);
    wait_reconciled(&addr).await;
    rig.kite.rate_limit_next(2);
    let signal = validated_signal(Broker::Zerodha, Side::Buy, 10);
    handled(&addr, &signal).await;
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
async fn a_token_error_halts_zerodha_and_sends_nothing_more() {
    let alerts = crate::alerts::capture::Capture::start();
    let mut rig = Rig::new().await;
    let addr = rig.start(rig.args());
    // Reconciled with a good token first, so the placement is what meets the 403.
    wait_reconciled(&addr).await;
    rig.kite.expire_token();
    let signal = validated_signal(Broker::Zerodha, Side::Buy, 10);
    handled(&addr, &signal).await;
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
    assert_eq!(
        rig.holds.reason(Broker::Zerodha).as_deref(),
        Some("Kite rejected the access token")
    );
    let rejected = alerts.of(crate::alerts::AlertKind::KiteTokenRejected);
    assert_eq!(rejected.len(), 1, "{rejected:?}");
    assert_eq!(
        (rejected[0].subject.as_str(), rejected[0].broker),
        ("rest", Some(Broker::Zerodha))
    );
    assert!(
        rejected[0].message.contains("Log in again")
            && !rejected[0].message.contains("fake_access_token"),
        "{}",
        rejected[0].message
    );
    // The session is latched as refused: the next signal is not even sent.
    let posts_before = rig
        .kite
        .requests()
        .iter()
        .filter(|r| r.method == "POST")
        .count();
    let next = validated_signal(Broker::Zerodha, Side::Sell, 5);
    handled(&addr, &next).await;
    let (_, failed) = rig.expect::<OrderFailed>().await;
    assert_eq!(failed.data.kind, OrderFailureKind::NotPlaced);
    assert!(
        failed.data.message.contains("log in again"),
        "{}",
        failed.data.message
    );
    let posts_after = rig
        .kite
        .requests()
        .iter()
        .filter(|r| r.method == "POST")
        .count();
    assert_eq!(posts_after, posts_before);
}

#[actix::test]
async fn dry_run_sends_nothing() {
    let mut rig = Rig::new().await;
    let mut args = rig.args();
    args.dry_run = true;
    let addr = rig.start(args);
    let signal = validated_signal(Broker::Zerodha, Side::Buy, 10);
    handled(&addr, &signal).await;
    let (_, failed) = rig.expect::<OrderFailed>().await;
    assert_eq!(failed.data.kind, OrderFailureKind::NotPlaced);
    assert_eq!(failed.data.message, "dry run: order not sent");
    assert!(rig.kite.requests().is_empty(), "{:?}", rig.kite.requests());
}

#[actix::test]
async fn a_stale_signal_is_not_sent() {
    let mut rig = Rig::new().await;
    let addr = rig.start(rig.args());
    let mut signal = validated_signal(Broker::Zerodha, Side::Buy, 10);
    signal.ts -= chrono::TimeDelta::seconds(120);
    handled(&addr, &signal).await;
    let (_, failed) = rig.expect::<OrderFailed>().await;
    assert_eq!(failed.data.kind, OrderFailureKind::Stale);
    assert!(
        failed
            .data
            .message
            .starts_with("stale signal: validated 120 s ago"),
        "{}",
        failed.data.message
    );
    assert!(rig.kite.requests().iter().all(|r| r.method != "POST"));
}

#[actix::test]
async fn a_journaled_signal_is_never_placed_again_by_a_new_incarnation() {
    let mut rig = Rig::new().await;
    let signal = validated_signal(Broker::Zerodha, Side::Buy, 10);
    let first = rig.start(rig.args());
    handled(&first, &signal).await;
    rig.expect::<OrderSubmitted>().await;
    // A new incarnation with the same journal (no dedup window involved) gets the signal
    // again: a replay, a reset consumer group, another process.
    let second = rig.start(rig.args());
    wait_reconciled(&second).await;
    handled(&second, &signal).await;
    rig.expect_quiet_over_polls(&second, 2).await;
    assert_eq!(rig.kite.placements(), 1);
}

#[actix::test]
async fn nine_429s_in_a_row_end_in_one_definitive_failure_that_a_redelivery_does_not_undo() {
    let mut rig = Rig::new().await;
    let mut args = rig.args();
    // No polls: every 429 below is the placement's.
    args.poll_interval = Duration::from_secs(3600);
    let addr = rig.start(args);
    wait_reconciled(&addr).await;
    // More 429s than the client retries: the placement is given up, not sent, and the
    // order fails once as rate_limited (releasing its risk slot, telling the strategy).
    rig.kite.rate_limit_next(9);
    let signal = validated_signal(Broker::Zerodha, Side::Buy, 10);
    handled(&addr, &signal).await;
    let (topic, failed) = rig.expect::<OrderFailed>().await;
    assert_eq!(topic, "zerodha.orders.failed");
    assert_eq!(failed.data.kind, OrderFailureKind::RateLimited);
    assert!(
        failed.data.message.contains("429"),
        "{}",
        failed.data.message
    );
    assert_eq!(rig.kite.placements(), 0);
    let posts = rig
        .kite
        .requests()
        .iter()
        .filter(|r| r.method == "POST")
        .count();
    assert_eq!(posts, 9, "one attempt and eight retries");
    // The consumer redelivers it (a rebalance): the journal says it ended; nothing is sent.
    handled(&addr, &signal).await;
    rig.expect_quiet_over_polls(&addr, 0).await;
    assert_eq!(rig.kite.placements(), 0);
}

#[actix::test]
async fn eight_429s_then_an_answer_place_the_order_once() {
    let mut rig = Rig::new().await;
    let mut args = rig.args();
    args.poll_interval = Duration::from_secs(3600);
    let addr = rig.start(args);
    wait_reconciled(&addr).await;
    rig.kite.rate_limit_next(8);
    let signal = validated_signal(Broker::Zerodha, Side::Buy, 10);
    handled(&addr, &signal).await;
    rig.expect::<OrderSubmitted>().await;
    assert_eq!(rig.kite.placements(), 1);
}

#[actix::test]
async fn a_placement_that_429s_past_the_signals_age_fails_as_stale_without_being_sent_late() {
    let mut rig = Rig::new().await;
    let mut args = rig.args();
    args.poll_interval = Duration::from_secs(3600);
    // Backoffs of 1 s, 2 s, 4 s… against a signal that may be at most 2 s old when sent.
    args.client = crate::kite::rest::KiteClient::new(crate::kite::rest::KiteClientConfig {
        rate_limit_backoff: Duration::from_secs(1),
        rate_limit_backoff_max: Duration::from_secs(30),
        ..client_config(&rig)
    })
    .unwrap();
    args.max_signal_age = Duration::from_secs(2);
    let addr = rig.start(args);
    wait_reconciled(&addr).await;
    rig.kite.rate_limit_next(9);
    let signal = validated_signal(Broker::Zerodha, Side::Buy, 10);
    handled(&addr, &signal).await;
    let (_, failed) = rig.expect::<OrderFailed>().await;
    assert_eq!(failed.data.kind, OrderFailureKind::Stale);
    assert!(
        failed.data.message.contains("max_signal_age_secs (2 s)"),
        "{}",
        failed.data.message
    );
    // 0 s, 1 s and 3 s fit in the signal's 2 s… only the first two: the third would
    // have gone out after the deadline and was never sent.
    let posts = rig
        .kite
        .requests()
        .iter()
        .filter(|r| r.method == "POST")
        .count();
    assert_eq!(posts, 2);
    assert_eq!(rig.kite.placements(), 0);
}

#[actix::test]
async fn an_order_open_past_its_timeout_is_cancelled_and_its_partial_fill_stands() {
    let mut rig = Rig::new().await;
    let mut args = rig.args();
    args.order_timeout = Duration::from_secs(1);
    let addr = rig.start(args);
    wait_reconciled(&addr).await;
    let signal = validated_signal(Broker::Zerodha, Side::Buy, 10);
    handled(&addr, &signal).await;
    rig.expect::<OrderSubmitted>().await;
    let order = rig.kite.orders().remove(0);
    rig.kite.fill(&order.order_id, 4, d("1500.05"));
    let (_, fill) = rig.expect::<OrderFilled>().await;
    assert_eq!((fill.data.quantity, fill.data.cumulative_quantity), (4, 4));
    // A second later the poll cancels the rest at Kite, and the cancellation follows.
    let (topic, failed) = rig.expect::<OrderFailed>().await;
    assert_eq!(topic, "zerodha.orders.failed");
    assert_eq!(failed.data.kind, OrderFailureKind::Cancelled);
    assert_eq!((failed.data.quantity, failed.data.filled_quantity), (10, 4));
    assert_eq!(
        failed.data.message,
        "unfilled after zerodha.order_timeout_secs (1 s): cancelled by alpha-panda"
    );
    let cancels: Vec<_> = rig
        .kite
        .requests()
        .into_iter()
        .filter(|r| r.method == "DELETE")
        .collect();
    assert_eq!(cancels.len(), 1, "{cancels:?}");
    assert_eq!(
        cancels[0].path,
        format!("/orders/regular/{}", order.order_id)
    );
    assert_eq!(rig.kite.order(&order.order_id).unwrap().status, "CANCELLED");
}
