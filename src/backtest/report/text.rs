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

/// A ratio for people: two decimals (never `-0.00`).
pub(super) fn ratio_2dp(ratio: f64) -> String {
    let text = format!("{ratio:.2}");
    match text.strip_prefix('-') {
        Some(rest) if rest.bytes().all(|b| b == b'0' || b == b'.') => rest.to_owned(),
        _ => text,
    }
}

/// See [`super::summary_text`].
pub(super) fn summary(report: &super::metrics::Report<'_>) -> String {
    use super::money::{inr, inr_compact};
    let t = &report.total;
    let mut out = format!(
        "{}\nnet {} (final {}), charges {}",
        super::title::heading(report),
        inr(t.net_pnl),
        inr_compact(t.final_equity),
        inr(t.charges)
    );
    if let Some(b) = &report.benchmark {
        out.push_str(&format!(
            "; buy and hold net {}",
            inr(b.final_value.saturating_sub(b.start))
        ));
    }
    out.push_str(&format!("\nmax drawdown {}", inr(t.drawdown.amount)));
    match t.sharpe.ratio {
        Some(r) if t.sharpe.days >= super::curve::MIN_DAYS => out.push_str(&format!(
            ", Sharpe {} over {} days",
            ratio_2dp(r),
            t.sharpe.days
        )),
        _ => out.push_str(&format!(
            ", Sharpe needs at least {} days (have {})",
            super::curve::MIN_DAYS,
            t.sharpe.days
        )),
    }
    out.push('\n');
    out
}
