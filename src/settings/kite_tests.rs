//! Unit tests of `[kite]` and `[zerodha]`: defaults, the environment, the credential
//! rules with their exact messages, the access token file (reading, permissions,
//! atomic writing), the login URL, per-strategy product and variety, and masking.
//!
//! Like `tests.rs`, these never touch the process environment.

use std::fs;
use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _};
use std::path::Path;
use std::time::Duration;

use super::test_support::{load, problems};
use super::*;
use crate::kite::orders::{Product, Variety};

const ZERODHA: (&str, &str) = ("ALPHA_PANDA__BROKERS__ENABLED", "paper,zerodha");
const API_KEY: (&str, &str) = ("ALPHA_PANDA__KITE__API_KEY", "kite-key-123");
const TOKEN: (&str, &str) = ("ALPHA_PANDA__KITE__ACCESS_TOKEN", "kite-token-456");
const SECRET: (&str, &str) = ("ALPHA_PANDA__KITE__API_SECRET", "kite-secret-789");

const API_KEY_MISSING: &str = "kite.api_key: is missing: live trading (brokers.enabled has \
                               \"zerodha\") needs it; set the environment variable \
                               ALPHA_PANDA__KITE__API_KEY (or kite.api_key in the settings file)";
const TOKEN_MISSING: &str = "kite.access_token: is missing: live trading (brokers.enabled has \
                             \"zerodha\") needs it; set the environment variable \
                             ALPHA_PANDA__KITE__ACCESS_TOKEN, or set kite.access_token_file to \
                             the file that `alpha-panda zerodha session --request-token T` writes";

/// A file holding `text` with `mode`, in `dir`.
fn token_file(dir: &Path, text: &str, mode: u32) -> String {
    let path = dir.join("kite-token");
    fs::write(&path, text).unwrap();
    fs::set_permissions(&path, fs::Permissions::from_mode(mode)).unwrap();
    path.display().to_string()
}

fn kite_with_file(path: &str) -> KiteSettings {
    let mut kite = load(None, &[]).unwrap().kite;
    kite.access_token_file = path.to_owned();
    kite
}

/// The single message of a failed resolve.
fn resolve_error(kite: &KiteSettings) -> String {
    let err = kite.resolve_access_token().unwrap_err();
    assert_eq!(err.problems.len(), 1, "{err}");
    err.problems[0].to_string()
}

#[test]
fn defaults_of_kite_and_zerodha() {
    let s = load(None, &[]).unwrap();
    let k = &s.kite;
    assert!(k.api_key.is_empty() && k.api_secret.is_empty() && k.access_token.is_empty());
    assert_eq!(k.access_token_file(), None);
    assert!(!k.has_access_token_source());
    assert_eq!(k.request_timeout(), Duration::from_secs(5));
    assert_eq!(k.resolve_access_token().unwrap(), Secret::default());
    let z = &s.zerodha;
    assert!(!z.dry_run);
    assert_eq!((z.product, z.variety), (Product::Mis, Variety::Regular));
    assert_eq!(z.poll_interval(), Duration::from_secs(1));
    assert_eq!(z.settle(), Duration::from_secs(30));
    let rates = (
        z.order_rate_per_sec,
        z.order_rate_per_min,
        z.request_rate_per_sec,
    );
    assert_eq!(rates, (10, 200, 10));
    assert_eq!(z.rate_limit_backoff(), Duration::from_secs(1));
    assert_eq!(z.rate_limit_backoff_max(), Duration::from_secs(30));
    assert_eq!(s.order_kind("momentum_1"), (Product::Mis, Variety::Regular));

    let effective: toml::Table = toml::from_str(&s.to_masked_toml()).unwrap();
    #[rustfmt::skip]
    let literals = [
        ("kite.api_key", "\"\""),
        ("kite.api_secret", "\"\""),
        ("kite.access_token", "\"\""),
        ("kite.access_token_file", "\"\""),
        ("kite.rest_url", "\"https://api.kite.trade\""),
        ("kite.login_url", "\"https://kite.zerodha.com/connect/login\""),
        ("kite.request_timeout_ms", "5000"),
        ("zerodha.dry_run", "false"),
        ("zerodha.product", "\"MIS\""),
        ("zerodha.variety", "\"regular\""),
        ("zerodha.poll_interval_ms", "1000"),
        ("zerodha.settle_secs", "30"),
        ("zerodha.max_signal_age_secs", "60"),
        ("zerodha.order_rate_per_sec", "10"),
        ("zerodha.order_rate_per_min", "200"),
        ("zerodha.request_rate_per_sec", "10"),
        ("zerodha.rate_limit_backoff_ms", "1000"),
        ("zerodha.rate_limit_backoff_max_ms", "30000"),
        ("zerodha.market_protection", "-1"),
        ("zerodha.registered_algo", "false"),
        ("zerodha.order_timeout_secs", "30"),
        ("zerodha.reconcile_interval_secs", "60"),
    ];
    for (key, literal) in literals {
        let (table, leaf) = key.split_once('.').unwrap();
        assert_eq!(effective[table][leaf].to_string(), literal, "{key}");
    }
    let count: usize = ["kite", "zerodha"]
        .iter()
        .map(|section| effective[*section].as_table().unwrap().len())
        .sum();
    assert_eq!(count, literals.len(), "every setting is checked above");
    let feed = effective["feed"].as_table().unwrap();
    assert!(!feed.contains_key("api_key") && !feed.contains_key("access_token"));
}

