//! Round trips for every payload, id derivation, and the decoder's refusals.

use super::*;
use chrono::Utc;
use rust_decimal::Decimal;
use rust_decimal::prelude::FromStr;
use std::fmt::Debug;

fn dec(s: &str) -> Decimal {
    Decimal::from_str(s).unwrap()
}

fn ts() -> chrono::DateTime<Utc> {
    crate::testkit::fixtures::sample_time()
}

use crate::testkit::fixtures::full_tick;

fn signal() -> TradingSignal {
    TradingSignal {
        strategy_id: "momentum_1".into(),
        broker: Broker::Paper,
        token: 738_561,
        symbol: "RELIANCE".into(),
        side: Side::Buy,
        quantity: 10,
        order_type: OrderType::Limit,
        price: Some(dec("2450.35")),
        trigger_price: None,
        validity: Validity::Day,
        reference_price: dec("2450.35"),
        reason: "momentum 1.2% > 1%".into(),
        product: Some(Product::Mis),
        position: -25,
    }
}

fn order_ref() -> OrderRef {
    OrderRef {
        client_order_id: "ap-0f3c".into(),
        broker_order_id: Some("250101000000001".into()),
        strategy_id: "momentum_1".into(),
        broker: Broker::Zerodha,
        token: 738_561,
        symbol: "RELIANCE".into(),
        side: Side::Sell,
    }
}

fn fees() -> Fees {
    Fees {
        brokerage: dec("7.35"),
        stt: dec("6.13"),
        exchange_txn: dec("0.73"),
        sebi: dec("0.02"),
        stamp_duty: dec("0"),
        gst: dec("1.46"),
        total: dec("15.69"),
    }
}

fn round_trip<T: Payload + PartialEq + Debug>(data: T) {
    let env = Envelope::root(data, "test", ts());
    let bytes = encode(&env);
    let back: Envelope<T> = decode(&bytes).unwrap();
    assert_eq!(back, env);
}

#[test]
fn every_payload_round_trips() {
    round_trip(full_tick());
    round_trip(MarketTick::ltp(256_265, dec("24350.05")));
    round_trip(signal());
    round_trip(ValidatedSignal { signal: signal() });
    round_trip(RejectedSignal {
        signal: signal(),
        reasons: vec![Rejection {
            code: RejectionCode::MaxOrderValue,
            message: "order value 24503.50 exceeds 20000".into(),
        }],
    });
    round_trip(OrderSubmitted {
        order: order_ref(),
        quantity: 10,
        order_type: OrderType::StopMarket,
        price: None,
        trigger_price: Some(dec("2400")),
        validity: Validity::Day,
    });
    round_trip(OrderFilled {
        order: order_ref(),
        fill_id: "t1".into(),
        quantity: 4,
        price: dec("2450.35"),
        fees: fees(),
        cumulative_quantity: 4,
        order_quantity: 10,
        filled_at: ts(),
    });
    round_trip(OrderFailed {
        order: order_ref(),
        quantity: 10,
        filled_quantity: 4,
        kind: OrderFailureKind::Expired,
        message: "DAY order expired at session close".into(),
    });
    round_trip(PnlSnapshot {
        broker: Broker::Paper,
        strategy_id: "momentum_1".into(),
        positions: vec![PositionSnapshot {
            token: 738_561,
            symbol: "RELIANCE".into(),
            quantity: -10,
            average_price: dec("2450.35"),
            last_price: dec("2440"),
            realized_pnl: dec("0"),
            unrealized_pnl: dec("103.50"),
        }],
        cash: dec("1000000"),
        realized_pnl: dec("0"),
        unrealized_pnl: dec("103.50"),
        fees: dec("15.69"),
        as_of: ts(),
    });
    let origin = RecordOrigin {
        topic: "market.ticks".into(),
        partition: 2,
        offset: 41,
    };
    round_trip(DlqRecord::new(
        &origin,
        Some(b"738561"),
        Some(&[0xff, 0x00, 0x7b]),
        (DlqErrorKind::Decode, "malformed envelope".into()),
        1,
        "strategy_runner",
    ));
}

