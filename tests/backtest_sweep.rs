//! `alpha-panda backtest --sweep` as users run it: a 2×2 sweep of the ema_cross periods on a
//! synthetic tick file has a row per combination, each row's figures are those a single
//! `backtest` with its parameters reports (and its own report, with `--sweep-reports`, is
//! byte for byte the single run's), a rerun on one thread writes the same bytes, a
//! combination the strategy refuses is a `refused` row, and a bad spec exits 2 naming the
//! part before anything runs.

use alpha_panda::backtest::synthetic::{self, SyntheticOptions};
use chrono::TimeZone;
use rust_decimal::Decimal;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const EXAMPLE: &str = "config/examples/backtest-ema.toml";

fn example_config() -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(EXAMPLE);
    std::fs::read_to_string(path).expect("the example configuration")
}

/// The example configuration with the ema_cross periods `fast` and `slow`.
fn config_with(dir: &Path, fast: u32, slow: u32) -> PathBuf {
    let text = example_config();
    let original = "fast = 10, slow = 20";
    assert!(text.contains(original), "the example's params changed");
    let path = dir.join(format!("ema-{fast}-{slow}.toml"));
    std::fs::write(
        &path,
        text.replace(original, &format!("fast = {fast}, slow = {slow}")),
    )
    .unwrap();
    path
}

