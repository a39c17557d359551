//! The backtest report in a real browser: `alpha-panda backtest` on five trading days of
//! ticks (Thursday to the next Wednesday, a weekend between), then Debian's Chromium opens
//! `report.html` and `equity.svg` from disk through `tests/browser/report.mjs`
//! (playwright-core; `scripts/browser-deps.sh` installs both).
//!
//! The script checks what a person sees: no console error, no request other than the
//! report's own files, the equity and drawdown panels drawn with a size, the maximum
//! drawdown marked inside its panel, the tables there. This test checks the rest from the
//! files: one date label and one per-day row per session (the weekend takes no place), and
//! the figures behind the page in `report.json`.
//!
//! `ALPHA_PANDA_SCREENSHOT=docs/backtest-report.png` also saves the top of the page (the
//! picture in docs/BACKTEST.md).
//!
//! Without Node.js, the npm package or Chromium the test is skipped with a note, except
//! under `CI=true`, where that is a failure.

#[path = "common/browser.rs"]
mod browser;
use browser::manifest;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use chrono::{Datelike, NaiveDate, TimeDelta, TimeZone, Utc};

/// RELIANCE in the embedded registry.
const TOKEN: u32 = 738_561;
/// Seconds between ticks: sparse, so five days stay a small file.
const TICK_EVERY_SECS: i64 = 10;

/// The IST trading days of the file: Thu 26 Nov to Wed 2 Dec 2026, weekdays only.
fn sessions() -> Vec<NaiveDate> {
    let first = NaiveDate::from_ymd_opt(2026, 11, 26).expect("a date");
    (0..7)
        .map(|i| first + TimeDelta::days(i))
        .filter(|d| d.weekday().num_days_from_monday() < 5)
        .collect()
}

/// A seeded random walk on the ₹0.05 grid, one tick every 10 s from 09:15 to 15:30 IST of
/// each session, a one-tick spread.
fn tick_file(dir: &Path) -> PathBuf {
    let mut csv = String::from("ts_ns,token,bid,ask,last\n");
    let mut state: u64 = 0x2545_f491_4f6c_dd1d;
    let mut paise: i64 = 250_000; // ₹2,500.00
    for day in sessions() {
        // 09:15 IST is 03:45 UTC.
        let open = Utc
            .from_utc_datetime(&day.and_hms_opt(3, 45, 0).expect("a time"))
            .timestamp();
        let steps = 6 * 3600 / TICK_EVERY_SECS + 15 * 60 / TICK_EVERY_SECS;
        for i in 0..=steps {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            // −2..=+2 grid steps.
            let step = i64::try_from(state % 5).expect("small") - 2;
            paise = (paise + 5 * step).max(1_000);
            let ts_ns = (open + i * TICK_EVERY_SECS) * 1_000_000_000;
            let price = |p: i64| format!("{}.{:02}", p / 100, p % 100);
            writeln!(
                csv,
                "{ts_ns},{TOKEN},{},{},{}",
                price(paise - 5),
                price(paise + 5),
                price(paise)
            )
            .expect("a string");
        }
    }
    let path = dir.join("ticks.csv");
    std::fs::write(&path, csv).expect("write the tick file");
    path
}

/// An EMA cross on RELIANCE with the default (Zerodha) charges and ₹10 lakh.
fn config(dir: &Path) -> PathBuf {
    let path = dir.join("report.toml");
    std::fs::write(
        &path,
        r#"
[strategies.momentum_1]
enabled = false
[strategies.ema_cross_1]
enabled = false
[strategies.ema_report]
enabled = true
brokers = ["paper"]
instruments = ["RELIANCE"]
params = { kind = "ema_cross", fast = 30, slow = 120, quantity = 100 }
[market_hours]
enforce = false
intraday = false
[risk.paper]
max_order_quantity = "off"
max_order_value = "off"
max_position = "off"
max_daily_trades = "off"
price_band_pct = "off"
daily_loss_limit = "off"
max_open_orders = "off"
[paper]
slippage_bps = "0"
allow_short = true
partial_fills = false
latency_ticks = 0
fill_at_touch = true
[portfolio]
starting_cash = "1000000"
"#,
    )
    .expect("write the configuration");
    path
}

