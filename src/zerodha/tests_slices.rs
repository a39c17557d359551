//! A sliced order's lifecycle, scripted: several Kite orders in, one order's events out.

use super::*;
use crate::kite::orders::{Product, Variety};
use crate::kite::rest::{KiteOrder, KiteTrade};
use crate::market::InstrumentRegistry;
use crate::messages::{Broker, OrderFailureKind, Side, VenueEvent, client_order_id};
use crate::paper::ChargeSchedule;
use crate::testkit::fixtures::{sample_time, validated_signal};

/// An order of 3 × 1755 + 65 units sliced as the plan says: 1755, 1755, 1755, 65.
fn sliced() -> OrderRecord {
    let signal = validated_signal(Broker::Zerodha, Side::Buy, 3 * 1755 + 65);
    let registry = InstrumentRegistry::embedded().unwrap();
    let target = order_target(&signal.data, &registry, Product::Mis, Variety::Regular).unwrap();
    let rules = SliceRules {
        lot_size: 65,
        freeze_quantity: Some(1800),
        max_slices: 10,
    };
    let plan = plan_slices(signal.data.signal.quantity, &rules).unwrap();
    OrderRecord::sliced(
        client_order_id(signal.id),
        signal,
        target,
        &plan,
        sample_time(),
    )
}

fn kite_order(r: &OrderRecord, slice: usize, status: &str, filled: u32) -> KiteOrder {
    serde_json::from_value(serde_json::json!({
        "order_id": format!("15122000000000{slice}"), "status": status,
        "quantity": r.slices[slice].quantity, "filled_quantity": filled,
        "status_message": null, "tag": r.slices[slice].tag
    }))
    .unwrap()
}

fn trade(slice: usize, id: &str, quantity: u32, at: &str) -> KiteTrade {
    serde_json::from_value(serde_json::json!({
        "trade_id": id, "order_id": format!("15122000000000{slice}"), "quantity": quantity,
        "average_price": 120.5, "exchange_timestamp": at
    }))
    .unwrap()
}

/// (kind, quantity, cumulative or filled) of each event.
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
fn a_sliced_record_plans_one_tagged_kite_order_per_slice() {
    let r = sliced();
    let quantities: Vec<u32> = r.slices.iter().map(|s| s.quantity).collect();
    assert_eq!(quantities, [1755, 1755, 1755, 65]);
    for (i, slice) in r.slices.iter().enumerate() {
        assert_eq!(slice.tag, slice_tag(&r.client_order_id, i));
        let params = r.params(i);
        assert_eq!(
            (params.quantity, params.tag.as_str()),
            (slice.quantity, slice.tag.as_str())
        );
    }
    assert!(matches!(r.slices[0].placement, Placement::Claimed { .. }));
    assert!(
        r.slices[1..]
            .iter()
            .all(|s| s.placement == Placement::NotSent)
    );
    assert_eq!(r.next_unsent(), Some(1));
    // Not sliced: the one Kite order carries the order id itself.
    let single = OrderRecord::new(
        r.client_order_id.clone(),
        r.signal.clone(),
        r.target.clone(),
        sample_time(),
    );
    assert_eq!(single.slices.len(), 1);
    assert_eq!(single.slices[0].tag, r.client_order_id);
}

#[test]
fn slices_fill_as_one_order_and_it_ends_only_when_every_slice_has() {
    let charges = ChargeSchedule::default();
    let (t, mut r) = (sample_time(), sliced());
    let mut events = Vec::new();
    for i in 0..4 {
        events.extend(r.placed(i, &format!("15122000000000{i}"), t));
    }
    assert_eq!(summary(&events), [("submitted", 5330, 0)], "one submission");
    // The last slice fills first, then the first; each fill counts over the whole order.
    let last = r.apply(
        3,
        &kite_order(&r, 3, "COMPLETE", 65),
        &[trade(3, "9", 65, "2026-11-26 09:30:01")],
        &charges,
        t,
    );
    let first = r.apply(
        0,
        &kite_order(&r, 0, "COMPLETE", 1755),
        &[trade(0, "7", 1755, "2026-11-26 09:30:02")],
        &charges,
        t,
    );
    assert_eq!(summary(&last), [("filled", 65, 65)]);
    assert_eq!(summary(&first), [("filled", 1755, 1820)]);
    let VenueEvent::Filled(fill) = &first[0] else {
        unreachable!()
    };
    assert_eq!(fill.order.client_order_id, r.client_order_id);
    assert_eq!(
        fill.order.broker_order_id.as_deref(),
        Some("151220000000000")
    );
    assert_eq!(fill.order_quantity, 5330);
    assert!(!r.is_settled(), "slices 2 and 3 are open");
    // Slice 2 is rejected: the order is still open while slice 3 rests.
    let mut rejected = kite_order(&r, 1, "REJECTED", 0);
    rejected.status_message = Some("RMS:Margin Exceeds".into());
    assert!(r.apply(1, &rejected, &[], &charges, t).is_empty());
    assert!(!r.is_settled());
    let end = r.apply(
        2,
        &kite_order(&r, 2, "COMPLETE", 1755),
        &[trade(2, "8", 1755, "2026-11-26 09:30:03")],
        &charges,
        t,
    );
    assert_eq!(
        summary(&end),
        [("filled", 1755, 3575), ("failed", 5330, 3575)]
    );
    let VenueEvent::Failed(failed) = &end[1] else {
        unreachable!()
    };
    assert_eq!(failed.kind, OrderFailureKind::Rejected);
    assert_eq!(failed.message, "slice 2/4: RMS:Margin Exceeds");
    assert!(r.is_settled());
    // Every slice's trades, once each: the order's fills are the slices' fills.
    let sum: u32 = r.slices.iter().map(|s| s.filled_quantity).sum();
    assert_eq!(sum, r.filled_quantity);
}

