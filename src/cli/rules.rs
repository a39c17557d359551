//! Subscription rules at start: `run`, `backtest` and `config check` resolve the rules of
//! the settings ([`Settings::resolve_rules`]) against the registry for the IST day, and
//! say what each rule became.
//!
//! The underlying's price (for ATM): `run` on Kite's ticker asks Kite's quote API for the
//! last price of each rule's underlying ([`live_prices`]), since Kite's master carries no
//! live price for an index; everything else, and any underlying the quote did not
//! answer, uses the price the master carries (`last_price`; the simulator starts its
//! walks there). A failed quote request is logged and falls back the same way; a rule
//! that then has no price is refused, naming its underlying.

use std::collections::BTreeMap;

use chrono::{NaiveDate, Utc};
use rust_decimal::Decimal;

use crate::kite::rest::KiteClient;
use crate::market::{ChainRule, Instrument, InstrumentRegistry, MarketCalendar};
use crate::settings::{ResolvedRule, Settings, SettingsError, master_price};

/// Today's IST trading date.
pub(super) fn today() -> NaiveDate {
    MarketCalendar::ist_date(Utc::now())
}

/// `settings` with its rules resolved for `day`.
///
/// # Errors
/// Every rule that does not parse or resolve, keyed by its setting.
pub(super) fn resolve(
    settings: &Settings,
    registry: &InstrumentRegistry,
    day: NaiveDate,
) -> Result<(Settings, Vec<ResolvedRule>), SettingsError> {
    resolve_at(settings, registry, day, &BTreeMap::new())
}

/// [`resolve`] with `live` prices (`EXCHANGE:SYMBOL` → price) before the master's.
///
/// # Errors
/// As [`resolve`].
pub(super) fn resolve_at(
    settings: &Settings,
    registry: &InstrumentRegistry,
    day: NaiveDate,
    live: &BTreeMap<String, Decimal>,
) -> Result<(Settings, Vec<ResolvedRule>), SettingsError> {
    let price_of = |i: &Instrument| live.get(&i.key()).copied().or_else(|| master_price(i));
    settings.resolve_rules(registry, day, &price_of)
}

/// The price instruments (`EXCHANGE:SYMBOL`) of every rule's underlying, sorted.
pub(super) fn underlying_keys(settings: &Settings) -> Vec<String> {
    let entries = settings
        .feed
        .subscriptions
        .iter()
        .map(|s| s.symbol.as_str())
        .chain(
            settings
                .strategies
                .values()
                .flat_map(|c| c.instruments.iter().map(String::as_str)),
        );
    let mut keys: Vec<String> = entries
        .filter(|text| ChainRule::looks_like_rule(text))
        .filter_map(|text| text.parse::<ChainRule>().ok())
        .map(|rule| settings.fno.underlying_key(&rule.underlying))
        .collect();
    keys.sort();
    keys.dedup();
    keys
}

/// The live prices of the rules' underlyings from Kite's quote API, when the feed is
/// Kite's ticker and credentials are set; empty otherwise, or when the request fails
/// (logged).
pub(super) async fn live_prices(settings: &Settings) -> BTreeMap<String, Decimal> {
    let keys = underlying_keys(settings);
    if settings.feed.uses_simulator() || keys.is_empty() {
        return BTreeMap::new();
    }
    let credentials = match settings.kite_credentials() {
        Ok(credentials) => credentials,
        Err(e) => {
            tracing::warn!(error = %e, "no Kite credentials: subscription rules use the master's prices");
            return BTreeMap::new();
        }
    };
    let answer = match KiteClient::new(settings.kite_client_config(credentials)) {
        Ok(client) => client.ltp(&keys).await,
        Err(e) => Err(e),
    };
    match answer {
        Ok(prices) => {
            for (key, price) in &prices {
                tracing::info!(underlying = %key, %price, "underlying price from Kite's quote for subscription rules");
            }
            prices
        }
        Err(e) => {
            tracing::warn!(error = %e, underlyings = %keys.join(","), "Kite's quote failed: subscription rules use the master's prices");
            BTreeMap::new()
        }
    }
}

/// One line per rule: `feed.subscriptions[5] NIFTY:CE,PE:ATM:current_week:quote (NSE:NIFTY
/// 50 at 26000) -> NFO:NIFTY26D0826000CE, NFO:NIFTY26D0826000PE`.
pub(super) fn describe(resolved: &[ResolvedRule]) -> Vec<String> {
    resolved
        .iter()
        .map(|r| {
            let price = r
                .price
                .as_ref()
                .map(|(key, price)| format!(" ({key} at {price})"))
                .unwrap_or_default();
            format!(
                "{} {}{price} -> {}",
                r.key,
                r.rule,
                if r.contracts.is_empty() {
                    "nothing".to_owned()
                } else {
                    r.contracts.join(", ")
                }
            )
        })
        .collect()
}

/// Logs what each rule became (the daemon's start-up record of what it subscribed).
pub(super) fn log(resolved: &[ResolvedRule]) {
    for line in describe(resolved) {
        tracing::info!(rule = %line, "subscription rule resolved");
    }
}
