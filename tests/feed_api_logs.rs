//! What the market feed and the control endpoints log under attack or outage (issue 16),
//! captured process-wide (a test binary of its own: the feed and the API server log from
//! threads other than the test's):
//! - each failed dial of a ticker that hangs in the handshake is one WARN naming the
//!   endpoint, the step, the cause and the delay before the next attempt, never the
//!   credentials;
//! - 5,000 wrong control tokens from one address are a few lines, not 5,000, and the right
//!   token from another address still works.

use std::collections::{BTreeMap, HashMap};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix::Actor;
use alpha_panda::actors::market_feed::{
    Endpoint, FeedHealth, GetFeedStats, MarketFeed, MarketFeedArgs, resolve_targets,
};
use alpha_panda::actors::risk_manager::SetTradingState;
use alpha_panda::api::{ApiContext, ReadinessCheck, serve};
use alpha_panda::market::instruments::InstrumentRegistry;
use alpha_panda::settings::{RetrySettings, Secret};
use alpha_panda::streaming::ProducerHandle;
use alpha_panda::streaming::producer::Publish;
use alpha_panda::streaming::retry::Backoff;
use alpha_panda::supervision::Tree;
use alpha_panda::testkit::Probe;
use alpha_panda::testkit::logs::capture_global;

const WAIT: Duration = Duration::from_secs(20);

const TOKEN: &str = "the-control-token-of-this-test";

#[actix::test]
async fn each_failed_dial_is_one_warn_with_the_endpoint_cause_and_backoff() {
    let logs = capture_global();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        let mut held = Vec::new(); // Accepted, and never answered.
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    let registry = InstrumentRegistry::embedded().unwrap();
    let subscriptions = vec!["RELIANCE:full".parse().unwrap()];
    let producer = Probe::<Publish>::acking_producer();
    let args = MarketFeedArgs {
        endpoint: Endpoint {
            url: format!("ws://127.0.0.1:{port}"),
            api_key: Secret::new("key-SECRET-1"),
            access_token: Secret::new("tok-SECRET-2"),
        },
        targets: resolve_targets(&subscriptions, &registry).unwrap(),
        producer: ProducerHandle::new(producer.recipient()),
        liveness: Duration::from_millis(100),
        reconnect: Backoff::new(&RetrySettings {
            base_ms: 20,
            factor: 2.0,
            max_ms: 200,
            attempts: u32::MAX,
            jitter: 0.2,
        }),
        max_in_flight: 10,
        order_updates: None,
        market_hours: None,
    };
    let health = FeedHealth::default();
    let feed = MarketFeed::with_health(args, health.clone()).start();
    let deadline = Instant::now() + WAIT;
    let stats = loop {
        let stats = feed.send(GetFeedStats).await.unwrap();
        if stats.connect_failures >= 3 {
            break stats;
        }
        assert!(Instant::now() < deadline, "{stats:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    // Counted, then logged in the same step on the feed's thread (this one): read right
    // after the counters, the log holds a line for each failure counted.
    let text = logs.text();
    let endpoint = format!("endpoint=ws://127.0.0.1:{port}");
    let lines: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("ticker connect failed") && l.contains(&endpoint))
        .collect();
    assert!(lines.len() as u64 >= stats.connect_failures, "{text}");
    for (n, line) in lines.iter().enumerate() {
        assert!(line.contains(" WARN "), "{line}");
        assert!(line.contains("step=\"handshake\""), "{line}");
        assert!(
            line.contains("no TLS/WebSocket handshake within 100ms"),
            "{line}"
        );
        assert!(line.contains(&format!("attempt={}", n + 1)), "{line}");
        assert!(line.contains("retry_in="), "{line}");
    }
    assert!(
        !text.contains("SECRET"),
        "no credentials in the log: {text}"
    );
    let check = health.readiness(chrono::Utc::now(), true, Duration::from_secs(60));
    assert!(
        !check.ready && check.detail.contains("handshake"),
        "{check:?}"
    );
}

fn context(kill_switch: &Probe<SetTradingState>) -> ApiContext {
    ApiContext {
        brokers: vec![alpha_panda::messages::Broker::Paper],
        store: Arc::new(alpha_panda::store::MemoryStore::default()),
        strategies: Vec::new(),
        control_token: Secret::new(TOKEN),
        kill_switch: Some(kill_switch.recipient()),
        flatten: None,
        risk_view: None,
        strategy_runner: None,
        symbols: HashMap::new(),
        tree: Arc::new(|| Tree {
            actors: Vec::new(),
            restarts: Default::default(),
        }),
        readiness: Arc::new(|| Box::pin(async { vec![ReadinessCheck::ready("store", "memory")] })),
        metrics: Arc::new(alpha_panda::telemetry::metrics::render),
        events: tokio::sync::broadcast::channel(4).0,
        orders: Arc::new(|_, _| Vec::new()),
    }
}

/// A client whose connections come from `from` (any 127.0.0.0/8 address is loopback).
fn client(from: Ipv4Addr) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(IpAddr::V4(from))
        .build()
        .unwrap()
}

