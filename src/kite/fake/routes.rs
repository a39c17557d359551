//! The HTTP side of the fake: one catch-all actix-web handler that checks a request the way
//! Kite does, routes it, applies it to the [`State`] and records it.
//!
//! Check order (each failure answers Kite's error envelope and has no effect): scripted
//! rate limit (429) → `X-Kite-Version: 3` (400) → known route (404) → `Authorization`
//! (403, except `POST /session/token`) → scripted GET failure (5xx) → form body (400) →
//! the endpoint's own rules. Every request is recorded, under the same lock that applies it,
//! so the record order is the order in which the fake acted. Nothing here logs a header or
//! a form field: tokens and checksums never reach the logs.

use super::form::{decode_form, is_form_content_type, is_variety, required, validate_order};
use super::state::{FAKE_USER_ID, State, ist_now};
use super::{FakeKiteConfig, Placement, RecordedRequest, Shared};
use crate::kite::rest::session_checksum;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::{Value, json};
use std::time::Duration;

const INPUT: &str = "InputException";
const TOKEN: &str = "TokenException";
const ORDER: &str = "OrderException";
const BAD_TOKEN: &str = "Incorrect `api_key` or `access_token`.";
const BAD_SESSION: &str = "Token is invalid or has expired.";
const NO_ORDER: &str = "Couldn't find that `order_id`.";

/// The body of a POST/PUT, as far as it could be decoded.
enum Body {
    /// GET or DELETE: the body is ignored.
    Ignored,
    Form(Vec<(String, String)>),
    Malformed(String),
}

/// What the fake needs of a request, read before taking the lock.
struct Incoming {
    method: String,
    path: String,
    query: String,
    authorization: Option<String>,
    version: Option<String>,
    body: Body,
}

impl Incoming {
    fn read(req: &HttpRequest, body: &[u8]) -> Incoming {
        let header = |name: &str| {
            req.headers()
                .get(name)
                .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
        };
        let method = req.method().as_str().to_owned();
        let body = match (method.as_str(), header("content-type")) {
            ("POST" | "PUT", Some(ct)) if !is_form_content_type(&ct) => {
                Body::Malformed(format!("unsupported content type `{ct}`"))
            }
            ("POST" | "PUT", None) if !body.is_empty() => {
                Body::Malformed("no content type".to_owned())
            }
            ("POST" | "PUT", _) => decode_form(body).map_or_else(Body::Malformed, Body::Form),
            _ => Body::Ignored,
        };
        Incoming {
            method,
            path: req.path().to_owned(),
            query: req.query_string().to_owned(),
            authorization: header("authorization"),
            version: header("x-kite-version"),
            body,
        }
    }
}

/// An answer: HTTP status, JSON body, and how long to hold it back.
struct Reply {
    status: u16,
    body: Value,
    delay: Option<Duration>,
}

fn success(data: Value) -> Reply {
    Reply {
        status: 200,
        body: json!({"status": "success", "data": data}),
        delay: None,
    }
}

fn error(status: u16, error_type: &str, message: impl Into<String>) -> Reply {
    Reply {
        status,
        body: json!({
            "status": "error",
            "message": message.into(),
            "data": null,
            "error_type": error_type,
        }),
        delay: None,
    }
}

/// Kite's `error_type` for a server-side status.
fn server_error(status: u16) -> Reply {
    let error_type = match status {
        502 => "DataException",
        503 | 504 => "NetworkException",
        _ => "GeneralException",
    };
    error(status, error_type, "Fake Kite: scripted server error")
}

enum Route<'a> {
    Place(&'a str),
    Cancel(&'a str, &'a str),
    Orders,
    History(&'a str),
    Trades,
    OrderTrades(&'a str),
    Session,
}

fn route<'a>(method: &str, path: &'a str) -> Option<Route<'a>> {
    let segments: Vec<&str> = path.strip_prefix('/')?.split('/').collect();
    Some(match (method, segments.as_slice()) {
        ("POST", ["orders", variety]) => Route::Place(variety),
        ("DELETE", ["orders", variety, order_id]) => Route::Cancel(variety, order_id),
        ("GET", ["orders"]) => Route::Orders,
        ("GET", ["orders", order_id]) => Route::History(order_id),
        ("GET", ["trades"]) => Route::Trades,
        ("GET", ["orders", order_id, "trades"]) => Route::OrderTrades(order_id),
        ("POST", ["session", "token"]) => Route::Session,
        _ => return None,
    })
}

