//! `[alerts]`: where alerts go ([`crate::alerts`]) — a Telegram chat through a bot, a
//! generic webhook, or both — and how often.
//!
//! The kind vocabulary ([`AlertKind`]) lives here, beside the setting that selects kinds,
//! the way restart types live in `[supervision]`; [`crate::alerts`] re-exports it. So
//! the alerts module depends on the settings and never the other way round.
//!
//! Invariants:
//! - Both targets are off by default: with the defaults nothing is sent anywhere.
//! - `telegram.bot_token`, `webhook.url` and every `webhook.headers` value are [`Secret`]s: never in
//!   `Debug` output, error messages or the effective settings. The problems about them
//!   say what is wrong without the value.
//! - A target that is on has everything it needs (a token and a chat, a URL), checked
//!   here; `run` never discovers a half-configured target.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use serde::de::Deserializer;
use serde::{Deserialize, Serialize, Serializer};

use super::Settings;
use super::error::Problem;
use super::secret::Secret;
use super::sections::named_variant;

/// What happened, as an alert: a stable snake_case name per kind (the webhook's `kind`,
/// the `kind` label of `alpha_panda_alerts_total`, the `alerts.kinds` setting).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum AlertKind {
    /// A broker's trading state became HALTED (kill switch, a hold, a refused token, a
    /// reconciliation difference).
    TradingHalted,
    /// A broker's trading state became REDUCING (a flatten, the broker's loss limit).
    TradingReducing,
    /// A daily loss limit was reached (the broker's or a strategy's).
    LossLimit,
    /// Zerodha's positions or orders differ from Kite's.
    ReconciliationDifference,
    /// Kite refused the access token (REST 403 `TokenException`, or the ticker's
    /// handshake).
    KiteTokenRejected,
    /// A supervised actor was restarted.
    ActorRestarted,
    /// A supervisor exceeded its restart budget and gave up.
    SupervisorEscalated,
    /// The market feed is disconnected or silent while the market is open.
    FeedStale,
    /// A record was written to a dead-letter topic.
    DlqRecord,
    /// A strategy stopped running: failing repeatedly, or switched off by an operator.
    StrategyDisabled,
}

impl AlertKind {
    /// Every kind, in a stable order.
    pub const ALL: [AlertKind; 10] = [
        AlertKind::TradingHalted,
        AlertKind::TradingReducing,
        AlertKind::LossLimit,
        AlertKind::ReconciliationDifference,
        AlertKind::KiteTokenRejected,
        AlertKind::ActorRestarted,
        AlertKind::SupervisorEscalated,
        AlertKind::FeedStale,
        AlertKind::DlqRecord,
        AlertKind::StrategyDisabled,
    ];

    /// The stable snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            AlertKind::TradingHalted => "trading_halted",
            AlertKind::TradingReducing => "trading_reducing",
            AlertKind::LossLimit => "loss_limit",
            AlertKind::ReconciliationDifference => "reconciliation_difference",
            AlertKind::KiteTokenRejected => "kite_token_rejected",
            AlertKind::ActorRestarted => "actor_restarted",
            AlertKind::SupervisorEscalated => "supervisor_escalated",
            AlertKind::FeedStale => "feed_stale",
            AlertKind::DlqRecord => "dlq_record",
            AlertKind::StrategyDisabled => "strategy_disabled",
        }
    }
}

impl fmt::Display for AlertKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What `alerts.kinds` accepts, as shown in errors.
const KIND_NAMES: &str = "one of trading_halted, trading_reducing, loss_limit, \
                          reconciliation_difference, kite_token_rejected, actor_restarted, \
                          supervisor_escalated, feed_stale, dlq_record, strategy_disabled";

impl<'de> Deserialize<'de> for AlertKind {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let variants = AlertKind::ALL.map(|k| (k.as_str(), k));
        named_variant(deserializer, &variants, KIND_NAMES)
    }
}

impl Serialize for AlertKind {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

/// `[alerts]`: alert targets and their limits.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct AlertsSettings {
    /// The kinds sent; empty means every kind.
    pub kinds: Vec<AlertKind>,
    /// The same alert (kind, broker and subject) is sent at most once within this many
    /// seconds; 0 sends every repeat.
    pub dedup_window_secs: u64,
    /// Most messages a target gets in any minute; the rest are counted and reported in
    /// one summary message when the minute allows.
    pub max_per_minute: u32,
    /// Attempts per message (the first included) before it is given up, with exponential
    /// backoff between them.
    pub attempts: u32,
    /// Timeout of one delivery request, seconds.
    pub request_timeout_secs: u64,
    /// `[alerts.telegram]`: a Telegram chat, through a bot.
    pub telegram: TelegramSettings,
    /// `[alerts.webhook]`: a generic HTTP endpoint receiving JSON.
    pub webhook: WebhookSettings,
}

/// `[alerts.telegram]`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct TelegramSettings {
    pub enabled: bool,
    /// The bot's token from BotFather (`123456:ABC...`); it is part of every request's
    /// URL path, so it is masked wherever a URL is shown.
    pub bot_token: Secret,
    /// The chat the bot writes to: a numeric id (`-100...` for a group or channel) or
    /// `@channelname`.
    pub chat_id: String,
    /// The Bot API's base URL (tests point it at a fake).
    pub api_url: String,
}

