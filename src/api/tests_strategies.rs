//! Tests of the strategies over HTTP against a real strategy runner (an in-process outbox as
//! its producer, scripted strategies, no history): the live view as ticks and fills arrive,
//! the strategy switch and the order of its checks, and the readiness check naming a
//! strategy disabled for failing.

use std::time::Duration;

use actix::prelude::*;
use actix_web::http::StatusCode;
use actix_web::test::TestRequest;
use chrono::{DateTime, TimeZone, Utc};
use rust_decimal::Decimal;
use serde_json::{Value, json};

use super::test_support::{Answer, Fixture, INFY, RELIANCE, TOKEN, call};
use super::*;
use crate::actors::strategy_runner::{
    GetRunnerStatus, MAX_FAILURES, RunnerArgs, RunnerStatus, StrategyRunner, StrategySlot,
};
use crate::messages::{
    Envelope, Fees, MarketTick, OrderFilled, OrderRef, RecordOrigin, Side, TradingSignal,
    client_order_id_of_signal,
};
use crate::strategy::{Decision, OrderIntent, Strategy, StrategyContext};
use crate::streaming::consumer::Deliver;
use crate::streaming::{Outbox, ProducerHandle, Published, Stream, Topic};

/// The price, in paise, on which a scripted strategy panics.
const POISON_PAISE: i64 = 1313;

/// Buys 10 on a round price when flat with nothing in flight; panics on [`POISON_PAISE`].
struct Scripted;

impl Strategy for Scripted {
    fn on_tick(&mut self, tick: &MarketTick, ctx: &StrategyContext<'_>) -> Decision {
        if tick.last_price == Decimal::new(POISON_PAISE, 2) {
            panic!("bad tick of {}", tick.token);
        }
        let wants = tick.last_price.fract().is_zero() && ctx.position() == 0 && !ctx.has_pending();
        Ok(wants.then(|| OrderIntent::market(Side::Buy, 10, "round price")))
    }
}

/// The runner's test rig: the fixture wired to a real runner, and the runner's outbox.
struct Rig {
    fixture: Fixture,
    runner: Addr<StrategyRunner>,
    outbox: Outbox,
}

/// `momentum_1` (RELIANCE) and `ema_cross_1` (INFY), both on paper, configured and run.
async fn rig() -> Rig {
    let outbox = Outbox::default();
    let slot = |id: &str, token: u32| StrategySlot {
        id: id.to_owned(),
        broker: Broker::Paper,
        tokens: vec![token],
        strategy: Box::new(Scripted),
    };
    let runner = StrategyRunner::new(RunnerArgs {
        slots: vec![slot("momentum_1", RELIANCE), slot("ema_cross_1", INFY)],
        producer: ProducerHandle::in_process(outbox.clone()),
        history: None,
        unanswered_after: Duration::from_secs(60),
    })
    .start();
    let mut fixture = Fixture::new().await;
    fixture.strategies.push(StrategyInfo {
        id: "ema_cross_1".to_owned(),
        kind: "ema_cross".to_owned(),
        enabled: true,
        brokers: vec![Broker::Paper],
        instruments: vec!["INFY".to_owned()],
    });
    fixture.strategy_runner = Some(RunnerLink::of(&runner));
    Rig {
        fixture,
        runner,
        outbox,
    }
}

fn at() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 26, 4, 0, 0).unwrap()
}

fn origin(topic: &str) -> RecordOrigin {
    RecordOrigin {
        topic: topic.to_owned(),
        partition: 0,
        offset: 0,
    }
}

fn tick(token: u32, price_paise: i64) -> Deliver<MarketTick> {
    let tick = MarketTick::ltp(token, Decimal::new(price_paise, 2));
    Deliver {
        envelope: Envelope::root(tick, "market_feed", at()),
        origin: origin("market.ticks"),
    }
}

