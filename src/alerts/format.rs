//! What a target receives: the Telegram text and the webhook's JSON, for an alert and for
//! the rate limiter's summary.
//!
//! The webhook's shape is a public contract (docs/RUNBOOK.md, Alerts): fields are only
//! ever added. Telegram messages stay under its 4096-character limit: a long message is
//! cut at [`MAX_MESSAGE_CHARS`].

use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;

use super::policy::Suppressed;
use super::{Alert, AlertKind, SUMMARY_KIND};

/// Longest alert message carried (characters); Telegram refuses texts over 4096.
pub const MAX_MESSAGE_CHARS: usize = 3_500;

/// How urgent a kind is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Trading is stopped or at risk: act now.
    Critical,
    /// Something degraded that may need a look.
    Warning,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Critical => "critical",
            Severity::Warning => "warning",
        }
    }
}

/// The severity of `kind`.
pub fn severity(kind: AlertKind) -> Severity {
    match kind {
        AlertKind::TradingHalted
        | AlertKind::LossLimit
        | AlertKind::ReconciliationDifference
        | AlertKind::KiteTokenRejected
        | AlertKind::SupervisorEscalated
        | AlertKind::FeedStale => Severity::Critical,
        AlertKind::TradingReducing
        | AlertKind::ActorRestarted
        | AlertKind::DlqRecord
        | AlertKind::StrategyDisabled => Severity::Warning,
    }
}

/// One message for the targets: an alert (with the repeats held back before it) or a
/// summary of what the rate limit held back.
#[derive(Debug, Clone)]
pub(super) enum Outgoing {
    Alert {
        alert: Alert,
        repeats: u32,
    },
    Summary {
        suppressed: Suppressed,
        at: DateTime<Utc>,
    },
}

impl Outgoing {
    /// The `kind` label it is counted under.
    pub(super) fn kind(&self) -> &'static str {
        match self {
            Outgoing::Alert { alert, .. } => alert.kind.as_str(),
            Outgoing::Summary { .. } => SUMMARY_KIND,
        }
    }
}

/// The JSON body POSTed to the webhook.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct WebhookPayload {
    /// An [`AlertKind`] name, or `alerts_suppressed` for a rate-limit summary.
    pub kind: String,
    /// `critical` or `warning`.
    pub severity: String,
    /// `paper`, `zerodha`, or null when the alert is about no broker.
    pub broker: Option<String>,
    pub subject: String,
    pub message: String,
    /// RFC 3339 UTC.
    pub at: String,
    /// Repeats of this alert held back (dedup) since it was last sent.
    pub repeats: u32,
    /// The process that raised it (`service.instance_id`).
    pub source: String,
}

fn stamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn cut(text: &str) -> String {
    match text.char_indices().nth(MAX_MESSAGE_CHARS) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text.to_owned(),
    }
}

/// The summary's message: `N more alerts suppressed by the rate limit: kind ×n, ...`.
fn summary_message(suppressed: &Suppressed) -> String {
    let kinds: Vec<String> = suppressed
        .0
        .iter()
        .map(|(kind, n)| format!("{kind} ×{n}"))
        .collect();
    format!(
        "{} more alerts suppressed by the rate limit (alerts.max_per_minute): {}; see the \
         logs for each",
        suppressed.total(),
        kinds.join(", ")
    )
}

impl Outgoing {
    /// The webhook's body.
    pub(super) fn payload(&self, source: &str) -> WebhookPayload {
        match self {
            Outgoing::Alert { alert, repeats } => WebhookPayload {
                kind: alert.kind.as_str().to_owned(),
                severity: severity(alert.kind).as_str().to_owned(),
                broker: alert.broker.map(|b| b.as_str().to_owned()),
                subject: alert.subject.clone(),
                message: cut(&alert.message),
                at: stamp(alert.at),
                repeats: *repeats,
                source: source.to_owned(),
            },
            Outgoing::Summary { suppressed, at } => WebhookPayload {
                kind: SUMMARY_KIND.to_owned(),
                severity: Severity::Warning.as_str().to_owned(),
                broker: None,
                subject: "rate_limit".to_owned(),
                message: summary_message(suppressed),
                at: stamp(*at),
                repeats: 0,
                source: source.to_owned(),
            },
        }
    }

    /// The Telegram text: a header line (severity, kind, broker, subject), the message,
    /// the repeats held back, and where and when.
    pub(super) fn telegram_text(&self, source: &str) -> String {
        let p = self.payload(source);
        let broker = p.broker.map(|b| format!(" · {b}")).unwrap_or_default();
        let mut text = format!(
            "[{}] {}{broker} · {}\n{}",
            p.severity.to_uppercase(),
            p.kind,
            p.subject,
            p.message
        );
        if p.repeats > 0 {
            text.push_str(&format!(
                "\n(repeated {} more times since the last message)",
                p.repeats
            ));
        }
        text.push_str(&format!("\n{} · {}", p.source, p.at));
        text
    }
}
