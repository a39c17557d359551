//! The dashboard in a real browser: the daemon on its embedded defaults (paper trading on
//! simulated ticks), driven by Debian's Chromium through `tests/browser/dashboard.mjs`
//! (playwright-core; `scripts/browser-deps.sh` installs Chromium and the npm package).
//!
//! The script checks what a person sees (panels, a fill within seconds, live updates, the
//! kill-switch flow, no console error, nothing from another origin); this test then checks
//! the daemon's side on its own: the refused attempt reached the server as a 401, and
//! trading is ACTIVE again after the page's halt and resume.
//!
//! `ALPHA_PANDA_SCREENSHOT=docs/dashboard.png` also saves the page as it looked after the
//! fills (the picture in the README).
//!
//! Without Node.js, the npm package or Chromium the test is skipped with a note, except
//! under `CI=true`, where that is a failure: CI runs it through `scripts/test.sh`.

#[path = "common/browser.rs"]
mod browser;
use browser::manifest;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const TOKEN: &str = "browser-test-control-token";

/// The daemon on its defaults, with the API on a free port and a control token. Its log
/// goes to a file, not a pipe: a pipe nobody drains would block the daemon when full.
struct Daemon {
    child: Child,
    api: String,
    log: tempfile::NamedTempFile,
}

impl Daemon {
    fn start() -> Daemon {
        let log = tempfile::NamedTempFile::new().expect("a log file");
        let child = Command::new(env!("CARGO_BIN_EXE_alpha-panda"))
            .arg("run")
            .env("NO_COLOR", "1")
            .env("ALPHA_PANDA__LOG__FORMAT", "json")
            .env("ALPHA_PANDA__API__LISTEN", "127.0.0.1:0")
            .env("ALPHA_PANDA__API__CONTROL_TOKEN", TOKEN)
            .stderr(log.reopen().expect("the log file"))
            .stdout(Stdio::null())
            .spawn()
            .expect("spawn the daemon");
        let mut daemon = Daemon {
            child,
            api: String::new(),
            log,
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let lines = daemon.log_lines();
            let api = lines
                .iter()
                .filter(|l| l.contains("HTTP API listening"))
                .find_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
                .and_then(|v| v["addr"].as_str().map(str::to_owned));
            if let Some(api) = api
                && lines
                    .iter()
                    .any(|l| l.contains("running until SIGINT/SIGTERM"))
            {
                daemon.api = api;
                return daemon;
            }
            if let Ok(Some(status)) = daemon.child.try_wait() {
                panic!("the daemon exited ({status}) before it ran: {lines:#?}");
            }
            assert!(
                Instant::now() < deadline,
                "the daemon did not start: {lines:#?}"
            );
            // Polling the log for a condition, with a deadline.
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn log_lines(&self) -> Vec<String> {
        let bytes = std::fs::read(self.log.path()).unwrap_or_default();
        String::from_utf8_lossy(&bytes)
            .lines()
            .map(str::to_owned)
            .collect()
    }

    fn get(&self, path: &str) -> (u16, String) {
        let mut stream = TcpStream::connect(&self.api).expect("connect to the API");
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        write!(stream, "GET {path} HTTP/1.0\r\nHost: {}\r\n\r\n", self.api).unwrap();
        let mut answer = String::new();
        stream.read_to_string(&mut answer).unwrap();
        let status = answer[9..12].parse().unwrap();
        let body = answer
            .split_once("\r\n\r\n")
            .map(|(_, b)| b.to_owned())
            .unwrap_or_default();
        (status, body)
    }
}

impl Drop for Daemon {
    /// SIGTERM, then SIGKILL if it has not stopped within 30 s (a hang must not hold the
    /// suite; `tests/cli.rs` is where a clean stop is asserted).
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        eprintln!("the daemon did not stop within 30 s of SIGTERM: killed");
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The value of a metric's sample with exactly `labels` (`reason="unauthorized"`), or 0.
fn sample(metrics: &str, name: &str, labels: &str) -> f64 {
    let prefix = format!("{name}{{{labels}}} ");
    metrics
        .lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0.0)
}

#[test]
fn the_dashboard_shows_fills_live_and_runs_the_kill_switch_in_chromium() {
    let Some(script) = browser::script("dashboard.mjs") else {
        return;
    };
    let daemon = Daemon::start();
    let deadline = Instant::now() + Duration::from_secs(60);
    while daemon.get("/health/ready").0 != 200 {
        assert!(Instant::now() < deadline, "the daemon never became ready");
        // Polling readiness, with a deadline.
        std::thread::sleep(Duration::from_millis(200));
    }
    let (status, page) = daemon.get("/");
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("/assets/app.js"), "{page}");

    let screenshot = std::env::var("ALPHA_PANDA_SCREENSHOT")
        .ok()
        .map(|p| manifest().join(p));
    let mut node = Command::new("node");
    node.arg(&script)
        .arg(format!("http://{}/", daemon.api))
        .arg(TOKEN);
    if let Some(path) = &screenshot {
        node.arg(path);
    }
    let output = node.output().expect("run node");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    let report: serde_json::Value = stdout
        .lines()
        .rev()
        .find_map(|l| serde_json::from_str(l).ok())
        .unwrap_or_else(|| panic!("no report from the browser script\n{stdout}\n{stderr}"));
    assert_eq!(
        report["ok"],
        true,
        "the browser test failed at {}: {}\n{report:#}\nstderr: {stderr}\ndaemon log tail: {:#?}",
        report["step"],
        report["error"],
        tail(&daemon.log_lines(), 20)
    );
    assert_eq!(report["consoleErrors"], serde_json::json!([]));
    assert_eq!(report["foreignRequests"], serde_json::json!([]));
    assert!(
        report["refusal"]
            .as_str()
            .is_some_and(|t| t.contains("401") && t.contains("token")),
        "the page showed the server's refusal: {report:#}"
    );

    // The daemon's side, asked directly: one refused attempt, and trading ACTIVE again.
    let (_, metrics) = daemon.get("/metrics");
    assert_eq!(
        sample(
            &metrics,
            "alpha_panda_api_control_refused_total",
            "reason=\"unauthorized\""
        ),
        1.0,
        "exactly the page's one wrong token was refused"
    );
    let (status, risk) = daemon.get("/api/v1/risk/paper");
    assert_eq!(status, 200, "{risk}");
    let risk: serde_json::Value = serde_json::from_str(&risk).unwrap();
    assert_eq!(risk["state"], "ACTIVE", "{risk:#}");
    let (_, orders) = daemon.get("/api/v1/orders?broker=paper&limit=1000");
    let order = report["firstOrder"]
        .as_str()
        .expect("the first fill's order id");
    assert!(
        orders.contains(&format!("\"client_order_id\":\"{order}\"")),
        "the fill the page showed is of an order the daemon made: {order}"
    );
    if let Some(path) = screenshot {
        let bytes = std::fs::read(&path).expect("the screenshot");
        assert_eq!(&bytes[1..4], b"PNG", "{} is a PNG", path.display());
    }
}

fn tail(lines: &[String], n: usize) -> Vec<String> {
    lines[lines.len().saturating_sub(n)..].to_vec()
}
