//! Output tests: the SVG parses and holds the curves, the HTML is self-contained, the CSV
//! rows, the JSON figures, and the determinism of all four.

use chrono::TimeDelta;

use super::chart::{self, MAX_POINTS};
use super::tests_support::*;
use super::{EquityPoint, Outcome};
use crate::messages::Side;

const SVG_NS: &str = "http://www.w3.org/2000/svg";

/// Two strategies, one named with `<&>`; curves of 3 and 2 points; three fills.
fn sample() -> Outcome {
    let trend = strategy(
        "trend",
        vec![
            fill("f1", "trend", RELIANCE, Side::Buy, 10, "2500.00", "1.50"),
            fill("f2", "trend", RELIANCE, Side::Sell, 4, "2550.00", "0.75"),
        ],
        vec![
            point("2026-11-26T04:00:00Z", "99998.50"),
            point("2026-11-26T05:00:00Z", "100150"),
            point("2026-11-26T06:00:00Z", "100300"),
        ],
        &[(RELIANCE, "2560")],
    );
    let odd = strategy(
        "a<&>b",
        vec![fill("g1", "a<&>b", TCS, Side::Buy, 5, "3400.50", "2.00")],
        vec![
            point("2026-11-26T04:30:00Z", "99998"),
            point("2026-11-26T06:00:00Z", "99900"),
        ],
        &[(TCS, "3390")],
    );
    outcome(vec![odd, trend])
}

/// `(class, data-strategy, point count)` of each polyline/polygon of `svg`.
fn shapes(svg: &str, tag: &str) -> Vec<(String, String, usize)> {
    let document = roxmltree::Document::parse(svg).unwrap();
    let root = document.root_element();
    assert_eq!(root.tag_name().name(), "svg");
    assert_eq!(root.tag_name().namespace(), Some(SVG_NS));
    root.descendants()
        .filter(|n| n.tag_name().name() == tag)
        .map(|n| {
            (
                n.attribute("class").unwrap_or_default().to_owned(),
                n.attribute("data-strategy").unwrap_or_default().to_owned(),
                n.attribute("points").unwrap().split_whitespace().count(),
            )
        })
        .collect()
}

#[test]
fn svg_has_the_portfolio_curve_and_a_drawdown_panel_with_the_maximum_marked() {
    let svg = super::equity_svg(&sample());
    // The total of the two curves: one point per distinct time (04:00, 04:30, 05:00, 06:00).
    let curves = shapes(&svg, "polyline");
    assert_eq!(
        curves,
        [("equity".into(), "Total of 2 strategies".into(), 4)]
    );
    // The drawdown area: the curve's four points closed on the zero line.
    let areas = shapes(&svg, "polygon");
    assert_eq!(areas, [("drawdown".into(), String::new(), 6)]);
    let document = roxmltree::Document::parse(&svg).unwrap();
    let texts: Vec<&str> = document
        .descendants()
        .filter(|n| n.tag_name().name() == "text")
        .filter_map(|n| n.text())
        .collect();
    // Start 200,000; at 04:30 UTC (10:00 IST) the total is 99,998.50 + 99,998: −₹3.50.
    let marker = document
        .descendants()
        .find(|n| n.attribute("class") == Some("max-drawdown"))
        .unwrap();
    assert_eq!(marker.tag_name().name(), "circle");
    assert!(
        texts.contains(&"Max drawdown -₹3.50 (0.00%) at 26 Nov 10:00"),
        "{texts:?}"
    );
    // The title names the strategies (escaped), rupees are in Indian format.
    assert!(svg.contains("paper/a&lt;&amp;&gt;b (ema_cross)"));
    assert!(
        texts.iter().any(|t| t.starts_with("₹") && t.contains(",")),
        "{texts:?}"
    );
    assert!(texts.contains(&"Thu 26 Nov"), "{texts:?}");
    assert!(texts.iter().any(|t| t.starts_with("Time (IST")));
    for panel in ["equity", "drawdown"] {
        assert!(
            svg.contains(&format!("<rect class=\"panel\" data-panel=\"{panel}\"")),
            "{panel}"
        );
    }
}

#[test]
fn svg_of_a_large_curve_is_bounded_and_keeps_its_extremes() {
    let start = at("2026-11-26T03:45:00Z");
    let points: Vec<EquityPoint> = (0..200_000i64)
        .map(|i| EquityPoint {
            ts: start + TimeDelta::milliseconds(i * 100),
            // A sawtooth with one deep trough and one high peak.
            equity: d("100000")
                + rust_decimal::Decimal::from(i % 1_000)
                + match i {
                    77_777 => d("-5000"),
                    155_555 => d("9000"),
                    _ => d("0"),
                },
        })
        .collect();
    let kept = chart::downsample(&points);
    assert!(kept.len() <= MAX_POINTS, "{}", kept.len());
    assert!(kept.len() > chart::MAX_BUCKETS);
    assert!(kept.windows(2).all(|w| w[0].ts <= w[1].ts));
    assert!(kept.contains(&points[77_777]) && kept.contains(&points[155_555]));
    assert_eq!((kept.first(), kept.last()), (points.first(), points.last()));

    let outcome = outcome(vec![curve_only("big", points)]);
    let curves = shapes(&super::equity_svg(&outcome), "polyline");
    assert_eq!(curves.len(), 1);
    assert_eq!(curves[0].2, kept.len());
}

