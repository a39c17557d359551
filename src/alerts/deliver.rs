//! Delivery to one target over HTTP, with retries and masked errors.
//!
//! Telegram: `POST {api_url}/bot{token}/sendMessage` with `{"chat_id", "text"}`. The
//! token is in the URL path, so the URL is never shown as requested: logs show
//! `{api_url}/bot***/sendMessage`. Webhook: `POST {url}` with the JSON of
//! [`WebhookPayload`](super::WebhookPayload) and the configured headers; its URL may carry
//! a credential (Slack, Discord), so only its scheme and host are shown.
//!
//! Invariants: every error text passes through [`Masker::mask`] (reqwest's error
//! without its URL, then every secret replaced) before it is logged or returned; a 2xx
//! answer is delivered; 429, 5xx, timeouts and connection failures are retried with
//! exponential backoff (429's `retry_after` honoured, capped by the backoff's maximum)
//! up to the attempt budget; any other status is final at once.

use std::time::Duration;

use reqwest::StatusCode;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};

use super::format::Outgoing;
use crate::settings::{MASK, Secret};

/// How hard delivery tries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryPolicy {
    /// Attempts per message, the first included (at least 1).
    pub attempts: u32,
    /// The wait after the first failure; doubles after each further one.
    pub backoff_initial: Duration,
    /// Cap on any wait.
    pub backoff_max: Duration,
    /// Timeout of one request.
    pub timeout: Duration,
}

impl DeliveryPolicy {
    /// The wait after failed attempt `n` (1-based), before honouring a `retry_after`.
    fn backoff(&self, n: u32) -> Duration {
        let doubled = self
            .backoff_initial
            .saturating_mul(2u32.saturating_pow(n.saturating_sub(1)));
        doubled.min(self.backoff_max)
    }
}

/// A Telegram chat through a bot.
#[derive(Debug, Clone)]
pub struct TelegramTarget {
    /// The Bot API's base URL, e.g. `https://api.telegram.org`.
    pub api_url: String,
    pub bot_token: Secret,
    pub chat_id: String,
}

/// A generic webhook.
#[derive(Debug, Clone)]
pub struct WebhookTarget {
    pub url: Secret,
    pub headers: Vec<(String, Secret)>,
}

/// A target, ready to send to.
#[derive(Debug, Clone)]
pub(super) enum Target {
    Telegram(TelegramTarget),
    Webhook(WebhookTarget),
}

/// Replaces every secret of a target in a text.
#[derive(Debug, Clone)]
pub(super) struct Masker(Vec<String>);

impl Masker {
    pub(super) fn mask(&self, text: &str) -> String {
        let mut out = text.to_owned();
        for secret in &self.0 {
            if !secret.is_empty() {
                out = out.replace(secret.as_str(), MASK);
            }
        }
        out
    }
}

impl Target {
    /// `telegram` or `webhook`: the target's name in logs.
    pub(super) fn name(&self) -> &'static str {
        match self {
            Target::Telegram(_) => "telegram",
            Target::Webhook(_) => "webhook",
        }
    }

    /// The URL as logs may show it.
    pub(super) fn shown_url(&self) -> String {
        match self {
            Target::Telegram(t) => {
                format!("{}/bot{MASK}/sendMessage", t.api_url.trim_end_matches('/'))
            }
            Target::Webhook(w) => match reqwest::Url::parse(w.url.expose()) {
                Ok(u) => format!("{}://{}/{MASK}", u.scheme(), u.host_str().unwrap_or("")),
                Err(_) => MASK.to_owned(),
            },
        }
    }

    pub(super) fn masker(&self) -> Masker {
        let mut secrets = Vec::new();
        match self {
            Target::Telegram(t) => secrets.push(t.bot_token.expose().to_owned()),
            Target::Webhook(w) => {
                secrets.push(w.url.expose().to_owned());
                // The path alone (a Slack URL's credential) may show up without the host.
                if let Ok(u) = reqwest::Url::parse(w.url.expose())
                    && u.path().len() > 1
                {
                    secrets.push(u.path().to_owned());
                }
                secrets.extend(w.headers.iter().map(|(_, v)| v.expose().to_owned()));
            }
        }
        Masker(secrets)
    }

    fn request(
        &self,
        client: &reqwest::Client,
        outgoing: &Outgoing,
        source: &str,
    ) -> reqwest::RequestBuilder {
        match self {
            Target::Telegram(t) => {
                let url = format!(
                    "{}/bot{}/sendMessage",
                    t.api_url.trim_end_matches('/'),
                    t.bot_token.expose()
                );
                client.post(url).json(&serde_json::json!({
                    "chat_id": t.chat_id,
                    "text": outgoing.telegram_text(source),
                    "disable_web_page_preview": true,
                }))
            }
            Target::Webhook(w) => {
                let mut headers = HeaderMap::new();
                for (name, value) in &w.headers {
                    // Validated with the settings; a header that still fails is left out.
                    if let (Ok(n), Ok(v)) = (
                        HeaderName::from_bytes(name.as_bytes()),
                        HeaderValue::from_str(value.expose()),
                    ) {
                        headers.insert(n, v);
                    }
                }
                client
                    .post(w.url.expose())
                    .headers(headers)
                    .json(&outgoing.payload(source))
            }
        }
    }
}