#[actix::test]
async fn five_thousand_wrong_tokens_are_a_few_log_lines_and_429s() {
    let logs = capture_global();
    let mut kill_switch = Probe::with_reply(|m: &SetTradingState| Ok(m.state));
    let server = serve("127.0.0.1:0".parse().unwrap(), context(&kill_switch))
        .await
        .unwrap();
    let url = |addr: SocketAddr| format!("http://{addr}/api/v1/trading/paper/halt");
    let guesser = client(Ipv4Addr::new(127, 0, 0, 7));
    let mut statuses = BTreeMap::<u16, usize>::new();
    for n in 0..5_000 {
        let response = guesser
            .post(url(server.addr))
            .bearer_auth(format!("guess-{n}"))
            .send()
            .await
            .unwrap();
        *statuses.entry(response.status().as_u16()).or_default() += 1;
        if response.status() == reqwest::StatusCode::TOO_MANY_REQUESTS {
            let retry_after = response.headers()["retry-after"].to_str().unwrap();
            let secs: u64 = retry_after.parse().unwrap();
            assert!((1..=60).contains(&secs), "{retry_after}");
        }
    }
    assert_eq!(statuses, BTreeMap::from([(401, 5), (429, 4_995)]));
    let locked = guesser
        .post(url(server.addr))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(locked.status(), reqwest::StatusCode::TOO_MANY_REQUESTS);
    let operator = client(Ipv4Addr::new(127, 0, 0, 8))
        .post(url(server.addr))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(operator.status(), reqwest::StatusCode::OK);
    kill_switch.expect_msg(WAIT).await;
    kill_switch.expect_no_msg(Duration::from_millis(50)).await;

    let metrics = reqwest::get(format!("http://{}/metrics", server.addr))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for (reason, at_least) in [("unauthorized", 5), ("locked_out", 4_996)] {
        let line = format!("alpha_panda_api_control_refused_total{{reason=\"{reason}\"}} ");
        let value: u64 = metrics
            .lines()
            .find_map(|l| l.strip_prefix(&line))
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("no {line} in {metrics}"));
        assert!(value >= at_least, "{line}{value}");
    }
    server.stop().await;

    let text = logs.text();
    let about_guesser: Vec<&str> = text.lines().filter(|l| l.contains("127.0.0.7")).collect();
    assert_eq!(about_guesser.len(), 2, "{about_guesser:#?}");
    assert!(
        about_guesser[0].contains(" WARN ") && about_guesser[0].contains("control request refused"),
        "{about_guesser:#?}"
    );
    assert!(
        about_guesser[1].contains("locked out") && about_guesser[1].contains("failures=5"),
        "{about_guesser:#?}"
    );
    assert!(!text.contains("guess-"), "no presented token is logged");
    assert!(!text.contains(TOKEN), "the token is never logged");
    assert!(!text.lines().any(|l| l.contains(" ERROR ")), "{text}");
}
