//! The Grafana board (`deploy/grafana/dashboards/alpha-panda.json`) queries only what a
//! running daemon exposes.
//!
//! A panel over a metric name that does not exist shows "no data" for ever, which looks
//! just like a quiet system. So every PromQL expression of the dashboard is read, the
//! `alpha_panda_*` names in it are extracted, and a daemon runs — a paper strategy on
//! simulated ticks, and the zerodha broker on the fake Kite, so that its reconciliation
//! gauges exist — until its `/metrics` shows fills; then each name must be there. The
//! board's structure is checked too: every row queries at least one metric, and every
//! datasource is the provisioned Prometheus.

use super::{ONE_AT_A_TIME, TOKEN, scenario};
use alpha_panda::kite::fake::{FakeKite, FakeKiteConfig};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

const DASHBOARD: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/deploy/grafana/dashboards/alpha-panda.json"
);
const DATASOURCES: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/deploy/grafana/provisioning/datasources/prometheus.yml"
);

/// The rows the board has, in order (docs/RUNBOOK.md describes each).
const ROWS: [&str; 5] = ["Trading", "Pipeline", "Feed", "Zerodha", "API"];

/// Every `alpha_panda_*` metric name in a PromQL expression: identifiers only, so names
/// inside string literals (label values), comments, durations and Grafana's `$variables`
/// do not count.
fn metric_names(expr: &str) -> BTreeSet<String> {
    let bytes = expr.as_bytes();
    let word = |b: u8| b.is_ascii_alphanumeric() || b == b'_' || b == b':';
    let mut names = BTreeSet::new();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            quote @ (b'"' | b'\'' | b'`') => {
                i += 1;
                while i < bytes.len() && bytes[i] != quote {
                    // Backtick strings have no escapes.
                    if bytes[i] == b'\\' && quote != b'`' {
                        i += 1;
                    }
                    i += 1;
                }
                i += 1;
            }
            b'#' => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
            }
            // A number or a duration (`5m`, `1e3`), or a `$variable`: never a metric.
            b'0'..=b'9' | b'$' => {
                i += 1;
                while i < bytes.len() && (word(bytes[i]) || bytes[i] == b'.') {
                    i += 1;
                }
            }
            b if word(b) => {
                let start = i;
                while i < bytes.len() && word(bytes[i]) {
                    i += 1;
                }
                let name = &expr[start..i];
                if name.starts_with("alpha_panda_") {
                    names.insert(name.to_owned());
                }
            }
            _ => i += 1,
        }
    }
    names
}

/// The family a sample name belongs to: a histogram's `_bucket`, `_count` and `_sum`
/// series are its own.
fn family(name: &str) -> &str {
    ["_bucket", "_count", "_sum"]
        .iter()
        .find_map(|suffix| name.strip_suffix(suffix))
        .unwrap_or(name)
}

/// What a `/metrics` text exposes: each family's type, and every sample name.
struct Exposed {
    families: BTreeMap<String, String>,
    samples: BTreeSet<String>,
}

impl Exposed {
    fn parse(text: &str) -> Exposed {
        let mut families = BTreeMap::new();
        let mut samples = BTreeSet::new();
        for line in text.lines() {
            if let Some(rest) = line.strip_prefix("# TYPE ") {
                let mut parts = rest.split_whitespace();
                if let (Some(name), Some(kind)) = (parts.next(), parts.next()) {
                    families.insert(name.to_owned(), kind.to_owned());
                }
            } else if !line.starts_with('#') && !line.is_empty() {
                let end = line.find(['{', ' ']).unwrap_or(line.len());
                samples.insert(line[..end].to_owned());
            }
        }
        Exposed { families, samples }
    }

    /// Whether a query of `name` finds series: a family, a sample, or a histogram's
    /// bucket, count or sum.
    fn has(&self, name: &str) -> bool {
        self.families.contains_key(name)
            || self.samples.contains(name)
            || self
                .families
                .get(family(name))
                .is_some_and(|kind| kind == "histogram")
    }

    /// The value of the one sample written exactly `series` (name and labels).
    fn value(text: &str, series: &str) -> Option<f64> {
        text.lines()
            .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
    }
}

fn dashboard() -> Value {
    let text = std::fs::read_to_string(DASHBOARD).expect("the dashboard JSON");
    serde_json::from_str(&text).expect("the dashboard is valid JSON")
}

/// Each row's title with the expressions of its panels, in board order. A row's panels
/// follow it in `panels` (or sit inside it when it is collapsed).
fn rows(dashboard: &Value) -> Vec<(String, Vec<String>)> {
    let mut rows: Vec<(String, Vec<String>)> = Vec::new();
    let exprs = |panel: &Value| -> Vec<String> {
        panel["targets"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|t| t["expr"].as_str().map(str::to_owned))
            .collect()
    };
    for panel in dashboard["panels"].as_array().expect("panels") {
        if panel["type"] == "row" {
            let title = panel["title"].as_str().unwrap_or_default().to_owned();
            let inside = panel["panels"].as_array().into_iter().flatten();
            rows.push((title, inside.flat_map(exprs).collect()));
        } else {
            let (_, row) = rows
                .last_mut()
                .unwrap_or_else(|| panic!("panel {} before any row", panel["title"]));
            row.extend(exprs(panel));
        }
    }
    rows
}

