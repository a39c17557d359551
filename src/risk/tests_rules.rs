//! One case per rule: the signal over the limit is refused with its code and a message
//! carrying the numbers, and an otherwise-identical signal (or state) at the limit passes.
//! Then several rules at once, order values and price-band details.

use super::prices::order_value;
use super::test_support::*;
use super::*;
use crate::messages::{
    Broker, OrderFilled, OrderType, Rejection, RejectionCode, Side, TradingSignal,
};

/// Per-order rules: one state, two signals that differ only in the number that matters.
struct OrderCase {
    name: &'static str,
    limits: RiskLimits,
    setup: fn(&mut BrokerRisk),
    ok: TradingSignal,
    bad: TradingSignal,
    code: RejectionCode,
    message: &'static str,
}

fn no_setup(_: &mut BrokerRisk) {}

fn long_60(r: &mut BrokerRisk) {
    apply(r, &fill(Side::Buy, 60, LAST, "0"));
}

fn short_60(r: &mut BrokerRisk) {
    apply(r, &fill(Side::Sell, 60, LAST, "0"));
}

#[test]
fn each_order_rule_refuses_over_its_limit_and_passes_at_it() {
    let cases = [
        OrderCase {
            name: "quantity over max_order_quantity",
            limits: RiskLimits {
                max_order_quantity: Some(100),
                ..RiskLimits::default()
            },
            setup: no_setup,
            ok: limit(Side::Buy, 100, LAST),
            bad: limit(Side::Buy, 101, LAST),
            code: RejectionCode::MaxOrderQuantity,
            message: "order quantity 101 exceeds 100",
        },
        OrderCase {
            name: "value over max_order_value",
            limits: RiskLimits {
                max_order_value: Some(dec("20000")),
                ..RiskLimits::default()
            },
            setup: no_setup,
            ok: limit(Side::Buy, 8, LAST),   // 19602.80
            bad: limit(Side::Buy, 10, LAST), // 24503.50
            code: RejectionCode::MaxOrderValue,
            message: "order value 24503.50 exceeds 20000",
        },
        OrderCase {
            name: "long position over max_position",
            limits: RiskLimits {
                max_position: Some(100),
                ..RiskLimits::default()
            },
            setup: long_60,
            ok: limit(Side::Buy, 40, LAST),
            bad: limit(Side::Buy, 41, LAST),
            code: RejectionCode::MaxPosition,
            message: "position after the order 101 exceeds ±100 (now 60, order +41)",
        },
        OrderCase {
            name: "short position over max_position",
            limits: RiskLimits {
                max_position: Some(100),
                ..RiskLimits::default()
            },
            setup: short_60,
            ok: limit(Side::Sell, 40, LAST),
            bad: limit(Side::Sell, 41, LAST),
            code: RejectionCode::MaxPosition,
            message: "position after the order -101 exceeds ±100 (now -60, order -41)",
        },
        OrderCase {
            name: "flip through zero over max_position",
            limits: RiskLimits {
                max_position: Some(100),
                ..RiskLimits::default()
            },
            setup: long_60,
            ok: limit(Side::Sell, 160, LAST),
            bad: limit(Side::Sell, 161, LAST),
            code: RejectionCode::MaxPosition,
            message: "position after the order -101 exceeds ±100 (now 60, order -161)",
        },
        OrderCase {
            name: "limit price above the band",
            limits: RiskLimits {
                price_band_pct: Some(dec("5")),
                ..RiskLimits::default()
            },
            setup: no_setup,
            ok: limit(Side::Buy, 1, "2572.85"),
            bad: limit(Side::Buy, 1, "2572.90"),
            code: RejectionCode::PriceBand,
            message: "limit price 2572.90 not within ±5% of last price 2450.35 \
                      (2327.8325 to 2572.8675)",
        },
        OrderCase {
            name: "limit price below the band",
            limits: RiskLimits {
                price_band_pct: Some(dec("5")),
                ..RiskLimits::default()
            },
            setup: no_setup,
            ok: limit(Side::Sell, 1, "2327.85"),
            bad: limit(Side::Sell, 1, "2327.80"),
            code: RejectionCode::PriceBand,
            message: "limit price 2327.80 not within ±5% of last price 2450.35 \
                      (2327.8325 to 2572.8675)",
        },
    ];
    for case in cases {
        let mut ok_state = risk(case.limits.clone());
        (case.setup)(&mut ok_state);
        let mut bad_state = ok_state.clone();
        assert_eq!(
            ok_state.check(Uuid::new_v4(), &case.ok, morning()),
            Ok(()),
            "{}",
            case.name
        );
        let expected = Rejection {
            code: case.code,
            message: case.message.into(),
        };
        assert_eq!(
            bad_state.check(Uuid::new_v4(), &case.bad, morning()),
            Err(vec![expected]),
            "{}",
            case.name
        );
    }
}

