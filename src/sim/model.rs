//! The simulator's seeded price model of an equity or an index: a random walk on the
//! instrument's tick grid, from its registry `last_price` when it has one, with plausible
//! volume, OHLC and a five-level book around the last price. Futures and options are not
//! walks: they are priced from their underlying's walk ([`super::derivative`]). Pure: the
//! same seed and steps give the same ticks.
//!
//! Every tick it makes passes the door ([`crate::messages::MarketTick::check`]): the last
//! price is at least one tick, bids sit below it and asks above (never crossed), quoted
//! levels are priced, low ≤ open ≤ high.

use super::contract::DEFAULT_TICK;
use crate::kite::ticker::{DepthEntry, KiteTick, PacketKind};
use crate::market::instruments::Instrument;
use crate::messages::TickMode;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;

/// One instrument's simulated market.
#[derive(Debug, Clone)]
pub struct PriceModel {
    token: u32,
    index: bool,
    tick_size: Decimal,
    lot_size: u32,
    rng: StdRng,
    /// Prices in tick units (price = ticks × tick_size).
    last: i64,
    open: i64,
    high: i64,
    low: i64,
    close: i64,
    last_quantity: u32,
    volume: u32,
    turnover_ticks: i128,
}

impl PriceModel {
    /// A model seeded from `seed` and the token, starting at the instrument's registry
    /// `last_price` when it has one (the sample indices do, so their options are near the
    /// money), else at a plausible drawn price (hundreds to a few thousand rupees for
    /// equities, tens of thousands for indices).
    pub fn new(instrument: &Instrument, seed: u64) -> Self {
        let mut rng = StdRng::seed_from_u64(seed ^ u64::from(instrument.token).rotate_left(17));
        let tick_size = if instrument.tick_size > Decimal::ZERO {
            instrument.tick_size
        } else {
            DEFAULT_TICK
        };
        let rupees: i64 = if instrument.is_index() {
            rng.random_range(15_000..50_000)
        } else {
            rng.random_range(100..5_000)
        };
        let start = if instrument.last_price > Decimal::ZERO {
            instrument.last_price
        } else {
            Decimal::from(rupees)
        };
        let close = (start / tick_size).trunc().to_i64().unwrap_or(rupees * 20);
        // At least 21 ticks, so that the open (±20 ticks) is a positive price even for an
        // instrument whose tick size is above its drawn price.
        let close = close.max(21);
        let open = close + rng.random_range(-20..=20);
        PriceModel {
            token: instrument.token,
            index: instrument.is_index(),
            tick_size,
            lot_size: instrument.lot_size.max(1),
            rng,
            last: open,
            open,
            high: open,
            low: open,
            close,
            last_quantity: 0,
            volume: 0,
            turnover_ticks: 0,
        }
    }

    pub fn token(&self) -> u32 {
        self.token
    }

    /// One trade: the price moves up to two ticks either way (never below one tick).
    pub fn step(&mut self) {
        let moved = self.last + self.rng.random_range(-2..=2);
        self.last = moved.max(1);
        self.high = self.high.max(self.last);
        self.low = self.low.min(self.last);
        if !self.index {
            self.last_quantity = self.lot_size * self.rng.random_range(1..=200);
            self.volume = self.volume.wrapping_add(self.last_quantity);
            self.turnover_ticks += i128::from(self.last) * i128::from(self.last_quantity);
        }
    }

    fn price(&self, ticks: i64) -> Decimal {
        Decimal::from(ticks) * self.tick_size
    }

    /// The last price: what a derivative of this instrument is priced from.
    pub fn last_price(&self) -> Decimal {
        self.price(self.last)
    }

    /// The day's open.
    pub fn open_price(&self) -> Decimal {
        self.price(self.open)
    }

    /// The previous close.
    pub fn close_price(&self) -> Decimal {
        self.price(self.close)
    }

