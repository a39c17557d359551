//! Position reconciliation's arithmetic: our holdings from the journal, Kite's from its
//! lists, untagged trades and their allocation, and the differences.

use super::positions::*;
use crate::kite::orders::{Product, Variety};
use crate::kite::rest::{KiteHolding, KiteOrder, KitePositions, KiteTrade};
use crate::market::{InstrumentRegistry, MarketCalendar};
use crate::messages::{Broker, Side, client_order_id};
use crate::testkit::fixtures::validated_signal;
use crate::zerodha::{OrderRecord, order_target};
use chrono::{TimeDelta, Utc};
use rust_decimal::Decimal;
use std::collections::{BTreeMap, BTreeSet};

fn key(symbol: &str, product: Product) -> PositionKey {
    PositionKey {
        exchange: "NSE".into(),
        tradingsymbol: symbol.into(),
        product,
    }
}

/// A journaled order of `strategy` on INFY, filled `filled` of `quantity`, decided
/// `days_ago` days ago.
fn record(strategy: &str, side: Side, filled: u32, product: Product, days_ago: i64) -> OrderRecord {
    let mut signal = validated_signal(Broker::Zerodha, side, 10);
    signal.data.signal.strategy_id = strategy.into();
    signal.ts -= TimeDelta::days(days_ago);
    let registry = InstrumentRegistry::embedded().unwrap();
    let target = order_target(&signal.data, &registry, product, Variety::Regular).unwrap();
    let mut r = OrderRecord::new(client_order_id(signal.id), signal, target, Utc::now());
    r.filled_quantity = filled;
    r
}

fn json<T: serde::de::DeserializeOwned>(value: serde_json::Value) -> T {
    serde_json::from_value(value).unwrap()
}

#[test]
fn ours_counts_fills_with_mis_of_today_only_and_bookings_per_strategy() {
    let today = MarketCalendar::ist_date(Utc::now());
    let records = [
        record("a", Side::Buy, 10, Product::Mis, 0),
        record("a", Side::Sell, 4, Product::Mis, 0),
        record("b", Side::Buy, 7, Product::Mis, 0),
        // Yesterday's MIS was squared off by the broker; it does not carry over.
        record("b", Side::Buy, 5, Product::Mis, 1),
        // Delivery carries over.
        record("a", Side::Buy, 3, Product::Cnc, 3),
        record("c", Side::Buy, 0, Product::Mis, 0),
    ];
    let booking = ExternalBooking {
        trade_id: "9".into(),
        order_id: "8".into(),
        key: key("INFY", Product::Mis),
        side: Side::Sell,
        quantity: 7,
        price: Decimal::new(1500, 0),
        executed_at: Utc::now(),
        allocations: vec![("b".into(), 7)],
    };
    let held = ours(&records, [&booking], today);
    let mis = &held[&key("INFY", Product::Mis)];
    assert_eq!(mis, &BTreeMap::from([("a".into(), 6), ("b".into(), 0)]));
    assert_eq!(
        held[&key("INFY", Product::Cnc)],
        BTreeMap::from([("a".to_owned(), 3)])
    );
}

#[test]
fn kites_view_takes_net_mis_and_nrml_and_holdings_plus_todays_cnc() {
    let positions: KitePositions = json(serde_json::json!({
        "net": [
            {"tradingsymbol": "INFY", "exchange": "NSE", "product": "MIS", "quantity": 6},
            {"tradingsymbol": "TCS", "exchange": "NSE", "product": "NRML", "quantity": -2, "overnight_quantity": -2},
            {"tradingsymbol": "SBIN", "exchange": "NSE", "product": "CNC", "quantity": 5},
            {"tradingsymbol": "WIPRO", "exchange": "NSE", "product": "MIS", "quantity": 0}
        ],
        "day": [
            {"tradingsymbol": "SBIN", "exchange": "NSE", "product": "CNC", "quantity": 2}
        ]
    }));
    let holdings: Vec<KiteHolding> = json(serde_json::json!([
        {"tradingsymbol": "SBIN", "exchange": "NSE", "quantity": 1, "t1_quantity": 2}
    ]));
    assert_eq!(
        kites(&positions, &holdings),
        BTreeMap::from([
            (key("INFY", Product::Mis), 6),
            (key("SBIN", Product::Cnc), 5),
            (key("TCS", Product::Nrml), -2),
        ])
    );
}

#[test]
fn untagged_trades_are_those_of_orders_without_our_tag_not_yet_booked_in_time_order() {
    let orders: Vec<KiteOrder> = json(serde_json::json!([
        {"order_id": "1", "status": "COMPLETE", "quantity": 5, "tag": "ap0123456789abcdef01"},
        {"order_id": "2", "status": "COMPLETE", "quantity": 5, "tag": null},
        {"order_id": "3", "status": "COMPLETE", "quantity": 5, "tag": "manual"}
    ]));
    let trade = |id: &str, order: &str, at: &str| -> KiteTrade {
        json(
            serde_json::json!({"trade_id": id, "order_id": order, "quantity": 5,
            "average_price": 100, "exchange_timestamp": at}),
        )
    };
    let trades = [
        trade("t1", "1", "2026-12-04 10:00:00"),
        trade("t3", "3", "2026-12-04 15:20:02"),
        trade("t2", "2", "2026-12-04 15:20:01"),
        trade("t4", "2", "2026-12-04 15:20:00"),
        // Its order was not in the list read: left for the next reconciliation.
        trade("t5", "4", "2026-12-04 15:20:03"),
    ];
    let booked = BTreeSet::from(["t4".to_owned()]);
    let found: Vec<&str> = untagged(&trades, &orders, &booked)
        .iter()
        .map(|t| t.trade_id.as_str())
        .collect();
    assert_eq!(found, ["t2", "t3"]);
}

#[test]
fn an_untagged_trade_reduces_the_largest_opposite_positions_first_then_is_external() {
    let holders = BTreeMap::from([
        ("a".to_owned(), 4),
        ("b".to_owned(), 6),
        ("c".to_owned(), -3),
        ("d".to_owned(), 6),
    ]);
    // The broker's square-off of the account's net +13: a SELL of 13.
    assert_eq!(
        allocate(Side::Sell, 13, &holders),
        [
            ("b".to_owned(), 6),
            ("d".to_owned(), 6),
            ("a".to_owned(), 1)
        ]
    );
    // A manual buy larger than every short: the rest is nobody's strategy.
    assert_eq!(
        allocate(Side::Buy, 5, &holders),
        [("c".to_owned(), 3), (EXTERNAL_STRATEGY.to_owned(), 2)]
    );
    assert_eq!(
        allocate(Side::Sell, 2, &BTreeMap::new()),
        [(EXTERNAL_STRATEGY.to_owned(), 2)]
    );
}

#[test]
fn differences_compare_account_totals_over_both_sides_keys() {
    let held: Holdings = BTreeMap::from([
        (
            key("INFY", Product::Mis),
            BTreeMap::from([("a".to_owned(), 6), ("b".to_owned(), -6)]),
        ),
        (
            key("TCS", Product::Mis),
            BTreeMap::from([("a".to_owned(), 3)]),
        ),
    ]);
    let kite = BTreeMap::from([
        (key("TCS", Product::Mis), 3),
        (key("SBIN", Product::Cnc), 1),
    ]);
    assert_eq!(
        differences(&held, &kite),
        [Difference {
            key: key("SBIN", Product::Cnc),
            ours: 0,
            kite: 1
        }]
    );
}
