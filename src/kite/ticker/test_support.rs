//! Helpers for the ticker tests: hand-built packets at explicit offsets, framing, and a
//! "decode everything" shortcut.

use super::*;
use rust_decimal::Decimal;
use std::str::FromStr;

/// RELIANCE on NSE (segment 1): divisor 100.
pub const RELIANCE: u32 = 738_561;
/// NIFTY 50 (segment 9): an index.
pub const NIFTY: u32 = 256_265;
/// A CDS instrument (segment 3): divisor 10^7. `0x0004_D203`.
pub const USDINR_CDS: u32 = (1234 << 8) | 3;
/// A BCD instrument (segment 6): divisor 10^4. `0x0002_3706`.
pub const USDINR_BCD: u32 = (567 << 8) | 6;

pub fn dec(s: &str) -> Decimal {
    Decimal::from_str(s).unwrap()
}

pub fn put_u32(packet: &mut [u8], off: usize, value: u32) {
    packet[off..off + 4].copy_from_slice(&value.to_be_bytes());
}

pub fn put_i32(packet: &mut [u8], off: usize, value: i32) {
    packet[off..off + 4].copy_from_slice(&value.to_be_bytes());
}

pub fn put_u16(packet: &mut [u8], off: usize, value: u16) {
    packet[off..off + 2].copy_from_slice(&value.to_be_bytes());
}

/// A frame declaring as many packets as given, each with its true length prefix.
pub fn frame(packets: &[&[u8]]) -> Vec<u8> {
    frame_declaring(packets.len() as u16, packets)
}

/// A frame with an explicit (possibly wrong) declared count.
pub fn frame_declaring(declared: u16, packets: &[&[u8]]) -> Vec<u8> {
    let mut out = declared.to_be_bytes().to_vec();
    for p in packets {
        out.extend_from_slice(&(p.len() as u16).to_be_bytes());
        out.extend_from_slice(p);
    }
    out
}

/// Every item of a packet frame; panics on a heartbeat or frame error.
pub fn decode_all(bytes: &[u8]) -> Vec<Result<KiteTick, PacketError>> {
    match parse_frame(bytes).unwrap() {
        Frame::Packets(packets) => packets.collect(),
        Frame::Heartbeat => panic!("expected packets, got a heartbeat"),
    }
}

/// The single tick of a one-packet frame.
pub fn decode_one(bytes: &[u8]) -> KiteTick {
    let items = decode_all(bytes);
    assert_eq!(items.len(), 1, "{items:?}");
    items.into_iter().next().unwrap().unwrap()
}

/// An 8-byte ltp packet.
pub fn ltp_packet(token: u32, raw_price: i32) -> [u8; 8] {
    let mut p = [0u8; 8];
    put_u32(&mut p, 0, token);
    put_i32(&mut p, 4, raw_price);
    p
}

/// A 184-byte RELIANCE full packet with distinct values everywhere (see `tests_golden`).
pub fn reliance_full_packet() -> [u8; 184] {
    let mut p = [0u8; 184];
    put_u32(&mut p, 0, RELIANCE);
    put_i32(&mut p, 4, 245_035); // last_price 2450.35
    put_u32(&mut p, 8, 12); // last_traded_quantity
    put_i32(&mut p, 12, 244_710); // average_traded_price 2447.10
    put_u32(&mut p, 16, 3_000_000_000); // volume_traded > 2^31
    put_u32(&mut p, 20, 120_000); // total_buy_quantity
    put_u32(&mut p, 24, 98_000); // total_sell_quantity
    put_i32(&mut p, 28, 244_000); // open 2440.00
    put_i32(&mut p, 32, 246_050); // high 2460.50
    put_i32(&mut p, 36, 243_105); // low 2431.05
    put_i32(&mut p, 40, 243_890); // close 2438.90
    put_u32(&mut p, 44, 1_764_129_600); // last_trade_time
    put_u32(&mut p, 48, 4_000_000_000); // oi > 2^31
    put_u32(&mut p, 52, 4_100_000_000); // oi_day_high
    put_u32(&mut p, 56, 3_900_000_000); // oi_day_low
    put_u32(&mut p, 60, 1_764_129_601); // exchange_timestamp
    for level in 0..5 {
        let bid = 64 + 12 * level;
        let ask = 124 + 12 * level;
        let l = level as u32;
        put_u32(&mut p, bid, 100 + l); // quantity
        put_i32(&mut p, bid + 4, 245_030 - 5 * l as i32); // price 2450.30, 2450.25, ...
        put_u16(&mut p, bid + 8, 10 + l as u16); // orders
        put_u16(&mut p, bid + 10, 0xFFFF); // padding: must be ignored
        put_u32(&mut p, ask, 200 + l);
        put_i32(&mut p, ask + 4, 245_040 + 5 * l as i32); // 2450.40, 2450.45, ...
        put_u16(&mut p, ask + 8, 20 + l as u16);
        put_u16(&mut p, ask + 10, 0xABCD);
    }
    p
}
