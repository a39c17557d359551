//! Unit tests of `[instruments]`, `[market_hours]`, `[feed]` and `[simulator]`: defaults,
//! list settings from file and environment, element errors by index, validation rules and
//! masking. Subscriptions and the registry: `subscription_tests.rs`.
//!
//! Like `tests.rs`, these never touch the process environment.

use std::time::Duration;

use chrono::NaiveDate;

use super::test_support::{load, problems};
use super::*;
use crate::messages::TickMode;

fn date(text: &str) -> NaiveDate {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
}

fn sub(symbol: &str, mode: TickMode) -> Subscription {
    Subscription {
        symbol: symbol.to_owned(),
        mode,
    }
}

/// Credentials, so that rules about a real ticker URL do not drown the case under test.
const CREDENTIALS: [(&str, &str); 2] = [
    ("ALPHA_PANDA__KITE__API_KEY", "kite-key-123"),
    ("ALPHA_PANDA__KITE__ACCESS_TOKEN", "kite-token-456"),
];

#[test]
fn defaults_of_the_market_sections() {
    let s = load(None, &[]).unwrap();
    assert_eq!(s.instruments.path(), None);
    assert!(!s.market_hours.enforce && s.market_hours.holidays.is_empty());
    let f = &s.feed;
    assert!(f.uses_simulator());
    let expected = [
        sub("RELIANCE", TickMode::Full),
        sub("INFY", TickMode::Quote),
        sub("TCS", TickMode::Quote),
        sub("HDFCBANK", TickMode::Quote),
        sub("NIFTY 50", TickMode::Ltp),
    ];
    assert_eq!(f.subscriptions, expected);
    assert_eq!(f.liveness(), Duration::from_secs(5));
    assert_eq!(f.reconnect_initial(), Duration::from_millis(500));
    assert_eq!(f.reconnect_max(), Duration::from_secs(60));
    assert_eq!((f.reconnect_multiplier, f.reconnect_jitter), (2.0, 0.2));
    assert_eq!(f.max_pending_ticks, 10_000);
    assert_eq!((s.simulator.ticks_per_sec, s.simulator.seed), (5, 42));

    let effective: toml::Table = toml::from_str(&s.to_masked_toml()).unwrap();
    #[rustfmt::skip]
    let literals = [
        ("market_hours.enforce", "false"),
        ("market_hours.holidays", "[]"),
        ("market_hours.intraday", "true"),
        ("market_hours.entry_cutoff", "\"15:00\""),
        ("market_hours.square_off_at", "\"15:15\""),
        ("market_hours.broker_square_off_at", "\"15:20\""),
        ("feed.ticker_url", "\"simulator\""),
        ("feed.subscriptions", r#"["RELIANCE:full", "INFY:quote", "TCS:quote", "HDFCBANK:quote", "NIFTY 50:ltp"]"#),
        ("feed.liveness_secs", "5"),
        ("feed.stale_after_secs", "60"),
        ("feed.reconnect_initial_ms", "500"),
        ("feed.reconnect_max_ms", "60000"),
        ("feed.reconnect_multiplier", "2.0"),
        ("feed.reconnect_jitter", "0.2"),
        ("feed.max_pending_ticks", "10000"),
        ("simulator.ticks_per_sec", "5"),
        ("simulator.seed", "42"),
        ("simulator.volatility", "\"0.15\""),
        ("simulator.risk_free_rate", "\"0.065\""),
        ("simulator.futures_basis", "\"0.07\""),
    ];
    for (key, literal) in literals {
        let (table, leaf) = key.split_once('.').unwrap();
        assert_eq!(effective[table][leaf].to_string(), literal, "{key}");
    }
    // `[instruments]` is checked in `settings::instruments`.
    let count: usize = ["market_hours", "feed", "simulator"]
        .iter()
        .map(|section| effective[*section].as_table().unwrap().len())
        .sum();
    assert_eq!(count, literals.len(), "every setting is checked above");
}

#[test]
fn lists_from_a_file() {
    let file = r#"
[market_hours]
enforce = true
holidays = ["2026-01-26", 2026-03-03, "2026-01-26"]
[feed]
subscriptions = ["NSE:RELIANCE:full", " NIFTY BANK : LTP "]
"#;
    let s = load(Some(file), &[]).unwrap();
    let holidays = [date("2026-01-26"), date("2026-03-03"), date("2026-01-26")];
    assert_eq!(
        s.market_hours.holidays, holidays,
        "a bare TOML date works too"
    );
    let calendar = s.market_hours.calendar();
    assert!(!calendar.is_trading_day(date("2026-03-03")));
    assert!(calendar.is_trading_day(date("2026-03-04")));
    let expected = [
        sub("NSE:RELIANCE", TickMode::Full),
        sub("NIFTY BANK", TickMode::Ltp),
    ];
    assert_eq!(s.feed.subscriptions, expected);
}

#[test]
fn lists_from_the_environment_are_comma_separated() {
    let vars = [
        (
            "ALPHA_PANDA__FEED__SUBSCRIPTIONS",
            "RELIANCE:full, INFY:ltp",
        ),
        (
            "ALPHA_PANDA__MARKET_HOURS__HOLIDAYS",
            "2026-01-26,2026-03-03",
        ),
    ];
    let file = "[feed]\nsubscriptions = [\"TCS:quote\"]\n";
    let s = load(Some(file), &vars).unwrap();
    let expected = [sub("RELIANCE", TickMode::Full), sub("INFY", TickMode::Ltp)];
    assert_eq!(s.feed.subscriptions, expected, "the environment wins");
    let holidays = [date("2026-01-26"), date("2026-03-03")];
    assert_eq!(s.market_hours.holidays, holidays);

    let one = load(None, &[("ALPHA_PANDA__FEED__SUBSCRIPTIONS", "TCS:full")]).unwrap();
    assert_eq!(one.feed.subscriptions, [sub("TCS", TickMode::Full)]);
    let none = load(None, &[("ALPHA_PANDA__MARKET_HOURS__HOLIDAYS", "")]).unwrap();
    assert!(
        none.market_hours.holidays.is_empty(),
        "\"\" is the empty list"
    );
}

#[test]
fn bad_list_elements_are_named_by_index() {
    let file = |table: &str, line: &str| format!("[{table}]\n{line}\n");
    #[rustfmt::skip]
    let cases = [
        (file("market_hours", r#"holidays = ["2026-01-26", "2026-03-03", "2026-13-01"]"#), vec![],
         r#"market_hours.holidays[2]: expected a date YYYY-MM-DD, got "2026-13-01""#),
        (file("market_hours", r#"holidays = ["2026-02-30"]"#), vec![],
         r#"market_hours.holidays[0]: expected a date YYYY-MM-DD, got "2026-02-30""#),
        (file("market_hours", r#"holidays = ["2026-1-5"]"#), vec![],
         r#"market_hours.holidays[0]: expected a date YYYY-MM-DD, got "2026-1-5""#),
        (String::new(), vec![("ALPHA_PANDA__MARKET_HOURS__HOLIDAYS", "2026-01-26,26-01-2026")],
         r#"market_hours.holidays[1]: expected a date YYYY-MM-DD, got "26-01-2026""#),
        (file("market_hours", "holidays = 5"), vec![],
         "market_hours.holidays: expected an array, got 5"),
        (file("feed", r#"subscriptions = ["RELIANCE:full", "INFY:deep"]"#), vec![],
         r#"feed.subscriptions[1]: expected SYMBOL:ltp|quote|full, got "INFY:deep""#),
        (file("feed", r#"subscriptions = ["RELIANCE"]"#), vec![],
         r#"feed.subscriptions[0]: expected SYMBOL:ltp|quote|full, got "RELIANCE""#),
        (file("feed", r#"subscriptions = [":full"]"#), vec![],
         r#"feed.subscriptions[0]: expected SYMBOL:ltp|quote|full, got ":full""#),
        (String::new(), vec![("ALPHA_PANDA__FEED__SUBSCRIPTIONS", "RELIANCE:full,")],
         r#"feed.subscriptions[1]: expected SYMBOL:ltp|quote|full, got """#),
        (file("feed", r#"subscriptions = ["TCS:full", 1]"#), vec![],
         "feed.subscriptions[1]: expected a string, got 1"),
        (file("feed", r#"subscriptions = "RELIANCE:full""#), vec![],
         r#"feed.subscriptions: expected an array, got "RELIANCE:full""#),
        (file("feed", "subscriptions = [[\"a:ltp\"]]"), vec![],
         "feed.subscriptions[0]: expected a string, got an array"),
    ];
    for (text, vars, expected) in cases {
        let text = (!text.is_empty()).then_some(text.as_str());
        assert_eq!(problems(load(text, &vars)), [expected], "{text:?} {vars:?}");
    }
}

/// The variable that sets the dotted `key`.
fn var(key: &str) -> String {
    format!("ALPHA_PANDA__{}", key.replace('.', "__").to_uppercase())
}

#[test]
fn validate_catches_each_rule() {
    #[rustfmt::skip]
    let cases = [
        ("instruments.path", "  ", "must be \"\" (the embedded registry) or a file path"),
        ("feed.ticker_url", "http://kite", "must be \"simulator\" or a ws:// or wss:// URL (production: wss://ws.kite.trade), got \"http://kite\""),
        ("feed.ticker_url", "", "got \"\""),
        ("feed.ticker_url", "Simulator", "got \"Simulator\""),
        ("feed.subscriptions", "", "must not be empty"),
        ("feed.liveness_secs", "0", "must be between 1 and 300, got 0"),
        ("feed.liveness_secs", "301", "must be between 1 and 300, got 301"),
        ("feed.reconnect_initial_ms", "0", "must be between 1 and 60000, got 0"),
        ("feed.reconnect_max_ms", "499", "must be at least feed.reconnect_initial_ms (500), got 499"),
        ("feed.reconnect_multiplier", "0.5", "must be a finite number of at least 1.0, got 0.5"),
        ("feed.reconnect_multiplier", "inf", "got inf"),
        ("feed.reconnect_multiplier", "NaN", "got NaN"),
        ("feed.reconnect_jitter", "-0.1", "must be between 0.0 and 1.0, got -0.1"),
        ("feed.reconnect_jitter", "1.5", "got 1.5"),
        ("feed.reconnect_jitter", "NaN", "got NaN"),
        ("feed.max_pending_ticks", "0", "must be between 1 and 1000000 (ticks held in memory while Kafka is slow), got 0"),
        ("simulator.ticks_per_sec", "0", "must be between 1 and 10000, got 0"),
        ("simulator.ticks_per_sec", "10001", "got 10001"),
    ];
    for (key, value, fragment) in cases {
        let name = var(key);
        let vars = [CREDENTIALS[0], CREDENTIALS[1], (name.as_str(), value)];
        let err = load(None, &vars).unwrap_err();
        assert_eq!(err.problems.len(), 1, "{key} = {value:?}: {err}");
        let p = &err.problems[0];
        assert!(
            p.key == key && p.message.contains(fragment),
            "{key} = {value:?}: {p}"
        );
    }
}

#[test]
fn a_symbol_subscribed_twice_names_both_places() {
    let vars = [(
        "ALPHA_PANDA__FEED__SUBSCRIPTIONS",
        "RELIANCE:full,INFY:ltp,RELIANCE:ltp,INFY:quote",
    )];
    let expected = [
        "feed.subscriptions[2]: \"RELIANCE\" is already subscribed at feed.subscriptions[0]; \
         subscribe each symbol once, in one mode",
        "feed.subscriptions[3]: \"INFY\" is already subscribed at feed.subscriptions[1]; \
         subscribe each symbol once, in one mode",
    ];
    assert_eq!(problems(load(None, &vars)), expected);
}

#[test]
fn validate_accepts_edge_values() {
    #[rustfmt::skip]
    let cases = [
        ("feed.ticker_url", "wss://ws.kite.trade"),
        ("feed.ticker_url", "ws://127.0.0.1:9000"),
        ("feed.liveness_secs", "1"),
        ("feed.liveness_secs", "300"),
        ("feed.reconnect_initial_ms", "1"),
        ("feed.reconnect_max_ms", "500"),
        ("feed.reconnect_multiplier", "1"),
        ("feed.reconnect_jitter", "0"),
        ("feed.reconnect_jitter", "1"),
        ("feed.max_pending_ticks", "1"),
        ("simulator.ticks_per_sec", "1"),
        ("simulator.ticks_per_sec", "10000"),
        ("simulator.seed", "18446744073709551615"),
        ("market_hours.holidays", "2026-01-26,2026-01-26"),
        ("instruments.path", "/nonexistent/checked-at-start-up.csv"),
    ];
    for (key, value) in cases {
        let name = var(key);
        let vars = [CREDENTIALS[0], CREDENTIALS[1], (name.as_str(), value)];
        let loaded = load(None, &vars);
        assert!(loaded.is_ok(), "{key} = {value:?}: {loaded:?}");
    }
}

#[test]
fn a_real_ticker_needs_both_credentials_and_says_how_to_set_them() {
    let url = [("ALPHA_PANDA__FEED__TICKER_URL", "wss://ws.kite.trade")];
    let err = load(None, &url).unwrap_err();
    let keys: Vec<&str> = err.problems.iter().map(|p| p.key.as_str()).collect();
    assert_eq!(keys, ["kite.api_key", "kite.access_token"]);
    for (p, var) in err.problems.iter().zip(["API_KEY", "ACCESS_TOKEN"]) {
        let hint = format!("set the environment variable ALPHA_PANDA__KITE__{var}");
        assert!(
            p.message.starts_with("is missing") && p.message.contains(&hint),
            "{p}"
        );
    }
    let vars = [
        url[0],
        CREDENTIALS[0],
        ("ALPHA_PANDA__KITE__ACCESS_TOKEN", " "),
    ];
    let found = problems(load(None, &vars));
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(
        found[0].starts_with("kite.access_token: is missing"),
        "{found:?}"
    );

    let vars = [url[0], CREDENTIALS[0], CREDENTIALS[1]];
    let s = load(None, &vars).unwrap();
    assert!(!s.feed.uses_simulator());
    let credentials = s.kite_credentials().unwrap();
    assert_eq!(credentials.api_key.expose(), "kite-key-123");
    assert_eq!(credentials.access_token.expose(), "kite-token-456");
}

#[test]
fn ticker_url_is_shown_without_its_query() {
    let vars = [
        (
            "ALPHA_PANDA__FEED__TICKER_URL",
            "https://ws.kite.trade?access_token=leaked",
        ),
        CREDENTIALS[0],
        CREDENTIALS[1],
    ];
    let found = problems(load(None, &vars));
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(
        found[0].ends_with("got \"https://ws.kite.trade\""),
        "{found:?}"
    );
    let vars = [(
        "ALPHA_PANDA__FEED__TICKER_URL",
        "wss://ws.kite.trade?api_key=leaked",
    )];
    let found = problems(load(None, &vars)).join("\n");
    assert!(!found.contains("leaked"), "{found}");
    assert!(
        found.contains("(feed.ticker_url = \"wss://ws.kite.trade\")"),
        "{found}"
    );
}

#[test]
fn masked_toml_hides_the_kite_credentials_and_reloads() {
    let file = r#"
[market_hours]
holidays = ["2026-01-26"]
[feed]
ticker_url = "wss://ws.kite.trade"
subscriptions = ["NSE:RELIANCE:full", "NIFTY 50:ltp"]
"#;
    let s = load(Some(file), &CREDENTIALS).unwrap();
    let out = s.to_masked_toml();
    for secret in ["kite-key-123", "kite-token-456"] {
        assert!(!out.contains(secret), "{secret} leaked:\n{out}");
    }
    let debug = format!("{s:?}");
    assert!(!debug.contains("kite-key-123") && !debug.contains("kite-token-456"));
    // The masked redis.url ("***") is not a valid URL: reload it as the default.
    let again = load(Some(&out), &[("ALPHA_PANDA__REDIS__URL", "memory")]).unwrap();
    assert_eq!(again.feed.subscriptions, s.feed.subscriptions);
    assert_eq!(again.market_hours.holidays, [date("2026-01-26")]);
    assert_eq!(again.kite.api_key.expose(), "***");
}

#[test]
fn production_example_needs_the_kite_credentials() {
    let text = include_str!("../../config/examples/production.toml");
    let err = load(Some(text), &[]).unwrap_err();
    let keys: Vec<&str> = err.problems.iter().map(|p| p.key.as_str()).collect();
    assert_eq!(keys, ["kite.api_key", "kite.access_token"]);
    let s = load(Some(text), &CREDENTIALS).unwrap();
    assert!(s.market_hours.enforce && !s.feed.uses_simulator());
    assert_eq!(s.feed.ticker_url, "wss://ws.kite.trade");
}

#[test]
fn intraday_times_are_hh_mm_in_order_before_the_close() {
    let file = |line: &str| format!("[market_hours]\n{line}\n");
    #[rustfmt::skip]
    let cases = [
        (file(r#"entry_cutoff = "3pm""#),
         r#"market_hours.entry_cutoff: expected a time HH:MM (IST), got "3pm""#),
        (file(r#"entry_cutoff = "15:16""#),
         "market_hours.entry_cutoff: must lie between the open (09:15) and market_hours.square_off_at (15:15), got 15:16"),
        (file(r#"square_off_at = "15:25""#),
         "market_hours.square_off_at: must lie between the open (09:15) and market_hours.broker_square_off_at (15:20): the engine squares off before the broker does, got 15:25"),
        (file("broker_square_off_at = \"15:30\"\nsquare_off_at = \"15:15\""),
         "market_hours.broker_square_off_at: must be before the close (15:30), got 15:30"),
    ];
    for (text, expected) in cases {
        assert_eq!(problems(load(Some(&text), &[])), [expected], "{text:?}");
    }
    let late = load(
        Some("[market_hours]\nentry_cutoff = \"14:30\"\nsquare_off_at = \"15:10\""),
        &[],
    )
    .unwrap();
    let day = late.market_hours.intraday_day().unwrap();
    assert_eq!(day.entry_cutoff.to_string(), "14:30:00");
    let off = load(Some("[market_hours]\nintraday = false"), &[]).unwrap();
    assert!(off.market_hours.intraday_day().is_none());
}
