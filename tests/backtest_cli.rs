//! `alpha-panda backtest` as users run it: both tick file formats, byte-identical outputs
//! for the same file, configuration and seed, malformed lines named by number with their
//! file, inputs that are not regular files refused before reading, standard input through
//! `-`, and a report whose chart is well-formed SVG with a curve per strategy.

use alpha_panda::backtest::synthetic::{self, SyntheticOptions};
use alpha_panda::backtest::ticks::{TickOptions, TickReader};
use alpha_panda::market::instruments::InstrumentRegistry;
use alpha_panda::messages::encode;
use chrono::TimeZone;
use rust_decimal::Decimal;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

const OUTPUTS: [&str; 5] = [
    "report.json",
    "fills.csv",
    "trades.csv",
    "equity.svg",
    "report.html",
];

fn config() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("config/examples/backtest-ema.toml")
}

fn backtest(ticks: &Path, out: &Path, seed: u64) -> Output {
    backtest_command(ticks, out, seed)
        .output()
        .expect("run alpha-panda backtest")
}

fn backtest_command(ticks: &Path, out: &Path, seed: u64) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_alpha-panda"));
    for (k, _) in std::env::vars().filter(|(k, _)| k.starts_with("ALPHA_PANDA_")) {
        cmd.env_remove(k);
    }
    cmd.arg("backtest")
        .arg("--ticks")
        .arg(ticks)
        .arg("--config")
        .arg(config())
        .arg("--out")
        .arg(out)
        .arg("--seed")
        .arg(seed.to_string());
    cmd
}

