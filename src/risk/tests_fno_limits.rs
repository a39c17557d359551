//! `max_premium_at_risk` and `max_notional` — at the bound, above it, reducing orders,
//! sold options, orders in flight until they end, the prices a notional falls back to —
//! and a rebuild from the events giving the same F&O state as the live one. Every
//! expected figure is computed here from the scenario's prices and lots.

use super::test_support::*;
use super::*;
use crate::messages::{OrderFailed, OrderFailureKind, Rejection, RejectionCode, Side};
use rust_decimal::Decimal;

/// `quantity` units at `price`.
fn value(quantity: u32, price: &str) -> Decimal {
    dec(price) * Decimal::from(quantity)
}

/// A bought 2 call lots at 150 (filled) and has a buy of 1 put lot at 120 in flight; B
/// sold 1 call lot at 150 and A holds 1 future lot: neither is premium at risk. The limit
/// is set afterwards.
fn premium_state(max: Decimal) -> (BrokerRisk, Uuid, crate::messages::TradingSignal) {
    let mut r = fno_risk(RiskLimits::default(), 10, &FNO_PRICES);
    hold(&mut r, "a", NIFTY_CE, Side::Buy, 2 * LOT, "150");
    hold(&mut r, "b", NIFTY_CE, Side::Sell, LOT, "150");
    hold(&mut r, "a", NIFTY_FUT, Side::Buy, LOT, "26100");
    let put = contract("a", NIFTY_PE, Side::Buy, LOT, "120");
    let id = approve(&mut r, &put);
    r.limits.max_premium_at_risk = Some(max);
    (r, id, put)
}

fn premium_now() -> Decimal {
    value(2 * LOT, "150") + value(LOT, "120")
}

#[test]
fn premium_at_risk_passes_at_the_bound_and_is_refused_above_it() {
    let bound = premium_now() + value(LOT, "40");
    let (mut r, _, _) = premium_state(bound);
    let at_bound = contract("c", NIFTY_PE, Side::Buy, LOT, "40");
    assert_eq!(r.check(Uuid::new_v4(), &at_bound, morning()), Ok(()));
    let above = contract("d", NIFTY_PE, Side::Buy, LOT, "0.05");
    let after = bound + value(LOT, "0.05");
    assert_eq!(
        r.check(Uuid::new_v4(), &above, morning()),
        Err(vec![Rejection {
            code: RejectionCode::MaxPremiumAtRisk,
            message: format!(
                "option premium at risk after the order {} exceeds {bound} (now {}): bought \
                 options' cost plus option buys in flight",
                super::prices::to_paisa(after),
                super::prices::to_paisa(bound)
            ),
        }])
    );
    // Selling options adds no premium at risk, however many: sold options are bounded by
    // the lots and notional limits.
    let sold = contract("e", NIFTY_CE, Side::Sell, 20 * LOT, "150");
    assert_eq!(r.check(Uuid::new_v4(), &sold, morning()), Ok(()));
}

#[test]
fn reducing_option_orders_pass_above_the_premium_limit_and_a_buy_crossing_zero_does_not() {
    let (mut r, _, _) = premium_state(dec("1000"));
    // A sells one of its call lots; B buys back its sold call lot.
    for reducing in [
        contract("a", NIFTY_CE, Side::Sell, LOT, "150"),
        contract("b", NIFTY_CE, Side::Buy, LOT, "150"),
    ] {
        assert_eq!(r.check(Uuid::new_v4(), &reducing, morning()), Ok(()));
    }
    // With B's buy-back in flight, another buy of 2 lots would leave B long 2 lots if
    // both fill: 2 lots at 150 more at risk.
    let crossing = contract("b", NIFTY_CE, Side::Buy, 2 * LOT, "150");
    let reasons = r.check(Uuid::new_v4(), &crossing, morning()).unwrap_err();
    assert_eq!(reasons[0].code, RejectionCode::MaxPremiumAtRisk);
    let now = premium_now();
    let after = now + value(2 * LOT, "150");
    assert!(
        reasons[0].message.starts_with(&format!(
            "option premium at risk after the order {} exceeds 1000 (now {})",
            super::prices::to_paisa(after),
            super::prices::to_paisa(now)
        )),
        "{}",
        reasons[0].message
    );
}

