//! Unit tests of [`Subscription`] (`"SYMBOL:mode"`), of choosing the instrument registry
//! from `[instruments]`, and of resolving `feed.subscriptions` against it.
//!
//! Like `tests.rs`, these never touch the process environment.

use std::collections::HashMap;

use super::*;
use crate::market::InstrumentRegistry;
use crate::messages::TickMode;

/// Loads the defaults with `vars` as the environment.
fn load(vars: &[(&str, &str)]) -> Settings {
    let env: HashMap<String, String> = vars
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    Settings::load_from(None, &env).unwrap()
}

fn sub(symbol: &str, mode: TickMode) -> Subscription {
    Subscription {
        symbol: symbol.to_owned(),
        mode,
    }
}

#[test]
fn subscriptions_parse_and_print_as_symbol_colon_mode() {
    #[rustfmt::skip]
    let cases = [
        ("RELIANCE:full", Some(("RELIANCE", TickMode::Full)), "RELIANCE:full"),
        ("NSE:RELIANCE:quote", Some(("NSE:RELIANCE", TickMode::Quote)), "NSE:RELIANCE:quote"),
        (" NIFTY 50 : LTP ", Some(("NIFTY 50", TickMode::Ltp)), "NIFTY 50:ltp"),
        ("M&M:Full", Some(("M&M", TickMode::Full)), "M&M:full"),
        ("INFY:deep", None, ""),
        ("INFY", None, ""),
        (":ltp", None, ""),
        ("INFY:", None, ""),
        ("", None, ""),
    ];
    for (text, expected, printed) in cases {
        let parsed = text.parse::<Subscription>();
        match expected {
            Some((symbol, mode)) => {
                let parsed = parsed.unwrap();
                assert_eq!(parsed, sub(symbol, mode), "{text:?}");
                assert_eq!(parsed.to_string(), printed, "{text:?}");
            }
            None => {
                let message = format!("expected SYMBOL:ltp|quote|full, got {text:?}");
                assert_eq!(parsed, Err(message));
            }
        }
    }
}

#[test]
fn instruments_path_chooses_the_registry() {
    let s = load(&[]);
    let registry = s.instruments.load_registry().unwrap();
    let cash = registry.iter().filter(|i| i.exchange == "NSE").count();
    assert_eq!(cash, 28, "the file's equities and indices");
    assert!(
        registry.iter().any(|i| i.kind.is_option()),
        "and the sample options"
    );
    assert_eq!(
        s.instruments.describe(),
        "config/instruments.csv (embedded)"
    );

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mine.csv");
    let csv = "instrument_token,exchange_token,tradingsymbol,name,last_price,expiry,strike,tick_size,lot_size,instrument_type,segment,exchange\n\
               408065,1594,INFY,INFOSYS,0,,0,0.05,1,EQ,NSE,NSE\n";
    std::fs::write(&path, csv).unwrap();
    let shown = path.display().to_string();
    let s = load(&[("ALPHA_PANDA__INSTRUMENTS__PATH", &shown)]);
    assert_eq!(s.instruments.path(), Some(path.as_path()));
    assert_eq!(s.instruments.describe(), shown);
    assert_eq!(s.instruments.load_registry().unwrap().len(), 1);
}

#[test]
fn default_subscriptions_resolve_against_the_embedded_registry() {
    let s = load(&[]);
    let registry = InstrumentRegistry::embedded().unwrap();
    let resolved = s.feed.resolve_subscriptions(&registry).unwrap();
    let tokens: Vec<(u32, TickMode)> = resolved.iter().map(|(i, m)| (i.token, *m)).collect();
    #[rustfmt::skip]
    let expected = [
        (738_561, TickMode::Full), (408_065, TickMode::Quote), (2_953_217, TickMode::Quote),
        (341_249, TickMode::Quote), (256_265, TickMode::Ltp),
    ];
    assert_eq!(tokens, expected);
    assert!(resolved[4].0.is_index());
}

#[test]
fn resolving_names_unknown_ambiguous_and_respelled_symbols() {
    let csv = "instrument_token,exchange_token,tradingsymbol,name,last_price,expiry,strike,tick_size,lot_size,instrument_type,segment,exchange\n\
               738561,2885,RELIANCE,RELIANCE INDUSTRIES,0,,0,0.05,1,EQ,NSE,NSE\n\
               500325,1954,RELIANCE,RELIANCE INDUSTRIES,0,,0,0.05,1,EQ,BSE,BSE\n\
               408065,1594,INFY,INFOSYS,0,,0,0.05,1,EQ,NSE,NSE\n";
    let registry = InstrumentRegistry::parse(csv, "test.csv").unwrap();
    let vars = [(
        "ALPHA_PANDA__FEED__SUBSCRIPTIONS",
        "RELIANCE:full,NSE:RELIANCE:full,NOPE:ltp,INFY:ltp,NSE:INFY:quote",
    )];
    let s = load(&vars);
    let err = s.feed.resolve_subscriptions(&registry).unwrap_err();
    let found: Vec<String> = err.problems.iter().map(ToString::to_string).collect();
    let expected = [
        "feed.subscriptions[0]: \"RELIANCE\" is listed on several exchanges; write \
         EXCHANGE:RELIANCE",
        "feed.subscriptions[2]: \"NOPE\" is not in the instrument registry",
        "feed.subscriptions[4]: \"NSE:INFY\" is NSE:INFY, already subscribed at \
         feed.subscriptions[3]",
    ];
    assert_eq!(found, expected);
}
