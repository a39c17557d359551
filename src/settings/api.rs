//! `[api]`: the daemon's HTTP API ([`crate::api`]) — whether it runs, where it listens,
//! and the bearer token of its control (kill-switch) endpoints.
//!
//! Invariants:
//! - `listen` is an IP socket address, parsed while loading: a bad value is reported as
//!   `api.listen: expected host:port, e.g. 127.0.0.1:8080, got "x"`. Host names are not
//!   resolved (loading does no I/O); a name gets its own hint. Port 0 is allowed (a free
//!   port, for tests).
//! - `control_token` is a [`Secret`]: never in `Debug` output, error messages or the
//!   effective settings. Empty means the control endpoints are off (they answer 503);
//!   a set token has at least [`MIN_CONTROL_TOKEN_CHARS`] characters and no whitespace
//!   (it could not be sent as a bearer token intact), and the problems saying so never
//!   show it.

use std::net::SocketAddr;

use serde::de::{self, Deserializer};
use serde::{Deserialize, Serialize};

use super::Settings;
use super::error::Problem;
use super::secret::Secret;

/// `[api]`: the HTTP API of the daemon.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ApiSettings {
    /// Serve the API at all.
    pub enabled: bool,
    /// Where it listens: an IP address and a port (`127.0.0.1:8080`).
    #[serde(deserialize_with = "socket_address")]
    pub listen: SocketAddr,
    /// Bearer token of `POST /api/v1/trading/...`; empty turns those endpoints off.
    pub control_token: Secret,
}

impl ApiSettings {
    /// True if the control endpoints accept requests (a token is set).
    pub fn control_enabled(&self) -> bool {
        !self.control_token.is_empty()
    }
}

/// What `api.listen` expects, as shown in errors.
const LISTEN: &str = "host:port, e.g. 127.0.0.1:8080";

/// What `api.listen` expects when it was given a host name.
const LISTEN_NAME: &str = "an IP address and port, e.g. 127.0.0.1:8080 or 0.0.0.0:8080 (host \
                           names are not resolved)";

/// An IP socket address from its text (`127.0.0.1:8080`, `[::1]:8080`), trimmed; else
/// serde's `invalid value`, which the loader words as `expected host:port, ..., got "x"`.
fn socket_address<'de, D: Deserializer<'de>>(deserializer: D) -> Result<SocketAddr, D::Error> {
    let text = String::deserialize(deserializer)?;
    if let Ok(address) = text.trim().parse::<SocketAddr>() {
        return Ok(address);
    }
    let names_a_host = text.trim().rsplit_once(':').is_some_and(|(host, port)| {
        !host.is_empty() && !host.contains(char::is_whitespace) && port.parse::<u16>().is_ok()
    });
    let expected = if names_a_host { LISTEN_NAME } else { LISTEN };
    Err(de::Error::invalid_value(
        de::Unexpected::Str(&text),
        &expected,
    ))
}

/// Shortest control token accepted: with the per-address lockout on failed attempts, a
/// 16-character token is out of reach of guessing.
pub const MIN_CONTROL_TOKEN_CHARS: usize = 16;

/// Every broken rule of `[api]`, keyed by setting.
pub(super) fn problems(s: &Settings) -> Vec<Problem> {
    let mut out = Vec::new();
    let token = s.api.control_token.expose();
    if !token.is_empty() && token.chars().count() < MIN_CONTROL_TOKEN_CHARS {
        let message = format!(
            "must be at least {MIN_CONTROL_TOKEN_CHARS} characters, got {} (value not shown: \
             it is a secret); a short token can be guessed. Leave it \"\" to turn the control \
             endpoints off, or generate one, e.g. `openssl rand -hex 24`",
            token.chars().count()
        );
        out.push(Problem::new("api.control_token", message));
    }
    if token.contains(char::is_whitespace) {
        let message = "must not contain whitespace: it is sent as `Authorization: Bearer \
                       <token>` (value not shown: it is a secret)";
        out.push(Problem::new("api.control_token", message));
    }
    out
}
