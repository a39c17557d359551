//! `alpha-panda record` as users run it: live ticks from a real broker to a JSON-lines file
//! the backtest reads, undecodable records skipped and counted, clear failures.

mod common;

use alpha_panda::backtest::ticks::{self, TickFormat, TickOptions};
use alpha_panda::messages::{Envelope, MarketTick, decode, encode};
use alpha_panda::streaming::{KafkaConnection, TopicMap, admin};
use chrono::{TimeZone, Utc};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::time::{Duration, Instant};

/// Bound on each wait: the recorder starting, its records arriving, its exit.
const WAIT: Duration = Duration::from_secs(30);

/// A running `alpha-panda record` with its stderr lines arriving on a channel.
struct Recorder {
    child: Child,
    stderr: Receiver<String>,
    /// Every stderr line seen so far, for failure messages.
    said: Vec<String>,
}

impl Recorder {
    fn start(args: &[&str], brokers: &str) -> Recorder {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_alpha-panda"));
        cmd.arg("record").args(args).env("NO_COLOR", "1");
        // Only what the test sets: never the developer's own overrides.
        for (k, _) in std::env::vars().filter(|(k, _)| k.starts_with("ALPHA_PANDA_")) {
            cmd.env_remove(k);
        }
        let mut child = cmd
            .env("ALPHA_PANDA__KAFKA__BROKERS", brokers)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn alpha-panda record");
        let (tx, stderr) = mpsc::channel();
        let pipe = child.stderr.take().expect("stderr is piped");
        std::thread::spawn(move || {
            for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Recorder {
            child,
            stderr,
            said: Vec::new(),
        }
    }

    /// Waits for a stderr line containing `text`, failing with what was said after `WAIT`.
    fn wait_for(&mut self, text: &str) {
        let deadline = Instant::now() + WAIT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.stderr.recv_timeout(left) {
                Ok(line) => {
                    let found = line.contains(text);
                    self.said.push(line);
                    if found {
                        return;
                    }
                }
                Err(e) => {
                    let _ = self.child.kill();
                    panic!(
                        "no `{text}` on stderr within {WAIT:?} ({e}); it said:\n{}",
                        self.said.join("\n")
                    );
                }
            }
        }
    }

    /// Waits for the exit (bounded), then returns the status, stdout and all of stderr.
    fn finish(mut self) -> (ExitStatus, String, String) {
        let pid = self.child.id().to_string();
        let (tx, exited) = mpsc::channel();
        let child = self.child;
        std::thread::spawn(move || {
            let _ = tx.send(child.wait_with_output());
        });
        let output = match exited.recv_timeout(WAIT) {
            Ok(output) => output.expect("wait for the recorder"),
            Err(_) => {
                let _ = Command::new("kill").args(["-KILL", &pid]).status();
                panic!(
                    "the recorder did not exit within {WAIT:?}; it said:\n{}",
                    self.said.join("\n")
                );
            }
        };
        // The reader thread ends at EOF, once the process is gone.
        self.said.extend(self.stderr.iter());
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        (output.status, stdout, self.said.join("\n"))
    }
}

async fn ensure_topics(connection: &KafkaConnection) {
    let map = TopicMap::new(&common::settings().topics);
    admin::ensure_topics(connection, &map, Duration::from_secs(10))
        .await
        .expect("create the topics on the test broker");
}

/// Instrument tokens no other test or process uses, so `--tokens` keeps their ticks out.
fn fresh_tokens() -> (u32, u32) {
    let n = (uuid::Uuid::new_v4().as_u128() as u32) | 0x100;
    (n, n ^ 0x80)
}

fn lines_of(path: &Path) -> Vec<Envelope<MarketTick>> {
    std::fs::read_to_string(path)
        .expect("the recording exists")
        .lines()
        .map(|l| decode::<MarketTick>(l.as_bytes()).expect("each line is an envelope"))
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn records_live_ticks_sorted_by_time_and_skips_what_does_not_decode() {
    let Some(connection) = common::real_broker() else {
        return;
    };
    ensure_topics(&connection).await;
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("ticks.jsonl");
    let (a, b) = fresh_tokens();
    let brokers = connection.bootstrap_servers.clone();
    let args = [
        "--out",
        out.to_str().unwrap(),
        "--max-ticks",
        "20",
        "--tokens",
        &format!("{a},{b}"),
    ];
    let recorder = tokio::task::block_in_place(|| {
        let mut r = Recorder::start(&args, &brokers);
        r.wait_for("recording market.ticks");
        r
    });

    // Token `b`'s times run backwards and interleave with `a`'s: the file must be sorted.
    let base = Utc.with_ymd_and_hms(2026, 11, 2, 4, 0, 0).unwrap();
    let sent: Vec<Envelope<MarketTick>> = (0..20)
        .map(|i: i64| {
            let (token, secs) = if i % 2 == 0 { (a, i) } else { (b, 40 - i) };
            let tick = common::tick(token, 250_000 + i);
            Envelope::root(tick, "test", base + chrono::Duration::seconds(secs))
        })
        .collect();
    // The garbage goes first, keyed like `a`'s ticks: on their partition and before them,
    // so it is read before the 20th tick.
    let mut records = vec![(a.to_string(), b"{not an envelope".to_vec())];
    records.extend(sent.iter().map(|e| (e.key.clone(), encode(e))));
    tokio::task::block_in_place(|| common::produce_raw(&brokers, "market.ticks", &records));

    let (status, stdout, stderr) = tokio::task::block_in_place(|| recorder.finish());
    assert!(status.success(), "{status}: {stderr}");
    let says = format!("recorded 20 ticks to {} (1 skipped)", out.display());
    assert!(stdout.contains(&says), "stdout: {stdout}\nstderr: {stderr}");
    assert!(stderr.contains("skipping a record"), "{stderr}");

    let mut expected = sent.clone();
    expected.sort_by_key(|e| e.ts);
    assert_eq!(lines_of(&out), expected);
    let reader = ticks::open(&out, TickOptions::default()).expect("the backtest opens it");
    assert_eq!(reader.format(), TickFormat::JsonLines);
    let read: Vec<_> = reader
        .collect::<Result<_, _>>()
        .expect("the backtest reads it");
    assert_eq!(read, expected);
    let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert_eq!(left.len(), 1, "no temporary file is left: {left:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn sigterm_ends_the_recording_with_what_was_read() {
    let Some(connection) = common::real_broker() else {
        return;
    };
    ensure_topics(&connection).await;
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("quiet.jsonl");
    let (a, _) = fresh_tokens();
    let token = a.to_string();
    let args = ["--out", out.to_str().unwrap(), "--tokens", &token];
    let (status, stdout, stderr) = tokio::task::block_in_place(|| {
        let mut recorder = Recorder::start(&args, &connection.bootstrap_servers);
        recorder.wait_for("recording market.ticks");
        let pid = recorder.child.id().to_string();
        let killed = Command::new("kill").args(["-TERM", &pid]).status();
        assert!(killed.is_ok_and(|s| s.success()), "kill -TERM {pid}");
        recorder.finish()
    });
    assert!(status.success(), "{status}: {stderr}");
    let says = format!("recorded 0 ticks to {} (0 skipped)", out.display());
    assert!(stdout.contains(&says), "stdout: {stdout}\nstderr: {stderr}");
    assert_eq!(std::fs::read(&out).unwrap(), b"");
}

#[test]
fn an_unwritable_out_path_fails_naming_the_path() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no-such-dir").join("ticks.jsonl");
    let is_dir = dir.path().to_str().unwrap().to_owned();
    for (out, says) in [
        (missing.to_str().unwrap(), "No such file or directory"),
        (is_dir.as_str(), "is a directory"),
    ] {
        // Refused before any broker is contacted: none is needed at this address.
        let recorder = Recorder::start(&["--out", out], "127.0.0.1:9");
        let (status, _, stderr) = recorder.finish();
        assert_eq!(status.code(), Some(1), "{stderr}");
        assert!(stderr.contains(&format!("cannot write {out}")), "{stderr}");
        assert!(stderr.contains(says), "{stderr}");
    }
}

#[test]
fn the_embedded_broker_is_refused_as_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("ticks.jsonl");
    let recorder = Recorder::start(&["--out", out.to_str().unwrap()], "embedded");
    let (status, _, stderr) = recorder.finish();
    assert_eq!(status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("set kafka.brokers"), "{stderr}");
    assert!(!out.exists());
}
