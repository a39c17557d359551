//! Subscription rules at start: `run`, `backtest` and `config check` resolve the rules of
//! the settings ([`Settings::resolve_rules`]) against the registry for the IST day, with
//! the underlying prices the master carries, and say what each rule became.

use chrono::{NaiveDate, Utc};

use crate::market::{InstrumentRegistry, MarketCalendar};
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
    settings.resolve_rules(registry, day, &master_price)
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
