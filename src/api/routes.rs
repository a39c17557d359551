//! The route table and the read-only handlers: probes, metrics and the read models.
//!
//! Each route is a resource whose other methods answer 405 in the JSON error shape. Query
//! parameters are read as text and checked here, so a bad value is a 400 that says which
//! parameter and why; an empty parameter (`?broker=`) counts as absent.

use std::time::Duration;

use actix_web::{HttpResponse, Resource, web};
use serde::Deserialize;
use serde_json::json;

use super::errors::{self, ApiError};
use super::{ApiState, ReadinessCheck, control, dashboard, events, portfolios, strategies};
use crate::messages::Broker;

/// Longest `GET /health/ready` waits for the readiness checks.
const READINESS_TIMEOUT: Duration = Duration::from_secs(5);

/// `GET /api/v1/orders` without `limit`.
const DEFAULT_ORDER_LIMIT: usize = 100;

/// Largest `limit` of `GET /api/v1/orders`.
const MAX_ORDER_LIMIT: usize = 1000;

/// The Prometheus text exposition format.
const METRICS_CONTENT_TYPE: &str = "text/plain; version=0.0.4";

type State = web::Data<ApiState>;

/// Registers every route.
pub(super) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/").route(web::get().to(dashboard::index)))
        .service(resource("/assets/{name}").route(web::get().to(dashboard::asset)))
        .service(resource("/favicon.ico").route(web::get().to(dashboard::favicon)))
        .service(resource("/health/live").route(web::get().to(live)))
        .service(resource("/health/ready").route(web::get().to(ready)))
        .service(resource("/metrics").route(web::get().to(metrics)))
        .service(resource("/api/v1/portfolios").route(web::get().to(all_portfolios)))
        .service(resource("/api/v1/portfolios/{broker}/{strategy}").route(web::get().to(portfolio)))
        .service(
            resource("/api/v1/portfolios/{broker}/{strategy}/curve")
                .route(web::get().to(portfolio_curve)),
        )
        .service(resource("/api/v1/positions").route(web::get().to(positions)))
        .service(resource("/api/v1/orders").route(web::get().to(orders)))
        .service(resource("/api/v1/actors").route(web::get().to(actors)))
        .service(resource("/api/v1/risk/{broker}").route(web::get().to(risk)))
        .service(resource("/api/v1/strategies").route(web::get().to(strategies::list)))
        .service(
            resource("/api/v1/strategies/{id}/{action}")
                .route(web::post().to(control::switch_strategy)),
        )
        .service(
            resource("/api/v1/trading/{broker}/{action}")
                .route(web::post().to(control::set_trading_state)),
        )
        .service(resource("/api/v1/events").route(web::get().to(events::stream)));
}

/// A resource whose unserved methods answer 405 as JSON.
fn resource(path: &str) -> Resource {
    web::resource(path).default_service(web::to(errors::method_not_allowed))
}

async fn live() -> HttpResponse {
    HttpResponse::Ok().json(json!({ "status": "live" }))
}

async fn ready(state: State) -> HttpResponse {
    let ctx = &state.context;
    let (checks, strategy_check) = futures::join!(
        tokio::time::timeout(READINESS_TIMEOUT, (ctx.readiness)()),
        strategies::readiness(ctx.strategy_runner.as_ref()),
    );
    let mut checks = match checks {
        Ok(checks) => checks,
        Err(_) => vec![ReadinessCheck::not_ready(
            "readiness",
            format!("the checks did not answer within {READINESS_TIMEOUT:?}"),
        )],
    };
    checks.extend(strategy_check);
    let not_ready: Vec<String> = checks
        .iter()
        .filter(|c| !c.ready)
        .map(|c| format!("{}: {}", c.name, c.detail))
        .collect();
    if not_ready.is_empty() {
        HttpResponse::Ok().json(json!({ "ready": true, "checks": checks }))
    } else {
        HttpResponse::ServiceUnavailable().json(json!({
            "ready": false,
            "not_ready": not_ready,
            "checks": checks,
        }))
    }
}

async fn metrics(state: State) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(METRICS_CONTENT_TYPE)
        .body((state.context.metrics)())
}

async fn all_portfolios(state: State) -> Result<HttpResponse, ApiError> {
    let ctx = &state.context;
    let list = portfolios::of_brokers(ctx.store.as_ref(), &ctx.brokers).await?;
    Ok(HttpResponse::Ok().json(list))
}

