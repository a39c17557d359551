//! The market-data sections of [`Settings`](super::Settings): `[market_hours]`, `[feed]`
//! and `[simulator]` (`[instruments]` is in [`instruments`](super::instruments)).
//!
//! List settings are TOML arrays of strings; their elements are parsed here
//! (`"2026-01-26"` into a date, `"RELIANCE:full"` into a [`Subscription`]) so a bad
//! element is reported by index, `feed.subscriptions[1]: expected SYMBOL:ltp|quote|full,
//! got "INFY:deep"`, and each serialises back to the string it was read from.
//! Invariants: the Kite credentials of a real ticker are in `[kite]`
//! ([`KiteSettings`](super::KiteSettings)), which also checks that they are set;
//! subscription symbols are checked against the instrument registry at start-up
//! ([`FeedSettings::resolve_subscriptions`]), not while loading, since the registry may
//! come from a file named in the same settings.

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use chrono::{NaiveDate, NaiveTime};
use rust_decimal::Decimal;
use serde::de::{self, Deserializer};
use serde::{Deserialize, Serialize, Serializer};

use super::error::{Problem, SettingsError};
use crate::market::{Instrument, InstrumentRegistry, MarketCalendar, intraday::IntradayDay};
use crate::messages::TickMode;

/// `feed.ticker_url` value that starts the built-in Kite simulator.
pub const SIMULATOR: &str = "simulator";

/// `[market_hours]`: whether trading follows the NSE/BSE calendar, and its holidays.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct MarketHoursSettings {
    /// Act only during market hours (the simulator ignores them, so default off).
    pub enforce: bool,
    /// IST dates the exchange is closed, written `YYYY-MM-DD`.
    #[serde(deserialize_with = "dates", serialize_with = "iso_dates")]
    pub holidays: Vec<NaiveDate>,
    /// Run the intraday (MIS) day: entry cutoff, square-off, the broker's square-off.
    pub intraday: bool,
    /// IST time from which signals that open or grow an MIS position are refused.
    #[serde(deserialize_with = "time_of_day", serialize_with = "hh_mm")]
    pub entry_cutoff: NaiveTime,
    /// IST time from which open MIS positions are flattened with orders.
    #[serde(deserialize_with = "time_of_day", serialize_with = "hh_mm")]
    pub square_off_at: NaiveTime,
    /// IST time of the broker's own MIS square-off (the paper venue models it).
    #[serde(deserialize_with = "time_of_day", serialize_with = "hh_mm")]
    pub broker_square_off_at: NaiveTime,
}

impl MarketHoursSettings {
    /// The calendar: weekends and [`holidays`](Self::holidays) closed.
    pub fn calendar(&self) -> MarketCalendar {
        MarketCalendar::new(self.holidays.iter().copied())
    }

    /// The intraday day, or `None` with `intraday = false`.
    pub fn intraday_day(&self) -> Option<IntradayDay> {
        self.intraday.then(|| {
            IntradayDay::new(
                self.entry_cutoff,
                self.square_off_at,
                self.broker_square_off_at,
                self.calendar(),
            )
        })
    }
}

/// `[feed]`: the Kite ticker connection and the subscriptions.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct FeedSettings {
    /// `"simulator"` or a `ws://` / `wss://` base URL (production `wss://ws.kite.trade`).
    pub ticker_url: String,
    /// What to subscribe, each `SYMBOL:mode`.
    pub subscriptions: Vec<Subscription>,
    /// Seconds without any frame before the connection counts as dead.
    pub liveness_secs: u64,
    /// Seconds without a tick, while the market is open, before readiness names the
    /// feed stale.
    pub stale_after_secs: u64,
    /// First reconnect delay, milliseconds.
    pub reconnect_initial_ms: u64,
    /// Cap on any reconnect delay, milliseconds.
    pub reconnect_max_ms: u64,
    /// Multiplier between consecutive reconnect delays.
    pub reconnect_multiplier: f64,
    /// Random spread of each reconnect delay, as a fraction of it (0..=1).
    pub reconnect_jitter: f64,
    /// Ticks waiting to be published before per-instrument conflation starts.
    pub max_pending_ticks: usize,
}

impl FeedSettings {
    /// True if the built-in simulator stands in for Kite (`ticker_url = "simulator"`).
    pub fn uses_simulator(&self) -> bool {
        self.ticker_url == SIMULATOR
    }

    /// How long the connection may be silent before it is replaced.
    pub fn liveness(&self) -> Duration {
        Duration::from_secs(self.liveness_secs)
    }