/// Stateful rules: one signal, a state just inside the limit and one at it.
struct StateCase {
    name: &'static str,
    limits: RiskLimits,
    ok_setup: fn(&mut BrokerRisk),
    bad_setup: fn(&mut BrokerRisk),
    code: RejectionCode,
    message: &'static str,
}

fn approve(r: &mut BrokerRisk, n: u32) {
    for _ in 0..n {
        assert_eq!(
            r.check(Uuid::new_v4(), &limit(Side::Buy, 1, LAST), morning()),
            Ok(())
        );
    }
}

/// Long 10 after buying 100 at 100.00 (no fees) and selling 90 at `exit` (`fees`).
fn lose_on_90(r: &mut BrokerRisk, exit: &str, fees: &str) -> Vec<LossLimitBreach> {
    apply(r, &fill(Side::Buy, 100, "100.00", "0"));
    r.on_fill(&fill(Side::Sell, 90, exit, fees), morning())
}

#[test]
fn each_stateful_rule_refuses_at_its_limit_and_passes_below_it() {
    let cases = [
        StateCase {
            name: "daily trades at max_daily_trades",
            limits: RiskLimits {
                max_daily_trades: Some(3),
                ..RiskLimits::default()
            },
            ok_setup: |r| approve(r, 2),
            bad_setup: |r| approve(r, 3),
            code: RejectionCode::MaxDailyTrades,
            message: "strategy momentum already has 3 validated signals on 2026-11-26 (IST), \
                      the limit is 3",
        },
        StateCase {
            name: "open orders at max_open_orders",
            limits: RiskLimits {
                max_open_orders: Some(3),
                ..RiskLimits::default()
            },
            ok_setup: |r| approve(r, 2),
            bad_setup: |r| approve(r, 3),
            code: RejectionCode::MaxOpenOrders,
            message: "3 open orders on paper, the limit is 3",
        },
        StateCase {
            name: "no last price with the price band on",
            limits: RiskLimits {
                price_band_pct: Some(dec("5")),
                ..RiskLimits::default()
            },
            ok_setup: no_setup,
            bad_setup: |r| *r = BrokerRisk::new(Broker::Paper, r.limits().clone()),
            code: RejectionCode::NoMarketPrice,
            message: "no last price for token 738561 (RELIANCE); the price band needs one",
        },
        StateCase {
            // -899.10 passes; 90 × (88.89 − 100) − 0.10 fees = -1000.00 reaches the limit.
            // The breach puts the broker in REDUCING; the operator re-activates, and the
            // rule still refuses new exposure.
            name: "realized loss at daily_loss_limit, re-activated",
            limits: RiskLimits {
                daily_loss_limit: Some(dec("1000")),
                loss_limit_basis: LossBasis::Realized,
                ..RiskLimits::default()
            },
            ok_setup: |r| assert_eq!(lose_on_90(r, "90.01", "0"), Vec::new()),
            bad_setup: |r| {
                assert_eq!(lose_on_90(r, "88.89", "0.10").len(), 1);
                r.set_state(TradingState::Active);
            },
            code: RejectionCode::DailyLossLimit,
            message: "a daily loss limit of momentum was reached on 2026-11-26 (IST): +1 moves \
                      position 10 to 11, not toward zero; only reducing orders pass until the \
                      next day",
        },
    ];
    let signal = limit(Side::Buy, 1, LAST);
    for case in cases {
        let mut ok_state = risk(case.limits.clone());
        (case.ok_setup)(&mut ok_state);
        assert_eq!(
            ok_state.check(Uuid::new_v4(), &signal, morning()),
            Ok(()),
            "{}",
            case.name
        );
        let mut bad_state = risk(case.limits);
        (case.bad_setup)(&mut bad_state);
        let expected = Rejection {
            code: case.code,
            message: case.message.into(),
        };
        assert_eq!(
            bad_state.check(Uuid::new_v4(), &signal, morning()),
            Err(vec![expected]),
            "{}",
            case.name
        );
    }
}