/// A full fill of 10 bought of `client_order_id`, an order of `momentum_1` on RELIANCE.
fn filled(client_order_id: &str) -> Deliver<OrderFilled> {
    let fill = OrderFilled {
        order: OrderRef {
            client_order_id: client_order_id.to_owned(),
            broker_order_id: Some("paper-1".to_owned()),
            strategy_id: "momentum_1".to_owned(),
            broker: Broker::Paper,
            token: RELIANCE,
            symbol: "RELIANCE".to_owned(),
            side: Side::Buy,
        },
        fill_id: "fill-1".to_owned(),
        quantity: 10,
        price: Decimal::new(250_000, 2),
        fees: Fees::default(),
        cumulative_quantity: 10,
        order_quantity: 10,
        filled_at: at(),
    };
    Deliver {
        envelope: Envelope::root(fill, "paper_execution", at()),
        origin: origin("paper.orders.filled"),
    }
}

/// The signals the runner published since the last call.
fn signals(outbox: &Outbox) -> Vec<Envelope<TradingSignal>> {
    outbox
        .take()
        .into_iter()
        .map(|published| match published {
            Published::Envelope { topic, envelope } => {
                assert_eq!(topic, Topic::of(Broker::Paper, Stream::SignalsRaw));
                envelope
                    .downcast_ref::<Envelope<TradingSignal>>()
                    .expect("a signal")
                    .clone()
            }
            Published::Record(record) => panic!("unexpected raw record to {}", record.topic),
        })
        .collect()
}

async fn get(fixture: &Fixture, uri: &str) -> Answer {
    call(fixture.context(), TestRequest::get().uri(uri)).await
}

/// `live` of strategy `id` at its first broker, from `GET /api/v1/strategies`.
async fn live(fixture: &Fixture, id: &str) -> Value {
    let answer = get(fixture, "/api/v1/strategies").await;
    assert_eq!(answer.status, StatusCode::OK);
    let body = answer.json();
    let entry = body
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == json!(id))
        .unwrap_or_else(|| panic!("no strategy {id} in {body}"))
        .clone();
    entry["by_broker"][0]["live"].clone()
}

async fn post(fixture: &Fixture, uri: &str, authorization: Option<&str>, body: &str) -> Answer {
    let mut req = TestRequest::post().uri(uri).set_payload(body.to_owned());
    if let Some(value) = authorization {
        req = req.insert_header(("Authorization", value));
    }
    call(fixture.context(), req).await
}

fn bearer() -> String {
    format!("Bearer {TOKEN}")
}

async fn enabled(runner: &Addr<StrategyRunner>) -> Vec<(String, bool)> {
    let status: RunnerStatus = runner.send(GetRunnerStatus).await.unwrap();
    status
        .strategies
        .into_iter()
        .map(|s| (s.strategy_id, s.enabled))
        .collect()
}

#[actix_web::test]
async fn live_view_follows_a_signal_then_its_fill() {
    let Rig {
        fixture,
        runner,
        outbox,
    } = rig().await;
    let idle = json!({
        "enabled": true,
        "disabled_by": null,
        "disabled_reason": null,
        "consecutive_failures": 0,
        "instruments": [],
        "last_signal": null,
    });
    assert_eq!(live(&fixture, "momentum_1").await, idle);

    runner.send(tick(RELIANCE, 250_000)).await.unwrap().unwrap();
    let sent = signals(&outbox);
    assert_eq!(sent.len(), 1);
    let signal = &sent[0];
    let client_order_id = client_order_id_of_signal(signal.id);
    let view = live(&fixture, "momentum_1").await;
    assert_eq!(view["last_signal"]["id"], json!(signal.id));
    assert_eq!(view["last_signal"]["symbol"], json!("RELIANCE"));
    assert_eq!(
        (
            &view["last_signal"]["side"],
            &view["last_signal"]["quantity"]
        ),
        (&json!("BUY"), &json!(10))
    );
    let instrument = &view["instruments"][0];
    assert_eq!(instrument["token"], json!(RELIANCE));
    assert_eq!(instrument["symbol"], json!("RELIANCE"));
    assert_eq!(instrument["position"], json!(0));
    let pending = instrument["pending"].as_array().unwrap();
    assert_eq!(pending.len(), 1, "{view}");
    assert_eq!(pending[0]["client_order_id"], json!(client_order_id));
    assert_eq!(
        (&pending[0]["quantity"], &pending[0]["filled"]),
        (&json!(10), &json!(0))
    );

    runner
        .send(filled(&client_order_id))
        .await
        .unwrap()
        .unwrap();
    let view = live(&fixture, "momentum_1").await;
    let expected = json!([{
        "token": RELIANCE, "symbol": "RELIANCE", "position": 10, "pending": [],
    }]);
    assert_eq!(view["instruments"], expected, "{view}");
    assert_eq!(view["last_signal"]["id"], json!(signal.id));
    // The other strategy saw nothing of it.
    assert_eq!(live(&fixture, "ema_cross_1").await, idle);
}

