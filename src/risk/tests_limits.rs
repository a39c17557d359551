//! Limit validation (every problem at once, keyed by the prefix) and the limits' serde
//! shape (amounts as strings, unknown fields refused).

use super::test_support::*;
use super::*;

#[test]
fn validate_reports_every_bad_limit_keyed_by_prefix_and_accepts_edges() {
    assert!(RiskLimits::default().validate("risk.paper").is_empty());
    assert!(all_limits().validate("risk.paper").is_empty());
    let edges = RiskLimits {
        max_order_quantity: Some(1),
        max_order_value: Some(dec("0.01")),
        price_band_pct: Some(dec("100")),
        ..RiskLimits::default()
    };
    assert!(edges.validate("").is_empty());

    let bad = RiskLimits {
        max_order_quantity: Some(0),
        max_order_value: Some(dec("0")),
        max_position: Some(0),
        max_daily_trades: Some(0),
        price_band_pct: Some(dec("100.5")),
        daily_loss_limit: Some(dec("-500")),
        max_open_orders: Some(0),
        ..RiskLimits::default()
    };
    let off = "(omit it to turn the rule off)";
    assert_eq!(
        bad.validate("risk.zerodha"),
        [
            format!("risk.zerodha.max_order_quantity: must be at least 1 {off}"),
            format!("risk.zerodha.max_order_value: must be positive, got 0 {off}"),
            format!("risk.zerodha.max_position: must be at least 1 {off}"),
            format!("risk.zerodha.max_daily_trades: must be at least 1 {off}"),
            "risk.zerodha.price_band_pct: must be at most 100 (percent), got 100.5".to_owned(),
            format!("risk.zerodha.daily_loss_limit: must be positive, got -500 {off}"),
            format!("risk.zerodha.max_open_orders: must be at least 1 {off}"),
        ]
    );
    assert_eq!(
        RiskLimits {
            max_position: Some(0),
            ..RiskLimits::default()
        }
        .validate(""),
        [format!("max_position: must be at least 1 {off}")]
    );
}

#[test]
fn limits_deserialize_amounts_from_strings_and_refuse_unknown_fields() {
    let json = r#"{"max_order_value":"20000.50","price_band_pct":"2.5","max_position":100}"#;
    let limits: RiskLimits = serde_json::from_str(json).expect("valid limits");
    assert_eq!(
        limits,
        RiskLimits {
            max_order_value: Some(dec("20000.50")),
            price_band_pct: Some(dec("2.5")),
            max_position: Some(100),
            ..RiskLimits::default()
        }
    );
    let round = serde_json::to_string(&limits).expect("serializes");
    assert_eq!(
        serde_json::from_str::<RiskLimits>(&round).ok(),
        Some(limits)
    );
    assert!(serde_json::from_str::<RiskLimits>(r#"{"max_qty":1}"#).is_err());
    assert!(serde_json::from_str::<RiskLimits>(r#"{"max_order_value":20000.5}"#).is_err());
}
