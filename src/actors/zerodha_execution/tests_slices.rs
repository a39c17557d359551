//! Zerodha execution of orders above the freeze quantity: slices placed as their own Kite
//! orders, followed to one order's fills, resumed (once) after a restart mid-slicing, and
//! reconciled with Kite's positions.

use super::test_rig::*;
use super::*;
use crate::kite::fake::{Placement as Scripted, freeze_quantity_message};
use crate::market::{Instrument, InstrumentRegistry};
use crate::messages::{
    Broker, Envelope, OrderFailed, OrderFailureKind, OrderFilled, OrderSubmitted, Side,
    ValidatedSignal, client_order_id,
};
use crate::store::Store;
use crate::testkit::fixtures::validated_signal;
use crate::zerodha::{OrderRecord, slice_tag};
use actix::prelude::*;
use rust_decimal::Decimal;
use std::time::Duration;

/// NIFTY's freeze quantity in the default settings.
const FREEZE: u32 = 1800;

/// A NIFTY option of the embedded registry (lot 65: slices of 27 lots, 1755).
fn nifty_option() -> Instrument {
    let registry = InstrumentRegistry::embedded().unwrap();
    registry
        .iter()
        .find(|i| i.name == "NIFTY" && i.kind.is_option())
        .cloned()
        .unwrap()
}

/// The largest whole number of lots within the freeze quantity: an independent
/// recomputation of the slice size.
fn slice_size(lot: u32) -> u32 {
    (1..=FREEZE / lot).map(|lots| lots * lot).max().unwrap()
}

/// A market buy of `quantity` of `option`, with the contract known to the fake.
fn option_signal(rig: &Rig, option: &Instrument, quantity: u32) -> Envelope<ValidatedSignal> {
    let lot = u64::from(option.lot_size);
    rig.kite
        .set_instrument("NFO", &option.symbol, option.tick_size, lot);
    rig.kite
        .set_freeze_quantity("NFO", &option.symbol, u64::from(FREEZE));
    let mut signal = validated_signal(Broker::Zerodha, Side::Buy, quantity);
    signal.data.signal.token = option.token;
    signal.data.signal.symbol = option.symbol.clone();
    signal.data.signal.reference_price = Decimal::new(1205, 1);
    signal
}

/// Fills every open order of the fake completely, each at its own price.
fn fill_all(rig: &Rig) {
    for (n, order) in rig.kite.orders().iter().enumerate() {
        if !order.is_terminal() {
            let price = Decimal::new(1200 + n as i64, 1);
            rig.kite.fill(&order.order_id, order.quantity, price);
        }
    }
}

/// The next `n` fills, in publication order.
async fn fills(rig: &mut Rig, n: usize) -> Vec<OrderFilled> {
    let mut out = Vec::new();
    for _ in 0..n {
        out.push(rig.expect::<OrderFilled>().await.1.data);
    }
    out
}

/// The fills are the fake's trades, one each, and add up to the signal as one order.
fn assert_fills_are_the_trades(rig: &Rig, fills: &[OrderFilled], id: &str, quantity: u32) {
    let mut cumulative = 0;
    for fill in fills {
        cumulative += fill.quantity;
        assert_eq!(
            fill.cumulative_quantity, cumulative,
            "counted over the order"
        );
        assert_eq!(fill.order_quantity, quantity);
        assert_eq!(fill.order.client_order_id, id);
    }
    assert_eq!(cumulative, quantity);
    let mut ours: Vec<(String, u32, Decimal)> = fills
        .iter()
        .map(|f| (f.fill_id.clone(), f.quantity, f.price))
        .collect();
    let mut kites: Vec<(String, u32, Decimal)> = rig
        .kite
        .trades()
        .iter()
        .map(|t| {
            (
                format!("zerodha:{}", t.trade_id),
                t.quantity as u32,
                t.price,
            )
        })
        .collect();
    ours.sort();
    kites.sort();
    assert_eq!(ours, kites);
}

#[actix::test]
async fn an_order_of_three_freezes_and_a_lot_becomes_four_kite_orders_filled_as_one() {
    let mut rig = Rig::new().await;
    let addr = rig.start(rig.args());
    wait_reconciled(&addr).await;
    let option = nifty_option();
    let (lot, size) = (option.lot_size, slice_size(option.lot_size));
    let quantity = 3 * size + lot;
    let signal = option_signal(&rig, &option, quantity);
    let id = client_order_id(signal.id);
    handled(&addr, &signal).await;

    let orders = rig.kite.orders();
    let placed: Vec<(Option<String>, u64)> =
        orders.iter().map(|o| (o.tag.clone(), o.quantity)).collect();
    let expected: Vec<(Option<String>, u64)> = [size, size, size, lot]
        .iter()
        .enumerate()
        .map(|(i, q)| (Some(slice_tag(&id, i)), u64::from(*q)))
        .collect();
    assert_eq!(placed, expected, "full slices first, in order, each tagged");
    assert_eq!(rig.kite.rate_violations(), 0);
    let (_, submitted) = rig.expect::<OrderSubmitted>().await;
    assert_eq!(submitted.data.quantity, quantity, "one order downstream");
    assert_eq!(submitted.data.order.client_order_id, id);

    fill_all(&rig);
    let fills = fills(&mut rig, 4).await;
    assert_fills_are_the_trades(&rig, &fills, &id, quantity);
    rig.expect_quiet_over_polls(&addr, 2).await;
    let settled = rig.store.members(SETTLED_INDEX).await.unwrap();
    assert_eq!(settled, [OrderRecord::key(&id)]);
    let report = addr.send(ReconcilePositions).await.unwrap();
    assert!(report.differences.is_empty(), "{report:?}");
    assert!(
        report.booked.is_empty(),
        "every slice's trade is ours: {report:?}"
    );
}

