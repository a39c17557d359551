//! Position reconciliation, as pure functions: what our journal says the account holds,
//! what Kite says it holds, which of Kite's trades we never placed, and whose positions
//! those trades moved.
//!
//! Kite's view: MIS and NRML from `GET /portfolio/positions` (`net`, which includes
//! overnight NRML); CNC as the holdings (`quantity + t1_quantity`, as of the start of the
//! day) plus today's CNC `day` position. Ours: every order's filled quantity from the
//! journal — MIS orders of today (IST) only, since MIS never carries over; NRML and CNC
//! orders of every day — plus every untagged trade we booked.
//!
//! Untagged trades (the broker's auto square-off, an RMS square-off, a manual trade in
//! the Kite app) are booked against the strategies whose positions they move: a SELL
//! reduces the longs, a BUY the shorts, largest position first (then by strategy id), each
//! by at most its size; what remains is booked to [`EXTERNAL_STRATEGY`]. That is exactly
//! how a square-off of the account's net position splits over the strategies that built
//! it.

use crate::kite::orders::Product;
use crate::kite::rest::{KiteHolding, KiteOrder, KitePositions, KiteTrade};
use crate::market::MarketCalendar;
use crate::messages::Side;
use crate::zerodha::OrderRecord;
use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// The strategy id of untagged trades no strategy's position explains.
pub const EXTERNAL_STRATEGY: &str = "external";

/// A position at Kite: exchange, trading symbol, product.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct PositionKey {
    pub exchange: String,
    pub tradingsymbol: String,
    pub product: Product,
}

impl std::fmt::Display for PositionKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}:{} {}",
            self.exchange, self.tradingsymbol, self.product
        )
    }
}

/// An untagged Kite trade we booked, split over the strategies it moved. Journaled under
/// `zerodha:external:{trade_id}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExternalBooking {
    pub trade_id: String,
    pub order_id: String,
    pub key: PositionKey,
    pub side: Side,
    pub quantity: u32,
    pub price: Decimal,
    pub executed_at: DateTime<Utc>,
    /// (strategy, quantity) in booking order; the quantities add up to `quantity`.
    pub allocations: Vec<(String, u32)>,
}

/// Per key, per strategy: signed quantity.
pub type Holdings = BTreeMap<PositionKey, BTreeMap<String, i64>>;

fn signed(side: Side, quantity: u32) -> i64 {
    match side {
        Side::Buy => i64::from(quantity),
        Side::Sell => -i64::from(quantity),
    }
}

/// What the journal says each strategy holds, as of IST day `today`.
pub fn ours<'a>(
    records: impl IntoIterator<Item = &'a OrderRecord>,
    bookings: impl IntoIterator<Item = &'a ExternalBooking>,
    today: NaiveDate,
) -> Holdings {
    let mut out = Holdings::new();
    for record in records {
        let signal = &record.signal.data.signal;
        let product = record.target.product;
        let day = MarketCalendar::ist_date(record.signal.ts);
        if record.filled_quantity == 0 || (product == Product::Mis && day != today) {
            continue;
        }
        let key = PositionKey {
            exchange: record.target.exchange.clone(),
            tradingsymbol: record.target.tradingsymbol.clone(),
            product,
        };
        *out.entry(key)
            .or_default()
            .entry(signal.strategy_id.clone())
            .or_default() += signed(signal.side, record.filled_quantity);
    }
    for booking in bookings {
        let day = MarketCalendar::ist_date(booking.executed_at);
        if booking.key.product == Product::Mis && day != today {
            continue;
        }
        for (strategy, quantity) in &booking.allocations {
            *out.entry(booking.key.clone())
                .or_default()
                .entry(strategy.clone())
                .or_default() += signed(booking.side, *quantity);
        }
    }
    out
}