    /// See [`Self::stale_after_secs`].
    pub fn stale_after(&self) -> Duration {
        Duration::from_secs(self.stale_after_secs)
    }

    /// First reconnect delay.
    pub fn reconnect_initial(&self) -> Duration {
        Duration::from_millis(self.reconnect_initial_ms)
    }

    /// Cap on any reconnect delay.
    pub fn reconnect_max(&self) -> Duration {
        Duration::from_millis(self.reconnect_max_ms)
    }

    /// Each subscription's instrument in `registry`, with its mode, in order.
    ///
    /// # Errors
    ///
    /// A [`SettingsError`] with one problem per subscription whose symbol is unknown,
    /// ambiguous (listed on several exchanges; qualify it as `NSE:SYMBOL`) or names an
    /// instrument subscribed before under another spelling, keyed `feed.subscriptions[i]`.
    pub fn resolve_subscriptions(
        &self,
        registry: &InstrumentRegistry,
    ) -> Result<Vec<(Instrument, TickMode)>, SettingsError> {
        let mut found = Vec::with_capacity(self.subscriptions.len());
        let mut first_at = HashMap::new(); // token -> index of its first subscription
        let mut problems = Vec::new();
        for (index, subscription) in self.subscriptions.iter().enumerate() {
            let symbol = subscription.symbol.as_str();
            match registry.by_symbol(symbol) {
                Some(instrument) => {
                    let first = *first_at.entry(instrument.token).or_insert(index);
                    if first == index {
                        found.push((instrument.clone(), subscription.mode));
                    } else {
                        let message = format!(
                            "{symbol:?} is {}, already subscribed at feed.subscriptions[{first}]",
                            instrument.key()
                        );
                        problems.push(Problem::new(
                            format!("feed.subscriptions[{index}]"),
                            message,
                        ));
                    }
                }
                None => {
                    let message = if registry.is_ambiguous(symbol) {
                        format!(
                            "{symbol:?} is listed on several exchanges; write EXCHANGE:{symbol}"
                        )
                    } else {
                        format!("{symbol:?} is not in the instrument registry")
                    };
                    problems.push(Problem::new(
                        format!("feed.subscriptions[{index}]"),
                        message,
                    ));
                }
            }
        }
        if problems.is_empty() {
            Ok(found)
        } else {
            Err(SettingsError::new(problems))
        }
    }
}

/// One subscription, written `"SYMBOL:mode"` (mode `ltp`, `quote` or `full`). The symbol
/// is everything before the last `:`, so `"NSE:RELIANCE:full"` is `NSE:RELIANCE` in full
/// mode.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Subscription {
    /// A registry symbol, bare (`RELIANCE`, `NIFTY 50`) or qualified (`NSE:RELIANCE`).
    pub symbol: String,
    /// The Kite streaming mode.
    pub mode: TickMode,
}

/// What [`Subscription`] parsing expects, as shown in errors.
const SUBSCRIPTION_SHAPE: &str = "SYMBOL:ltp|quote|full";

impl FromStr for Subscription {
    type Err = String;

    /// Parses `"SYMBOL:mode"`; the mode is case-insensitive, spaces around either part
    /// are trimmed.
    ///
    /// # Errors
    ///
    /// `expected SYMBOL:ltp|quote|full, got "…"` for a missing `:`, an empty symbol or an
    /// unknown mode.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let parsed = text.rsplit_once(':').and_then(|(symbol, mode)| {
            let symbol = symbol.trim();
            let mode = match mode.trim().to_ascii_lowercase().as_str() {
                "ltp" => TickMode::Ltp,
                "quote" => TickMode::Quote,
                "full" => TickMode::Full,
                _ => return None,
            };
            (!symbol.is_empty()).then(|| Self {
                symbol: symbol.to_owned(),
                mode,
            })
        });
        parsed.ok_or_else(|| format!("expected {SUBSCRIPTION_SHAPE}, got {text:?}"))
    }
}

impl fmt::Display for Subscription {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mode = match self.mode {
            TickMode::Ltp => "ltp",
            TickMode::Quote => "quote",
            TickMode::Full => "full",
        };
        write!(f, "{}:{mode}", self.symbol)
    }
}

impl<'de> Deserialize<'de> for Subscription {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse()
            .map_err(|_| de::Error::invalid_value(de::Unexpected::Str(&text), &SUBSCRIPTION_SHAPE))
    }
}

