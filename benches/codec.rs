//! Encode and decode of the hottest envelope: `Envelope<MarketTick>`.
//!
//! Two payloads: a full-mode tick (OHLC, every optional field, five depth levels a side —
//! the largest tick Kite sends) and an ltp-only tick (the smallest). Throughput is in
//! elements (envelopes per second).
//!
//! Run: `cargo bench --bench codec` (add `-- full` or `-- ltp` to filter).

use alpha_panda::messages::{Envelope, MarketTick, decode, encode};
use alpha_panda::testkit::fixtures::{full_tick, sample_time};
use chrono::{DateTime, Utc};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use rust_decimal::Decimal;
use std::hint::black_box;
use std::str::FromStr;

fn dec(s: &str) -> Decimal {
    Decimal::from_str(s).expect("literal decimal")
}

fn ts() -> DateTime<Utc> {
    sample_time()
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