#[actix::test]
async fn the_order_ends_only_when_its_last_slice_does() {
    let mut rig = Rig::new().await;
    let addr = rig.start(rig.args());
    let option = nifty_option();
    let size = slice_size(option.lot_size);
    let signal = option_signal(&rig, &option, 2 * size);
    handled(&addr, &signal).await;
    rig.expect::<OrderSubmitted>().await;
    let orders = rig.kite.orders();
    rig.kite
        .fill(&orders[1].order_id, u64::from(size), Decimal::new(1205, 1));
    let fill = rig.expect::<OrderFilled>().await.1.data;
    assert_eq!(
        (fill.cumulative_quantity, fill.order_quantity),
        (size, 2 * size)
    );
    rig.expect_quiet_over_polls(&addr, 2).await;
    // The first slice is cancelled: only now does the order end, with the other's fill.
    rig.kite.cancel(&orders[0].order_id);
    let (_, failed) = rig.expect::<OrderFailed>().await;
    assert_eq!(failed.data.kind, OrderFailureKind::Cancelled);
    assert_eq!(
        (failed.data.quantity, failed.data.filled_quantity),
        (2 * size, size)
    );
    assert!(
        failed.data.message.starts_with("slice 1/2"),
        "{}",
        failed.data.message
    );
}

#[actix::test]
async fn more_slices_than_allowed_refuses_the_order_and_sends_nothing() {
    let mut rig = Rig::new().await;
    let mut args = rig.args();
    args.fno.max_slices = 3;
    let addr = rig.start(args);
    let option = nifty_option();
    let size = slice_size(option.lot_size);
    let signal = option_signal(&rig, &option, 3 * size + option.lot_size);
    handled(&addr, &signal).await;
    let (_, failed) = rig.expect::<OrderFailed>().await;
    assert_eq!(failed.data.kind, OrderFailureKind::Rejected);
    assert!(
        failed.data.message.contains("more than fno.max_slices (3)"),
        "{}",
        failed.data.message
    );
    assert_eq!(rig.kite.placements(), 0);
}

#[actix::test]
async fn a_freeze_quantity_set_above_the_exchanges_is_refused_by_kite() {
    let mut rig = Rig::new().await;
    let option = nifty_option();
    let signal = option_signal(&rig, &option, 2 * slice_size(option.lot_size));
    // The exchange cut the limit; the configuration still says 1800.
    rig.kite.set_freeze_quantity("NFO", &option.symbol, 900);
    let addr = rig.start(rig.args());
    handled(&addr, &signal).await;
    let (_, failed) = rig.expect::<OrderFailed>().await;
    assert_eq!(failed.data.kind, OrderFailureKind::Rejected);
    assert_eq!(
        failed.data.message,
        format!("slice 1/2: {}", freeze_quantity_message(900))
    );
    assert_eq!(
        rig.kite.placements(),
        0,
        "the second slice is not sent either"
    );
}

/// A first incarnation that placed slice 1 and died waiting for slice 2's answer (Kite
/// took it): the journal has the plan, slice 1 placed, 2 unknown, 3 and 4 not sent. It
/// published the order's submission, for the whole quantity.
async fn died_mid_slicing(rig: &mut Rig, signal: &Envelope<ValidatedSignal>) {
    rig.kite.script_next_placement(Scripted::Accept);
    rig.kite
        .script_next_placement(Scripted::AcceptThenDelay(Duration::from_secs(30)));
    let first = Arbiter::new();
    let (args, envelope) = (rig.args(), signal.clone());
    first.spawn(async move {
        let addr = ZerodhaExecution::new(args).start();
        let _ = addr.send(deliver(&envelope)).await;
    });
    tokio::time::timeout(WAIT, rig.kite.wait_for_orders(2))
        .await
        .unwrap();
    first.stop();
    first.join().unwrap();
    let (_, submitted) = rig.expect::<OrderSubmitted>().await;
    assert_eq!(submitted.data.quantity, signal.data.signal.quantity);
    assert!(
        rig.published.drain().is_empty(),
        "nothing else before the crash"
    );
    assert_eq!(rig.kite.placements(), 2);
}

