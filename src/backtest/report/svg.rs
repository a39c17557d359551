//! `equity.svg`: a standalone 960×620 chart of the run, in two panels on one session-time
//! axis (see [`Timeline`]: nights, weekends and holidays take no width).
//!
//! - the equity panel: `<polyline class="equity">` — the portfolio (the total of the
//!   strategies; labelled with the strategy when there is one), and, dashed,
//!   `<polyline class="benchmark">` — buy and hold of the traded instruments with the same
//!   starting equity ([`super::benchmark`]);
//! - the drawdown panel below: `<polygon class="drawdown">` — the fall from the running peak
//!   (from the starting equity), in rupees, 0 at the top; the maximum marked with
//!   `<circle class="max-drawdown">` and its value, percentage and time;
//! - a vertical line at each new session, labelled with its date under the panels, and the
//!   IST hours within sessions; rupee labels in the Indian short form (`₹99.50 L`).
//!
//! Curves are downsampled to at most [`chart::MAX_POINTS`] points, keeping each bucket's
//! extremes. Pixel coordinates are floats printed with one decimal; no script, nothing
//! external.

use chrono::{DateTime, Timelike, Utc};
use rust_decimal::Decimal;
use rust_decimal::prelude::FromPrimitive;

use super::chart::{self, Area, Frame};
use super::metrics::Report;
use super::money;
use super::text::escape;
use super::timeline::Timeline;
use super::{EquityPoint, title};
use crate::market::hours::IST;

const WIDTH: u32 = 960;
const HEIGHT: u32 = 620;
const EQUITY: Area = Area {
    left: 100.0,
    top: 50.0,
    width: 820.0,
    height: 320.0,
};
const DRAWDOWN: Area = Area {
    left: 100.0,
    top: 400.0,
    width: 820.0,
    height: 140.0,
};
const PORTFOLIO_COLOUR: &str = "#1f77b4";
const BENCHMARK_COLOUR: &str = "#7f7f7f";
const DRAWDOWN_COLOUR: &str = "#d62728";
/// Fewest pixels between two x labels of a row.
const LABEL_GAP: f64 = 56.0;

/// The whole SVG document, ending with a newline.
pub(super) fn render(report: &Report<'_>) -> String {
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{WIDTH}\" height=\"{HEIGHT}\" \
         viewBox=\"0 0 {WIDTH} {HEIGHT}\" font-family=\"sans-serif\" font-size=\"12\">\n\
         <title>{}</title>\n\
         <rect x=\"0\" y=\"0\" width=\"{WIDTH}\" height=\"{HEIGHT}\" fill=\"#ffffff\"/>\n\
         <text x=\"{:.1}\" y=\"24\" font-size=\"15\" font-weight=\"bold\" fill=\"#222222\">{}</text>\n",
        escape(&title::heading(report)),
        EQUITY.left,
        escape(&title::heading(report)),
    );
    let curve = chart::downsample(&report.total_curve);
    if curve.is_empty() {
        empty(&mut svg);
        svg.push_str("</svg>\n");
        return svg;
    }
    let start = report.total.starting_equity;
    let benchmark = report
        .benchmark
        .as_ref()
        .map(|b| chart::downsample(&b.curve))
        .unwrap_or_default();
    let timeline = &report.timeline;
    let equity = Frame::fit(
        EQUITY,
        timeline,
        std::iter::once(chart::float(start)).chain(
            curve
                .iter()
                .chain(&benchmark)
                .map(|p| chart::float(p.equity)),
        ),
    );
    let falls = chart::downsample(&drawdown_curve(start, &report.total_curve));
    let drawdown = Frame::fit(
        DRAWDOWN,
        timeline,
        std::iter::once(0.0).chain(falls.iter().map(|p| chart::float(p.equity))),
    );
    y_axis(&mut svg, &equity, "Equity");
    y_axis(&mut svg, &drawdown, "Drawdown");
    sessions(&mut svg, timeline, &equity);
    svg.push_str(
        "<!-- Drawdown: the fall of the portfolio from its running peak (from the starting \
         equity). -->\n",
    );
    fall_area(&mut svg, &drawdown, &falls);
    max_marker(&mut svg, &drawdown, report);
    if !benchmark.is_empty() {
        polyline(
            &mut svg,
            &equity,
            &benchmark,
            "benchmark",
            "buy-and-hold",
            BENCHMARK_COLOUR,
        );
    }
    polyline(
        &mut svg,
        &equity,
        &curve,
        "equity",
        &portfolio_label(report),
        PORTFOLIO_COLOUR,
    );
    legend(&mut svg, report, !benchmark.is_empty());
    svg.push_str("</svg>\n");
    svg
}