#[test]
fn the_report_renders_in_chromium_with_both_panels_and_nothing_external() {
    let Some(script) = browser::script("report.mjs") else {
        return;
    };
    let dir = tempfile::tempdir().expect("a temporary directory");
    let ticks = tick_file(dir.path());
    let out = dir.path().join("report");
    let mut backtest = Command::new(env!("CARGO_BIN_EXE_alpha-panda"));
    for (k, _) in std::env::vars().filter(|(k, _)| k.starts_with("ALPHA_PANDA_")) {
        backtest.env_remove(k);
    }
    let run = backtest
        .arg("backtest")
        .arg("--ticks")
        .arg(&ticks)
        .arg("--config")
        .arg(config(dir.path()))
        .arg("--out")
        .arg(&out)
        .args(["--seed", "7", "--date", "2026-11-26"])
        .output()
        .expect("run alpha-panda backtest");
    assert!(
        run.status.success(),
        "backtest failed: {}",
        String::from_utf8_lossy(&run.stderr)
    );

    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("report.json")).unwrap()).unwrap();
    let strategy = &json["strategies"][0];
    assert!(
        strategy["round_trips"].as_u64().unwrap() >= 5,
        "the strategy traded: {strategy}"
    );
    assert_eq!(json["per_day"].as_array().unwrap().len(), sessions().len());
    assert_eq!(json["ratio_min_days"], 20);
    // Five days are below the minimum sample: no ratio.
    assert_eq!(json["total"]["days"], 5);
    assert_eq!(json["total"]["sharpe"], serde_json::Value::Null);
    assert_eq!(json["total"]["sortino"], serde_json::Value::Null);
    assert_eq!(json["benchmark"]["holdings"][0]["symbol"], "RELIANCE");
    assert_ne!(json["total"]["charges_by_component"]["stt"], "0");
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(html.contains("needs at least 20 days (have 5)"));
    assert!(html.contains("₹10,00,000.00"), "Indian money format");

    let screenshot = std::env::var("ALPHA_PANDA_SCREENSHOT").ok().map(|p| {
        let path = PathBuf::from(p);
        if path.is_absolute() {
            path
        } else {
            manifest().join(path)
        }
    });
    let mut node = Command::new("node");
    node.arg(&script).arg(&out);
    if let Some(path) = &screenshot {
        node.arg(path);
    }
    let seen = node.output().expect("run node");
    let stdout = String::from_utf8_lossy(&seen.stdout);
    let answer: serde_json::Value = stdout
        .lines()
        .rev()
        .find_map(|l| serde_json::from_str(l).ok())
        .unwrap_or_else(|| {
            panic!(
                "no JSON answer from report.mjs: {stdout}\n{}",
                String::from_utf8_lossy(&seen.stderr)
            )
        });
    assert_eq!(answer["ok"], true, "{answer:#}");
    assert!(seen.status.success(), "{answer:#}");
    assert_eq!(
        answer["steps"],
        serde_json::json!(["loaded", "chart rendered", "tables shown", "svg rendered"])
    );
    // Only the report's own two files were requested.
    let root = format!("file://{}/", out.canonicalize().unwrap().display());
    let requests: Vec<&str> = answer["requests"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r.as_str())
        .collect();
    assert!(!requests.is_empty());
    assert!(
        requests.iter().all(|r| r.starts_with(&root)),
        "{requests:?} outside {root}"
    );
    assert_eq!(answer["foreignRequests"], serde_json::json!([]));
    assert_eq!(answer["consoleErrors"], serde_json::json!([]));
    // One date per session under the chart; one row per session in the per-day table.
    assert_eq!(answer["dayLabels"], 5, "{answer:#}");
    assert_eq!(answer["daysRows"], 5);
    assert!(
        answer["maxDrawdownText"]
            .as_str()
            .is_some_and(|t| t.starts_with("Max drawdown -₹")),
        "{answer:#}"
    );
    if let Some(path) = screenshot {
        let png = std::fs::read(&path).expect("the screenshot was written");
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    }
}
