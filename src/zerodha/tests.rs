//! The order lifecycle, scripted: Kite's answers and order-book views in, order events
//! out, each exactly once.

use super::*;
use crate::kite::orders::{Product, Variety};
use crate::kite::rest::{KiteOrder, KiteTrade};
use crate::market::InstrumentRegistry;
use crate::messages::{Broker, OrderFailureKind, Side, VenueEvent, client_order_id};
use crate::paper::ChargeSchedule;
use crate::testkit::fixtures::{sample_time, validated_signal};
use rust_decimal::Decimal;
use std::str::FromStr;

fn d(text: &str) -> Decimal {
    Decimal::from_str(text).unwrap()
}

fn record(quantity: u32) -> OrderRecord {
    let signal = validated_signal(Broker::Zerodha, Side::Buy, quantity);
    let registry = InstrumentRegistry::embedded().unwrap();
    let target = order_target(&signal.data, &registry, Product::Mis, Variety::Regular).unwrap();
    OrderRecord::new(client_order_id(signal.id), signal, target, sample_time())
}

fn kite_order(status: &str, filled: u32, quantity: u32) -> KiteOrder {
    serde_json::from_value(serde_json::json!({
        "order_id": "151220000000001", "status": status, "quantity": quantity,
        "filled_quantity": filled, "status_message": null, "tag": "x"
    }))
    .unwrap()
}

fn trade(id: &str, quantity: u32, price: &str, at: &str) -> KiteTrade {
    serde_json::from_value(serde_json::json!({
        "trade_id": id, "order_id": "151220000000001", "quantity": quantity,
        "average_price": serde_json::from_str::<serde_json::Value>(price).unwrap(),
        "exchange_timestamp": at
    }))
    .unwrap()
}

/// (kind, quantity, cumulative) of each event, for compact assertions.
fn summary(events: &[VenueEvent]) -> Vec<(&'static str, u32, u32)> {
    events
        .iter()
        .map(|e| match e {
            VenueEvent::Submitted(s) => ("submitted", s.quantity, 0),
            VenueEvent::Filled(f) => ("filled", f.quantity, f.cumulative_quantity),
            VenueEvent::Failed(f) => ("failed", f.quantity, f.filled_quantity),
        })
        .collect()
}

#[test]
fn target_comes_from_the_registry_and_indexes_are_refused() {
    let registry = InstrumentRegistry::embedded().unwrap();
    let r = record(10);
    assert_eq!(r.target.exchange, "NSE");
    assert_eq!(r.target.tradingsymbol, "INFY");
    let params = r.params(0);
    assert_eq!(params.tag, r.client_order_id);
    assert_eq!(params.tag.len(), 20);
    let mut index = validated_signal(Broker::Zerodha, Side::Buy, 1);
    index.data.signal.token = 256_265; // NIFTY 50
    assert_eq!(
        order_target(&index.data, &registry, Product::Mis, Variety::Regular).unwrap_err(),
        "NIFTY 50 is an index and cannot be traded"
    );
    index.data.signal.token = 1;
    assert!(
        order_target(&index.data, &registry, Product::Mis, Variety::Regular)
            .unwrap_err()
            .contains("not in the instrument registry")
    );
}

#[test]
fn partial_then_full_fill_publishes_each_trade_once_in_execution_order() {
    let charges = ChargeSchedule::default();
    let mut r = record(10);
    assert_eq!(
        summary(&r.placed(0, "151220000000001", sample_time())),
        [("submitted", 10, 0)]
    );
    // Polled while open: nothing new.
    assert!(
        r.apply(0, &kite_order("OPEN", 0, 10), &[], &charges, sample_time())
            .is_empty()
    );
    let t1 = trade("1001", 4, "1500.05", "2026-11-26 09:30:01");
    let partial = r.apply(
        0,
        &kite_order("OPEN", 4, 10),
        std::slice::from_ref(&t1),
        &charges,
        sample_time(),
    );
    assert_eq!(summary(&partial), [("filled", 4, 4)]);
    let VenueEvent::Filled(fill) = &partial[0] else {
        unreachable!()
    };
    assert_eq!(fill.fill_id, "zerodha:1001");
    assert_eq!(fill.price, d("1500.05"));
    assert_eq!(
        fill.order.broker_order_id.as_deref(),
        Some("151220000000001")
    );
    assert_eq!(fill.filled_at.to_rfc3339(), "2026-11-26T04:00:01+00:00");
    // The same view again (an order update and a poll both saw it): nothing.
    assert!(
        r.apply(
            0,
            &kite_order("OPEN", 4, 10),
            std::slice::from_ref(&t1),
            &charges,
            sample_time()
        )
        .is_empty()
    );
    // Complete; trades listed out of order come out in execution order.
    let t3 = trade("1003", 2, "1500.15", "2026-11-26 09:30:03");
    let t2 = trade("1002", 4, "1500.10", "2026-11-26 09:30:02");
    let done = r.apply(
        0,
        &kite_order("COMPLETE", 10, 10),
        &[t3, t1, t2],
        &charges,
        sample_time(),
    );
    assert_eq!(summary(&done), [("filled", 4, 8), ("filled", 2, 10)]);
    assert_eq!(r.outcome, Some(Outcome::Complete));
    assert_eq!(r.slices[0].fills, ["1001", "1002", "1003"]);
    assert!(r.is_settled());
}

