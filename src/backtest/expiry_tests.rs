//! The backtest settles an option held to expiry: synthetic ticks on a NIFTY weekly call
//! and on NIFTY 50 cross the expiry close, and the paper venue books the settlement fill
//! (intrinsic value, STT on exercise) into the strategy's fills and portfolio.

use super::engine::{self, RunOptions};
use crate::market::InstrumentKind;
use crate::market::hours::IST;
use crate::market::instruments::InstrumentRegistry;
use crate::messages::{Envelope, MarketTick, Side, is_expiry_settlement};
use crate::settings::Settings;
use crate::strategy::StrategyRegistry;
use chrono::{Duration, NaiveDate, TimeZone, Utc};
use rust_decimal::{Decimal, RoundingStrategy};
use std::collections::HashMap;
use std::convert::Infallible;

fn d(s: &str) -> Decimal {
    s.parse().unwrap()
}

fn round(x: Decimal) -> Decimal {
    x.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero)
}

/// One `ema_cross` strategy buying one lot (65) of `instrument`, NRML on paper, charges
/// at their defaults, nothing else in the way.
fn settings(instrument: &str) -> Settings {
    let text = format!(
        r#"
[strategies.momentum_1]
enabled = false
[strategies.ema_cross_1]
enabled = false
[strategies.weekly]
enabled = true
brokers = ["paper"]
instruments = ["{instrument}"]
params = {{ kind = "ema_cross", fast = 10, slow = 20, quantity = 65 }}
[market_hours]
enforce = false
intraday = false
[risk.paper]
max_order_quantity = "off"
max_order_value = "off"
max_position = "off"
max_daily_trades = "off"
price_band_pct = "off"
daily_loss_limit = "off"
max_open_orders = "off"
[paper]
product = "NRML"
[portfolio]
starting_cash = "10000000"
"#
    );
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("expiry.toml");
    std::fs::write(&path, text).unwrap();
    let s = Settings::load_from(Some(&path), &HashMap::new()).expect("test config");
    engine::backtest_settings(&s, 0)
}

#[actix::test]
async fn an_option_held_through_its_expiry_close_is_settled_at_intrinsic_value() {
    let monday = NaiveDate::from_ymd_opt(2026, 3, 2).unwrap();
    let registry = InstrumentRegistry::embedded_on(monday).unwrap();
    // The nearest NIFTY 26000 call: the weekly expiring Tuesday 3 March.
    let call = registry
        .iter()
        .filter(|i| i.kind == InstrumentKind::Call && i.name == "NIFTY")
        .filter(|i| i.strike == d("26000"))
        .min_by_key(|i| i.expiry)
        .unwrap()
        .clone();
    let expiry = call.expiry.unwrap();
    let nifty = registry.by_symbol("NSE:NIFTY 50").unwrap().token;
    let ist = |date: NaiveDate, h, m, s| {
        IST.from_local_datetime(&date.and_hms_opt(h, m, s).unwrap())
            .unwrap()
            .with_timezone(&Utc)
    };
    let morning = ist(expiry, 10, 0, 0);
    let mut ticks = Vec::new();
    let mut push = |token: u32, price: Decimal, at| {
        let n = u128::try_from(ticks.len()).unwrap() + 1;
        let data = MarketTick::ltp(token, price);
        ticks.push(Envelope::root_with_id(
            data,
            "test",
            at,
            uuid::Uuid::from_u128(n),
        ));
    };
    // Rising premiums: ema_cross goes long one lot on its 20th tick, at 119.
    for n in 0..20 {
        push(
            call.token,
            Decimal::from(100 + n),
            morning + Duration::seconds(n),
        );
    }
    // NIFTY 50 closes at 26,123.45; the next tick comes after the close.
    push(nifty, d("26123.45"), ist(expiry, 15, 29, 0));
    push(nifty, d("26200"), ist(expiry, 15, 31, 0));

    let options = RunOptions {
        input: "test".into(),
        seed: 0,
        progress: Box::new(|_| {}),
    };
    let (outcome, stats) = engine::run(
        &settings(&call.key()),
        &registry,
        &StrategyRegistry::builtin(),
        ticks.into_iter().map(Ok::<_, Infallible>),
        options,
    )
    .await
    .expect("backtest runs");
    assert_eq!(stats.handler_errors, 0);
    let s = &outcome.strategies[0];
    assert_eq!(s.fills.len(), 2, "{:#?}", s.fills);
    let (entry, settled) = (&s.fills[0], &s.fills[1]);
    assert_eq!(
        (entry.order.side, entry.quantity, entry.price),
        (Side::Buy, 65, d("119"))
    );
    assert!(is_expiry_settlement(&settled.order.client_order_id));
    // Intrinsic value 26,123.45 − 26,000 = 123.45 per unit, dated at the close.
    assert_eq!(
        (
            settled.order.side,
            settled.quantity,
            settled.price,
            settled.filled_at
        ),
        (Side::Sell, 65, d("123.45"), ist(expiry, 15, 30, 0))
    );
    // STT on exercise 0.15 % × 123.45 × 65, ₹20 close-out brokerage and its 18 % GST.
    let stt = round(d("0.0015") * d("123.45") * d("65"));
    assert_eq!(settled.fees.stt, stt);
    assert_eq!(settled.fees.total, stt + d("20") + d("3.60"));
    let final_portfolio = &s.final_portfolio;
    assert!(final_portfolio.positions.iter().all(|p| p.quantity == 0));
    let realized = (d("123.45") - d("119")) * d("65");
    assert_eq!(final_portfolio.realized_pnl, realized);
    assert_eq!(final_portfolio.fees, entry.fees.total + settled.fees.total);
}
