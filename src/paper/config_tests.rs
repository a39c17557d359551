//! The paper configuration's validation and wire form.

use super::ChargeSchedule;
use super::config::PaperConfig;
use super::testutil::d;

#[test]
fn config_validate_names_each_broken_rule() {
    assert!(PaperConfig::default().validate("paper").is_empty());
    let broken = PaperConfig {
        slippage_bps: d("-1"),
        starting_cash: d("-5"),
        max_fill_fraction: d("0"),
        ..PaperConfig::default()
    };
    let keys: Vec<String> = broken
        .validate("paper")
        .iter()
        .filter_map(|p| p.split(':').next().map(str::to_owned))
        .collect();
    assert_eq!(
        keys,
        [
            "paper.slippage_bps",
            "paper.starting_cash",
            "paper.max_fill_fraction"
        ]
    );
    for (bps, ok) in [("0", true), ("9999.99", true), ("10000", false)] {
        let c = PaperConfig {
            slippage_bps: d(bps),
            ..PaperConfig::default()
        };
        assert_eq!(c.validate("").is_empty(), ok, "slippage {bps}");
    }
}

#[test]
fn config_deserialises_from_toml_and_refuses_unknown_fields() {
    let text = r#"
        slippage_bps = "5"
        product = "CNC"
        starting_cash = "250000.50"
        allow_short = false
        partial_fills = true
        max_fill_fraction = "0.25"
        latency_ticks = 2
        seed = 42
        fill_at_touch = true
    "#;
    let config: PaperConfig = toml::from_str(text).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(config.starting_cash, d("250000.50"));
    assert_eq!(config.charges, ChargeSchedule::default());
    assert!(config.validate("paper").is_empty());
    let unknown = format!("{text}\nslipage = \"1\"");
    assert!(toml::from_str::<PaperConfig>(&unknown).is_err());
}