#[actix_web::test]
async fn disable_needs_the_token_and_enable_restores() {
    let Rig {
        fixture,
        runner,
        outbox,
    } = rig().await;
    let uri = "/api/v1/strategies/momentum_1/disable";
    let wrong = format!("Bearer {TOKEN}x");
    for authorization in [None, Some(wrong.as_str())] {
        let answer = post(&fixture, uri, authorization, "").await;
        assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "{authorization:?}");
        assert_eq!(answer.header("www-authenticate"), "Bearer");
    }
    assert_eq!(live(&fixture, "momentum_1").await["enabled"], json!(true));

    let body = r#"{"reason": "maintenance"}"#;
    let answer = post(&fixture, uri, Some(&bearer()), body).await;
    assert_eq!(answer.status, StatusCode::OK);
    let answer = answer.json();
    assert_eq!(answer["id"], json!("momentum_1"));
    assert_eq!(answer["by_broker"][0]["broker"], json!("paper"));
    let switched = &answer["by_broker"][0]["live"];
    assert_eq!(switched["enabled"], json!(false));
    assert_eq!(switched["disabled_by"], json!("operator"));
    assert_eq!(switched["disabled_reason"], json!("maintenance"));
    assert_eq!(live(&fixture, "momentum_1").await, *switched);
    // Disabled: a tick it would trade on sends nothing; the other strategy still runs.
    runner.send(tick(RELIANCE, 250_000)).await.unwrap().unwrap();
    assert!(signals(&outbox).is_empty());
    assert_eq!(live(&fixture, "ema_cross_1").await["enabled"], json!(true));

    let answer = post(
        &fixture,
        "/api/v1/strategies/momentum_1/enable?broker=paper",
        Some(&bearer()),
        "",
    )
    .await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(
        answer.json()["by_broker"][0]["live"]["enabled"],
        json!(true)
    );
    let view = live(&fixture, "momentum_1").await;
    assert_eq!(
        (
            &view["enabled"],
            &view["disabled_by"],
            &view["disabled_reason"]
        ),
        (&json!(true), &Value::Null, &Value::Null)
    );
    runner.send(tick(RELIANCE, 250_000)).await.unwrap().unwrap();
    assert_eq!(signals(&outbox).len(), 1);
}

