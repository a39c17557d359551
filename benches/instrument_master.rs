//! Loading Kite's instrument master: ~100k rows must load well under a second, since
//! `run` parses the whole master at every start (and `sync` before replacing the cache).
//!
//! The master is the fake Kite's generated one (the shape of Kite's: equities on NSE and
//! BSE, indices, NFO/BFO futures and options over some 750 underlyings), 100,000 rows.
//! Measured: parsing the CSV text into the registry; loading it from the cache (read
//! and parse); and gunzipping the download first, as `sync` does.
//!
//! Run: `cargo bench --bench instrument_master`.

use alpha_panda::kite::fake::generated_master;
use alpha_panda::kite::fake::instruments::gzip;
use alpha_panda::market::{InstrumentRegistry, MasterCache};
use chrono::NaiveDate;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use flate2::read::GzDecoder;
use std::hint::black_box;
use std::io::Read as _;

const ROWS: usize = 100_000;

fn bench(c: &mut Criterion) {
    let date = NaiveDate::from_ymd_opt(2026, 5, 12).expect("a date");
    let text = generated_master(ROWS, date);
    let compressed = gzip(text.as_bytes());
    let dir = tempfile::tempdir().expect("a temporary directory");
    let cache = MasterCache::new(dir.path());
    // Sanity (not timing): the master is whole and valid.
    let replaced = cache.replace(&text, "bench", date).expect("a valid master");
    assert_eq!(replaced.registry.len(), ROWS);

    let mut group = c.benchmark_group("instrument_master");
    group.sample_size(10);
    group.throughput(Throughput::Elements(ROWS as u64));
    group.bench_function("parse_100k", |b| {
        b.iter(|| InstrumentRegistry::parse(black_box(&text), "bench").map(|r| r.len()))
    });
    group.bench_function("load_cache_100k", |b| {
        b.iter(|| cache.load().map(|loaded| loaded.map(|(_, r)| r.len())))
    });
    group.bench_function("gunzip_and_parse_100k", |b| {
        b.iter(|| {
            let mut csv = String::new();
            GzDecoder::new(black_box(compressed.as_slice()))
                .read_to_string(&mut csv)
                .expect("gzip");
            InstrumentRegistry::parse(&csv, "bench").map(|r| r.len())
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
