//! Unit tests of `[brokers]`, `[risk]`, `[paper]` and `[portfolio]`: defaults, per-key
//! merging, `"off"`, decimals as strings or numbers, the environment, validation and
//! the effective-settings round trip. `[strategies]` is in `strategy_tests.rs`.
//!
//! Like `tests.rs`, these never touch the process environment.

use std::str::FromStr;
use std::time::Duration;

use rust_decimal::Decimal;

use super::schema_rules::{DECIMALS, any_matches};
pub(super) use super::test_support::{load, problems};
use super::*;
use crate::messages::Broker;
use crate::paper::{PaperConfig, Product};
use crate::risk::RiskLimits;

/// Replaces the masked `redis.url = "***"` when effective settings are loaded back.
const UNMASK_REDIS: (&str, &str) = ("ALPHA_PANDA__REDIS__URL", "memory");

pub(super) fn d(text: &str) -> Decimal {
    Decimal::from_str(text).unwrap()
}

fn paper_defaults() -> RiskLimits {
    RiskLimits {
        max_order_quantity: Some(1000),
        max_order_value: Some(d("500000")),
        max_position: Some(2000),
        max_daily_trades: Some(500),
        price_band_pct: Some(d("5")),
        daily_loss_limit: Some(d("50000")),
        max_open_orders: Some(50),
        max_lots_per_underlying: Some(30),
        max_premium_at_risk: Some(d("100000")),
        max_notional: Some(d("50000000")),
        ..RiskLimits::default()
    }
}

#[test]
fn defaults_load_with_paper_enabled() {
    let s = load(None, &[]).unwrap();
    assert_eq!(s.brokers.enabled, [Broker::Paper]);
    assert_eq!(s.risk.paper, paper_defaults());
    let z = &s.risk.zerodha;
    assert_eq!(z.max_order_quantity, Some(100));
    assert_eq!(z.max_order_value, Some(d("50000")));
    assert_eq!(z.price_band_pct, Some(d("2")));
    assert_eq!(z.max_open_orders, Some(10));
    assert!(z.validate("risk.zerodha").is_empty());
    assert_eq!(s.risk.limits(Broker::Zerodha), z);
    assert_eq!(s.risk.limits(Broker::Paper), &s.risk.paper);
    // The [paper] table is PaperConfig::default(), key for key.
    assert_eq!(s.paper, PaperConfig::default());
    assert_eq!(s.portfolio.starting_cash, d("1000000"));
    assert_eq!(s.portfolio.snapshot_interval(), Duration::from_secs(1));
}

#[test]
fn decimal_settings_are_listed_and_their_defaults_parse() {
    // Every string default that reads as a decimal is listed in DECIMALS, and every
    // listed key has such a default: the list cannot drift from default.toml.
    fn walk(path: &str, value: &toml::Value, found: &mut Vec<(String, bool)>) {
        match value {
            toml::Value::Table(table) => {
                for (key, value) in table {
                    walk(&format!("{path}.{key}"), value, found);
                }
            }
            toml::Value::String(s) => found.push((path.to_owned(), Decimal::from_str(s).is_ok())),
            _ => {}
        }
    }
    let schema: toml::Table = toml::from_str(DEFAULT_TOML).unwrap();
    let mut found = Vec::new();
    // Strategy params are free tables, deserialised by their own types.
    for (section, value) in schema.iter().filter(|(s, _)| *s != "strategies") {
        walk(section, value, &mut found);
    }
    for (path, is_decimal) in &found {
        assert_eq!(any_matches(DECIMALS, path), *is_decimal, "{path}");
    }
    for pattern in DECIMALS {
        let used = found.iter().any(|(path, _)| any_matches(&[pattern], path));
        assert!(used, "{pattern} matches no setting");
    }
}

#[test]
fn tables_merge_per_key_with_the_defaults() {
    let file = "[risk.paper]\nmax_order_quantity = 5\n\
                [paper]\nproduct = \"CNC\"\n\
                [paper.charges.intraday]\nbrokerage_cap = \"15\"\n";
    let s = load(Some(file), &[]).unwrap();
    let expected = RiskLimits {
        max_order_quantity: Some(5),
        ..paper_defaults()
    };
    assert_eq!(s.risk.paper, expected);
    assert_eq!(s.paper.product, Product::Cnc);
    let defaults = PaperConfig::default();
    assert_eq!(s.paper.charges.intraday.brokerage_cap, d("15"));
    assert_eq!(
        s.paper.charges.intraday.brokerage_rate,
        defaults.charges.intraday.brokerage_rate
    );
    assert_eq!(s.paper.charges.delivery, defaults.charges.delivery);
}

