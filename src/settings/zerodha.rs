//! `[zerodha]`: how live orders are placed on Kite and followed up.
//!
//! The credentials are in `[kite]` ([`KiteSettings`](super::KiteSettings)); this section
//! is behaviour: a dry-run switch, the default product and variety of orders (a strategy
//! may set its own, see [`Settings::order_kind`]), how often in-flight orders are polled,
//! how long an order of unknown outcome may stay unseen, and the client-side rate limits.
//!
//! Invariants: product and variety names are Kite's (`MIS`, `regular`), read
//! case-insensitively and written back in Kite's spelling; a bad name is reported as
//! `expected a product: CNC, NRML, MIS, MTF, got "X"`.

use std::time::Duration;

use serde::de::{self, Deserializer};
use serde::{Deserialize, Serialize};

use super::Settings;
use super::error::Problem;
use crate::kite::orders::{Product, Variety};

/// `[zerodha]`: live execution behaviour on Kite.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ZerodhaSettings {
    /// Log the exact request that would be sent, and send nothing.
    pub dry_run: bool,
    /// Product of orders whose strategy does not set one.
    #[serde(deserialize_with = "product")]
    pub product: Product,
    /// Variety of orders whose strategy does not set one.
    #[serde(deserialize_with = "variety")]
    pub variety: Variety,
    /// How often in-flight orders are polled with `GET /orders`, milliseconds.
    pub poll_interval_ms: u64,
    /// How long an order of unknown placement outcome may stay missing from
    /// `GET /orders` before it is declared not placed, seconds.
    pub settle_secs: u64,
    /// Oldest a validated signal may be (by its timestamp) when its order would go out.
    pub max_signal_age_secs: u64,
    /// Most order requests (place, modify, cancel) a second.
    pub order_rate_per_sec: u32,
    /// The strategy is registered with the exchange, which allows more than 10 orders a
    /// second (SEBI's 2026 retail-algo framework); without it `order_rate_per_sec` may not
    /// exceed 10.
    pub registered_algo: bool,
    /// Most order requests a minute.
    pub order_rate_per_min: u32,
    /// Most other requests (orders list, trades, positions) a second.
    pub request_rate_per_sec: u32,
    /// First wait after a 429, milliseconds; doubles on each further 429.
    pub rate_limit_backoff_ms: u64,
    /// Cap on the wait after a 429, milliseconds.
    pub rate_limit_backoff_max_ms: u64,
    /// Kite's `market_protection`, sent with every MARKET and SL-M order (mandatory for
    /// API orders since April 2026): `-1` automatic, or a percentage in `1..=100`.
    pub market_protection: i32,
    /// An order still open at Kite this long after it was placed is cancelled (its
    /// partial fill stands), seconds; 0 = never.
    pub order_timeout_secs: u64,
    /// How often the account's positions are reconciled with Kite's, seconds.
    pub reconcile_interval_secs: u64,
}

impl ZerodhaSettings {
    /// How often in-flight orders are polled.
    pub fn poll_interval(&self) -> Duration {
        Duration::from_millis(self.poll_interval_ms)
    }

    /// How long an order of unknown outcome may stay missing before it is not placed.
    pub fn settle(&self) -> Duration {
        Duration::from_secs(self.settle_secs)
    }

    /// Oldest a signal may be when its order would be sent.
    pub fn max_signal_age(&self) -> Duration {
        Duration::from_secs(self.max_signal_age_secs)
    }

    /// First wait after a 429.
    pub fn rate_limit_backoff(&self) -> Duration {
        Duration::from_millis(self.rate_limit_backoff_ms)
    }

    /// Cap on the wait after a 429.
    pub fn rate_limit_backoff_max(&self) -> Duration {
        Duration::from_millis(self.rate_limit_backoff_max_ms)
    }

    /// How long an order may rest at Kite before it is cancelled (zero: never).
    pub fn order_timeout(&self) -> Duration {
        Duration::from_secs(self.order_timeout_secs)
    }

    /// How often positions are reconciled.
    pub fn reconcile_interval(&self) -> Duration {
        Duration::from_secs(self.reconcile_interval_secs)
    }
}

impl Settings {
    /// The REST client's configuration for `credentials`: `[kite]`'s endpoint and
    /// timeout, `[zerodha]`'s rate limits and backoff (orders, `sync`, and start-up share
    /// one account's limits).
    pub fn kite_client_config(
        &self,
        credentials: super::KiteCredentials,
    ) -> crate::kite::rest::KiteClientConfig {
        let z = &self.zerodha;
        crate::kite::rest::KiteClientConfig {
            base_url: self.kite.rest_url.clone(),
            api_key: credentials.api_key,
            access_token: credentials.access_token,
            timeout: self.kite.request_timeout(),
            limits: crate::kite::rest::RateLimits {
                orders_per_sec: z.order_rate_per_sec,
                orders_per_min: z.order_rate_per_min,
                requests_per_sec: z.request_rate_per_sec,
            },
            rate_limit_backoff: z.rate_limit_backoff(),
            rate_limit_backoff_max: z.rate_limit_backoff_max(),
        }
    }