#[test]
fn brokerage_is_capped_per_kite_order_not_per_signal() {
    let charges = ChargeSchedule::default();
    let (t, mut r) = (sample_time(), sliced());
    let mut brokerage = Vec::new();
    for i in 0..2 {
        r.placed(i, &format!("15122000000000{i}"), t);
        let fills = r.apply(
            i,
            &kite_order(&r, i, "COMPLETE", 1755),
            &[trade(i, &format!("{i}1"), 1755, "2026-11-26 09:30:01")],
            &charges,
            t,
        );
        let VenueEvent::Filled(f) = &fills[0] else {
            unreachable!()
        };
        brokerage.push(f.fees.brokerage);
    }
    // 1755 × 120.5 of turnover: 0.03 % is above ₹20, so each Kite order pays the ₹20 cap.
    let expected = charges.charges_for_fill(
        charge_column(
            Product::Mis,
            &super::kind_of_symbol(&r.target.exchange, &r.target.tradingsymbol),
        ),
        Side::Buy,
        1755,
        rust_decimal::Decimal::new(1205, 1),
        rust_decimal::Decimal::ZERO,
    );
    assert_eq!(expected.brokerage, rust_decimal::Decimal::new(20, 0));
    assert_eq!(brokerage, [expected.brokerage, expected.brokerage]);
}

#[test]
fn a_refused_slice_ends_the_unsent_ones_but_not_those_at_kite() {
    let (t, mut r) = (sample_time(), sliced());
    r.placed(0, "151220000000000", t);
    r.claim(1, t);
    let events = r.not_placed_from(1, OrderFailureKind::Rejected, "Insufficient funds");
    assert!(events.is_empty(), "slice 1 is open at Kite");
    assert_eq!(r.slices[1].placement, Placement::NotPlaced);
    assert!(
        r.slices[2..]
            .iter()
            .all(|s| s.placement == Placement::NotPlaced)
    );
    assert_eq!(r.next_unsent(), None);
    assert!(r.slices[0].end.is_none());
    let charges = ChargeSchedule::default();
    let cancelled = r.apply(0, &kite_order(&r, 0, "CANCELLED", 0), &[], &charges, t);
    assert_eq!(summary(&cancelled), [("failed", 5330, 0)]);
    let VenueEvent::Failed(f) = &cancelled[0] else {
        unreachable!()
    };
    assert_eq!(
        (f.kind, f.message.as_str()),
        (OrderFailureKind::Cancelled, "slice 1/4: cancelled")
    );
}

#[test]
fn sliced_records_round_trip_and_pre_slicing_entries_still_read() {
    let mut r = sliced();
    r.placed(0, "151220000000000", sample_time());
    let json = serde_json::to_string(&r).unwrap();
    assert_eq!(serde_json::from_str::<OrderRecord>(&json).unwrap(), r);

    // An entry as written before slicing: its one Kite order's state at the top level.
    let single = OrderRecord::new(
        r.client_order_id.clone(),
        r.signal.clone(),
        r.target.clone(),
        sample_time(),
    );
    let mut old = serde_json::to_value(&single).unwrap();
    let fields = old.as_object_mut().unwrap();
    fields.remove("slices");
    fields.insert(
        "placement".into(),
        serde_json::json!({"state": "placed", "broker_order_id": "42"}),
    );
    fields.insert("fills".into(), serde_json::json!(["1001"]));
    fields.insert("filled_quantity".into(), serde_json::json!(65));
    fields.insert("brokerage_paid".into(), serde_json::json!("20"));
    fields.insert(
        "placed_at".into(),
        serde_json::json!("2026-11-26T04:00:00Z"),
    );
    let back: OrderRecord = serde_json::from_value(old).unwrap();
    assert_eq!(back.slices.len(), 1);
    let slice = &back.slices[0];
    assert_eq!(slice.tag, back.client_order_id);
    assert_eq!(slice.broker_order_id(), Some("42"));
    assert_eq!(
        (slice.fills.as_slice(), slice.filled_quantity),
        (&["1001".to_owned()][..], 65)
    );
    assert_eq!(slice.brokerage_paid, rust_decimal::Decimal::new(20, 0));
    assert_eq!(slice.placed_at, Some(sample_time()));
    assert_eq!(back.filled_quantity, 65);
}

#[test]
fn the_first_new_trade_of_a_slice_orders_slices_by_execution() {
    let charges = ChargeSchedule::default();
    let (t, mut r) = (sample_time(), sliced());
    r.placed(0, "151220000000000", t);
    let order = kite_order(&r, 0, "OPEN", 130);
    let early = trade(0, "1", 65, "2026-11-26 09:30:01");
    let late = trade(0, "2", 65, "2026-11-26 09:30:05");
    let other = trade(1, "3", 65, "2026-11-26 09:29:00");
    let trades = [late.clone(), other, early.clone()];
    assert_eq!(
        r.first_new_trade_at(0, &order, &trades),
        early.executed_at(),
        "another Kite order's trade does not count"
    );
    r.apply(0, &kite_order(&r, 0, "OPEN", 65), &[early], &charges, t);
    assert_eq!(
        r.first_new_trade_at(0, &order, &trades),
        late.executed_at(),
        "a booked trade does not count"
    );
    assert_eq!(r.first_new_trade_at(0, &order, &[]), None);
}
