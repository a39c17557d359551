//! The HTTP side of the Kite client.

use super::error::KiteError;
use super::portfolio::{KiteHolding, KitePositions, ModifyParams};
use super::rate::{Budget, RateLimiter, RateLimits};
use super::types::{KiteOrder, KiteTrade, OrderParams, PlacedOrder, Session};
use crate::settings::Secret;
use reqwest::Method;
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// 429s retried before the error is returned.
const RATE_LIMIT_RETRIES: u32 = 8;

/// How to reach Kite.
#[derive(Clone)]
pub struct KiteClientConfig {
    /// `https://api.kite.trade`, or a fake server's `http://127.0.0.1:PORT`.
    pub base_url: String,
    pub api_key: Secret,
    pub access_token: Secret,
    /// Longest wait for one answer.
    pub timeout: Duration,
    pub limits: RateLimits,
    /// First wait after a 429; it doubles per retry up to `rate_limit_backoff_max`.
    pub rate_limit_backoff: Duration,
    pub rate_limit_backoff_max: Duration,
}

/// A Kite Connect REST client. Cheap to clone (clones share the connection pool and the
/// rate limits).
#[derive(Clone)]
pub struct KiteClient {
    http: reqwest::Client,
    config: KiteClientConfig,
    limiter: Arc<Mutex<RateLimiter>>,
}

impl fmt::Debug for KiteClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KiteClient")
            .field("base_url", &self.config.base_url)
            .field("api_key", &self.config.api_key)
            .field("access_token", &self.config.access_token)
            .finish_non_exhaustive()
    }
}

/// Kite's envelope: `{"status": "success", "data": ...}` or an error.
#[derive(serde::Deserialize)]
struct Envelope<T> {
    status: String,
    data: Option<T>,
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    error_type: Option<String>,
}

impl KiteClient {
    /// # Errors
    /// The HTTP client cannot be built (TLS set-up).
    pub fn new(config: KiteClientConfig) -> Result<KiteClient, KiteError> {
        let http = reqwest::Client::builder()
            .timeout(config.timeout)
            .build()
            .map_err(|e| transport(&e, config.timeout))?;
        Ok(KiteClient {
            limiter: Arc::new(Mutex::new(RateLimiter::new(config.limits))),
            http,
            config,
        })
    }

    /// Longest wait for one answer.
    pub fn timeout(&self) -> Duration {
        self.config.timeout
    }

    /// The base URL requests go to.
    pub fn base_url(&self) -> &str {
        &self.config.base_url
    }

    /// `POST /orders/{variety}`: places an order, returns Kite's order id.
    ///
    /// # Errors
    /// Kite's refusal, a network failure or timeout (outcome unknown), or a 429 that
    /// outlasted the retries.
    pub async fn place_order(&self, params: &OrderParams) -> Result<String, KiteError> {
        self.place_order_by(params, None).await
    }

    /// [`place_order`](Self::place_order) that is not sent after `deadline`: when the rate
    /// limits or Kite's 429s would make it go out later, it is not sent at all and
    /// [`KiteError::RateLimited`] says so (nothing happened at Kite). The request itself
    /// may still take up to the client's timeout after the deadline.
    ///
    /// # Errors
    /// As [`place_order`](Self::place_order).
    pub async fn place_order_by(
        &self,
        params: &OrderParams,
        deadline: Option<tokio::time::Instant>,
    ) -> Result<String, KiteError> {
        let form = params.form().map_err(|message| KiteError::Input {
            status: 400,
            message,
        })?;
        let path = format!("/orders/{}", params.variety);
        let placed: PlacedOrder = self
            .call_by(Budget::Order, Method::POST, &path, Some(&form), deadline)
            .await?;
        Ok(placed.order_id)
    }

