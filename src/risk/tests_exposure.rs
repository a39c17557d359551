//! Orders in flight (open orders, and exposure that counts them) and verdicts kept.

use super::test_support::*;
use super::*;
use crate::messages::{Broker, OrderFailed, OrderFilled, OrderRef, RejectionCode, Side};

/// A fill of the order validated for raw signal `id`.
fn fill_of(id: Uuid, side: Side, quantity: u32, cumulative: u32, of: u32) -> OrderFilled {
    let mut f = fill(side, quantity, LAST, "0");
    f.order.client_order_id = crate::messages::client_order_id_of_signal(id);
    f.fill_id = format!("{id}-{cumulative}");
    f.cumulative_quantity = cumulative;
    f.order_quantity = of;
    f
}

#[test]
fn open_orders_are_the_orders_in_flight_derived_from_their_events() {
    let mut r = risk(RiskLimits {
        max_open_orders: Some(2),
        ..RiskLimits::default()
    });
    let signal = limit(Side::Buy, 10, LAST);
    let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
    assert_eq!(r.check(a, &signal, morning()), Ok(()));
    assert_eq!(r.check(b, &signal, morning()), Ok(()));
    assert_eq!(
        codes(&r.check(Uuid::new_v4(), &signal, morning())),
        [RejectionCode::MaxOpenOrders]
    );
    apply(&mut r, &fill_of(a, Side::Buy, 4, 4, 10));
    assert_eq!(r.open_orders(), 2, "a partial fill leaves the order open");
    assert_eq!(r.in_flight(STRATEGY, TOKEN, Side::Buy), 16);
    apply(&mut r, &fill_of(a, Side::Buy, 6, 10, 10));
    // The same fill again (a redelivery) changes nothing.
    apply(&mut r, &fill_of(a, Side::Buy, 6, 10, 10));
    assert_eq!(r.open_orders(), 1, "the completing fill closes it");
    assert_eq!(r.position(STRATEGY, TOKEN), 10);
    // A fill of an order nobody validated (the venue's own) frees no slot.
    apply(&mut r, &fill(Side::Buy, 1, LAST, "0"));
    assert_eq!(r.open_orders(), 1);
    r.on_order_failed(&failed(Broker::Paper)); // an order not in flight
    assert_eq!(r.open_orders(), 1);
    let mut failure = failed(Broker::Paper);
    failure.order.client_order_id = crate::messages::client_order_id_of_signal(b);
    r.on_order_failed(&OrderFailed {
        order: OrderRef {
            broker: Broker::Zerodha,
            ..failure.order.clone()
        },
        ..failure.clone()
    });
    assert_eq!(r.open_orders(), 1, "another broker's failure is ignored");
    r.on_order_failed(&failure);
    r.on_order_failed(&failure);
    assert_eq!(r.open_orders(), 0);
    assert_eq!(r.open_order_ids(), Vec::<String>::new());
    assert_eq!(r.check(Uuid::new_v4(), &signal, morning()), Ok(()));
}

/// The breach: −50 against a limit of 45, a second sell validated while the first
/// was unfilled.
#[test]
fn max_position_counts_orders_in_flight_in_the_order_s_direction() {
    let mut r = risk(RiskLimits {
        max_position: Some(45),
        ..RiskLimits::default()
    });
    assert_eq!(
        r.check(Uuid::new_v4(), &limit(Side::Sell, 25, LAST), morning()),
        Ok(())
    );
    let refused = r
        .check(Uuid::new_v4(), &limit(Side::Sell, 25, LAST), morning())
        .expect_err("-50 if both fill");
    assert_eq!(codes(&Err(refused.clone())), [RejectionCode::MaxPosition]);
    assert_eq!(
        refused[0].message,
        "position after the order -50 exceeds ±45 (now 0 (-25 in flight), order -25)"
    );
    // A buy is judged on the filled position and the buys in flight only.
    assert_eq!(
        r.check(Uuid::new_v4(), &limit(Side::Buy, 45, LAST), morning()),
        Ok(())
    );
}

/// Two sells in flight used to flip a long through zero under REDUCING.
#[test]
fn reducing_counts_sells_in_flight_so_a_long_cannot_flip() {
    let mut r = risk(RiskLimits::default());
    apply(&mut r, &fill(Side::Buy, 21, LAST, "0"));
    r.set_state(TradingState::Reducing);
    assert_eq!(
        r.check(Uuid::new_v4(), &limit(Side::Sell, 14, LAST), morning()),
        Ok(())
    );
    assert_eq!(
        codes(&r.check(Uuid::new_v4(), &limit(Side::Sell, 14, LAST), morning())),
        [RejectionCode::TradingReducing]
    );
    assert_eq!(
        r.check(Uuid::new_v4(), &limit(Side::Sell, 7, LAST), morning()),
        Ok(())
    );
}

#[test]
fn max_position_value_counts_filled_and_in_flight_at_the_order_s_price() {
    let mut r = risk(RiskLimits {
        max_position_value: Some(dec("100000")),
        ..RiskLimits::default()
    });
    apply(&mut r, &fill(Side::Buy, 20, LAST, "0"));
    assert_eq!(
        r.check(Uuid::new_v4(), &limit(Side::Buy, 20, "2450.00"), morning()),
        Ok(())
    );
    // 20 filled + 20 in flight + 1 = 41 × 2450.00 = 100450.00.
    assert_eq!(
        codes(&r.check(Uuid::new_v4(), &limit(Side::Buy, 1, "2450.00"), morning())),
        [RejectionCode::MaxPositionValue]
    );
}

/// After a kill -9 some signals got two contradictory verdicts: rejected before the crash,
/// validated after it.
#[test]
fn a_raw_signal_keeps_its_first_verdict() {
    let mut r = risk(RiskLimits {
        max_order_quantity: Some(10),
        ..RiskLimits::default()
    });
    let (small, large) = (Uuid::new_v4(), Uuid::new_v4());
    assert_eq!(
        r.check(small, &limit(Side::Buy, 5, LAST), morning()),
        Ok(())
    );
    let refused = r
        .check(large, &limit(Side::Buy, 50, LAST), morning())
        .expect_err("too large");
    // Evaluated again (a redelivery), under any state: the same answers, counted once.
    r.set_state(TradingState::Halted);
    assert_eq!(
        r.check(small, &limit(Side::Buy, 5, LAST), morning()),
        Ok(())
    );
    r.set_state(TradingState::Active);
    assert_eq!(
        r.check(large, &limit(Side::Buy, 50, LAST), morning()),
        Err(refused)
    );
    assert_eq!((r.daily_trades(STRATEGY), r.open_orders()), (1, 1));
}