#[test]
fn money_is_written_as_strings_and_timestamps_as_rfc3339_utc() {
    let env = Envelope::root(full_tick(), "test", ts());
    let json: serde_json::Value = serde_json::from_slice(&encode(&env)).unwrap();
    assert_eq!(json["data"]["last_price"], "2450.35");
    assert_eq!(json["data"]["depth"]["bids"][0]["price"], "2450.30");
    assert_eq!(json["ts"], "2026-11-26T04:00:00Z");
    assert_eq!(json["type"], "market_tick");
    assert_eq!(json["key"], "738561");
}

#[test]
fn dlq_record_keeps_arbitrary_bytes_exactly() {
    let origin = RecordOrigin {
        topic: "t".into(),
        partition: 0,
        offset: 0,
    };
    let value = [0u8, 159, 146, 150, 255];
    let rec = DlqRecord::new(
        &origin,
        None,
        Some(&value),
        (DlqErrorKind::Decode, "x".into()),
        1,
        "s",
    );
    assert_eq!(rec.value_bytes().unwrap().unwrap(), value);
    assert_eq!(rec.key_bytes().unwrap(), None);
}

#[test]
fn child_events_inherit_correlation_and_get_deterministic_ids() {
    let tick = Envelope::root(full_tick(), "market_feed", ts());
    let a = tick.child(signal(), "strategy_runner", "paper", ts());
    let b = tick.child(signal(), "strategy_runner", "paper", ts());
    let other = tick.child(signal(), "strategy_runner", "zerodha", ts());
    assert_eq!(
        a.id, b.id,
        "same parent and discriminator must give the same id"
    );
    assert_ne!(a.id, other.id);
    assert_ne!(a.id, tick.id);
    assert_eq!(a.causation_id, Some(tick.id));
    assert_eq!(a.correlation_id, tick.correlation_id);
    assert_eq!(a.trace_id, tick.trace_id);
    assert_eq!(a.key, "momentum_1:738561");
    assert_eq!(a.broker, Some(Broker::Paper));

    let validated = a.child(ValidatedSignal { signal: signal() }, "risk", "", ts());
    assert_eq!(
        validated.correlation_id, tick.id,
        "correlation spans the whole journey"
    );
    assert_eq!(validated.causation_id, Some(a.id));
    let root2 = Envelope::root(full_tick(), "market_feed", ts());
    assert_ne!(root2.id, tick.id, "roots get fresh ids");
}

#[test]
fn a_signals_order_id_is_known_before_risk_validates_it() {
    let raw = Envelope::root(signal(), "strategy_runner", ts());
    let validated = raw.child(
        ValidatedSignal { signal: signal() },
        "risk_manager",
        "",
        ts(),
    );
    assert_eq!(
        client_order_id_of_signal(raw.id),
        client_order_id(validated.id)
    );
}

#[test]
fn signals_written_before_product_and_position_decode_with_defaults() {
    let env = Envelope::root(signal(), "t", ts());
    let mut json: serde_json::Value = serde_json::from_slice(&encode(&env)).unwrap();
    let data = json["data"].as_object_mut().unwrap();
    assert_eq!(data.remove("product"), Some(serde_json::json!("MIS")));
    assert_eq!(data.remove("position"), Some(serde_json::json!(-25)));
    let back: Envelope<TradingSignal> = decode(&serde_json::to_vec(&json).unwrap()).unwrap();
    assert_eq!(back.data.product, None);
    assert_eq!(back.data.position, 0);

    let mut without_product = signal();
    without_product.product = None;
    let bytes = encode(&Envelope::root(without_product, "t", ts()));
    let json: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    assert!(
        json["data"].get("product").is_none(),
        "no product is not written: {json}"
    );
}

