//! The decoded packet ([`KiteTick`]), its kind ([`PacketKind`]) and the segment rules for
//! prices ([`price_divisor`]).
//!
//! Invariants:
//! - A [`KiteTick`] is `Copy` and holds no heap data, so decoding allocates nothing.
//! - Prices are exact: a raw `i32` from the wire becomes `Decimal::try_new(raw, scale)` with
//!   the segment's scale (2, 4 or 7), never a division and never a float.
//! - Fields a kind does not carry are zero; [`KiteTick::kind`] says which are meaningful.
//!   [`KiteTick::to_market_tick`] turns exactly those into `Some` in the pipeline's message.

use crate::messages::{DepthLevel, MarketDepth, MarketTick, Ohlc, TickMode};
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;

/// Segment of currency derivatives (prices in units of 10^-7).
pub const SEGMENT_CDS: u8 = 3;
/// Segment of BSE currency derivatives (prices in units of 10^-4).
pub const SEGMENT_BCD: u8 = 6;
/// Segment of indices: not tradable; their quote/full packets are the short index layouts.
pub const SEGMENT_INDICES: u8 = 9;
/// Levels of market depth a side in a full (184-byte) packet.
pub const DEPTH_LEVELS: usize = 5;

/// The kind of a packet, told by its length on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PacketKind {
    /// 8 bytes: token and last price (any instrument).
    Ltp,
    /// 28 bytes: an index in quote mode.
    IndexQuote,
    /// 32 bytes: an index in full mode (adds the exchange timestamp).
    IndexFull,
    /// 44 bytes: a tradable instrument in quote mode.
    Quote,
    /// 184 bytes: a tradable instrument in full mode (adds OI, timestamps and depth).
    Full,
}

impl PacketKind {
    /// Every kind, shortest first.
    pub const ALL: [PacketKind; 5] = [
        PacketKind::Ltp,
        PacketKind::IndexQuote,
        PacketKind::IndexFull,
        PacketKind::Quote,
        PacketKind::Full,
    ];

    /// The packet length in bytes (without its 2-byte length prefix).
    #[allow(clippy::len_without_is_empty)] // a kind has a length, never an emptiness
    pub const fn len(self) -> usize {
        self.len_u16() as usize
    }

    /// The packet length as written in the length prefix.
    pub(crate) const fn len_u16(self) -> u16 {
        match self {
            PacketKind::Ltp => 8,
            PacketKind::IndexQuote => 28,
            PacketKind::IndexFull => 32,
            PacketKind::Quote => 44,
            PacketKind::Full => 184,
        }
    }

    /// The kind whose packets are `len` bytes long, if any.
    pub const fn from_len(len: usize) -> Option<Self> {
        match len {
            8 => Some(PacketKind::Ltp),
            28 => Some(PacketKind::IndexQuote),
            32 => Some(PacketKind::IndexFull),
            44 => Some(PacketKind::Quote),
            184 => Some(PacketKind::Full),
            _ => None,
        }
    }

    /// The subscription mode the kind answers: ltp, quote or full.
    pub const fn mode(self) -> TickMode {
        match self {
            PacketKind::Ltp => TickMode::Ltp,
            PacketKind::IndexQuote | PacketKind::Quote => TickMode::Quote,
            PacketKind::IndexFull | PacketKind::Full => TickMode::Full,
        }
    }

    /// Whether the kind is one of the index layouts (28 or 32 bytes). An ltp packet does not
    /// say; use the token's segment ([`KiteTick::segment`]) for that.
    pub const fn is_index(self) -> bool {
        matches!(self, PacketKind::IndexQuote | PacketKind::IndexFull)
    }
}

/// One level of market depth as sent by Kite.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DepthEntry {
    pub quantity: u32,
    pub price: Decimal,
    pub orders: u16,
}

impl DepthEntry {
    /// The empty level (all zero).
    pub const ZERO: DepthEntry = DepthEntry {
        quantity: 0,
        price: Decimal::ZERO,
        orders: 0,
    };
}

/// One decoded packet. Fields a kind does not carry are zero; `kind` says which are
/// meaningful. Copy, no heap: decoding allocates nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KiteTick {
    pub kind: PacketKind,
    pub token: u32,
    pub last_price: Decimal,
    pub last_traded_quantity: u32,
    pub average_traded_price: Decimal,
    pub volume_traded: u32,
    pub total_buy_quantity: u32,
    pub total_sell_quantity: u32,
    pub open: Decimal,
    pub high: Decimal,
    pub low: Decimal,
    pub close: Decimal,
    /// Index packets: the packet's net change; tradables: `last_price - close` (0 if close
    /// is 0); ltp packets: 0.
    pub change: Decimal,
    /// Unix seconds (full packets only), 0 otherwise.
    pub last_trade_time: u32,
    pub oi: u32,
    pub oi_day_high: u32,
    pub oi_day_low: u32,
    /// Unix seconds (index full @28, full @60), 0 otherwise.
    pub exchange_timestamp: u32,
    /// Best first.
    pub bids: [DepthEntry; DEPTH_LEVELS],
    /// Best first.
    pub asks: [DepthEntry; DEPTH_LEVELS],
}

