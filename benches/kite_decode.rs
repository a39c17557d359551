//! Decoding Kite ticker binary frames: the market feed's hot path.
//!
//! Frames of N packets of one kind (full: 184 bytes, the largest; ltp: 8 bytes, the
//! smallest), decoded to `KiteTick`s and dropped. Throughput is in elements (packets per
//! second); the goal is at least 2 million full packets per second on one core.
//!
//! Run: `cargo bench --bench kite_decode` (add `-- full` or `-- ltp` to filter).

use alpha_panda::kite::ticker::{
    DepthEntry, Frame, KiteTick, PacketKind, encode_frame, parse_frame,
};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use rust_decimal::Decimal;
use std::hint::black_box;

/// Packets per frame: Kite batches every subscribed instrument's tick into one frame.
const SIZES: [u16; 2] = [1, 100];

fn tick(kind: PacketKind, i: u32) -> KiteTick {
    let mut t = KiteTick::empty(kind, (i << 8) | 1);
    t.last_price = Decimal::new(245_035 + i64::from(i), 2);
    if kind == PacketKind::Full {
        t.last_traded_quantity = 12;
        t.average_traded_price = Decimal::new(244_710, 2);
        t.volume_traded = 3_000_000_000;
        t.total_buy_quantity = 120_000;
        t.total_sell_quantity = 98_000;
        t.open = Decimal::new(244_000, 2);
        t.high = Decimal::new(246_050, 2);
        t.low = Decimal::new(243_105, 2);
        t.close = Decimal::new(243_890, 2);
        t.last_trade_time = 1_764_129_600;
        t.oi = 4_000_000;
        t.exchange_timestamp = 1_764_129_601;
        for level in 0..5 {
            t.bids[level] = DepthEntry {
                quantity: 100 + level as u32,
                price: Decimal::new(245_030 - 5 * level as i64, 2),
                orders: 3,
            };
            t.asks[level] = DepthEntry {
                quantity: 90 + level as u32,
                price: Decimal::new(245_040 + 5 * level as i64, 2),
                orders: 2,
            };
        }
    }
    t
}

/// Decodes every packet of the frame; returns how many decoded (so nothing is optimised
/// away) after passing each tick through `black_box`.
fn decode(bytes: &[u8]) -> usize {
    match parse_frame(bytes) {
        Ok(Frame::Packets(packets)) => packets.fold(0, |decoded, item| match item {
            Ok(tick) => {
                black_box(tick);
                decoded + 1
            }
            Err(_) => decoded,
        }),
        _ => 0,
    }
}

fn bench_kind(c: &mut Criterion, name: &str, kind: PacketKind) {
    let mut group = c.benchmark_group(format!("kite_decode/{name}"));
    for n in SIZES {
        let ticks: Vec<KiteTick> = (0..u32::from(n)).map(|i| tick(kind, i)).collect();
        let mut bytes = Vec::new();
        encode_frame(&ticks, &mut bytes).expect("bench ticks are on the price grid");
        // Sanity (not timing): every packet decodes.
        assert_eq!(decode(&bytes), usize::from(n), "{name} x{n}");
        group.throughput(Throughput::Elements(u64::from(n)));
        group.bench_function(format!("{n}_packets"), |b| {
            b.iter(|| decode(black_box(&bytes)));
        });
    }
    group.finish();
}

fn kite_decode(c: &mut Criterion) {
    bench_kind(c, "full", PacketKind::Full);
    bench_kind(c, "ltp", PacketKind::Ltp);
}

criterion_group!(benches, kite_decode);
criterion_main!(benches);