#[test]
fn svg_edge_cases_stay_well_formed() {
    let flat = vec![
        point("2026-11-26T04:00:00Z", "100000"),
        point("2026-11-26T05:00:00Z", "100000"),
    ];
    let cases = [
        ("no strategies", outcome(vec![]), 0),
        ("no points", outcome(vec![curve_only("idle", vec![])]), 0),
        (
            "one point",
            outcome(vec![curve_only(
                "one",
                vec![point("2026-11-26T04:00:00Z", "100010")],
            )]),
            1,
        ),
        ("flat equity", outcome(vec![curve_only("flat", flat)]), 1),
        (
            "one empty of two",
            outcome(vec![
                curve_only("idle", vec![]),
                curve_only("one", vec![point("2026-11-26T04:00:00Z", "99000")]),
            ]),
            1,
        ),
    ];
    for (name, outcome, expected_curves) in cases {
        let svg = super::equity_svg(&outcome);
        assert!(
            !svg.contains("NaN") && !svg.contains("inf"),
            "{name}: {svg}"
        );
        assert_eq!(shapes(&svg, "polyline").len(), expected_curves, "{name}");
        assert_eq!(shapes(&svg, "polygon").len(), expected_curves, "{name}");
    }
}

#[test]
fn html_is_self_contained_with_a_summary_row_per_strategy_and_a_total() {
    let html = super::report_html(&sample());
    let summary_start = html.find("<table class=\"summary\">").unwrap();
    let summary = &html[summary_start..];
    let summary = &summary[..summary.find("</table>").unwrap()];
    let body = &summary[summary.find("<tbody>").unwrap()..summary.find("</tbody>").unwrap()];
    assert_eq!(body.matches("<tr>").count(), 2);
    assert!(body.contains("<tr><th>paper/a&lt;&amp;&gt;b</th>"));
    assert!(body.contains("<tr><th>paper/trend</th>"));
    assert!(summary.contains("<tr class=\"total\"><th>Total</th>"));
    assert!(html.contains("<svg xmlns=\"http://www.w3.org/2000/svg\""));
    assert!(!html.contains("a<&>b"));
    for external in ["src=", "href=\"http", "<script", "<link", "url("] {
        assert!(!html.contains(external), "{external}");
    }
}

#[test]
fn fills_csv_has_a_row_per_fill_and_exact_fields() {
    let csv = super::fills_csv(&sample());
    let rows: Vec<&str> = csv.split_terminator("\r\n").collect();
    assert_eq!(rows.len(), 1 + 3);
    assert_eq!(
        rows[0],
        "time,broker,strategy_id,fill_id,client_order_id,token,symbol,side,quantity,price,fees,realized_pnl"
    );
    // Strategies in outcome order: a<&>b first.
    assert_eq!(
        rows[3],
        "2026-11-26T04:00:00.000000000Z,paper,trend,f2,ap-f2,738561,RELIANCE,SELL,4,2550.00,0.75,200.00"
    );
    assert_eq!(csv.matches('\n').count(), csv.matches("\r\n").count());
}

#[test]
fn fills_csv_quotes_fields_with_commas_and_quotes() {
    let mut odd = fill("x,1", "q\"s", TCS, Side::Buy, 1, "10", "0");
    odd.order.symbol = "A,B".into();
    let outcome = outcome(vec![strategy("q\"s", vec![odd], vec![], &[])]);
    let csv = super::fills_csv(&outcome);
    let row = csv.split_terminator("\r\n").nth(1).unwrap();
    assert_eq!(
        row,
        "2026-11-26T04:00:00.000000000Z,paper,\"q\"\"s\",\"x,1\",\"ap-x,1\",2953217,\"A,B\",BUY,1,10,0,0"
    );
}

#[test]
fn report_json_holds_the_figures_as_exact_strings() {
    let json: serde_json::Value = serde_json::from_str(&super::report_json(&sample())).unwrap();
    assert_eq!(json["seed"], 42);
    assert_eq!(json["first_tick"], "2026-11-26T03:45:00.000000000Z");
    let trend = &json["strategies"][1];
    assert_eq!(trend["strategy_id"], "trend");
    assert_eq!(trend["broker"], "paper");
    // 25000 + 10200; realized 200; unrealized 6 × 2560 − 15000 = 360; net 200 + 360 − 2.25.
    assert_eq!(trend["turnover"], "35200.00");
    assert_eq!(trend["net_pnl"], "557.75");
    assert_eq!(trend["win_rate"], "1");
    assert_eq!(trend["sharpe"], serde_json::Value::Null);
    assert_eq!(trend["positions"][0]["quantity"], 6);
    // The odd strategy falls from 100000 to 99900: 100 and 0.001.
    let odd = &json["strategies"][0];
    assert_eq!(odd["max_drawdown"], "100");
    assert_eq!(odd["max_drawdown_fraction"], "0.001");
    assert_eq!(odd["win_rate"], serde_json::Value::Null);
    assert_eq!(json["total"]["fills"], 3);
    assert_eq!(json["total"]["starting_equity"], "200000");
}