/// Runs `cmd` with `stdin`, killing it if it has not ended within `bound` (a FIFO opened
/// with no writer used to block for ever: the test must fail, not hang).
fn run_bounded(mut cmd: Command, stdin: Stdio, bound: Duration) -> Output {
    let mut child = cmd
        .stdin(stdin)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start alpha-panda backtest");
    let deadline = Instant::now() + bound;
    while child.try_wait().expect("wait").is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            let out = child.wait_with_output().expect("collect");
            panic!(
                "still running after {bound:?}; stderr: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().expect("collect")
}

/// A CSV of `n` synthetic RELIANCE ticks.
fn csv_file(dir: &Path, n: u64) -> PathBuf {
    let path = dir.join("ticks.csv");
    let file = std::fs::File::create(&path).unwrap();
    synthetic::write_csv(
        std::io::BufWriter::new(file),
        SyntheticOptions {
            ticks: n,
            seed: 5,
            token: 738_561,
            start_price: Decimal::new(250_000, 2),
            start: chrono::Utc.with_ymd_and_hms(2026, 11, 2, 0, 0, 0).unwrap(),
        },
    )
    .unwrap();
    path
}

fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn report(dir: &Path) -> serde_json::Value {
    serde_json::from_slice(&read(&dir.join("report.json"))).expect("report.json is JSON")
}

fn assert_ok(out: &Output) {
    assert!(
        out.status.success(),
        "exit {:?}\nstdout: {}\nstderr: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn a_csv_file_and_its_jsonl_twin_give_the_same_fills_and_report() {
    let dir = tempfile::tempdir().unwrap();
    let csv = csv_file(dir.path(), 3_000);
    // The JSON-lines twin: the envelopes the CSV reads as (same seed, same ids), one per line,
    // as `alpha-panda record` writes them.
    let registry = InstrumentRegistry::embedded().unwrap();
    let reader = TickReader::new(
        std::io::BufReader::new(std::fs::File::open(&csv).unwrap()),
        TickOptions::with_registry(9, &registry),
    )
    .unwrap();
    let mut jsonl = Vec::new();
    for envelope in reader {
        jsonl.extend(encode(&envelope.unwrap()));
        jsonl.push(b'\n');
    }
    let jsonl_path = dir.path().join("ticks.jsonl");
    std::fs::write(&jsonl_path, jsonl).unwrap();

    let (from_csv, from_jsonl) = (dir.path().join("csv"), dir.path().join("jsonl"));
    let out = backtest(&csv, &from_csv, 9);
    assert_ok(&out);
    let summary = String::from_utf8_lossy(&out.stdout);
    assert!(
        summary.contains("backtest: 3000 ticks") && summary.contains("fills"),
        "{summary}"
    );
    // Not a terminal: no progress bar, and nothing else to say at the default log level.
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_ok(&backtest(&jsonl_path, &from_jsonl, 9));

    let fills = read(&from_csv.join("fills.csv"));
    assert_eq!(fills, read(&from_jsonl.join("fills.csv")));
    let rows = fills
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .count();
    let mut a = report(&from_csv);
    let mut b = report(&from_jsonl);
    let strategy = &a["strategies"][0];
    assert_eq!(strategy["strategy_id"], "ema_bench");
    let filled = strategy["fills"].as_u64().unwrap();
    assert!(
        filled > 20,
        "the synthetic walk should trade: {filled} fills"
    );
    assert_eq!(
        rows as u64,
        filled + 1,
        "fills.csv: a header and one row per fill"
    );
    assert_eq!(a["ticks"], 3000);
    // Everything but the input's name is the same.
    a.as_object_mut().unwrap().remove("input");
    b.as_object_mut().unwrap().remove("input");
    assert_eq!(a, b);
}

#[test]
fn the_same_file_config_and_seed_give_byte_identical_outputs() {
    let dir = tempfile::tempdir().unwrap();
    let csv = csv_file(dir.path(), 5_000);
    let runs: Vec<PathBuf> = ["one", "two", "other-seed"]
        .iter()
        .map(|name| dir.path().join(name))
        .collect();
    assert_ok(&backtest(&csv, &runs[0], 3));
    assert_ok(&backtest(&csv, &runs[1], 3));
    assert_ok(&backtest(&csv, &runs[2], 4));
    for name in OUTPUTS {
        let first = read(&runs[0].join(name));
        assert!(!first.is_empty(), "{name} is empty");
        assert_eq!(
            first,
            read(&runs[1].join(name)),
            "{name} differs between runs"
        );
    }
    // The seed is part of the identity: tick ids, hence order and fill ids, change with it.
    assert_ne!(
        read(&runs[0].join("fills.csv")),
        read(&runs[2].join("fills.csv"))
    );
}

#[test]
fn the_report_page_has_the_table_and_a_chart_with_the_equity_curve() {
    let dir = tempfile::tempdir().unwrap();
    let csv = csv_file(dir.path(), 4_000);
    let out = dir.path().join("out");
    assert_ok(&backtest(&csv, &out, 1));

    let svg = String::from_utf8(read(&out.join("equity.svg"))).unwrap();
    let doc = roxmltree::Document::parse(&svg).expect("equity.svg is well-formed XML");
    assert_eq!(doc.root_element().tag_name().name(), "svg");
    // The curve: a path or polyline with many points, labelled with the strategy.
    let points = |n: roxmltree::Node| -> usize {
        let data = n.attribute("d").or(n.attribute("points")).unwrap_or("");
        data.split(|c: char| c == ' ' || c.is_ascii_alphabetic())
            .filter(|s| s.contains(','))
            .count()
    };
    let longest = doc
        .descendants()
        .filter(|n| matches!(n.tag_name().name(), "path" | "polyline"))
        .map(points)
        .max()
        .unwrap_or(0);
    assert!(
        longest > 50,
        "no equity curve in the chart (longest line has {longest} points)"
    );
    assert!(svg.contains("ema_bench"), "the legend names the strategy");

    let html = String::from_utf8(read(&out.join("report.html"))).unwrap();
    assert!(html.contains("<table") && html.contains("ema_bench") && html.contains("Total"));
    assert!(html.contains("<svg"), "the chart is inline");
    for external in ["src=\"http", "href=\"http", "<script src", "<link"] {
        assert!(!html.contains(external), "report.html loads {external}");
    }
}

#[test]
fn a_malformed_line_is_an_error_that_names_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("bad.csv");
    std::fs::write(
        &csv,
        "ts_ns,token,bid,ask,last\n\
         1793591100000000000,738561,2499.90,2500.05,2500.00\n\
         1793591100100000000,738561,2499.95,2500.00,2500.00\n\
         1793591100200000000,738561,2499.9x,2500.00,2500.00\n",
    )
    .unwrap();
    let out = backtest(&csv, &dir.path().join("csv-out"), 0);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("line 4") && err.contains("bid"), "{err}");
    assert!(
        !dir.path().join("csv-out/report.json").exists(),
        "no report from a bad file"
    );

    let jsonl = dir.path().join("bad.jsonl");
    let good = TickReader::new(
        std::fs::read(csv_file(dir.path(), 2)).unwrap().as_slice(),
        TickOptions::with_registry(0, &InstrumentRegistry::embedded().unwrap()),
    )
    .unwrap()
    .map(|e| String::from_utf8(encode(&e.unwrap())).unwrap())
    .collect::<Vec<_>>();
    std::fs::write(&jsonl, format!("{}\n{}\n{{\"id\": 3}}\n", good[0], good[1])).unwrap();
    let out = backtest(&jsonl, &dir.path().join("jsonl-out"), 0);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("line 3"), "{err}");
}

