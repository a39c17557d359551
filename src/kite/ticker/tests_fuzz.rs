//! Fuzz-style: a million arbitrary and mutated frames never panic, and everything the
//! decoder yields is accounted for by the bytes of the frame.
//!
//! A tiny xorshift generator keeps the per-case cost low in the debug test profile (rand's
//! generic code would be compiled at opt-level 0 here).

use super::tick::price_scale;
use super::*;
use rust_decimal::Decimal;
use std::time::Instant;

const CASES: u32 = 1_000_000;

struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn fill(&mut self, out: &mut [u8]) {
        for chunk in out.chunks_mut(8) {
            let bytes = self.next().to_le_bytes();
            chunk.copy_from_slice(&bytes[..chunk.len()]);
        }
    }
}

/// A valid frame and the offsets of its length prefixes.
struct Sample {
    bytes: Vec<u8>,
    prefixes: Vec<usize>,
}

fn samples(rng: &mut XorShift) -> Vec<Sample> {
    let tokens = [738_561, 256_265, (1234 << 8) | 3, (567 << 8) | 6];
    (0..256)
        .map(|_| {
            let count = 1 + rng.below(6);
            let mut ticks = Vec::new();
            let mut prefixes = Vec::new();
            let mut offset = 2;
            for _ in 0..count {
                let kind = PacketKind::ALL[rng.below(5)];
                let token = tokens[rng.below(4)];
                let mut t = KiteTick::empty(kind, token);
                let scale = price_scale(token);
                t.last_price = Decimal::new(rng.next() as i32 as i64, scale);
                t.close = Decimal::new(rng.below(1_000_000) as i64, scale);
                t.volume_traded = rng.next() as u32;
                t.bids[2].quantity = rng.next() as u32;
                prefixes.push(offset);
                offset += 2 + kind.len();
                ticks.push(t);
            }
            let mut bytes = Vec::new();
            encode_frame(&ticks, &mut bytes).unwrap();
            Sample { bytes, prefixes }
        })
        .collect()
}

/// Decodes `bytes` and checks every item against the bytes; counts each outcome in `seen`
/// (ticks, unknown lengths, truncations, count mismatches) and returns the items yielded.
fn check(bytes: &[u8], seen: &mut [usize; 4]) -> usize {
    let packets = match parse_frame(bytes) {
        Err(FrameError::Empty) => {
            assert!(bytes.is_empty());
            return 0;
        }
        Err(FrameError::ShortHeader { len }) => {
            assert!(len == bytes.len() && (2..=3).contains(&len));
            return 0;
        }
        Ok(Frame::Heartbeat) => {
            assert_eq!(bytes.len(), 1);
            return 0;
        }
        Ok(Frame::Packets(packets)) => packets,
    };
    let declared = packets.declared();
    let (mut consumed, mut framed, mut items, mut terminal) = (2usize, 0u16, 0usize, false);
    for item in packets {
        assert!(!terminal, "an item after a terminal error");
        items += 1;
        let left = bytes.len() - consumed;
        match item {
            Ok(tick) => {
                seen[0] += 1;
                // The token is the first 4 bytes of the packet after its prefix.
                let at = consumed + 2;
                assert_eq!(bytes[at..at + 4], tick.token.to_be_bytes());
                let prefix = u16::from_be_bytes([bytes[consumed], bytes[consumed + 1]]);
                assert_eq!(usize::from(prefix), tick.kind.len());
                consumed += 2 + tick.kind.len();
                framed += 1;
            }
            Err(PacketError::UnknownLength { index, len }) => {
                seen[1] += 1;
                assert_eq!(index, framed);
                assert_eq!(PacketKind::from_len(len.into()), None);
                consumed += 2 + usize::from(len);
                framed += 1;
            }
            Err(PacketError::Truncated {
                index,
                needed,
                available,
            }) => {
                seen[2] += 1;
                assert_eq!(index, framed);
                assert!(needed > available);
                assert!(
                    available == left || available + 2 == left,
                    "{available} vs {left}"
                );
                terminal = true;
            }
            Err(PacketError::CountMismatch {
                declared: d,
                trailing_bytes,
            }) => {
                seen[3] += 1;
                assert_eq!((d, framed), (declared, declared));
                assert!(trailing_bytes > 0 && trailing_bytes == left);
                terminal = true;
            }
        }
        assert!(consumed <= bytes.len(), "read past the frame");
        assert!(framed <= declared, "more packets than declared");
    }
    if !terminal {
        assert_eq!((framed, consumed), (declared, bytes.len()));
    }
    assert!(items <= usize::from(declared) + 1);
    items
}

