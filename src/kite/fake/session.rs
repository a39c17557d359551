//! `POST /session/token`: exchanges a registered request token for a new access token when
//! the checksum is right (request tokens are single use; a new session replaces the old
//! access token).

use super::FakeKiteConfig;
use super::form::required;
use super::reply::{INPUT, Reply, TOKEN, error, success};
use super::state::{FAKE_USER_ID, State, ist_now};
use crate::kite::rest::session_checksum;
use serde_json::json;

const BAD_SESSION: &str = "Token is invalid or has expired.";

pub(super) fn session(
    state: &mut State,
    config: &FakeKiteConfig,
    form: &[(String, String)],
) -> Reply {
    let fields = ["api_key", "request_token", "checksum"].map(|name| required(form, name));
    let [api_key, request_token, checksum] = match fields {
        [Ok(a), Ok(r), Ok(c)] => [a, r, c],
        [a, r, c] => {
            let missing = [a, r, c].into_iter().find_map(Result::err);
            return error(400, INPUT, missing.unwrap_or_default());
        }
    };
    let valid = api_key == config.api_key
        && state.request_tokens.contains(request_token)
        && checksum == session_checksum(api_key, request_token, &config.api_secret);
    if !valid {
        return error(403, TOKEN, BAD_SESSION);
    }
    // Request tokens are single use, and a new session replaces the old access token.
    state.request_tokens.remove(request_token);
    state.sessions += 1;
    state.access_token = format!("fake_access_token_s{:09}", state.sessions);
    state.token_expired = false;
    success(json!({
        "user_type": "individual",
        "email": "fake.user@example.com",
        "user_name": "Fake User",
        "user_shortname": "Fake",
        "broker": "ZERODHA",
        "exchanges": ["NSE", "BSE", "NFO", "CDS", "BCD", "MCX", "BFO"],
        "products": ["CNC", "NRML", "MIS", "MTF"],
        "order_types": ["MARKET", "LIMIT", "SL", "SL-M"],
        "avatar_url": null,
        "user_id": FAKE_USER_ID,
        "api_key": config.api_key,
        "access_token": state.access_token,
        "public_token": format!("fake_public_token_s{:09}", state.sessions),
        "refresh_token": "",
        "enctoken": "",
        "login_time": ist_now().format("%Y-%m-%d %H:%M:%S").to_string(),
        "meta": {"demat_consent": "consent"},
    }))
}
