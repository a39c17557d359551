//! `equity.svg`: a standalone 960×480 chart of every strategy's equity curve.
//!
//! - one `<polyline class="equity">` per strategy with points (colour by position in the
//!   outcome), downsampled to at most [`chart::MAX_POINTS`] points;
//! - one `<polygon class="drawdown">` per strategy with points: its drawdown, shaded in its
//!   colour between its running peak (which starts at the starting cash) and its curve. The
//!   total is not drawn: at `n ×` the scale it would flatten the strategies' curves;
//! - axes with labelled ticks: rupees on y, IST times on x; a legend of `broker/strategy_id`.
//!
//! Pixel coordinates are floats printed with one decimal; no external resource.

use chrono::{DateTime, Utc};

use super::EquityPoint;
use super::chart::{self, Area, Frame};
use super::metrics::Report;
use super::text::escape;
use crate::market::hours::IST;

const WIDTH: u32 = 960;
const HEIGHT: u32 = 480;
const AREA: Area = Area {
    left: 90.0,
    top: 20.0,
    width: 820.0,
    height: 400.0,
};

/// Tableau 10; further strategies get golden-angle hues.
const PALETTE: [&str; 10] = [
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
    "#bcbd22", "#17becf",
];

/// The colour of the `index`-th strategy (distinct for any number of strategies).
pub(super) fn colour(index: usize) -> String {
    match PALETTE.get(index) {
        Some(hex) => (*hex).to_owned(),
        None => format!("hsl({:.1},65%,40%)", (index as f64 * 137.508) % 360.0),
    }
}

/// The whole SVG document, ending with a newline.
pub(super) fn render(report: &Report<'_>) -> String {
    let curves: Vec<Vec<EquityPoint>> = report
        .strategies
        .iter()
        .map(|s| chart::downsample(&s.outcome.equity))
        .collect();
    let start = chart::float(report.outcome.starting_cash);
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{WIDTH}\" height=\"{HEIGHT}\" \
         viewBox=\"0 0 {WIDTH} {HEIGHT}\" font-family=\"sans-serif\" font-size=\"12\">\n\
         <title>Equity by strategy</title>\n\
         <rect x=\"0\" y=\"0\" width=\"{WIDTH}\" height=\"{HEIGHT}\" fill=\"#ffffff\"/>\n"
    );
    match Frame::fit(AREA, &curves, start) {
        Some(frame) => {
            axes(&mut svg, &frame);
            svg.push_str(
                "<!-- Shaded: each strategy's drawdown, between its running peak (from the \
                 starting cash) and its curve. -->\n",
            );
            for (i, curve) in curves.iter().enumerate() {
                drawdown(&mut svg, &frame, curve, start, i, &label(report, i));
            }
            for (i, curve) in curves.iter().enumerate() {
                polyline(&mut svg, &frame, curve, i, &label(report, i));
            }
        }
        None => empty(&mut svg),
    }
    legend(&mut svg, report, &curves);
    svg.push_str("</svg>\n");
    svg
}

/// `broker/strategy_id` of the `index`-th strategy, unescaped.
fn label(report: &Report<'_>, index: usize) -> String {
    let strategy = report.strategies[index].outcome;
    format!("{}/{}", strategy.broker, strategy.strategy_id)
}

/// `x,y x,y ...` with one decimal.
fn point_list(points: impl Iterator<Item = (f64, f64)>) -> String {
    points
        .map(|(x, y)| format!("{x:.1},{y:.1}"))
        .collect::<Vec<_>>()
        .join(" ")
}