#[test]
fn complete_waits_for_the_trades_that_explain_it() {
    let charges = ChargeSchedule::default();
    let mut r = record(10);
    r.placed(0, "151220000000001", sample_time());
    let order = kite_order("COMPLETE", 10, 10);
    assert!(r.apply(0, &order, &[], &charges, sample_time()).is_empty());
    assert!(r.needs_trades(0, &order));
    assert!(!r.is_settled());
    let t = trade("1001", 10, "1500", "2026-11-26 09:30:01");
    assert_eq!(
        summary(&r.apply(0, &order, &[t], &charges, sample_time())),
        [("filled", 10, 10)]
    );
    assert!(r.is_settled() && !r.needs_trades(0, &order));
}

#[test]
fn cancelled_and_rejected_orders_fail_with_kites_message_after_their_fills() {
    let charges = ChargeSchedule::default();
    let mut cancelled = record(10);
    cancelled.placed(0, "151220000000001", sample_time());
    let mut order = kite_order("CANCELLED", 3, 10);
    order.status_message = Some("Cancelled by user".into());
    let t = trade("1001", 3, "1500", "2026-11-26 09:30:01");
    let events = cancelled.apply(0, &order, &[t], &charges, sample_time());
    assert_eq!(summary(&events), [("filled", 3, 3), ("failed", 10, 3)]);
    let VenueEvent::Failed(f) = &events[1] else {
        unreachable!()
    };
    assert_eq!(
        (f.kind, f.message.as_str()),
        (OrderFailureKind::Cancelled, "Cancelled by user")
    );

    let mut rejected = record(10);
    rejected.placed(0, "151220000000001", sample_time());
    let mut order = kite_order("REJECTED", 0, 10);
    order.status_message = Some("RMS:Margin Exceeds".into());
    let events = rejected.apply(0, &order, &[], &charges, sample_time());
    let VenueEvent::Failed(f) = &events[0] else {
        unreachable!()
    };
    assert_eq!(
        (f.kind, f.message.as_str()),
        (OrderFailureKind::Rejected, "RMS:Margin Exceeds")
    );
    assert!(
        rejected
            .apply(0, &order, &[], &charges, sample_time())
            .is_empty()
    );
}

#[test]
fn an_order_found_by_tag_after_a_lost_answer_is_submitted_then_filled() {
    let charges = ChargeSchedule::default();
    let mut r = record(5);
    assert!(matches!(r.slices[0].placement, Placement::Claimed { .. }));
    let t = trade("1001", 5, "1500", "2026-11-26 09:30:01");
    let events = r.apply(
        0,
        &kite_order("COMPLETE", 5, 5),
        &[t],
        &charges,
        sample_time(),
    );
    assert_eq!(summary(&events), [("submitted", 5, 0), ("filled", 5, 5)]);
    assert_eq!(r.broker_order_id(), Some("151220000000001"));
}

#[test]
fn a_refused_placement_fails_without_a_submission() {
    let mut r = record(5);
    let events = r.not_placed(OrderFailureKind::Rejected, "Insufficient funds");
    assert_eq!(summary(&events), [("failed", 5, 0)]);
    assert_eq!(r.slices[0].placement, Placement::NotPlaced);
    assert!(r.is_settled());
}

#[test]
fn brokerage_cap_applies_across_the_fills_of_one_order() {
    let charges = ChargeSchedule::default();
    let mut r = record(200);
    r.placed(0, "151220000000001", sample_time());
    // 100 × 1500 = 1.5 lakh turnover: 0.03 % is ₹45, capped at ₹20 for the order.
    let t1 = trade("1001", 100, "1500", "2026-11-26 09:30:01");
    let t2 = trade("1002", 100, "1500", "2026-11-26 09:30:02");
    let events = r.apply(
        0,
        &kite_order("COMPLETE", 200, 200),
        &[t1, t2],
        &charges,
        sample_time(),
    );
    let brokerage: Vec<Decimal> = events
        .iter()
        .map(|e| match e {
            VenueEvent::Filled(f) => f.fees.brokerage,
            _ => unreachable!(),
        })
        .collect();
    assert_eq!(brokerage, [d("20"), d("0")]);
}

#[test]
fn records_round_trip_through_json() {
    let mut r = record(5);
    r.placed(0, "151220000000001", sample_time());
    let json = serde_json::to_string(&r).unwrap();
    let back: OrderRecord = serde_json::from_str(&json).unwrap();
    assert_eq!(back, r);
}

