//! Decoding: a binary frame from the socket into [`KiteTick`]s, without allocating.
//!
//! [`parse_frame`] checks the header and returns either a heartbeat or a [`Packets`]
//! iterator; the iterator frames each packet by its length prefix and decodes it in place.
//! Every read is bounds-checked: the frame is only ever split with checked operations and
//! each packet body is turned into a fixed-size array before its fields are read, so the
//! field offsets are checked against the packet's exact length.

use super::tick::{DEPTH_LEVELS, DepthEntry, KiteTick, PacketKind, price, price_scale};
use rust_decimal::Decimal;
use std::iter::FusedIterator;

/// A frame is unusable as a whole.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    /// A binary frame with no bytes at all.
    #[error("empty binary frame")]
    Empty,
    /// 2 or 3 bytes: longer than a heartbeat but too short for the packet count and one
    /// length prefix.
    #[error("binary frame of {len} bytes is too short for a header (at least 4 bytes)")]
    ShortHeader { len: usize },
}

/// One packet of a frame could not be decoded (see the module docs for which are terminal).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PacketError {
    /// The length prefix or the packet runs past the end of the frame: the rest of the frame
    /// is unusable; the iterator ends after yielding this. `needed` and `available` count
    /// bytes from where the prefix (`needed == 2`) or the packet body starts.
    #[error("packet {index}: needs {needed} bytes, only {available} left in the frame")]
    Truncated {
        index: u16,
        needed: usize,
        available: usize,
    },
    /// A length that is no known packet kind: skipped (the length prefix still frames it),
    /// iteration continues.
    #[error("packet {index}: unknown packet length {len}")]
    UnknownLength { index: u16, len: u16 },
    /// The frame declares N packets but bytes remain after N: yielded once at the end.
    #[error("frame declares {declared} packets but {trailing_bytes} bytes follow them")]
    CountMismatch {
        declared: u16,
        trailing_bytes: usize,
    },
}

/// A frame as received on the socket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame<'a> {
    /// A 1-byte frame: proof of liveness, no data.
    Heartbeat,
    /// Market data: the packets of the frame.
    Packets(Packets<'a>),
}

/// Parses the frame header.
///
/// # Errors
///
/// [`FrameError::Empty`] for a frame of no bytes; [`FrameError::ShortHeader`] for a frame of
/// 2 or 3 bytes (longer than a heartbeat, too short for a count and one length prefix).
/// Problems inside the frame are reported per packet by the [`Packets`] iterator.
pub fn parse_frame(bytes: &[u8]) -> Result<Frame<'_>, FrameError> {
    match bytes {
        [] => Err(FrameError::Empty),
        [_] => Ok(Frame::Heartbeat),
        [hi, lo, rest @ ..] if rest.len() >= 2 => Ok(Frame::Packets(Packets {
            declared: u16::from_be_bytes([*hi, *lo]),
            index: 0,
            rest,
            done: false,
        })),
        _ => Err(FrameError::ShortHeader { len: bytes.len() }),
    }
}

/// Iterator over the packets of a frame, yielding `Result<KiteTick, PacketError>`, with no
/// allocation. It yields at most `declared + 1` items: one per declared packet until the
/// frame runs out ([`PacketError::Truncated`], terminal), then possibly one
/// [`PacketError::CountMismatch`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packets<'a> {
    declared: u16,
    /// Index of the next packet; always `<= declared`.
    index: u16,
    /// The bytes after the packets framed so far.
    rest: &'a [u8],
    done: bool,
}

impl Packets<'_> {
    /// The number of packets the frame header declares.
    pub fn declared(&self) -> u16 {
        self.declared
    }

    fn finish(&mut self, error: PacketError) -> Option<Result<KiteTick, PacketError>> {
        self.done = true;
        Some(Err(error))
    }
}

impl Iterator for Packets<'_> {
    type Item = Result<KiteTick, PacketError>;

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        if self.index >= self.declared {
            self.done = true;
            return match self.rest.len() {
                0 => None,
                trailing_bytes => Some(Err(PacketError::CountMismatch {
                    declared: self.declared,
                    trailing_bytes,
                })),
            };
        }
        let index = self.index;
        let Some((prefix, after)) = self.rest.split_first_chunk::<2>() else {
            return self.finish(PacketError::Truncated {
                index,
                needed: 2,
                available: self.rest.len(),
            });
        };
        let len = u16::from_be_bytes(*prefix);
        let Some((body, rest)) = after.split_at_checked(usize::from(len)) else {
            return self.finish(PacketError::Truncated {
                index,
                needed: usize::from(len),
                available: after.len(),
            });
        };
        self.rest = rest;
        // `index < declared <= u16::MAX`, so this never saturates.
        self.index = index.saturating_add(1);
        Some(match PacketKind::from_len(body.len()) {
            Some(kind) => Ok(decode_kind(kind, body)),
            None => Err(PacketError::UnknownLength { index, len }),
        })
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        if self.done {
            (0, Some(0))
        } else {
            let left = usize::from(self.declared.saturating_sub(self.index));
            (0, Some(left.saturating_add(1)))
        }
    }
}

impl FusedIterator for Packets<'_> {}

/// Decodes one packet body (without its length prefix); its length tells its kind.
/// `None` when the length is no known kind.
pub fn decode_packet(body: &[u8]) -> Option<KiteTick> {
    PacketKind::from_len(body.len()).map(|kind| decode_kind(kind, body))
}