fn polyline(svg: &mut String, frame: &Frame, curve: &[EquityPoint], index: usize, label: &str) {
    if curve.is_empty() {
        return;
    }
    let points = point_list(
        curve
            .iter()
            .map(|p| (frame.x(p.ts), frame.y(chart::float(p.equity)))),
    );
    let colour = colour(index);
    svg.push_str(&format!(
        "<polyline class=\"equity\" data-strategy=\"{}\" fill=\"none\" stroke=\"{colour}\" \
         stroke-width=\"1.5\" stroke-linejoin=\"round\" points=\"{points}\"/>\n",
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

/// The area between the running peak (from `start`) and the curve.
fn drawdown(
    svg: &mut String,
    frame: &Frame,
    curve: &[EquityPoint],
    start: f64,
    index: usize,
    label: &str,
) {
    if curve.is_empty() {
        return;
    }
    let mut peak = start;
    let upper: Vec<(f64, f64)> = curve
        .iter()
        .map(|p| {
            peak = peak.max(chart::float(p.equity));
            (frame.x(p.ts), frame.y(peak))
        })
        .collect();
    let lower = curve
        .iter()
        .rev()
        .map(|p| (frame.x(p.ts), frame.y(chart::float(p.equity))));
    let points = point_list(upper.into_iter().chain(lower));
    svg.push_str(&format!(
        "<polygon class=\"drawdown\" data-strategy=\"{}\" fill=\"{}\" fill-opacity=\"0.2\" \
         stroke=\"none\" points=\"{points}\"/>\n",
        escape(label),
        colour(index)
    ));
}

fn axes(svg: &mut String, frame: &Frame) {
    let Area {
        left,
        top,
        width,
        height,
    } = frame.area;
    let (right, bottom) = (left + width, top + height);
    svg.push_str("<g class=\"axes\" stroke=\"#cccccc\" stroke-width=\"1\">\n");
    let decimals = frame.y_decimals();
    for value in frame.y_ticks() {
        let y = frame.y(value);
        // Never print "-0".
        let value = if value.abs() < frame.step / 1e6 {
            0.0
        } else {
            value
        };
        svg.push_str(&format!(
            "<line x1=\"{left:.1}\" y1=\"{y:.1}\" x2=\"{right:.1}\" y2=\"{y:.1}\"/>\
             <text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\" stroke=\"none\" \
             fill=\"#333333\">{value:.decimals$}</text>\n",
            left - 6.0,
            y + 4.0
        ));
    }
    let format = if frame.span_ms < 3_600_000 {
        "%H:%M:%S"
    } else {
        "%d %b %H:%M"
    };
    for ts in frame.x_ticks() {
        let x = frame.x(ts);
        svg.push_str(&format!(
            "<line x1=\"{x:.1}\" y1=\"{bottom:.1}\" x2=\"{x:.1}\" y2=\"{:.1}\"/>\
             <text x=\"{x:.1}\" y=\"{:.1}\" text-anchor=\"middle\" stroke=\"none\" \
             fill=\"#333333\">{}</text>\n",
            bottom + 5.0,
            bottom + 20.0,
            ist(ts, format)
        ));
    }
    svg.push_str(&format!(
        "<rect x=\"{left:.1}\" y=\"{top:.1}\" width=\"{width:.1}\" height=\"{height:.1}\" \
         fill=\"none\" stroke=\"#666666\"/>\n</g>\n\
         <text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\" fill=\"#333333\">Time (IST)</text>\n\
         <text x=\"16\" y=\"{:.1}\" text-anchor=\"middle\" fill=\"#333333\" \
         transform=\"rotate(-90 16 {:.1})\">Equity (₹)</text>\n",
        left + width / 2.0,
        bottom + 45.0,
        top + height / 2.0,
        top + height / 2.0
    ));
}

fn ist(ts: DateTime<Utc>, format: &str) -> String {
    ts.with_timezone(&IST).format(format).to_string()
}

fn empty(svg: &mut String) {
    let Area {
        left,
        top,
        width,
        height,
    } = AREA;
    svg.push_str(&format!(
        "<rect x=\"{left:.1}\" y=\"{top:.1}\" width=\"{width:.1}\" height=\"{height:.1}\" \
         fill=\"none\" stroke=\"#666666\"/>\n\
         <text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\" fill=\"#333333\">\
         No equity points</text>\n",
        left + width / 2.0,
        top + height / 2.0
    ));
}

/// One line per strategy, top left of the plot, on a translucent background.
fn legend(svg: &mut String, report: &Report<'_>, curves: &[Vec<EquityPoint>]) {
    if report.strategies.is_empty() {
        return;
    }
    let (x, y) = (AREA.left + 10.0, AREA.top + 10.0);
    let longest = (0..report.strategies.len())
        .map(|i| label(report, i).chars().count())
        .max()
        .unwrap_or(0);
    svg.push_str(&format!(
        "<g class=\"legend\">\n<rect x=\"{x:.1}\" y=\"{y:.1}\" width=\"{:.1}\" height=\"{:.1}\" \
         fill=\"#ffffff\" fill-opacity=\"0.8\" stroke=\"#cccccc\"/>\n",
        40.0 + 7.0 * (longest + 12) as f64,
        8.0 + 16.0 * report.strategies.len() as f64
    ));
    for (i, curve) in curves.iter().enumerate() {
        let line_y = y + 12.0 + 16.0 * i as f64;
        let note = if curve.is_empty() { " (no points)" } else { "" };
        svg.push_str(&format!(
            "<line x1=\"{:.1}\" y1=\"{line_y:.1}\" x2=\"{:.1}\" y2=\"{line_y:.1}\" stroke=\"{}\" \
             stroke-width=\"3\"/><text x=\"{:.1}\" y=\"{:.1}\" fill=\"#333333\">{}{note}</text>\n",
            x + 8.0,
            x + 28.0,
            colour(i),
            x + 34.0,
            line_y + 4.0,
            escape(&label(report, i))
        ));
    }
    svg.push_str("</g>\n");
}
