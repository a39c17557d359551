//! The alert dispatcher against a local fake of the Telegram Bot API and a local webhook
//! receiver (both actix-web servers on 127.0.0.1): every kind arrives once at each
//! despite repeats, a burst is cut at the rate limit and summarised, a failing target is
//! retried, a hung one blocks neither `raise` nor the other target, and the bot token
//! never reaches the logs.
//!
//! A test binary of its own: the log capture is process-wide.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use actix_web::dev::ServerHandle;
use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use alpha_panda::alerts::{
    self, Alert, AlertKind, AlertService, DeliveryPolicy, DispatcherConfig, TelegramTarget,
    WebhookPayload, WebhookTarget,
};
use alpha_panda::messages::Broker;
use alpha_panda::settings::Secret;
use alpha_panda::testkit::logs::{CapturedLogs, capture_global};

const TOKEN: &str = "987654321:AAFake-Token_never_logged";
const CHAT: &str = "-1001234567890";
const HOOK_AUTH: &str = "Bearer hook-secret-77";

/// What a fake answers to one request.
#[derive(Clone)]
enum Reply {
    Status(u16, &'static str),
    /// Never answers (until the client gives up).
    Hang,
}

/// One request as received.
#[derive(Debug, Clone)]
struct Received {
    path: String,
    authorization: Option<String>,
    body: serde_json::Value,
}

#[derive(Default)]
struct FakeState {
    received: Vec<Received>,
    /// Answers for the next requests, in order; then 200.
    script: VecDeque<Reply>,
    /// Every request hangs.
    hang_all: bool,
}

/// A local HTTP server standing in for Telegram or a webhook receiver.
struct Fake {
    state: Arc<Mutex<FakeState>>,
    url: String,
    handle: ServerHandle,
}

async fn answer(
    req: HttpRequest,
    body: web::Bytes,
    state: web::Data<Mutex<FakeState>>,
) -> HttpResponse {
    let reply = {
        let mut s = state.lock().unwrap_or_else(PoisonError::into_inner);
        s.received.push(Received {
            path: req.path().to_owned(),
            authorization: req
                .headers()
                .get("authorization")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned),
            body: serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null),
        });
        if s.hang_all {
            Reply::Hang
        } else {
            s.script
                .pop_front()
                .unwrap_or(Reply::Status(200, r#"{"ok":true,"result":{}}"#))
        }
    };
    match reply {
        Reply::Status(code, body) => HttpResponse::build(
            actix_web::http::StatusCode::from_u16(code).expect("a valid status"),
        )
        .content_type("application/json")
        .body(body),
        Reply::Hang => {
            std::future::pending::<()>().await;
            HttpResponse::Ok().finish()
        }
    }
}

impl Fake {
    async fn start() -> Fake {
        let state = Arc::new(Mutex::new(FakeState::default()));
        let data = web::Data::from(state.clone());
        let server = HttpServer::new(move || {
            App::new()
                .app_data(data.clone())
                .default_service(web::to(answer))
        })
        .workers(1)
        .disable_signals()
        .shutdown_timeout(1)
        .bind(("127.0.0.1", 0))
        .expect("bind 127.0.0.1");
        let addr = server.addrs()[0];
        let server = server.run();
        let handle = server.handle();
        actix_web::rt::spawn(server);
        Fake {
            state,
            url: format!("http://{addr}"),
            handle,
        }
    }

    fn with<R>(&self, f: impl FnOnce(&mut FakeState) -> R) -> R {
        f(&mut self.state.lock().unwrap_or_else(PoisonError::into_inner))
    }

    fn received(&self) -> Vec<Received> {
        self.with(|s| s.received.clone())
    }