fn mutate(rng: &mut XorShift, sample: &Sample, buf: &mut Vec<u8>) {
    buf.clear();
    buf.extend_from_slice(&sample.bytes);
    for _ in 0..1 + rng.below(3) {
        match rng.below(6) {
            0 if !buf.is_empty() => {
                let at = rng.below(buf.len());
                buf[at] ^= 1 << rng.below(8);
            }
            1 => buf.truncate(rng.below(buf.len() + 1)),
            2 if buf.len() >= 2 => {
                let declared = u16::from_be_bytes([buf[0], buf[1]]);
                let edited = match rng.below(3) {
                    0 => declared.wrapping_add(1),
                    1 => declared.wrapping_sub(1),
                    _ => rng.next() as u16,
                };
                buf[..2].copy_from_slice(&edited.to_be_bytes());
            }
            3 => {
                let at = sample.prefixes[rng.below(sample.prefixes.len())];
                if at + 2 <= buf.len() {
                    let len = match rng.below(4) {
                        0 => PacketKind::ALL[rng.below(5)].len() as u16,
                        1 => 0,
                        2 => u16::MAX,
                        _ => rng.next() as u16 % 200,
                    };
                    buf[at..at + 2].copy_from_slice(&len.to_be_bytes());
                }
            }
            4 => {
                let extra = rng.below(8);
                let start = buf.len();
                buf.resize(start + extra, 0);
                rng.fill(&mut buf[start..]);
            }
            _ if !buf.is_empty() => {
                let at = rng.below(buf.len());
                buf.remove(at);
            }
            _ => {}
        }
    }
}

#[test]
fn a_million_random_and_mutated_frames_never_panic_and_stay_within_bounds() {
    let started = Instant::now();
    let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
    let pool = samples(&mut rng);
    let mut buf = Vec::with_capacity(1024);
    let mut items = 0usize;
    let mut seen = [0usize; 4];
    for case in 0..CASES {
        if case % 2 == 0 {
            buf.clear();
            buf.resize(rng.below(600), 0);
            rng.fill(&mut buf);
            if buf.len() >= 4 && case % 4 == 0 {
                // A plausible header half the time, so random bodies get decoded too.
                buf[0] = 0;
                buf[1] = rng.below(4) as u8;
                let len = PacketKind::ALL[rng.below(5)].len() as u16;
                buf[2..4].copy_from_slice(&len.to_be_bytes());
            }
        } else {
            let sample = &pool[rng.below(pool.len())];
            mutate(&mut rng, sample, &mut buf);
        }
        items += check(&buf, &mut seen);
    }
    let [ticks, unknown, truncated, mismatched] = seen;
    eprintln!(
        "kite fuzz: {CASES} cases, {items} items ({ticks} ticks, {unknown} unknown lengths, \
         {truncated} truncated, {mismatched} count mismatches) in {:?}",
        started.elapsed()
    );
    assert!(
        seen.iter().all(|&n| n > 10_000),
        "every outcome is exercised: {seen:?}"
    );
}

#[test]
fn every_valid_sample_frame_decodes_without_errors() {
    let mut rng = XorShift(7);
    for sample in samples(&mut rng) {
        let items = decode_all_ok(&sample.bytes);
        assert_eq!(items, sample.prefixes.len());
    }
}

fn decode_all_ok(bytes: &[u8]) -> usize {
    let Ok(Frame::Packets(packets)) = parse_frame(bytes) else {
        panic!("expected packets");
    };
    let ticks: Vec<KiteTick> = packets.collect::<Result<_, _>>().unwrap();
    ticks.len()
}
