//! The daemon's HTTP API: health and readiness probes, Prometheus metrics, the read models
//! (portfolios, positions, orders, strategies, the supervision tree), the kill switch and a
//! live stream of pipeline events.
//!
//! Why: operators, probes and dashboards need the daemon's state without reading Kafka or
//! Redis themselves, and a human must be able to halt trading without a restart.
//!
//! The daemon builds an [`ApiContext`] (the pieces the routes read: the store, closures
//! over the supervision board, readiness checks, metrics and recent orders, the risk
//! manager's kill switch, the strategy runner, the event channel) and calls [`serve`]; the
//! API owns nothing else.
//!
//! | route | answer |
//! |---|---|
//! | `GET /` | the browser dashboard (`web/`, embedded; `api/dashboard.rs`), its files under `GET /assets/{name}` |
//! | `GET /health/live` | 200 `{"status":"live"}` |
//! | `GET /health/ready` | 200 `{"ready":true,"checks":[..]}`, else 503 with `not_ready` naming each failing check (`actors`, `broker`, `consumers`, `feed`, `store`: `cli/readiness.rs`); with the runner here, a `strategies` check names the disabled strategies and fails while one is disabled for failing |
//! | `GET /metrics` | Prometheus text, `text/plain; version=0.0.4` |
//! | `GET /api/v1/portfolios` | every portfolio of the enabled brokers |
//! | `GET /api/v1/portfolios/{broker}/{strategy}` | one portfolio |
//! | `GET /api/v1/portfolios/{broker}/{strategy}/curve` | the day's P&L curve: `{broker, strategy_id, day, points: [{at, day, realized, unrealized, charges, net}]}` oldest first (`portfolio/curve.rs`) |
//! | `GET /api/v1/positions[?broker=]` | positions, each with `broker` and `strategy_id` |
//! | `GET /api/v1/orders[?broker=&limit=]` | recent orders, newest first (limit 1..=1000) |
//! | `GET /api/v1/actors` | the supervision tree |
//! | `GET /api/v1/strategies` | each configured strategy (`id`, `kind`, `enabled` in config, `brokers`, `instruments`) with `by_broker: [{broker, live, note}]`: `live` is the runner's view (`enabled`, `disabled_by`, `disabled_reason`, `consecutive_failures`, `instruments: [{token, symbol, position, pending}]`, `last_signal`), or `null` with a `note` saying why (not run by the configuration, runner elsewhere or not answering within 2 s); see `api/strategies.rs` |
//! | `POST /api/v1/strategies/{id}/{disable,enable}[?broker=]` | the strategy switch (bearer token; optional body `{"reason": "..."}`): `{"id", "by_broker": [..]}` as switched |
//! | `GET /api/v1/risk/{broker}` | the risk manager's view: `state` in force, `kill_switch`, `held`, `day`, `realized_pnl`, `unrealized_pnl`, `loss_limit_reached`, `strategies_at_loss_limit`, `daily_trades`, `positions`, `open_orders` (each in flight with what `remaining`); 503 when the risk manager runs elsewhere or does not answer within 2 s |
//! | `POST /api/v1/trading/{broker}/{halt,reduce,resume,flatten}` | the kill switch; `flatten` also closes every position (bearer token) |
//! | `GET /api/v1/events[?kinds=a,b]` | Server-Sent Events; an unknown kind is a 400 naming it and the valid ones |
//!
//! Invariants:
//! - Every answer is JSON except the dashboard's files, `/metrics` (Prometheus text) and
//!   `/api/v1/events` (SSE).
//!   An error is `{"error": "..."}`: 400 bad input, 401 authentication, 404 unknown
//!   resource or route, 405 wrong method, 429 locked out after failed control attempts,
//!   503 not available here or now. 500 only for a
//!   fault of the server (an unreadable stored portfolio), never for a client's mistake.
//! - The API reads the store and never writes it; the two things it changes are a broker's
//!   trading state, through the risk manager, which answers with the state in force, and
//!   whether a strategy runs, through the strategy runner, which answers with its view.
//! - A strategy disabled for failing makes the process not ready (the `strategies` check
//!   names it and why; the others keep trading); one disabled by an operator does not.
//! - Both control endpoints check in the same order: token configured (503), the client
//!   address not locked out (429 with `Retry-After`: 5 failed attempts within 60 s lock
//!   an address out for 60 s, even with the right token; `api/lockout.rs`), bearer token
//!   (401), then the path, query and body (`api/control.rs`). Failures are logged once
//!   per window per address with a count, not once per attempt.
//! - A client's mistake (any 4xx) logs nothing above INFO; only a 500 logs an ERROR.
//! - The control token is compared in constant time (SHA-256 of both sides, then
//!   `subtle::ConstantTimeEq` on the digests, so neither content nor length leaks through
//!   timing) and is never logged; an empty token turns the control endpoints off (503).
//! - Portfolios are served as stored, minus `applied_fill_ids` (it grows all day).
//! - [`ApiServer::stop`] ends the open event streams first, so it is never held up by them.

