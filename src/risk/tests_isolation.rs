//! Paper and zerodha never share state, and a snapshot restores a state that decides
//! exactly as the original did.

use super::test_support::*;
use super::*;
use crate::messages::{Broker, OrderFilled, RejectionCode, Side};
use chrono::{DateTime, Utc};

#[test]
fn paper_and_zerodha_states_never_mix() {
    let limits = RiskLimits {
        max_daily_trades: Some(1),
        daily_loss_limit: Some(dec("100")),
        ..RiskLimits::default()
    };
    let mut paper = risk(limits.clone());
    let mut zerodha = BrokerRisk::new(Broker::Zerodha, limits);
    zerodha.on_tick(TOKEN, dec(LAST));

    let paper_signal = limit(Side::Buy, 1, LAST);
    let zerodha_signal = on(Broker::Zerodha, paper_signal.clone());
    assert_eq!(paper.check(&paper_signal, morning()), Ok(()));
    assert_eq!(
        zerodha.check(&zerodha_signal, morning()),
        Ok(()),
        "own count"
    );
    // Paper loses past its limit; zerodha sees nothing of it.
    for broker_risk in [&mut paper, &mut zerodha] {
        let _ = broker_risk.on_fill(&fill(Side::Buy, 10, "100.00", "0"), morning());
        let _ = broker_risk.on_fill(&fill(Side::Sell, 10, "80.00", "0"), morning());
    }
    assert_eq!(paper.state(), TradingState::Halted);
    assert_eq!(zerodha.state(), TradingState::Active);
    assert_eq!(zerodha.daily_realized_pnl(), dec("0"));
    let zerodha_fill = fill_for(Broker::Zerodha, Side::Sell, 7, LAST, "0");
    let _ = paper.on_fill(&zerodha_fill, morning());
    let _ = zerodha.on_fill(&zerodha_fill, morning());
    assert_eq!(paper.position(STRATEGY, TOKEN), 0);
    assert_eq!(zerodha.position(STRATEGY, TOKEN), -7);

    let refused = zerodha
        .check(&paper_signal, morning())
        .expect_err("a paper signal is not zerodha's");
    assert_eq!(refused[0].code, RejectionCode::TradingHalted);
    assert_eq!(
        refused[0].message,
        "signal for paper reached the zerodha risk state, which does not trade it"
    );
    assert_eq!(
        (paper.daily_trades(STRATEGY), zerodha.daily_trades(STRATEGY)),
        (1, 1)
    );
}

#[test]
fn snapshot_restore_round_trip_gives_identical_decisions() {
    let mut original = risk(all_limits());
    original.on_tick(408_065, dec("1520.10"));
    let other = |f: OrderFilled| OrderFilled {
        order: crate::messages::OrderRef {
            token: 408_065,
            ..f.order.clone()
        },
        ..f
    };
    apply(&mut original, &fill(Side::Buy, 1, "10.00", "0.01"));
    apply(&mut original, &fill(Side::Buy, 2, "10.01", "0.02")); // average 10.00666…
    apply(
        &mut original,
        &other(fill(Side::Sell, 30, "1520.10", "3.10")),
    );
    for _ in 0..3 {
        assert_eq!(
            original.check(&limit(Side::Buy, 1, LAST), morning()),
            Ok(())
        );
    }
    original.set_state(TradingState::Reducing);

    let json = serde_json::to_string(&original.snapshot()).expect("serializes");
    assert!(json.contains(r#""state":"REDUCING""#), "{json}");
    assert!(json.contains(r#""cost_basis":"30.02""#), "{json}");
    let snapshot: RiskSnapshot = serde_json::from_str(&json).expect("deserializes");
    let mut restored = BrokerRisk::restore(snapshot, all_limits());
    assert_eq!(restored, original);

    let noon = at("2026-11-26T07:00:00Z");
    let next_day = at("2026-11-27T04:00:00Z");
    let script: Vec<(DateTime<Utc>, Option<OrderFilled>, _)> = vec![
        (noon, None, limit(Side::Sell, 3, LAST)),
        (noon, None, limit(Side::Buy, 1, LAST)),
        (
            noon,
            Some(fill(Side::Sell, 3, "11.00", "0.05")),
            limit(Side::Sell, 1, LAST),
        ),
        (noon, None, on(Broker::Zerodha, limit(Side::Buy, 1, LAST))),
        (
            next_day,
            Some(other(fill(Side::Buy, 30, "1400.00", "1"))),
            market(Side::Buy, 1, LAST),
        ),
    ];
    for (i, (when, fill, signal)) in script.into_iter().enumerate() {
        if let Some(f) = fill {
            assert_eq!(
                original.on_fill(&f, when),
                restored.on_fill(&f, when),
                "step {i}"
            );
        }
        let a = original.check(&signal, when);
        assert_eq!(a, restored.check(&signal, when), "step {i}");
        if i == 3 {
            original.set_state(TradingState::Active);
            restored.set_state(TradingState::Active);
        }
    }
    assert_eq!(restored.snapshot(), original.snapshot());
}

#[test]
fn ticks_with_no_price_are_ignored_and_states_have_wire_names() {
    let mut r = risk(RiskLimits::default());
    r.on_tick(TOKEN, dec("0"));
    let prices = r.snapshot().last_prices;
    assert_eq!(
        prices,
        [LastPrice {
            token: TOKEN,
            price: dec(LAST)
        }]
    );
    for (state, wire) in [
        (TradingState::Active, "\"ACTIVE\""),
        (TradingState::Reducing, "\"REDUCING\""),
        (TradingState::Halted, "\"HALTED\""),
    ] {
        assert_eq!(serde_json::to_string(&state).ok().as_deref(), Some(wire));
        assert_eq!(format!("\"{state}\""), wire);
    }
}
