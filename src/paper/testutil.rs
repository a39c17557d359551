//! Builders and event probes shared by the paper venue's tests.

use chrono::{DateTime, TimeZone, Utc};
use rust_decimal::Decimal;

use super::config::PaperConfig;
use super::venue::{PaperVenue, VenueEvent};
use crate::market::hours::IST;
use crate::messages::{
    Broker, DepthLevel, MarketDepth, MarketTick, OrderFailureKind, OrderType, Payload, Side,
    TradingSignal, Validity,
};

pub const TOKEN: u32 = 738_561;
pub const STRATEGY: &str = "momentum";

pub fn d(s: &str) -> Decimal {
    s.parse().unwrap_or_else(|e| panic!("bad decimal {s}: {e}"))
}

/// `hh:mm` IST on `day` of March 2026 (the 2nd is a Monday, the 6th a Friday).
pub fn ist_on(day: u32, hour: u32, minute: u32) -> DateTime<Utc> {
    IST.with_ymd_and_hms(2026, 3, day, hour, minute, 0)
        .single()
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_else(|| panic!("bad instant 2026-03-{day} {hour}:{minute}"))
}

/// `hh:mm` IST on Monday 2026-03-02.
pub fn ist(hour: u32, minute: u32) -> DateTime<Utc> {
    ist_on(2, hour, minute)
}

/// A signal whose reference price (1.00) is far from every tick, so a fill at it shows.
pub fn signal(
    side: Side,
    quantity: u32,
    order_type: OrderType,
    price: Option<&str>,
    trigger: Option<&str>,
    validity: Validity,
) -> TradingSignal {
    TradingSignal {
        strategy_id: STRATEGY.into(),
        broker: Broker::Paper,
        token: TOKEN,
        symbol: "RELIANCE".into(),
        side,
        quantity,
        order_type,
        price: price.map(d),
        trigger_price: trigger.map(d),
        validity,
        reference_price: d("1.00"),
        reason: "test".into(),
        product: None,
        position: 0,
    }
}

pub fn market(side: Side, quantity: u32) -> TradingSignal {
    signal(side, quantity, OrderType::Market, None, None, Validity::Day)
}

pub fn limit(side: Side, quantity: u32, price: &str) -> TradingSignal {
    signal(
        side,
        quantity,
        OrderType::Limit,
        Some(price),
        None,
        Validity::Day,
    )
}

pub fn with_validity(mut signal: TradingSignal, validity: Validity) -> TradingSignal {
    signal.validity = validity;
    signal
}

pub fn tick(last: &str) -> MarketTick {
    MarketTick::ltp(TOKEN, d(last))
}

/// A full-mode tick with one level of depth a side.
pub fn quote_tick(last: &str, bid: &str, ask: &str) -> MarketTick {
    let level = |price: &str| DepthLevel {
        quantity: 500,
        price: d(price),
        orders: 3,
    };
    MarketTick {
        depth: Some(MarketDepth {
            bids: vec![level(bid)],
            asks: vec![level(ask)],
        }),
        ..MarketTick::ltp(TOKEN, d(last))
    }
}

/// A full-mode tick with one level a side at the given quantities (0: an empty side,
/// priced 0 as Kite pads it).
pub fn depth_tick(last: &str, bid: (&str, u32), ask: (&str, u32)) -> MarketTick {
    let level = |(price, quantity): (&str, u32)| DepthLevel {
        quantity,
        price: if quantity == 0 { d("0") } else { d(price) },
        orders: u16::from(quantity > 0),
    };
    MarketTick {
        mode: crate::messages::TickMode::Full,
        depth: Some(MarketDepth {
            bids: vec![level(bid)],
            asks: vec![level(ask)],
        }),
        ..MarketTick::ltp(TOKEN, d(last))
    }
}

/// A quote-mode tick: no depth, the sides' total pending quantities.
pub fn totals_tick(last: &str, buy_total: u32, sell_total: u32) -> MarketTick {
    MarketTick {
        mode: crate::messages::TickMode::Quote,
        total_buy_quantity: Some(buy_total),
        total_sell_quantity: Some(sell_total),
        ..MarketTick::ltp(TOKEN, d(last))
    }
}

/// The failure messages, in order.
pub fn failure_messages(events: &[VenueEvent]) -> Vec<String> {
    events
        .iter()
        .filter_map(|e| match e {
            VenueEvent::Failed(f) => Some(f.message.clone()),
            _ => None,
        })
        .collect()
}

/// The default configuration without the order timeout: the price and rule tests rest
/// orders for minutes of event time; the timeout has tests of its own (`clock_tests`).
pub fn untimed() -> PaperConfig {
    PaperConfig {
        order_timeout_secs: 0,
        ..PaperConfig::default()
    }
}

pub fn venue(config: PaperConfig) -> PaperVenue {
    PaperVenue::new(Broker::Paper, config)
}

/// Every event, after checking it passes its payload's own invariants.
pub fn checked(events: Vec<VenueEvent>) -> Vec<VenueEvent> {
    for event in &events {
        let result = match event {
            VenueEvent::Submitted(e) => e.validate(),
            VenueEvent::Filled(e) => e.validate(),
            VenueEvent::Failed(e) => e.validate(),
        };
        assert_eq!(result, Ok(()), "{event:?}");
    }
    events
}

/// `(quantity, price)` of each fill.
pub fn fills(events: &[VenueEvent]) -> Vec<(u32, Decimal)> {
    events
        .iter()
        .filter_map(|e| match e {
            VenueEvent::Filled(f) => Some((f.quantity, f.price)),
            _ => None,
        })
        .collect()
}

/// `(kind, filled_quantity)` of each failure.
pub fn failures(events: &[VenueEvent]) -> Vec<(OrderFailureKind, u32)> {
    events
        .iter()
        .filter_map(|e| match e {
            VenueEvent::Failed(f) => Some((f.kind, f.filled_quantity)),
            _ => None,
        })
        .collect()
}

/// One word per event: `submitted`, `filled`, `failed`.
pub fn shape(events: &[VenueEvent]) -> Vec<&'static str> {
    events
        .iter()
        .map(|e| match e {
            VenueEvent::Submitted(_) => "submitted",
            VenueEvent::Filled(_) => "filled",
            VenueEvent::Failed(_) => "failed",
        })
        .collect()
}