fn alpha_panda(config: &Path, args: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_alpha-panda"));
    for (k, _) in std::env::vars().filter(|(k, _)| k.starts_with("ALPHA_PANDA_")) {
        cmd.env_remove(k);
    }
    cmd.arg("--config").arg(config).arg("backtest").args(args);
    cmd.output().expect("run alpha-panda backtest")
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

fn ticks(dir: &Path) -> PathBuf {
    let path = dir.join("ticks.csv");
    let file = std::fs::File::create(&path).unwrap();
    synthetic::write_csv(
        std::io::BufWriter::new(file),
        SyntheticOptions {
            ticks: 4_000,
            seed: 11,
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

/// `sweep.csv` as (header, rows keyed by "fast,slow"): each row a column → cell map.
fn table(dir: &Path) -> (Vec<String>, BTreeMap<String, BTreeMap<String, String>>) {
    let text = String::from_utf8(read(&dir.join("sweep.csv"))).unwrap();
    let mut lines = text.split("\r\n").filter(|l| !l.is_empty());
    let header: Vec<String> = lines
        .next()
        .unwrap()
        .split(',')
        .map(str::to_owned)
        .collect();
    let mut rows = BTreeMap::new();
    for line in lines {
        let cells: BTreeMap<String, String> = header
            .iter()
            .cloned()
            .zip(line.split(',').map(str::to_owned))
            .collect();
        let key = format!("{},{}", cells["fast"], cells["slow"]);
        assert!(
            rows.insert(key, cells).is_none(),
            "a combination twice: {line}"
        );
    }
    (header, rows)
}

fn total(report_dir: &Path) -> Value {
    let json: Value = serde_json::from_slice(&read(&report_dir.join("report.json"))).unwrap();
    json["total"].clone()
}

/// The report's figure as the table writes it (a null is a blank cell).
fn cell(total: &Value, field: &str) -> String {
    match &total[field] {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

#[test]
fn a_sweep_has_every_combination_equal_to_its_single_run_and_reruns_the_same() {
    let dir = tempfile::tempdir().unwrap();
    let ticks = ticks(dir.path());
    let base = config_with(dir.path(), 10, 20);
    let spec = "fast=5..10:5,slow=20|30";
    let (all_cores, one_core) = (dir.path().join("sweep"), dir.path().join("sweep-1"));
    let sweep = |out: &Path, extra: &[&str]| {
        let mut args = vec![
            "--ticks",
            ticks.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ];
        args.extend(["--seed", "4", "--sweep", spec]);
        args.extend(extra);
        alpha_panda(&base, &args)
    };
    let out = sweep(&all_cores, &["--sweep-reports"]);
    assert_ok(&out);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        stderr.matches("] fast=").count(),
        4,
        "a progress line each: {stderr}"
    );

    let (header, rows) = table(&all_cores);
    assert_eq!(
        header,
        [
            "rank",
            "fast",
            "slow",
            "status",
            "net_pnl",
            "return_pct",
            "max_drawdown",
            "fills",
            "win_rate",
            "sharpe",
            "charges",
            "note"
        ]
    );
    let keys: Vec<&str> = rows.keys().map(String::as_str).collect();
    assert_eq!(keys, ["10,20", "10,30", "5,20", "5,30"]);
    let mut ranks: Vec<&str> = rows.values().map(|r| r["rank"].as_str()).collect();
    ranks.sort_unstable();
    assert_eq!(ranks, ["1", "2", "3", "4"]);
    // Ranked by net P&L, highest first.
    let text = String::from_utf8(read(&all_cores.join("sweep.csv"))).unwrap();
    let pnl: Vec<Decimal> = text
        .split("\r\n")
        .skip(1)
        .filter(|l| !l.is_empty())
        .map(|l| l.split(',').nth(4).unwrap().parse().unwrap())
        .collect();
    assert!(pnl.windows(2).all(|w| w[0] >= w[1]), "{text}");
    assert!(
        pnl.iter().any(|p| *p != pnl[0]),
        "periods that change nothing test nothing"
    );

    // Two combinations run singly: the same figures, the same report.
    for (fast, slow) in [(5, 30), (10, 20)] {
        let single = dir.path().join(format!("single-{fast}-{slow}"));
        let config = config_with(dir.path(), fast, slow);
        assert_ok(&alpha_panda(
            &config,
            &[
                "--ticks",
                ticks.to_str().unwrap(),
                "--out",
                single.to_str().unwrap(),
                "--seed",
                "4",
            ],
        ));
        let total = total(&single);
        let row = &rows[&format!("{fast},{slow}")];
        assert_eq!(row["status"], "ok");
        for (column, field) in [
            ("net_pnl", "net_pnl"),
            ("max_drawdown", "max_drawdown"),
            ("fills", "fills"),
            ("win_rate", "win_rate"),
            ("sharpe", "sharpe"),
            ("charges", "charges"),
        ] {
            assert_eq!(row[column], cell(&total, field), "{fast},{slow}: {column}");
        }
        let own = all_cores.join(format!("runs/fast={fast}_slow={slow}/report.json"));
        assert_eq!(
            read(&own),
            read(&single.join("report.json")),
            "{fast},{slow}"
        );
    }

    // One thread, another schedule: the same bytes.
    assert_ok(&sweep(&one_core, &["--jobs", "1"]));
    for file in ["sweep.csv", "sweep.md", "heatmap.svg"] {
        assert_eq!(
            read(&all_cores.join(file)),
            read(&one_core.join(file)),
            "{file}"
        );
    }
    let svg = String::from_utf8(read(&one_core.join("heatmap.svg"))).unwrap();
    assert_eq!(svg.matches("<rect x=").count(), 4);
    assert!(
        !one_core.join("runs").exists(),
        "no own reports unless asked"
    );
}

#[test]
fn a_combination_the_strategy_refuses_is_a_refused_row() {
    let dir = tempfile::tempdir().unwrap();
    let ticks = ticks(dir.path());
    let base = config_with(dir.path(), 10, 20);
    let out_dir = dir.path().join("out");
    let out = alpha_panda(
        &base,
        &[
            "--ticks",
            ticks.to_str().unwrap(),
            "--out",
            out_dir.to_str().unwrap(),
            "--sweep",
            "fast=10|25,slow=20",
        ],
    );
    assert_ok(&out);
    let (_, rows) = table(&out_dir);
    assert_eq!(rows["10,20"]["status"], "ok");
    let refused = &rows["25,20"];
    assert_eq!(
        (refused["status"].as_str(), refused["rank"].as_str()),
        ("refused", "")
    );
    assert!(
        refused["note"].contains("strategies.ema_bench.params"),
        "{refused:?}"
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("(1 ran, 1 refused, 0 failed)"), "{stdout}");
}

#[test]
fn a_bad_spec_exits_2_naming_the_part_before_running() {
    let dir = tempfile::tempdir().unwrap();
    let ticks = ticks(dir.path());
    let base = config_with(dir.path(), 10, 20);
    let out_dir = dir.path().join("out");
    for (spec, expected) in [
        (
            "fast=20..5:5",
            "--sweep part `fast=20..5:5`: end 5 is below start 20",
        ),
        ("fast=5..20:0", "step must be above 0"),
        ("fsat=5|6", "has no parameter `fsat`"),
        ("fast=1..200,slow=1..200", "40000 combinations"),
    ] {
        let out = alpha_panda(
            &base,
            &[
                "--ticks",
                ticks.to_str().unwrap(),
                "--out",
                out_dir.to_str().unwrap(),
                "--sweep",
                spec,
            ],
        );
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{spec}: {stderr}");
        assert!(stderr.contains(expected), "{spec}: {stderr}");
        assert!(!out_dir.exists(), "{spec}: nothing is written");
    }
    let out = alpha_panda(
        &base,
        &[
            "--ticks",
            "-",
            "--out",
            out_dir.to_str().unwrap(),
            "--sweep",
            "fast=5|6",
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not standard input"));
}
