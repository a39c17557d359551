//! The stateful side: REDUCING and HALTED, the daily loss limit, the IST day boundary,
//! and open orders.

use super::test_support::*;
use super::*;
use crate::messages::{Broker, OrderFilled, RejectionCode, Side};

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
        let decision = r.check(&limit(side, quantity, LAST), morning());
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
        .check(&limit(Side::Buy, 1, LAST), morning())
        .expect_err("flat cannot be reduced");
    assert_eq!(
        reasons[0].message,
        "trading on paper is REDUCING and +1 moves position 0 to 1, not toward zero"
    );
}

/// Buy 100 at 2450.35 (fees 12.34), buy 50 at 2460.10 (6.21), sell 120 at 2445.55 (15.67):
/// average 368040.00 / 150 = 2453.60, realized 120 × (2445.55 − 2453.60) = -966.00, fees
/// 34.22, so the day's P&L is -18.55 after the buys and -1000.22 after the sell.
fn losing_day() -> [OrderFilled; 3] {
    [
        fill(Side::Buy, 100, "2450.35", "12.34"),
        fill(Side::Buy, 50, "2460.10", "6.21"),
        fill(Side::Sell, 120, "2445.55", "15.67"),
    ]
}

#[test]
fn loss_limit_trips_halted_on_the_fill_that_reaches_it_to_the_paisa() {
    let cases = [
        ("limit 1000.00: beyond", "1000", true),
        ("limit 1000.22: exactly reached", "1000.22", true),
        ("limit 1000.23: one paisa short", "1000.23", false),
    ];
    for (name, loss_limit, trips) in cases {
        let mut r = risk(RiskLimits {
            daily_loss_limit: Some(dec(loss_limit)),
            ..RiskLimits::default()
        });
        let [buy1, buy2, sell] = losing_day();
        apply(&mut r, &buy1);
        apply(&mut r, &buy2);
        assert_eq!(r.daily_realized_pnl(), dec("-18.55"), "{name}");
        let breach = r.on_fill(&sell, morning());
        assert_eq!(r.daily_realized_pnl(), dec("-1000.22"), "{name}");
        assert_eq!(r.position(STRATEGY, TOKEN), 30, "{name}");
        let expected = trips.then(|| LossLimitBreach {
            broker: Broker::Paper,
            day: chrono::NaiveDate::from_ymd_opt(2026, 11, 26).expect("date"),
            realized_pnl: dec("-1000.22"),
            limit: dec(loss_limit),
            previous_state: TradingState::Active,
        });
        assert_eq!(breach, expected, "{name}");
        let state = if trips {
            TradingState::Halted
        } else {
            TradingState::Active
        };
        assert_eq!(r.state(), state, "{name}");
    }
}

#[test]
fn halted_refuses_everything_and_the_breach_is_reported_once() {
    let mut r = risk(RiskLimits {
        daily_loss_limit: Some(dec("1000")),
        ..RiskLimits::default()
    });
    let [buy1, buy2, sell] = losing_day();
    apply(&mut r, &buy1);
    apply(&mut r, &buy2);
    let breach = r.on_fill(&sell, morning()).expect("breach");
    assert_eq!(
        breach.to_string(),
        "paper: realized P&L -1000.22 on 2026-11-26 (IST) reached the daily loss limit -1000; \
         ACTIVE -> HALTED"
    );
    assert_eq!(breach.rejection().code, RejectionCode::DailyLossLimit);
    // A further loss the same day does not report again.
    assert_eq!(
        r.on_fill(&fill(Side::Sell, 10, "2400.00", "1.00"), morning()),
        None
    );

    for signal in [
        limit(Side::Buy, 1, LAST),
        limit(Side::Sell, 20, LAST), // would reduce long 20
        market(Side::Sell, 1, LAST),
    ] {
        let decision = r.check(&signal, morning());
        assert_eq!(
            codes(&decision).first(),
            Some(&RejectionCode::TradingHalted)
        );
    }
    r.set_state(TradingState::Reducing);
    assert_eq!(r.check(&limit(Side::Sell, 20, LAST), morning()), Ok(()));
    assert_eq!(
        codes(&r.check(&limit(Side::Buy, 1, LAST), morning())),
        [
            RejectionCode::TradingReducing,
            RejectionCode::DailyLossLimit
        ]
    );
}

#[test]
fn kill_switch_halts_without_limits_and_only_set_state_lifts_it() {
    let mut r = risk(RiskLimits::default());
    r.set_state(TradingState::Halted);
    for signal in [limit(Side::Buy, 1, LAST), market(Side::Sell, 1, LAST)] {
        assert_eq!(
            codes(&r.check(&signal, morning())),
            [RejectionCode::TradingHalted]
        );
    }
    // The next IST day keeps HALTED.
    let tomorrow = at("2026-11-27T05:00:00Z");
    assert_eq!(
        codes(&r.check(&limit(Side::Buy, 1, LAST), tomorrow)),
        [RejectionCode::TradingHalted]
    );
    r.set_state(TradingState::Active);
    assert_eq!(r.check(&limit(Side::Buy, 1, LAST), tomorrow), Ok(()));
    assert_eq!(r.daily_trades(STRATEGY), 1);
}