/// The actix-web handler for every path.
pub(super) async fn dispatch(
    req: HttpRequest,
    body: web::Bytes,
    shared: web::Data<Shared>,
) -> HttpResponse {
    let incoming = Incoming::read(&req, &body);
    let reply = {
        let mut state = shared.lock();
        let reply = answer(&mut state, &shared.config, &incoming);
        state.requests.push(RecordedRequest {
            method: incoming.method.clone(),
            path: incoming.path.clone(),
            query: incoming.query.clone(),
            form: match &incoming.body {
                Body::Form(form) => form.clone(),
                Body::Ignored | Body::Malformed(_) => Vec::new(),
            },
            authorization: incoming.authorization.clone(),
            status: reply.status,
        });
        reply
    };
    shared.notify();
    tracing::debug!(
        method = %incoming.method,
        path = %incoming.path,
        status = reply.status,
        "fake Kite answered"
    );
    if let Some(delay) = reply.delay {
        actix_web::rt::time::sleep(delay).await;
    }
    HttpResponse::build(StatusCode::from_u16(reply.status).unwrap_or(StatusCode::BAD_GATEWAY))
        .content_type("application/json")
        .body(reply.body.to_string())
}

fn answer(state: &mut State, config: &FakeKiteConfig, req: &Incoming) -> Reply {
    if state.rate_limited > 0 {
        state.rate_limited -= 1;
        return error(429, "NetworkException", "Too many requests");
    }
    if req.version.as_deref().map(str::trim) != Some("3") {
        return error(
            400,
            INPUT,
            "Missing or invalid `X-Kite-Version` header (expected 3).",
        );
    }
    let Some(route) = route(&req.method, &req.path) else {
        return error(404, "GeneralException", "Route not found");
    };
    let expected = format!("token {}:{}", config.api_key, state.access_token);
    let authorized = !state.token_expired && req.authorization.as_deref() == Some(&expected);
    if !matches!(route, Route::Session) && !authorized {
        return error(403, TOKEN, BAD_TOKEN);
    }
    if req.method == "GET" && state.failing_gets > 0 {
        state.failing_gets -= 1;
        return server_error(state.failing_get_status);
    }
    let form = match &req.body {
        Body::Malformed(why) => return error(400, INPUT, format!("Invalid request body: {why}.")),
        Body::Form(form) => form.as_slice(),
        Body::Ignored => &[],
    };
    match route {
        Route::Place(variety) => place(state, variety, form),
        Route::Cancel(variety, order_id) => cancel(state, variety, order_id),
        Route::Orders => success(state.orders().map(|o| o.to_json()).collect()),
        Route::History(order_id) => match state.history(order_id) {
            Some(history) => success(Value::from(history.to_vec())),
            None => error(400, INPUT, NO_ORDER),
        },
        Route::Trades => success(state.trades().iter().map(|t| state.trade_json(t)).collect()),
        Route::OrderTrades(order_id) => match state.order(order_id) {
            Some(_) => success(
                state
                    .trades()
                    .iter()
                    .filter(|t| t.order_id == order_id)
                    .map(|t| state.trade_json(t))
                    .collect(),
            ),
            None => error(400, INPUT, NO_ORDER),
        },
        Route::Session => session(state, config, form),
    }
}

fn place(state: &mut State, variety: &str, form: &[(String, String)]) -> Reply {
    let new = match validate_order(variety, form) {
        Ok(new) => new,
        Err(message) => return error(400, INPUT, message),
    };
    let script = state.script.pop_front().unwrap_or(Placement::Accept);
    let quantity = new.quantity;
    let order_id = match &script {
        Placement::Reject {
            status,
            error_type,
            message,
        } => return error(*status, error_type, message.clone()),
        Placement::ServerError { status } => return server_error(*status),
        _ => state.create(new),
    };
    state.placements += 1;
    let scripted = match &script {
        Placement::AcceptAndFill { price } => state.fill(&order_id, quantity, *price).map(drop),
        Placement::AcceptAndReject { message } => state.update(&order_id, |order| {
            order.status = "REJECTED".to_owned();
            order.status_message = Some(message.clone());
            Ok(())
        }),
        _ => Ok(()),
    };
    if let Err(why) = scripted {
        // Unreachable: a fresh OPEN order takes any change the script makes.
        return error(500, "GeneralException", why);
    }
    let created = success(json!({ "order_id": order_id }));
    match script {
        Placement::AcceptThenDelay(delay) => Reply {
            delay: Some(delay),
            ..created
        },
        Placement::ServerErrorAfterCreate { status } => server_error(status),
        _ => created,
    }
}

fn cancel(state: &mut State, variety: &str, order_id: &str) -> Reply {
    if !is_variety(variety) {
        return error(400, INPUT, "Invalid `variety`.");
    }
    if state.order(order_id).is_none() {
        return error(400, INPUT, NO_ORDER);
    }
    let cancelled = state.update(order_id, |order| {
        if order.is_terminal() {
            return Err(format!(
                "Order cannot be cancelled as it is {}.",
                order.status.to_lowercase()
            ));
        }
        order.status = "CANCELLED".to_owned();
        Ok(())
    });
    match cancelled {
        Ok(()) => success(json!({ "order_id": order_id })),
        Err(message) => error(400, ORDER, message),
    }
}

fn session(state: &mut State, config: &FakeKiteConfig, form: &[(String, String)]) -> Reply {
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