/// Every value of a `datasource` key anywhere in `value`.
fn datasources(value: &Value, out: &mut Vec<Value>) {
    match value {
        Value::Object(map) => {
            for (key, v) in map {
                if key == "datasource" {
                    out.push(v.clone());
                }
                datasources(v, out);
            }
        }
        Value::Array(items) => items.iter().for_each(|v| datasources(v, out)),
        _ => {}
    }
}

/// The uid given to the datasource in the provisioning file (its one `uid:` line).
fn provisioned_uid() -> String {
    let text = std::fs::read_to_string(DATASOURCES).expect("the datasource provisioning");
    let uids: Vec<&str> = text
        .lines()
        .filter_map(|l| l.trim().strip_prefix("uid:"))
        .map(str::trim)
        .collect();
    assert_eq!(uids.len(), 1, "one provisioned datasource: {uids:?}");
    uids[0].to_owned()
}

#[test]
fn extracts_metric_names_from_tricky_exprs() {
    let cases: [(&str, &[&str]); 9] = [
        (
            "histogram_quantile(0.99, sum by (le, service) (rate(alpha_panda_handler_latency_seconds_bucket[5m])))",
            &["alpha_panda_handler_latency_seconds_bucket"],
        ),
        (
            r#"sum by (broker) (rate(alpha_panda_signals_total{service="alpha_panda_in_a_label"}[$__rate_interval]))"#,
            &["alpha_panda_signals_total"],
        ),
        (
            "time() - (max(alpha_panda_feed_last_tick_timestamp_seconds) > 0)",
            &["alpha_panda_feed_last_tick_timestamp_seconds"],
        ),
        (
            "alpha_panda_a_total / on(broker) group_left alpha_panda_b_total or vector(0)",
            &["alpha_panda_a_total", "alpha_panda_b_total"],
        ),
        (
            "rate(alpha_panda_x_total[1m:5s] offset 5m)",
            &["alpha_panda_x_total"],
        ),
        (
            "# alpha_panda_commented_out\nalpha_panda_kept",
            &["alpha_panda_kept"],
        ),
        (
            r#"alpha_panda_y{l="a\"alpha_panda_z", m='alpha_panda_w', n=`alpha_panda_v\`}"#,
            &["alpha_panda_y"],
        ),
        (r#"up{job="alpha-panda"}"#, &[]),
        ("not_alpha_panda_total + 1e3", &[]),
    ];
    for (expr, want) in cases {
        let got: Vec<String> = metric_names(expr).into_iter().collect();
        assert_eq!(got, want, "in {expr}");
    }
    assert_eq!(
        family("alpha_panda_handler_latency_seconds_bucket"),
        "alpha_panda_handler_latency_seconds"
    );
    assert_eq!(family("alpha_panda_fills_total"), "alpha_panda_fills_total");

    let exposed = Exposed::parse(
        "# TYPE alpha_panda_h_seconds histogram\n# TYPE alpha_panda_g gauge\nalpha_panda_s{a=\"b\"} 1\n",
    );
    assert!(exposed.has("alpha_panda_h_seconds_bucket"));
    assert!(exposed.has("alpha_panda_g"));
    assert!(exposed.has("alpha_panda_s"));
    assert!(!exposed.has("alpha_panda_g_count"), "a gauge has no count");
    assert!(!exposed.has("alpha_panda_absent"));
}

#[test]
fn the_dashboard_queries_every_row_and_only_the_provisioned_datasource() {
    let board = dashboard();
    let rows = rows(&board);
    let titles: Vec<&str> = rows.iter().map(|(t, _)| t.as_str()).collect();
    assert_eq!(titles, ROWS);
    for (title, exprs) in &rows {
        let names: BTreeSet<String> = exprs.iter().flat_map(|e| metric_names(e)).collect();
        assert!(
            !names.is_empty(),
            "row {title} queries no alpha_panda metric"
        );
    }

    let uid = provisioned_uid();
    let mut found = Vec::new();
    datasources(&board, &mut found);
    let targets: usize = rows.iter().map(|(_, e)| e.len()).sum();
    assert!(
        found.len() > targets,
        "each panel and each target names its datasource"
    );
    let foreign: Vec<&Value> = found
        .iter()
        .filter(|d| !(d["type"] == "prometheus" && d["uid"] == uid.as_str()))
        .collect();
    assert!(foreign.is_empty(), "not the provisioned {uid}: {foreign:?}");
    assert!(
        board.get("__inputs").is_none(),
        "a provisioned board needs no import inputs"
    );
}

#[test]
fn every_metric_the_dashboard_queries_is_exposed_by_a_running_daemon() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    let Some(mut s) = scenario("e2e_grafana", 40) else {
        return;
    };
    let mut queried: BTreeSet<String> = rows(&dashboard())
        .into_iter()
        .flat_map(|(_, exprs)| exprs)
        .flat_map(|e| metric_names(&e))
        .collect();
    // The browser dashboard reads /metrics too (web/panels.js): its names must exist as well.
    let page = include_str!("../../web/panels.js");
    let page_names: BTreeSet<String> = page
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|w| w.starts_with("alpha_panda_"))
        .map(str::to_owned)
        .collect();
    assert!(page_names.len() >= 10, "{page_names:?}");
    queried.extend(page_names);

    // Zerodha beside paper, on the fake Kite: its start-up reconciliation sets the
    // reconciliation gauges. The strategy trades on paper only.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let config = FakeKiteConfig::default();
    let kite = runtime
        .block_on(FakeKite::start(config.clone()))
        .expect("fake Kite");
    s.toml.push_str(&format!(
        "\n[brokers]\nenabled = [\"paper\", \"zerodha\"]\n\n[kite]\nrest_url = \"{}\"\napi_key = \"{}\"\n",
        kite.base_url(),
        config.api_key,
    ));
    let mut d = s.start_with(
        &[],
        &[("ALPHA_PANDA__KITE__ACCESS_TOKEN", &config.access_token)],
    );
    let metrics = |d: &super::daemon::Daemon| {
        let (status, body) = d.http("GET", "/metrics", None);
        assert_eq!(status, 200, "{body}");
        body
    };
    let fills = "alpha_panda_fills_total{broker=\"paper\"}";
    let deadline = Instant::now() + Duration::from_secs(90);
    while Exposed::value(&metrics(&d), fills).unwrap_or(0.0) < 1.0 {
        assert!(Instant::now() < deadline, "no fill in /metrics");
        // Polling the daemon's answer with a deadline; the log keeps draining meanwhile.
        let _ = d.watch(Instant::now() + Duration::from_millis(200), |_| false);
    }

    // The portfolio books a fill just after the venue counts it, and zerodha's hold lifts
    // after its reconciliation: what is queried must be there within a short bound.
    // The strategy's own P&L series appears with the portfolio's first publication.
    let net = format!(
        "alpha_panda_pnl_rupees{{broker=\"paper\",component=\"net\",strategy=\"{}\"}}",
        s.strategy
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    let (text, missing) = loop {
        let text = metrics(&d);
        let exposed = Exposed::parse(&text);
        let missing: Vec<&String> = queried.iter().filter(|n| !exposed.has(n)).collect();
        let booked = Exposed::value(&text, &net).is_some();
        if (missing.is_empty() && booked) || Instant::now() > deadline {
            break (text, missing);
        }
        let _ = d.watch(Instant::now() + Duration::from_millis(200), |_| false);
    };
    assert!(
        missing.is_empty(),
        "the dashboards query metrics /metrics does not expose: {missing:?}"
    );
    assert!(queried.len() >= 30, "too few names found: {queried:?}");

    // The new gauges carry the state, not just a name.
    assert!(Exposed::value(&text, &net).is_some(), "no {net}");
    assert_eq!(
        Exposed::value(&text, "alpha_panda_feed_connected"),
        Some(1.0)
    );
    let last_tick = Exposed::value(&text, "alpha_panda_feed_last_tick_timestamp_seconds")
        .expect("last tick time");
    let now = chrono::Utc::now().timestamp() as f64;
    assert!(
        (now - 60.0..=now + 1.0).contains(&last_tick),
        "last tick at {last_tick}, now {now}"
    );
    assert_eq!(
        Exposed::value(
            &text,
            "alpha_panda_reconciliation_differences{broker=\"zerodha\"}"
        ),
        Some(0.0)
    );
    for broker in ["paper", "zerodha"] {
        let series = format!(
            "alpha_panda_signals_rejected_total{{broker=\"{broker}\",reason=\"max_notional\"}}"
        );
        assert!(Exposed::value(&text, &series).is_some(), "no {series}");
    }
    let paper_state = "alpha_panda_trading_state{broker=\"paper\"}";
    assert_eq!(Exposed::value(&text, paper_state), Some(0.0), "ACTIVE");
    let (status, _) = d.http("POST", "/api/v1/trading/paper/halt", Some(TOKEN));
    assert_eq!(status, 200);
    assert_eq!(
        Exposed::value(&metrics(&d), paper_state),
        Some(2.0),
        "HALTED as soon as the kill switch answers"
    );

    let (code, _, lines) = d.sigterm();
    assert_eq!(
        code,
        Some(0),
        "{}",
        lines[lines.len().saturating_sub(20)..].join("\n")
    );
    drop(kite);
    runtime.shutdown_background();
}
