//! End to end: the built binary against the real broker and the real Redis.
//!
//! Each test runs the daemon with a config of its own: a strategy id no other test uses
//! (topics are shared, so everything read back is filtered by it), its own consumer-group
//! prefix, and producers that send one record per batch (tansu 0.6 cannot serve a fetch
//! that starts inside a batch; see docs/STREAMING.md). The tests run one at a time: they
//! share Redis's risk state and the machine's two cores.

mod accounting;
#[path = "../common/mod.rs"]
mod common;
mod daemon;
mod example_options;
#[path = "../common/faults.rs"]
mod fault_services;
mod faults;
mod grafana;
mod strategies;
#[path = "../common/timed.rs"]
mod timed;
mod zerodha_soak;

use alpha_panda::messages::{
    Broker, OrderFailed, OrderFilled, Payload, ValidatedSignal, client_order_id,
};
use alpha_panda::portfolio::{Portfolio, recompute};
use alpha_panda::streaming::history::read_history;
use alpha_panda::streaming::{KafkaConnection, Stream, Topic};
use daemon::Daemon;
use rust_decimal::Decimal;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Duration;

static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

const TOKEN: &str = "e2e-control-token";
/// Bound on a graceful shutdown (the supervision stop timeout is 5 s per actor).
const SHUTDOWN_BOUND: Duration = Duration::from_secs(20);

/// A scenario's settings file and names.
struct Scenario {
    _dir: tempfile::TempDir,
    config: PathBuf,
    /// The settings, with `CLIENT_ID` where each start writes a fresh Kafka client id.
    toml: String,
    strategy: String,
    connection: KafkaConnection,
    redis: String,
}

fn scenario(name: &str, ticks_per_sec: u32) -> Option<Scenario> {
    let (Some(connection), Some(redis)) = (common::real_broker(), common::redis_url()) else {
        return None;
    };
    // A database of their own, emptied first: the risk state (`paper:risk`) is shared by
    // every run against this Redis, and earlier runs must not count here.
    let redis = format!("{}/15", redis.trim_end_matches('/'));
    let client = redis::Client::open(redis.as_str()).expect("redis url");
    let mut conn = client.get_connection().expect("redis");
    let _: () = redis::cmd("FLUSHDB")
        .query(&mut conn)
        .expect("flush the e2e database");
    let id = uuid::Uuid::new_v4().simple().to_string();
    let strategy = format!("{name}_{}", &id[..8]);
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.toml");
    let toml = format!(
        r#"
[kafka]
brokers = "{brokers}"
client_id = "CLIENT_ID"
group_prefix = "e2e-{id}"
linger_ms = 0
fetch_wait_max_ms = 1

[kafka.client]
"batch.num.messages" = "1"

[redis]
url = "{redis}"

[api]
listen = "127.0.0.1:0"
control_token = "{TOKEN}"

[simulator]
ticks_per_sec = {ticks_per_sec}

[market_hours]
# Time of day must not matter to these runs (MIS entry cutoff, square-off).
intraday = false

[paper]
allow_short = true

[strategies.momentum_1]
enabled = false

[strategies.ema_cross_1]
enabled = false

[strategies.{strategy}]
enabled = true
brokers = ["paper"]
instruments = ["RELIANCE", "INFY", "TCS", "HDFCBANK"]
params = {{ kind = "ema_cross", fast = 3, slow = 6, quantity = 1 }}
"#,
        brokers = connection.bootstrap_servers,
    );
    Some(Scenario {
        _dir: dir,
        config,
        toml,
        strategy,
        connection,
        redis,
    })
}

impl Scenario {
    /// Starts a daemon on this scenario. Each start gets its own Kafka client id: tansu
    /// 0.6 keys idempotent producers by client id, and a process killed with -9 would
    /// otherwise fence the producer of the next one (real Kafka and Redpanda do not).
    fn start(&self) -> Daemon {
        self.start_with(&[], &[])
    }

    /// Starts a daemon with extra command-line arguments and settings from the
    /// environment (each process its own file: the client id differs).
    fn start_with(&self, args: &[&str], envs: &[(&str, &str)]) -> Daemon {
        let client = format!("e2e-{}", uuid::Uuid::new_v4().simple());
        let config = self.config.with_file_name(format!("{client}.toml"));
        std::fs::write(&config, self.toml.replace("CLIENT_ID", &client)).unwrap();
        Daemon::start(&config, args, envs)
    }
}

