//! The Kite ticker's binary market-data codec: frames into [`KiteTick`]s and back.
//!
//! Wire format (big-endian, see `KITE.md`): `u16 N`, then N times `u16 L` + L bytes. The
//! length tells the kind ([`PacketKind`]): 8 ltp, 28 index quote, 32 index full, 44 quote,
//! 184 full. A 1-byte frame is a heartbeat.
//!
//! Why its own module: the market feed actor decodes every frame from the socket on its hot
//! path, and the simulator must produce byte-identical frames. Both use this code, which
//! imports nothing from actix, tokio, rdkafka or redis.
//!
//! Decisions and invariants:
//! - **No panics, no allocation.** Every length is bounds-checked with checked splits; a
//!   packet body is converted to a fixed-size array before its fields are read. Decoded
//!   ticks are `Copy` with inline depth arrays. Any input, however malformed, yields errors
//!   and never a panic (a fuzz test feeds millions of random and mutated frames).
//! - **Kind by length, not by segment.** A 28-byte packet is an index quote whatever its
//!   token says. For an ltp packet, only the segment (9 = indices) says whether it is
//!   tradable ([`KiteTick::to_market_tick`]).
//! - **Exact prices.** Prices are signed `i32` on the wire (spreads can be negative) and
//!   become `Decimal::try_new(raw, scale)` with scale 7 for CDS (segment 3, divisor 10^7),
//!   4 for BCD (segment 6, divisor 10^4) and 2 otherwise; no division, no float. Quantities,
//!   volume and OI are unsigned `u32` (volume passes 2^31).
//! - **Field order.** Index packets carry high, low, open, close; tradables open, high, low,
//!   close. An index packet's `change` is read from the wire; a tradable's is
//!   `last_price - close` (0 when close is 0), computed on the raw integers.
//! - **Frame errors** ([`FrameError`], the whole frame is dropped): an empty frame, and a
//!   frame of 2 or 3 bytes — longer than a heartbeat but too short for a count and one
//!   length prefix (Kite never sends a frame without packets).
//! - **Packet errors** ([`PacketError`], counted and skipped by the caller; the iterator
//!   yields them in frame order, at most `declared + 1` items in all):
//!   - `UnknownLength`: the length prefix still frames the packet, so it is skipped, counts
//!     towards the declared N, and the next packet is decoded.
//!   - `Truncated`: a length prefix or packet runs past the end of the frame (including a
//!     declared count larger than the packets present). Nothing after it can be framed, so
//!     the iterator ends.
//!   - `CountMismatch`: all N declared packets were read and bytes remain; yielded once, at
//!     the end, after every good packet (which are kept).
//! - **Encoding** writes each tick in its own kind's layout and refuses (never rounds) a
//!   price that is not on the segment's grid or does not fit an `i32`.

mod decode;
mod encode;
mod tick;

/// Instruments one ticker connection streams at most (KITE.md): the feed refuses runtime
/// subscriptions beyond it.
pub const MAX_INSTRUMENTS_PER_CONNECTION: usize = 3000;

#[cfg(test)]
mod test_support;
#[cfg(test)]
mod tests_errors;
#[cfg(test)]
mod tests_fuzz;
#[cfg(test)]
mod tests_golden;
#[cfg(test)]
mod tests_market_tick;
#[cfg(test)]
mod tests_round_trip;

pub use decode::{Frame, FrameError, PacketError, Packets, decode_packet, parse_frame};
pub use encode::{EncodeError, PriceField, encode_frame, heartbeat};
pub use tick::{
    DEPTH_LEVELS, DepthEntry, KiteTick, PacketKind, SEGMENT_BCD, SEGMENT_CDS, SEGMENT_INDICES,
    price_divisor,
};
