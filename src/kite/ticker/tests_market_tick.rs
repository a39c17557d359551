//! `KiteTick::to_market_tick`: per mode, exactly the fields the mode carries become `Some`.

use super::test_support::*;
use super::*;
use crate::messages::{DepthLevel, MarketTick, Ohlc, Payload, TickMode};
use chrono::DateTime;

fn full_tick() -> KiteTick {
    decode_one(&frame(&[&reliance_full_packet()]))
}

#[test]
fn ltp_mode_carries_only_the_last_price() {
    let mut tick = KiteTick::empty(PacketKind::Ltp, RELIANCE);
    tick.last_price = dec("2450.35");
    let mut expected = MarketTick::ltp(RELIANCE, dec("2450.35"));
    expected.symbol = Some("RELIANCE".into());
    assert_eq!(tick.to_market_tick(Some("RELIANCE".into())), expected);
}

#[test]
fn ltp_mode_of_an_index_token_is_not_tradable() {
    let tick = KiteTick::empty(PacketKind::Ltp, NIFTY);
    let message = tick.to_market_tick(None);
    assert!(!message.tradable);
    assert_eq!(message.mode, TickMode::Ltp);
    assert_eq!(message.ohlc, None);
}

#[test]
fn quote_mode_of_a_tradable_adds_volumes_ohlc_and_change_but_no_full_fields() {
    let mut tick = full_tick();
    tick.kind = PacketKind::Quote;
    let message = tick.to_market_tick(None);
    assert_eq!(message.mode, TickMode::Quote);
    assert!(message.tradable);
    assert_eq!(message.last_traded_quantity, Some(12));
    assert_eq!(message.average_traded_price, Some(dec("2447.10")));
    assert_eq!(message.volume_traded, Some(3_000_000_000));
    assert_eq!(message.total_buy_quantity, Some(120_000));
    assert_eq!(message.total_sell_quantity, Some(98_000));
    assert_eq!(
        message.ohlc,
        Some(Ohlc {
            open: dec("2440"),
            high: dec("2460.5"),
            low: dec("2431.05"),
            close: dec("2438.9"),
        })
    );
    assert_eq!(message.change, Some(dec("11.45")));
    assert_eq!(message.oi, None);
    assert_eq!(message.last_trade_time, None);
    assert_eq!(message.exchange_timestamp, None);
    assert_eq!(message.depth, None);
}

#[test]
fn index_quote_mode_carries_only_ohlc_and_change_and_is_not_tradable() {
    let mut tick = KiteTick::empty(PacketKind::IndexQuote, NIFTY);
    tick.last_price = dec("22450.35");
    tick.open = dec("22400");
    tick.change = dec("60.35");
    let message = tick.to_market_tick(Some("NIFTY 50".into()));
    assert!(!message.tradable);
    assert_eq!(message.mode, TickMode::Quote);
    assert_eq!(message.change, Some(dec("60.35")));
    assert_eq!(message.ohlc.map(|o| o.open), Some(dec("22400")));
    assert_eq!(message.volume_traded, None);
    assert_eq!(message.last_traded_quantity, None);
    assert_eq!(message.exchange_timestamp, None);
}

#[test]
fn index_full_mode_adds_the_exchange_timestamp_only() {
    let mut tick = KiteTick::empty(PacketKind::IndexFull, NIFTY);
    tick.exchange_timestamp = 1_764_129_600;
    let message = tick.to_market_tick(None);
    assert_eq!(message.mode, TickMode::Full);
    assert!(!message.tradable);
    assert_eq!(
        message.exchange_timestamp,
        DateTime::from_timestamp(1_764_129_600, 0)
    );
    assert_eq!(message.oi, None);
    assert_eq!(message.depth, None);
    assert_eq!(message.volume_traded, None);
}

#[test]
fn full_mode_adds_oi_timestamps_and_five_depth_levels_a_side() {
    let message = full_tick().to_market_tick(Some("RELIANCE".into()));
    assert_eq!(message.mode, TickMode::Full);
    assert!(message.tradable);
    assert_eq!(message.oi, Some(4_000_000_000));
    assert_eq!(message.oi_day_high, Some(4_100_000_000));
    assert_eq!(message.oi_day_low, Some(3_900_000_000));
    assert_eq!(
        message.last_trade_time,
        DateTime::from_timestamp(1_764_129_600, 0)
    );
    assert_eq!(
        message.exchange_timestamp,
        DateTime::from_timestamp(1_764_129_601, 0)
    );
    let depth = message.depth.as_ref().unwrap();
    assert_eq!(depth.bids.len(), 5);
    assert_eq!(depth.asks.len(), 5);
    assert_eq!(
        depth.bids[4],
        DepthLevel {
            quantity: 104,
            price: dec("2450.10"),
            orders: 14
        }
    );
    assert_eq!(depth.asks[0].price, dec("2450.40"));
    assert_eq!(message.best_bid(), Some(dec("2450.30")));
    assert_eq!(message.best_ask(), Some(dec("2450.40")));
    assert_eq!(message.validate(), Ok(()));
}

#[test]
fn full_mode_zero_timestamps_become_none() {
    let mut tick = full_tick();
    tick.last_trade_time = 0;
    tick.exchange_timestamp = 0;
    let message = tick.to_market_tick(None);
    assert_eq!(message.last_trade_time, None);
    assert_eq!(message.exchange_timestamp, None);
    assert!(message.depth.is_some());
}