/// The strategy (`broker/id`) when there is one, else `Total of N strategies`; unescaped.
fn portfolio_label(report: &Report<'_>) -> String {
    match report.strategies.as_slice() {
        [one] => format!("{}/{}", one.outcome.broker, one.outcome.strategy_id),
        many => format!("Total of {} strategies", many.len()),
    }
}

/// `equity − running peak` (≤ 0) at every point, the peak starting at `start`.
fn drawdown_curve(start: Decimal, curve: &[EquityPoint]) -> Vec<EquityPoint> {
    let mut peak = start;
    curve
        .iter()
        .map(|p| {
            peak = peak.max(p.equity);
            EquityPoint {
                ts: p.ts,
                equity: p.equity.saturating_sub(peak),
            }
        })
        .collect()
}

/// `x,y x,y ...` with one decimal.
fn point_list(points: impl Iterator<Item = (f64, f64)>) -> String {
    points
        .map(|(x, y)| format!("{x:.1},{y:.1}"))
        .collect::<Vec<_>>()
        .join(" ")
}

fn polyline(
    svg: &mut String,
    frame: &Frame<'_>,
    curve: &[EquityPoint],
    class: &str,
    label: &str,
    colour: &str,
) {
    let points = point_list(
        curve
            .iter()
            .map(|p| (frame.x(p.ts), frame.y(chart::float(p.equity)))),
    );
    let dash = if class == "benchmark" {
        " stroke-dasharray=\"6 4\""
    } else {
        ""
    };
    svg.push_str(&format!(
        "<polyline class=\"{class}\" data-strategy=\"{}\" fill=\"none\" stroke=\"{colour}\" \
         stroke-width=\"1.5\" stroke-linejoin=\"round\"{dash} points=\"{points}\"/>\n",
        escape(label)
    ));
    // A single point draws no line: mark it.
    if let [only] = curve {
        svg.push_str(&format!(
            "<circle class=\"point\" cx=\"{:.1}\" cy=\"{:.1}\" r=\"3\" fill=\"{colour}\"/>\n",
            frame.x(only.ts),
            frame.y(chart::float(only.equity))
        ));
    }
}

/// The area between 0 and the drawdown curve.
fn fall_area(svg: &mut String, frame: &Frame<'_>, falls: &[EquityPoint]) {
    let (Some(first), Some(last)) = (falls.first(), falls.last()) else {
        return;
    };
    let zero = frame.y(0.0);
    let points = point_list(
        std::iter::once((frame.x(first.ts), zero))
            .chain(
                falls
                    .iter()
                    .map(|p| (frame.x(p.ts), frame.y(chart::float(p.equity)))),
            )
            .chain(std::iter::once((frame.x(last.ts), zero))),
    );
    svg.push_str(&format!(
        "<polygon class=\"drawdown\" fill=\"{DRAWDOWN_COLOUR}\" fill-opacity=\"0.25\" \
         stroke=\"{DRAWDOWN_COLOUR}\" stroke-width=\"1\" points=\"{points}\"/>\n"
    ));
}