    /// The product and variety of a Zerodha order of `strategy_id`: the strategy's own
    /// `product` / `variety` where set, else `zerodha.product` / `zerodha.variety`
    /// (also for an unknown id).
    pub fn order_kind(&self, strategy_id: &str) -> (Product, Variety) {
        let strategy = self.strategies.get(strategy_id);
        let product = strategy.and_then(|s| s.product);
        let variety = strategy.and_then(|s| s.variety);
        (
            product.unwrap_or(self.zerodha.product),
            variety.unwrap_or(self.zerodha.variety),
        )
    }
}

/// What a product setting expects, as shown in errors.
const PRODUCTS: &str = "a product: CNC, NRML, MIS, MTF";

/// What a variety setting expects, as shown in errors.
const VARIETIES: &str = "a variety: regular, amo, co, iceberg, auction";

/// A Kite product name, any case.
pub(super) fn product<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Product, D::Error> {
    kite_name(deserializer, &Product::ALL, |p| p.as_str(), PRODUCTS)
}

/// A Kite variety name, any case.
pub(super) fn variety<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Variety, D::Error> {
    kite_name(deserializer, &Variety::ALL, |v| v.as_str(), VARIETIES)
}

/// An optional product (a strategy's override); absent is `None`.
pub(super) fn optional_product<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Product>, D::Error> {
    product(deserializer).map(Some)
}

/// An optional variety (a strategy's override); absent is `None`.
pub(super) fn optional_variety<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Variety>, D::Error> {
    variety(deserializer).map(Some)
}

/// The value of `all` whose name matches the string read (trimmed, ASCII
/// case-insensitively), or serde's `invalid value: string "x", expected {expected}`,
/// which the loader words as `expected {expected}, got "x"`.
fn kite_name<'de, D, T>(
    deserializer: D,
    all: &[T],
    name: fn(T) -> &'static str,
    expected: &'static str,
) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Copy,
{
    let text = String::deserialize(deserializer)?;
    all.iter()
        .copied()
        .find(|v| name(*v).eq_ignore_ascii_case(text.trim()))
        .ok_or_else(|| de::Error::invalid_value(de::Unexpected::Str(&text), &expected))
}

/// Every broken rule of `[zerodha]`, keyed by setting, in a stable order.
pub(super) fn problems(s: &Settings) -> Vec<Problem> {
    let z = &s.zerodha;
    let mut out = Vec::new();
    // co, iceberg and auction orders need fields (legs, auction number, a stop-loss leg)
    // that no signal carries: refuse them here rather than at the first order.
    let varieties = std::iter::once(("zerodha.variety".to_owned(), z.variety)).chain(
        s.strategies
            .iter()
            .filter_map(|(id, c)| c.variety.map(|v| (format!("strategies.{id}.variety"), v))),
    );
    for (key, variety) in varieties {
        if !matches!(variety, Variety::Regular | Variety::Amo) {
            let message = format!(
                "alpha-panda places regular and amo orders only; {variety} orders need fields \
                 a signal does not carry"
            );
            out.push(Problem::new(key, message));
        }
    }
    let mut between = |key: &str, value: u64, min: u64, max: u64| {
        if !(min..=max).contains(&value) {
            let message = format!("must be between {min} and {max}, got {value}");
            out.push(Problem::new(format!("zerodha.{key}"), message));
        }
    };
    between("poll_interval_ms", z.poll_interval_ms, 50, 60_000);
    between("settle_secs", z.settle_secs, 1, 3_600);
    between("max_signal_age_secs", z.max_signal_age_secs, 1, 86_400);
    between("order_timeout_secs", z.order_timeout_secs, 0, 86_400);
    between(
        "reconcile_interval_secs",
        z.reconcile_interval_secs,
        10,
        3_600,
    );
    // Each rate is a window of that many slots held in memory; Kite allows far fewer.
    between(
        "order_rate_per_sec",
        u64::from(z.order_rate_per_sec),
        1,
        1_000,
    );
    between(
        "order_rate_per_min",
        u64::from(z.order_rate_per_min),
        1,
        60_000,
    );
    between(
        "request_rate_per_sec",
        u64::from(z.request_rate_per_sec),
        1,
        1_000,
    );
    between("rate_limit_backoff_ms", z.rate_limit_backoff_ms, 1, 60_000);
    if z.order_rate_per_sec > 10 && !z.registered_algo {
        let message = format!(
            "must be at most 10 (Kite's limit for an algo not registered with the exchange; \
             set zerodha.registered_algo = true if it is), got {}",
            z.order_rate_per_sec
        );
        out.push(Problem::new("zerodha.order_rate_per_sec", message));
    }
    if z.market_protection != -1 && !(1..=100).contains(&z.market_protection) {
        let message = format!(
            "must be -1 (automatic) or a percentage from 1 to 100 (Kite rejects MARKET and \
             SL-M orders without it), got {}",
            z.market_protection
        );
        out.push(Problem::new("zerodha.market_protection", message));
    }
    if z.rate_limit_backoff_max_ms < z.rate_limit_backoff_ms {
        let message = format!(
            "must be at least zerodha.rate_limit_backoff_ms ({}), got {}",
            z.rate_limit_backoff_ms, z.rate_limit_backoff_max_ms
        );
        out.push(Problem::new("zerodha.rate_limit_backoff_max_ms", message));
    } else if z.rate_limit_backoff_max_ms > 600_000 {
        let message = format!(
            "must be at most 600000, got {}",
            z.rate_limit_backoff_max_ms
        );
        out.push(Problem::new("zerodha.rate_limit_backoff_max_ms", message));
    }
    out
}