#[test]
fn the_environment_sets_kite_and_zerodha() {
    let vars = [
        API_KEY,
        TOKEN,
        ("ALPHA_PANDA__KITE__REST_URL", "http://127.0.0.1:8080"),
        ("ALPHA_PANDA__KITE__REQUEST_TIMEOUT_MS", "250"),
        ("ALPHA_PANDA__ZERODHA__DRY_RUN", "true"),
        ("ALPHA_PANDA__ZERODHA__PRODUCT", " cnc "),
        ("ALPHA_PANDA__ZERODHA__VARIETY", "AMO"),
        ("ALPHA_PANDA__ZERODHA__POLL_INTERVAL_MS", "50"),
        ("ALPHA_PANDA__ZERODHA__SETTLE_SECS", "3600"),
        ("ALPHA_PANDA__ZERODHA__ORDER_RATE_PER_MIN", "1"),
        // More than 10 a second only for an algo registered with the exchange.
        ("ALPHA_PANDA__ZERODHA__ORDER_RATE_PER_SEC", "20"),
        ("ALPHA_PANDA__ZERODHA__REGISTERED_ALGO", "true"),
        ("ALPHA_PANDA__ZERODHA__MARKET_PROTECTION", "2"),
    ];
    let s = load(None, &vars).unwrap();
    assert_eq!(s.kite.rest_url, "http://127.0.0.1:8080");
    assert_eq!(s.kite.request_timeout(), Duration::from_millis(250));
    let z = &s.zerodha;
    assert!(z.dry_run);
    assert_eq!((z.product, z.variety), (Product::Cnc, Variety::Amo));
    assert_eq!(z.poll_interval(), Duration::from_millis(50));
    assert_eq!(z.settle(), Duration::from_secs(3600));
    assert_eq!(z.order_rate_per_min, 1);
    assert_eq!((z.order_rate_per_sec, z.registered_algo), (20, true));
    assert_eq!(z.market_protection, 2);
    let credentials = s.kite_credentials().unwrap();
    assert_eq!(credentials.api_key.expose(), "kite-key-123");
    assert_eq!(credentials.access_token.expose(), "kite-token-456");
}