#[test]
fn off_turns_a_risk_rule_off_and_survives_the_round_trip() {
    let file = "[risk.paper]\nmax_order_quantity = \"off\"\nmax_order_value = \"OFF\"\n";
    let vars = [("ALPHA_PANDA__RISK__ZERODHA__DAILY_LOSS_LIMIT", "off")];
    let s = load(Some(file), &vars).unwrap();
    let expected = RiskLimits {
        max_order_quantity: None,
        max_order_value: None,
        ..paper_defaults()
    };
    assert_eq!(s.risk.paper, expected);
    assert_eq!(s.risk.zerodha.daily_loss_limit, None);
    assert_eq!(s.risk.zerodha.max_order_quantity, Some(100));

    // The effective settings write "off" (a missing key would mean the default).
    let masked = s.to_masked_toml();
    let table: toml::Table = toml::from_str(&masked).unwrap();
    assert_eq!(
        table["risk"]["paper"]["max_order_quantity"].as_str(),
        Some("off")
    );
    assert_eq!(
        table["risk"]["paper"]["max_position"].as_integer(),
        Some(2000)
    );
    let reloaded = load(Some(&masked), &[UNMASK_REDIS]).unwrap();
    assert_eq!(reloaded.risk, s.risk);
}

#[test]
fn off_is_only_for_risk_limits_and_bad_limits_say_how_to_switch_off() {
    let file = "[risk.paper]\nmax_order_quantity = \"lots\"\nmax_order_value = \"much\"\n\
                [portfolio]\nsnapshot_interval_ms = \"off\"\n";
    let got = problems(load(Some(file), &[]));
    assert_eq!(
        got,
        [
            "portfolio.snapshot_interval_ms: expected an integer, got \"off\"",
            "risk.paper.max_order_quantity: expected an integer or \"off\", got \"lots\"",
            "risk.paper.max_order_value: expected a decimal number or \"off\", got \"much\"",
        ]
    );
    let got = problems(load(Some("[risk.paper]\nmax_open_orders = 0\n"), &[]));
    assert_eq!(
        got,
        ["risk.paper.max_open_orders: must be at least 1 (set it to \"off\" to turn the rule off)"]
    );
}

#[test]
fn f_and_o_limits_load_switch_off_and_refuse_zero() {
    let s = load(None, &[]).unwrap();
    let z = &s.risk.zerodha;
    assert_eq!(z.max_lots_per_underlying, Some(2));
    assert_eq!(z.max_premium_at_risk, Some(d("10000")));
    assert_eq!(z.max_notional, Some(d("5000000")));
    let file = "[risk.paper]\nmax_lots_per_underlying = \"off\"\nmax_premium_at_risk = 2500.5\n\
                max_notional = \"off\"\n";
    let s = load(Some(file), &[]).unwrap();
    assert_eq!(s.risk.paper.max_lots_per_underlying, None);
    assert_eq!(s.risk.paper.max_premium_at_risk, Some(d("2500.5")));
    assert_eq!(s.risk.paper.max_notional, None);
    let file = "[risk.zerodha]\nmax_lots_per_underlying = 0\nmax_premium_at_risk = \"0\"\n\
                max_notional = \"-1\"\n";
    let off = "(set it to \"off\" to turn the rule off)";
    assert_eq!(
        problems(load(Some(file), &[])),
        [
            format!("risk.zerodha.max_lots_per_underlying: must be at least 1 {off}"),
            format!("risk.zerodha.max_premium_at_risk: must be positive, got 0 {off}"),
            format!("risk.zerodha.max_notional: must be positive, got -1 {off}"),
        ]
    );
}