/// Mutates a valid encoded tick into a malformed record.
fn tampered(edit: impl FnOnce(&mut serde_json::Value)) -> Vec<u8> {
    let env = Envelope::root(full_tick(), "test", ts());
    let mut json: serde_json::Value = serde_json::from_slice(&encode(&env)).unwrap();
    edit(&mut json);
    serde_json::to_vec(&json).unwrap()
}

#[test]
fn decoder_rejects_each_kind_of_malformed_record() {
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("empty", vec![], "empty record"),
        (
            "not json",
            b"\x00\x01garbage".to_vec(),
            "malformed envelope",
        ),
        (
            "truncated",
            encode(&Envelope::root(full_tick(), "t", ts()))[..40].to_vec(),
            "malformed envelope",
        ),
        (
            "trailing bytes",
            [
                encode(&Envelope::root(full_tick(), "t", ts())),
                b"}".to_vec(),
            ]
            .concat(),
            "malformed envelope",
        ),
        (
            "missing field",
            tampered(|j| {
                j.as_object_mut().unwrap().remove("correlation_id");
            }),
            "correlation_id",
        ),
        (
            "unknown envelope field",
            tampered(|j| {
                j["extra"] = 1.into();
            }),
            "unknown field `extra`",
        ),
        (
            "bad timestamp",
            tampered(|j| {
                j["ts"] = "yesterday".into();
            }),
            "`ts`",
        ),
        (
            "bad uuid",
            tampered(|j| {
                j["id"] = "not-a-uuid".into();
            }),
            "`id`",
        ),
        (
            "wrong type",
            tampered(|j| {
                j["type"] = "order_filled".into();
            }),
            "expected `market_tick`, got `order_filled`",
        ),
        (
            "unknown type",
            tampered(|j| {
                j["type"] = "bogus".into();
            }),
            "`type`",
        ),
        (
            "future version",
            tampered(|j| {
                j["version"] = 9.into();
            }),
            "unsupported schema version 9",
        ),
        (
            "price as float",
            tampered(|j| {
                j["data"]["last_price"] = serde_json::json!(2450.35);
            }),
            "data.last_price",
        ),
        (
            "price not a number",
            tampered(|j| {
                j["data"]["last_price"] = "abc".into();
            }),
            "data.last_price",
        ),
        (
            "nested bad price",
            tampered(|j| {
                j["data"]["depth"]["asks"][1]["price"] = "x".into();
            }),
            "data.depth.asks[1].price",
        ),
        (
            "negative quantity",
            tampered(|j| {
                j["data"]["volume_traded"] = (-1).into();
            }),
            "data.volume_traded",
        ),
        (
            "unknown payload field",
            tampered(|j| {
                j["data"]["foo"] = 1.into();
            }),
            "unknown field `foo`",
        ),
        (
            "zero token",
            tampered(|j| {
                j["data"]["token"] = 0.into();
                j["key"] = "0".into();
            }),
            "token: must be non-zero",
        ),
        (
            "key mismatch",
            tampered(|j| {
                j["key"] = "1".into();
            }),
            "key: envelope says `1`",
        ),
        (
            "too much depth",
            tampered(|j| {
                let lvl = j["data"]["depth"]["bids"][0].clone();
                j["data"]["depth"]["bids"].as_array_mut().unwrap().push(lvl);
            }),
            "at most 5 levels",
        ),
    ];
    for (name, bytes, expected) in cases {
        let err = decode::<MarketTick>(&bytes).expect_err(name).to_string();
        assert!(
            err.contains(expected),
            "{name}: error `{err}` does not mention `{expected}`"
        );
    }
}

