//! Tests of the read-only routes through the real app (`init_service`), over a memory store
//! holding real `Portfolio` JSON: probes, metrics, portfolios, positions, orders, actors,
//! strategies, and the JSON errors of unknown routes, wrong methods and a failing store.

use std::sync::Arc;

use actix_web::http::StatusCode;
use actix_web::test::TestRequest;
use serde_json::{Value, json};

use super::test_support::{Answer, Fixture, RELIANCE, call, tree};
use super::*;
use crate::testkit::DownStore;

async fn get(context: ApiContext, uri: &str) -> Answer {
    call(context, TestRequest::get().uri(uri)).await
}

#[actix_web::test]
async fn live_answers_live() {
    let answer = get(Fixture::new().await.context(), "/health/live").await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.json(), json!({ "status": "live" }));
}

#[actix_web::test]
async fn ready_when_every_check_passes() {
    let answer = get(Fixture::new().await.context(), "/health/ready").await;
    assert_eq!(answer.status, StatusCode::OK);
    let checks = json!([{ "name": "store", "ready": true, "detail": "memory" }]);
    assert_eq!(answer.json(), json!({ "ready": true, "checks": checks }));
}

#[actix_web::test]
async fn not_ready_is_503_naming_the_failing_check() {
    let mut fixture = Fixture::new().await;
    fixture
        .checks
        .push(ReadinessCheck::not_ready("kafka", "no broker answered"));
    let answer = get(fixture.context(), "/health/ready").await;
    assert_eq!(answer.status, StatusCode::SERVICE_UNAVAILABLE);
    let body = answer.json();
    assert_eq!(body["ready"], json!(false));
    assert_eq!(body["not_ready"], json!(["kafka: no broker answered"]));
    assert_eq!(body["checks"].as_array().unwrap().len(), 2);
}

#[actix_web::test]
async fn readiness_that_never_answers_is_not_ready_after_the_bound() {
    tokio::time::pause();
    let mut context = Fixture::new().await.context();
    context.readiness = Arc::new(|| Box::pin(futures::future::pending()));
    let answer = get(context, "/health/ready").await;
    assert_eq!(answer.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(
        answer.json()["not_ready"],
        json!(["readiness: the checks did not answer within 5s"])
    );
}

#[actix_web::test]
async fn metrics_are_prometheus_text() {
    let answer = get(Fixture::new().await.context(), "/metrics").await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.header("content-type"), "text/plain; version=0.0.4");
    assert_eq!(answer.body, b"# TYPE ticks_total counter\nticks_total 7\n");
}