#[test]
fn decimals_accept_strings_and_numbers() {
    let file = "[portfolio]\nstarting_cash = 250000.5\n\
                [risk.paper]\nprice_band_pct = 2.5\nmax_order_value = 100000\n\
                [paper]\nslippage_bps = 0.5\n";
    let s = load(Some(file), &[]).unwrap();
    assert_eq!(s.portfolio.starting_cash, d("250000.5"));
    assert_eq!(s.risk.paper.price_band_pct, Some(d("2.5")));
    assert_eq!(s.risk.paper.max_order_value, Some(d("100000")));
    assert_eq!(s.paper.slippage_bps, d("0.5"));

    let file = "[portfolio]\nstarting_cash = true\n[paper]\nmax_fill_fraction = \"half\"\n";
    let got = problems(load(Some(file), &[]));
    assert_eq!(
        got,
        [
            "paper.max_fill_fraction: expected a decimal number, got \"half\"",
            "portfolio.starting_cash: expected a decimal number, got true",
        ]
    );
}

#[test]
fn environment_sets_scalars_and_lists() {
    let vars = [
        ("ALPHA_PANDA__RISK__PAPER__MAX_ORDER_QUANTITY", "10"),
        ("ALPHA_PANDA__RISK__PAPER__PRICE_BAND_PCT", "2.5"),
        ("ALPHA_PANDA__PORTFOLIO__STARTING_CASH", "500000"),
        ("ALPHA_PANDA__PORTFOLIO__SNAPSHOT_INTERVAL_MS", "250"),
        ("ALPHA_PANDA__BROKERS__ENABLED", "paper, Zerodha"),
        ("ALPHA_PANDA__KITE__API_KEY", "key"),
        (
            "ALPHA_PANDA__KITE__ACCESS_TOKEN_FILE",
            "/checked/at/start-up",
        ),
        ("ALPHA_PANDA__PAPER__CHARGES__INTRADAY__BROKERAGE_CAP", "15"),
        ("ALPHA_PANDA__PAPER__ALLOW_SHORT", "true"),
    ];
    let s = load(None, &vars).unwrap();
    assert_eq!(s.risk.paper.max_order_quantity, Some(10));
    assert_eq!(s.risk.paper.price_band_pct, Some(d("2.5")));
    assert_eq!(s.portfolio.starting_cash, d("500000"));
    assert_eq!(s.portfolio.snapshot_interval(), Duration::from_millis(250));
    assert_eq!(s.brokers.enabled, [Broker::Paper, Broker::Zerodha]);
    assert_eq!(s.paper.charges.intraday.brokerage_cap, d("15"));
    assert!(s.paper.allow_short);
}

#[test]
fn paper_cash_is_the_portfolio_cash() {
    let s = load(Some("[portfolio]\nstarting_cash = \"250000\"\n"), &[]).unwrap();
    assert_eq!(s.paper.starting_cash, d("250000"));
    let masked: toml::Table = toml::from_str(&s.to_masked_toml()).unwrap();
    assert!(masked["paper"].get("starting_cash").is_none());

    let got = problems(load(Some("[paper]\nstarting_cash = \"5\"\n"), &[]));
    assert_eq!(
        got,
        [
            "paper.starting_cash: unknown key; set portfolio.starting_cash instead: the paper \
             venue and the portfolios start from the same cash"
        ]
    );

    // Built in code, the two can disagree; validate says so.
    let mut s = load(None, &[]).unwrap();
    s.paper.starting_cash = d("5");
    let e = s.validate().unwrap_err();
    assert!(e.mentions("paper.starting_cash"), "{e}");
}

#[test]
fn paper_order_timeout_and_auto_square_off_charge_load_and_validate() {
    let s = load(None, &[]).unwrap();
    assert_eq!(s.paper.order_timeout(), Some(Duration::from_secs(30)));
    assert_eq!(s.paper.charges.intraday.auto_square_off, d("50"));
    assert_eq!(s.paper.charges.delivery.auto_square_off, d("0"));

    let file = "[paper]\norder_timeout_secs = 0\n\
                [paper.charges.intraday]\nauto_square_off = 20.5\n";
    let s = load(Some(file), &[]).unwrap();
    assert_eq!(s.paper.order_timeout(), None, "0 = never");
    assert_eq!(s.paper.charges.intraday.auto_square_off, d("20.5"));
    let vars = [
        ("ALPHA_PANDA__PAPER__ORDER_TIMEOUT_SECS", "45"),
        (
            "ALPHA_PANDA__PAPER__CHARGES__INTRADAY__AUTO_SQUARE_OFF",
            "40",
        ),
    ];
    let s = load(None, &vars).unwrap();
    assert_eq!(s.paper.order_timeout_secs, 45);
    assert_eq!(s.paper.charges.intraday.auto_square_off, d("40"));

    let file = "[paper]\norder_timeout_secs = 86401\n\
                [paper.charges.intraday]\nauto_square_off = \"-1\"\n";
    let got = problems(load(Some(file), &[]));
    assert_eq!(
        got,
        [
            "paper.charges.intraday.auto_square_off: must be rupees per order between 0 and \
             100000, got -1",
            "paper.order_timeout_secs: must be seconds between 0 (never cancel) and 86400 \
             (a day), got 86401",
        ]
    );
}

