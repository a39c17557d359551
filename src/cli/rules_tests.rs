//! Rules at start on Kite's ticker: the underlying's price comes from Kite's quote API (the
//! project's fake Kite), so ATM follows the market, not the master's `last_price`.

use std::collections::HashMap;
use std::str::FromStr;

use rust_decimal::Decimal;

use super::rules::{live_prices, resolve_at, underlying_keys};
use crate::kite::fake::{FakeKite, FakeKiteConfig};
use crate::market::InstrumentRegistry;
use crate::settings::Settings;

/// Settings on Kite's ticker (never dialled here) and the fake's REST endpoint, with a
/// rule relative to ATM in the feed and one in a strategy.
fn settings(rest_url: &str) -> Settings {
    let config = FakeKiteConfig::default();
    let toml = format!(
        "[kite]\napi_key = \"{}\"\naccess_token = \"{}\"\nrest_url = \"{rest_url}\"\n\
         [feed]\nticker_url = \"ws://127.0.0.1:9\"\n\
         subscriptions = [\"NIFTY 50:ltp\", \"NIFTY:CE,PE:ATM:current_week:quote\"]\n\
         [strategies.momentum_1]\ninstruments = [\"BANKNIFTY:CE:ATM:current_month\"]\n",
        config.api_key, config.access_token
    );
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("settings.toml");
    std::fs::write(&path, toml).unwrap();
    Settings::load_from(Some(&path), &HashMap::new()).unwrap()
}

#[actix::test]
async fn atm_rules_on_kites_ticker_take_the_underlying_price_from_kites_quote() {
    let kite = FakeKite::start(FakeKiteConfig::default()).await.unwrap();
    let settings = settings(&kite.base_url());
    assert_eq!(
        underlying_keys(&settings),
        ["NSE:NIFTY 50", "NSE:NIFTY BANK"]
    );
    // Kite knows NIFTY 50's price; NIFTY BANK it does not answer (the master's applies).
    kite.set_last_price("NSE", "NIFTY 50", Decimal::from_str("26130.4").unwrap());
    let live = live_prices(&settings).await;
    assert_eq!(
        live.clone().into_iter().collect::<Vec<_>>(),
        [(
            "NSE:NIFTY 50".to_owned(),
            Decimal::from_str("26130.4").unwrap()
        )]
    );
    let registry = InstrumentRegistry::embedded_on(super::rules::today()).unwrap();
    let (resolved, rules) = resolve_at(&settings, &registry, super::rules::today(), &live).unwrap();
    // ATM at 26130.4 is 26150 (the master's 26000 would give 26000).
    let feed: Vec<&str> = resolved.feed.subscriptions[1..]
        .iter()
        .map(|s| s.symbol.as_str())
        .collect();
    assert_eq!(feed.len(), 2);
    assert!(feed.iter().all(|s| s.contains("26150")), "{feed:?}");
    assert_eq!(
        rules[0].price,
        Some((
            "NSE:NIFTY 50".to_owned(),
            Decimal::from_str("26130.4").unwrap()
        ))
    );
    // NIFTY BANK at the master's 59000.
    let strategy = &resolved.strategies["momentum_1"].instruments;
    assert!(strategy[0].ends_with("59000CE"), "{strategy:?}");
}

#[actix::test]
async fn on_the_simulator_no_quote_is_asked() {
    let kite = FakeKite::start(FakeKiteConfig::default()).await.unwrap();
    let mut settings = settings(&kite.base_url());
    settings.feed.ticker_url = crate::settings::SIMULATOR.to_owned();
    kite.set_last_price("NSE", "NIFTY 50", Decimal::from(27_000));
    assert!(live_prices(&settings).await.is_empty());
    assert!(kite.requests().is_empty(), "nothing reached Kite");
}