fn is(line: &serde_json::Value, message: &str, strategy: &str) -> bool {
    line["message"] == message && line["strategy"] == strategy
}

/// Every record of `stream` on the paper topics, in topic order.
fn history<T: Payload>(
    connection: &KafkaConnection,
    stream: Stream,
) -> Vec<alpha_panda::messages::Envelope<T>> {
    let topic = Topic::of(Broker::Paper, stream).name();
    let (records, _) = read_history::<T>(connection, &topic, Duration::from_secs(20))
        .unwrap_or_else(|e| panic!("reading {topic}: {e}"));
    records
}

/// The fills of `strategy` on `paper.orders.filled`, in topic order, each once.
///
/// A record may appear twice: after a crash, execution republishes what it journaled,
/// because it cannot know whether the first publication got out (at-least-once). A
/// republished fill is the same event — same envelope id, same content — which every
/// consumer's dedup absorbs. Two *different* events for one fill id would be a double
/// execution: that fails the test.
fn fills_of(connection: &KafkaConnection, strategy: &str) -> Vec<OrderFilled> {
    let mut seen: std::collections::BTreeMap<String, alpha_panda::messages::Envelope<OrderFilled>> =
        Default::default();
    let mut fills = Vec::new();
    for e in history::<OrderFilled>(connection, Stream::OrdersFilled) {
        if e.data.order.strategy_id != strategy {
            continue;
        }
        match seen.get(&e.data.fill_id) {
            Some(first) => assert!(
                first.id == e.id && first.data == e.data,
                "fill {} executed twice: {first:?} and {e:?}",
                e.data.fill_id
            ),
            None => {
                fills.push(e.data.clone());
                seen.insert(e.data.fill_id.clone(), e);
            }
        }
    }
    fills
}

/// What must agree between the read model and a recomputation (marks aside: the live
/// portfolio is marked to the last tick).
fn essentials(p: &Portfolio) -> (Decimal, Decimal, Decimal, usize, Vec<(u32, i64)>) {
    let mut positions: Vec<(u32, i64)> = p.positions().map(|q| (q.token, q.quantity)).collect();
    positions.sort();
    (
        p.cash(),
        p.realized_pnl(),
        p.charges(),
        p.fill_count(),
        positions,
    )
}

