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
    let _ = zerodha.on_tick(TOKEN, dec(LAST));

    let paper_signal = limit(Side::Buy, 1, LAST);
    let zerodha_signal = on(Broker::Zerodha, paper_signal.clone());
    assert_eq!(
        paper.check(Uuid::new_v4(), &paper_signal, morning()),
        Ok(())
    );
    assert_eq!(
        zerodha.check(Uuid::new_v4(), &zerodha_signal, morning()),
        Ok(()),
        "own count"
    );
    // Paper loses past its limit; zerodha sees nothing of it.
    for broker_risk in [&mut paper, &mut zerodha] {
        let _ = broker_risk.on_fill(&fill(Side::Buy, 10, "100.00", "0"), morning());
        let _ = broker_risk.on_fill(&fill(Side::Sell, 10, "80.00", "0"), morning());
    }
    assert_eq!(paper.state(), TradingState::Reducing);
    assert_eq!(zerodha.state(), TradingState::Active);
    assert_eq!(zerodha.daily_realized_pnl(), dec("0"));
    let zerodha_fill = fill_for(Broker::Zerodha, Side::Sell, 7, LAST, "0");
    let _ = paper.on_fill(&zerodha_fill, morning());
    let _ = zerodha.on_fill(&zerodha_fill, morning());
    assert_eq!(paper.position(STRATEGY, TOKEN), 0);
    assert_eq!(zerodha.position(STRATEGY, TOKEN), -7);

    let refused = zerodha
        .check(Uuid::new_v4(), &paper_signal, morning())
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

/// What the actor does at start: the same events applied to a fresh state (validations
/// with their raw ids and order ids, then fills and failures) give a state that makes the
/// same decisions as the one that lived through them, and knows every earlier verdict.
#[test]
fn a_state_rebuilt_from_the_same_events_gives_identical_decisions() {
    let mut original = risk(all_limits());
    let _ = original.on_tick(408_065, dec("1520.10"));
    let other = |f: OrderFilled| OrderFilled {
        order: crate::messages::OrderRef {
            token: 408_065,
            ..f.order.clone()
        },
        ..f
    };
    let fills = [
        fill(Side::Buy, 1, "10.00", "0.01"),
        fill(Side::Buy, 2, "10.01", "0.02"), // average 10.00666…
        other(fill(Side::Sell, 30, "1520.10", "3.10")),
    ];
    for f in &fills {
        apply(&mut original, f);
    }
    let ids: Vec<Uuid> = (0..4).map(|_| Uuid::new_v4()).collect();
    for id in &ids[..3] {
        assert_eq!(
            original.check(*id, &limit(Side::Buy, 1, LAST), morning()),
            Ok(())
        );
    }
    let refused = original
        .check(ids[3], &limit(Side::Buy, 500, LAST), morning())
        .expect_err("too large");
    original.set_state(TradingState::Reducing);

    let mut rebuilt = risk(all_limits());
    let _ = rebuilt.on_tick(408_065, dec("1520.10"));
    rebuilt.roll_to(morning());
    for id in &ids[..3] {
        let order = crate::messages::client_order_id_of_signal(*id);
        rebuilt.record_validated(Some(*id), order, &limit(Side::Buy, 1, LAST), morning());
    }
    rebuilt.record_rejected(ids[3], refused.clone());
    for f in &fills {
        apply(&mut rebuilt, f);
    }
    rebuilt.set_state(TradingState::Reducing);
    assert_eq!(rebuilt, original);
    // A raw signal decided before gets its verdict again, counted once.
    assert_eq!(
        rebuilt.check(ids[3], &limit(Side::Buy, 1, LAST), morning()),
        Err(refused)
    );
    assert_eq!(
        rebuilt.check(ids[0], &limit(Side::Buy, 500, LAST), morning()),
        Ok(())
    );
    assert_eq!(
        (rebuilt.daily_trades(STRATEGY), rebuilt.open_orders()),
        (3, 3)
    );

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
                rebuilt.on_fill(&f, when),
                "step {i}"
            );
        }
        let id = Uuid::new_v4();
        let a = original.check(id, &signal, when);
        assert_eq!(a, rebuilt.check(id, &signal, when), "step {i}");
        if i == 3 {
            original.set_state(TradingState::Active);
            rebuilt.set_state(TradingState::Active);
        }
    }
    assert_eq!(rebuilt, original);
}

#[test]
fn ticks_with_no_price_are_ignored_and_states_have_wire_names() {
    let mut r = risk(RiskLimits {
        price_band_pct: Some(dec("5")),
        ..RiskLimits::default()
    });
    let _ = r.on_tick(TOKEN, dec("0"));
    // The band still judges against the last real price.
    assert_eq!(
        r.check(Uuid::new_v4(), &limit(Side::Buy, 1, LAST), morning()),
        Ok(())
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