#[actix_web::test]
async fn portfolios_of_enabled_brokers_without_applied_fill_ids() {
    let fixture = Fixture::new().await;
    let answer = get(fixture.context(), "/api/v1/portfolios").await;
    assert_eq!(answer.status, StatusCode::OK);
    let list = answer.json();
    let list = list.as_array().unwrap();
    let ids: Vec<(&str, &str)> = list
        .iter()
        .map(|p| {
            (
                p["broker"].as_str().unwrap(),
                p["strategy_id"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(ids, [("paper", "ema_cross_1"), ("paper", "momentum_1")]);
    for portfolio in list {
        assert!(portfolio.get("applied_fill_ids").is_none(), "{portfolio}");
    }
    // Otherwise as stored.
    let stored = fixture.store.get("paper:portfolio:momentum_1").await;
    let mut stored: Value = serde_json::from_str(&stored.unwrap().unwrap()).unwrap();
    assert_eq!(stored["applied_fill_ids"], json!(["f-1"]));
    stored.as_object_mut().unwrap().remove("applied_fill_ids");
    assert_eq!(list[1], stored);
    assert_eq!(list[1]["cash"], json!("74975.00"));
}

#[actix_web::test]
async fn one_portfolio_by_broker_and_strategy() {
    let fixture = Fixture::new().await;
    let answer = get(fixture.context(), "/api/v1/portfolios/paper/momentum_1").await;
    assert_eq!(answer.status, StatusCode::OK);
    let body = answer.json();
    assert_eq!(body["strategy_id"], json!("momentum_1"));
    assert_eq!(body["positions"][0]["quantity"], json!(10));
    assert!(body.get("applied_fill_ids").is_none());
    let cases = [
        ("/api/v1/portfolios/paper/nope", StatusCode::NOT_FOUND),
        (
            "/api/v1/portfolios/zerodha/momentum_1",
            StatusCode::NOT_FOUND,
        ),
        (
            "/api/v1/portfolios/nyse/momentum_1",
            StatusCode::BAD_REQUEST,
        ),
    ];
    for (uri, status) in cases {
        let answer = get(fixture.context(), uri).await;
        assert_eq!(answer.status, status, "{uri}");
        assert!(!answer.error().is_empty(), "{uri}");
    }
    let answer = get(fixture.context(), "/api/v1/portfolios/nyse/x").await;
    assert_eq!(
        answer.error(),
        "unknown broker \"nyse\"; expected one of paper, zerodha"
    );
    let answer = get(fixture.context(), "/api/v1/portfolios/zerodha/momentum_1").await;
    assert_eq!(answer.error(), "broker zerodha is not enabled");
}

#[actix_web::test]
async fn positions_are_flat_with_broker_and_strategy() {
    let fixture = Fixture::new().await;
    for uri in ["/api/v1/positions", "/api/v1/positions?broker=paper"] {
        let answer = get(fixture.context(), uri).await;
        assert_eq!(answer.status, StatusCode::OK, "{uri}");
        let body = answer.json();
        let rows = body.as_array().unwrap();
        assert_eq!(rows.len(), 1, "{body}");
        let row = &rows[0];
        assert_eq!(row["broker"], json!("paper"));
        assert_eq!(row["strategy_id"], json!("momentum_1"));
        assert_eq!(row["token"], json!(RELIANCE));
        assert_eq!(row["symbol"], json!("RELIANCE"));
        assert_eq!(row["quantity"], json!(10));
        assert_eq!(row["average_price"], json!("2500.50"));
    }
    let answer = get(fixture.context(), "/api/v1/positions?broker=nyse").await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    let answer = get(fixture.context(), "/api/v1/positions?broker=zerodha").await;
    assert_eq!(answer.status, StatusCode::NOT_FOUND);
}

#[actix_web::test]
async fn orders_pass_broker_and_limit_and_refuse_bad_limits() {
    let fixture = Fixture::new().await;
    let answer = get(fixture.context(), "/api/v1/orders").await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.json()[0]["state"], json!("FILLED"));
    let answer = get(fixture.context(), "/api/v1/orders?broker=paper&limit=5").await;
    assert_eq!(answer.status, StatusCode::OK);
    let answer = get(fixture.context(), "/api/v1/orders?broker=&limit=1000").await;
    assert_eq!(answer.status, StatusCode::OK);
    for limit in ["0", "1001", "-1", "abc", "1.5"] {
        let answer = get(fixture.context(), &format!("/api/v1/orders?limit={limit}")).await;
        assert_eq!(answer.status, StatusCode::BAD_REQUEST, "limit={limit}");
        assert_eq!(
            answer.error(),
            format!("limit must be an integer between 1 and 1000, got {limit:?}")
        );
    }
    let answer = get(fixture.context(), "/api/v1/orders?broker=nyse").await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    let calls = fixture.order_calls.lock().unwrap().clone();
    let expected = [(None, 100), (Some(Broker::Paper), 5), (None, 1000)];
    assert_eq!(calls, expected, "refused requests never reach the closure");
}

#[actix_web::test]
async fn actors_and_strategies() {
    let fixture = Fixture::new().await;
    let answer = get(fixture.context(), "/api/v1/actors").await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.json(), serde_json::to_value(tree()).unwrap());
    assert_eq!(answer.json()["actors"][0]["state"], json!("running"));
    let answer = get(fixture.context(), "/api/v1/strategies").await;
    assert_eq!(answer.status, StatusCode::OK);
    // The strategy runner runs elsewhere: the configuration, and no live view.
    let expected = json!([{
        "id": "momentum_1",
        "kind": "momentum",
        "enabled": true,
        "brokers": ["paper"],
        "instruments": ["RELIANCE"],
        "by_broker": [{
            "broker": "paper",
            "live": null,
            "note": "the strategy runner does not run in this process",
        }],
    }]);
    assert_eq!(answer.json(), expected);
}

#[test]
fn strategy_info_from_settings() {
    let settings = crate::settings::Settings::load_from(None, &Default::default()).unwrap();
    let infos = StrategyInfo::from_settings(&settings.strategies);
    assert_eq!(infos.len(), settings.strategies.len());
    let first = &infos[0];
    let config = &settings.strategies[&first.id];
    assert_eq!(first.kind, config.params.kind());
    assert_eq!(first.brokers, config.brokers);
}

#[actix_web::test]
async fn store_down_is_503() {
    let mut fixture = Fixture::new().await;
    fixture.store = Arc::new(DownStore);
    for uri in [
        "/api/v1/portfolios",
        "/api/v1/portfolios/paper/momentum_1",
        "/api/v1/positions",
    ] {
        let answer = get(fixture.context(), uri).await;
        assert_eq!(answer.status, StatusCode::SERVICE_UNAVAILABLE, "{uri}");
        assert_eq!(answer.error(), "store unavailable: connection refused");
    }
}

#[actix_web::test]
async fn unreadable_stored_portfolio_is_a_server_fault() {
    let fixture = Fixture::new().await;
    let put = fixture.store.put(
        "paper:portfolios",
        "paper:portfolio:broken",
        "{not json".into(),
    );
    put.await.unwrap();
    let answer = get(fixture.context(), "/api/v1/portfolios/paper/broken").await;
    assert_eq!(answer.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(
        answer
            .error()
            .starts_with("the stored portfolio paper:portfolio:broken")
    );
}

#[actix_web::test]
async fn unknown_route_and_wrong_method_answer_json() {
    let fixture = Fixture::new().await;
    let answer = get(fixture.context(), "/api/v1/nope").await;
    assert_eq!(answer.status, StatusCode::NOT_FOUND);
    assert_eq!(answer.error(), "no route for GET /api/v1/nope");
    let answer = call(fixture.context(), TestRequest::post().uri("/health/live")).await;
    assert_eq!(answer.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(answer.error(), "method POST is not allowed here");
}