    /// Waits (polling, with a deadline) until `done` holds for what was received.
    async fn until(&self, what: &str, done: impl Fn(&[Received]) -> bool) -> Vec<Received> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        loop {
            let received = self.received();
            if done(&received) {
                return received;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "timed out waiting for {what}; received {}: {received:#?}",
                received.len()
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    async fn stop(self) {
        self.handle.stop(false).await;
    }
}

/// The text of each Telegram message received.
fn texts(received: &[Received]) -> Vec<String> {
    received
        .iter()
        .map(|r| r.body["text"].as_str().unwrap_or_default().to_owned())
        .collect()
}

fn payloads(received: &[Received]) -> Vec<WebhookPayload> {
    received
        .iter()
        .map(|r| serde_json::from_value(r.body.clone()).expect("a webhook payload"))
        .collect()
}

fn config(telegram: Option<&Fake>, webhook: Option<&Fake>) -> DispatcherConfig {
    DispatcherConfig {
        kinds: Vec::new(),
        dedup_window: Duration::from_secs(600),
        max_per_minute: 1_000,
        rate_window: Duration::from_secs(60),
        delivery: DeliveryPolicy {
            attempts: 3,
            backoff_initial: Duration::from_millis(20),
            backoff_max: Duration::from_millis(100),
            timeout: Duration::from_secs(30),
        },
        telegram: telegram.map(|f| TelegramTarget {
            api_url: f.url.clone(),
            bot_token: Secret::new(TOKEN),
            chat_id: CHAT.into(),
        }),
        webhook: webhook.map(|f| WebhookTarget {
            url: Secret::new(format!("{}/hooks/alpha", f.url)),
            headers: vec![("authorization".into(), Secret::new(HOOK_AUTH))],
        }),
        source: "alerts-test".into(),
        queue: 1_024,
    }
}

fn logs() -> CapturedLogs {
    capture_global()
}

/// One alert per kind, with a subject of the test's own.
fn one_of_each(test: &str) -> Vec<Alert> {
    AlertKind::ALL
        .iter()
        .map(|kind| {
            Alert::new(
                *kind,
                format!("{test}-{kind}"),
                format!("{kind} happened in {test}"),
            )
            .on(Broker::Zerodha)
        })
        .collect()
}

#[actix_web::test]
async fn every_kind_reaches_telegram_and_the_webhook_exactly_once() {
    let _logs = logs();
    let telegram = Fake::start().await;
    let webhook = Fake::start().await;
    let service = AlertService::start(config(Some(&telegram), Some(&webhook))).unwrap();
    let sender = service.sender();
    let alerts = one_of_each("each-kind");
    for alert in alerts.iter().chain(alerts.iter()) {
        assert!(sender.raise(alert.clone()), "queued");
    }
    // Alerts go through in order: once this one arrived, every repeat before it was judged.
    let last = Alert::new(AlertKind::DlqRecord, "each-kind-last", "the last one");
    sender.raise(last);
    let n = AlertKind::ALL.len() + 1;
    let arrived = |r: &[Received]| {
        r.iter()
            .any(|r| r.body.to_string().contains("the last one"))
    };
    let got = telegram.until("telegram: the last alert", arrived).await;
    let hooks = webhook.until("webhook: the last alert", arrived).await;
    assert_eq!(got.len(), n, "each kind once: {:#?}", texts(&got));
    assert_eq!(hooks.len(), n);

    for r in &got {
        assert_eq!(r.path, format!("/bot{TOKEN}/sendMessage"));
        assert_eq!(r.body["chat_id"], CHAT);
    }
    let texts = texts(&got);
    for (alert, text) in alerts.iter().zip(&texts) {
        let header = format!("{} · zerodha · {}", alert.kind.as_str(), alert.subject);
        assert!(text.contains(&header), "{header:?} not in {text:?}");
        assert!(text.contains(&alert.message), "{text}");
        assert!(text.ends_with(&format!(
            "alerts-test · {}",
            alert.at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
        )));
    }

    let payloads = payloads(&hooks);
    for r in &hooks {
        assert_eq!(r.path, "/hooks/alpha");
        assert_eq!(r.authorization.as_deref(), Some(HOOK_AUTH));
    }
    let kinds: Vec<&str> = payloads.iter().map(|p| p.kind.as_str()).collect();
    let mut expected: Vec<&str> = AlertKind::ALL.iter().map(|k| k.as_str()).collect();
    expected.push("dlq_record");
    assert_eq!(kinds, expected, "each kind once, in the order raised");
    let halted = &payloads[0];
    assert_eq!(halted.severity, "critical");
    assert_eq!(halted.broker.as_deref(), Some("zerodha"));
    assert_eq!(halted.subject, "each-kind-trading_halted");
    assert_eq!(halted.repeats, 0);
    assert_eq!(halted.source, "alerts-test");

    drop(sender);
    service.stop(Duration::from_secs(5)).await;
    telegram.stop().await;
    webhook.stop().await;
}

#[actix_web::test]
async fn a_burst_above_max_per_minute_is_cut_and_the_rest_summarised() {
    let _logs = logs();
    let telegram = Fake::start().await;
    let mut config = config(Some(&telegram), None);
    config.max_per_minute = 3;
    // The window is a minute in production; a short one keeps the test short.
    config.rate_window = Duration::from_millis(1_500);
    let service = AlertService::start(config).unwrap();
    let sender = service.sender();
    for i in 0..8 {
        let kind = if i < 6 {
            AlertKind::DlqRecord
        } else {
            AlertKind::ActorRestarted
        };
        sender.raise(Alert::new(
            kind,
            format!("burst-{i}"),
            format!("burst alert {i}"),
        ));
    }
    let got = telegram
        .until("three alerts and the summary", |r| r.len() >= 4)
        .await;
    let texts = texts(&got);
    for (i, text) in texts.iter().take(3).enumerate() {
        assert!(text.contains(&format!("burst alert {i}\n")), "{text}");
    }
    assert!(
        texts[3].contains(
            "5 more alerts suppressed by the rate limit (alerts.max_per_minute): \
             actor_restarted ×2, dlq_record ×3"
        ),
        "{}",
        texts[3]
    );
    // The suppressed ones are reported, never sent late: the next alert follows the
    // summary directly.
    sender.raise(Alert::new(
        AlertKind::FeedStale,
        "burst-after",
        "after the burst",
    ));
    let got = telegram.until("the next alert", |r| r.len() >= 5).await;
    let texts = crate::texts(&got);
    assert!(texts[4].contains("after the burst"), "{}", texts[4]);
    for text in &texts {
        for i in 3..8 {
            assert!(!text.contains(&format!("burst alert {i}\n")), "{text}");
        }
    }
    drop(sender);
    service.stop(Duration::from_secs(5)).await;
    telegram.stop().await;
}

#[actix_web::test]
async fn a_failed_delivery_is_retried_with_backoff_and_arrives_once() {
    let logs = logs();
    let telegram = Fake::start().await;
    telegram.with(|s| {
        s.script.push_back(Reply::Status(
            500,
            r#"{"ok":false,"error_code":500,"description":"Internal Server Error"}"#,
        ));
        s.script.push_back(Reply::Status(
            429,
            r#"{"ok":false,"error_code":429,"parameters":{"retry_after":0}}"#,
        ));
    });
    let service = AlertService::start(config(Some(&telegram), None)).unwrap();
    let sender = service.sender();
    sender.raise(Alert::new(
        AlertKind::KiteTokenRejected,
        "retry-once",
        "retried message",
    ));
    let got = telegram.until("three attempts", |r| r.len() >= 3).await;
    let bodies: Vec<&serde_json::Value> = got.iter().map(|r| &r.body).collect();
    assert!(
        bodies.iter().all(|b| *b == bodies[0]),
        "the same message each time"
    );
    // The third attempt was answered 200: no fourth.
    sender.raise(Alert::new(AlertKind::FeedStale, "retry-after", "next"));
    let got = telegram.until("the next alert", |r| r.len() >= 4).await;
    assert!(texts(&got)[3].contains("next"));
    let text = logs.text();
    let retries: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("alert not delivered; retrying") && l.contains(&telegram.url))
        .collect();
    assert_eq!(retries.len(), 2, "{text}");
    assert!(retries[0].contains("500"), "{}", retries[0]);
    assert!(retries[1].contains("429"), "{}", retries[1]);
    assert!(
        retries
            .iter()
            .all(|l| l.contains(&format!("{}/bot***/sendMessage", telegram.url))),
        "{retries:#?}"
    );
    drop(sender);
    service.stop(Duration::from_secs(5)).await;
    telegram.stop().await;
    assert!(!logs.text().contains(TOKEN), "the bot token was logged");
}

#[actix_web::test]
async fn an_unreachable_telegram_is_given_up_with_the_token_masked() {
    let logs = logs();
    // A port nothing listens on: bind one, note it, close it.
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap()
    };
    let mut config = config(None, None);
    config.telegram = Some(TelegramTarget {
        api_url: format!("http://{closed}"),
        bot_token: Secret::new(TOKEN),
        chat_id: CHAT.into(),
    });
    config.delivery.attempts = 2;
    let service = AlertService::start(config).unwrap();
    let sender = service.sender();
    sender.raise(Alert::new(
        AlertKind::SupervisorEscalated,
        "unreachable",
        "nobody hears this",
    ));
    drop(sender);
    // Stopping waits for the delivery to be given up.
    service.stop(Duration::from_secs(20)).await;
    let text = logs.text();
    let given_up: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("alert not delivered: given up") && l.contains(&closed.to_string()))
        .collect();
    assert_eq!(given_up.len(), 1, "{text}");
    assert!(
        given_up[0].contains("gave up after 2 attempts"),
        "{}",
        given_up[0]
    );
    assert!(
        given_up[0].contains(&format!("http://{closed}/bot***/sendMessage")),
        "{}",
        given_up[0]
    );
    assert!(!text.contains(TOKEN), "the bot token was logged:\n{text}");
    assert!(
        !text.contains("AAFake-Token"),
        "part of the token was logged"
    );
}

