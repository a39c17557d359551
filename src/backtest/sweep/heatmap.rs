//! `heatmap.svg` of a two-parameter sweep: one cell per combination, the first parameter
//! across, the second down, each cell coloured by its net P&L (green above zero, red below,
//! deeper the further from zero, relative to the largest absolute net P&L) and labelled with
//! it; refused and failed cells grey. Standalone SVG, nothing external.
//!
//! Invariants: pure and deterministic; floats only for colour intensity, printed with fixed
//! decimals; every text is XML-escaped.

use super::plan::Plan;
use super::run::{Outcome, Row};
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use std::fmt::Write as _;

const CELL_W: usize = 96;
const CELL_H: usize = 40;
const LEFT: usize = 120;
const TOP: usize = 60;
const BOTTOM: usize = 60;
const RIGHT: usize = 20;

/// The heatmap, or `None` unless the plan has exactly two parameters.
pub fn render(plan: &Plan, rows: &[Row]) -> Option<String> {
    let [x, y] = plan.axes.as_slice() else {
        return None;
    };
    let (cols, lines) = (x.values.len(), y.values.len());
    let width = LEFT + cols * CELL_W + RIGHT;
    let height = TOP + lines * CELL_H + BOTTOM;
    let scale = rows
        .iter()
        .filter_map(|r| match &r.outcome {
            Outcome::Ran(f) => Some(f.net_pnl.abs()),
            _ => None,
        })
        .max()
        .unwrap_or_default();
    let mut svg = String::new();
    let _ = writeln!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="12">"#
    );
    let _ = writeln!(
        svg,
        r#"<rect width="{width}" height="{height}" fill="white"/><text x="{LEFT}" y="24" font-size="15">Net P&amp;L by {} and {}</text>"#,
        escape(&x.label),
        escape(&y.label)
    );
    // Combinations are numbered with the second parameter varying fastest.
    for row in rows {
        let i = row.combination.index;
        let (cx, cy) = (LEFT + (i / lines) * CELL_W, TOP + (i % lines) * CELL_H);
        let (fill, label) = match &row.outcome {
            Outcome::Ran(f) => (colour(f.net_pnl, scale), f.net_pnl.round_dp(2).to_string()),
            Outcome::Refused(_) => ("#cccccc".to_owned(), "refused".to_owned()),
            Outcome::Failed(_) => ("#999999".to_owned(), "failed".to_owned()),
        };
        let _ = writeln!(
            svg,
            r##"<rect x="{cx}" y="{cy}" width="{CELL_W}" height="{CELL_H}" fill="{fill}" stroke="#ffffff"/><text x="{}" y="{}" text-anchor="middle">{}</text>"##,
            cx + CELL_W / 2,
            cy + CELL_H / 2 + 4,
            escape(&label)
        );
    }
    for (i, v) in x.values.iter().enumerate() {
        let _ = writeln!(
            svg,
            r#"<text x="{}" y="{}" text-anchor="middle">{}</text>"#,
            LEFT + i * CELL_W + CELL_W / 2,
            TOP + lines * CELL_H + 18,
            escape(&v.to_string())
        );
    }
    for (j, v) in y.values.iter().enumerate() {
        let _ = writeln!(
            svg,
            r#"<text x="{}" y="{}" text-anchor="end">{}</text>"#,
            LEFT - 8,
            TOP + j * CELL_H + CELL_H / 2 + 4,
            escape(&v.to_string())
        );
    }
    let _ = writeln!(
        svg,
        r#"<text x="{}" y="{}" text-anchor="middle" font-weight="bold">{}</text>"#,
        LEFT + cols * CELL_W / 2,
        TOP + lines * CELL_H + 44,
        escape(&x.label)
    );
    let (ly, lx) = (TOP + lines * CELL_H / 2, 24);
    let _ = writeln!(
        svg,
        r#"<text x="{lx}" y="{ly}" text-anchor="middle" font-weight="bold" transform="rotate(-90 {lx} {ly})">{}</text>"#,
        escape(&y.label)
    );
    svg.push_str("</svg>\n");
    Some(svg)
}

/// White at zero, towards green (gain) or red (loss) in proportion to `|pnl| / scale`,
/// never darker than 80 % so the label stays legible.
fn colour(pnl: Decimal, scale: Decimal) -> String {
    let share = if scale.is_zero() {
        0.0
    } else {
        (pnl.abs() / scale).to_f64().unwrap_or(0.0).clamp(0.0, 1.0) * 0.8
    };
    let toward = |full: u8| -> u8 {
        let v = 255.0 - (255.0 - f64::from(full)) * share;
        // In 0..=255 by construction (share in 0..=0.8).
        v.round() as u8
    };
    let (r, g, b) = if pnl >= Decimal::ZERO {
        (toward(26), toward(152), toward(80))
    } else {
        (toward(215), toward(48), toward(39))
    };
    format!("#{r:02x}{g:02x}{b:02x}")
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}
