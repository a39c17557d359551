//! The policy with made-up instants, the message shapes, and the queue's never-wait rule.

use std::time::{Duration, Instant};

use super::format::Outgoing;
use super::policy::{Deduper, RateLimiter, Suppressed};
use super::*;

fn alert(kind: AlertKind, subject: &str) -> Alert {
    Alert::new(kind, subject, format!("{kind} on {subject}"))
}

#[test]
fn dedup_sends_a_key_once_per_window_and_counts_the_repeats() {
    let t0 = Instant::now();
    let mut d = Deduper::new(Duration::from_secs(60));
    let dlq = alert(AlertKind::DlqRecord, "paper.signals.raw").key();
    let other = alert(AlertKind::DlqRecord, "paper.orders.filled").key();
    assert_eq!(d.admit(&dlq, t0), Some(0), "first: sent");
    assert_eq!(d.admit(&dlq, t0 + Duration::from_secs(10)), None);
    assert_eq!(d.admit(&dlq, t0 + Duration::from_secs(59)), None);
    assert_eq!(
        d.admit(&other, t0 + Duration::from_secs(10)),
        Some(0),
        "another subject is another alert"
    );
    assert_eq!(
        d.admit(&dlq, t0 + Duration::from_secs(60)),
        Some(2),
        "after the window: sent, with the two repeats held back"
    );
    assert_eq!(d.admit(&dlq, t0 + Duration::from_secs(61)), None);
}

#[test]
fn dedup_tells_brokers_apart() {
    let t0 = Instant::now();
    let mut d = Deduper::new(Duration::from_secs(60));
    let paper = alert(AlertKind::TradingHalted, "kill switch").on(Broker::Paper);
    let zerodha = alert(AlertKind::TradingHalted, "kill switch").on(Broker::Zerodha);
    assert_eq!(d.admit(&paper.key(), t0), Some(0));
    assert_eq!(d.admit(&zerodha.key(), t0), Some(0));
    assert_eq!(d.admit(&paper.key(), t0), None);
}

#[test]
fn dedup_window_zero_sends_every_repeat() {
    let t0 = Instant::now();
    let mut d = Deduper::new(Duration::ZERO);
    let key = alert(AlertKind::FeedStale, "market_feed").key();
    assert_eq!(d.admit(&key, t0), Some(0));
    assert_eq!(d.admit(&key, t0), Some(0));
    assert!(d.is_empty(), "nothing remembered when nothing is held back");
}

#[test]
fn dedup_forgets_expired_keys_past_its_bound() {
    let t0 = Instant::now();
    let mut d = Deduper::new(Duration::from_secs(1));
    for i in 0..Deduper::PRUNE_ABOVE {
        d.admit(&alert(AlertKind::DlqRecord, &format!("t{i}")).key(), t0);
    }
    assert_eq!(d.len(), Deduper::PRUNE_ABOVE);
    let later = t0 + Duration::from_secs(2);
    d.admit(&alert(AlertKind::DlqRecord, "new").key(), later);
    assert_eq!(d.len(), 1, "the expired keys are gone, the new one kept");
}

#[test]
fn rate_limiter_admits_max_per_window_then_summarises_the_rest() {
    let t0 = Instant::now();
    let minute = Duration::from_secs(60);
    let mut r = RateLimiter::new(3, minute);
    let admitted: Vec<bool> = (0..6)
        .map(|i| {
            let kind = if i < 5 {
                AlertKind::DlqRecord
            } else {
                AlertKind::FeedStale
            };
            r.admit(kind, t0 + Duration::from_secs(i))
        })
        .collect();
    assert_eq!(admitted, vec![true, true, true, false, false, false]);
    let at = t0 + Duration::from_secs(30);
    assert_eq!(r.take_summary(at), None, "no slot free within the minute");
    assert_eq!(
        r.summary_at(at),
        Some(t0 + minute),
        "the first send leaves the window at t0 + 60 s"
    );
    let summary = r.take_summary(t0 + minute).expect("a slot is free");
    assert_eq!(
        summary,
        Suppressed(
            [(AlertKind::DlqRecord, 2), (AlertKind::FeedStale, 1)]
                .into_iter()
                .collect()
        )
    );
    assert_eq!(summary.total(), 3);
    assert_eq!(r.summary_at(t0 + minute), None, "reported once");
    // The summary took the slot freed at t0 + 60; the next frees at t0 + 61.
    assert!(!r.admit(AlertKind::LossLimit, t0 + minute));
    assert!(
        r.take_summary(t0 + minute + Duration::from_secs(1))
            .is_some()
    );
    assert!(r.admit(AlertKind::LossLimit, t0 + minute + Duration::from_secs(2)));
}