#[test]
fn an_option_buy_in_flight_counts_at_its_price_until_it_fails_or_fills_at_its_fill_price() {
    let bound = premium_now() + value(LOT, "40");
    let order = contract("c", NIFTY_CE, Side::Buy, LOT, "40.05");
    // In flight at 120: 40.05 is 3.25 too much.
    let (mut r, put_id, put) = premium_state(bound);
    assert_eq!(
        codes(&r.check(Uuid::new_v4(), &order, morning())),
        [RejectionCode::MaxPremiumAtRisk]
    );
    // The put fills at 118: it is at risk at its cost now, 65 × 2 below its order price,
    // which makes room for the 3.25.
    apply(&mut r, &execution(put_id, &put, LOT, LOT, "118"));
    assert_eq!(r.check(Uuid::new_v4(), &order, morning()), Ok(()));
    // The put order fails instead: its premium is no longer at risk.
    let (mut r, put_id, put) = premium_state(bound);
    r.on_order_failed(&OrderFailed {
        order: execution(put_id, &put, 0, 0, "120").order,
        quantity: LOT,
        filled_quantity: 0,
        kind: OrderFailureKind::Rejected,
        message: "test".into(),
    });
    assert_eq!(r.check(Uuid::new_v4(), &order, morning()), Ok(()));
}

/// A holds 1 future lot (bought at 26050, last 26100), B is short 2 call lots (the
/// underlying at 26000), C holds 1 BANKNIFTY future lot (bought at 59000, last 59200).
fn notional_state(max: Decimal) -> BrokerRisk {
    let mut r = fno_risk(RiskLimits::default(), 10, &FNO_PRICES);
    hold(&mut r, "a", NIFTY_FUT, Side::Buy, LOT, "26050");
    hold(&mut r, "b", NIFTY_CE, Side::Sell, 2 * LOT, "150");
    hold(&mut r, "c", BANK_FUT, Side::Buy, 30, "59000");
    r.limits.max_notional = Some(max);
    r
}

fn notional_now() -> Decimal {
    value(LOT, "26100") + value(2 * LOT, "26000") + value(30, "59200")
}

#[test]
fn notional_passes_at_the_bound_and_is_refused_above_it() {
    let bound = notional_now() + value(LOT, "26000");
    let mut r = notional_state(bound);
    // A put lot is worth its underlying: 65 × 26000, whatever its premium.
    let at_bound = contract("d", NIFTY_PE, Side::Buy, LOT, "120");
    assert_eq!(r.check(Uuid::new_v4(), &at_bound, morning()), Ok(()));
    let above = contract("d", NIFTY_FUT, Side::Sell, LOT, "26100");
    let after = bound + value(LOT, "26100");
    assert_eq!(
        r.check(Uuid::new_v4(), &above, morning()),
        Err(vec![Rejection {
            code: RejectionCode::MaxNotional,
            message: format!(
                "derivative notional after the order {} exceeds {bound} (now {}): futures at \
                 their price, options at their underlying's, filled plus in flight",
                super::prices::to_paisa(after),
                super::prices::to_paisa(bound)
            ),
        }])
    );
    // Reducing orders pass: A sells its future, B buys back a call lot.
    for reducing in [
        contract("a", NIFTY_FUT, Side::Sell, LOT, "26100"),
        contract("b", NIFTY_CE, Side::Buy, LOT, "150"),
    ] {
        assert_eq!(r.check(Uuid::new_v4(), &reducing, morning()), Ok(()));
    }
}

#[test]
fn notional_falls_back_to_the_strike_and_to_the_underlying_or_the_order_price() {
    // (case, prices ticked, order, its notional)
    let cases = [
        (
            "an option at its underlying",
            vec![(NIFTY_INDEX, "26000")],
            contract("a", NIFTY_PE, Side::Buy, LOT, "120"),
            value(LOT, "26000"),
        ),
        (
            "an option at its strike while the underlying has no price",
            vec![(NIFTY_PE, "120")],
            contract("a", NIFTY_PE, Side::Buy, LOT, "120"),
            value(LOT, "25500"),
        ),
        (
            "a future at its own price",
            vec![(NIFTY_INDEX, "26000"), (NIFTY_FUT, "26100")],
            contract("a", NIFTY_FUT, Side::Sell, LOT, "26090"),
            value(LOT, "26100"),
        ),
        (
            "a future without a price at its underlying's",
            vec![(NIFTY_INDEX, "26000")],
            contract("a", NIFTY_FUT, Side::Sell, LOT, "26090"),
            value(LOT, "26000"),
        ),
        (
            "a future with no price at all at the order's",
            vec![],
            contract("a", NIFTY_FUT, Side::Sell, LOT, "26090"),
            value(LOT, "26090"),
        ),
    ];
    for (name, prices, order, notional) in cases {
        for (max, passes) in [(notional, true), (notional - dec("0.01"), false)] {
            let mut r = fno_risk(RiskLimits::default(), 10, &prices);
            r.limits.max_notional = Some(max);
            let decision = r.check(Uuid::new_v4(), &order, morning());
            assert_eq!(
                decision.is_ok(),
                passes,
                "{name}, limit {max}: {decision:?}"
            );
        }
    }
}

