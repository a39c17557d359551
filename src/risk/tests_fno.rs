//! Futures and options: quantities in whole lots, orders no larger than the freeze
//! quantity × the slices allowed, and `max_lots_per_underlying` — at the bound, above it,
//! reducing orders, other underlyings, and orders in flight counted until they end.
//! Premium at risk, notional and the rebuild are in `tests_fno_limits`.

use super::test_support::*;
use super::*;
use crate::messages::{RejectionCode, Side};

#[test]
fn derivative_quantities_must_be_whole_lots_and_the_refusal_names_the_lots() {
    // (quantity, the refusal's message)
    let of_ce = "of the lot size 65 of NFO:NIFTY26DEC26000CE";
    let cases = [
        (65, None),
        (130, None),
        (1820, None),
        (
            1,
            Some(format!("quantity 1 is not a multiple {of_ce} (1 lot = 65)")),
        ),
        (
            100,
            Some(format!(
                "quantity 100 is not a multiple {of_ce} (1 lot = 65, 2 lots = 130)"
            )),
        ),
        (
            200,
            Some(format!(
                "quantity 200 is not a multiple {of_ce} (3 lots = 195, 4 lots = 260)"
            )),
        ),
    ];
    for (quantity, message) in cases {
        let mut r = fno_risk(RiskLimits::default(), 10, &FNO_PRICES);
        let signal = contract(STRATEGY, NIFTY_CE, Side::Buy, quantity, "150");
        let expected = message.map(|message| {
            vec![crate::messages::Rejection {
                code: RejectionCode::LotSize,
                message,
            }]
        });
        assert_eq!(
            r.check(Uuid::new_v4(), &signal, morning()).err(),
            expected,
            "quantity {quantity}"
        );
    }
    // An index has no lot: nothing of it can be ordered.
    let mut r = fno_risk(RiskLimits::default(), 10, &FNO_PRICES);
    let index = contract(STRATEGY, NIFTY_INDEX, Side::Buy, 1, "26000");
    let reasons = r.check(Uuid::new_v4(), &index, morning()).unwrap_err();
    let lot = reasons.iter().find(|r| r.code == RejectionCode::LotSize);
    assert_eq!(
        lot.map(|r| r.message.as_str()).unwrap_or_default(),
        "quantity 1 cannot be ordered: NSE:NIFTY 50 has no lot size (an index is not traded)"
    );
}

#[test]
fn an_order_beyond_the_freeze_quantity_times_the_slices_is_refused_reducing_or_not() {
    // (case, slices, token, quantity, refused)
    let cases = [
        ("within one freeze quantity", 10, NIFTY_FUT, FREEZE, false),
        (
            "above the freeze, sliced in two",
            10,
            NIFTY_FUT,
            FREEZE + LOT,
            false,
        ),
        ("at 10 slices", 10, NIFTY_FUT, FREEZE * 10, false),
        (
            "one lot above 10 slices",
            10,
            NIFTY_FUT,
            FREEZE * 10 + LOT,
            true,
        ),
        ("at 2 slices", 2, NIFTY_CE, FREEZE * 2, false),
        (
            "one lot above 2 slices",
            2,
            NIFTY_CE,
            FREEZE * 2 + LOT,
            true,
        ),
        (
            "no freeze quantity for BANKNIFTY",
            1,
            BANK_FUT,
            30 * 1000,
            false,
        ),
    ];
    for (name, slices, token, quantity, refused) in cases {
        let mut r = fno_risk(RiskLimits::default(), slices, &FNO_PRICES);
        let signal = contract(STRATEGY, token, Side::Sell, quantity, "100");
        let expected = if refused {
            vec![RejectionCode::FreezeQuantity]
        } else {
            vec![]
        };
        assert_eq!(
            codes(&r.check(Uuid::new_v4(), &signal, morning())),
            expected,
            "{name}"
        );
    }
    // The refusal has the numbers; a reducing order is refused too (it cannot be placed).
    let mut r = fno_risk(RiskLimits::default(), 2, &FNO_PRICES);
    hold(&mut r, STRATEGY, NIFTY_FUT, Side::Buy, FREEZE * 2, "26100");
    hold(&mut r, STRATEGY, NIFTY_FUT, Side::Buy, LOT, "26100");
    let close = contract(STRATEGY, NIFTY_FUT, Side::Sell, FREEZE * 2 + LOT, "26100");
    let reasons = r.check(Uuid::new_v4(), &close, morning()).unwrap_err();
    assert_eq!(
        reasons,
        [crate::messages::Rejection {
            code: RejectionCode::FreezeQuantity,
            message: "quantity 3705 of NFO:NIFTY26DECFUT exceeds 3640, the most one order \
                      can be sliced into: 2 slices (fno.max_slices) of the freeze quantity \
                      1820 of NIFTY"
                .into()
        }]
    );
}

/// Strategy A long 3 lots of the call, B short 2 lots of the put, A's buy of 1 lot of the
/// future in flight, and 5 lots of the BANKNIFTY future (another underlying): NIFTY's
/// gross lots are 3 + 2 + 1 = 6. The limit is set afterwards, at `max_lots`.
fn six_nifty_lots(max_lots: u32) -> (BrokerRisk, Uuid, crate::messages::TradingSignal) {
    let mut r = fno_risk(RiskLimits::default(), 10, &FNO_PRICES);
    hold(&mut r, "a", NIFTY_CE, Side::Buy, 3 * LOT, "150");
    hold(&mut r, "b", NIFTY_PE, Side::Sell, 2 * LOT, "120");
    hold(&mut r, "c", BANK_FUT, Side::Buy, 5 * 30, "59200");
    let future = contract("a", NIFTY_FUT, Side::Buy, LOT, "26100");
    let id = approve(&mut r, &future);
    r.limits.max_lots_per_underlying = Some(max_lots);
    (r, id, future)
}