/// What Kite says the account holds, per key (zero positions left out).
pub fn kites(positions: &KitePositions, holdings: &[KiteHolding]) -> BTreeMap<PositionKey, i64> {
    let mut out = BTreeMap::new();
    let mut add = |exchange: &str, symbol: &str, product: Product, quantity: i64| {
        let key = PositionKey {
            exchange: exchange.to_owned(),
            tradingsymbol: symbol.to_owned(),
            product,
        };
        *out.entry(key).or_insert(0) += quantity;
    };
    for p in &positions.net {
        match p.product.parse::<Product>() {
            Ok(Product::Cnc) | Err(_) => {}
            Ok(product) => add(&p.exchange, &p.tradingsymbol, product, p.quantity),
        }
    }
    for p in &positions.day {
        if p.product == Product::Cnc.as_str() {
            add(&p.exchange, &p.tradingsymbol, Product::Cnc, p.quantity);
        }
    }
    for h in holdings {
        add(&h.exchange, &h.tradingsymbol, Product::Cnc, h.total());
    }
    out.retain(|_, quantity| *quantity != 0);
    out
}

/// Kite's trades of listed orders we did not place (no tag of ours) that we did not book
/// yet, in execution order.
pub fn untagged<'a>(
    trades: &'a [KiteTrade],
    orders: &[KiteOrder],
    booked: &BTreeSet<String>,
) -> Vec<&'a KiteTrade> {
    // A trade whose order is not listed at all is left for the next reconciliation
    // rather than guessed at (the lists are read one after the other).
    let theirs: BTreeSet<&str> = orders
        .iter()
        .filter(|o| !o.tag.as_deref().is_some_and(is_our_tag))
        .map(|o| o.order_id.as_str())
        .collect();
    let mut out: Vec<&KiteTrade> = trades
        .iter()
        .filter(|t| theirs.contains(t.order_id.as_str()) && !booked.contains(&t.trade_id))
        .collect();
    out.sort_by(|a, b| (a.executed_at(), &a.trade_id).cmp(&(b.executed_at(), &b.trade_id)));
    out
}

/// Whether `tag` is one of our client order ids (`ap` + 18 hex digits).
pub fn is_our_tag(tag: &str) -> bool {
    tag.len() == 20 && tag.starts_with("ap")
}

/// Splits an untagged trade over the strategies whose positions it reduces (see the
/// module docs); the rest goes to [`EXTERNAL_STRATEGY`].
pub fn allocate(side: Side, quantity: u32, holders: &BTreeMap<String, i64>) -> Vec<(String, u32)> {
    let mut reducible: Vec<(&String, u64)> = holders
        .iter()
        .filter(|(_, q)| match side {
            Side::Sell => **q > 0,
            Side::Buy => **q < 0,
        })
        .map(|(id, q)| (id, q.unsigned_abs()))
        .collect();
    reducible.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    let mut left = u64::from(quantity);
    let mut out = Vec::new();
    for (id, size) in reducible {
        if left == 0 {
            break;
        }
        let take = size.min(left);
        left -= take;
        // `take` <= `quantity`, a u32.
        out.push((id.clone(), u32::try_from(take).unwrap_or(u32::MAX)));
    }
    if left > 0 {
        out.push((
            EXTERNAL_STRATEGY.to_owned(),
            u32::try_from(left).unwrap_or(u32::MAX),
        ));
    }
    out
}

/// A position where our journal and Kite disagree.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Difference {
    pub key: PositionKey,
    pub ours: i64,
    pub kite: i64,
}

/// Every key whose account total differs, in key order.
pub fn differences(ours: &Holdings, kite: &BTreeMap<PositionKey, i64>) -> Vec<Difference> {
    let keys: BTreeSet<&PositionKey> = ours.keys().chain(kite.keys()).collect();
    keys.into_iter()
        .filter_map(|key| {
            let our = ours.get(key).map_or(0, |by| by.values().sum());
            let their = kite.get(key).copied().unwrap_or(0);
            (our != their).then(|| Difference {
                key: key.clone(),
                ours: our,
                kite: their,
            })
        })
        .collect()
}
