//! A daemon under test: the built binary as a child process, its JSON log lines, its API.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

pub struct Daemon {
    child: Child,
    lines: mpsc::Receiver<String>,
    /// Every line read so far (for failure messages).
    pub seen: Vec<String>,
    api: Option<String>,
}

/// How [`Daemon::watch_or_exit`] ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Watched {
    /// The condition held.
    Done,
    TimedOut,
    /// The log ended: the daemon exited.
    Exited,
}

impl Daemon {
    /// Starts `alpha-panda run` with `config` and `args`, and waits until it runs.
    pub fn start(config: &Path, args: &[&str], envs: &[(&str, &str)]) -> Daemon {
        Self::start_binary(
            Path::new(env!("CARGO_BIN_EXE_alpha-panda")),
            config,
            args,
            envs,
        )
    }

    /// [`Daemon::start`] of another binary built on the library (an example's).
    pub fn start_binary(
        binary: &Path,
        config: &Path,
        args: &[&str],
        envs: &[(&str, &str)],
    ) -> Daemon {
        let mut cmd = Command::new(binary);
        for (k, _) in std::env::vars().filter(|(k, _)| k.starts_with("ALPHA_PANDA_")) {
            cmd.env_remove(k);
        }
        let mut child = cmd
            .arg("--config")
            .arg(config)
            .arg("run")
            .args(args)
            .env("NO_COLOR", "1")
            .env("ALPHA_PANDA__LOG__FORMAT", "json")
            .envs(envs.iter().copied())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn alpha-panda");
        let stderr = child.stderr.take().expect("stderr");
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    return;
                }
            }
        });
        let mut daemon = Daemon {
            child,
            lines,
            seen: Vec::new(),
            api: None,
        };
        let listening = daemon.wait_for("the API to listen", Duration::from_secs(60), |l| {
            l["message"] == "HTTP API listening"
        });
        daemon.api = listening["addr"].as_str().map(str::to_owned);
        daemon.wait_for("the daemon to run", Duration::from_secs(60), |l| {
            l["message"] == "running until SIGINT/SIGTERM"
        });
        daemon
    }

    /// The next log line (JSON) for which `matches` holds, waiting at most `timeout`.
    ///
    /// # Panics
    /// None came in time, or the daemon exited.
    pub fn wait_for(
        &mut self,
        what: &str,
        timeout: Duration,
        matches: impl Fn(&serde_json::Value) -> bool,
    ) -> serde_json::Value {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if let Ok(value) = serde_json::from_str::<serde_json::Value>(&line)
                        && matches(&value)
                    {
                        return value;
                    }
                }
                Err(_) => panic!(
                    "waited {timeout:?} for {what}; last lines:\n{}",
                    self.tail()
                ),
            }
        }
    }

    /// Hands every log line (JSON) to `done` until it answers true (then true) or
    /// `deadline` passes (then false): for a condition built up over many lines, where
    /// running out of time is an outcome the caller judges rather than a failure.
    ///
    /// # Panics
    /// The daemon exited (its log ended) first.
    pub fn watch(
        &mut self,
        deadline: Instant,
        done: impl FnMut(&serde_json::Value) -> bool,
    ) -> bool {
        match self.watch_or_exit(deadline, done) {
            Watched::Done => true,
            Watched::TimedOut => false,
            Watched::Exited => panic!("the daemon exited; last lines:\n{}", self.tail()),
        }
    }

    /// [`Daemon::watch`] for a test where the daemon exiting is an outcome to judge.
    pub fn watch_or_exit(
        &mut self,
        deadline: Instant,
        mut done: impl FnMut(&serde_json::Value) -> bool,
    ) -> Watched {
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if let Ok(value) = serde_json::from_str::<serde_json::Value>(&line)
                        && done(&value)
                    {
                        return Watched::Done;
                    }
                }
                Err(mpsc::RecvTimeoutError::Timeout) => return Watched::TimedOut,
                Err(mpsc::RecvTimeoutError::Disconnected) => return Watched::Exited,
            }
        }
    }

    pub fn tail(&self) -> String {
        let from = self.seen.len().saturating_sub(30);
        self.seen[from..].join("\n")
    }

    /// The API's address.
    pub fn api(&self) -> &str {
        self.api.as_deref().expect("API address")
    }

    /// `method path` on the API with optional bearer token: (status, body).
    pub fn http(&self, method: &str, path: &str, bearer: Option<&str>) -> (u16, String) {
        http(self.api(), method, path, bearer)
    }

    /// Asks `GET path` until it answers 200 (the read model is written just after the
    /// fill is logged), at most `timeout`: the body.
    ///
    /// # Panics
    /// No 200 in time.
    pub fn get_ok(&self, path: &str, timeout: Duration) -> String {
        let deadline = Instant::now() + timeout;
        loop {
            let (status, body) = self.http("GET", path, None);
            if status == 200 {
                return body;
            }
            assert!(Instant::now() < deadline, "GET {path}: {status} {body}");
            // Polling a condition with a deadline, not sleeping in place of one.
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// SIGTERM, then the exit code and how long the shutdown took.
    pub fn sigterm(mut self) -> (Option<i32>, Duration, Vec<String>) {
        let started = Instant::now();
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let status = self.child.wait().expect("wait");
        let elapsed = started.elapsed();
        let mut rest: Vec<String> = self.lines.try_iter().collect();
        self.seen.append(&mut rest);
        (status.code(), elapsed, std::mem::take(&mut self.seen))
    }

    /// Waits at most `within` for the daemon to exit by itself: its exit code (`None`:
    /// killed by a signal, or still running at the deadline and killed then) and its log.
    pub fn wait_exit(mut self, within: Duration) -> (Option<i32>, Vec<String>) {
        let deadline = Instant::now() + within;
        let code = loop {
            match self.child.try_wait() {
                Ok(Some(status)) => break status.code(),
                Ok(None) if Instant::now() < deadline => {
                    // Polling the child with a deadline.
                    std::thread::sleep(Duration::from_millis(100));
                }
                _ => {
                    let _ = self.child.kill();
                    let _ = self.child.wait();
                    break None;
                }
            }
        };
        // The reader thread ends with the pipe; take what it read.
        while let Ok(line) = self.lines.recv_timeout(Duration::from_secs(2)) {
            self.seen.push(line);
        }
        (code, std::mem::take(&mut self.seen))
    }

    /// Takes the log lines read so far into [`Self::seen`] (for a failure message).
    pub fn drain(&mut self) {
        let mut rest: Vec<String> = self.lines.try_iter().collect();
        self.seen.append(&mut rest);
    }

    /// If the process has exited: its status, with the log lines read since.
    pub fn exited(&mut self) -> Option<(std::process::ExitStatus, String)> {
        let status = self.child.try_wait().ok().flatten()?;
        while let Ok(line) = self.lines.recv_timeout(Duration::from_secs(2)) {
            self.seen.push(line);
        }
        Some((status, self.tail()))
    }

    /// SIGKILL: no goodbye.
    pub fn kill9(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
    }
}

/// One HTTP/1.0 request: (status, body).
pub fn http(addr: &str, method: &str, path: &str, bearer: Option<&str>) -> (u16, String) {
    let mut stream = std::net::TcpStream::connect(addr).expect("connect to the API");
    let auth = bearer
        .map(|t| format!("Authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    write!(
        stream,
        "{method} {path} HTTP/1.0\r\nHost: {addr}\r\n{auth}Content-Length: 0\r\n\r\n"
    )
    .expect("send");
    let mut answer = String::new();
    stream.read_to_string(&mut answer).expect("read");
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