#[test]
fn lots_per_underlying_pass_at_the_bound_and_are_refused_above_it() {
    let (mut r, _, _) = six_nifty_lots(10);
    // B sells 4 lots of the future: 6 + 4 = 10, the bound.
    let at_bound = contract("b", NIFTY_FUT, Side::Sell, 4 * LOT, "26100");
    assert_eq!(r.check(Uuid::new_v4(), &at_bound, morning()), Ok(()));
    // Now 10; a third strategy's one lot of the call makes 11.
    let above = contract("d", NIFTY_CE, Side::Buy, LOT, "150");
    let reasons = r.check(Uuid::new_v4(), &above, morning()).unwrap_err();
    assert_eq!(reasons.len(), 1);
    assert_eq!(reasons[0].code, RejectionCode::MaxLotsPerUnderlying);
    assert_eq!(
        reasons[0].message,
        "NIFTY lots after the order 11 exceed 10 (now 10): every NIFTY future and option, \
         each contract's lots, filled plus in flight"
    );
    // Another underlying has its own count: 5 BANKNIFTY lots + 5 = 10.
    let bank = contract("c", BANK_FUT, Side::Buy, 5 * 30, "59200");
    assert_eq!(r.check(Uuid::new_v4(), &bank, morning()), Ok(()));
    // An equity is no derivative: no F&O limit applies.
    let equity = limit(Side::Buy, 500, LAST);
    assert_eq!(r.check(Uuid::new_v4(), &equity, morning()), Ok(()));
}

#[test]
fn lots_are_gross_a_long_call_and_a_short_call_do_not_net() {
    let (mut r, _, _) = six_nifty_lots(7);
    // B sells 1 lot of the call A holds long: another leg, so 6 + 1 = 7; then one more
    // is 8 even though the broker's net call position would shrink.
    let one = contract("b", NIFTY_CE, Side::Sell, LOT, "150");
    assert_eq!(r.check(Uuid::new_v4(), &one, morning()), Ok(()));
    assert_eq!(
        codes(&r.check(Uuid::new_v4(), &one, morning())),
        [RejectionCode::MaxLotsPerUnderlying]
    );
}

#[test]
fn a_reducing_order_passes_above_the_lot_limit_and_an_order_that_adds_none_too() {
    // The limit lowered to 2 under the 6 lots held.
    let (mut r, _, _) = six_nifty_lots(2);
    // A sells 2 of its 3 call lots, B buys back 1 of its 2 put lots: both reduce.
    for reducing in [
        contract("a", NIFTY_CE, Side::Sell, 2 * LOT, "150"),
        contract("b", NIFTY_PE, Side::Buy, LOT, "120"),
    ] {
        assert_eq!(r.check(Uuid::new_v4(), &reducing, morning()), Ok(()));
    }
    // A's remaining call lot with both the 2-lot sell in flight and this 2-lot sell could
    // end at −1 lot: no larger than the 3 lots held, so the lots do not grow.
    let crossing = contract("a", NIFTY_CE, Side::Sell, 2 * LOT, "150");
    assert_eq!(r.check(Uuid::new_v4(), &crossing, morning()), Ok(()));
    // One lot of a new contract grows them: refused.
    let opening = contract("e", NIFTY_FUT, Side::Sell, LOT, "26100");
    assert_eq!(
        codes(&r.check(Uuid::new_v4(), &opening, morning())),
        [RejectionCode::MaxLotsPerUnderlying]
    );
}

#[test]
fn an_order_in_flight_counts_its_unfilled_lots_until_it_ends() {
    let (mut r, id, future) = six_nifty_lots(6);
    let one = contract("d", NIFTY_FUT, Side::Buy, LOT, "26100");
    assert_eq!(
        codes(&r.check(Uuid::new_v4(), &one, morning())),
        [RejectionCode::MaxLotsPerUnderlying],
        "6 lots with A's future in flight"
    );
    // A's future fills: still 6 (the lot is held now instead of in flight).
    apply(&mut r, &execution(id, &future, LOT, LOT, "26100"));
    assert_eq!(
        codes(&r.check(Uuid::new_v4(), &one, morning())),
        [RejectionCode::MaxLotsPerUnderlying],
        "6 lots with A's future filled"
    );
    // A two-lot order in flight, then failed: the lots it held in flight are free again.
    let mut r = fno_risk(RiskLimits::default(), 10, &FNO_PRICES);
    r.limits.max_lots_per_underlying = Some(2);
    let two = contract("a", NIFTY_CE, Side::Buy, 2 * LOT, "150");
    let two_id = approve(&mut r, &two);
    assert_eq!(
        codes(&r.check(Uuid::new_v4(), &one, morning())),
        [RejectionCode::MaxLotsPerUnderlying]
    );
    let failed = crate::messages::OrderFailed {
        order: execution(two_id, &two, 0, 0, "150").order,
        quantity: 2 * LOT,
        filled_quantity: 0,
        kind: crate::messages::OrderFailureKind::Cancelled,
        message: "test".into(),
    };
    r.on_order_failed(&failed);
    assert_eq!(r.check(Uuid::new_v4(), &one, morning()), Ok(()));
}
