//! `Strategy::on_tick` of each strategy kind on a pre-generated random-walk tick stream.
//!
//! The stream interleaves 8 instruments (so the per-token state map is exercised), each a
//! seeded random walk in 0.05 ticks around 1000 with one depth level a side (so
//! `ema_cross` takes the bid/ask mid). Strategies keep their state across iterations, so
//! the measurement is the steady state, intents included. Throughput is in elements (ticks
//! per second).
//!
//! Run: `cargo bench --bench strategy_step` (add `-- ema_cross` etc. to filter).

use alpha_panda::messages::{DepthLevel, MarketDepth, MarketTick, TickMode};
use alpha_panda::strategy::{StrategyParams, build};
use chrono::{DateTime, TimeZone, Utc};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rust_decimal::Decimal;
use std::hint::black_box;

const TICKS: usize = 10_000;
const TOKENS: usize = 8;

fn ts() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 26, 4, 0, 0)
        .single()
        .expect("valid timestamp")
}

/// Seeded random walks, one per token, interleaved round-robin.
fn random_walk_ticks() -> Vec<MarketTick> {
    let mut rng = StdRng::seed_from_u64(42);
    // Prices in paise (1/100 rupee) moving by −1..=+1 ticks of 5 paise.
    let mut paise = [100_000_i64; TOKENS];
    let level = |p: i64| DepthLevel {
        quantity: 100,
        price: Decimal::new(p, 2),
        orders: 1,
    };
    let mut ticks = Vec::with_capacity(TICKS);
    for _ in 0..TICKS / TOKENS {
        for (token, price) in (1_u32..).zip(paise.iter_mut()) {
            *price = (*price + 5 * rng.random_range(-1..=1_i64)).max(100);
            let mut tick = MarketTick::ltp(token, Decimal::new(*price, 2));
            tick.mode = TickMode::Full;
            tick.depth = Some(MarketDepth {
                bids: vec![level(*price - 5)],
                asks: vec![level(*price + 5)],
            });
            ticks.push(tick);
        }
    }
    ticks
}

fn dec(s: &str) -> Decimal {
    s.parse().expect("literal decimal")
}

fn strategies() -> Vec<(&'static str, StrategyParams)> {
    vec![
        (
            "momentum",
            StrategyParams::Momentum {
                lookback: 20,
                threshold: dec("0.0002"),
                quantity: 10,
            },
        ),
        (
            "rsi",
            StrategyParams::Rsi {
                period: 14,
                oversold: dec("30"),
                overbought: dec("70"),
                quantity: 10,
            },
        ),
        (
            "mean_reversion",
            StrategyParams::MeanReversion {
                rsi_period: 14,
                oversold: dec("30"),
                overbought: dec("70"),
                bb_period: 20,
                bb_k: dec("2"),
                quantity: 10,
            },
        ),
        (
            "ema_cross",
            StrategyParams::EmaCross {
                fast: 10,
                slow: 20,
                quantity: 100,
            },
        ),
    ]
}

fn bench_on_tick(c: &mut Criterion) {
    let ticks = random_walk_ticks();
    let at = ts();
    let mut group = c.benchmark_group("strategy_step");
    group.throughput(Throughput::Elements(ticks.len() as u64));
    for (name, params) in strategies() {
        let mut strategy = build(name, &params);
        let intents = ticks
            .iter()
            .filter(|t| strategy.on_tick(t, at).is_some())
            .count();
        eprintln!("{name}: {intents} intents over {} ticks", ticks.len());
        group.bench_function(name, |b| {
            b.iter(|| {
                for tick in &ticks {
                    black_box(strategy.on_tick(black_box(tick), at));
                }
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench_on_tick);
criterion_main!(benches);
