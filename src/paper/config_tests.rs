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
        order_timeout_secs: 86_401,
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
            "paper.max_fill_fraction",
            "paper.order_timeout_secs",
        ]
    );
    assert!(
        broken.validate("paper").contains(
            &"paper.order_timeout_secs: must be seconds between 0 (never cancel) and 86400 \
              (a day), got 86401"
                .to_owned()
        ),
        "{:?}",
        broken.validate("paper")
    );
    for (secs, timeout) in [(0, None), (30, Some(30)), (86_400, Some(86_400))] {
        let c = PaperConfig {
            order_timeout_secs: secs,
            ..PaperConfig::default()
        };
        assert!(c.validate("paper").is_empty(), "timeout {secs}");
        let got = c.order_timeout().map(|t| t.as_secs());
        assert_eq!(got, timeout, "timeout {secs}");
    }
    assert_eq!(PaperConfig::default().order_timeout_secs, 30);
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
        order_timeout_secs = 0
    "#;
    let config: PaperConfig = toml::from_str(text).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(config.starting_cash, d("250000.50"));
    assert_eq!(config.charges, ChargeSchedule::default());
    assert!(config.validate("paper").is_empty());
    assert!(
        !config.depth_limited,
        "left out: off, as before the setting existed"
    );
    let limited: PaperConfig =
        toml::from_str(&format!("{text}\ndepth_limited = true")).unwrap_or_else(|e| panic!("{e}"));
    assert!(limited.depth_limited);
    // Written out either way (config/default.toml lists it).
    let written = |c: &PaperConfig| toml::to_string(c).unwrap_or_default();
    assert!(written(&config).contains("depth_limited = false"));
    assert!(written(&limited).contains("depth_limited = true"));
    let unknown = format!("{text}\nslipage = \"1\"");
    assert!(toml::from_str::<PaperConfig>(&unknown).is_err());
}
