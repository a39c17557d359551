//! The engine on hand-made ticks: the benchmark's exact `ema_cross` behaviour through the
//! real actors (warm-up, fills at the touch on the signal's own tick, 100 then 200 on a
//! flip), and market hours read from tick time.

use super::engine::{self, RunOptions};
use super::report::Outcome;
use crate::market::instruments::InstrumentRegistry;
use crate::messages::{DepthLevel, Envelope, MarketDepth, MarketTick, OrderFilled, Side, TickMode};
use crate::settings::Settings;
use crate::strategy::StrategyRegistry;
use chrono::{DateTime, Duration, TimeZone, Utc};
use rust_decimal::Decimal;
use std::collections::HashMap;
use std::convert::Infallible;

const RELIANCE: u32 = 738_561;

fn settings() -> Settings {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("config/examples/backtest-ema.toml");
    let s = Settings::load_from(Some(&path), &HashMap::new()).expect("benchmark config");
    engine::backtest_settings(&s, 0)
}

/// A tick whose mid is `mid` rupees, bid and ask 5 paise either side.
fn tick(n: i64, at: DateTime<Utc>, mid: Decimal) -> Envelope<MarketTick> {
    let spread = Decimal::new(5, 2);
    let level = |price| DepthLevel {
        quantity: 1,
        price,
        orders: 1,
    };
    let data = MarketTick {
        symbol: Some("RELIANCE".into()),
        mode: TickMode::Full,
        depth: Some(MarketDepth {
            bids: vec![level(mid - spread)],
            asks: vec![level(mid + spread)],
        }),
        ..MarketTick::ltp(RELIANCE, mid)
    };
    let id = uuid::Uuid::from_u128(u128::try_from(n).unwrap() + 1);
    Envelope::root_with_id(data, "test", at, id)
}

async fn run(settings: &Settings, ticks: Vec<Envelope<MarketTick>>) -> (Outcome, engine::RunStats) {
    let registry = InstrumentRegistry::embedded().unwrap();
    let options = RunOptions {
        input: "test".into(),
        seed: 0,
        progress: Box::new(|_| {}),
    };
    engine::run(
        settings,
        &registry,
        &StrategyRegistry::builtin(),
        ticks.into_iter().map(Ok::<_, Infallible>),
        options,
    )
    .await
    .expect("backtest runs")
}

fn summary(fills: &[OrderFilled]) -> Vec<(Side, u32, Decimal, DateTime<Utc>)> {
    fills
        .iter()
        .map(|f| (f.order.side, f.quantity, f.price, f.filled_at))
        .collect()
}

#[actix::test]
async fn ema_cross_warms_up_then_fills_100_and_flips_with_200_at_the_touch_of_its_own_tick() {
    let start = Utc.with_ymd_and_hms(2026, 11, 2, 4, 0, 0).unwrap();
    let at = |n: i64| start + Duration::milliseconds(100 * n);
    // 19 rising ticks: the slow EMA has not seen 20 inputs, nothing may trade yet.
    let mut ticks: Vec<_> = (0..19)
        .map(|n| tick(n, at(n), Decimal::from(100 + n)))
        .collect();
    // The 20th, still rising: fast > slow, long 100 at this tick's ask.
    ticks.push(tick(19, at(19), Decimal::from(119)));
    // A collapse: fast < slow at once, short: sell 200 at this tick's bid.
    ticks.push(tick(20, at(20), Decimal::from(50)));
    // Still below: no change, no order.
    ticks.push(tick(21, at(21), Decimal::from(50)));

    let (outcome, stats) = run(&settings(), ticks).await;
    assert_eq!(stats.handler_errors, 0);
    let s = &outcome.strategies[0];
    assert_eq!(
        summary(&s.fills),
        vec![
            (Side::Buy, 100, Decimal::new(11_905, 2), at(19)),
            (Side::Sell, 200, Decimal::new(4_995, 2), at(20)),
        ]
    );
    assert_eq!(
        (s.signals, s.orders, s.rejected, s.failed_orders),
        (2, 2, 0, 0)
    );
    assert!(
        s.fills.iter().all(|f| f.fees.total.is_zero()),
        "zero charges"
    );
    let position = &s.final_portfolio.positions[0];
    assert_eq!(position.quantity, -100);
    assert_eq!(position.average_price, Decimal::new(4_995, 2));
    // Bought at 119.05, sold 100 of it at 49.95: realized (49.95 − 119.05) × 100.
    assert_eq!(s.final_portfolio.realized_pnl, Decimal::new(-691_000, 2));
    assert_eq!(outcome.ticks, 22);
}

