//! The daily loss limits (realized and marked to market, the broker's and a strategy's,
//! flatten) and the IST day boundary.

use super::test_support::*;
use super::*;
use crate::messages::{Broker, OrderFilled, OrderType, RejectionCode, Side, TradingSignal};

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

fn ist_day() -> chrono::NaiveDate {
    chrono::NaiveDate::from_ymd_opt(2026, 11, 26).expect("date")
}

#[test]
fn realized_loss_limit_trips_reducing_on_the_fill_that_reaches_it_to_the_paisa() {
    let cases = [
        ("limit 1000.00: beyond", "1000", true),
        ("limit 1000.22: exactly reached", "1000.22", true),
        ("limit 1000.23: one paisa short", "1000.23", false),
    ];
    for (name, loss_limit, trips) in cases {
        let mut r = risk(RiskLimits {
            daily_loss_limit: Some(dec(loss_limit)),
            loss_limit_basis: LossBasis::Realized,
            ..RiskLimits::default()
        });
        let [buy1, buy2, sell] = losing_day();
        apply(&mut r, &buy1);
        apply(&mut r, &buy2);
        assert_eq!(r.daily_realized_pnl(), dec("-18.55"), "{name}");
        let breach = r.on_fill(&sell, morning());
        assert_eq!(r.daily_realized_pnl(), dec("-1000.22"), "{name}");
        assert_eq!(r.position(STRATEGY, TOKEN), 30, "{name}");
        let expected: Vec<LossLimitBreach> = trips
            .then(|| LossLimitBreach {
                broker: Broker::Paper,
                strategy: None,
                day: ist_day(),
                realized_pnl: dec("-1000.22"),
                unrealized_pnl: dec("0"),
                limit: dec(loss_limit),
                previous_state: TradingState::Active,
                state: TradingState::Reducing,
            })
            .into_iter()
            .collect();
        assert_eq!(breach, expected, "{name}");
        let state = if trips {
            TradingState::Reducing
        } else {
            TradingState::Active
        };
        assert_eq!(r.state(), state, "{name}");
    }
}

/// The trap: a breach used to HALT, which refused the exit too. Now the losing
/// position is closed under the limit, and only new exposure is refused.
#[test]
fn a_reached_loss_limit_refuses_new_exposure_but_never_the_exit() {
    let mut r = risk(RiskLimits {
        daily_loss_limit: Some(dec("1000")),
        loss_limit_basis: LossBasis::Realized,
        ..RiskLimits::default()
    });
    let [buy1, buy2, sell] = losing_day();
    apply(&mut r, &buy1);
    apply(&mut r, &buy2);
    let breach = r.on_fill(&sell, morning()).pop().expect("breach");
    assert_eq!(
        breach.to_string(),
        "paper: P&L -1000.22 (realized -1000.22, unrealized 0.00) on 2026-11-26 (IST) reached \
         the daily loss limit -1000; ACTIVE -> REDUCING"
    );
    assert_eq!(breach.rejection().code, RejectionCode::DailyLossLimit);
    // A further loss the same day does not report again.
    assert_eq!(
        r.on_fill(&fill(Side::Sell, 10, "2400.00", "1.00"), morning()),
        Vec::new()
    );
    // Long 20 is left: selling it passes, buying more is refused twice over.
    assert_eq!(
        r.check(Uuid::new_v4(), &limit(Side::Sell, 20, LAST), morning()),
        Ok(())
    );
    let refused = r
        .check(Uuid::new_v4(), &limit(Side::Buy, 1, LAST), morning())
        .expect_err("new exposure");
    assert_eq!(
        codes(&Err(refused.clone())),
        [
            RejectionCode::TradingReducing,
            RejectionCode::DailyLossLimit
        ]
    );
    assert_eq!(
        refused[1].message,
        "a daily loss limit of momentum was reached on 2026-11-26 (IST): +1 moves position 20 \
         to 21, not toward zero; only reducing orders pass until the next day"
    );
    // The operator resuming does not lift the limit for the day.
    r.set_state(TradingState::Active);
    assert_eq!(
        codes(&r.check(Uuid::new_v4(), &limit(Side::Buy, 1, LAST), morning())),
        [RejectionCode::DailyLossLimit]
    );
    // The next day it is lifted.
    let tomorrow = at("2026-11-27T04:00:00Z");
    assert_eq!(
        r.check(Uuid::new_v4(), &limit(Side::Buy, 1, LAST), tomorrow),
        Ok(())
    );
}

