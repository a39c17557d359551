//! Encoding: [`KiteTick`]s into a binary frame, byte for byte what Kite sends. Used by the
//! Kite simulator and by the tests.
//!
//! Each tick is written in the layout of its `kind`; fields the kind does not carry are not
//! written (and a tradable's `change` never is: the decoder recomputes it from last price and
//! close). A price must be exactly representable on the wire: a multiple of one unit of the
//! segment's divisor whose raw value fits an `i32`. Nothing is rounded.

use super::tick::{DEPTH_LEVELS, DepthEntry, KiteTick, PacketKind, price_divisor, price_scale};
use rust_decimal::Decimal;
use std::fmt;

/// Which price of a tick could not be encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PriceField {
    LastPrice,
    AverageTradedPrice,
    Open,
    High,
    Low,
    Close,
    Change,
    /// Bid price at this level (0 = best).
    Bid(usize),
    /// Ask price at this level (0 = best).
    Ask(usize),
}

impl fmt::Display for PriceField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PriceField::LastPrice => f.write_str("last_price"),
            PriceField::AverageTradedPrice => f.write_str("average_traded_price"),
            PriceField::Open => f.write_str("open"),
            PriceField::High => f.write_str("high"),
            PriceField::Low => f.write_str("low"),
            PriceField::Close => f.write_str("close"),
            PriceField::Change => f.write_str("change"),
            PriceField::Bid(level) => write!(f, "bids[{level}].price"),
            PriceField::Ask(level) => write!(f, "asks[{level}].price"),
        }
    }
}

/// A tick that cannot be put on the wire.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EncodeError {
    /// The price is not a multiple of `1 / divisor` for the token's segment.
    #[error("token {token}: {field} {price} is not a multiple of 1/{divisor}")]
    PriceOffGrid {
        token: u32,
        field: PriceField,
        price: Decimal,
        divisor: Decimal,
    },
    /// The price times the segment's divisor does not fit an `i32`.
    #[error("token {token}: {field} {price} times {divisor} does not fit an i32")]
    PriceOutOfRange {
        token: u32,
        field: PriceField,
        price: Decimal,
        divisor: Decimal,
    },
    /// A frame without packets is not a valid frame (the decoder refuses 2-byte frames).
    #[error("a frame needs at least one tick")]
    NoTicks,
    /// A frame holds at most `u16::MAX` packets.
    #[error("{count} ticks do not fit one frame (at most 65535)")]
    TooManyPackets { count: usize },
}

/// The heartbeat frame: a single byte.
pub fn heartbeat() -> [u8; 1] {
    [0]
}

/// Appends one frame with these ticks to `out`, each in the layout of its `kind`.
///
/// # Errors
///
/// [`EncodeError::PriceOffGrid`] or [`EncodeError::PriceOutOfRange`] for a price not
/// representable with the segment's divisor as an `i32`; [`EncodeError::TooManyPackets`]
/// for more than 65535 ticks; [`EncodeError::NoTicks`] for none (Kite sends no empty
/// frames and the decoder refuses them). On error `out` is left as it was.
pub fn encode_frame(ticks: &[KiteTick], out: &mut Vec<u8>) -> Result<(), EncodeError> {
    if ticks.is_empty() {
        return Err(EncodeError::NoTicks);
    }
    let count = u16::try_from(ticks.len())
        .map_err(|_| EncodeError::TooManyPackets { count: ticks.len() })?;
    let start = out.len();
    let size: usize = ticks.iter().map(|t| 2 + t.kind.len()).sum();
    out.reserve(2 + size);
    out.extend_from_slice(&count.to_be_bytes());
    for tick in ticks {
        if let Err(error) = encode_packet(tick, out) {
            out.truncate(start);
            return Err(error);
        }
    }
    Ok(())
}

/// Appends one packet (length prefix and body).
fn encode_packet(t: &KiteTick, out: &mut Vec<u8>) -> Result<(), EncodeError> {
    let px = |field: PriceField, price: Decimal| raw_price(t.token, field, price);
    put_u16(out, t.kind.len_u16());
    put_u32(out, t.token);
    put_i32(out, px(PriceField::LastPrice, t.last_price)?);
    match t.kind {
        PacketKind::Ltp => {}
        PacketKind::IndexQuote | PacketKind::IndexFull => {
            put_i32(out, px(PriceField::High, t.high)?);
            put_i32(out, px(PriceField::Low, t.low)?);
            put_i32(out, px(PriceField::Open, t.open)?);
            put_i32(out, px(PriceField::Close, t.close)?);
            put_i32(out, px(PriceField::Change, t.change)?);
            if t.kind == PacketKind::IndexFull {
                put_u32(out, t.exchange_timestamp);
            }
        }
        PacketKind::Quote | PacketKind::Full => {
            put_u32(out, t.last_traded_quantity);
            put_i32(
                out,
                px(PriceField::AverageTradedPrice, t.average_traded_price)?,
            );
            put_u32(out, t.volume_traded);
            put_u32(out, t.total_buy_quantity);
            put_u32(out, t.total_sell_quantity);
            put_i32(out, px(PriceField::Open, t.open)?);
            put_i32(out, px(PriceField::High, t.high)?);
            put_i32(out, px(PriceField::Low, t.low)?);
            put_i32(out, px(PriceField::Close, t.close)?);
            if t.kind == PacketKind::Full {
                put_u32(out, t.last_trade_time);
                put_u32(out, t.oi);
                put_u32(out, t.oi_day_high);
                put_u32(out, t.oi_day_low);
                put_u32(out, t.exchange_timestamp);
                put_depth(out, t.token, &t.bids, PriceField::Bid)?;
                put_depth(out, t.token, &t.asks, PriceField::Ask)?;
            }
        }
    }
    Ok(())
}

fn put_depth(
    out: &mut Vec<u8>,
    token: u32,
    levels: &[DepthEntry; DEPTH_LEVELS],
    field: fn(usize) -> PriceField,
) -> Result<(), EncodeError> {
    for (level, entry) in levels.iter().enumerate() {
        put_u32(out, entry.quantity);
        put_i32(out, raw_price(token, field(level), entry.price)?);
        put_u16(out, entry.orders);
        put_u16(out, 0); // padding
    }
    Ok(())
}

/// The wire value of `price`: `price * 10^scale`, exactly, as an `i32`.
fn raw_price(token: u32, field: PriceField, price: Decimal) -> Result<i32, EncodeError> {
    let scale = price_scale(token);
    let normal = price.normalize();
    let off_grid = || EncodeError::PriceOffGrid {
        token,
        field,
        price,
        divisor: price_divisor(token),
    };
    let out_of_range = || EncodeError::PriceOutOfRange {
        token,
        field,
        price,
        divisor: price_divisor(token),
    };
    let shift = scale.checked_sub(normal.scale()).ok_or_else(off_grid)?;
    let factor = 10i128.checked_pow(shift).ok_or_else(out_of_range)?;
    let raw = normal
        .mantissa()
        .checked_mul(factor)
        .ok_or_else(out_of_range)?;
    i32::try_from(raw).map_err(|_| out_of_range())
}

fn put_u16(out: &mut Vec<u8>, value: u16) {
    out.extend_from_slice(&value.to_be_bytes());
}

fn put_u32(out: &mut Vec<u8>, value: u32) {
    out.extend_from_slice(&value.to_be_bytes());
}

fn put_i32(out: &mut Vec<u8>, value: i32) {
    out.extend_from_slice(&value.to_be_bytes());
}
