//! Unit tests of `[alerts]`: off by default, the environment (secrets included), every
//! rule with its message, and masking.

use super::AlertKind;
use super::test_support::{load, problems};

const TOKEN: &str = "123456789:AAH-secret_Token42";

fn telegram_on(chat: &str) -> String {
    format!("[alerts.telegram]\nenabled = true\nchat_id = {chat:?}\n")
}

#[test]
fn alerts_are_off_by_default() {
    let s = load(None, &[]).unwrap();
    assert!(!s.alerts.any_target());
    assert!(s.alerts.kinds.is_empty());
    assert!(AlertKind::ALL.iter().all(|k| s.alerts.sends(*k)));
    assert_eq!(s.alerts.telegram.api_url, "https://api.telegram.org");
    assert_eq!(s.alerts.dedup_window_secs, 600);
    assert_eq!(s.alerts.max_per_minute, 20);
    assert_eq!(s.alerts.attempts, 4);
    assert_eq!(s.alerts.request_timeout_secs, 10);
    let (t, w) = (&s.alerts.telegram, &s.alerts.webhook);
    assert!(!t.enabled && t.bot_token.is_empty() && t.chat_id.is_empty());
    assert!(!w.enabled && w.url.is_empty() && w.headers.is_empty());
}

#[test]
fn the_environment_sets_the_bot_token_kinds_and_webhook_headers() {
    let vars = [
        ("ALPHA_PANDA__ALERTS__TELEGRAM__ENABLED", "true"),
        ("ALPHA_PANDA__ALERTS__TELEGRAM__BOT_TOKEN", TOKEN),
        ("ALPHA_PANDA__ALERTS__TELEGRAM__CHAT_ID", "-1001234567"),
        ("ALPHA_PANDA__ALERTS__KINDS", "trading_halted, loss_limit"),
        ("ALPHA_PANDA__ALERTS__WEBHOOK__ENABLED", "true"),
        (
            "ALPHA_PANDA__ALERTS__WEBHOOK__URL",
            "https://hooks.example.com/services/T0/B0/XYZ",
        ),
        (
            "ALPHA_PANDA__ALERTS__WEBHOOK__HEADERS__AUTHORIZATION",
            "Bearer hook-secret-1",
        ),
    ];
    let s = load(None, &vars).unwrap();
    assert_eq!(s.alerts.telegram.bot_token.expose(), TOKEN);
    assert_eq!(s.alerts.telegram.chat_id, "-1001234567");
    assert_eq!(
        s.alerts.kinds,
        [AlertKind::TradingHalted, AlertKind::LossLimit]
    );
    assert!(s.alerts.sends(AlertKind::LossLimit));
    assert!(!s.alerts.sends(AlertKind::DlqRecord));
    let auth = s.alerts.webhook.headers.get("authorization").unwrap();
    assert_eq!(auth.expose(), "Bearer hook-secret-1");
    for shown in [s.to_masked_toml(), format!("{:?}", s.alerts)] {
        for secret in [TOKEN, "XYZ", "hook-secret-1"] {
            assert!(!shown.contains(secret), "{secret} shown in:\n{shown}");
        }
    }
}

#[test]
fn a_target_that_is_on_needs_what_it_sends_with() {
    let file = format!("{}\n[alerts.webhook]\nenabled = true\n", telegram_on(""));
    let got = problems(load(Some(&file), &[]));
    assert_eq!(
        got,
        [
            "alerts.telegram.bot_token: must be set when alerts.telegram.enabled is true: the \
             token BotFather gave the bot, best through ALPHA_PANDA__ALERTS__TELEGRAM__BOT_TOKEN",
            "alerts.telegram.chat_id: must be a chat id (digits, `-100...` for a group or \
             channel) or @channelname, got \"\"; see docs/RUNBOOK.md, Alerts, for how to find it",
            "alerts.webhook.url: must be an http:// or https:// URL with a host (value not \
             shown: a webhook URL may carry its credential)",
        ]
    );
}

#[test]
fn bad_values_are_named_without_showing_secrets() {
    let bad_token = "123:has/slash";
    let file = format!(
        "{}api_url = \"ftp://x\"\n[alerts.webhook]\nenabled = true\nurl = \"hooks.example.com/T0/SECRETPATH\"\n[alerts.webhook.headers]\n\"bad header\" = \"x\"\n",
        telegram_on("my chat")
    );
    let result = load(
        Some(&file),
        &[("ALPHA_PANDA__ALERTS__TELEGRAM__BOT_TOKEN", bad_token)],
    );
    let got = problems(result);
    let text = got.join("\n");
    for key in [
        "alerts.telegram.bot_token: is not a bot token",
        "alerts.telegram.chat_id: must be a chat id",
        "alerts.telegram.api_url: must be an http:// or https:// URL with a host, got \"ftp://x\"",
        "alerts.webhook.url: must be an http:// or https:// URL",
        "alerts.webhook.headers.bad header: is not a valid HTTP header name",
    ] {
        assert!(text.contains(key), "missing {key:?} in:\n{text}");
    }
    assert!(
        !text.contains("has/slash") && !text.contains("SECRETPATH"),
        "{text}"
    );
}

#[test]
fn unknown_kinds_and_out_of_range_limits_are_refused() {
    let file = "[alerts]\nkinds = [\"trading_halted\", \"halted\"]\nmax_per_minute = 0\nattempts = 0\ndedup_window_secs = 100000\n";
    let got = problems(load(Some(file), &[]));
    let text = got.join("\n");
    assert!(
        text.contains("alerts.kinds") && text.contains("one of trading_halted, trading_reducing"),
        "{text}"
    );
    // The kinds problem is a load problem; the range rules are validated with it.
    for key in [
        "alerts.max_per_minute: must be between 1 and 600, got 0",
        "alerts.attempts: must be between 1 and 20, got 0",
        "alerts.dedup_window_secs: must be between 0 and 86400 (a day), got 100000",
    ] {
        assert!(text.contains(key), "missing {key:?} in:\n{text}");
    }
}

#[test]
fn a_numeric_bot_token_is_not_echoed() {
    let file = "[alerts.telegram]\nbot_token = 123456789\n";
    let text = problems(load(Some(file), &[])).join("\n");
    assert!(text.contains("alerts.telegram.bot_token"), "{text}");
    assert!(!text.contains("123456789"), "{text}");
}