/// A dot at the deepest fall, with its value, percentage and IST time.
fn max_marker(svg: &mut String, frame: &Frame<'_>, report: &Report<'_>) {
    let drawdown = report.total.drawdown;
    let Some(trough) = drawdown.trough else {
        svg.push_str(&format!(
            "<text class=\"max-drawdown\" x=\"{:.1}\" y=\"{:.1}\" fill=\"#333333\">\
             No drawdown</text>\n",
            frame.area.left + 8.0,
            frame.area.top + 16.0
        ));
        return;
    };
    let (x, y) = (frame.x(trough), frame.y(-chart::float(drawdown.amount)));
    let percent = drawdown
        .fraction
        .map(|f| format!(" ({}%)", super::money::percent_2dp(f)))
        .unwrap_or_default();
    let text = format!(
        "Max drawdown -{}{percent} at {}",
        money::inr(drawdown.amount),
        trough.with_timezone(&IST).format("%d %b %H:%M")
    );
    // The label sits on the side of the dot with more room.
    let (anchor, dx) = if x > frame.area.left + frame.area.width / 2.0 {
        ("end", -8.0)
    } else {
        ("start", 8.0)
    };
    svg.push_str(&format!(
        "<circle class=\"max-drawdown\" cx=\"{x:.1}\" cy=\"{y:.1}\" r=\"4\" \
         fill=\"{DRAWDOWN_COLOUR}\" stroke=\"#ffffff\"/>\
         <text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"{anchor}\" fill=\"{DRAWDOWN_COLOUR}\" \
         font-weight=\"bold\">{}</text>\n",
        x + dx,
        (y - 6.0).max(frame.area.top + 12.0),
        escape(&text)
    ));
}

/// Grid lines and rupee labels of a panel, its frame and its name.
fn y_axis(svg: &mut String, frame: &Frame<'_>, name: &str) {
    let Area {
        left,
        top,
        width,
        height,
    } = frame.area;
    let right = left + width;
    let step = Decimal::from_f64(frame.step).unwrap_or(Decimal::ONE);
    svg.push_str(&format!(
        "<g class=\"axis\" data-panel=\"{}\" stroke=\"#e0e0e0\" stroke-width=\"1\">\n",
        name.to_lowercase()
    ));
    for value in frame.y_ticks() {
        let y = frame.y(value);
        // Never print "-0".
        let value = if value.abs() < frame.step / 1e6 {
            0.0
        } else {
            value
        };
        let label = money::inr_axis(Decimal::from_f64(value).unwrap_or_default(), step);
        svg.push_str(&format!(
            "<line x1=\"{left:.1}\" y1=\"{y:.1}\" x2=\"{right:.1}\" y2=\"{y:.1}\"/>\
             <text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\" stroke=\"none\" \
             fill=\"#333333\">{}</text>\n",
            left - 6.0,
            y + 4.0,
            escape(&label)
        ));
    }
    svg.push_str(&format!(
        "<rect class=\"panel\" data-panel=\"{}\" x=\"{left:.1}\" y=\"{top:.1}\" \
         width=\"{width:.1}\" height=\"{height:.1}\" fill=\"none\" stroke=\"#666666\"/>\n</g>\n\
         <text x=\"16\" y=\"{:.1}\" text-anchor=\"middle\" fill=\"#333333\" \
         transform=\"rotate(-90 16 {:.1})\">{name} (₹)</text>\n",
        name.to_lowercase(),
        top + height / 2.0,
        top + height / 2.0
    ));
}

/// A separator at each session's start across both panels; under the panels, the IST hours
/// (first row) and each session's date (second row), thinned so labels never overlap.
fn sessions(svg: &mut String, timeline: &Timeline, frame: &Frame<'_>) {
    let top = EQUITY.top;
    let bottom = DRAWDOWN.top + DRAWDOWN.height;
    let hours_y = bottom + 16.0;
    let dates_y = bottom + 32.0;
    svg.push_str("<g class=\"sessions\" font-size=\"11\" fill=\"#333333\">\n");
    let mut last_hour_x = f64::NEG_INFINITY;
    let mut last_date_x = f64::NEG_INFINITY;
    for (i, session) in timeline.sessions().iter().enumerate() {
        let x = frame.x(session.start);
        if i > 0 {
            svg.push_str(&format!(
                "<line class=\"day\" x1=\"{x:.1}\" y1=\"{top:.1}\" x2=\"{x:.1}\" \
                 y2=\"{bottom:.1}\" stroke=\"#999999\" stroke-dasharray=\"2 3\"/>\n"
            ));
        }
        if x - last_date_x >= 2.0 * LABEL_GAP {
            svg.push_str(&format!(
                "<text class=\"date\" x=\"{:.1}\" y=\"{dates_y:.1}\" font-weight=\"bold\">{}</text>\n",
                x + 2.0,
                session.start.with_timezone(&IST).format("%a %d %b")
            ));
            last_date_x = x;
        }
        for ts in hour_marks(session.start, session.end) {
            let x = frame.x(ts);
            if x - last_hour_x < LABEL_GAP {
                continue;
            }
            svg.push_str(&format!(
                "<line x1=\"{x:.1}\" y1=\"{bottom:.1}\" x2=\"{x:.1}\" y2=\"{:.1}\" \
                 stroke=\"#666666\"/><text x=\"{x:.1}\" y=\"{hours_y:.1}\" \
                 text-anchor=\"middle\">{}</text>\n",
                bottom + 4.0,
                ts.with_timezone(&IST).format("%H:%M")
            ));
            last_hour_x = x;
        }
    }
    svg.push_str(&format!(
        "</g>\n<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\" fill=\"#333333\">\
         Time (IST; trading sessions only, nights and weekends left out)</text>\n",
        EQUITY.left + EQUITY.width / 2.0,
        dates_y + 22.0
    ));
}