#[actix_web::test]
async fn a_hung_telegram_blocks_neither_raise_nor_the_webhook() {
    let _logs = logs();
    let telegram = Fake::start().await;
    telegram.with(|s| s.hang_all = true);
    let webhook = Fake::start().await;
    let service = AlertService::start(config(Some(&telegram), Some(&webhook))).unwrap();
    let sender = service.sender();
    // More than the Telegram task's queue holds while it is stuck on the first.
    let n = 400;
    for i in 0..n {
        assert!(
            sender.raise(Alert::new(
                AlertKind::DlqRecord,
                format!("hung-{i}"),
                format!("alert {i}")
            )),
            "raise {i} queued"
        );
    }
    let hooks = webhook
        .until("every alert at the webhook", |r| r.len() >= n)
        .await;
    assert_eq!(hooks.len(), n);
    assert_eq!(sender.queued(), 0, "the raise queue drained");
    assert_eq!(
        telegram.received().len(),
        1,
        "Telegram is stuck on its first request"
    );
    // The Telegram task's queue is full: a raise still returns at once, and still reaches
    // the webhook.
    assert!(sender.raise(Alert::new(AlertKind::FeedStale, "hung-after", "still here")));
    webhook.until("the alert after", |r| r.len() > n).await;
    drop(sender);
    service.stop(Duration::from_millis(200)).await;
    telegram.stop().await;
    webhook.stop().await;
}