#[actix_web::test]
async fn switch_refusals_change_nothing() {
    let Rig {
        mut fixture,
        runner,
        outbox: _outbox,
    } = rig().await;
    fixture.strategies.push(StrategyInfo {
        id: "rsi_1".to_owned(),
        kind: "rsi".to_owned(),
        enabled: false,
        brokers: vec![Broker::Paper],
        instruments: vec!["INFY".to_owned()],
    });
    let auth = Some(bearer());
    let cases = [
        // Authentication first: nothing about strategies leaks without the token.
        (
            "/api/v1/strategies/nope/explode",
            None,
            "",
            StatusCode::UNAUTHORIZED,
            "missing or invalid bearer token",
        ),
        (
            "/api/v1/strategies/nope/disable",
            auth.clone(),
            "",
            StatusCode::NOT_FOUND,
            "unknown strategy \"nope\"",
        ),
        (
            "/api/v1/strategies/momentum_1/explode",
            auth.clone(),
            "",
            StatusCode::NOT_FOUND,
            "unknown action \"explode\"; expected disable or enable",
        ),
        (
            "/api/v1/strategies/momentum_1/disable?broker=nyse",
            auth.clone(),
            "",
            StatusCode::BAD_REQUEST,
            "unknown broker \"nyse\"; expected one of paper, zerodha",
        ),
        (
            "/api/v1/strategies/momentum_1/disable?broker=zerodha",
            auth.clone(),
            "",
            StatusCode::NOT_FOUND,
            "broker zerodha is not enabled",
        ),
        (
            "/api/v1/strategies/momentum_1/disable",
            auth.clone(),
            "{\"why\": 1}",
            StatusCode::BAD_REQUEST,
            "",
        ),
        (
            "/api/v1/strategies/momentum_1/disable",
            auth.clone(),
            "not json",
            StatusCode::BAD_REQUEST,
            "",
        ),
        (
            "/api/v1/strategies/rsi_1/disable",
            auth.clone(),
            "",
            StatusCode::NOT_FOUND,
            "strategy \"rsi_1\" is disabled in the configuration and does not run",
        ),
    ];
    for (uri, authorization, body, status, error) in cases {
        let answer = post(&fixture, uri, authorization.as_deref(), body).await;
        assert_eq!(answer.status, status, "{uri} {body}");
        if !error.is_empty() {
            assert_eq!(answer.error(), error, "{uri}");
        }
    }
    let long = json!({ "reason": "x".repeat(501) }).to_string();
    let answer = post(
        &fixture,
        "/api/v1/strategies/momentum_1/disable",
        auth.as_deref(),
        &long,
    )
    .await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    assert_eq!(answer.error(), "reason is longer than 500 chars");
    let answer = get(&fixture, "/api/v1/strategies/momentum_1/disable").await;
    assert_eq!(answer.status, StatusCode::METHOD_NOT_ALLOWED);
    let all_enabled = vec![
        ("momentum_1".to_owned(), true),
        ("ema_cross_1".to_owned(), true),
    ];
    assert_eq!(enabled(&runner).await, all_enabled);

    let mut off = Fixture::new().await;
    off.strategy_runner = fixture.strategy_runner.clone();
    off.control_token = String::new();
    let answer = post(
        &off,
        "/api/v1/strategies/momentum_1/disable",
        auth.as_deref(),
        "",
    )
    .await;
    assert_eq!(answer.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(answer.error(), "control_token is not set");

    let elsewhere = Fixture::new().await;
    let answer = post(
        &elsewhere,
        "/api/v1/strategies/momentum_1/disable",
        auth.as_deref(),
        "",
    )
    .await;
    assert_eq!(answer.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(
        answer.error(),
        "the strategy runner does not run in this process"
    );
    assert_eq!(enabled(&runner).await, all_enabled);
}

#[actix_web::test]
async fn readiness_names_a_strategy_disabled_for_failing_and_is_not_ready() {
    let Rig {
        fixture,
        runner,
        outbox,
    } = rig().await;
    let strategies_check = |answer: &Answer| {
        let body = answer.json();
        body["checks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == json!("strategies"))
            .unwrap_or_else(|| panic!("no strategies check in {body}"))
            .clone()
    };
    let answer = get(&fixture, "/health/ready").await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(
        strategies_check(&answer),
        json!({ "name": "strategies", "ready": true, "detail": "2 running" })
    );

    for _ in 0..MAX_FAILURES {
        runner
            .send(tick(INFY, POISON_PAISE))
            .await
            .unwrap()
            .unwrap();
    }
    let answer = get(&fixture, "/health/ready").await;
    assert_eq!(
        answer.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "a strategy disabled for failing is a fault readiness names"
    );
    assert_eq!(answer.json()["ready"], json!(false));
    let detail = format!("1 of 2 running; disabled: ema_cross_1@paper (panic: bad tick of {INFY})");
    assert_eq!(
        strategies_check(&answer),
        json!({ "name": "strategies", "ready": false, "detail": detail })
    );
    assert_eq!(
        answer.json()["not_ready"],
        json!([format!("strategies: {detail}")])
    );
    let view = live(&fixture, "ema_cross_1").await;
    assert_eq!(view["enabled"], json!(false));
    assert_eq!(view["disabled_by"], json!("failing"));
    assert_eq!(
        view["disabled_reason"],
        json!(format!("panic: bad tick of {INFY}"))
    );
    assert_eq!(view["consecutive_failures"], json!(MAX_FAILURES));
    // The other strategy keeps trading.
    runner.send(tick(RELIANCE, 250_000)).await.unwrap().unwrap();
    assert_eq!(signals(&outbox)[0].data.strategy_id, "momentum_1");

    // An operator re-enables it: fresh failure count, readiness detail clean again.
    let answer = post(
        &fixture,
        "/api/v1/strategies/ema_cross_1/enable",
        Some(&bearer()),
        "",
    )
    .await;
    assert_eq!(answer.status, StatusCode::OK);
    let view = live(&fixture, "ema_cross_1").await;
    assert_eq!(
        (&view["enabled"], &view["consecutive_failures"]),
        (&json!(true), &json!(0))
    );
    let answer = get(&fixture, "/health/ready").await;
    assert_eq!(strategies_check(&answer)["detail"], json!("2 running"));
}

#[actix_web::test]
async fn notes_say_why_there_is_no_live_view() {
    let Rig { mut fixture, .. } = rig().await;
    fixture.strategies[0].brokers.push(Broker::Zerodha);
    fixture.strategies.push(StrategyInfo {
        id: "rsi_1".to_owned(),
        kind: "rsi".to_owned(),
        enabled: false,
        brokers: vec![Broker::Paper],
        instruments: vec!["INFY".to_owned()],
    });
    fixture.strategies.push(StrategyInfo {
        id: "momentum_2".to_owned(),
        kind: "momentum".to_owned(),
        enabled: true,
        brokers: vec![Broker::Paper],
        instruments: vec!["INFY".to_owned()],
    });
    let answer = get(&fixture, "/api/v1/strategies").await;
    assert_eq!(answer.status, StatusCode::OK);
    let body = answer.json();
    let notes: Vec<(String, Value, bool)> = body
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| {
            s["by_broker"].as_array().unwrap().iter().map(|b| {
                (
                    format!(
                        "{}@{}",
                        s["id"].as_str().unwrap(),
                        b["broker"].as_str().unwrap()
                    ),
                    b["note"].clone(),
                    b["live"].is_null(),
                )
            })
        })
        .collect();
    let expected = [
        ("momentum_1@paper", Value::Null, false),
        (
            "momentum_1@zerodha",
            json!("broker zerodha is not enabled"),
            true,
        ),
        ("ema_cross_1@paper", Value::Null, false),
        ("rsi_1@paper", json!("disabled in the configuration"), true),
        (
            "momentum_2@paper",
            json!("the strategy runner here does not run it"),
            true,
        ),
    ];
    let expected: Vec<(String, Value, bool)> = expected
        .into_iter()
        .map(|(k, n, l)| (k.to_owned(), n, l))
        .collect();
    assert_eq!(notes, expected);
}

/// A strategy runner that never answers.
struct Silent;

impl Actor for Silent {
    type Context = Context<Self>;
}

impl Handler<GetRunnerStatus> for Silent {
    type Result = ResponseFuture<RunnerStatus>;

    fn handle(&mut self, _: GetRunnerStatus, _ctx: &mut Self::Context) -> Self::Result {
        Box::pin(futures::future::pending())
    }
}

impl Handler<crate::actors::strategy_runner::SetStrategyEnabled> for Silent {
    type Result = ResponseFuture<
        Result<
            Vec<crate::actors::strategy_runner::StrategyView>,
            crate::actors::strategy_runner::SwitchError,
        >,
    >;

    fn handle(
        &mut self,
        _: crate::actors::strategy_runner::SetStrategyEnabled,
        _ctx: &mut Self::Context,
    ) -> Self::Result {
        Box::pin(futures::future::pending())
    }
}

#[actix_web::test]
async fn a_runner_that_does_not_answer_is_a_note_a_ready_check_and_a_503() {
    tokio::time::pause();
    let silent = Silent.start();
    let mut fixture = Fixture::new().await;
    fixture.strategy_runner = Some(RunnerLink {
        status: silent.clone().recipient(),
        switch: silent.recipient(),
    });
    let answer = get(&fixture, "/api/v1/strategies").await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(
        answer.json()[0]["by_broker"][0],
        json!({
            "broker": "paper",
            "live": null,
            "note": "the strategy runner did not answer within 2s",
        })
    );
    let answer = get(&fixture, "/health/ready").await;
    assert_eq!(answer.status, StatusCode::OK);
    let checks = answer.json()["checks"].clone();
    assert_eq!(
        checks[1],
        json!({ "name": "strategies", "ready": true, "detail": "the strategy runner did not answer within 1s" })
    );
    let answer = post(
        &fixture,
        "/api/v1/strategies/momentum_1/disable",
        Some(&bearer()),
        "",
    )
    .await;
    assert_eq!(answer.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(
        answer.error(),
        "the strategy runner did not answer: Message delivery timed out"
    );
}
