//! Text helpers shared by the outputs: escaping and the fixed formats of times and ratios.

use chrono::{DateTime, SecondsFormat, Utc};

/// Decimals of the printed Sharpe ratio.
const SHARPE_DECIMALS: usize = 6;

/// Escapes `&`, `<`, `>`, `"` and `'` for XML/HTML text and attribute values.
pub(super) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            other => out.push(other),
        }
    }
    out
}

/// RFC 3339 UTC with nanoseconds: `2026-11-26T04:00:00.000000000Z`.
pub(super) fn timestamp(ts: DateTime<Utc>) -> String {
    ts.to_rfc3339_opts(SecondsFormat::Nanos, true)
}

/// The Sharpe ratio with a fixed number of decimals (never `-0.000000`).
pub(super) fn sharpe(ratio: f64) -> String {
    let text = format!("{ratio:.SHARPE_DECIMALS$}");
    match text.strip_prefix('-') {
        Some(rest) if rest.bytes().all(|b| b == b'0' || b == b'.') => rest.to_owned(),
        _ => text,
    }
}