/// Decodes a body whose length is `kind.len()` (the caller took `kind` from it). Building
/// the tick in one expression, with no `Option` around it, lets it be written in place.
/// The fallback for a body of another length is unreachable and yields an empty tick.
#[inline(always)]
fn decode_kind(kind: PacketKind, body: &[u8]) -> KiteTick {
    match kind {
        PacketKind::Ltp => {
            if let Ok(p) = body.try_into() {
                return ltp(p);
            }
        }
        PacketKind::IndexQuote => {
            if let Ok(p) = body.try_into() {
                return index_quote::<28>(p);
            }
        }
        PacketKind::IndexFull => {
            if let Ok(p) = body.try_into() {
                return index_full(p);
            }
        }
        PacketKind::Quote => {
            if let Ok(p) = body.try_into() {
                return quote::<44>(p, PacketKind::Quote);
            }
        }
        PacketKind::Full => {
            if let Ok(p) = body.try_into() {
                return full(p);
            }
        }
    }
    KiteTick::empty(kind, 0)
}

/// Big-endian `u32` at `off`. The packet is a fixed-size array and every `off` a constant,
/// so after inlining the check is resolved at compile time; out of range would read 0.
#[inline(always)]
fn u32_at<const N: usize>(p: &[u8; N], off: usize) -> u32 {
    p.get(off..off.saturating_add(4))
        .and_then(|s| <[u8; 4]>::try_from(s).ok())
        .map_or(0, u32::from_be_bytes)
}

#[inline(always)]
fn u16_at<const N: usize>(p: &[u8; N], off: usize) -> u16 {
    p.get(off..off.saturating_add(2))
        .and_then(|s| <[u8; 2]>::try_from(s).ok())
        .map_or(0, u16::from_be_bytes)
}

/// Prices are signed on the wire (spreads can be negative).
#[inline(always)]
fn raw_price_at<const N: usize>(p: &[u8; N], off: usize) -> i64 {
    i64::from(u32_at(p, off).cast_signed())
}

#[inline(always)]
fn ltp(p: &[u8; 8]) -> KiteTick {
    let token = u32_at(p, 0);
    let mut tick = KiteTick::empty(PacketKind::Ltp, token);
    tick.last_price = price(raw_price_at(p, 4), price_scale(token));
    tick
}

#[inline(always)]
fn index_quote<const N: usize>(p: &[u8; N]) -> KiteTick {
    let token = u32_at(p, 0);
    let scale = price_scale(token);
    let kind = if N == 28 {
        PacketKind::IndexQuote
    } else {
        PacketKind::IndexFull
    };
    let mut tick = KiteTick::empty(kind, token);
    tick.last_price = price(raw_price_at(p, 4), scale);
    tick.high = price(raw_price_at(p, 8), scale);
    tick.low = price(raw_price_at(p, 12), scale);
    tick.open = price(raw_price_at(p, 16), scale);
    tick.close = price(raw_price_at(p, 20), scale);
    tick.change = price(raw_price_at(p, 24), scale);
    tick
}

#[inline(always)]
fn index_full(p: &[u8; 32]) -> KiteTick {
    let mut tick = index_quote::<32>(p);
    tick.exchange_timestamp = u32_at(p, 28);
    tick
}

/// The first 44 bytes, shared by the quote and full layouts of tradables.
#[inline(always)]
fn quote<const N: usize>(p: &[u8; N], kind: PacketKind) -> KiteTick {
    let token = u32_at(p, 0);
    let scale = price_scale(token);
    let mut tick = KiteTick::empty(kind, token);
    let last = raw_price_at(p, 4);
    let close = raw_price_at(p, 40);
    tick.last_price = price(last, scale);
    tick.last_traded_quantity = u32_at(p, 8);
    tick.average_traded_price = price(raw_price_at(p, 12), scale);
    tick.volume_traded = u32_at(p, 16);
    tick.total_buy_quantity = u32_at(p, 20);
    tick.total_sell_quantity = u32_at(p, 24);
    tick.open = price(raw_price_at(p, 28), scale);
    tick.high = price(raw_price_at(p, 32), scale);
    tick.low = price(raw_price_at(p, 36), scale);
    tick.close = price(close, scale);
    // Both are i32 widened to i64: the difference cannot overflow.
    tick.change = if close == 0 {
        Decimal::ZERO
    } else {
        price(last - close, scale)
    };
    tick
}

/// Depth entries start here: 5 bids, then 5 asks, 12 bytes each.
const DEPTH_OFFSET: usize = 64;
const DEPTH_ENTRY_LEN: usize = 12;
const ASKS_OFFSET: usize = DEPTH_OFFSET + DEPTH_LEVELS * DEPTH_ENTRY_LEN;

#[inline(always)]
fn full(p: &[u8; 184]) -> KiteTick {
    let mut tick = quote::<184>(p, PacketKind::Full);
    let scale = price_scale(tick.token);
    tick.last_trade_time = u32_at(p, 44);
    tick.oi = u32_at(p, 48);
    tick.oi_day_high = u32_at(p, 52);
    tick.oi_day_low = u32_at(p, 56);
    tick.exchange_timestamp = u32_at(p, 60);
    let entry = |off: usize| DepthEntry {
        quantity: u32_at(p, off),
        price: price(raw_price_at(p, off + 4), scale),
        orders: u16_at(p, off + 8),
        // 2 bytes of padding follow.
    };
    tick.bids = std::array::from_fn(|i| entry(DEPTH_OFFSET + i * DEPTH_ENTRY_LEN));
    tick.asks = std::array::from_fn(|i| entry(ASKS_OFFSET + i * DEPTH_ENTRY_LEN));
    tick
}