/// Why a message was given up.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(super) enum DeliveryError {
    /// The target refused it for good (a 4xx other than 429).
    #[error("refused with {status}: {body}")]
    Refused { status: u16, body: String },
    /// Every attempt failed; the last failure.
    #[error("gave up after {attempts} attempts; last: {last}")]
    Exhausted { attempts: u32, last: String },
}

/// One attempt's failure: what happened, and whether (and after how long at least) to
/// try again.
enum Attempt {
    Retry {
        why: String,
        after: Option<Duration>,
    },
    Final(DeliveryError),
}

/// Sends `outgoing` to `target`, retrying per `policy`. Each failed attempt is logged at
/// WARN with its text masked.
pub(super) async fn deliver(
    client: &reqwest::Client,
    target: &Target,
    outgoing: &Outgoing,
    source: &str,
    policy: &DeliveryPolicy,
) -> Result<(), DeliveryError> {
    let masker = target.masker();
    let url = target.shown_url();
    let attempts = policy.attempts.max(1);
    let mut last = String::new();
    for n in 1..=attempts {
        let sent = target
            .request(client, outgoing, source)
            .timeout(policy.timeout)
            .send()
            .await;
        let (why, after) = match judge(sent, &masker).await {
            Ok(()) => return Ok(()),
            Err(Attempt::Final(e)) => return Err(e),
            Err(Attempt::Retry { why, after }) => (why, after),
        };
        last = why;
        if n == attempts {
            break;
        }
        let wait = after
            .map_or(policy.backoff(n), |a| a.max(policy.backoff(n)))
            .min(policy.backoff_max);
        tracing::warn!(to = target.name(), %url, attempt = n, of = attempts, retry_in = ?wait, error = %last, kind = outgoing.kind(), "alert not delivered; retrying");
        tokio::time::sleep(wait).await;
    }
    Err(DeliveryError::Exhausted { attempts, last })
}

/// What one request's result means.
async fn judge(
    sent: Result<reqwest::Response, reqwest::Error>,
    masker: &Masker,
) -> Result<(), Attempt> {
    let response = match sent {
        Ok(response) => response,
        Err(e) => {
            // reqwest's error text names the URL, and Telegram's URL holds the token: the
            // URL is taken out, and the causes (which may repeat it) masked.
            let why = masker.mask(&causes(&e.without_url()));
            return Err(Attempt::Retry { why, after: None });
        }
    };
    let status = response.status();
    if status.is_success() {
        return Ok(());
    }
    let body = response.text().await.unwrap_or_default();
    let body = masker.mask(&body.chars().take(300).collect::<String>());
    if status == StatusCode::TOO_MANY_REQUESTS {
        let after = retry_after(&body);
        let why = format!("429 Too Many Requests: {body}");
        return Err(Attempt::Retry { why, after });
    }
    if status.is_server_error() {
        let why = format!("{status}: {body}");
        return Err(Attempt::Retry { why, after: None });
    }
    Err(Attempt::Final(DeliveryError::Refused {
        status: status.as_u16(),
        body,
    }))
}

/// An error with its chain of causes, `a: b: c`.
fn causes(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// Telegram's `{"parameters": {"retry_after": seconds}}` of a 429.
fn retry_after(body: &str) -> Option<Duration> {
    let value: serde_json::Value = serde_json::from_str(body).ok()?;
    let secs = value.get("parameters")?.get("retry_after")?.as_u64()?;
    Some(Duration::from_secs(secs))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_its_cap() {
        let policy = DeliveryPolicy {
            attempts: 6,
            backoff_initial: Duration::from_secs(1),
            backoff_max: Duration::from_secs(5),
            timeout: Duration::from_secs(1),
        };
        let waits: Vec<u64> = (1..=5).map(|n| policy.backoff(n).as_secs()).collect();
        assert_eq!(waits, vec![1, 2, 4, 5, 5]);
    }

    #[test]
    fn telegram_url_is_shown_without_the_token_and_texts_are_masked() {
        let target = Target::Telegram(TelegramTarget {
            api_url: "https://api.telegram.org/".into(),
            bot_token: Secret::new("123:SECRET_token"),
            chat_id: "42".into(),
        });
        assert_eq!(
            target.shown_url(),
            "https://api.telegram.org/bot***/sendMessage"
        );
        let text = "error sending request for url (https://api.telegram.org/bot123:SECRET_token/sendMessage)";
        let masked = target.masker().mask(text);
        assert!(!masked.contains("SECRET_token"), "{masked}");
        assert!(masked.contains("/bot***/sendMessage"), "{masked}");
    }

    #[test]
    fn webhook_url_shows_only_scheme_and_host() {
        let target = Target::Webhook(WebhookTarget {
            url: Secret::new("https://hooks.example.com/services/T0/B0/XYZ"),
            headers: vec![("authorization".into(), Secret::new("Bearer abc123"))],
        });
        assert_eq!(target.shown_url(), "https://hooks.example.com/***");
        let masked = target
            .masker()
            .mask("POST /services/T0/B0/XYZ failed with Bearer abc123");
        assert!(
            !masked.contains("XYZ") && !masked.contains("abc123"),
            "{masked}"
        );
    }

    #[test]
    fn reads_telegrams_retry_after() {
        let body = r#"{"ok":false,"error_code":429,"parameters":{"retry_after":3}}"#;
        assert_eq!(retry_after(body), Some(Duration::from_secs(3)));
        assert_eq!(retry_after("not json"), None);
    }
}