#[test]
fn zerodha_without_credentials_names_each_missing_item() {
    assert_eq!(
        problems(load(None, &[ZERODHA])),
        [API_KEY_MISSING, TOKEN_MISSING]
    );
    assert_eq!(problems(load(None, &[ZERODHA, TOKEN])), [API_KEY_MISSING]);
    assert_eq!(problems(load(None, &[ZERODHA, API_KEY])), [TOKEN_MISSING]);
    let blank = ("ALPHA_PANDA__KITE__API_KEY", "  ");
    assert_eq!(
        problems(load(None, &[ZERODHA, blank, TOKEN])),
        [API_KEY_MISSING]
    );
    // A token file is enough for validation; whether it exists is checked at start-up.
    let file = ("ALPHA_PANDA__KITE__ACCESS_TOKEN_FILE", "/not/yet/written");
    let s = load(None, &[ZERODHA, API_KEY, file]).unwrap();
    assert!(s.kite.has_access_token_source());
    let err = s.kite_credentials().unwrap_err();
    assert!(err.mentions("kite.access_token_file"), "{err}");
    // Paper only (with the simulator) needs no credentials at all.
    assert!(load(None, &[]).is_ok());
}

#[test]
fn a_real_ticker_and_zerodha_are_named_together() {
    let url = ("ALPHA_PANDA__FEED__TICKER_URL", "wss://ws.kite.trade");
    let got = problems(load(None, &[url, ZERODHA, TOKEN]));
    let expected = "kite.api_key: is missing: a real ticker (feed.ticker_url = \
                    \"wss://ws.kite.trade\") and live trading (brokers.enabled has \
                    \"zerodha\") need it; set the environment variable \
                    ALPHA_PANDA__KITE__API_KEY (or kite.api_key in the settings file)";
    assert_eq!(got, [expected]);
}