    /// The packet kind Kite sends for this instrument in `mode`.
    pub fn kind(&self, mode: TickMode) -> PacketKind {
        match (mode, self.index) {
            (TickMode::Ltp, _) => PacketKind::Ltp,
            (TickMode::Quote, true) => PacketKind::IndexQuote,
            (TickMode::Full, true) => PacketKind::IndexFull,
            (TickMode::Quote, false) => PacketKind::Quote,
            (TickMode::Full, false) => PacketKind::Full,
        }
    }

    /// The current state as a packet for `mode`, stamped `now` (Unix seconds).
    pub fn tick(&mut self, mode: TickMode, now: u32) -> KiteTick {
        let kind = self.kind(mode);
        let mut t = KiteTick::empty(kind, self.token);
        t.last_price = self.price(self.last);
        if kind == PacketKind::Ltp {
            return t;
        }
        t.open = self.price(self.open);
        t.high = self.price(self.high);
        t.low = self.price(self.low);
        t.close = self.price(self.close);
        t.change = t.last_price - t.close;
        if kind.is_index() {
            if kind == PacketKind::IndexFull {
                t.exchange_timestamp = now;
            }
            return t;
        }
        t.last_traded_quantity = self.last_quantity;
        t.volume_traded = self.volume;
        if self.volume > 0 {
            let average = self.turnover_ticks / i128::from(self.volume);
            t.average_traded_price = self.price(i64::try_from(average).unwrap_or(self.last));
        }
        let mut buy = 0u32;
        let mut sell = 0u32;
        for level in 0..5 {
            let bid_qty = self.lot_size * self.rng.random_range(1..=500);
            let ask_qty = self.lot_size * self.rng.random_range(1..=500);
            buy = buy.saturating_add(bid_qty);
            sell = sell.saturating_add(ask_qty);
            if kind == PacketKind::Full {
                let offset = level as i64 + 1;
                t.bids[level] = DepthEntry {
                    quantity: bid_qty,
                    price: self.price((self.last - offset).max(1)),
                    orders: self.rng.random_range(1..=40),
                };
                t.asks[level] = DepthEntry {
                    quantity: ask_qty,
                    price: self.price(self.last + offset),
                    orders: self.rng.random_range(1..=40),
                };
            }
        }
        t.total_buy_quantity = buy.saturating_mul(20);
        t.total_sell_quantity = sell.saturating_mul(20);
        if kind == PacketKind::Full {
            t.last_trade_time = now;
            t.exchange_timestamp = now;
        }
        t
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::market::instruments::InstrumentRegistry;

    #[test]
    fn every_simulated_tick_passes_the_door_in_every_mode() {
        let registry = InstrumentRegistry::embedded().expect("embedded instruments");
        let mut checked = 0;
        // Derivatives are not walks (see `market_tests`).
        for instrument in registry.iter().filter(|i| !i.kind.is_derivative()) {
            let mut model = PriceModel::new(instrument, 7);
            for step in 0..500u32 {
                for mode in [TickMode::Ltp, TickMode::Quote, TickMode::Full] {
                    let tick = model.tick(mode, 1_790_000_000 + step).to_market_tick(None);
                    assert_eq!(
                        tick.check(),
                        Ok(()),
                        "{} step {step} {mode:?}",
                        instrument.token
                    );
                    checked += 1;
                }
                model.step();
            }
        }
        assert!(checked > 0);
    }

    #[test]
    fn a_tick_size_above_the_drawn_price_still_gives_positive_prices() {
        let registry = InstrumentRegistry::embedded().expect("embedded instruments");
        let mut instrument = registry.iter().next().expect("an instrument").clone();
        instrument.tick_size = Decimal::from(100_000);
        for seed in 0..32 {
            let mut model = PriceModel::new(&instrument, seed);
            let tick = model
                .tick(TickMode::Full, 1_790_000_000)
                .to_market_tick(None);
            assert_eq!(tick.check(), Ok(()), "seed {seed}");
        }
    }
}
