//! `config check` is the whole truth: everything `run` cannot honour is refused by `config
//! check` with exit 2 and a message naming the setting, every problem at once, secrets
//! never echoed; `run` refuses the same file the same way before starting anything; and a
//! signal during start-up is a clean exit 0, never a killed process.

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

/// The binary with only the settings the test gives (never the developer's overrides).
fn command(args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_alpha-panda"));
    cmd.args(args).env("NO_COLOR", "1");
    for (k, _) in std::env::vars().filter(|(k, _)| k.starts_with("ALPHA_PANDA_")) {
        cmd.env_remove(k);
    }
    cmd
}

/// A settings file holding `toml`, in a directory that lives as long as the guard.
fn settings_file(toml: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("settings.toml");
    std::fs::write(&path, toml).unwrap();
    (dir, path)
}

/// Runs `alpha-panda --config <file> <args>` to its end.
fn with_file(toml: &str, args: &[&str]) -> Output {
    let (_dir, path) = settings_file(toml);
    let mut all = vec!["--config", path.to_str().unwrap()];
    all.extend_from_slice(args);
    command(&all).output().expect("run alpha-panda")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// The keys of the problem lines `config check` printed.
fn problem_keys(err: &str) -> Vec<String> {
    err.lines()
        .skip_while(|l| !l.starts_with("invalid configuration"))
        .skip(1)
        .filter_map(|l| l.split_once(": ").map(|(k, _)| k.to_owned()))
        .collect()
}

/// Each problem `run` used to meet only after starting (or by aborting), as a settings
/// file, with the key `config check` must name.
const CASES: &[(&str, &str, &str)] = &[
    (
        "a window too large to allocate (aborted run on the first tick)",
        "[strategies.momentum_1.params]\nlookback = 4294967296000\n",
        "strategies.momentum_1.params.lookback",
    ),
    (
        "a partition count librdkafka aborts on",
        "[topics]\ntick_partitions = 100000000\n",
        "topics.tick_partitions",
    ),
    (
        "a subscription the instrument registry does not know",
        "[feed]\nsubscriptions = [\"NOSUCHSYMBOL:full\"]\n",
        "feed.subscriptions[0]",
    ),
    (
        "a strategy instrument the instrument registry does not know",
        "[strategies.momentum_1]\ninstruments = [\"RELIANCE\", \"NOSUCHSYMBOL\"]\n",
        "strategies.momentum_1.instruments[1]",
    ),
    (
        "a Redis URL without a host",
        "[redis]\nurl = \"redis://\"\n",
        "redis.url",
    ),
    (
        "a librdkafka property that does not exist",
        "[kafka.client]\n\"no.such.property\" = \"1\"\n",
        "kafka.client.no.such.property",
    ),
    (
        "a librdkafka property with a bad value",
        "[kafka.client]\n\"socket.timeout.ms\" = \"soon\"\n",
        "kafka.client.socket.timeout.ms",
    ),
    (
        "a missing instruments file",
        "[instruments]\npath = \"/nonexistent/alpha-panda/instruments.csv\"\n",
        "instruments.path",
    ),
    (
        "a control token short enough to guess",
        "[api]\ncontrol_token = \"short-token\"\n",
        "api.control_token",
    ),
    (
        "a Telegram alert target without its bot token",
        "[alerts.telegram]\nenabled = true\nchat_id = \"-1001234\"\n",
        "alerts.telegram.bot_token",
    ),
    (
        "a delivery timeout librdkafka refuses (not above linger)",
        "[kafka]\nlinger_ms = 2000\nmessage_timeout_ms = 1000\n",
        "kafka.message_timeout_ms",
    ),
];

#[test]
fn config_check_refuses_each_problem_run_could_not_honour() {
    for (case, toml, key) in CASES {
        let out = with_file(toml, &["config", "check"]);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{case}: {err}");
        assert!(
            problem_keys(&err).iter().any(|k| k == key),
            "{case}: expected a problem keyed {key}:\n{err}"
        );
        assert!(stdout(&out).is_empty(), "{case}: printed settings anyway");
    }
}

#[test]
fn one_file_with_many_problems_reports_them_all_at_once() {
    // Type errors beside range errors in the same sections, bad params beside a bad
    // strategy key, registry and librdkafka problems: every one named in one run.
    let toml = "\
        [api]\ncontrol_token = 12345678901234567\n\
        [kafka]\nlinger_ms = \"fast\"\nfetch_wait_max_ms = 0\n\
        [kafka.client]\n\"no.such.property\" = \"1\"\n\
        [topics]\ntick_partitions = 100000000\n\
        [redis]\nurl = \"redis://\"\n\
        [feed]\nsubscriptions = [\"NOSUCHSYMBOL:full\"]\n\
        [strategies.momentum_1]\nenabled = \"yes\"\ninstruments = [\"RELIANCE\", \"ZZZZ\"]\n\
        [strategies.momentum_1.params]\nlookback = 4294967296000\nthreshold = \"x\"\n\
        quantity = 0\n";
    let out = with_file(toml, &["config", "check"]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    let keys = problem_keys(&err);
    for key in [
        "api.control_token",
        "feed.subscriptions[0]",
        "kafka.client.no.such.property",
        "kafka.fetch_wait_max_ms",
        "kafka.linger_ms",
        "redis.url",
        "strategies.momentum_1.enabled",
        "strategies.momentum_1.instruments[1]",
        "strategies.momentum_1.params.lookback",
        "strategies.momentum_1.params.quantity",
        "strategies.momentum_1.params.threshold",
        "topics.tick_partitions",
    ] {
        assert!(keys.iter().any(|k| k == key), "{key} missing:\n{err}");
    }
}

#[test]
fn a_numeric_secret_is_never_echoed() {
    let toml = "[api]\ncontrol_token = 12345678901234567\n\
                [kite]\napi_secret = 98765432109876543\n";
    let out = with_file(toml, &["config", "check"]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert_eq!(problem_keys(&err), ["api.control_token", "kite.api_secret"]);
    for secret in ["12345678901234567", "98765432109876543"] {
        assert!(!err.contains(secret), "echoed {secret}:\n{err}");
    }
    assert!(err.contains("value not shown"), "{err}");
}

#[test]
fn run_refuses_the_same_file_the_same_way_before_starting_anything() {
    let toml = "[topics]\ntick_partitions = 100000000\n\
                [feed]\nsubscriptions = [\"NOSUCHSYMBOL:full\"]\n\
                [strategies.momentum_1.params]\nlookback = 4294967296000\n";
    let check = with_file(toml, &["config", "check"]);
    let run = with_file(toml, &["run"]);
    assert_eq!(run.status.code(), Some(2), "{}", stderr(&run));
    // The same problems, worded the same.
    assert_eq!(stderr(&run), stderr(&check));
    // Nothing started: no broker, no topics, no actors (they log when they do).
    let err = stderr(&run);
    for started in ["embedded", "topics ready", "running until"] {
        assert!(!err.contains(started), "run started ({started}):\n{err}");
    }
}

#[test]
fn sigint_during_start_up_exits_0_cleanly() {
    // A "Redis" that accepts connections and never answers holds start-up in the store's
    // connect (up to a minute), after the embedded broker and the simulator started.
    let redis = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = redis.local_addr().unwrap();
    let held = std::thread::spawn(move || {
        // Keep what is accepted open until the listener's test ends.
        let mut open = Vec::new();
        for stream in redis.incoming().take(4).flatten() {
            open.push(stream);
        }
        open
    });
    let toml = format!(
        "[api]\nenabled = false\n[redis]\nurl = \"redis://{address}\"\n\
         connect_timeout_ms = 60000\n"
    );
    let (_dir, path) = settings_file(&toml);
    let mut child = command(&["--config", path.to_str().unwrap(), "run"])
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let first = lines
        .next()
        .expect("a first log line")
        .expect("utf-8 log line");
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    let exit = child.wait().unwrap();
    // Killed by the signal, the process would have no exit code at all.
    assert_eq!(exit.code(), Some(0), "{first}\n{rest:#?}");
    assert!(
        rest.iter()
            .any(|l| l.contains("signal received during start-up")),
        "{first}\n{rest:#?}"
    );
    assert!(
        !rest.iter().any(|l| l.contains("running until")),
        "{rest:#?}"
    );
    drop(held);
}

/// The contracts `rule` names today in the embedded registry, `EXCHANGE:SYMBOL`, resolved
/// here through the library (at the master's NIFTY 50 price).
fn contracts_today(rule: &str) -> Vec<String> {
    use alpha_panda::market::{ChainRule, InstrumentRegistry, MarketCalendar, OptionChains};
    let registry = InstrumentRegistry::embedded().unwrap();
    let chains = OptionChains::build(&registry);
    let rule: ChainRule = rule.parse().unwrap();
    let inputs = alpha_panda::market::RuleInputs {
        today: MarketCalendar::ist_date(chrono::Utc::now()),
        price: Some(registry.by_symbol("NSE:NIFTY 50").unwrap().last_price),
    };
    let tokens = rule.resolve(&chains, inputs).unwrap();
    tokens
        .iter()
        .map(|t| registry.by_token(*t).unwrap().key())
        .collect()
}

#[test]
fn config_check_prints_what_each_subscription_rule_resolves_to() {
    let toml = "[feed]\nsubscriptions = [\"RELIANCE:full\", \"NIFTY:CE,PE:ATM±1:current_week:quote\"]\n\
                [strategies.momentum_1]\ninstruments = [\"NIFTY:PE:OTM2:current_month\"]\n";
    let out = with_file(toml, &["config", "check"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    let feed = contracts_today("NIFTY:CE,PE:ATM±1:current_week");
    assert_eq!(feed.len(), 6, "three strikes, two rights: {feed:?}");
    let expected_feed = format!(
        "#   feed.subscriptions[1] NIFTY:CE,PE:ATM±1:current_week (NSE:NIFTY 50 at 26000) -> {}",
        feed.join(", ")
    );
    assert!(
        text.contains(&expected_feed),
        "{expected_feed}\nin:\n{text}"
    );
    let strategy = contracts_today("NIFTY:PE:OTM2:current_month");
    let expected_strategy = format!(
        "#   strategies.momentum_1.instruments[0] NIFTY:PE:OTM2:current_month (NSE:NIFTY 50 at 26000) -> {}",
        strategy.join(", ")
    );
    assert!(
        text.contains(&expected_strategy),
        "{expected_strategy}\nin:\n{text}"
    );
}

#[test]
fn a_rule_that_cannot_resolve_is_refused_naming_its_setting() {
    #[rustfmt::skip]
    let cases = [
        ("[feed]\nsubscriptions = [\"NIFTY 50:ltp\", \"FINNIFTY:CE:ATM:current_week:quote\"]\n",
         "feed.subscriptions[1]: FINNIFTY has no futures or options in the instrument master"),
        ("[feed]\nsubscriptions = [\"NIFTY:CE:ATM+99:current_week:quote\"]\n",
         "feed.subscriptions[0]: NIFTY "),
        ("[strategies.momentum_1]\ninstruments = [\"NIFTY:CE:ATM:someday\"]\n",
         "strategies.momentum_1.instruments[0]: expiry \"someday\" is not understood"),
    ];
    for (toml, expected) in cases {
        let out = with_file(toml, &["config", "check"]);
        assert_eq!(out.status.code(), Some(2), "{toml}: {}", stdout(&out));
        let err = stderr(&out);
        assert!(
            err.contains(expected),
            "{toml}: expected {expected:?} in:\n{err}"
        );
    }
}
