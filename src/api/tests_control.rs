//! Tests of the kill switch over HTTP: the order of its checks, the bearer token, the
//! lockout of an address guessing tokens, and what the risk manager (a probe) receives — or
//! does not.

use std::time::Duration;

use actix_web::http::StatusCode;
use actix_web::test::TestRequest;
use serde_json::json;

use super::test_support::{Answer, Fixture, TOKEN, call};
use crate::actors::risk_manager::SetTradingState;
use crate::messages::Broker;
use crate::risk::TradingState;
use crate::testkit::Probe;

/// Long enough for a message that was sent to have arrived.
const NOTHING_WITHIN: Duration = Duration::from_millis(50);

const WAIT: Duration = Duration::from_secs(2);

/// A fixture whose kill switch is a probe answering with the requested state.
async fn with_kill_switch() -> (Fixture, Probe<SetTradingState>) {
    let probe = Probe::with_reply(|m: &SetTradingState| Ok(m.state));
    let mut fixture = Fixture::new().await;
    fixture.kill_switch = Some(probe.recipient());
    (fixture, probe)
}

async fn post(fixture: &Fixture, uri: &str, authorization: Option<&str>) -> Answer {
    let mut req = TestRequest::post().uri(uri);
    if let Some(value) = authorization {
        req = req.insert_header(("Authorization", value));
    }
    call(fixture.context(), req).await
}

fn bearer() -> String {
    format!("Bearer {TOKEN}")
}

#[actix_web::test]
async fn each_action_sets_its_state_with_the_right_token() {
    let (fixture, mut probe) = with_kill_switch().await;
    let cases = [
        ("halt", TradingState::Halted, "HALTED"),
        ("reduce", TradingState::Reducing, "REDUCING"),
        ("resume", TradingState::Active, "ACTIVE"),
    ];
    for (action, state, wire) in cases {
        let uri = format!("/api/v1/trading/paper/{action}");
        let answer = post(&fixture, &uri, Some(&bearer())).await;
        assert_eq!(answer.status, StatusCode::OK, "{action}");
        assert_eq!(answer.json(), json!({ "broker": "paper", "state": wire }));
        let sent = probe.expect_msg(WAIT).await;
        assert_eq!(
            (sent.broker, sent.state),
            (Broker::Paper, state),
            "{action}"
        );
    }
    probe.expect_no_msg(NOTHING_WITHIN).await;
}

#[actix_web::test]
async fn missing_or_wrong_token_is_401_and_changes_nothing() {
    let (fixture, mut probe) = with_kill_switch().await;
    let wrong = format!("Bearer {TOKEN}x");
    let basic = format!("Basic {TOKEN}");
    for authorization in [
        None,
        Some(wrong.as_str()),
        Some(basic.as_str()),
        Some("Bearer"),
    ] {
        let answer = post(&fixture, "/api/v1/trading/paper/halt", authorization).await;
        assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "{authorization:?}");
        assert_eq!(answer.header("www-authenticate"), "Bearer");
        assert_eq!(
            answer.json(),
            json!({ "error": "missing or invalid bearer token" })
        );
    }
    // Authentication comes first: an unauthenticated caller learns nothing about brokers.
    let answer = post(&fixture, "/api/v1/trading/nyse/explode", None).await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    probe.expect_no_msg(NOTHING_WITHIN).await;
}

#[actix_web::test]
async fn scheme_is_case_insensitive() {
    let (fixture, mut probe) = with_kill_switch().await;
    let authorization = format!("bearer {TOKEN}");
    let answer = post(&fixture, "/api/v1/trading/paper/halt", Some(&authorization)).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(probe.expect_msg(WAIT).await.state, TradingState::Halted);
}

