//! One future's or option's simulated market. Its price is not a walk of its own: every
//! time it is marked (each step and each tick) it is the contract's model value
//! ([`super::contract`]) at its underlying's current price and the time, so a derivative
//! and its underlying move together. What it keeps is the day's trading around that
//! price: OHLC, volume, open interest and a five-level book.
//!
//! Invariants of every packet (beside the tick door's, see [`super::model`]):
//! - quantities (last trade, volume, every book level, totals, OI) are whole lots;
//! - the book is never crossed: bids strictly below the last price, asks strictly above,
//!   one tick apart; a level that would fall below one tick is left empty;
//! - OI day low ≤ OI ≤ OI day high.
//!
//! Decision: the day's open and previous close are the model's values at the underlying's
//! open and close, taken when the contract is first marked, so `change` follows the
//! underlying's move of the day.

use super::contract::{Contract, Pricing};
use crate::kite::ticker::{DepthEntry, KiteTick, PacketKind};
use crate::market::instruments::Instrument;
use crate::messages::TickMode;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rust_decimal::Decimal;

/// The underlying's prices a derivative is marked from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UnderlyingPrices {
    pub last: Decimal,
    pub open: Decimal,
    pub close: Decimal,
}

/// The day's prices, in ticks, once the contract has been marked.
#[derive(Debug, Clone, Copy)]
struct Day {
    last: i64,
    open: i64,
    high: i64,
    low: i64,
    close: i64,
}

/// One derivative's simulated market.
#[derive(Debug, Clone)]
pub struct DerivativeModel {
    token: u32,
    contract: Contract,
    lot_size: u32,
    rng: StdRng,
    day: Option<Day>,
    last_quantity: u32,
    volume: u32,
    turnover_ticks: i128,
    oi: u32,
    oi_high: u32,
    oi_low: u32,
}

/// Lots the open interest starts at (drawn per contract).
const START_OI_LOTS: std::ops::RangeInclusive<u32> = 1_000..=50_000;

impl DerivativeModel {
    /// A model of `instrument` (whose terms are `contract`) seeded from `seed` and the
    /// token.
    pub fn new(instrument: &Instrument, contract: Contract, seed: u64) -> Self {
        let mut rng = StdRng::seed_from_u64(seed ^ u64::from(instrument.token).rotate_left(17));
        let lot_size = instrument.lot_size.max(1);
        let oi = lot_size.saturating_mul(rng.random_range(START_OI_LOTS));
        DerivativeModel {
            token: instrument.token,
            contract,
            lot_size,
            rng,
            day: None,
            last_quantity: 0,
            volume: 0,
            turnover_ticks: 0,
            oi,
            oi_high: oi,
            oi_low: oi,
        }
    }

    pub fn token(&self) -> u32 {
        self.token
    }

    pub fn contract(&self) -> &Contract {
        &self.contract
    }

    /// Prices the contract at `now` (Unix seconds) from `underlying`; the first mark
    /// also fixes the day's open and previous close.
    fn mark(&mut self, underlying: &UnderlyingPrices, now: i64, pricing: &Pricing) -> Day {
        let price = |at: Decimal| self.contract.price_ticks(at, now, pricing);
        let last = price(underlying.last);
        let day = match self.day {
            Some(day) => Day {
                last,
                high: day.high.max(last),
                low: day.low.min(last),
                ..day
            },
            None => {
                let open = price(underlying.open);
                Day {
                    last,
                    open,
                    high: open.max(last),
                    low: open.min(last),
                    close: price(underlying.close),
                }
            }
        };
        self.day = Some(day);
        day
    }

    /// One trade at the current model price: some lots change hands and the open
    /// interest moves by a few lots (never below zero).
    pub fn step(&mut self, underlying: &UnderlyingPrices, now: i64, pricing: &Pricing) {
        let day = self.mark(underlying, now, pricing);
        self.last_quantity = self.lot_size * self.rng.random_range(1..=20);
        self.volume = self.volume.wrapping_add(self.last_quantity);
        self.turnover_ticks += i128::from(day.last) * i128::from(self.last_quantity);
        let lots: i64 = self.rng.random_range(-20..=20);
        let moved = i64::from(self.oi) + lots * i64::from(self.lot_size);
        // Whole lots: the clamp's bounds are 0 and a multiple of the lot size.
        let ceiling = i64::from(u32::MAX / self.lot_size * self.lot_size);
        self.oi = u32::try_from(moved.clamp(0, ceiling)).unwrap_or(0);
        self.oi_high = self.oi_high.max(self.oi);
        self.oi_low = self.oi_low.min(self.oi);
    }

    /// The packet kind Kite sends for a derivative in `mode`.
    pub fn kind(mode: TickMode) -> PacketKind {
        match mode {
            TickMode::Ltp => PacketKind::Ltp,
            TickMode::Quote => PacketKind::Quote,
            TickMode::Full => PacketKind::Full,
        }
    }

    /// The contract marked at `now` from `underlying`, as a packet for `mode`.
    pub fn tick(
        &mut self,
        mode: TickMode,
        underlying: &UnderlyingPrices,
        now: u32,
        pricing: &Pricing,
    ) -> KiteTick {
        let day = self.mark(underlying, i64::from(now), pricing);
        let price = |ticks: i64| Decimal::from(ticks) * self.contract.tick_size;
        let kind = Self::kind(mode);
        let mut t = KiteTick::empty(kind, self.token);
        t.last_price = price(day.last);
        if kind == PacketKind::Ltp {
            return t;
        }
        t.open = price(day.open);
        t.high = price(day.high);
        t.low = price(day.low);
        t.close = price(day.close);
        t.change = t.last_price - t.close;
        t.last_traded_quantity = self.last_quantity;
        t.volume_traded = self.volume;
        if self.volume > 0 {
            let average = self.turnover_ticks / i128::from(self.volume);
            t.average_traded_price = price(i64::try_from(average).unwrap_or(day.last));
        }
        let (mut buy, mut sell) = (0u32, 0u32);
        for level in 0..5 {
            let offset = level as i64 + 1;
            let bid = self.level(day.last - offset);
            let ask = self.level(day.last + offset);
            buy = buy.saturating_add(bid.quantity);
            sell = sell.saturating_add(ask.quantity);
            if kind == PacketKind::Full {
                t.bids[level] = bid;
                t.asks[level] = ask;
            }
        }
        // The whole book, as for equities: 20 times the five levels shown (whole lots).
        t.total_buy_quantity = buy.saturating_mul(20);
        t.total_sell_quantity = sell.saturating_mul(20);
        if kind == PacketKind::Full {
            t.last_trade_time = now;
            t.exchange_timestamp = now;
            t.oi = self.oi;
            t.oi_day_high = self.oi_high;
            t.oi_day_low = self.oi_low;
        }
        t
    }

    /// A book level at `ticks` (empty below one tick), some lots from a few orders. The
    /// draws are made either way, so the sequence does not depend on the price.
    fn level(&mut self, ticks: i64) -> DepthEntry {
        let quantity = self.lot_size * self.rng.random_range(1..=50);
        let orders = self.rng.random_range(1..=20);
        if ticks < 1 {
            return DepthEntry::ZERO;
        }
        DepthEntry {
            quantity,
            price: Decimal::from(ticks) * self.contract.tick_size,
            orders,
        }
    }
}
