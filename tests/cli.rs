//! The binary as users run it: help, config check, topics and DLQ replay.

mod common;

use alpha_panda::messages::{DlqErrorKind, DlqRecord, Envelope, RecordOrigin, encode};
use std::io::Write;
use std::process::{Command, Output};
use std::time::Duration;

fn alpha_panda(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_alpha-panda"));
    cmd.args(args).env("NO_COLOR", "1");
    // Only what the test sets: never the developer's own overrides.
    for (k, _) in std::env::vars().filter(|(k, _)| k.starts_with("ALPHA_PANDA_")) {
        cmd.env_remove(k);
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("run alpha-panda")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn help_explains_each_subcommand() {
    let out = alpha_panda(&["--help"], &[]);
    assert!(out.status.success());
    let text = stdout(&out);
    for (command, says) in [
        ("run", "Run the daemon under its supervision tree"),
        ("config", "Inspect the configuration"),
        ("topics", "Create or list the Kafka topics"),
        ("dlq", "Dead-letter queue tools"),
        ("kite-sim", "Serve Kite's ticker protocol"),
        ("zerodha", "Zerodha's daily login"),
    ] {
        let explained = text
            .lines()
            .any(|l| l.trim_start().starts_with(&format!("{command} ")) && l.contains(says));
        assert!(explained, "help does not explain `{command}`:\n{text}");
    }
    let replay = stdout(&alpha_panda(&["dlq", "replay", "--help"], &[]));
    assert!(
        replay.contains("--dry-run") && replay.contains("--limit") && replay.contains("--topic")
    );
}

#[test]
fn config_check_prints_effective_settings_with_secrets_masked() {
    let out = alpha_panda(
        &["config", "check"],
        &[
            (
                "ALPHA_PANDA__REDIS__URL",
                "redis://:hunter2@127.0.0.1:6379/0",
            ),
            ("ALPHA_PANDA__KAFKA__LINGER_MS", "12"),
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("linger_ms = 12"), "{text}");
    assert!(text.contains("brokers = \"embedded\""));
    assert!(!text.contains("hunter2"), "secret leaked:\n{text}");
    assert!(text.contains("url = \"***\""), "{text}");
}

#[test]
fn config_check_names_the_bad_key_and_exits_2() {
    let out = alpha_panda(
        &["config", "check"],
        &[("ALPHA_PANDA__KAFKA__LINGER_MS", "fast")],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains(r#"kafka.linger_ms: expected an integer, got "fast""#),
        "{}",
        stderr(&out)
    );

    let mut file = tempfile::NamedTempFile::new().unwrap();
    writeln!(
        file,
        "[kafka]\nlingr_ms = 3\n[retry]\nbase_ms = 100\nmax_ms = 10"
    )
    .unwrap();
    let out = alpha_panda(
        &["--config", file.path().to_str().unwrap(), "config", "check"],
        &[],
    );
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(err.contains("kafka.lingr_ms: unknown key"), "{err}");
    assert!(err.contains("linger_ms"), "suggests the right key: {err}");
}

#[test]
fn topics_list_and_create_work_on_the_embedded_broker() {
    let out = alpha_panda(&["topics", "list"], &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("market.ticks "), "{text}");
    assert!(text.contains("market.subscriptions "), "{text}");
    assert!(text.contains("zerodha.orders.filled.dlq"), "{text}");
    assert!(
        !text.contains("missing"),
        "embedded broker has every topic:\n{text}"
    );
    assert!(stderr(&out).contains("NOTHING IS DURABLE"));

    let out = alpha_panda(&["topics", "create"], &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("0 created, 32 already existed"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn topics_create_then_list_against_a_real_broker() {
    let Some(conn) = common::real_broker() else {
        return;
    };
    let env = [(
        "ALPHA_PANDA__KAFKA__BROKERS",
        conn.bootstrap_servers.as_str(),
    )];
    let first = alpha_panda(&["topics", "create"], &env);
    assert!(first.status.success(), "{}", stderr(&first));
    let text = stdout(&first);
    let created = text.lines().filter(|l| l.starts_with("created")).count();
    let existing = text.lines().filter(|l| l.starts_with("exists")).count();
    assert_eq!(created + existing, 32, "{text}");

    let again = alpha_panda(&["topics", "create"], &env);
    assert!(
        stdout(&again).contains("0 created, 32 already existed"),
        "{}",
        stdout(&again)
    );

    let list = stdout(&alpha_panda(&["topics", "list"], &env));
    assert!(!list.contains("missing"), "{list}");
    assert!(list.contains("paper.signals.raw "), "{list}");
}

#[test]
fn dlq_replay_refuses_a_topic_that_is_not_a_dlq() {
    let out = alpha_panda(&["dlq", "replay", "--topic", "market.ticks"], &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("is not a DLQ topic"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn dlq_replay_dry_run_then_replay_against_a_real_broker() {
    let Some(conn) = common::real_broker() else {
        return;
    };
    let topic = common::unique_topic("cli-replay");
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(common::create_topics(&conn, &[&topic], 1));
    let original = b"original bytes \xff".to_vec();
    let origin = RecordOrigin {
        topic: topic.clone(),
        partition: 0,
        offset: 17,
    };
    let record = DlqRecord::new(
        &origin,
        Some(b"k1"),
        Some(&original),
        (DlqErrorKind::Decode, "bad".into()),
        1,
        "test",
    );
    let dlq = format!("{topic}.dlq");
    let value = encode(&Envelope::root(record, "test", chrono::Utc::now()));
    common::produce_raw(&conn.bootstrap_servers, &dlq, &[("k1".into(), value)]);
    let env = [(
        "ALPHA_PANDA__KAFKA__BROKERS",
        conn.bootstrap_servers.as_str(),
    )];

    let dry = alpha_panda(&["dlq", "replay", "--topic", &dlq, "--dry-run"], &env);
    assert!(dry.status.success(), "{}", stderr(&dry));
    assert!(
        stdout(&dry).contains(&format!("would replay 1 record(s) to {topic}")),
        "{}",
        stdout(&dry)
    );

    let real = alpha_panda(&["dlq", "replay", "--topic", &dlq], &env);
    assert!(real.status.success(), "{}", stderr(&real));
    assert!(
        stdout(&real).contains(&format!("replayed 1 record(s) to {topic}")),
        "{}",
        stdout(&real)
    );

    let back = runtime.block_on(common::read_all(
        &conn.bootstrap_servers,
        &topic,
        2,
        Duration::from_secs(5),
    ));
    assert_eq!(back.len(), 1, "the dry run published nothing");
    assert_eq!(back[0].2.as_deref(), Some(&b"k1"[..]));
    assert_eq!(back[0].3, original);
}

/// `GET path` over plain HTTP/1.0: (status, body).
fn http_get(addr: &str, path: &str) -> (u16, String) {
    use std::io::Read;
    let mut stream = std::net::TcpStream::connect(addr).expect("connect to the API");
    write!(stream, "GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n").unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    let status = answer
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = answer
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body)
}

#[test]
fn run_on_embedded_defaults_serves_the_api_and_exits_0_on_sigterm() {
    use std::io::{BufRead, BufReader};
    let mut child = Command::new(env!("CARGO_BIN_EXE_alpha-panda"))
        .arg("run")
        .env("NO_COLOR", "1")
        .env("ALPHA_PANDA__LOG__FORMAT", "json")
        .env("ALPHA_PANDA__API__LISTEN", "127.0.0.1:0")
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");
    let stderr = child.stderr.take().unwrap();
    let mut lines = BufReader::new(stderr).lines();
    let mut api = None;
    for line in lines.by_ref().map_while(Result::ok) {
        if line.contains("HTTP API listening") {
            let value: serde_json::Value = serde_json::from_str(&line).unwrap();
            api = value["addr"].as_str().map(str::to_owned);
        }
        if line.contains("running until SIGINT/SIGTERM") {
            break;
        }
    }
    let api = api.expect("the daemon logged where the API listens");
    assert_eq!(http_get(&api, "/health/live").0, 200);
    let (status, actors) = http_get(&api, "/api/v1/actors");
    assert_eq!(status, 200, "{actors}");
    assert!(
        actors.contains("\"producer\"") && actors.contains("\"event_hub\""),
        "{actors}"
    );
    let (status, metrics) = http_get(&api, "/metrics");
    assert_eq!(status, 200);
    assert!(
        metrics.contains("alpha_panda_ticks_received_total"),
        "{metrics}"
    );
    let (status, portfolios) = http_get(&api, "/api/v1/portfolios");
    assert_eq!(status, 200, "{portfolios}");
    assert!(portfolios.trim_start().starts_with('['), "{portfolios}");
    let (status, missing) = http_get(&api, "/api/v1/portfolios/nyse/x");
    assert_eq!(status, 400, "{missing}");

    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    let exit = child.wait().unwrap();
    assert_eq!(exit.code(), Some(0), "{rest:?}");
    assert!(
        rest.iter().any(|l| l.contains("signal received")),
        "{rest:?}"
    );
    // A clean stop logs no error (the embedded broker outlives its clients, which
    // logged AllBrokersDown when it went first).
    let errors: Vec<&String> = rest
        .iter()
        .filter(|l| l.contains("\"level\":\"ERROR\"") || l.contains("AllBrokersDown"))
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
}

#[test]
fn run_refuses_a_supervision_policy_for_an_actor_that_does_not_exist() {
    let out = alpha_panda(
        &["run"],
        &[(
            "ALPHA_PANDA__SUPERVISION__ACTORS__PRODUCR__MAX_RESTARTS",
            "3",
        )],
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("supervision.actors.producr: names no actor of this process"),
        "{err}"
    );
    assert!(err.contains("producer"), "lists the real names: {err}");
}

#[test]
fn kite_sim_serves_the_ticker_protocol() {
    use std::io::{BufRead, BufReader};
    use tokio_tungstenite::tungstenite::{Message, connect};
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_alpha-panda"))
        .args([
            "kite-sim",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--ticks-per-sec",
            "50",
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawn");
    let mut banner = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut banner)
        .unwrap();
    assert!(
        banner.contains(&format!("ws://127.0.0.1:{port}")),
        "{banner}"
    );
    let (mut ws, _) = connect(format!("ws://127.0.0.1:{port}/?api_key=k&access_token=t")).unwrap();
    ws.send(Message::text(r#"{"a":"subscribe","v":[738561]}"#))
        .unwrap();
    ws.send(Message::text(r#"{"a":"mode","v":["ltp",[738561]]}"#))
        .unwrap();
    let mut ltp_packets = 0;
    while ltp_packets < 3 {
        if let Message::Binary(frame) = ws.read().unwrap() {
            if frame.len() == 1 {
                continue; // heartbeat
            }
            let alpha_panda::kite::ticker::Frame::Packets(packets) =
                alpha_panda::kite::ticker::parse_frame(&frame).unwrap()
            else {
                continue;
            };
            for p in packets {
                let tick = p.unwrap();
                assert_eq!(tick.token, 738_561, "only the subscribed token");
                if tick.kind == alpha_panda::kite::ticker::PacketKind::Ltp {
                    ltp_packets += 1;
                }
            }
        }
    }
    let _ = child.kill();
    let _ = child.wait();
}

#[test]
fn zerodha_login_url_names_the_api_key_or_says_it_is_missing() {
    let out = alpha_panda(
        &["zerodha", "login-url"],
        &[("ALPHA_PANDA__KITE__API_KEY", "my_app_key")],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        stdout(&out).trim(),
        "https://kite.zerodha.com/connect/login?api_key=my_app_key&v=3"
    );
    let missing = alpha_panda(&["zerodha", "login-url"], &[]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(
        stderr(&missing).contains(
            "kite.api_key is missing: set the environment variable ALPHA_PANDA__KITE__API_KEY"
        ),
        "{}",
        stderr(&missing)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn zerodha_session_exchanges_the_request_token_into_an_owner_only_file() {
    use alpha_panda::kite::fake::{FakeKite, FakeKiteConfig};
    use std::os::unix::fs::PermissionsExt;
    let config = FakeKiteConfig::default();
    let kite = FakeKite::start(config.clone()).await.unwrap();
    kite.register_request_token("req_token_1");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("kite_token");
    let file_text = file.to_str().unwrap().to_owned();
    let url = kite.base_url();
    let env = [
        ("ALPHA_PANDA__KITE__REST_URL", url.as_str()),
        ("ALPHA_PANDA__KITE__API_KEY", config.api_key.as_str()),
        ("ALPHA_PANDA__KITE__API_SECRET", config.api_secret.as_str()),
        ("ALPHA_PANDA__BROKERS__ENABLED", "paper,zerodha"),
        ("ALPHA_PANDA__KITE__ACCESS_TOKEN_FILE", file_text.as_str()),
    ];
    let args = ["zerodha", "session", "--request-token", "req_token_1"];
    // The fake serves from its own threads; this one may block on the child.
    let out = tokio::task::block_in_place(|| alpha_panda(&args, &env));
    assert!(out.status.success(), "{}", stderr(&out));
    let token = std::fs::read_to_string(&file).unwrap();
    assert_eq!(token.trim(), kite.access_token());
    let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let said = format!("{}{}", stdout(&out), stderr(&out));
    assert!(said.contains("logged in to Kite as"), "{said}");
    assert!(
        !said.contains(token.trim()),
        "the token is not printed when written"
    );
    assert!(!said.contains(&config.api_secret));

    // A request token works once: the second exchange is refused with Kite's words.
    let env2 = [
        ("ALPHA_PANDA__KITE__REST_URL", url.as_str()),
        ("ALPHA_PANDA__KITE__API_KEY", config.api_key.as_str()),
        ("ALPHA_PANDA__KITE__API_SECRET", config.api_secret.as_str()),
    ];
    let again = tokio::task::block_in_place(|| {
        alpha_panda(
            &[
                "zerodha",
                "session",
                "--request-token",
                "req_token_1",
                "--print",
            ],
            &env2,
        )
    });
    assert_eq!(again.status.code(), Some(1));
    assert!(
        stderr(&again).contains("login failed: Kite refused the access token (HTTP 403): Token is invalid or has expired."),
        "{}",
        stderr(&again)
    );
}

#[test]
fn run_with_zerodha_but_no_credentials_says_exactly_what_is_missing() {
    let out = alpha_panda(
        &["run"],
        &[("ALPHA_PANDA__BROKERS__ENABLED", "paper,zerodha")],
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("kite.api_key: is missing: live trading (brokers.enabled has \"zerodha\") needs it; set the environment variable ALPHA_PANDA__KITE__API_KEY"),
        "{err}"
    );
    assert!(err.contains("kite.access_token: is missing"), "{err}");

    let dir = tempfile::tempdir().unwrap();
    let absent = dir.path().join("token");
    let out = alpha_panda(
        &["run"],
        &[
            ("ALPHA_PANDA__BROKERS__ENABLED", "paper,zerodha"),
            ("ALPHA_PANDA__KITE__API_KEY", "k"),
            (
                "ALPHA_PANDA__KITE__ACCESS_TOKEN_FILE",
                absent.to_str().unwrap(),
            ),
        ],
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("does not exist; run `alpha-panda zerodha session"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn run_with_zerodha_places_orders_on_kite_and_never_logs_the_token() {
    use alpha_panda::kite::fake::{FakeKite, FakeKiteConfig};
    use std::io::{BufRead, BufReader};
    let config = FakeKiteConfig::default();
    let kite = FakeKite::start(config.clone()).await.unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_alpha-panda"));
    cmd.arg("run").env("NO_COLOR", "1");
    for (k, _) in std::env::vars().filter(|(k, _)| k.starts_with("ALPHA_PANDA_")) {
        cmd.env_remove(k);
    }
    let mut child = cmd
        .envs([
            ("ALPHA_PANDA__LOG__FORMAT", "json"),
            ("ALPHA_PANDA__LOG__LEVEL", "debug"),
            ("ALPHA_PANDA__API__LISTEN", "127.0.0.1:0"),
            ("ALPHA_PANDA__BROKERS__ENABLED", "paper,zerodha"),
            ("ALPHA_PANDA__STRATEGIES__MOMENTUM_1__BROKERS", "zerodha"),
            ("ALPHA_PANDA__SIMULATOR__TICKS_PER_SEC", "50"),
            // Any time of day: no MIS entry cutoff or square-off.
            ("ALPHA_PANDA__MARKET_HOURS__INTRADAY", "false"),
            ("ALPHA_PANDA__KITE__REST_URL", kite.base_url().as_str()),
            ("ALPHA_PANDA__KITE__API_KEY", config.api_key.as_str()),
            (
                "ALPHA_PANDA__KITE__ACCESS_TOKEN",
                config.access_token.as_str(),
            ),
        ])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    // Until the daemon has logged Kite's answer to a placement (not just the fake's
    // receipt of it: the answer is what it acts on).
    let mut lines = Vec::new();
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let placed = loop {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        match tokio::task::block_in_place(|| rx.recv_timeout(left)) {
            Ok(line) => {
                let done = line.contains("order placed on Kite");
                lines.push(line);
                if done {
                    break true;
                }
            }
            Err(_) => break false,
        }
    };
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let exit = tokio::task::block_in_place(|| child.wait().unwrap());
    lines.extend(rx.try_iter());
    assert!(placed, "no order was placed on Kite: {lines:#?}");
    assert_eq!(exit.code(), Some(0), "{lines:#?}");

    let order = &kite.orders()[0];
    let tag = order.tag.clone().unwrap();
    assert!(tag.starts_with("ap") && tag.len() == 20, "{tag}");
    assert!(["RELIANCE", "INFY"].contains(&order.tradingsymbol.as_str()));
    assert_eq!(
        (order.product.as_str(), order.exchange.as_str()),
        ("MIS", "NSE")
    );
    let text = lines.join("\n");
    assert!(text.contains("reconciled with Kite"), "{text}");
    assert!(text.contains("order placed on Kite"), "{text}");
    assert!(
        !text.contains(&config.access_token),
        "the access token leaked into the logs"
    );
}

#[test]
fn run_refuses_an_unknown_service_and_an_execution_service_whose_broker_is_off() {
    let out = alpha_panda(&["run", "--services", "strategy_runner,risk_managr"], &[]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains(
            "--services: unknown service `risk_managr` (services: strategy_runner, risk_manager,"
        ),
        "{}",
        stderr(&out)
    );
    let out = alpha_panda(&["run", "--services", "zerodha_execution"], &[]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains(
            "--services names zerodha_execution, but brokers.enabled does not have zerodha"
        ),
        "{}",
        stderr(&out)
    );
}

#[test]
fn run_with_a_subset_of_services_starts_only_those() {
    use std::io::{BufRead, BufReader};
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_alpha-panda"));
    for (k, _) in std::env::vars().filter(|(k, _)| k.starts_with("ALPHA_PANDA_")) {
        cmd.env_remove(k);
    }
    let mut child = cmd
        .args(["run", "--services", "market_feed,strategy_runner"])
        .env("NO_COLOR", "1")
        .env("ALPHA_PANDA__API__LISTEN", "127.0.0.1:0")
        .env("ALPHA_PANDA__LOG__FORMAT", "json")
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");
    let stderr = child.stderr.take().unwrap();
    let mut lines = BufReader::new(stderr).lines();
    let ready = lines
        .by_ref()
        .map_while(Result::ok)
        .find(|l| l.contains("running until SIGINT/SIGTERM"))
        .expect("the daemon came up");
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    assert_eq!(child.wait().unwrap().code(), Some(0), "{rest:?}");
    let line: serde_json::Value = serde_json::from_str(&ready).unwrap();
    let actors: Vec<&str> = line["actors"].as_str().unwrap().split(',').collect();
    for running in [
        "producer",
        "strategy_runner",
        "consumer.ticks",
        "market_feed",
    ] {
        assert!(
            actors.contains(&running),
            "{running} did not start: {actors:?}"
        );
    }
    for absent in [
        "risk_manager",
        "paper_execution",
        "portfolio_manager",
        "consumer.risk_manager",
    ] {
        assert!(!actors.contains(&absent), "{absent} started: {actors:?}");
    }
}