/// `[alerts.webhook]`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookSettings {
    pub enabled: bool,
    /// Where each alert is POSTed as JSON. A secret: webhook URLs (Slack, Discord, ...)
    /// carry their credential in the path, so only the host is ever shown.
    pub url: Secret,
    /// Extra request headers (e.g. `Authorization`); values are secrets.
    pub headers: BTreeMap<String, Secret>,
}

impl AlertsSettings {
    /// True if some target is on (the daemon starts the dispatcher only then).
    pub fn any_target(&self) -> bool {
        self.telegram.enabled || self.webhook.enabled
    }

    /// The same-alert window.
    pub fn dedup_window(&self) -> Duration {
        Duration::from_secs(self.dedup_window_secs)
    }

    /// Timeout of one delivery request.
    pub fn request_timeout(&self) -> Duration {
        Duration::from_secs(self.request_timeout_secs)
    }

    /// True if alerts of `kind` are sent.
    pub fn sends(&self, kind: AlertKind) -> bool {
        self.kinds.is_empty() || self.kinds.contains(&kind)
    }
}

/// Every broken rule of `[alerts]`, keyed by setting.
pub(super) fn problems(s: &Settings) -> Vec<Problem> {
    let a = &s.alerts;
    let mut out = Vec::new();
    let mut between = |key: &str, value: u64, min: u64, max: u64, why: &str| {
        if !(min..=max).contains(&value) {
            let message = format!("must be between {min} and {max}{why}, got {value}");
            out.push(Problem::new(key, message));
        }
    };
    between(
        "alerts.dedup_window_secs",
        a.dedup_window_secs,
        0,
        86_400,
        " (a day)",
    );
    between(
        "alerts.max_per_minute",
        u64::from(a.max_per_minute),
        1,
        600,
        "",
    );
    between("alerts.attempts", u64::from(a.attempts), 1, 20, "");
    between(
        "alerts.request_timeout_secs",
        a.request_timeout_secs,
        1,
        300,
        "",
    );
    if a.telegram.enabled {
        telegram(&a.telegram, &mut out);
    }
    if a.webhook.enabled {
        webhook(&a.webhook, &mut out);
    }
    out
}

fn telegram(t: &TelegramSettings, out: &mut Vec<Problem>) {
    let token = t.bot_token.expose();
    if token.is_empty() {
        out.push(Problem::new(
            "alerts.telegram.bot_token",
            "must be set when alerts.telegram.enabled is true: the token BotFather gave the \
             bot, best through ALPHA_PANDA__ALERTS__TELEGRAM__BOT_TOKEN",
        ));
    } else if !bot_token_shaped(token) {
        out.push(Problem::new(
            "alerts.telegram.bot_token",
            "is not a bot token: expected <digits>:<letters, digits, - or _> as BotFather \
             gives it (value not shown: it is a secret)",
        ));
    }
    let chat = t.chat_id.trim();
    let numeric = chat
        .strip_prefix('-')
        .unwrap_or(chat)
        .chars()
        .all(|c| c.is_ascii_digit());
    let channel = chat.len() > 1 && chat.starts_with('@') && !chat.contains(char::is_whitespace);
    if chat.is_empty() || !(numeric || channel) {
        let message = format!(
            "must be a chat id (digits, `-100...` for a group or channel) or @channelname, got \
             {:?}; see docs/RUNBOOK.md, Alerts, for how to find it",
            t.chat_id
        );
        out.push(Problem::new("alerts.telegram.chat_id", message));
    }
    http_url("alerts.telegram.api_url", &t.api_url, out);
}

/// `<bot id>:<secret>` as BotFather writes it; checked so that a token with a `/` or a
/// space never changes the request's path.
fn bot_token_shaped(token: &str) -> bool {
    token.split_once(':').is_some_and(|(id, secret)| {
        !id.is_empty()
            && id.chars().all(|c| c.is_ascii_digit())
            && !secret.is_empty()
            && secret
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    })
}

fn webhook(w: &WebhookSettings, out: &mut Vec<Problem>) {
    if !is_http_url(w.url.expose()) {
        out.push(Problem::new(
            "alerts.webhook.url",
            "must be an http:// or https:// URL with a host (value not shown: a webhook URL \
             may carry its credential)",
        ));
    }
    for (name, value) in &w.headers {
        let key = format!("alerts.webhook.headers.{name}");
        if reqwest::header::HeaderName::from_bytes(name.as_bytes()).is_err() {
            out.push(Problem::new(key.clone(), "is not a valid HTTP header name"));
        }
        if reqwest::header::HeaderValue::from_str(value.expose()).is_err() {
            out.push(Problem::new(
                key,
                "is not a valid HTTP header value: visible ASCII only (value not shown: it \
                 may be a secret)",
            ));
        }
    }
}

/// An `http://` or `https://` URL with a host that reqwest accepts.
fn is_http_url(url: &str) -> bool {
    (url.starts_with("http://") || url.starts_with("https://"))
        && reqwest::Url::parse(url).is_ok_and(|u| u.host_str().is_some_and(|h| !h.is_empty()))
}

fn http_url(key: &str, url: &str, out: &mut Vec<Problem>) {
    if !is_http_url(url) {
        let message = format!("must be an http:// or https:// URL with a host, got {url:?}");
        out.push(Problem::new(key, message));
    }
}