    /// `PUT /orders/{variety}/{order_id}`: changes what `params` sets. Counts against the
    /// order rate limits.
    ///
    /// # Errors
    /// As [`place_order`](Self::place_order).
    pub async fn modify_order(
        &self,
        variety: &str,
        order_id: &str,
        params: &ModifyParams,
    ) -> Result<(), KiteError> {
        let path = format!("/orders/{variety}/{order_id}");
        let form = params.form();
        let _: serde_json::Value = self
            .call(Budget::Order, Method::PUT, &path, Some(&form))
            .await?;
        Ok(())
    }

    /// `DELETE /orders/{variety}/{order_id}`. Counts against the order rate limits.
    ///
    /// # Errors
    /// As [`place_order`](Self::place_order).
    pub async fn cancel_order(&self, variety: &str, order_id: &str) -> Result<(), KiteError> {
        let path = format!("/orders/{variety}/{order_id}");
        let _: serde_json::Value = self
            .call(Budget::Order, Method::DELETE, &path, None)
            .await?;
        Ok(())
    }

    /// `GET /portfolio/positions`.
    ///
    /// # Errors
    /// As [`place_order`](Self::place_order).
    pub async fn positions(&self) -> Result<KitePositions, KiteError> {
        self.call(Budget::Other, Method::GET, "/portfolio/positions", None)
            .await
    }

    /// `GET /portfolio/holdings`.
    ///
    /// # Errors
    /// As [`place_order`](Self::place_order).
    pub async fn holdings(&self) -> Result<Vec<KiteHolding>, KiteError> {
        let list = self
            .call(Budget::Other, Method::GET, "/portfolio/holdings", None)
            .await?;
        Ok(each_readable(list, "holding"))
    }

    /// `GET /orders`: every order of the day, latest state.
    ///
    /// # Errors
    /// As [`place_order`](Self::place_order).
    pub async fn orders(&self) -> Result<Vec<KiteOrder>, KiteError> {
        let list = self
            .call(Budget::Other, Method::GET, "/orders", None)
            .await?;
        Ok(each_readable(list, "order"))
    }

    /// `GET /trades`: every trade of the day.
    ///
    /// # Errors
    /// As [`place_order`](Self::place_order).
    pub async fn trades(&self) -> Result<Vec<KiteTrade>, KiteError> {
        let list = self
            .call(Budget::Other, Method::GET, "/trades", None)
            .await?;
        Ok(each_readable(list, "trade"))
    }

    /// `GET /orders/{order_id}/trades`.
    ///
    /// # Errors
    /// As [`place_order`](Self::place_order).
    pub async fn order_trades(&self, order_id: &str) -> Result<Vec<KiteTrade>, KiteError> {
        let path = format!("/orders/{order_id}/trades");
        let list = self.call(Budget::Other, Method::GET, &path, None).await?;
        Ok(each_readable(list, "trade"))
    }

    /// `POST /session/token`: exchanges a login's request token for the access token of
    /// the day. Needs no access token; `config.access_token` is ignored.
    ///
    /// # Errors
    /// Kite refused the request token or checksum (`Token`), or the network failed.
    pub async fn create_session(
        &self,
        request_token: &str,
        api_secret: &Secret,
    ) -> Result<Session, KiteError> {
        let api_key = self.config.api_key.expose();
        let form = vec![
            ("api_key", api_key.to_owned()),
            ("request_token", request_token.to_owned()),
            (
                "checksum",
                session_checksum(api_key, request_token, api_secret.expose()),
            ),
        ];
        self.call(Budget::Other, Method::POST, "/session/token", Some(&form))
            .await
    }

