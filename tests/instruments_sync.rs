//! `alpha-panda instruments sync` and `run`'s start-up refresh against the fake Kite (a
//! real HTTP server in this process, serving a generated master of Kite's size): the
//! binary as an operator runs it, the cache checked on disk byte for byte.

use alpha_panda::kite::fake::instruments::gzip;
use alpha_panda::kite::fake::{FakeKite, FakeKiteConfig, MasterReply, generated_master};
use alpha_panda::market::{InstrumentRegistry, MasterCache};
use chrono::{Duration as Days, FixedOffset, NaiveDate, Utc};
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// The fixed date of the masters the fake generates (contracts expire after it).
fn master_date() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 5, 12).unwrap()
}

/// Today in India (UTC+05:30), computed here independently of the crate's calendar.
fn ist_today() -> NaiveDate {
    let ist = FixedOffset::east_opt(5 * 3600 + 1800).unwrap();
    Utc::now().with_timezone(&ist).date_naive()
}

fn command(args: &[&str], env: &[(&str, &str)]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_alpha-panda"));
    cmd.args(args).env("NO_COLOR", "1");
    // Only what the test sets: never the developer's own overrides.
    for (k, _) in std::env::vars().filter(|(k, _)| k.starts_with("ALPHA_PANDA_")) {
        cmd.env_remove(k);
    }
    cmd.envs(env.iter().copied());
    cmd
}

/// Runs the binary to its end; the fake serves from its own threads meanwhile.
fn alpha_panda(args: &[&str], env: &[(&str, &str)]) -> Output {
    tokio::task::block_in_place(|| command(args, env).output().expect("run alpha-panda"))
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Every file in `dir` (hidden ones too) with its bytes.
fn snapshot(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            let name = e.file_name().to_string_lossy().into_owned();
            (name, std::fs::read(e.path()).unwrap())
        })
        .collect()
}

/// The fake Kite, its credentials and the cache directory, as environment variables.
struct Rig {
    kite: FakeKite,
    config: FakeKiteConfig,
    url: String,
    dir: tempfile::TempDir,
}