#[test]
fn validate_catches_each_kite_and_zerodha_rule() {
    #[rustfmt::skip]
    let cases = [
        ("ALPHA_PANDA__KITE__REST_URL", "api.kite.trade?token=leaked",
         "kite.rest_url: must be an http:// or https:// URL (e.g. https://api.kite.trade), got \"api.kite.trade\""),
        ("ALPHA_PANDA__KITE__LOGIN_URL", "ftp://x",
         "kite.login_url: must be an http:// or https:// URL (e.g. https://kite.zerodha.com/connect/login), got \"ftp://x\""),
        ("ALPHA_PANDA__KITE__REQUEST_TIMEOUT_MS", "0", "kite.request_timeout_ms: must be between 1 and 60000, got 0"),
        ("ALPHA_PANDA__KITE__REQUEST_TIMEOUT_MS", "60001", "kite.request_timeout_ms: must be between 1 and 60000, got 60001"),
        ("ALPHA_PANDA__KITE__ACCESS_TOKEN_FILE", " ",
         "kite.access_token_file: must be \"\" (no token file) or a file path, got only spaces"),
        ("ALPHA_PANDA__ZERODHA__POLL_INTERVAL_MS", "49", "zerodha.poll_interval_ms: must be between 50 and 60000, got 49"),
        ("ALPHA_PANDA__ZERODHA__POLL_INTERVAL_MS", "60001", "zerodha.poll_interval_ms: must be between 50 and 60000, got 60001"),
        ("ALPHA_PANDA__ZERODHA__SETTLE_SECS", "0", "zerodha.settle_secs: must be between 1 and 3600, got 0"),
        ("ALPHA_PANDA__ZERODHA__SETTLE_SECS", "3601", "zerodha.settle_secs: must be between 1 and 3600, got 3601"),
        ("ALPHA_PANDA__ZERODHA__MAX_SIGNAL_AGE_SECS", "0", "zerodha.max_signal_age_secs: must be between 1 and 86400, got 0"),
        ("ALPHA_PANDA__ZERODHA__ORDER_TIMEOUT_SECS", "86401", "zerodha.order_timeout_secs: must be between 0 and 86400, got 86401"),
        ("ALPHA_PANDA__ZERODHA__RECONCILE_INTERVAL_SECS", "5", "zerodha.reconcile_interval_secs: must be between 10 and 3600, got 5"),
        ("ALPHA_PANDA__ZERODHA__ORDER_RATE_PER_SEC", "0", "zerodha.order_rate_per_sec: must be between 1 and 1000, got 0"),
        ("ALPHA_PANDA__ZERODHA__ORDER_RATE_PER_MIN", "0", "zerodha.order_rate_per_min: must be between 1 and 60000, got 0"),
        ("ALPHA_PANDA__ZERODHA__REQUEST_RATE_PER_SEC", "0", "zerodha.request_rate_per_sec: must be between 1 and 1000, got 0"),
        ("ALPHA_PANDA__ZERODHA__RATE_LIMIT_BACKOFF_MAX_MS", "999",
         "zerodha.rate_limit_backoff_max_ms: must be at least zerodha.rate_limit_backoff_ms (1000), got 999"),
        ("ALPHA_PANDA__ZERODHA__ORDER_RATE_PER_SEC", "11",
         "zerodha.order_rate_per_sec: must be at most 10 (Kite's limit for an algo not registered with the exchange; set zerodha.registered_algo = true if it is), got 11"),
        ("ALPHA_PANDA__ZERODHA__MARKET_PROTECTION", "0",
         "zerodha.market_protection: must be -1 (automatic) or a percentage from 1 to 100 (Kite rejects MARKET and SL-M orders without it), got 0"),
        ("ALPHA_PANDA__ZERODHA__MARKET_PROTECTION", "101",
         "zerodha.market_protection: must be -1 (automatic) or a percentage from 1 to 100 (Kite rejects MARKET and SL-M orders without it), got 101"),
        ("ALPHA_PANDA__ZERODHA__MARKET_PROTECTION", "-2",
         "zerodha.market_protection: must be -1 (automatic) or a percentage from 1 to 100 (Kite rejects MARKET and SL-M orders without it), got -2"),
        ("ALPHA_PANDA__ZERODHA__PRODUCT", "BO", "zerodha.product: expected a product: CNC, NRML, MIS, MTF, got \"BO\""),
        ("ALPHA_PANDA__ZERODHA__VARIETY", "bracket",
         "zerodha.variety: expected a variety: regular, amo, co, iceberg, auction, got \"bracket\""),
        ("ALPHA_PANDA__ZERODHA__DRY_RUN", "maybe", "zerodha.dry_run: expected a boolean, got \"maybe\""),
        ("ALPHA_PANDA__ZERODHA__VARIETY", "iceberg",
         "zerodha.variety: alpha-panda places regular and amo orders only; iceberg orders need fields a signal does not carry"),
        ("ALPHA_PANDA__STRATEGIES__MOMENTUM_1__VARIETY", "co",
         "strategies.momentum_1.variety: alpha-panda places regular and amo orders only; co orders need fields a signal does not carry"),
    ];
    for (name, value, expected) in cases {
        assert_eq!(
            problems(load(None, &[(name, value)])),
            [expected],
            "{name}={value}"
        );
    }
    let backoff = [
        ("ALPHA_PANDA__ZERODHA__RATE_LIMIT_BACKOFF_MS", "0"),
        ("ALPHA_PANDA__ZERODHA__RATE_LIMIT_BACKOFF_MAX_MS", "0"),
    ];
    assert_eq!(
        problems(load(None, &backoff)),
        ["zerodha.rate_limit_backoff_ms: must be between 1 and 60000, got 0"]
    );
}

#[test]
fn the_token_comes_from_a_private_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = token_file(dir.path(), "  file-token-1\n\n", 0o600);
    let kite = kite_with_file(&path);
    assert_eq!(
        kite.resolve_access_token().unwrap().expose(),
        "file-token-1"
    );
    assert_eq!(kite.access_token_file(), Some(Path::new(&path)));

    // A token set directly wins over the file.
    let mut direct = kite.clone();
    direct.access_token = Secret::new(" direct-token ");
    assert_eq!(
        direct.resolve_access_token().unwrap().expose(),
        "direct-token"
    );

    let vars = [
        ZERODHA,
        API_KEY,
        ("ALPHA_PANDA__KITE__ACCESS_TOKEN_FILE", path.as_str()),
    ];
    let credentials = load(None, &vars).unwrap().kite_credentials().unwrap();
    assert_eq!(credentials.access_token.expose(), "file-token-1");
}