#[actix::test]
async fn a_restart_mid_slicing_places_the_rest_once_and_books_every_slice() {
    let mut rig = Rig::new().await;
    let option = nifty_option();
    let (lot, size) = (option.lot_size, slice_size(option.lot_size));
    let quantity = 3 * size + lot;
    let signal = option_signal(&rig, &option, quantity);
    let id = client_order_id(signal.id);
    died_mid_slicing(&mut rig, &signal).await;

    let second = rig.start(rig.args());
    tokio::time::timeout(WAIT, rig.kite.wait_for_orders(4))
        .await
        .unwrap();
    // The consumer redelivers the signal (its offset was never committed).
    handled(&second, &signal).await;
    fill_all(&rig);
    let fills = fills(&mut rig, 4).await;
    assert_fills_are_the_trades(&rig, &fills, &id, quantity);
    rig.expect_quiet_over_polls(&second, 2).await;
    let tags: Vec<Option<String>> = rig.kite.orders().iter().map(|o| o.tag.clone()).collect();
    let expected: Vec<Option<String>> = (0..4).map(|i| Some(slice_tag(&id, i))).collect();
    assert_eq!(tags, expected, "each slice placed exactly once");
    let report = second.send(ReconcilePositions).await.unwrap();
    assert!(report.differences.is_empty(), "{report:?}");
}

#[actix::test]
async fn a_restart_after_the_signal_went_stale_sends_no_more_slices() {
    let mut rig = Rig::new().await;
    let option = nifty_option();
    let size = slice_size(option.lot_size);
    let quantity = 3 * size + option.lot_size;
    let signal = option_signal(&rig, &option, quantity);
    died_mid_slicing(&mut rig, &signal).await;

    let mut args = rig.args();
    args.max_signal_age = Duration::from_millis(1);
    let second = rig.start(args);
    wait_reconciled(&second).await;
    fill_all(&rig);
    let fills = fills(&mut rig, 2).await;
    let (_, failed) = rig.expect::<OrderFailed>().await;
    let filled: u32 = fills.iter().map(|f| f.quantity).sum();
    assert_eq!(filled, 2 * size);
    assert_eq!(failed.data.kind, OrderFailureKind::Stale);
    assert_eq!(
        (failed.data.quantity, failed.data.filled_quantity),
        (quantity, filled)
    );
    rig.expect_quiet_over_polls(&second, 2).await;
    assert_eq!(rig.kite.placements(), 2, "slices 3 and 4 never sent");
}

#[actix::test]
async fn a_slice_declared_not_placed_that_turns_up_at_kite_halts_and_is_booked_to_its_order() {
    let mut rig = Rig::new().await;
    let option = nifty_option();
    let size = slice_size(option.lot_size);
    let signal = option_signal(&rig, &option, 2 * size);
    let id = client_order_id(signal.id);
    // Slice 1 fills at once; slice 2's request dies with a 503 and Kite never lists it.
    rig.kite.script_next_placement(Scripted::AcceptAndFill {
        price: Decimal::new(1205, 1),
    });
    rig.kite
        .script_next_placement(Scripted::ServerError { status: 503 });
    let mut args = rig.args();
    args.settle = Duration::from_millis(1);
    let addr = rig.start(args);
    handled(&addr, &signal).await;
    rig.expect::<OrderSubmitted>().await;
    rig.expect::<OrderFilled>().await;
    let (_, failed) = rig.expect::<OrderFailed>().await;
    assert_eq!(failed.data.kind, OrderFailureKind::NotPlaced);
    assert_eq!(
        (failed.data.quantity, failed.data.filled_quantity),
        (2 * size, size)
    );
    assert!(
        failed.data.message.starts_with("slice 2/2: "),
        "{}",
        failed.data.message
    );

    // The lost request reaches Kite after all (replayed here with slice 2's tag).
    let params = {
        let registry = InstrumentRegistry::embedded().unwrap();
        let target = crate::zerodha::order_target(
            &signal.data,
            &registry,
            crate::kite::orders::Product::Mis,
            crate::kite::orders::Variety::Regular,
        )
        .unwrap()
        .protected(signal.data.signal.order_type, -1);
        OrderRecord::sliced(
            id.clone(),
            signal.clone(),
            target,
            &[size, size],
            chrono::Utc::now(),
        )
        .params(1)
    };
    assert_eq!(params.tag, slice_tag(&id, 1));
    let late = crate::kite::rest::KiteClient::new(client_config(&rig)).unwrap();
    let order_id = late.place_order(&params).await.unwrap();
    rig.kite
        .fill(&order_id, u64::from(size), Decimal::new(1210, 1));

    let halt = rig.kill_switch.expect_msg(WAIT).await;
    assert_eq!(halt.broker, Broker::Zerodha);
    let fill = rig.expect::<OrderFilled>().await.1.data;
    assert_eq!(
        fill.order.client_order_id, id,
        "booked to the signal's order"
    );
    assert_eq!(
        fill.order.broker_order_id.as_deref(),
        Some(order_id.as_str())
    );
    assert_eq!((fill.quantity, fill.cumulative_quantity), (size, 2 * size));
    rig.expect_quiet_over_polls(&addr, 2).await;
}