#[test]
fn rate_limiter_sends_a_pending_summary_before_new_alerts() {
    let t0 = Instant::now();
    let mut r = RateLimiter::new(1, Duration::from_secs(60));
    assert!(r.admit(AlertKind::DlqRecord, t0));
    assert!(!r.admit(AlertKind::DlqRecord, t0));
    let later = t0 + Duration::from_secs(120);
    assert!(
        !r.admit(AlertKind::LossLimit, later),
        "a slot is free, but the summary is owed first"
    );
    let summary = r.take_summary(later).expect("summary first");
    assert_eq!(
        summary.total(),
        2,
        "the alert that found the summary owed is in it"
    );
}

#[test]
fn webhook_payload_has_the_documented_fields() {
    let mut a = Alert::new(
        AlertKind::LossLimit,
        "momentum_1",
        "daily loss limit reached",
    )
    .on(Broker::Zerodha);
    a.at = "2026-12-07T09:30:00Z".parse().unwrap();
    let out = Outgoing::Alert {
        alert: a,
        repeats: 2,
    };
    let json = serde_json::to_value(out.payload("ap-1")).unwrap();
    assert_eq!(
        json,
        serde_json::json!({
            "kind": "loss_limit",
            "severity": "critical",
            "broker": "zerodha",
            "subject": "momentum_1",
            "message": "daily loss limit reached",
            "at": "2026-12-07T09:30:00Z",
            "repeats": 2,
            "source": "ap-1",
        })
    );
    let text = out.telegram_text("ap-1");
    assert_eq!(
        text,
        "[CRITICAL] loss_limit · zerodha · momentum_1\ndaily loss limit reached\n\
         (repeated 2 more times since the last message)\nap-1 · 2026-12-07T09:30:00Z"
    );
}

#[test]
fn summary_message_counts_by_kind() {
    let out = Outgoing::Summary {
        suppressed: Suppressed(
            [(AlertKind::DlqRecord, 4), (AlertKind::ActorRestarted, 1)]
                .into_iter()
                .collect(),
        ),
        at: chrono::Utc::now(),
    };
    let p = out.payload("ap");
    assert_eq!(p.kind, SUMMARY_KIND);
    assert!(
        p.message
            .starts_with("5 more alerts suppressed by the rate limit"),
        "{}",
        p.message
    );
    assert!(
        p.message.contains("actor_restarted ×1, dlq_record ×4"),
        "{}",
        p.message
    );
}

#[test]
fn long_messages_are_cut_for_telegram() {
    let long = "x".repeat(10_000);
    let out = Outgoing::Alert {
        alert: Alert::new(AlertKind::DlqRecord, "t", long),
        repeats: 0,
    };
    let text = out.telegram_text("ap");
    assert!(text.chars().count() < 4_096, "{}", text.chars().count());
}

#[test]
fn every_kind_has_a_distinct_stable_name() {
    let names: std::collections::BTreeSet<&str> =
        AlertKind::ALL.iter().map(|k| k.as_str()).collect();
    assert_eq!(names.len(), AlertKind::ALL.len());
    assert!(
        names
            .iter()
            .all(|n| n.chars().all(|c| c.is_ascii_lowercase() || c == '_'))
    );
}

#[tokio::test]
async fn raise_never_waits_when_the_queue_is_full() {
    // A dispatcher whose queue holds one alert and whose router is not scheduled before
    // the raises (current-thread runtime, no await in between): the second is dropped at
    // once rather than waited for.
    let mut config = DispatcherConfig::from_settings(
        &crate::settings::Settings::load_from(None, &Default::default())
            .unwrap()
            .alerts,
        "test",
    );
    config.queue = 1;
    let service = AlertService::start(config).unwrap();
    let sender = service.sender();
    assert!(sender.raise(alert(AlertKind::DlqRecord, "queue-full-a")));
    assert_eq!(sender.queued(), 1);
    assert!(
        !sender.raise(alert(AlertKind::DlqRecord, "queue-full-b")),
        "full: dropped, not waited for"
    );
    // The only dispatcher of the lib's tests: the drop is counted once.
    let metrics = crate::telemetry::metrics::render();
    assert!(
        metrics
            .lines()
            .any(|l| l == r#"alpha_panda_alerts_total{kind="dlq_record",outcome="dropped"} 1"#),
        "{metrics}"
    );
    drop(sender);
    service.stop(Duration::from_secs(5)).await;
}

#[test]
fn raise_without_a_dispatcher_is_a_no_op_that_tests_can_observe() {
    let capture = capture::Capture::start();
    raise(alert(AlertKind::StrategyDisabled, "capture-me"));
    let seen = capture.of(AlertKind::StrategyDisabled);
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].subject, "capture-me");
}