#[test]
fn a_signal_failing_every_rule_gets_every_reason_in_stable_order_and_records_nothing() {
    let mut r = risk(RiskLimits {
        max_daily_trades: Some(2),
        max_open_orders: Some(2),
        ..all_limits()
    });
    approve(&mut r, 2);
    // Two orders of 1 in flight. Long 200, then 100 sold at 10.00 less → realized
    // -1000.00, the loss limit reached; then the operator halts. Long 100.
    let partial = |side, quantity, price: &str| OrderFilled {
        order_quantity: 1000,
        ..fill(side, quantity, price, "0")
    };
    apply(&mut r, &partial(Side::Buy, 200, LAST));
    assert_eq!(
        r.on_fill(&partial(Side::Sell, 100, "2440.35"), morning())
            .len(),
        1
    );
    r.set_state(TradingState::Halted);

    let reasons = r
        .check(Uuid::new_v4(), &limit(Side::Buy, 101, "2600.00"), morning())
        .expect_err("fails everything");
    let got: Vec<(RejectionCode, &str)> = reasons
        .iter()
        .map(|x| (x.code, x.message.as_str()))
        .collect();
    assert_eq!(
        got,
        [
            (RejectionCode::TradingHalted, "trading on paper is HALTED"),
            (
                RejectionCode::MaxOrderQuantity,
                "order quantity 101 exceeds 100"
            ),
            (
                RejectionCode::MaxOrderValue,
                "order value 262600.00 exceeds 100000"
            ),
            (
                RejectionCode::MaxPosition,
                "position after the order 203 exceeds ±200 (now 100 (+2 in flight), order +101)"
            ),
            (
                RejectionCode::MaxDailyTrades,
                "strategy momentum already has 2 validated signals on 2026-11-26 (IST), \
                 the limit is 2"
            ),
            (
                RejectionCode::PriceBand,
                "limit price 2600.00 not within ±5% of last price 2450.35 \
                 (2327.8325 to 2572.8675)"
            ),
            (
                RejectionCode::DailyLossLimit,
                "a daily loss limit of momentum was reached on 2026-11-26 (IST): +101 moves \
                 position 100 (+2 in flight) to 203, not toward zero; only reducing orders pass \
                 until the next day"
            ),
            (
                RejectionCode::MaxOpenOrders,
                "2 open orders on paper, the limit is 2"
            ),
        ]
    );
    assert_eq!((r.daily_trades(STRATEGY), r.open_orders()), (2, 2));
}

#[test]
fn order_value_uses_limit_price_else_trigger_else_reference() {
    let sl = |order_type, price: Option<&str>, trigger: Option<&str>| TradingSignal {
        order_type,
        price: price.map(dec),
        trigger_price: trigger.map(dec),
        ..limit(Side::Buy, 10, LAST)
    };
    let cases = [
        (
            "LIMIT: limit price",
            sl(OrderType::Limit, Some(LAST), None),
            "24503.50",
        ),
        (
            "SL: limit price, not trigger",
            sl(OrderType::StopLimit, Some(LAST), Some("2449.00")),
            "24503.50",
        ),
        (
            "SL-M: trigger price",
            sl(OrderType::StopMarket, None, Some("2449.00")),
            "24490.00",
        ),
        (
            "MARKET: reference price",
            market(Side::Buy, 10, "2450.30"),
            "24503.00",
        ),
    ];
    for (name, signal, value) in cases {
        assert_eq!(order_value(&signal), dec(value), "{name}");
    }
}

#[test]
fn price_band_checks_trigger_and_market_reference_prices() {
    let mut r = risk(RiskLimits {
        price_band_pct: Some(dec("5")),
        ..RiskLimits::default()
    });
    let stop = |price: &str, trigger: &str| TradingSignal {
        order_type: OrderType::StopLimit,
        price: Some(dec(price)),
        trigger_price: Some(dec(trigger)),
        ..limit(Side::Sell, 1, LAST)
    };
    let band = "not within ±5% of last price 2450.35 (2327.8325 to 2572.8675)";
    let cases = [
        ("SL inside", stop("2400.00", "2405.00"), None),
        (
            "SL trigger outside",
            stop("2400.00", "2300.00"),
            Some(format!("trigger price 2300.00 {band}")),
        ),
        (
            "SL both outside",
            stop("2300.00", "2310.00"),
            Some(format!(
                "limit price 2300.00 and trigger price 2310.00 {band}"
            )),
        ),
        (
            "MARKET reference inside",
            market(Side::Buy, 1, "2572.80"),
            None,
        ),
        (
            "MARKET reference outside",
            market(Side::Buy, 1, "2600"),
            Some(format!("reference price 2600 {band}")),
        ),
    ];
    for (name, signal, message) in cases {
        let expected = match message {
            None => Ok(()),
            Some(message) => Err(vec![Rejection {
                code: RejectionCode::PriceBand,
                message,
            }]),
        };
        assert_eq!(
            r.check(Uuid::new_v4(), &signal, morning()),
            expected,
            "{name}"
        );
    }
}