impl Rig {
    async fn start() -> Rig {
        let config = FakeKiteConfig::default();
        let kite = FakeKite::start(config.clone()).await.unwrap();
        let url = kite.base_url();
        Rig {
            kite,
            config,
            url,
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn cache_dir(&self) -> &str {
        self.dir.path().to_str().unwrap()
    }

    fn cache(&self) -> MasterCache {
        MasterCache::new(self.dir.path())
    }

    /// `[kite]` pointing at the fake with valid credentials, and the cache directory.
    fn env(&self) -> Vec<(&str, &str)> {
        vec![
            ("ALPHA_PANDA__KITE__REST_URL", self.url.as_str()),
            ("ALPHA_PANDA__KITE__API_KEY", self.config.api_key.as_str()),
            (
                "ALPHA_PANDA__KITE__ACCESS_TOKEN",
                self.config.access_token.as_str(),
            ),
            ("ALPHA_PANDA__INSTRUMENTS__CACHE_DIR", self.cache_dir()),
        ]
    }

    fn sync(&self) -> Output {
        alpha_panda(&["instruments", "sync"], &self.env())
    }
}

/// The 12 fields of a master line (the generated masters quote nothing but names with
/// commas, which the lines picked here do not have).
fn fields(line: &str) -> Vec<&str> {
    let fields: Vec<&str> = line.split(',').collect();
    assert_eq!(fields.len(), 12, "{line}");
    fields
}

#[tokio::test(flavor = "multi_thread")]
async fn sync_replaces_the_cache_with_a_100k_row_master() {
    let rig = Rig::start().await;
    let master = generated_master(100_000, master_date());
    rig.kite.serve_instruments(MasterReply::Generated {
        rows: 100_000,
        date: Some(master_date()),
    });
    // A master of an earlier day is in the cache already.
    let yesterday = ist_today() - Days::days(1);
    let old = InstrumentRegistry::embedded_on(yesterday).unwrap().to_csv();
    rig.cache().replace(&old, "seed", yesterday).unwrap();

    let out = rig.sync();
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{}{stdout}", text(&out.stderr));

    // The cache is the master exactly as served, under today's IST date, and alone.
    let file = format!("kite-instruments-{}.csv", ist_today().format("%Y-%m-%d"));
    let files = snapshot(rig.dir.path());
    assert_eq!(files.keys().collect::<Vec<_>>(), [&file]);
    assert!(files[&file] == master.as_bytes(), "byte for byte as served");

    // It loads, and a contract deep in it is found by symbol and by token as its line says.
    let (cached, registry) = rig.cache().load().unwrap().unwrap();
    assert_eq!(cached.date, ist_today());
    assert_eq!(registry.len(), 100_000);
    let line = master.lines().nth(87_654).unwrap();
    let f = fields(line);
    let (token, symbol, lot, exchange) = (f[0], f[2], f[8], f[11]);
    let by_symbol = registry.by_symbol(&format!("{exchange}:{symbol}")).unwrap();
    assert_eq!(by_symbol.token.to_string(), token, "{line}");
    assert_eq!(by_symbol.lot_size.to_string(), lot, "{line}");
    let by_token = registry.by_token(token.parse().unwrap()).unwrap();
    assert_eq!(by_token.symbol, symbol);
    // A NIFTY weekly call of the sample series, by its Kite symbol.
    let nifty = master
        .lines()
        .find(|l| l.contains(",NIFTY,") && l.ends_with(",CE,NFO-OPT,NFO"))
        .unwrap();
    let f = fields(nifty);
    let contract = registry.by_symbol(&format!("NFO:{}", f[2])).unwrap();
    assert_eq!(
        (contract.token.to_string(), contract.name.as_str()),
        (f[0].to_owned(), "NIFTY")
    );

    // What it printed: the rows, each (exchange, segment) counted, the path and the date.
    assert!(stdout.contains("downloaded 100000 instruments"), "{stdout}");
    let mut counted: BTreeMap<(String, String), usize> = BTreeMap::new();
    for line in master.lines().skip(1) {
        let f = fields(line);
        *counted
            .entry((f[11].to_owned(), f[10].to_owned()))
            .or_default() += 1;
    }
    assert!(counted.len() >= 8, "{counted:?}");
    for ((exchange, segment), rows) in &counted {
        let printed = stdout.lines().any(|l| {
            l.split_whitespace().collect::<Vec<_>>() == [exchange, segment, &rows.to_string()]
        });
        assert!(
            printed,
            "{exchange} {segment} {rows} not printed:\n{stdout}"
        );
    }
    assert!(stdout.contains(&file), "{stdout}");
    assert!(
        stdout.contains(&format!("IST date {}", ist_today())),
        "{stdout}"
    );
    assert!(
        !stdout.contains(&rig.config.access_token),
        "no token printed"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_malformed_master_is_refused_with_its_line_and_the_cache_is_unchanged() {
    let rig = Rig::start().await;
    rig.kite.serve_instruments(MasterReply::Generated {
        rows: 2_000,
        date: Some(master_date()),
    });
    assert!(rig.sync().status.success());
    let before = snapshot(rig.dir.path());

    // Line 30,000 (the header is line 1) gets a tick size that is not a number.
    let master = generated_master(50_000, master_date());
    let mut lines: Vec<String> = master.lines().map(str::to_owned).collect();
    let mut bad = fields(&lines[29_999])
        .iter()
        .map(|f| (*f).to_owned())
        .collect::<Vec<_>>();
    bad[7] = "0.o5".to_owned();
    lines[29_999] = bad.join(",");
    rig.kite
        .serve_instruments(MasterReply::Csv(lines.join("\n")));

    let out = rig.sync();
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let expected = format!(
        "{}/instruments:30000: tick_size: expected a decimal ≥ 0, got \"0.o5\"",
        rig.url
    );
    assert!(stderr.contains(&expected), "{stderr}");
    assert!(stderr.contains("unchanged"), "{stderr}");
    assert_eq!(snapshot(rig.dir.path()), before, "the cache byte for byte");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_http_error_a_truncated_gzip_or_a_refused_token_leaves_the_cache_unchanged() {
    let rig = Rig::start().await;
    rig.kite.serve_instruments(MasterReply::Generated {
        rows: 2_000,
        date: Some(master_date()),
    });
    assert!(rig.sync().status.success());
    let before = snapshot(rig.dir.path());
    let gz = gzip(generated_master(5_000, master_date()).as_bytes());

    /// How the fake fails the next sync.
    type Script = Box<dyn Fn(&FakeKite)>;
    let cases: [(&str, Script, &str); 3] = [
        (
            "HTTP 503",
            Box::new(|kite| kite.fail_next_gets(1, 503)),
            "Kite network error (HTTP 503)",
        ),
        (
            "truncated gzip",
            Box::new(move |kite| {
                kite.serve_instruments(MasterReply::Raw {
                    body: gz[..gz.len() / 2].to_vec(),
                    gzip_header: true,
                })
            }),
            "the gzip body is corrupt or truncated",
        ),
        (
            "expired token",
            Box::new(|kite| kite.expire_token()),
            "Kite refused the access token (HTTP 403)",
        ),
    ];
    for (case, script, says) in cases {
        script(&rig.kite);
        let out = rig.sync();
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{case}: {stderr}");
        assert!(
            stderr.contains("downloading the instrument master failed"),
            "{case}: {stderr}"
        );
        assert!(stderr.contains(says), "{case}: {stderr}");
        assert!(stderr.contains("unchanged"), "{case}: {stderr}");
        assert_eq!(
            snapshot(rig.dir.path()),
            before,
            "{case}: the cache byte for byte"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn sync_without_an_access_token_says_what_is_missing() {
    let rig = Rig::start().await;
    let env = [
        ("ALPHA_PANDA__KITE__REST_URL", rig.url.as_str()),
        ("ALPHA_PANDA__KITE__API_KEY", rig.config.api_key.as_str()),
        ("ALPHA_PANDA__INSTRUMENTS__CACHE_DIR", rig.cache_dir()),
    ];
    let out = alpha_panda(&["instruments", "sync"], &env);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("no access token (ALPHA_PANDA__KITE__ACCESS_TOKEN"),
        "{stderr}"
    );
    assert!(rig.kite.requests().is_empty(), "nothing was asked of Kite");
}

/// Starts `run` with `env`, waits until it runs (or exits), stops it with SIGTERM; its
/// log lines and exit code.
fn run_daemon(env: &[(&str, &str)]) -> (Vec<String>, Option<i32>) {
    let mut env = env.to_vec();
    env.extend([
        ("ALPHA_PANDA__API__LISTEN", "127.0.0.1:0"),
        ("ALPHA_PANDA__INSTRUMENTS__KITE_MASTER", "true"),
    ]);
    tokio::task::block_in_place(|| {
        let mut child = command(&["run"], &env)
            .stderr(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .expect("spawn");
        let stderr = child.stderr.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        let mut lines = Vec::new();
        let deadline = Instant::now() + Duration::from_secs(60);
        while let Ok(line) = rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
            let running = line.contains("running until SIGINT/SIGTERM");
            lines.push(line);
            if running {
                let _ = Command::new("kill")
                    .args(["-TERM", &child.id().to_string()])
                    .status();
                break;
            }
        }
        let exit = child.wait().unwrap();
        lines.extend(rx.iter());
        (lines, exit.code())
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn run_refreshes_a_stale_master_at_start() {
    let rig = Rig::start().await;
    rig.kite.serve_instruments(MasterReply::Generated {
        rows: 5_000,
        date: Some(ist_today()),
    });
    let yesterday = ist_today() - Days::days(1);
    let old = InstrumentRegistry::embedded_on(yesterday).unwrap().to_csv();
    rig.cache().replace(&old, "seed", yesterday).unwrap();

    let (lines, exit) = run_daemon(&rig.env());
    let log = lines.join("\n");
    assert_eq!(exit, Some(0), "{log}");
    assert!(log.contains("Kite instrument master refreshed"), "{log}");
    let (cached, registry) = rig.cache().load().unwrap().unwrap();
    assert_eq!((cached.date, registry.len()), (ist_today(), 5_000));
    assert_eq!(
        snapshot(rig.dir.path()).len(),
        1,
        "yesterday's master is gone"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn run_goes_on_with_the_stale_master_when_the_refresh_fails() {
    let rig = Rig::start().await;
    let yesterday = ist_today() - Days::days(1);
    let old = InstrumentRegistry::embedded_on(yesterday).unwrap().to_csv();
    rig.cache().replace(&old, "seed", yesterday).unwrap();
    let before = snapshot(rig.dir.path());
    rig.kite.fail_next_gets(1, 503);

    let (lines, exit) = run_daemon(&rig.env());
    let log = lines.join("\n");
    assert_eq!(exit, Some(0), "{log}");
    assert!(
        log.contains("KITE INSTRUMENT MASTER NOT REFRESHED"),
        "{log}"
    );
    assert!(log.contains("HTTP 503"), "{log}");
    assert!(log.contains("running until SIGINT/SIGTERM"), "{log}");
    assert_eq!(snapshot(rig.dir.path()), before);
}

#[tokio::test(flavor = "multi_thread")]
async fn run_without_credentials_warns_that_the_master_is_stale_or_refuses_without_one() {
    let rig = Rig::start().await;
    let env = [("ALPHA_PANDA__INSTRUMENTS__CACHE_DIR", rig.cache_dir())];

    // No cache, no way to get one: a configuration error before anything starts.
    let out = alpha_panda(
        &["run"],
        &[env[0], ("ALPHA_PANDA__INSTRUMENTS__KITE_MASTER", "true")],
    );
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("instruments.kite_master: no Kite instrument master is cached in"),
        "{stderr}"
    );
    assert!(stderr.contains("alpha-panda instruments sync"), "{stderr}");

    // A stale cache: used, with a loud warning.
    let yesterday = ist_today() - Days::days(1);
    let old = InstrumentRegistry::embedded_on(yesterday).unwrap().to_csv();
    rig.cache().replace(&old, "seed", yesterday).unwrap();
    let (lines, exit) = run_daemon(&env);
    let log = lines.join("\n");
    assert_eq!(exit, Some(0), "{log}");
    assert!(log.contains("KITE INSTRUMENT MASTER IS STALE"), "{log}");
    assert!(log.contains("running until SIGINT/SIGTERM"), "{log}");
    assert!(rig.kite.requests().is_empty(), "nothing was asked of Kite");
}