#[test]
fn a_token_file_open_to_others_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    for (mode, what) in [
        (0o644, "readable"),
        (0o640, "readable"),
        (0o604, "readable"),
    ] {
        let path = token_file(dir.path(), "secret-token\n", mode);
        let got = resolve_error(&kite_with_file(&path));
        let expected = format!(
            "kite.access_token_file: {path} is {what} by others (mode {mode:04o}); chmod 600 it"
        );
        assert_eq!(got, expected);
        assert!(!got.contains("secret-token"));
    }
    let path = token_file(dir.path(), "secret-token\n", 0o620);
    assert!(resolve_error(&kite_with_file(&path)).contains("is accessible by others (mode 0620)"));
    let path = token_file(dir.path(), "secret-token\n", 0o400);
    assert_eq!(
        kite_with_file(&path)
            .resolve_access_token()
            .unwrap()
            .expose(),
        "secret-token"
    );
}

#[test]
fn a_missing_or_empty_token_file_says_to_log_in() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("absent-token").display().to_string();
    assert_eq!(
        resolve_error(&kite_with_file(&missing)),
        format!(
            "kite.access_token_file: {missing} does not exist; run `alpha-panda zerodha \
             session --request-token T` to log in and write it (or set \
             ALPHA_PANDA__KITE__ACCESS_TOKEN)"
        )
    );
    let empty = token_file(dir.path(), " \n", 0o600);
    assert_eq!(
        resolve_error(&kite_with_file(&empty)),
        format!(
            "kite.access_token_file: {empty} is empty; run `alpha-panda zerodha session \
             --request-token T` to write today's token"
        )
    );
}

#[test]
fn writing_the_token_file_is_private_and_atomic() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("token");
    KiteSettings::write_access_token_file(&path, &Secret::new("first")).unwrap();
    let meta = fs::metadata(&path).unwrap();
    assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    assert_eq!(fs::read_to_string(&path).unwrap(), "first\n");

    // Replacing: a reader holding the old file keeps seeing the whole old token, the
    // name points at a new file, private even if the old one was not.
    fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
    let old = fs::File::open(&path).unwrap();
    KiteSettings::write_access_token_file(&path, &Secret::new("second")).unwrap();
    let new_meta = fs::metadata(&path).unwrap();
    assert_ne!(
        new_meta.ino(),
        meta.ino(),
        "replaced by rename, not rewritten"
    );
    assert_eq!(new_meta.permissions().mode() & 0o777, 0o600);
    assert_eq!(fs::read_to_string(&path).unwrap(), "second\n");
    let mut before = String::new();
    std::io::Read::read_to_string(&mut &old, &mut before).unwrap();
    assert_eq!(before, "first\n");

    let names: Vec<_> = fs::read_dir(dir.path())
        .unwrap()
        .map(|entry| entry.unwrap().file_name())
        .collect();
    assert_eq!(names, ["token"], "no temporary file is left behind");
    let kite = kite_with_file(&path.display().to_string());
    assert_eq!(kite.resolve_access_token().unwrap().expose(), "second");

    let nowhere = dir.path().join("no-such-dir").join("token");
    assert!(KiteSettings::write_access_token_file(&nowhere, &Secret::new("x")).is_err());
}