#[actix_web::test]
async fn empty_control_token_turns_the_endpoints_off() {
    let (mut fixture, mut probe) = with_kill_switch().await;
    fixture.control_token = String::new();
    for authorization in [None, Some("Bearer "), Some("Bearer anything")] {
        let answer = post(&fixture, "/api/v1/trading/paper/halt", authorization).await;
        assert_eq!(answer.status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(answer.error(), "control_token is not set");
    }
    probe.expect_no_msg(NOTHING_WITHIN).await;
}

#[actix_web::test]
async fn bad_broker_unknown_action_and_no_kill_switch() {
    let (fixture, mut probe) = with_kill_switch().await;
    let cases = [
        (
            "/api/v1/trading/nyse/halt",
            StatusCode::BAD_REQUEST,
            "unknown broker \"nyse\"; expected one of paper, zerodha",
        ),
        (
            "/api/v1/trading/zerodha/halt",
            StatusCode::NOT_FOUND,
            "broker zerodha is not enabled",
        ),
        (
            "/api/v1/trading/paper/explode",
            StatusCode::NOT_FOUND,
            "unknown action \"explode\"; expected halt, reduce, resume or flatten",
        ),
        (
            "/api/v1/trading/paper",
            StatusCode::NOT_FOUND,
            "no route for POST /api/v1/trading/paper",
        ),
    ];
    for (uri, status, error) in cases {
        let answer = post(&fixture, uri, Some(&bearer())).await;
        assert_eq!(
            (answer.status, answer.error().as_str()),
            (status, error),
            "{uri}"
        );
    }
    let answer = call(
        fixture.context(),
        TestRequest::get().uri("/api/v1/trading/paper/halt"),
    )
    .await;
    assert_eq!(answer.status, StatusCode::METHOD_NOT_ALLOWED);
    probe.expect_no_msg(NOTHING_WITHIN).await;

    let mut elsewhere = Fixture::new().await;
    elsewhere.kill_switch = None;
    let answer = post(&elsewhere, "/api/v1/trading/paper/halt", Some(&bearer())).await;
    assert_eq!(answer.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(
        answer.json(),
        json!({ "error": "the risk manager does not run in this process" })
    );
}

#[actix_web::test]
async fn refusal_of_the_risk_manager_is_503_with_its_message() {
    let probe = Probe::with_reply(|m: &SetTradingState| {
        Err(format!("no risk limits for broker {}", m.broker))
    });
    let mut fixture = Fixture::new().await;
    fixture.kill_switch = Some(probe.recipient());
    let answer = post(&fixture, "/api/v1/trading/paper/resume", Some(&bearer())).await;
    assert_eq!(answer.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(answer.error(), "no risk limits for broker paper");
}

#[actix_web::test]
async fn answer_is_the_state_the_risk_manager_reports() {
    // A hold keeps a broker halted whatever is asked: the answer says so.
    let probe = Probe::with_reply(|_: &SetTradingState| Ok(TradingState::Halted));
    let mut fixture = Fixture::new().await;
    fixture.kill_switch = Some(probe.recipient());
    let answer = post(&fixture, "/api/v1/trading/paper/resume", Some(&bearer())).await;
    assert_eq!(answer.status, StatusCode::OK);
    let body = answer.json();
    assert_eq!(body["state"], json!("HALTED"));
    assert_eq!(body["saved"], json!("ACTIVE"), "what the kill switch saved");
    assert!(
        body["held"]
            .as_str()
            .unwrap()
            .starts_with("an in-process hold keeps"),
        "{body}"
    );
}

/// A real risk manager behind the API (an in-memory store, a producer that acknowledges).
async fn with_risk_manager() -> (
    Fixture,
    actix::Addr<crate::actors::risk_manager::RiskManager>,
) {
    use actix::Actor;
    let out = Probe::<crate::streaming::producer::Publish>::acking_producer();
    let risk = crate::actors::risk_manager::RiskManager::new(
        std::collections::BTreeMap::from([(Broker::Paper, crate::risk::RiskLimits::default())]),
        crate::streaming::ProducerHandle::new(out.recipient()),
        std::sync::Arc::new(crate::store::MemoryStore::default()),
    )
    .start();
    let mut fixture = Fixture::new().await;
    fixture.kill_switch = Some(risk.clone().recipient());
    fixture.flatten = Some(risk.clone().recipient());
    fixture.risk_view = Some(risk.clone().recipient());
    (fixture, risk)
}

#[actix_web::test]
async fn flatten_needs_the_token_and_answers_with_the_orders_sent() {
    let (fixture, _risk) = with_risk_manager().await;
    let refused = post(&fixture, "/api/v1/trading/paper/flatten", None).await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
    let view = call(
        fixture.context(),
        TestRequest::get().uri("/api/v1/risk/paper"),
    )
    .await;
    assert_eq!(
        view.json()["state"],
        "ACTIVE",
        "nothing changed without the token"
    );

    let answer = post(&fixture, "/api/v1/trading/paper/flatten", Some(&bearer())).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(
        answer.json(),
        json!({ "broker": "paper", "state": "REDUCING", "orders": 0 })
    );
    let view = call(
        fixture.context(),
        TestRequest::get().uri("/api/v1/risk/paper"),
    )
    .await;
    assert_eq!(view.status, StatusCode::OK);
    let view = view.json();
    assert_eq!(
        (&view["state"], &view["kill_switch"], &view["open_orders"]),
        (&json!("REDUCING"), &json!("REDUCING"), &json!([]))
    );
    assert_eq!(view["realized_pnl"], "0");
}

#[actix_web::test]
async fn the_risk_view_needs_the_risk_manager_and_a_known_broker() {
    let fixture = Fixture::new().await;
    let answer = call(
        fixture.context(),
        TestRequest::get().uri("/api/v1/risk/paper"),
    )
    .await;
    assert_eq!(answer.status, StatusCode::SERVICE_UNAVAILABLE);
    let (fixture, _risk) = with_risk_manager().await;
    let answer = call(
        fixture.context(),
        TestRequest::get().uri("/api/v1/risk/nse"),
    )
    .await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
}

/// POSTs to one app instance (its lockout state lives as long as it) from the address
/// `from`: the status and the `Retry-After` header, if any.
macro_rules! post_from {
    ($app:expr, $from:expr, $uri:expr, $authorization:expr) => {{
        let mut req = TestRequest::post()
            .uri($uri)
            .peer_addr($from.parse().unwrap());
        if let Some(value) = $authorization {
            req = req.insert_header(("Authorization", String::from(value)));
        }
        let response = actix_web::test::call_service(&$app, req.to_request()).await;
        let retry_after = response
            .headers()
            .get("retry-after")
            .map(|v| v.to_str().unwrap().to_owned());
        (response.status(), retry_after)
    }};
}

#[actix_web::test]
async fn five_thousand_wrong_guesses_are_locked_out_and_the_right_token_elsewhere_works() {
    let (fixture, mut probe) = with_kill_switch().await;
    let app = actix_web::test::init_service(crate::api::app(crate::api::ApiState::new(
        fixture.context(),
    )))
    .await;
    let guesser = "10.9.8.7:40000";
    let mut statuses = std::collections::BTreeMap::<u16, usize>::new();
    for n in 0..5_000 {
        let wrong = format!("Bearer guess-{n}");
        let authorization = (n % 7 != 0).then_some(wrong.as_str()); // some with no header
        let (status, retry_after) =
            post_from!(app, guesser, "/api/v1/trading/paper/halt", authorization);
        *statuses.entry(status.as_u16()).or_default() += 1;
        if status == StatusCode::TOO_MANY_REQUESTS {
            let secs: u64 = retry_after.expect("Retry-After on a 429").parse().unwrap();
            assert!((1..=60).contains(&secs), "Retry-After {secs}");
        }
    }
    assert_eq!(
        statuses,
        std::collections::BTreeMap::from([(401, 5), (429, 4_995)]),
        "five tries, then locked out"
    );
    // Locked out even with the right token, from any port of that address.
    let (status, _) = post_from!(
        app,
        "10.9.8.7:40001",
        "/api/v1/trading/paper/halt",
        Some(&bearer())
    );
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    probe.expect_no_msg(NOTHING_WITHIN).await;
    // The operator, from another address, is not.
    let (status, _) = post_from!(
        app,
        "10.1.1.1:50000",
        "/api/v1/trading/paper/halt",
        Some(&bearer())
    );
    assert_eq!(status, StatusCode::OK);
    assert_eq!(probe.expect_msg(WAIT).await.state, TradingState::Halted);
    // The strategy switch shares the lockout.
    let (status, _) = post_from!(
        app,
        guesser,
        "/api/v1/strategies/momentum_1/disable",
        Some(&bearer())
    );
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);

    // Its log lines: tests/feed_api_logs.rs (a process-wide capture).
}

/// Every malformed control request (after authentication) is a 4xx and changes nothing;
/// that it logs no ERROR is tests/api_client_errors.rs (a process-wide capture).
#[actix_web::test]
async fn malformed_control_requests_are_4xx() {
    let (fixture, mut probe) = with_kill_switch().await;
    let app = actix_web::test::init_service(crate::api::app(crate::api::ApiState::new(
        fixture.context(),
    )))
    .await;
    let operator = "10.1.1.1:50000";
    let cases = [
        "/api/v1/trading/paper/explode",
        "/api/v1/trading/nyse/halt",
        "/api/v1/trading/%FF/halt",
        "/api/v1/strategies/nope/disable",
        "/api/v1/strategies/momentum_1/explode",
        "/api/v1/strategies/momentum_1/disable?broker=nyse",
        "/api/v1/strategies/momentum_1/disable?broker=%ZZ",
        "/api/v1/nothing",
    ];
    for uri in cases {
        let (status, _) = post_from!(app, operator, uri, Some(&bearer()));
        assert!(status.is_client_error(), "{uri}: {status}");
    }
    probe.expect_no_msg(NOTHING_WITHIN).await;
}
