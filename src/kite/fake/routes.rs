//! The HTTP side of the fake: one catch-all actix-web handler that checks a request the way
//! Kite does, routes it, applies it to the [`State`] and records it.
//!
//! Check order (each failure answers Kite's error envelope and has no effect):
//! 1. scripted rate limit, `rate_limit_next` (429, any request);
//! 2. `X-Kite-Version: 3` (400);
//! 3. known route (404);
//! 4. `Authorization` (403, except `POST /session/token`);
//! 5. strict order windows, place/modify/cancel only (429, counted in `rate_violations`;
//!    see `rate`);
//! 6. scripted GET failure (5xx);
//! 7. form body (400);
//! 8. the endpoint's own rules:
//!    - place: fields (400 InputException, `form`) → contract, lot, freeze and tick (400
//!      InputException, `market`) → the placement script (a scripted refusal creates
//!      nothing) → the order exists → LPP (the order is REJECTED, answer 200; not when the
//!      script fills or rejects it) → auto-execution (`execution`);
//!    - modify: variety → order exists (400 InputException) → not terminal (400
//!      OrderException) → fields (400 InputException) → contract, lot, freeze and tick
//!      (400 InputException) → LPP (400 OrderException) → the change → auto-execution
//!      (`modify`);
//!    - cancel: variety → order exists (400 InputException) → not terminal (400
//!      OrderException) → CANCELLED.
//!    - historical: the span and query checks, then candles (`historical`).
//!    - instruments: the master as scripted (`instruments`), CSV, not Kite's JSON envelope.
//!
//! Every request is recorded, under the same lock that applies it, so the record order is
//! the order in which the fake acted. Nothing here logs a header or a form field: tokens and
//! checksums never reach the logs.

use super::form::{decode_form, is_form_content_type, is_variety, validate_order};
use super::historical::HistoricalRequest;
use super::reply::{
    INPUT, NO_ORDER, ORDER, Reply, TOKEN, error, raw, server_error, success, too_many_requests,
};
use super::state::{State, ist_now};
use super::{FakeKiteConfig, Placement, RecordedRequest, Shared, modify, portfolio, session};
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::{Value, json};

const BAD_TOKEN: &str = "Incorrect `api_key` or `access_token`.";

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

enum Route<'a> {
    Place(&'a str),
    Modify(&'a str, &'a str),
    Cancel(&'a str, &'a str),
    Orders,
    History(&'a str),
    Trades,
    OrderTrades(&'a str),
    Positions,
    Holdings,
    Instruments,
    Historical(&'a str, &'a str),
    Ltp,
    Session,
}

impl Route<'_> {
    /// Whether the strict order windows count it.
    fn is_order_request(&self) -> bool {
        matches!(
            self,
            Route::Place(_) | Route::Modify(..) | Route::Cancel(..)
        )
    }
}

fn route<'a>(method: &str, path: &'a str) -> Option<Route<'a>> {
    let segments: Vec<&str> = path.strip_prefix('/')?.split('/').collect();
    Some(match (method, segments.as_slice()) {
        ("POST", ["orders", variety]) => Route::Place(variety),
        ("PUT", ["orders", variety, order_id]) => Route::Modify(variety, order_id),
        ("DELETE", ["orders", variety, order_id]) => Route::Cancel(variety, order_id),
        ("GET", ["orders"]) => Route::Orders,
        ("GET", ["orders", order_id]) => Route::History(order_id),
        ("GET", ["trades"]) => Route::Trades,
        ("GET", ["orders", order_id, "trades"]) => Route::OrderTrades(order_id),
        ("GET", ["portfolio", "positions"]) => Route::Positions,
        ("GET", ["portfolio", "holdings"]) => Route::Holdings,
        ("GET", ["instruments"]) => Route::Instruments,
        ("GET", ["instruments", "historical", token, interval]) => {
            Route::Historical(token, interval)
        }
        ("GET", ["quote", "ltp"]) => Route::Ltp,
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
    let mut response =
        HttpResponse::build(StatusCode::from_u16(reply.status).unwrap_or(StatusCode::BAD_GATEWAY));
    match reply.raw {
        Some(raw) => {
            if raw.gzip_header {
                response.insert_header(("Content-Encoding", "gzip"));
            }
            response
                .content_type(raw.content_type)
                .body(raw.bytes.as_ref().clone())
        }
        None => response
            .content_type("application/json")
            .body(reply.body.to_string()),
    }
}

fn answer(state: &mut State, config: &FakeKiteConfig, req: &Incoming) -> Reply {
    if req.method == "GET" && req.path.starts_with("/instruments/historical/") {
        // Recorded on arrival, before any check: a test reads the client's rate from it.
        state.historical.requests.push(HistoricalRequest {
            at: std::time::Instant::now(),
            path: req.path.clone(),
            query: req.query.clone(),
        });
    }
    if state.rate_limited > 0 {
        state.rate_limited -= 1;
        return too_many_requests();
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
    if route.is_order_request() && !state.rate.admit() {
        return too_many_requests();
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
        Route::Modify(variety, order_id) => modify::modify(state, variety, order_id, form),
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
        Route::Positions => success(portfolio::positions_json(state)),
        Route::Holdings => success(portfolio::holdings_json(state)),
        Route::Instruments => raw(state.master.body(ist_now().date_naive())),
        Route::Historical(token, interval) => {
            super::historical::answer(&mut state.historical, token, interval, &req.query)
        }
        Route::Ltp => match decode_form(req.query.as_bytes()) {
            Ok(query) => success(state.market.ltp_json(&query)),
            Err(why) => error(400, INPUT, format!("Invalid query: {why}.")),
        },
        Route::Session => session::session(state, config, form),
    }
}

fn place(state: &mut State, variety: &str, form: &[(String, String)]) -> Reply {
    let new = match validate_order(variety, form) {
        Ok(new) => new,
        Err(message) => return error(400, INPUT, message),
    };
    if let Err(message) = state.market.check_grid(&new.terms()) {
        return error(400, INPUT, message);
    }
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
        _ => state.settle_placed(&order_id),
    };
    if let Err(why) = scripted {
        // Unreachable: a fresh OPEN order takes any change the script or the market makes.
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
