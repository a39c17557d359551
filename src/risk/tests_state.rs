//! The stateful side: REDUCING and HALTED, the kill switch and holds. The loss limits and
//! the IST day are in `tests_loss`, orders in flight and verdicts in `tests_exposure`.

use super::test_support::*;
use super::*;
use crate::messages::{RejectionCode, Side};

#[test]
fn reducing_passes_only_orders_that_move_toward_zero_without_crossing() {
    // (case, position held, order side, order quantity, passes)
    let cases = [
        ("long 100, sell 40", 100_i32, Side::Sell, 40, true),
        ("long 100, sell 100 to flat", 100, Side::Sell, 100, true),
        ("long 100, sell 101 flips", 100, Side::Sell, 101, false),
        ("long 100, buy 1 increases", 100, Side::Buy, 1, false),
        ("short 50, buy 50 to flat", -50, Side::Buy, 50, true),
        ("short 50, buy 51 flips", -50, Side::Buy, 51, false),
        ("short 50, sell 1 increases", -50, Side::Sell, 1, false),
    ];
    for (name, held, side, quantity, passes) in cases {
        let mut r = risk(RiskLimits::default());
        let opening = if held > 0 { Side::Buy } else { Side::Sell };
        apply(&mut r, &fill(opening, held.unsigned_abs(), LAST, "0"));
        r.set_state(TradingState::Reducing);
        let decision = r.check(Uuid::new_v4(), &limit(side, quantity, LAST), morning());
        let expected = if passes {
            vec![]
        } else {
            vec![RejectionCode::TradingReducing]
        };
        assert_eq!(codes(&decision), expected, "{name}");
    }
    let mut flat = risk(RiskLimits::default());
    flat.set_state(TradingState::Reducing);
    let reasons = flat
        .check(Uuid::new_v4(), &limit(Side::Buy, 1, LAST), morning())
        .expect_err("flat cannot be reduced");
    assert_eq!(
        reasons[0].message,
        "trading on paper is REDUCING and +1 moves position 0 to 1, not toward zero"
    );
}

#[test]
fn kill_switch_halts_without_limits_and_only_set_state_lifts_it() {
    let mut r = risk(RiskLimits::default());
    r.set_state(TradingState::Halted);
    for signal in [limit(Side::Buy, 1, LAST), market(Side::Sell, 1, LAST)] {
        assert_eq!(
            codes(&r.check(Uuid::new_v4(), &signal, morning())),
            [RejectionCode::TradingHalted]
        );
    }
    // The next IST day keeps HALTED.
    let tomorrow = at("2026-11-27T05:00:00Z");
    assert_eq!(
        codes(&r.check(Uuid::new_v4(), &limit(Side::Buy, 1, LAST), tomorrow)),
        [RejectionCode::TradingHalted]
    );
    r.set_state(TradingState::Active);
    assert_eq!(
        r.check(Uuid::new_v4(), &limit(Side::Buy, 1, LAST), tomorrow),
        Ok(())
    );
    assert_eq!(r.daily_trades(STRATEGY), 1);
}

#[test]
fn a_hold_halts_the_broker_with_its_reason_and_lifting_it_restores_the_kill_switch_state() {
    let mut r = risk(RiskLimits::default());
    r.set_state(TradingState::Reducing);
    r.set_hold(Some("reconciliation with Kite pending".into()));
    assert_eq!(r.effective_state(), TradingState::Halted);
    let reasons = r
        .check(Uuid::new_v4(), &limit(Side::Buy, 1, LAST), morning())
        .expect_err("held");
    assert_eq!(reasons[0].code, RejectionCode::TradingHalted);
    assert_eq!(
        reasons[0].message,
        "trading on paper is HALTED: reconciliation with Kite pending"
    );
    r.set_hold(None);
    assert_eq!(r.effective_state(), TradingState::Reducing);
    assert_eq!(
        codes(&r.check(Uuid::new_v4(), &limit(Side::Buy, 1, LAST), morning())),
        vec![RejectionCode::TradingReducing]
    );
}