#[test]
fn a_limit_under_todays_exposure_refuses_only_orders_that_grow_its_figure() {
    // The premium limit far under what is at risk: futures orders add no premium.
    let (mut r, _, _) = premium_state(dec("1"));
    let future = contract("z", NIFTY_FUT, Side::Buy, LOT, "26100");
    assert_eq!(r.check(Uuid::new_v4(), &future, morning()), Ok(()));
}

#[test]
fn a_rebuild_from_the_events_gives_the_live_f_and_o_state_and_verdicts() {
    let limits = RiskLimits {
        max_lots_per_underlying: Some(6),
        max_premium_at_risk: Some(value(3 * LOT, "150")),
        max_notional: Some(value(6 * LOT, "26100")),
        ..RiskLimits::default()
    };
    let mut live = fno_risk(limits.clone(), 10, &FNO_PRICES);
    let signals = [
        contract("a", NIFTY_CE, Side::Buy, 2 * LOT, "150"),
        contract("b", NIFTY_FUT, Side::Sell, 2 * LOT, "26100"),
        contract("a", NIFTY_CE, Side::Buy, 2 * LOT, "150"), // premium: refused
        contract("c", NIFTY_PE, Side::Sell, LOT, "120"),
        contract("c", NIFTY_PE, Side::Sell, 2 * LOT, "120"), // lots, notional: refused
        contract("a", NIFTY_PE, Side::Buy, LOT, "120"),
    ];
    let mut validated = Vec::new();
    let mut rejected = Vec::new();
    for signal in signals {
        let id = Uuid::new_v4();
        match live.check(id, &signal, morning()) {
            Ok(()) => validated.push((id, signal)),
            Err(reasons) => rejected.push((id, reasons)),
        }
    }
    assert_eq!((validated.len(), rejected.len()), (4, 2));
    // A's calls fill in two parts, B's future is cancelled, the rest stay in flight.
    let fills = [
        execution(validated[0].0, &validated[0].1, LOT, LOT, "149"),
        execution(validated[0].0, &validated[0].1, LOT, 2 * LOT, "151"),
    ];
    for fill in &fills {
        apply(&mut live, fill);
    }
    let cancelled = OrderFailed {
        order: execution(validated[1].0, &validated[1].1, 0, 0, "26100").order,
        quantity: 2 * LOT,
        filled_quantity: 0,
        kind: OrderFailureKind::Cancelled,
        message: "test".into(),
    };
    live.on_order_failed(&cancelled);

    // The rebuild reads each topic in turn: validated, rejected, fills, failures.
    let mut rebuilt = fno_risk(limits, 10, &FNO_PRICES);
    rebuilt.roll_to(morning());
    for (id, signal) in &validated {
        let order_id = crate::messages::client_order_id_of_signal(*id);
        rebuilt.record_validated(Some(*id), order_id, signal, morning());
    }
    for (id, reasons) in &rejected {
        rebuilt.record_rejected(*id, reasons.clone());
    }
    for fill in &fills {
        apply(&mut rebuilt, fill);
    }
    rebuilt.on_order_failed(&cancelled);
    assert_eq!(rebuilt, live);

    // And both judge the next orders alike: 2 + 1 + 1 lots held or in flight leave room
    // for 2 (and those 4 option lots at 26000 leave notional for 2 future lots at 26100,
    // not 3); premium 149 + 151 + 120 per lot leaves 30 × 65.
    let next = [
        (
            contract("d", NIFTY_FUT, Side::Buy, 2 * LOT, "26100"),
            vec![],
        ),
        (
            contract("d", NIFTY_FUT, Side::Buy, 3 * LOT, "26100"),
            vec![
                RejectionCode::MaxLotsPerUnderlying,
                RejectionCode::MaxNotional,
            ],
        ),
        (contract("d", NIFTY_CE, Side::Buy, LOT, "30"), vec![]),
        (
            contract("d", NIFTY_CE, Side::Buy, LOT, "30.05"),
            vec![RejectionCode::MaxPremiumAtRisk],
        ),
    ];
    for (signal, expected) in next {
        let id = Uuid::new_v4();
        let (a, b) = (
            live.clone().check(id, &signal, morning()),
            rebuilt.clone().check(id, &signal, morning()),
        );
        assert_eq!(a, b);
        assert_eq!(codes(&a), expected, "{signal:?}");
    }
}
