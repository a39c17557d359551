//! Services a fault test may break: a Redis and a tansu broker of the test's own, on free
//! loopback ports, that it can stop, freeze (SIGSTOP), thaw (SIGCONT) and start again.
//!
//! Why private ones: the suite's shared Redis and broker serve every other test; a fault
//! injected there would break them. The binaries are the same ones scripts/test-services.sh
//! uses (`redis-server` on PATH; tansu from `ALPHA_PANDA_TEST_TANSU`, PATH, cargo's bin or
//! the workplace's prebuilt copy).

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Where a service's output goes: appended to `$ALPHA_PANDA_TEST_LOG_DIR/{name}` when that
/// is set, else nowhere.
fn log_file(name: &str) -> Stdio {
    std::env::var("ALPHA_PANDA_TEST_LOG_DIR")
        .ok()
        .and_then(|dir| {
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(Path::new(&dir).join(name))
                .ok()
        })
        .map_or_else(Stdio::null, Stdio::from)
}

/// A port free on 127.0.0.1 right now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// Waits until something accepts connections on `port` (at most 20 s).
///
/// # Panics
/// Nothing listened in time.
pub fn wait_for_port(port: u16, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "{what} did not listen on {port}");
        // Polling a condition with a deadline.
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn signal(child: &Child, name: &str) {
    let status = Command::new("kill")
        .args([&format!("-{name}"), &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success(), "kill -{name} {}", child.id());
}

/// A Redis of the test's own, durable across its restarts (append-only file, fsync on
/// every write), so stopping it is an outage and not a loss of data.
pub struct PrivateRedis {
    pub port: u16,
    dir: tempfile::TempDir,
    child: Option<Child>,
}

impl PrivateRedis {
    /// Starts it, or `None` when `redis-server` is not installed.
    pub fn start() -> Option<PrivateRedis> {
        Command::new("redis-server")
            .arg("--version")
            .output()
            .ok()?;
        let mut redis = PrivateRedis {
            port: free_port(),
            dir: tempfile::tempdir().expect("a directory"),
            child: None,
        };
        redis.restart();
        Some(redis)
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Starts it again on the same port and data (it must be stopped).
    pub fn restart(&mut self) {
        assert!(self.child.is_none(), "Redis runs already");
        let child = Command::new("redis-server")
            .args(["--bind", "127.0.0.1", "--port", &self.port.to_string()])
            .args([
                "--save",
                "",
                "--appendonly",
                "yes",
                "--appendfsync",
                "always",
            ])
            .arg("--dir")
            .arg(self.dir.path())
            .stdout(Stdio::null())
            .spawn()
            .expect("start redis-server");
        self.child = Some(child);
        wait_for_port(self.port, "redis-server");
    }

    /// Stops it at once (SIGKILL: what was acknowledged is on disk).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for PrivateRedis {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A tansu broker of the test's own: in-memory storage (killing it loses its topics), or
/// durable ([`PrivateBroker::start_durable`]: SQLite in a directory of its own, so a kill
/// and a restart keep every topic, record and committed offset, as a production broker's
/// would).
pub struct PrivateBroker {
    pub port: u16,
    binary: PathBuf,
    child: Option<Child>,
    frozen: bool,
    /// Where the durable storage lives (`None`: in memory).
    data: Option<tempfile::TempDir>,
}

/// The tansu binary scripts/test-services.sh would use.
fn tansu() -> Option<PathBuf> {
    let mut candidates: Vec<PathBuf> = Vec::new();
    if let Ok(p) = std::env::var("ALPHA_PANDA_TEST_TANSU") {
        candidates.push(p.into());
    }
    if let Ok(path) = std::env::var("PATH") {
        candidates.extend(std::env::split_paths(&path).map(|d| d.join("tansu")));
    }
    if let Ok(home) = std::env::var("HOME") {
        candidates.push(Path::new(&home).join(".cargo/bin/tansu"));
    }
    candidates.push(Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/bin/tansu"));
    candidates.push("/work/shared/bin/tansu".into());
    // Absolute: a durable broker runs in a directory of its own.
    candidates
        .into_iter()
        .find(|p| p.is_file())
        .and_then(|p| p.canonicalize().ok())
}

impl PrivateBroker {
    /// Starts it in memory, or `None` when no tansu binary is found.
    pub fn start() -> Option<PrivateBroker> {
        Self::start_with(None)
    }

    /// Starts it with durable storage, or `None` when no tansu binary is found.
    pub fn start_durable() -> Option<PrivateBroker> {
        Self::start_with(Some(tempfile::tempdir().expect("a directory")))
    }

    fn start_with(data: Option<tempfile::TempDir>) -> Option<PrivateBroker> {
        let mut broker = PrivateBroker {
            port: free_port(),
            binary: tansu()?,
            child: None,
            frozen: false,
            data,
        };
        broker.restart();
        Some(broker)
    }

    pub fn bootstrap(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// Starts it (again: empty in memory, as it was when durable) on the same port.
    pub fn restart(&mut self) {
        assert!(self.child.is_none(), "the broker runs already");
        let url = format!("tcp://127.0.0.1:{}", self.port);
        let mut command = Command::new(&self.binary);
        let storage = match &self.data {
            // tansu reads a relative SQLite path from its working directory.
            Some(dir) => {
                command.current_dir(dir.path());
                "sqlite://tansu.db"
            }
            None => "memory://tansu/",
        };
        let child = command
            .args([
                "broker",
                "--listener-url",
                &url,
                "--advertised-listener-url",
                &url,
            ])
            .args(["--storage-engine", storage])
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(log_file(&format!("tansu-{}.log", self.port)))
            .spawn()
            .expect("start tansu");
        self.child = Some(child);
        self.frozen = false;
        wait_for_port(self.port, "tansu");
    }

    /// SIGSTOP: the broker holds its connections and answers nothing.
    pub fn freeze(&mut self) {
        if let Some(child) = &self.child {
            signal(child, "STOP");
            self.frozen = true;
        }
    }

    /// SIGCONT after [`Self::freeze`].
    pub fn thaw(&mut self) {
        if let Some(child) = &self.child {
            signal(child, "CONT");
            self.frozen = false;
        }
    }

    /// SIGKILL.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            if self.frozen {
                signal(&child, "CONT");
            }
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for PrivateBroker {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A TCP listener standing where the Kite ticker would: while it has no target it accepts
/// connections and never answers (a server hanging in the handshake); with a target it
/// forwards new connections there byte for byte. Connections it left hanging stay so.
pub struct HangingProxy {
    pub port: u16,
    target: std::sync::Arc<std::sync::Mutex<Option<u16>>>,
}

impl HangingProxy {
    pub fn start() -> HangingProxy {
        use std::io::copy;
        use std::net::TcpStream;
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the proxy");
        let port = listener.local_addr().expect("address").port();
        let target = std::sync::Arc::new(std::sync::Mutex::new(None::<u16>));
        let shared = target.clone();
        std::thread::spawn(move || {
            let mut hung = Vec::new();
            for client in listener.incoming().map_while(Result::ok) {
                let to = *shared.lock().unwrap_or_else(|p| p.into_inner());
                let Some(to) = to else {
                    hung.push(client); // Held open, never answered.
                    continue;
                };
                let Ok(server) = TcpStream::connect(("127.0.0.1", to)) else {
                    continue;
                };
                let (Ok(mut c2), Ok(mut s2)) = (client.try_clone(), server.try_clone()) else {
                    continue;
                };
                let (mut c1, mut s1) = (client, server);
                std::thread::spawn(move || {
                    let _ = copy(&mut c1, &mut s1);
                    let _ = s1.shutdown(std::net::Shutdown::Both);
                });
                std::thread::spawn(move || {
                    let _ = copy(&mut s2, &mut c2);
                    let _ = c2.shutdown(std::net::Shutdown::Both);
                });
            }
        });
        HangingProxy { port, target }
    }

    /// From now on new connections go to `port` (`None`: hang them).
    pub fn forward_to(&self, port: Option<u16>) {
        *self.target.lock().unwrap_or_else(|p| p.into_inner()) = port;
    }
}

/// The built-in Kite simulator as a process of its own (`alpha-panda kite-sim`).
pub struct Simulator {
    pub port: u16,
    child: Child,
}

impl Simulator {
    pub fn start() -> Simulator {
        let port = free_port();
        let child = Command::new(env!("CARGO_BIN_EXE_alpha-panda"))
            .args(["kite-sim", "--listen", &format!("127.0.0.1:{port}")])
            .args(["--ticks-per-sec", "40"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start the simulator");
        wait_for_port(port, "the Kite simulator");
        Simulator { port, child }
    }
}

impl Drop for Simulator {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