impl KiteTick {
    /// A tick of this kind and token with every other field zero.
    pub const fn empty(kind: PacketKind, token: u32) -> Self {
        KiteTick {
            kind,
            token,
            last_price: Decimal::ZERO,
            last_traded_quantity: 0,
            average_traded_price: Decimal::ZERO,
            volume_traded: 0,
            total_buy_quantity: 0,
            total_sell_quantity: 0,
            open: Decimal::ZERO,
            high: Decimal::ZERO,
            low: Decimal::ZERO,
            close: Decimal::ZERO,
            change: Decimal::ZERO,
            last_trade_time: 0,
            oi: 0,
            oi_day_high: 0,
            oi_day_low: 0,
            exchange_timestamp: 0,
            bids: [DepthEntry::ZERO; DEPTH_LEVELS],
            asks: [DepthEntry::ZERO; DEPTH_LEVELS],
        }
    }

    /// The exchange segment: the low byte of the instrument token.
    pub const fn segment(&self) -> u8 {
        segment(self.token)
    }

    /// Converts to the pipeline's message (`symbol` from the instrument registry).
    ///
    /// - ltp: only `last_price`; `tradable` is false for a token of the indices segment.
    /// - quote: adds the volumes, OHLC and `change`; for an index only OHLC and `change`
    ///   (`tradable = false`).
    /// - full: adds OI, `last_trade_time` and `exchange_timestamp` (`None` when 0) and the
    ///   depth (5 levels a side); for an index only `exchange_timestamp`.
    pub fn to_market_tick(&self, symbol: Option<String>) -> MarketTick {
        let mode = self.kind.mode();
        let mut tick = MarketTick::ltp(self.token, self.last_price);
        tick.symbol = symbol;
        tick.mode = mode;
        tick.tradable = match self.kind {
            PacketKind::Ltp => self.segment() != SEGMENT_INDICES,
            kind => !kind.is_index(),
        };
        if mode == TickMode::Ltp {
            return tick;
        }
        tick.ohlc = Some(Ohlc {
            open: self.open,
            high: self.high,
            low: self.low,
            close: self.close,
        });
        tick.change = Some(self.change);
        if mode == TickMode::Full {
            tick.exchange_timestamp = unix_seconds(self.exchange_timestamp);
        }
        if self.kind.is_index() {
            return tick;
        }
        tick.last_traded_quantity = Some(self.last_traded_quantity);
        tick.average_traded_price = Some(self.average_traded_price);
        tick.volume_traded = Some(self.volume_traded);
        tick.total_buy_quantity = Some(self.total_buy_quantity);
        tick.total_sell_quantity = Some(self.total_sell_quantity);
        if mode == TickMode::Full {
            tick.last_trade_time = unix_seconds(self.last_trade_time);
            tick.oi = Some(self.oi);
            tick.oi_day_high = Some(self.oi_day_high);
            tick.oi_day_low = Some(self.oi_day_low);
            tick.depth = Some(MarketDepth {
                bids: self.bids.iter().map(depth_level).collect(),
                asks: self.asks.iter().map(depth_level).collect(),
            });
        }
        tick
    }
}

fn depth_level(entry: &DepthEntry) -> DepthLevel {
    DepthLevel {
        quantity: entry.quantity,
        price: entry.price,
        orders: entry.orders,
    }
}

/// Kite sends 0 for "no time"; any `u32` is a valid Unix second.
fn unix_seconds(secs: u32) -> Option<DateTime<Utc>> {
    if secs == 0 {
        None
    } else {
        DateTime::from_timestamp(i64::from(secs), 0)
    }
}

/// The exchange segment of a token: its low byte.
pub(crate) const fn segment(token: u32) -> u8 {
    (token & 0xFF) as u8
}

/// The number of decimal places of the token's prices: 7 for CDS, 4 for BCD, 2 otherwise.
pub(crate) const fn price_scale(token: u32) -> u32 {
    match segment(token) {
        SEGMENT_CDS => 7,
        SEGMENT_BCD => 4,
        _ => 2,
    }
}

/// What a raw price of this token is divided by: 10,000,000 for CDS, 10,000 for BCD and
/// 100 for every other segment.
pub fn price_divisor(token: u32) -> Decimal {
    match segment(token) {
        SEGMENT_CDS => Decimal::from(10_000_000u32),
        SEGMENT_BCD => Decimal::from(10_000u32),
        _ => Decimal::ONE_HUNDRED,
    }
}

/// The exact price `raw / 10^scale`. `scale` is always one of [`price_scale`]'s values, so
/// the fallback to zero is unreachable; it only keeps a panic path out of the decoder.
#[inline(always)]
pub(crate) fn price(raw: i64, scale: u32) -> Decimal {
    Decimal::try_new(raw, scale).unwrap_or_default()
}
