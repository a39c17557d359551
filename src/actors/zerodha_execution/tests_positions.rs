//! Position reconciliation against the fake Kite: an untagged square-off is booked over
//! the strategies it closed, once; a difference nothing explains halts zerodha.

use super::test_rig::*;
use super::*;
use crate::messages::{Broker, OrderFilled, OrderSubmitted, Side};
use crate::paper::{ChargeSchedule, Product as ChargeColumn};
use crate::risk::TradingState;
use crate::testkit::fixtures::validated_signal;
use actix::Addr;

/// Places a BUY of `quantity` INFY for `strategy` and fills it at Kite.
async fn bought(rig: &mut Rig, addr: &Addr<ZerodhaExecution>, strategy: &str, quantity: u32) {
    let mut signal = validated_signal(Broker::Zerodha, Side::Buy, quantity);
    signal.data.signal.strategy_id = strategy.into();
    handled(addr, &signal).await;
    let (_, submitted) = rig.expect::<OrderSubmitted>().await;
    let order_id = submitted.data.order.broker_order_id.unwrap();
    rig.kite.fill(&order_id, u64::from(quantity), d("1500"));
    let (_, fill) = rig.expect::<OrderFilled>().await;
    assert_eq!(fill.data.quantity, quantity);
}

#[actix::test]
async fn the_brokers_auto_square_off_is_booked_over_the_strategies_it_closed_once() {
    let mut rig = Rig::new().await;
    let addr = rig.start(rig.args());
    wait_reconciled(&addr).await;
    bought(&mut rig, &addr, "momentum_1", 10).await;
    bought(&mut rig, &addr, "rsi_1", 6).await;
    // 15:20: Zerodha squares the account's MIS position off with an order of its own.
    let (order_id, trade_id) = rig
        .kite
        .auto_square_off("NSE", "INFY", "SELL", 16, d("1490.5"));

    let report = addr.send(ReconcilePositions).await.unwrap();
    assert_eq!(report.booked, std::slice::from_ref(&trade_id));
    assert!(report.differences.is_empty(), "{report:?}");
    assert!(!report.halted);
    let fills = [
        rig.expect::<OrderFilled>().await.1.data,
        rig.expect::<OrderFilled>().await.1.data,
    ];
    let charges = ChargeSchedule::default();
    for (fill, (strategy, quantity, n)) in
        fills.iter().zip([("momentum_1", 10, 0), ("rsi_1", 6, 1)])
    {
        assert_eq!(fill.order.strategy_id, strategy);
        assert_eq!(fill.order.client_order_id, format!("ext-{order_id}"));
        assert_eq!(fill.order.side, Side::Sell);
        assert_eq!((fill.quantity, fill.price), (quantity, d("1490.5")));
        assert_eq!(fill.fill_id, format!("zerodha:{trade_id}:{n}"));
        assert_eq!(
            (fill.cumulative_quantity, fill.order_quantity),
            (quantity, quantity)
        );
        // Intraday charges on the part's own turnover: 0.03 % brokerage (under ₹20)…
        let turnover = d("1490.5") * rust_decimal::Decimal::from(quantity);
        assert_eq!(
            fill.fees.brokerage,
            (turnover * d("0.0003")).round_dp(2).min(d("20"))
        );
        assert_eq!(
            fill.fees,
            charges.charges_for_fill(ChargeColumn::Mis, Side::Sell, quantity, d("1490.5"), d("0"))
        );
    }
    // Booked once: the next reconciliation books nothing and still agrees with Kite.
    let again = addr.send(ReconcilePositions).await.unwrap();
    assert!(
        again.booked.is_empty() && again.differences.is_empty(),
        "{again:?}"
    );
    assert!(rig.published.drain().is_empty());
}

#[actix::test]
async fn a_manual_trade_beyond_every_position_is_booked_to_external() {
    let mut rig = Rig::new().await;
    let addr = rig.start(rig.args());
    wait_reconciled(&addr).await;
    bought(&mut rig, &addr, "momentum_1", 4).await;
    rig.kite
        .external_trade("NSE", "INFY", "MIS", "SELL", 7, d("1501"));
    let report = addr.send(ReconcilePositions).await.unwrap();
    assert!(report.differences.is_empty(), "{report:?}");
    let parts: Vec<(String, u32)> = [
        rig.expect::<OrderFilled>().await.1.data,
        rig.expect::<OrderFilled>().await.1.data,
    ]
    .into_iter()
    .map(|f| (f.order.strategy_id, f.quantity))
    .collect();
    assert_eq!(
        parts,
        [("momentum_1".to_owned(), 4), ("external".to_owned(), 3)]
    );
}

#[actix::test]
async fn a_difference_nothing_explains_halts_zerodha_when_seen_twice() {
    let alerts = crate::alerts::capture::Capture::start();
    let mut rig = Rig::new().await;
    let addr = rig.start(rig.args());
    wait_reconciled(&addr).await;
    // A position at Kite that no order or trade of the day accounts for.
    rig.kite
        .set_overnight_position("NSE", "TCS", "NRML", 5, d("3000"));
    let first = addr.send(ReconcilePositions).await.unwrap();
    assert_eq!(first.differences.len(), 1, "{first:?}");
    let difference = &first.differences[0];
    assert_eq!(difference.key.to_string(), "NSE:TCS NRML");
    assert_eq!((difference.ours, difference.kite), (0, 5));
    assert!(!first.halted);
    assert!(rig.kill_switch.drain().is_empty(), "not on one reading");
    assert!(alerts.alerts().is_empty(), "no alert on one reading");

    let second = addr.send(ReconcilePositions).await.unwrap();
    assert!(second.halted, "{second:?}");
    let halt = rig.kill_switch.expect_msg(WAIT).await;
    assert_eq!(
        (halt.broker, halt.state),
        (Broker::Zerodha, TradingState::Halted)
    );
    let raised = alerts.of(crate::alerts::AlertKind::ReconciliationDifference);
    assert_eq!(raised.len(), 1, "{raised:?}");
    assert_eq!(raised[0].subject, "positions");
    assert!(
        raised[0].message.contains("NSE:TCS NRML ours 0 Kite 5"),
        "{}",
        raised[0].message
    );
}