    pub(super) async fn call<T: DeserializeOwned>(
        &self,
        budget: Budget,
        method: Method,
        path: &str,
        form: Option<&[(&'static str, String)]>,
    ) -> Result<T, KiteError> {
        self.call_by(budget, method, path, form, None).await
    }

    /// A request that waits on the rate limits and retries 429s with backoff — but never
    /// goes out after `deadline`: then it answers [`KiteError::RateLimited`] at once.
    async fn call_by<T: DeserializeOwned>(
        &self,
        budget: Budget,
        method: Method,
        path: &str,
        form: Option<&[(&'static str, String)]>,
        deadline: Option<tokio::time::Instant>,
    ) -> Result<T, KiteError> {
        self.retrying(budget, path, deadline, || {
            self.send_once(method.clone(), path, form)
        })
        .await
    }

    /// Runs `send` after the rate limits allow it, again after a backoff on each 429 (up
    /// to [`RATE_LIMIT_RETRIES`]), never after `deadline`.
    pub(super) async fn retrying<T, F, Fut>(
        &self,
        budget: Budget,
        path: &str,
        deadline: Option<tokio::time::Instant>,
        send: F,
    ) -> Result<T, KiteError>
    where
        F: Fn() -> Fut,
        Fut: std::future::Future<Output = Result<T, KiteError>>,
    {
        let mut backoff = self.config.rate_limit_backoff;
        let mut retries = 0;
        let beyond = |what: &str| KiteError::RateLimited {
            message: format!("{what}: not sent, it would have gone out after its deadline"),
        };
        loop {
            let now = tokio::time::Instant::now();
            let wait = self
                .limiter
                .lock()
                // A poisoned limiter only means a panic elsewhere mid-arithmetic; its
                // state is still a valid bucket.
                .unwrap_or_else(|p| p.into_inner())
                .reserve_by(budget, now.into_std(), deadline.map(|d| d.into_std()))
                .ok_or_else(|| beyond("our own rate limit allows no earlier slot"))?;
            if !wait.is_zero() {
                tracing::debug!(
                    path,
                    wait_ms = wait.as_millis() as u64,
                    "kite rate limit: waiting"
                );
                tokio::time::sleep(wait).await;
            }
            match send().await {
                Err(KiteError::RateLimited { message }) if retries < RATE_LIMIT_RETRIES => {
                    if deadline.is_some_and(|d| tokio::time::Instant::now() + backoff > d) {
                        return Err(beyond(&format!(
                            "Kite answered 429 ({message}) and the backoff runs past the deadline"
                        )));
                    }
                    retries += 1;
                    tracing::warn!(path, retry = retries, backoff_ms = backoff.as_millis() as u64, %message, "kite answered 429; backing off");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(self.config.rate_limit_backoff_max);
                }
                Err(KiteError::RateLimited { message }) => {
                    return Err(KiteError::RateLimited {
                        message: format!(
                            "Kite answered 429 {} times in a row: {message}",
                            retries + 1
                        ),
                    });
                }
                other => return other,
            }
        }
    }

    async fn send_once<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        form: Option<&[(&'static str, String)]>,
    ) -> Result<T, KiteError> {
        let mut request = self.request(method, path)?;
        if let Some(form) = form {
            request = request.form(form);
        }
        let response = request
            .send()
            .await
            .map_err(|e| transport(&e, self.config.timeout))?;
        let status = response.status().as_u16();
        let body = response
            .bytes()
            .await
            .map_err(|e| transport(&e, self.config.timeout))?;
        decode(status, &body)
    }

    /// A request to `path` with Kite's version header and, except for the login, the
    /// `Authorization` header (marked sensitive).
    pub(super) fn request(
        &self,
        method: Method,
        path: &str,
    ) -> Result<reqwest::RequestBuilder, KiteError> {
        let url = format!("{}{path}", self.config.base_url.trim_end_matches('/'));
        let mut request = self.http.request(method, url).header("X-Kite-Version", "3");
        if path != "/session/token" {
            let auth = format!(
                "token {}:{}",
                self.config.api_key.expose(),
                self.config.access_token.expose()
            );
            let mut value =
                reqwest::header::HeaderValue::from_str(&auth).map_err(|_| KiteError::Input {
                    status: 400,
                    message: "the API key or access token holds characters a header cannot".into(),
                })?;
            // Kept out of any debug output of the request.
            value.set_sensitive(true);
            request = request.header(reqwest::header::AUTHORIZATION, value);
        }
        Ok(request)
    }
}

/// The elements of a list that parse; each one that does not is logged and skipped, so one
/// odd entry (a field Kite suddenly sends as null) cannot blind polling to every other.
fn each_readable<T: DeserializeOwned>(list: Vec<serde_json::Value>, what: &str) -> Vec<T> {
    list.into_iter()
        .filter_map(|value| match serde_json::from_value::<T>(value) {
            Ok(item) => Some(item),
            Err(e) => {
                tracing::error!(error = %e, "unreadable Kite {what} skipped");
                None
            }
        })
        .collect()
}

pub(super) fn decode<T: DeserializeOwned>(status: u16, body: &[u8]) -> Result<T, KiteError> {
    let envelope: Envelope<T> = match serde_json::from_slice(body) {
        Ok(envelope) => envelope,
        Err(e) if status == 200 => {
            return Err(KiteError::Unknown {
                status: Some(status),
                message: format!("answer is not Kite's JSON envelope: {e}"),
            });
        }
        // An error page without Kite's envelope (a proxy, a 502 from a load balancer).
        Err(_) => {
            let text = String::from_utf8_lossy(body);
            let excerpt: String = text.chars().take(200).collect();
            return Err(KiteError::from_answer(status, None, excerpt));
        }
    };
    match (status, envelope.status.as_str(), envelope.data) {
        (200, "success", Some(data)) => Ok(data),
        (200, "success", None) => Err(KiteError::Unknown {
            status: Some(status),
            message: "success without data".into(),
        }),
        // An error envelope under 200 is still Kite's definitive answer: read it as a 400.
        (200, _, _) => Err(KiteError::from_answer(
            400,
            envelope.error_type.as_deref(),
            envelope.message.unwrap_or_default(),
        )),
        _ => Err(KiteError::from_answer(
            status,
            envelope.error_type.as_deref(),
            envelope.message.unwrap_or_default(),
        )),
    }
}

/// A transport failure, without the URL (and so without anything secret).
pub(super) fn transport(e: &reqwest::Error, timeout: Duration) -> KiteError {
    let message = if e.is_timeout() {
        format!("no answer within {} ms", timeout.as_millis())
    } else {
        let mut text = String::from(if e.is_connect() {
            "cannot connect"
        } else {
            "request failed"
        });
        let mut source = std::error::Error::source(e);
        while let Some(cause) = source {
            text.push_str(": ");
            text.push_str(&cause.to_string());
            source = cause.source();
        }
        text
    };
    KiteError::Network {
        status: None,
        message,
    }
}

/// `sha256(api_key + request_token + api_secret)` as lowercase hex.
pub fn session_checksum(api_key: &str, request_token: &str, api_secret: &str) -> String {
    let digest = Sha256::digest(format!("{api_key}{request_token}{api_secret}").as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checksum_is_the_sha256_of_key_request_token_and_secret() {
        // sha256("abc") — the FIPS 180-2 test vector.
        assert_eq!(
            session_checksum("a", "b", "c"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn decodes_success_and_error_envelopes() {
        let ok: Result<serde_json::Value, _> =
            decode(200, br#"{"status":"success","data":{"order_id":"1"}}"#);
        assert_eq!(ok.unwrap()["order_id"], "1");
        let err: Result<serde_json::Value, _> = decode(
            400,
            br#"{"status":"error","message":"Invalid `quantity`.","data":null,"error_type":"InputException"}"#,
        );
        assert_eq!(
            err.unwrap_err(),
            KiteError::Input {
                status: 400,
                message: "Invalid `quantity`.".into()
            }
        );
        let proxy: Result<serde_json::Value, _> = decode(502, b"<html>Bad Gateway</html>");
        assert!(proxy.unwrap_err().outcome_unknown());
        let garbage: Result<serde_json::Value, _> = decode(200, b"{");
        assert!(matches!(garbage, Err(KiteError::Unknown { .. })));
    }
}