/// The session's start, then each whole IST hour within it.
fn hour_marks(start: DateTime<Utc>, end: DateTime<Utc>) -> Vec<DateTime<Utc>> {
    let mut marks = vec![start];
    let local = start.with_timezone(&IST);
    let mut next = local
        .with_minute(0)
        .and_then(|t| t.with_second(0))
        .and_then(|t| t.with_nanosecond(0))
        .map(|t| t + chrono::TimeDelta::hours(1));
    while let Some(t) = next {
        let utc = t.with_timezone(&Utc);
        if utc > end {
            break;
        }
        marks.push(utc);
        next = Some(t + chrono::TimeDelta::hours(1));
    }
    marks
}

fn empty(svg: &mut String) {
    let Area {
        left,
        top,
        width,
        height,
    } = EQUITY;
    svg.push_str(&format!(
        "<rect class=\"panel\" data-panel=\"equity\" x=\"{left:.1}\" y=\"{top:.1}\" \
         width=\"{width:.1}\" height=\"{height:.1}\" fill=\"none\" stroke=\"#666666\"/>\n\
         <text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\" fill=\"#333333\">\
         No equity points</text>\n",
        left + width / 2.0,
        top + height / 2.0
    ));
}

/// The portfolio and the benchmark, top left of the equity panel.
fn legend(svg: &mut String, report: &Report<'_>, with_benchmark: bool) {
    let mut entries = vec![(
        PORTFOLIO_COLOUR,
        "",
        format!(
            "{} (net {})",
            portfolio_label(report),
            money::inr(report.total.net_pnl)
        ),
    )];
    if let (true, Some(b)) = (with_benchmark, &report.benchmark) {
        let symbols: Vec<&str> = b.holdings.iter().map(|h| h.symbol.as_str()).collect();
        entries.push((
            BENCHMARK_COLOUR,
            " stroke-dasharray=\"6 4\"",
            format!(
                "Buy & hold {} (net {})",
                symbols.join(", "),
                money::inr(b.final_value.saturating_sub(b.start))
            ),
        ));
    }
    let (x, y) = (EQUITY.left + 10.0, EQUITY.top + 10.0);
    let longest = entries
        .iter()
        .map(|(_, _, t)| t.chars().count())
        .max()
        .unwrap_or(0);
    svg.push_str(&format!(
        "<g class=\"legend\">\n<rect x=\"{x:.1}\" y=\"{y:.1}\" width=\"{:.1}\" height=\"{:.1}\" \
         fill=\"#ffffff\" fill-opacity=\"0.85\" stroke=\"#cccccc\"/>\n",
        44.0 + 6.6 * longest as f64,
        8.0 + 16.0 * entries.len() as f64
    ));
    for (i, (colour, dash, text)) in entries.iter().enumerate() {
        let line_y = y + 12.0 + 16.0 * i as f64;
        svg.push_str(&format!(
            "<line x1=\"{:.1}\" y1=\"{line_y:.1}\" x2=\"{:.1}\" y2=\"{line_y:.1}\" \
             stroke=\"{colour}\" stroke-width=\"3\"{dash}/><text x=\"{:.1}\" y=\"{:.1}\" \
             fill=\"#333333\">{}</text>\n",
            x + 8.0,
            x + 28.0,
            x + 34.0,
            line_y + 4.0,
            escape(text)
        ));
    }
    svg.push_str("</g>\n");
}
