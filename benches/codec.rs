//! Encode and decode of the hottest envelope: `Envelope<MarketTick>`.
//!
//! Two payloads: a full-mode tick (OHLC, every optional field, five depth levels a side —
//! the largest tick Kite sends) and an ltp-only tick (the smallest). Throughput is in
//! elements (envelopes per second).
//!
//! Run: `cargo bench --bench codec` (add `-- full` or `-- ltp` to filter).

use alpha_panda::messages::{
    DepthLevel, Envelope, MarketDepth, MarketTick, Ohlc, TickMode, decode, encode,
};
use chrono::{DateTime, TimeZone, Utc};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use rust_decimal::Decimal;
use std::hint::black_box;
use std::str::FromStr;

fn dec(s: &str) -> Decimal {
    Decimal::from_str(s).expect("literal decimal")
}

fn ts() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 26, 4, 0, 0)
        .single()
        .expect("valid timestamp")
}

/// A full-mode tick with every optional field set, as `full_tick()` in the message tests.
fn full_tick() -> MarketTick {
    let level = |q: u32, p: &str, o: u16| DepthLevel {
        quantity: q,
        price: dec(p),
        orders: o,
    };
    MarketTick {
        token: 738_561,
        symbol: Some("RELIANCE".into()),
        mode: TickMode::Full,
        tradable: true,
        last_price: dec("2450.35"),
        last_traded_quantity: Some(12),
        average_traded_price: Some(dec("2447.10")),
        volume_traded: Some(3_000_000_000),
        total_buy_quantity: Some(120_000),
        total_sell_quantity: Some(98_000),
        ohlc: Some(Ohlc {
            open: dec("2440"),
            high: dec("2460.5"),
            low: dec("2431.05"),
            close: dec("2438.9"),
        }),
        change: Some(dec("11.45")),
        last_trade_time: Some(ts()),
        oi: Some(0),
        oi_day_high: Some(0),
        oi_day_low: Some(0),
        exchange_timestamp: Some(ts()),
        depth: Some(MarketDepth {
            bids: (0..5).map(|i| level(100 + i, "2450.30", 3)).collect(),
            asks: (0..5).map(|i| level(90 + i, "2450.40", 2)).collect(),
        }),
    }
}

fn ltp_tick() -> MarketTick {
    MarketTick::ltp(738_561, dec("2450.35"))
}

fn bench_tick(c: &mut Criterion, name: &str, tick: MarketTick) {
    let envelope = Envelope::root(tick, "bench", ts());
    let bytes = encode(&envelope);
    // Sanity (not timing): the bytes under test are a valid envelope of this tick.
    let round_trip = decode::<MarketTick>(&bytes).expect("encoded tick decodes");
    assert_eq!(round_trip, envelope, "round trip of the {name} tick");

    println!("codec/{name}: envelope is {} bytes of JSON", bytes.len());

    let mut group = c.benchmark_group(format!("codec/{name}"));
    group.throughput(Throughput::Elements(1));
    group.bench_function("encode", |b| {
        b.iter(|| encode(black_box(&envelope)));
    });
    group.bench_function("decode", |b| {
        b.iter(|| decode::<MarketTick>(black_box(&bytes)));
    });
    group.finish();
}

fn codec(c: &mut Criterion) {
    bench_tick(c, "full", full_tick());
    bench_tick(c, "ltp", ltp_tick());
}

criterion_group!(benches, codec);
criterion_main!(benches);