#[test]
fn a_market_order_as_limit_stays_within_its_buffer_on_the_tick_grid() {
    let cases = [
        // (side, last, buffer %, tick, expected): a buy rounds down, a sell up.
        (Side::Buy, "1500", "0.5", "0.05", Some("1507.5")),
        (Side::Buy, "1500.05", "0.1", "0.05", Some("1501.55")), // 1501.55005 → 1501.55
        (Side::Sell, "1500.05", "0.1", "0.05", Some("1498.55")), // 1498.54995 → 1498.55
        (Side::Sell, "1500", "0.5", "0.05", Some("1492.5")),
        (Side::Buy, "99.95", "0.02", "0.01", Some("99.96")), // 99.96999 → 99.96
        (Side::Buy, "100", "1", "0", None),
        (Side::Sell, "100", "100", "0.05", None),
    ];
    for (side, last, buffer, tick, expected) in cases {
        let got = market_as_limit(side, d(last), d(buffer), d(tick));
        assert_eq!(got, expected.map(d), "{side:?} {last} {buffer}% on {tick}");
        if let Some(price) = got {
            // Independent checks: on the grid, and never beyond the buffer.
            assert!(
                (price / d(tick)).fract().is_zero(),
                "{price} off the {tick} grid"
            );
            let limit = d(last) * d(buffer) / Decimal::ONE_HUNDRED;
            assert!(
                (price - d(last)).abs() <= limit,
                "{price} beyond {buffer}% of {last}"
            );
        }
    }
}

#[test]
fn a_target_as_limit_sends_a_limit_without_market_protection() {
    let mut signal = validated_signal(Broker::Zerodha, Side::Buy, 10);
    signal.data.signal.order_type = crate::messages::OrderType::Market;
    let registry = InstrumentRegistry::embedded().unwrap();
    let target = order_target(&signal.data, &registry, Product::Mis, Variety::Regular)
        .unwrap()
        .protected(signal.data.signal.order_type, -1)
        .as_limit(d("1507.5"));
    let record = OrderRecord::new(client_order_id(signal.id), signal, target, sample_time());
    let params = record.params(0);
    assert_eq!(params.order_type, crate::messages::OrderType::Limit);
    assert_eq!(params.price, Some(d("1507.5")));
    assert_eq!(params.market_protection, None);
}

#[test]
fn a_resting_order_is_due_for_cancel_after_its_timeout_and_again_after_the_retry() {
    let secs = |n: i64| chrono::TimeDelta::seconds(n);
    let (timeout, retry) = (
        std::time::Duration::from_secs(30),
        std::time::Duration::from_secs(10),
    );
    let t = sample_time();
    let mut r = record(10);
    assert!(
        !r.slices[0].cancel_due(t + secs(60), timeout, retry),
        "not at Kite"
    );
    r.placed(0, "151220000000001", t);
    assert!(!r.slices[0].cancel_due(t + secs(29), timeout, retry));
    assert!(r.slices[0].cancel_due(t + secs(30), timeout, retry));
    assert!(
        !r.slices[0].cancel_due(t + secs(30), std::time::Duration::ZERO, retry),
        "0 = never"
    );
    r.slices[0].cancel = Some(CancelRequest {
        at: t + secs(30),
        reason: "unfilled after 30 s".into(),
    });
    assert!(!r.slices[0].cancel_due(t + secs(39), timeout, retry));
    assert!(
        r.slices[0].cancel_due(t + secs(40), timeout, retry),
        "asked again"
    );
    // Its cancellation carries our reason, after the partial fill.
    let charges = ChargeSchedule::default();
    let fill = trade("1001", 4, "1500", "2026-11-26 09:30:01");
    let events = r.apply(0, &kite_order("CANCELLED", 4, 10), &[fill], &charges, t);
    assert_eq!(summary(&events), [("filled", 4, 4), ("failed", 10, 4)]);
    let VenueEvent::Failed(f) = &events[1] else {
        unreachable!()
    };
    assert_eq!(
        (f.kind, f.message.as_str()),
        (OrderFailureKind::Cancelled, "unfilled after 30 s")
    );
    assert!(
        !r.slices[0].cancel_due(t + secs(100), timeout, retry),
        "ended"
    );
}

#[test]
fn a_protected_market_order_that_kite_lists_as_limit_settles_like_any_other() {
    // Kite turns a MARKET order with market protection into a LIMIT at the band; GET
    // /orders then shows order_type LIMIT with the band's price. Matching is by tag and
    // fills by trade, so the order settles as the market order it was sent as.
    let charges = ChargeSchedule::default();
    let mut r = record(5);
    r.placed(0, "151220000000001", sample_time());
    let mut order = kite_order("COMPLETE", 5, 5);
    order.order_type = "LIMIT".into();
    order.price = d("1515.05");
    let t = trade("1001", 5, "1500.5", "2026-11-26 09:30:01");
    let events = r.apply(0, &order, &[t], &charges, sample_time());
    assert_eq!(summary(&events), [("filled", 5, 5)]);
    let VenueEvent::Filled(f) = &events[0] else {
        unreachable!()
    };
    assert_eq!(f.price, d("1500.5"), "the trade's price, not the band's");
    assert_eq!(r.outcome, Some(Outcome::Complete));
}