mod control;
mod dashboard;
mod errors;
mod events;
mod lockout;
mod portfolios;
mod routes;
mod strategies;

#[cfg(test)]
mod test_support;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_control;
#[cfg(test)]
mod tests_events;
#[cfg(test)]
mod tests_strategies;

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::Arc;

use actix_web::body::MessageBody;
use actix_web::dev::{ServerHandle, ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::{App, HttpServer, web};
use futures::future::BoxFuture;
use serde::{Deserialize, Serialize};
use tokio::sync::{broadcast, watch};

pub use crate::actors::event_hub::ApiEvent;
use crate::actors::risk_manager::SetTradingState;
use crate::messages::Broker;
use crate::settings::{Secret, StrategyConfig};
use crate::store::Store;
use crate::supervision::Tree;
use errors::ApiError;
pub use strategies::RunnerLink;

/// Longest a graceful stop waits for open connections, seconds. Every request of this API
/// is short once the event streams are ended, and an idle keep-alive connection would
/// otherwise hold the stop for its whole timeout.
const SHUTDOWN_TIMEOUT_SECS: u64 = 2;

/// Everything the routes read, handed over by the daemon.
pub struct ApiContext {
    /// The enabled brokers; every other broker is answered 404.
    pub brokers: Vec<Broker>,
    /// The read model: portfolios at `{broker}:portfolio:{strategy}`, indexed by
    /// `{broker}:portfolios`.
    pub store: Arc<dyn Store>,
    /// The configured strategies, as `GET /api/v1/strategies` lists them.
    pub strategies: Vec<StrategyInfo>,
    /// Bearer token of `POST /api/v1/trading/...`; empty turns them off (503).
    pub control_token: Secret,
    /// The risk manager's kill switch; `None` when it runs in another process (503).
    pub kill_switch: Option<actix::Recipient<SetTradingState>>,
    /// The risk manager's flatten (`POST /api/v1/trading/{broker}/flatten`), when it runs
    /// in this process.
    pub flatten: Option<actix::Recipient<crate::actors::risk_manager::Flatten>>,
    /// The risk manager's view (`GET /api/v1/risk/{broker}`), when it runs here.
    pub risk_view: Option<actix::Recipient<crate::actors::risk_manager::GetRiskView>>,
    /// The strategy runner; `None` when it runs in another process (the live views are
    /// `null`, the strategy switch answers 503).
    pub strategy_runner: Option<RunnerLink>,
    /// Instrument symbols by token, to name the instruments of the live views (a token not
    /// here is shown with `symbol: null`).
    pub symbols: HashMap<u32, String>,
    /// A snapshot of the supervision tree.
    pub tree: Arc<dyn Fn() -> Tree + Send + Sync>,
    /// Runs the readiness checks (the API bounds the wait, see `GET /health/ready`).
    pub readiness: Arc<dyn Fn() -> BoxFuture<'static, Vec<ReadinessCheck>> + Send + Sync>,
    /// The Prometheus text exposition, rendered by the caller.
    pub metrics: Arc<dyn Fn() -> String + Send + Sync>,
    /// Live pipeline events; each `GET /api/v1/events` subscribes.
    pub events: broadcast::Sender<ApiEvent>,
    /// Recent orders with their states, newest first: `(broker or all, at most n)`.
    pub orders: Arc<dyn Fn(Option<Broker>, usize) -> Vec<serde_json::Value> + Send + Sync>,
}

impl ApiContext {
    /// The broker named `name` if it is enabled here.
    ///
    /// # Errors
    /// [`ApiError::BadRequest`] for a name that is no broker, [`ApiError::NotFound`] for a
    /// broker that is not enabled.
    fn enabled_broker(&self, name: &str) -> Result<Broker, ApiError> {
        let broker = Broker::ALL
            .into_iter()
            .find(|b| b.as_str().eq_ignore_ascii_case(name.trim()))
            .ok_or_else(|| {
                let known: Vec<&str> = Broker::ALL.iter().map(|b| b.as_str()).collect();
                ApiError::BadRequest(format!(
                    "unknown broker {name:?}; expected one of {}",
                    known.join(", ")
                ))
            })?;
        if self.brokers.contains(&broker) {
            Ok(broker)
        } else {
            Err(ApiError::NotFound(format!(
                "broker {broker} is not enabled"
            )))
        }
    }
}

/// One configured strategy, as `GET /api/v1/strategies` lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StrategyInfo {
    /// The id of `[strategies.<id>]`.
    pub id: String,
    /// `params.kind`: `momentum`, `mean_reversion`, `rsi` or `ema_cross`.
    pub kind: String,
    /// Whether it runs.
    pub enabled: bool,
    /// The brokers its signals go to.
    pub brokers: Vec<Broker>,
    /// The instrument symbols it trades.
    pub instruments: Vec<String>,
}