#[actix_web::test]
async fn raise_goes_to_the_installed_dispatcher_and_only_the_sent_kinds_go_out() {
    let _logs = logs();
    let webhook = Fake::start().await;
    let mut config = config(None, Some(&webhook));
    config.kinds = vec![AlertKind::TradingHalted];
    let service = AlertService::start(config).unwrap();
    alerts::install(service.sender());
    alerts::raise(Alert::new(
        AlertKind::DlqRecord,
        "installed-dlq",
        "not sent",
    ));
    alerts::raise(
        Alert::new(AlertKind::TradingHalted, "installed", "sent through raise").on(Broker::Paper),
    );
    let got = webhook.until("the halted alert", |r| !r.is_empty()).await;
    alerts::uninstall();
    // Raised after uninstalling: goes nowhere (and does not fail).
    alerts::raise(Alert::new(
        AlertKind::TradingHalted,
        "uninstalled",
        "nowhere",
    ));
    service.stop(Duration::from_secs(5)).await;
    let all = payloads(&webhook.received());
    assert_eq!(all.len(), 1, "{all:#?}");
    assert_eq!(payloads(&got)[0].subject, "installed");
    assert_eq!(all[0].broker.as_deref(), Some("paper"));
    webhook.stop().await;
}

/// The daemon itself: `run` on the embedded defaults with the webhook on; the kill switch
/// pulled over the API reaches the webhook as `trading_halted`, and a SIGTERM still exits 0.
#[actix_web::test]
async fn the_daemon_tells_the_webhook_when_the_kill_switch_halts_a_broker() {
    use std::io::{BufRead, BufReader};
    let _logs = logs();
    let webhook = Fake::start().await;
    let control = "alerts-e2e-control-token-0123456789";
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_alpha-panda"))
        .arg("run")
        .env("NO_COLOR", "1")
        .env("ALPHA_PANDA__LOG__FORMAT", "json")
        .env("ALPHA_PANDA__API__LISTEN", "127.0.0.1:0")
        .env("ALPHA_PANDA__API__CONTROL_TOKEN", control)
        .env("ALPHA_PANDA__SERVICE__INSTANCE_ID", "alerts-e2e")
        .env("ALPHA_PANDA__ALERTS__WEBHOOK__ENABLED", "true")
        .env(
            "ALPHA_PANDA__ALERTS__WEBHOOK__URL",
            format!("{}/hooks/e2e", webhook.url),
        )
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn the daemon");
    let stderr = child.stderr.take().expect("stderr piped");
    // Read the log on a thread of its own (the pipe must never fill), handing lines over.
    let (lines_tx, lines_rx) = std::sync::mpsc::channel::<String>();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if lines_tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut seen = Vec::new();
    let mut api = None;
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    while std::time::Instant::now() < deadline {
        let Ok(line) = lines_rx.recv_timeout(Duration::from_millis(100)) else {
            continue;
        };
        if line.contains("HTTP API listening") {
            let value: serde_json::Value = serde_json::from_str(&line).expect("a JSON log line");
            api = value["addr"].as_str().map(str::to_owned);
        }
        let running = line.contains("running until SIGINT/SIGTERM");
        seen.push(line);
        if running {
            break;
        }
    }
    let api = api.unwrap_or_else(|| panic!("the daemon did not start: {seen:#?}"));
    assert!(
        seen.iter()
            .any(|l| l.contains("alerts on") && l.contains("webhook")),
        "{seen:#?}"
    );
    let halted = reqwest::Client::new()
        .post(format!("http://{api}/api/v1/trading/paper/halt"))
        .bearer_auth(control)
        .send()
        .await
        .expect("the API answers");
    assert_eq!(halted.status(), 200);
    let got = webhook
        .until("the halt at the webhook", |r| {
            payloads(r).iter().any(|p| p.kind == "trading_halted")
        })
        .await;
    let halt = payloads(&got)
        .into_iter()
        .find(|p| p.kind == "trading_halted")
        .expect("found above");
    assert_eq!(
        (
            halt.broker.as_deref(),
            halt.subject.as_str(),
            halt.source.as_str()
        ),
        (Some("paper"), "kill_switch", "alerts-e2e")
    );
    assert_eq!(
        halt.message,
        "paper HALTED: trading state set from ACTIVE to HALTED (kill switch)"
    );
    let status = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let exit = child.wait().unwrap();
    assert_eq!(exit.code(), Some(0));
    webhook.stop().await;
}