impl Serialize for Subscription {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// `[simulator]`: the built-in Kite simulator.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SimulatorSettings {
    /// Ticks a second, per subscribed instrument.
    pub ticks_per_sec: u32,
    /// Random seed: the same seed gives the same prices.
    pub seed: u64,
    /// Annual volatility of the simulated options (Black-76), e.g. `0.15` for 15 %.
    pub volatility: Decimal,
    /// Annual risk-free rate discounting the simulated options, e.g. `0.065`.
    pub risk_free_rate: Decimal,
    /// Annual carry of a simulated future over its underlying, e.g. `0.07`:
    /// `future = underlying × (1 + futures_basis × years to expiry)`.
    pub futures_basis: Decimal,
}

/// A date written `YYYY-MM-DD`; the error names the shape so the loader can report it.
struct IsoDate(NaiveDate);

impl<'de> Deserialize<'de> for IsoDate {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        let trimmed = text.trim();
        let parsed = (trimmed.len() == 10)
            .then(|| NaiveDate::parse_from_str(trimmed, "%Y-%m-%d").ok())
            .flatten();
        parsed.map(IsoDate).ok_or_else(|| {
            de::Error::invalid_value(de::Unexpected::Str(&text), &"a date YYYY-MM-DD")
        })
    }
}

/// A time of day written `HH:MM` (24-hour).
fn time_of_day<'de, D: Deserializer<'de>>(deserializer: D) -> Result<NaiveTime, D::Error> {
    let text = String::deserialize(deserializer)?;
    let trimmed = text.trim();
    (trimmed.len() == 5)
        .then(|| NaiveTime::parse_from_str(trimmed, "%H:%M").ok())
        .flatten()
        .ok_or_else(|| de::Error::invalid_value(de::Unexpected::Str(&text), &"a time HH:MM (IST)"))
}

fn hh_mm<S: Serializer>(time: &NaiveTime, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&time.format("%H:%M").to_string())
}

fn dates<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<NaiveDate>, D::Error> {
    let dates = Vec::<IsoDate>::deserialize(deserializer)?;
    Ok(dates.into_iter().map(|IsoDate(date)| date).collect())
}

fn iso_dates<S: Serializer>(dates: &[NaiveDate], serializer: S) -> Result<S::Ok, S::Error> {
    serializer.collect_seq(dates.iter().map(|d| d.format("%Y-%m-%d").to_string()))
}

/// Longest reconnect delay of the feed, milliseconds (10 minutes).
const MAX_RECONNECT_MS: u64 = 600_000;

/// Most ticks the feed holds while Kafka is slow (bounds memory).
const MAX_PENDING_TICKS: usize = 1_000_000;