impl StrategyInfo {
    /// One entry per configured strategy, in id order (`settings.strategies`).
    pub fn from_settings(strategies: &BTreeMap<String, StrategyConfig>) -> Vec<StrategyInfo> {
        strategies
            .iter()
            .map(|(id, config)| StrategyInfo {
                id: id.clone(),
                kind: config.params.kind().to_owned(),
                enabled: config.enabled,
                brokers: config.brokers.clone(),
                instruments: config.instruments.clone(),
            })
            .collect()
    }
}

pub use crate::telemetry::readiness::ReadinessCheck;

/// The application state behind every route: the context and the stop signal of the
/// event streams (owned here, so it lives exactly as long as the app).
pub(crate) struct ApiState {
    pub(crate) context: ApiContext,
    closing: watch::Sender<bool>,
    /// Failed control attempts per client address (`api/lockout.rs`).
    lockout: lockout::Lockout,
}

impl ApiState {
    /// The state of an API over `context`, not closing.
    pub(crate) fn new(context: ApiContext) -> web::Data<ApiState> {
        web::Data::new(ApiState {
            context,
            closing: watch::Sender::new(false),
            lockout: lockout::Lockout::default(),
        })
    }

    /// Ends every open event stream (and every later one at once).
    pub(crate) fn close(&self) {
        self.closing.send_replace(true);
    }
}

/// The API as an actix-web application over `state`; [`serve`] runs it, tests call it
/// with `actix_web::test::init_service`.
pub(crate) fn app(
    state: web::Data<ApiState>,
) -> App<
    impl ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<impl MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    App::new()
        .app_data(state)
        .app_data(errors::query_config())
        .app_data(errors::path_config())
        .configure(routes::configure)
        .default_service(web::to(errors::no_route))
}

/// The running API server.
pub struct ApiServer {
    /// The bound address (the actual port when asked for port 0).
    pub addr: SocketAddr,
    handle: ServerHandle,
    state: web::Data<ApiState>,
}

impl ApiServer {
    /// Ends the event streams, then stops the server, waiting at most 2 s for open
    /// connections. Dropping an `ApiServer` without `stop` leaves the server running.
    pub async fn stop(self) {
        self.state.close();
        self.handle.stop(true).await;
    }
}

/// Binds `listen` and serves the API on the current Tokio runtime (one worker thread; the
/// daemon handles signals, so the server does not).
///
/// # Errors
/// The address could not be bound (in use, not local, no permission).
pub async fn serve(listen: SocketAddr, context: ApiContext) -> std::io::Result<ApiServer> {
    let state = ApiState::new(context);
    let for_workers = state.clone();
    let server = HttpServer::new(move || app(for_workers.clone()))
        .workers(1)
        .disable_signals()
        .shutdown_timeout(SHUTDOWN_TIMEOUT_SECS)
        .bind(listen)?;
    let addr = server
        .addrs()
        .first()
        .copied()
        .ok_or_else(|| std::io::Error::other("the HTTP API bound no address"))?;
    let server = server.run();
    let handle = server.handle();
    tokio::spawn(async move {
        if let Err(error) = server.await {
            tracing::error!(%error, "HTTP API server failed");
        }
    });
    tracing::info!(%addr, "HTTP API listening");
    Ok(ApiServer {
        addr,
        handle,
        state,
    })
}