/// Only realized P&L used to count: an open loss of any size never tripped the limit.
#[test]
fn an_open_loss_marked_to_market_trips_the_limit_and_flatten_closes_it() {
    let mut r = risk(RiskLimits {
        daily_loss_limit: Some(dec("1000")),
        on_loss_limit: LossAction::Flatten,
        ..RiskLimits::default()
    });
    apply(&mut r, &fill(Side::Buy, 100, "2450.35", "0"));
    // 100 × (2440.36 − 2450.35) = −999.00: not yet.
    assert_eq!(r.on_tick(TOKEN, dec("2440.36")), Vec::new());
    // 100 × (2440.35 − 2450.35) = −1000.00: reached, with nothing realized.
    let breaches = r.on_tick(TOKEN, dec("2440.35"));
    assert_eq!(breaches.len(), 1);
    assert_eq!(
        (breaches[0].realized_pnl, breaches[0].unrealized_pnl),
        (dec("0"), dec("-1000.00"))
    );
    assert_eq!(r.state(), TradingState::Reducing);
    assert!(r.flattens_on_loss());
    // A price of an instrument nobody holds changes nothing.
    assert_eq!(r.on_tick(408_065, dec("1.00")), Vec::new());
    // Flatten: one market sell of the whole long, the last price as its reference.
    let closing = r.closing_orders(None);
    assert_eq!(closing.len(), 1);
    let order = &closing[0];
    assert_eq!(
        (order.side, order.quantity, order.order_type),
        (Side::Sell, 100, OrderType::Market)
    );
    assert_eq!(order.reference_price, dec("2440.35"));
    assert_eq!(
        (order.strategy_id.as_str(), order.symbol.as_str()),
        (STRATEGY, "RELIANCE")
    );
    // Once in flight it is not sent again.
    let id = Uuid::new_v4();
    r.record_validated(None, crate::messages::client_order_id(id), order, morning());
    assert_eq!(r.closing_orders(None), Vec::new());
    assert_eq!(r.open_orders(), 1);
}

#[test]
fn a_strategy_s_loss_limit_stops_that_strategy_only() {
    let mut r = risk(RiskLimits {
        strategy_daily_loss_limit: Some(dec("500")),
        ..RiskLimits::default()
    });
    apply(&mut r, &fill(Side::Buy, 100, "2450.35", "0"));
    let breaches = r.on_tick(TOKEN, dec("2445.35"));
    assert_eq!(breaches.len(), 1);
    assert_eq!(breaches[0].strategy.as_deref(), Some(STRATEGY));
    assert_eq!(r.state(), TradingState::Active, "the broker trades on");
    assert!(r.loss_limit_reached(STRATEGY));
    assert_eq!(
        codes(&r.check(Uuid::new_v4(), &limit(Side::Buy, 1, "2445.35"), morning())),
        [RejectionCode::DailyLossLimit]
    );
    let other = TradingSignal {
        strategy_id: "other".into(),
        ..limit(Side::Buy, 1, "2445.35")
    };
    assert_eq!(r.check(Uuid::new_v4(), &other, morning()), Ok(()));
    assert_eq!(
        r.check(
            Uuid::new_v4(),
            &limit(Side::Sell, 100, "2445.35"),
            morning()
        ),
        Ok(())
    );
}

#[test]
fn daily_trades_and_pnl_reset_at_ist_midnight_but_the_kill_switch_stays() {
    let before = at("2026-11-26T18:29:59Z"); // 23:59:59 IST on the 26th
    let after = at("2026-11-26T18:30:00Z"); // 00:00:00 IST on the 27th
    let mut r = risk(RiskLimits {
        max_daily_trades: Some(1),
        daily_loss_limit: Some(dec("100")),
        loss_limit_basis: LossBasis::Realized,
        ..RiskLimits::default()
    });
    let signal = limit(Side::Buy, 1, LAST);
    assert_eq!(r.check(Uuid::new_v4(), &signal, before), Ok(()));
    assert_eq!(
        codes(&r.check(Uuid::new_v4(), &signal, before)),
        [RejectionCode::MaxDailyTrades]
    );
    let late = |f: OrderFilled| OrderFilled {
        filled_at: before,
        ..f
    };
    assert_eq!(
        r.on_fill(&late(fill(Side::Buy, 10, "100.00", "0")), before),
        Vec::new()
    );
    assert_eq!(
        r.on_fill(&late(fill(Side::Sell, 5, "79.00", "0")), before)
            .len(),
        1
    );
    assert_eq!(r.daily_realized_pnl(), dec("-105.00"));
    assert_eq!(r.state(), TradingState::Reducing);

    // New day: trades, loss and the reached limit reset; the order from the 26th is no
    // longer in flight; REDUCING (the kill switch's state now) is kept.
    assert_eq!(
        codes(&r.check(Uuid::new_v4(), &signal, after)),
        [RejectionCode::TradingReducing],
    );
    assert_eq!(
        (
            r.daily_trades(STRATEGY),
            r.daily_realized_pnl(),
            r.open_orders()
        ),
        (0, dec("0"), 0)
    );
    r.set_state(TradingState::Active);
    assert_eq!(r.check(Uuid::new_v4(), &signal, after), Ok(()));
    // A clock going back does not reopen the previous day.
    assert_eq!(
        codes(&r.check(Uuid::new_v4(), &signal, before)),
        [RejectionCode::MaxDailyTrades]
    );
    // A fill from the 26th processed on the 27th moves the position, not today's P&L.
    assert_eq!(
        r.on_fill(&late(fill(Side::Sell, 5, "1.00", "0")), after),
        Vec::new()
    );
    assert_eq!(
        (r.position(STRATEGY, TOKEN), r.daily_realized_pnl()),
        (0, dec("0"))
    );
}