/// Every broken rule of the market-data sections, keyed by setting, in a stable order.
pub(super) fn problems(
    market_hours: &MarketHoursSettings,
    feed: &FeedSettings,
    simulator: &SimulatorSettings,
) -> Vec<Problem> {
    let mut out = Vec::new();
    let mut push = |key: &str, message: String| out.push(Problem::new(key, message));

    let h = market_hours;
    let show = |t: NaiveTime| t.format("%H:%M").to_string();
    let open = crate::market::hours::NORMAL_START;
    let close = crate::market::hours::NORMAL_END;
    if h.entry_cutoff < open || h.entry_cutoff > h.square_off_at {
        let message = format!(
            "must lie between the open ({}) and market_hours.square_off_at ({}), got {}",
            show(open),
            show(h.square_off_at),
            show(h.entry_cutoff)
        );
        push("market_hours.entry_cutoff", message);
    }
    if h.square_off_at < open || h.square_off_at > h.broker_square_off_at {
        let message = format!(
            "must lie between the open ({}) and market_hours.broker_square_off_at ({}): the \
             engine squares off before the broker does, got {}",
            show(open),
            show(h.broker_square_off_at),
            show(h.square_off_at)
        );
        push("market_hours.square_off_at", message);
    }
    if h.broker_square_off_at >= close {
        let message = format!(
            "must be before the close ({}), got {}",
            show(close),
            show(h.broker_square_off_at)
        );
        push("market_hours.broker_square_off_at", message);
    }

    let url = feed.ticker_url.as_str();
    // Only the part before any query is shown: the query might carry a token.
    let shown = url.split('?').next().unwrap_or_default();
    let is_websocket = url.starts_with("ws://") || url.starts_with("wss://");
    if !(feed.uses_simulator() || is_websocket) {
        let message = format!(
            "must be \"{SIMULATOR}\" or a ws:// or wss:// URL (production: \
             wss://ws.kite.trade), got {shown:?}"
        );
        push("feed.ticker_url", message);
    }
    if feed.subscriptions.is_empty() {
        let message = format!("must not be empty; e.g. [\"RELIANCE:full\"] ({SUBSCRIPTION_SHAPE})");
        push("feed.subscriptions", message);
    }
    let mut first_at = HashMap::new();
    for (index, subscription) in feed.subscriptions.iter().enumerate() {
        let first = *first_at
            .entry(subscription.symbol.as_str())
            .or_insert(index);
        if first != index {
            let message = format!(
                "{:?} is already subscribed at feed.subscriptions[{first}]; subscribe each \
                 symbol once, in one mode",
                subscription.symbol
            );
            push(&format!("feed.subscriptions[{index}]"), message);
        }
    }
    if !(1..=300).contains(&feed.liveness_secs) {
        let got = feed.liveness_secs;
        push(
            "feed.liveness_secs",
            format!("must be between 1 and 300, got {got}"),
        );
    }
    if !(5..=3_600).contains(&feed.stale_after_secs) {
        let got = feed.stale_after_secs;
        push(
            "feed.stale_after_secs",
            format!("must be between 5 and 3600, got {got}"),
        );
    }
    if !(1..=60_000).contains(&feed.reconnect_initial_ms) {
        let got = feed.reconnect_initial_ms;
        push(
            "feed.reconnect_initial_ms",
            format!("must be between 1 and 60000, got {got}"),
        );
    }
    if feed.reconnect_max_ms < feed.reconnect_initial_ms {
        let message = format!(
            "must be at least feed.reconnect_initial_ms ({}), got {}",
            feed.reconnect_initial_ms, feed.reconnect_max_ms
        );
        push("feed.reconnect_max_ms", message);
    } else if feed.reconnect_max_ms > MAX_RECONNECT_MS {
        // Longer than this, an outage that has ended goes unnoticed for too long.
        let message = format!(
            "must be at most {MAX_RECONNECT_MS}, got {}",
            feed.reconnect_max_ms
        );
        push("feed.reconnect_max_ms", message);
    }
    let multiplier = feed.reconnect_multiplier;
    if !(multiplier.is_finite() && multiplier >= 1.0) {
        let message = format!("must be a finite number of at least 1.0, got {multiplier:?}");
        push("feed.reconnect_multiplier", message);
    }
    if !(0.0..=1.0).contains(&feed.reconnect_jitter) {
        let message = format!(
            "must be between 0.0 and 1.0, got {:?}",
            feed.reconnect_jitter
        );
        push("feed.reconnect_jitter", message);
    }
    if !(1..=MAX_PENDING_TICKS).contains(&feed.max_pending_ticks) {
        let message = format!(
            "must be between 1 and {MAX_PENDING_TICKS} (ticks held in memory while Kafka is \
             slow), got {}",
            feed.max_pending_ticks
        );
        push("feed.max_pending_ticks", message);
    }
    if !(1..=10_000).contains(&simulator.ticks_per_sec) {
        let got = simulator.ticks_per_sec;
        push(
            "simulator.ticks_per_sec",
            format!("must be between 1 and 10000, got {got}"),
        );
    }
    simulator_rates(simulator, &mut push);
    out
}

/// The derivative model's rates: each within what a market has ever shown, so a typo
/// (`15` for 15 %) is caught instead of pricing every option at nonsense.
fn simulator_rates(simulator: &SimulatorSettings, push: &mut impl FnMut(&str, String)) {
    let rates = [
        (
            "simulator.volatility",
            simulator.volatility,
            (Decimal::new(1, 3), Decimal::new(5, 0)),
            "an annual volatility as a fraction (0.15 is 15 %)",
        ),
        (
            "simulator.risk_free_rate",
            simulator.risk_free_rate,
            (Decimal::ZERO, Decimal::new(5, 1)),
            "an annual rate as a fraction (0.065 is 6.5 %)",
        ),
        (
            "simulator.futures_basis",
            simulator.futures_basis,
            (Decimal::new(-5, 1), Decimal::new(5, 1)),
            "an annual carry as a fraction (0.07 is 7 %; negative for a discount)",
        ),
    ];
    for (key, value, (low, high), what) in rates {
        if value < low || value > high {
            push(
                key,
                format!("must be between {low} and {high}, {what}; got {value}"),
            );
        }
    }
}