#[test]
fn unknown_brokers_and_keys_are_named() {
    let file = "[brokers]\nenabled = [\"paper\", \"kite\"]\n\
                [risk.paper]\nmax_order_quantiy = 5\n\
                [risk.kite]\nmax_position = 1\n\
                [portfolio]\nstarting_csh = \"1\"\n";
    let got = problems(load(Some(file), &[]));
    assert_eq!(
        got,
        [
            "brokers.enabled[1]: expected one of paper, zerodha, got \"kite\"",
            "portfolio.starting_csh: unknown key; did you mean `starting_cash`?",
            "risk.kite: unknown key",
            "risk.paper.max_order_quantiy: unknown key; did you mean `max_order_quantity`?",
        ]
    );
}

#[test]
fn validate_reports_every_trading_problem_at_once() {
    let file = "[brokers]\nenabled = [\"paper\", \"paper\"]\n\
                [risk.zerodha]\nmax_open_orders = 0\nprice_band_pct = \"101\"\n\
                [paper]\nslippage_bps = \"-1\"\n\
                [paper.charges.delivery]\nstt_buy_rate = \"2\"\n\
                [portfolio]\nstarting_cash = \"0\"\nsnapshot_interval_ms = 0\n";
    let got = problems(load(Some(file), &[]));
    let keys: Vec<&str> = got.iter().map(|p| p.split(": ").next().unwrap()).collect();
    assert_eq!(
        keys,
        [
            "brokers.enabled[1]",
            "risk.zerodha.price_band_pct",
            "risk.zerodha.max_open_orders",
            "paper.slippage_bps",
            "paper.charges.delivery.stt_buy_rate",
            "portfolio.starting_cash",
            "portfolio.snapshot_interval_ms",
        ],
        "{got:#?}"
    );
    assert_eq!(
        got[0],
        "brokers.enabled[1]: \"paper\" is already listed at brokers.enabled[0]"
    );
    let got = problems(load(Some("[brokers]\nenabled = []\n"), &[]));
    assert!(
        got[0].starts_with("brokers.enabled: must not be empty"),
        "{got:?}"
    );
}

#[test]
fn effective_settings_reload_to_the_same_trading_sections() {
    let vars = [
        ("ALPHA_PANDA__BROKERS__ENABLED", "paper,zerodha"),
        ("ALPHA_PANDA__KITE__API_KEY", "key"),
        ("ALPHA_PANDA__KITE__ACCESS_TOKEN", "token"),
    ];
    let s = load(None, &vars).unwrap();
    let masked = s.to_masked_toml();
    let reloaded = load(Some(&masked), &[UNMASK_REDIS]).unwrap();
    assert_eq!(reloaded.brokers, s.brokers);
    assert_eq!(reloaded.strategies, s.strategies);
    assert_eq!(reloaded.risk, s.risk);
    assert_eq!(reloaded.paper, s.paper);
    assert_eq!(reloaded.portfolio, s.portfolio);
}

#[test]
fn production_example_sets_trading_sections() {
    let text = include_str!("../../config/examples/production.toml");
    let credentials = [
        ("ALPHA_PANDA__KITE__API_KEY", "key"),
        ("ALPHA_PANDA__KITE__ACCESS_TOKEN", "token"),
    ];
    let s = load(Some(text), &credentials).unwrap();
    assert_eq!(s.brokers.enabled, [Broker::Paper]);
    let m = &s.strategies["momentum_1"];
    assert_eq!(m.instruments, ["RELIANCE", "INFY", "ICICIBANK"]);
    assert_eq!(m.params.kind(), "momentum");
    assert!(!s.strategies["ema_cross_1"].enabled);
    assert_eq!(s.risk.paper.max_daily_trades, Some(200));
    assert_eq!(s.risk.zerodha.daily_loss_limit, Some(d("2000")));
    assert_eq!(s.paper.slippage_bps, d("0.5"));
    assert_eq!(s.paper.starting_cash, d("500000"));
}