#[test]
fn daily_trades_and_pnl_reset_at_ist_midnight_but_halted_stays() {
    let before = at("2026-11-26T18:29:59Z"); // 23:59:59 IST on the 26th
    let after = at("2026-11-26T18:30:00Z"); // 00:00:00 IST on the 27th
    let mut r = risk(RiskLimits {
        max_daily_trades: Some(1),
        daily_loss_limit: Some(dec("100")),
        ..RiskLimits::default()
    });
    let signal = limit(Side::Buy, 1, LAST);
    assert_eq!(r.check(&signal, before), Ok(()));
    assert_eq!(
        codes(&r.check(&signal, before)),
        [RejectionCode::MaxDailyTrades]
    );
    let late = |f: OrderFilled| OrderFilled {
        filled_at: before,
        ..f
    };
    assert_eq!(
        r.on_fill(&late(fill(Side::Buy, 10, "100.00", "0")), before),
        None
    );
    assert!(
        r.on_fill(&late(fill(Side::Sell, 5, "79.00", "0")), before)
            .is_some()
    );
    assert_eq!(r.daily_realized_pnl(), dec("-105.00"));

    assert_eq!(
        codes(&r.check(&signal, after)),
        [RejectionCode::TradingHalted],
        "new day: trades and loss reset, HALTED kept"
    );
    assert_eq!(
        (r.daily_trades(STRATEGY), r.daily_realized_pnl()),
        (0, dec("0"))
    );
    r.set_state(TradingState::Active);
    assert_eq!(r.check(&signal, after), Ok(()));
    // A clock going back does not reopen the previous day.
    assert_eq!(
        codes(&r.check(&signal, before)),
        [RejectionCode::MaxDailyTrades]
    );
    // A fill from the 26th processed on the 27th moves the position, not today's P&L.
    assert_eq!(
        r.on_fill(&late(fill(Side::Sell, 5, "1.00", "0")), after),
        None
    );
    assert_eq!(
        (r.position(STRATEGY, TOKEN), r.daily_realized_pnl()),
        (0, dec("0"))
    );
}

#[test]
fn open_orders_close_on_the_completing_fill_or_a_failure() {
    let mut r = risk(RiskLimits {
        max_open_orders: Some(2),
        ..RiskLimits::default()
    });
    let signal = limit(Side::Buy, 10, LAST);
    assert_eq!(r.check(&signal, morning()), Ok(()));
    assert_eq!(r.check(&signal, morning()), Ok(()));
    assert_eq!(
        codes(&r.check(&signal, morning())),
        [RejectionCode::MaxOpenOrders]
    );

    let partial = OrderFilled {
        cumulative_quantity: 4,
        order_quantity: 10,
        ..fill(Side::Buy, 4, LAST, "0")
    };
    apply(&mut r, &partial);
    assert_eq!(r.open_orders(), 2, "a partial fill leaves the order open");
    let last = OrderFilled {
        cumulative_quantity: 10,
        order_quantity: 10,
        ..fill(Side::Buy, 6, LAST, "0")
    };
    apply(&mut r, &last);
    assert_eq!(r.open_orders(), 1, "the completing fill closes it");
    r.on_order_failed(&failed(Broker::Zerodha));
    assert_eq!(r.open_orders(), 1, "another broker's failure is ignored");
    r.on_order_failed(&failed(Broker::Paper));
    r.on_order_failed(&failed(Broker::Paper));
    assert_eq!(r.open_orders(), 0, "never below zero");
    assert_eq!(r.check(&signal, morning()), Ok(()));
}

#[test]
fn a_hold_halts_the_broker_with_its_reason_and_lifting_it_restores_the_kill_switch_state() {
    let mut r = risk(RiskLimits::default());
    r.set_state(TradingState::Reducing);
    r.set_hold(Some("reconciliation with Kite pending".into()));
    assert_eq!(r.effective_state(), TradingState::Halted);
    let reasons = r
        .check(&limit(Side::Buy, 1, LAST), morning())
        .expect_err("held");
    assert_eq!(reasons[0].code, RejectionCode::TradingHalted);
    assert_eq!(
        reasons[0].message,
        "trading on paper is HALTED: reconciliation with Kite pending"
    );
    r.set_hold(None);
    assert_eq!(r.effective_state(), TradingState::Reducing);
    assert_eq!(
        codes(&r.check(&limit(Side::Buy, 1, LAST), morning())),
        vec![RejectionCode::TradingReducing]
    );
}