#[test]
fn decoder_rejects_signals_that_break_invariants() {
    let mut s = signal();
    s.quantity = 0;
    let err = decode::<TradingSignal>(&encode(&Envelope::root(s, "t", ts()))).unwrap_err();
    assert!(
        err.to_string().contains("quantity: must be positive"),
        "{err}"
    );

    let mut s = signal();
    s.price = None;
    let err = decode::<TradingSignal>(&encode(&Envelope::root(s, "t", ts()))).unwrap_err();
    assert!(
        err.to_string()
            .contains("LIMIT order needs a positive price"),
        "{err}"
    );

    let mut env = Envelope::root(signal(), "t", ts());
    env.broker = Some(Broker::Zerodha);
    let err = decode::<TradingSignal>(&encode(&env)).unwrap_err();
    assert!(err.to_string().contains("broker: envelope says"), "{err}");

    let mut bad_fees = fees();
    bad_fees.total = dec("1");
    let fill = OrderFilled {
        order: order_ref(),
        fill_id: "t".into(),
        quantity: 1,
        price: dec("1"),
        fees: bad_fees,
        cumulative_quantity: 1,
        order_quantity: 1,
        filled_at: ts(),
    };
    let err = decode::<OrderFilled>(&encode(&Envelope::root(fill, "t", ts()))).unwrap_err();
    assert!(
        err.to_string().contains("not the sum of the charges"),
        "{err}"
    );
}

#[test]
fn client_order_ids_are_deterministic_20_character_kite_tags() {
    let signal = uuid::Uuid::new_v4();
    let id = client_order_id(signal);
    assert_eq!(id.len(), 20);
    assert!(id.starts_with("ap") && id[2..].chars().all(|c| c.is_ascii_hexdigit()));
    assert_eq!(client_order_id(signal), id);
    assert_ne!(client_order_id(uuid::Uuid::new_v4()), id);
}

#[test]
fn an_event_time_calendar_arithmetic_cannot_handle_is_refused_at_decoding() {
    // Found by the backtest fuzz test: a tick stamped near chrono's maximum passed
    // decoding and panicked the strategy runner and the paper venue (IST offset overflow).
    let env = Envelope::root(full_tick(), "test", ts());
    let mut json: serde_json::Value = serde_json::from_slice(&encode(&env)).unwrap();
    json["ts"] = serde_json::json!("+262142-12-31T23:59:59Z");
    let bytes = serde_json::to_vec(&json).unwrap();
    match decode::<MarketTick>(&bytes) {
        Err(DecodeError::Invalid { reason, .. }) => {
            assert!(reason.starts_with("ts: "), "{reason}");
            assert!(
                reason.contains("outside the years 1677 to 2262"),
                "{reason}"
            );
        }
        other => panic!("expected an invalid ts, got {other:?}"),
    }
    assert!(
        decode::<MarketTick>(&encode(&env)).is_ok(),
        "a sane time decodes"
    );
}

#[test]
fn root_ids_are_random_version_4_uuids_and_never_repeat() {
    let ids: std::collections::HashSet<uuid::Uuid> =
        (0..10_000).map(|_| super::envelope::random_id()).collect();
    assert_eq!(ids.len(), 10_000);
    assert!(ids.iter().all(|id| id.get_version_num() == 4));
    assert!(
        ids.iter()
            .all(|id| id.get_variant() == uuid::Variant::RFC4122)
    );
}

#[test]
fn every_rejection_code_and_failure_kind_is_listed_once_under_its_wire_name() {
    let codes: std::collections::BTreeSet<String> = RejectionCode::ALL
        .iter()
        .map(|c| {
            let wire = serde_json::to_string(c).unwrap();
            assert_eq!(wire, format!("\"{}\"", c.as_str()));
            wire
        })
        .collect();
    assert_eq!(codes.len(), RejectionCode::ALL.len(), "distinct codes");
    let kinds: std::collections::BTreeSet<String> = OrderFailureKind::ALL
        .iter()
        .map(|k| serde_json::to_string(k).unwrap())
        .collect();
    assert_eq!(kinds.len(), OrderFailureKind::ALL.len(), "distinct kinds");
}