#[test]
fn same_outcome_gives_identical_bytes() {
    let (first, second) = (sample(), sample());
    assert_eq!(super::report_json(&first), super::report_json(&second));
    assert_eq!(super::fills_csv(&first), super::fills_csv(&second));
    assert_eq!(super::equity_svg(&first), super::equity_svg(&second));
    assert_eq!(super::report_html(&first), super::report_html(&second));
}

#[test]
fn write_all_writes_the_four_files() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("nested/out");
    let outcome = sample();
    super::write_all(&outcome, &out).unwrap();
    let read = |name: &str| std::fs::read_to_string(out.join(name)).unwrap();
    assert_eq!(read(super::REPORT_JSON), super::report_json(&outcome));
    assert_eq!(read(super::FILLS_CSV), super::fills_csv(&outcome));
    assert_eq!(read(super::EQUITY_SVG), super::equity_svg(&outcome));
    assert_eq!(read(super::REPORT_HTML), super::report_html(&outcome));
}

/// trend: buy 10 @ 2500 (fees 1.50), sell 4 @ 2550 (0.75): one round trip of 4, gross
/// 4 × 50 = 200, charges 1.50 × 4/10 = 0.60 + 0.75 = 1.35, net 198.65.
#[test]
fn html_reads_as_a_traders_report() {
    let html = super::report_html(&sample());
    assert!(
        html.contains(
            "<h1>Backtest: paper/a&lt;&amp;&gt;b (ema_cross), paper/trend (ema_cross)</h1>"
        )
    );
    assert!(html.contains("RELIANCE, TCS · 26 Nov 2026 09:15 – 26 Nov 2026 15:30 IST"));
    assert!(
        html.contains("<td>₹1,00,000.00</td>"),
        "starting cash in Indian format"
    );
    let trades = section(&html, "<table class=\"trades\">");
    assert_eq!(trades.matches("<tr><td").count(), 1);
    for cell in [
        "long",
        "₹2,500.00",
        "₹2,550.00",
        "₹200.00",
        "₹1.35",
        "₹198.65",
    ] {
        assert!(
            trades.contains(&format!(">{cell}</td>")),
            "{cell}: {trades}"
        );
    }
    let days = section(&html, "<table class=\"days\">");
    assert!(
        days.contains("<th>Thu 26 Nov 2026</th><td class=\"num\">3</td>"),
        "{days}"
    );
    // Brokerage of the three fills: 1.50 + 0.75 + 2.00.
    let charges = section(&html, "<table class=\"charges\">");
    assert!(
        charges.contains("<tr class=\"total\"><th>Total</th><td class=\"num\">₹4.25</td>"),
        "{charges}"
    );
    assert!(html.contains("needs at least 20 days (have 1)"));
    assert!(html.contains("n/a: no traded instrument with prices in the run"));
}

#[test]
fn report_json_keeps_its_fields_and_adds_the_traders_figures() {
    let json: serde_json::Value = serde_json::from_str(&super::report_json(&sample())).unwrap();
    assert_eq!(json["ratio_min_days"], 20);
    assert_eq!(json["total"]["round_trips"], 1);
    assert_eq!(json["total"]["sortino"], serde_json::Value::Null);
    assert_eq!(json["total"]["charges_by_component"]["brokerage"], "4.25");
    assert_eq!(json["total"]["charges_by_component"]["total"], "4.25");
    assert_eq!(
        json["total"]["max_drawdown_at"],
        "2026-11-26T04:30:00.000000000Z"
    );
    assert_eq!(json["per_day"][0]["date"], "2026-11-26");
    assert_eq!(json["per_day"][0]["fills"], 3);
    assert_eq!(json["benchmark"], serde_json::Value::Null);
    assert!(
        json["title"]
            .as_str()
            .unwrap()
            .starts_with("Backtest: paper/a<&>b")
    );
    let trades = super::trades_csv(&sample());
    let rows: Vec<&str> = trades.split_terminator("\r\n").collect();
    assert_eq!(
        rows,
        [
            "broker,strategy_id,token,symbol,direction,quantity,entry_time,entry_price,exit_time,exit_price,gross_pnl,charges,net_pnl,duration_ms",
            "paper,trend,738561,RELIANCE,long,4,2026-11-26T04:00:00.000000000Z,2500,2026-11-26T04:00:00.000000000Z,2550.00,200.00,1.35,198.65,0",
        ]
    );
}

/// The text from `start` to the end of its table.
fn section<'a>(html: &'a str, start: &str) -> &'a str {
    let from = html.find(start).unwrap_or_else(|| panic!("no {start}"));
    let rest = &html[from..];
    &rest[..rest.find("</table>").unwrap()]
}