async fn portfolio(
    state: State,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let ctx = &state.context;
    let (broker, strategy_id) = path.into_inner();
    let broker = ctx.enabled_broker(&broker)?;
    match portfolios::one(ctx.store.as_ref(), broker, &strategy_id).await? {
        Some(view) => Ok(HttpResponse::Ok().json(view)),
        None => Err(no_portfolio(broker, &strategy_id)),
    }
}

async fn portfolio_curve(
    state: State,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let ctx = &state.context;
    let (broker, strategy_id) = path.into_inner();
    let broker = ctx.enabled_broker(&broker)?;
    match portfolios::curve(ctx.store.as_ref(), broker, &strategy_id).await? {
        Some(curve) => Ok(HttpResponse::Ok().json(curve)),
        None => Err(no_portfolio(broker, &strategy_id)),
    }
}

fn no_portfolio(broker: Broker, strategy_id: &str) -> ApiError {
    ApiError::NotFound(format!(
        "no portfolio of strategy {strategy_id:?} on {broker}"
    ))
}

/// `?broker=` of the list routes and the strategy switch.
#[derive(Debug, Deserialize)]
pub(super) struct BrokerQuery {
    pub(super) broker: Option<String>,
}

/// `?broker=&limit=` of `GET /api/v1/orders`.
#[derive(Debug, Deserialize)]
struct OrdersQuery {
    broker: Option<String>,
    limit: Option<String>,
}

/// A non-empty query parameter.
fn given(value: &Option<String>) -> Option<&str> {
    value.as_deref().map(str::trim).filter(|v| !v.is_empty())
}

/// The enabled broker named by `?broker=`, or `None` (all enabled) when absent.
pub(super) fn broker_filter(
    state: &ApiState,
    name: &Option<String>,
) -> Result<Option<Broker>, ApiError> {
    given(name)
        .map(|name| state.context.enabled_broker(name))
        .transpose()
}

async fn positions(state: State, query: web::Query<BrokerQuery>) -> Result<HttpResponse, ApiError> {
    let ctx = &state.context;
    let brokers = match broker_filter(&state, &query.broker)? {
        Some(broker) => vec![broker],
        None => ctx.brokers.clone(),
    };
    let list = portfolios::of_brokers(ctx.store.as_ref(), &brokers).await?;
    Ok(HttpResponse::Ok().json(portfolios::positions(&list)))
}

/// `limit` as given, or the default; 1..=[`MAX_ORDER_LIMIT`].
fn order_limit(limit: &Option<String>) -> Result<usize, ApiError> {
    let Some(text) = given(limit) else {
        return Ok(DEFAULT_ORDER_LIMIT);
    };
    text.parse::<usize>()
        .ok()
        .filter(|n| (1..=MAX_ORDER_LIMIT).contains(n))
        .ok_or_else(|| {
            ApiError::BadRequest(format!(
                "limit must be an integer between 1 and {MAX_ORDER_LIMIT}, got {text:?}"
            ))
        })
}

async fn orders(state: State, query: web::Query<OrdersQuery>) -> Result<HttpResponse, ApiError> {
    let broker = broker_filter(&state, &query.broker)?;
    let limit = order_limit(&query.limit)?;
    Ok(HttpResponse::Ok().json((state.context.orders)(broker, limit)))
}

async fn actors(state: State) -> HttpResponse {
    HttpResponse::Ok().json((state.context.tree)())
}

/// Longest the risk manager may take to show its view.
const RISK_VIEW_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(2);

/// `GET /api/v1/risk/{broker}`: the risk manager's view of one broker.
async fn risk(state: State, path: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let ctx = &state.context;
    let broker = ctx.enabled_broker(&path.into_inner())?;
    let Some(view) = &ctx.risk_view else {
        return Err(ApiError::Unavailable(
            "the risk manager does not run in this process".to_owned(),
        ));
    };
    match view
        .send(crate::actors::risk_manager::GetRiskView(broker))
        .timeout(RISK_VIEW_TIMEOUT)
        .await
    {
        Ok(Some(view)) => Ok(HttpResponse::Ok().json(view)),
        Ok(None) => Err(ApiError::NotFound(format!("no risk limits for {broker}"))),
        Err(e) => Err(ApiError::Unavailable(format!(
            "the risk manager did not answer: {e}"
        ))),
    }
}