#[actix::test]
async fn with_market_hours_enforced_ticks_outside_the_session_are_skipped_by_their_own_time() {
    let mut settings = settings();
    settings.market_hours.enforce = true;
    // Saturday 2026-11-07: closed all day. Monday 2026-11-09 10:00 IST: open.
    let saturday = Utc.with_ymd_and_hms(2026, 11, 7, 4, 30, 0).unwrap();
    let monday = Utc.with_ymd_and_hms(2026, 11, 9, 4, 30, 0).unwrap();
    let closed: Vec<_> = (0..25)
        .map(|n| tick(n, saturday + Duration::seconds(n), Decimal::from(100 + n)))
        .collect();
    let open: Vec<_> = (25..50)
        .map(|n| tick(n, monday + Duration::seconds(n), Decimal::from(100 + n)))
        .collect();
    let (outcome, stats) = run(&settings, closed.into_iter().chain(open).collect()).await;
    assert_eq!(stats.skipped, 25);
    assert_eq!(outcome.first_tick, Some(monday + Duration::seconds(25)));
    // The strategy warmed up on Monday's ticks only: its 20th tick is the first trade.
    let fills = &outcome.strategies[0].fills;
    assert_eq!(fills.len(), 1);
    assert_eq!(fills[0].filled_at, monday + Duration::seconds(25 + 19));
}

#[actix::test]
async fn a_tick_that_breaks_the_price_rules_ends_the_run_naming_it_before_any_service_sees_it() {
    let start = Utc.with_ymd_and_hms(2026, 11, 2, 4, 0, 0).unwrap();
    let at = |n: i64| start + Duration::milliseconds(100 * n);
    // Warmed up and long from the 20th tick; then a tick at −100 (the reproduced case:
    // it used to become a validated, filled signal) and one more.
    let mut ticks: Vec<_> = (0..20)
        .map(|n| tick(n, at(n), Decimal::from(100 + n)))
        .collect();
    let mut negative = tick(20, at(20), Decimal::from(50));
    negative.data.last_price = Decimal::new(-10_000, 2);
    ticks.push(negative);
    ticks.push(tick(21, at(21), Decimal::from(50)));
    let registry = InstrumentRegistry::embedded().unwrap();
    let options = RunOptions {
        input: "test".into(),
        seed: 0,
        progress: Box::new(|_| {}),
    };
    let result = engine::run(
        &settings(),
        &registry,
        &StrategyRegistry::builtin(),
        ticks.into_iter().map(Ok::<_, Infallible>),
        options,
    )
    .await;
    let error = result.map(|_| ()).expect_err("the run stops").to_string();
    assert_eq!(
        error,
        "tick 21: last_price: -100.00 is not above zero (0 means no trade yet: no price to act \
         on)"
    );
}

#[actix::test]
async fn streamed_fills_give_the_same_report_files_as_kept_fills() {
    let start = Utc.with_ymd_and_hms(2026, 11, 2, 4, 0, 0).unwrap();
    let at = |n: i64| start + Duration::milliseconds(100 * n);
    // A zig-zag that crosses several times: opening, flipping and losing fills.
    let ticks: Vec<_> = (0..120)
        .map(|n| {
            let wave = [0, 3, 6, 9, 6, 3, 0, -3, -6, -9, -6, -3][usize::try_from(n % 12).unwrap()];
            tick(n, at(n), Decimal::from(1_000 + wave))
        })
        .collect();
    let (kept, _) = run(&settings(), ticks.clone()).await;
    assert!(kept.strategies[0].fills.len() >= 4, "it traded");

    let dir = tempfile::tempdir().unwrap();
    let registry = InstrumentRegistry::embedded().unwrap();
    let options = RunOptions {
        input: "test".into(),
        seed: 0,
        progress: Box::new(|_| {}),
    };
    let (streamed, stats) = engine::run_streaming(
        &settings(),
        &registry,
        &StrategyRegistry::builtin(),
        ticks.into_iter().map(Ok::<_, Infallible>),
        options,
        engine::Streaming {
            out: dir.path(),
            ticks_checked: false,
        },
    )
    .await
    .expect("backtest runs");
    assert_eq!(stats.handler_errors, 0);
    assert!(streamed.fills_written);
    let s = &streamed.strategies[0];
    assert!(s.fills.is_empty(), "no fill kept");
    assert_eq!(s.fill_count(), kept.strategies[0].fill_count());
    super::report::write_all(&streamed, dir.path()).unwrap();

    let read = |name: &str| std::fs::read_to_string(dir.path().join(name)).unwrap();
    assert_eq!(
        read(super::report::FILLS_CSV),
        super::report::fills_csv(&kept)
    );
    assert_eq!(
        read(super::report::REPORT_JSON),
        super::report::report_json(&kept)
    );
    assert_eq!(
        read(super::report::REPORT_HTML),
        super::report::report_html(&kept)
    );
    assert_eq!(
        read(super::report::TRADES_CSV),
        super::report::trades_csv(&kept)
    );
    assert!(
        read(super::report::TRADES_CSV).lines().count() > 1,
        "round trips"
    );
    // Only the five report files are left (the parts are removed).
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 5);
}