#[test]
fn the_login_url_carries_the_encoded_api_key() {
    let mut kite = load(None, &[]).unwrap().kite;
    kite.api_key = Secret::new("abc123");
    assert_eq!(
        kite.login_url_for(),
        "https://kite.zerodha.com/connect/login?api_key=abc123&v=3"
    );
    kite.api_key = Secret::new("a b+c&d");
    kite.login_url = "http://127.0.0.1:9/login?x=1".to_owned();
    assert_eq!(
        kite.login_url_for(),
        "http://127.0.0.1:9/login?x=1&api_key=a%20b%2Bc%26d&v=3"
    );
}

#[test]
fn a_strategy_may_set_its_own_product_and_variety() {
    let file = "[strategies.momentum_1]\nproduct = \"CNC\"\nvariety = \"amo\"\n\
                [strategies.ema_cross_1]\nproduct = \"nrml\"\n";
    let vars = [("ALPHA_PANDA__ZERODHA__VARIETY", "AMO")];
    let s = load(Some(file), &vars).unwrap();
    let m = &s.strategies["momentum_1"];
    assert_eq!(
        (m.product, m.variety),
        (Some(Product::Cnc), Some(Variety::Amo))
    );
    assert_eq!(s.order_kind("momentum_1"), (Product::Cnc, Variety::Amo));
    assert_eq!(s.order_kind("ema_cross_1"), (Product::Nrml, Variety::Amo));
    assert_eq!(s.order_kind("unknown"), (Product::Mis, Variety::Amo));

    let masked = s.to_masked_toml();
    assert!(masked.contains("product = \"CNC\""), "{masked}");
    let again = load(Some(&masked), &[("ALPHA_PANDA__REDIS__URL", "memory")]).unwrap();
    assert_eq!(again.strategies, s.strategies);

    let env = [("ALPHA_PANDA__STRATEGIES__MOMENTUM_1__PRODUCT", "MTF")];
    let s = load(None, &env).unwrap();
    assert_eq!(s.strategies["momentum_1"].product, Some(Product::Mtf));
    assert_eq!(s.strategies["ema_cross_1"].product, None);
}

#[test]
fn a_bad_strategy_product_or_variety_is_named() {
    let file = "[strategies.momentum_1]\nproduct = \"X\"\n\
                [strategies.ema_cross_1]\nvariety = \"fast\"\n";
    assert_eq!(
        problems(load(Some(file), &[])),
        [
            "strategies.ema_cross_1.variety: expected a variety: regular, amo, co, iceberg, \
             auction, got \"fast\"",
            "strategies.momentum_1.product: expected a product: CNC, NRML, MIS, MTF, got \"X\"",
        ]
    );
    let file = "[strategies.momentum_1]\nproduct = 5\nvarity = \"amo\"\n";
    assert_eq!(
        problems(load(Some(file), &[])),
        [
            "strategies.momentum_1.product: expected a string, got 5",
            "strategies.momentum_1.varity: unknown key; did you mean `variety`?",
        ]
    );
}

#[test]
fn kite_secrets_never_print() {
    let dir = tempfile::tempdir().unwrap();
    let path = token_file(dir.path(), "file-token-000\n", 0o600);
    let file_var = ("ALPHA_PANDA__KITE__ACCESS_TOKEN_FILE", path.as_str());
    let s = load(None, &[ZERODHA, API_KEY, TOKEN, SECRET, file_var]).unwrap();
    let credentials = s.kite_credentials().unwrap();
    let printed = [
        s.to_masked_toml(),
        format!("{s:?}"),
        format!("{:?}", s.kite),
        format!("{credentials:?}"),
    ];
    for text in printed {
        for secret in [
            "kite-key-123",
            "kite-token-456",
            "kite-secret-789",
            "file-token-000",
        ] {
            assert!(!text.contains(secret), "{secret} leaked:\n{text}");
        }
    }
    let effective: toml::Table = toml::from_str(&s.to_masked_toml()).unwrap();
    for key in ["api_key", "api_secret", "access_token"] {
        assert_eq!(effective["kite"][key].as_str(), Some("***"), "{key}");
    }
    assert_eq!(
        effective["kite"]["access_token_file"].as_str(),
        Some(path.as_str())
    );
}