#[test]
fn the_kill_switch_halts_and_resumes_trading_over_the_api() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    let Some(s) = scenario("e2e_switch", 40) else {
        return;
    };
    let mut d = s.start();
    let wait = Duration::from_secs(60);
    d.wait_for("a validated signal", wait, |l| {
        is(l, "signal validated", &s.strategy)
    });

    assert_eq!(d.http("POST", "/api/v1/trading/paper/halt", None).0, 401);
    assert_eq!(
        d.http("POST", "/api/v1/trading/paper/halt", Some("wrong"))
            .0,
        401
    );
    let (status, body) = d.http("POST", "/api/v1/trading/paper/halt", Some(TOKEN));
    assert_eq!(
        (status, body.as_str()),
        (200, r#"{"broker":"paper","state":"HALTED"}"#)
    );
    // Lines logged just before the halt may still be in the pipe: the first rejection
    // that names the halt proves it took effect.
    d.wait_for("a rejection for the halt", wait, |l| {
        is(l, "signal rejected", &s.strategy)
            && l["reasons"]
                .as_str()
                .is_some_and(|r| r.contains("trading_halted"))
    });

    let (status, body) = d.http("POST", "/api/v1/trading/paper/resume", Some(TOKEN));
    assert_eq!(
        (status, body.as_str()),
        (200, r#"{"broker":"paper","state":"ACTIVE"}"#)
    );
    d.wait_for("a validated signal after resuming", wait, |l| {
        is(l, "signal validated", &s.strategy)
    });
    let (code, took, lines) = d.sigterm();
    assert_eq!(
        code,
        Some(0),
        "{}",
        lines[lines.len().saturating_sub(20)..].join("\n")
    );
    assert!(took < SHUTDOWN_BOUND, "shutdown took {took:?}");
}

/// The API's portfolio of `strategy` as (cash, positions), from its JSON.
fn api_view(body: &str) -> (Decimal, Vec<(u32, i64)>) {
    let v: serde_json::Value = serde_json::from_str(body).expect("portfolio JSON");
    let cash = v["cash"]
        .as_str()
        .and_then(|c| c.parse().ok())
        .expect("cash");
    let mut positions: Vec<(u32, i64)> = v["positions"]
        .as_array()
        .map(|ps| {
            ps.iter()
                .map(|p| {
                    (
                        p["token"].as_u64().unwrap_or(0) as u32,
                        p["quantity"].as_i64().unwrap_or(0),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    positions.sort();
    (cash, positions)
}

fn recomputed(connection: &KafkaConnection, strategy: &str) -> Portfolio {
    let fills = fills_of(connection, strategy);
    let book = recompute(&fills, &[], Decimal::from(1_000_000));
    book.get(Broker::Paper, strategy)
        .cloned()
        .expect("fills of the strategy")
}

/// Waits until the API's portfolio equals a recomputation from the fills topic (trading is
/// halted, so both stop moving once the last fills are booked).
fn converges(d: &Daemon, s: &Scenario) -> Portfolio {
    let path = format!("/api/v1/portfolios/paper/{}", s.strategy);
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let expected = recomputed(&s.connection, &s.strategy);
        let (cash, positions) = api_view(&d.get_ok(&path, Duration::from_secs(10)));
        let want = essentials(&expected);
        let nonzero: Vec<(u32, i64)> = want.4.iter().copied().filter(|p| p.1 != 0).collect();
        let got: Vec<(u32, i64)> = positions.into_iter().filter(|p| p.1 != 0).collect();
        if cash == want.0 && got == nonzero {
            return expected;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the API's portfolio ({cash}, {got:?}) never equalled the recomputation ({}, {nonzero:?})",
            want.0
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// The read model in Redis, as [`essentials`] (it counts fills instead of listing their ids).
fn stored_essentials(
    redis: &str,
    strategy: &str,
) -> (Decimal, Decimal, Decimal, usize, Vec<(u32, i64)>) {
    let client = redis::Client::open(redis).unwrap();
    let mut conn = client.get_connection().unwrap();
    let json: String = redis::cmd("GET")
        .arg(format!("paper:portfolio:{strategy}"))
        .query(&mut conn)
        .unwrap();
    let portfolio: Portfolio = serde_json::from_str(&json).unwrap();
    let model: serde_json::Value = serde_json::from_str(&json).unwrap();
    let fills = model["fill_count"]
        .as_u64()
        .expect("fill_count in the read model");
    let mut e = essentials(&portfolio);
    e.3 = usize::try_from(fills).unwrap();
    e
}

#[test]
fn fills_reach_the_api_portfolio_and_a_restart_resumes_where_it_stopped() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    let Some(s) = scenario("e2e_fills", 40) else {
        return;
    };
    let wait = Duration::from_secs(90);
    let mut d = s.start();
    for _ in 0..3 {
        d.wait_for("a fill", wait, |l| is(l, "order filled", &s.strategy));
    }
    // Halt: no new orders, so the read model and the topic come to rest.
    let (status, _) = d.http("POST", "/api/v1/trading/paper/halt", Some(TOKEN));
    assert_eq!(status, 200);
    let first = converges(&d, &s);
    let (code, took, lines) = d.sigterm();
    assert_eq!(
        code,
        Some(0),
        "{}",
        lines[lines.len().saturating_sub(20)..].join("\n")
    );
    assert!(took < SHUTDOWN_BOUND, "shutdown took {took:?}");

    // Restarted: still HALTED (the risk state is durable), the portfolio rebuilt from the
    // topic; resumed, it trades on from where it stopped.
    let mut d = s.start();
    assert_eq!(essentials(&converges(&d, &s)), essentials(&first));
    let (status, _) = d.http("POST", "/api/v1/trading/paper/resume", Some(TOKEN));
    assert_eq!(status, 200);
    d.wait_for("a fill after the restart", wait, |l| {
        is(l, "order filled", &s.strategy)
    });
    let (status, _) = d.http("POST", "/api/v1/trading/paper/halt", Some(TOKEN));
    assert_eq!(status, 200);
    let last = converges(&d, &s);
    assert!(
        last.fill_count() > first.fill_count(),
        "no new fill after the restart"
    );
    let (code, _, _) = d.sigterm();
    assert_eq!(code, Some(0));
    assert_eq!(stored_essentials(&s.redis, &s.strategy), essentials(&last));
}

/// Validated signals of `strategy` whose order has no terminal outcome yet, and orders
/// with more than one (a complete fill or a failure each count as one; the same event
/// republished counts once).
fn outcomes(connection: &KafkaConnection, strategy: &str) -> (Vec<String>, Vec<String>) {
    let validated: Vec<String> = history::<ValidatedSignal>(connection, Stream::SignalsValidated)
        .into_iter()
        .filter(|e| e.data.signal.strategy_id == strategy)
        .map(|e| client_order_id(e.id))
        .collect();
    let mut terminal: std::collections::BTreeMap<String, usize> = Default::default();
    for f in fills_of(connection, strategy) {
        if f.cumulative_quantity == f.order_quantity {
            *terminal.entry(f.order.client_order_id).or_default() += 1;
        }
    }
    for e in history::<OrderFailed>(connection, Stream::OrdersFailed) {
        if e.data.order.strategy_id == strategy {
            *terminal.entry(e.data.order.client_order_id).or_default() += 1;
        }
    }
    let open = validated
        .iter()
        .filter(|id| !terminal.contains_key(*id))
        .cloned()
        .collect();
    let doubled = terminal
        .into_iter()
        .filter(|(_, n)| *n > 1)
        .map(|(id, _)| id)
        .collect();
    (open, doubled)
}

/// The consumers' session timeout in the kill -9 test (see there).
const KILLED_SESSION: Duration = Duration::from_secs(6);

#[test]
fn kill_9_mid_burst_then_a_restart_loses_and_doubles_nothing() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    let Some(mut s) = scenario("e2e_kill", 200) else {
        return;
    };
    s.toml = s.toml.replace(
        "fetch_wait_max_ms = 1\n",
        &format!(
            "fetch_wait_max_ms = 1\nsession_timeout_ms = {}\n",
            KILLED_SESSION.as_millis()
        ),
    );
    let wait = Duration::from_secs(90);
    let mut d = s.start();
    for _ in 0..5 {
        d.wait_for("a fill", wait, |l| is(l, "order filled", &s.strategy));
    }
    // Signals are being validated, placed and booked right now.
    d.kill9();
    // The killed process's consumers stay in their groups until their sessions expire,
    // and tansu 0.6 gives a member that joins before that no partitions, for good (each
    // service logs "partitions assigned" with 0; the broker's group list keeps the dead
    // members, so there is nothing to poll). The next life starts once the session
    // timeout has passed: a wait for the broker, not synchronisation of our own code.
    std::thread::sleep(KILLED_SESSION + Duration::from_secs(1));

    let mut d = s.start();
    d.wait_for("a fill after the restart", wait, |l| {
        is(l, "order filled", &s.strategy)
    });
    let (status, _) = d.http("POST", "/api/v1/trading/paper/halt", Some(TOKEN));
    assert_eq!(status, 200);
    // Every validated signal ends exactly once, once the pipeline has caught up.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let (open, doubled) = outcomes(&s.connection, &s.strategy);
        assert!(doubled.is_empty(), "orders with two outcomes: {doubled:?}");
        if open.is_empty() {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "validated signals without an outcome: {open:?}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    // No fill twice (asserted by the recomputation) and the read model agrees.
    let last = converges(&d, &s);
    let (code, _, _) = d.sigterm();
    assert_eq!(code, Some(0));
    assert_eq!(stored_essentials(&s.redis, &s.strategy), essentials(&last));
}

/// The `market.ticks` partitions a process's `service` consumer was last assigned.
fn tick_partitions(lines: &[String], service: &str) -> std::collections::BTreeSet<String> {
    lines
        .iter()
        .rev()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find(|v| v["message"] == "partitions assigned" && v["service"] == service)
        .map(|v| {
            v["assigned"]
                .as_str()
                .unwrap_or_default()
                .split(',')
                .filter(|p| p.starts_with("market.ticks:"))
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

/// Ticks (by correlation id) that a process's strategy runner turned into signals.
fn handled_ticks(lines: &[String], strategy: &str) -> std::collections::BTreeSet<String> {
    lines
        .iter()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v["message"] == "signal" && v["strategy"] == strategy)
        .filter_map(|v| v["correlation_id"].as_str().map(str::to_owned))
        .collect()
}

const TEN: [&str; 10] = [
    "RELIANCE",
    "INFY",
    "TCS",
    "HDFCBANK",
    "ICICIBANK",
    "SBIN",
    "ITC",
    "KOTAKBANK",
    "LT",
    "WIPRO",
];

#[test]
fn two_strategy_runners_split_the_tick_partitions_and_handle_no_tick_twice() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    let Some(s) = scenario("e2e_split", 20) else {
        return;
    };
    // Ten instruments spread over the six tick partitions, so both halves carry ticks.
    let subscriptions = TEN.map(|t| format!("{t}:quote")).join(",");
    let instruments = TEN.join(",");
    let instruments_key = format!(
        "ALPHA_PANDA__STRATEGIES__{}__INSTRUMENTS",
        s.strategy.to_uppercase()
    );
    let shared = [
        ("ALPHA_PANDA__FEED__SUBSCRIPTIONS", subscriptions.as_str()),
        (instruments_key.as_str(), instruments.as_str()),
    ];
    let with = |instance: &'static str| {
        let mut envs = shared.to_vec();
        envs.push(("ALPHA_PANDA__SERVICE__INSTANCE_ID", instance));
        envs
    };
    let wait = Duration::from_secs(60);
    let runner = ["--services", "strategy_runner"];
    let mut a = s.start_with(&runner, &with("a"));
    let mut b = s.start_with(&runner, &with("b"));
    // Both in the group before any tick flows, so nothing is in flight at the rebalance.
    let split = |l: &serde_json::Value| {
        l["message"] == "partitions assigned"
            && l["service"] == "ticks.strategy_runner"
            && l["partitions"].as_u64().is_some_and(|n| n < 6)
    };
    a.wait_for("a's share of the partitions", wait, split);
    b.wait_for("b's share of the partitions", wait, split);
    let feed = s.start_with(&["--services", "market_feed"], &with("feed"));
    let signal =
        |l: &serde_json::Value| l["message"] == "signal" && l["strategy"] == s.strategy.as_str();
    a.wait_for("a signal from a", wait, signal);
    b.wait_for("a signal from b", wait, signal);

    let (code, _, _) = feed.sigterm();
    assert_eq!(code, Some(0));
    let (code_a, _, lines_a) = a.sigterm();
    let (code_b, _, lines_b) = b.sigterm();
    assert_eq!((code_a, code_b), (Some(0), Some(0)));
    let (pa, pb) = (
        tick_partitions(&lines_a, "ticks.strategy_runner"),
        tick_partitions(&lines_b, "ticks.strategy_runner"),
    );
    assert!(!pa.is_empty() && !pb.is_empty(), "{pa:?} / {pb:?}");
    assert!(pa.is_disjoint(&pb), "both own a partition: {pa:?} / {pb:?}");
    assert_eq!(pa.len() + pb.len(), 6, "{pa:?} / {pb:?}");
    let (ta, tb) = (
        handled_ticks(&lines_a, &s.strategy),
        handled_ticks(&lines_b, &s.strategy),
    );
    assert!(!ta.is_empty() && !tb.is_empty());
    let both: Vec<&String> = ta.intersection(&tb).collect();
    if let Some(id) = both.first() {
        let show = |lines: &[String]| {
            lines
                .iter()
                .filter(|l| l.contains(id.as_str()))
                .cloned()
                .collect::<Vec<_>>()
                .join("\n")
        };
        let rebalances = |lines: &[String]| {
            lines
                .iter()
                .filter(|l| l.contains("partitions assigned") || l.contains("revoked"))
                .cloned()
                .collect::<Vec<_>>()
                .join("\n")
        };
        eprintln!(
            "A rebalances:\n{}\nB rebalances:\n{}",
            rebalances(&lines_a),
            rebalances(&lines_b)
        );
        panic!(
            "{} of {}+{} ticks handled by both processes, e.g. {id}:\nA {pa:?}\n{}\nB {pb:?}\n{}",
            both.len(),
            ta.len(),
            tb.len(),
            show(&lines_a),
            show(&lines_b)
        );
    }
}