/// The error names the input, whatever the line: line 1 (read before the run starts) too.
#[test]
fn errors_name_the_file_and_the_line() {
    let dir = tempfile::tempdir().unwrap();
    let cases: [(&str, &[u8], &str); 4] = [
        ("empty.csv", b"", "line 1: header: empty file"),
        (
            "bytes.bin",
            b"\xff\xfe\x00garbage\n",
            "line 1: header: expected the CSV header",
        ),
        (
            "long.csv",
            b"ts_ns,token,bid,ask,last\n1,738561,1,1,1\n",
            "",
        ),
        (
            "nul.csv",
            b"ts_ns,token,bid,ask,last\n1793591100000000000,738561,2500.05\x00,2500.10,2500.10\n",
            "line 2: bid: \"2500.05\\0\" is not a price",
        ),
    ];
    for (name, bytes, says) in cases {
        let path = dir.path().join(name);
        let mut bytes = bytes.to_vec();
        let says = if says.is_empty() {
            // A third line of 2 MiB with no line ending.
            bytes.extend(std::iter::repeat_n(b'9', 2 << 20));
            "line 3: line: more than 1048576 bytes without a line ending"
        } else {
            says
        };
        std::fs::write(&path, bytes).unwrap();
        let out = backtest(&path, &dir.path().join("out"), 0);
        assert_eq!(out.status.code(), Some(1), "{name}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.starts_with(&format!("error: {}: {says}", path.display())),
            "{name}: {err}"
        );
        assert!(!err.contains("panicked"), "{name}: {err}");
    }
    assert!(!dir.path().join("out/report.json").exists());
}

/// A directory, a FIFO and a device are refused by kind, at once, naming the path.
#[test]
fn inputs_that_are_not_regular_files_are_refused_before_reading() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("ticks.fifo");
    assert!(
        Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    let cases = [
        (dir.path().to_owned(), "a directory"),
        (fifo, "a FIFO (named pipe)"),
        (PathBuf::from("/dev/zero"), "a character device"),
    ];
    for (path, kind) in cases {
        let cmd = backtest_command(&path, &dir.path().join("out"), 0);
        let out = run_bounded(cmd, Stdio::null(), Duration::from_secs(60));
        assert_eq!(out.status.code(), Some(1), "{}", path.display());
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(
            err.trim_end(),
            format!(
                "error: {}: {kind}, not a regular file: give the path of a tick file, or `-` and pipe it in",
                path.display()
            )
        );
    }
    assert!(!dir.path().join("out/report.json").exists());
}

/// `--ticks -` reads standard input: the same report as from the file; an endless stream
/// without line endings is refused at the line bound, naming standard input.
#[test]
fn standard_input_is_read_through_a_dash() {
    let dir = tempfile::tempdir().unwrap();
    let csv = csv_file(dir.path(), 1_000);
    let (from_file, from_stdin) = (dir.path().join("file"), dir.path().join("stdin"));
    assert_ok(&backtest(&csv, &from_file, 2));
    let cmd = backtest_command(Path::new("-"), &from_stdin, 2);
    let stdin = Stdio::from(std::fs::File::open(&csv).unwrap());
    assert_ok(&run_bounded(cmd, stdin, Duration::from_secs(120)));
    assert_eq!(
        read(&from_file.join("fills.csv")),
        read(&from_stdin.join("fills.csv"))
    );
    assert_eq!(report(&from_stdin)["input"], "-");

    let cmd = backtest_command(Path::new("-"), &dir.path().join("zero"), 0);
    let zero = Stdio::from(std::fs::File::open("/dev/zero").unwrap());
    let out = run_bounded(cmd, zero, Duration::from_secs(60));
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        err.trim_end(),
        "error: standard input: line 1: line: more than 1048576 bytes without a line ending: not a tick file"
    );
}
