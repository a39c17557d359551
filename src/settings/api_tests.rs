//! Unit tests of `[api]`: defaults, the environment, the listen address with its exact
//! messages, the control token rule and masking.
//!
//! Like `tests.rs`, these never touch the process environment.

use std::net::SocketAddr;

use super::test_support::{load, problems};

const TOKEN: (&str, &str) = ("ALPHA_PANDA__API__CONTROL_TOKEN", "ctl-token-4242-abcdef");

#[test]
fn defaults_of_api() {
    let s = load(None, &[]).unwrap();
    assert!(s.api.enabled);
    assert_eq!(
        s.api.listen,
        "127.0.0.1:8080".parse::<SocketAddr>().unwrap()
    );
    assert!(s.api.control_token.is_empty());
    assert!(!s.api.control_enabled());
}

#[test]
fn api_settings_come_from_file_and_environment() {
    let file = "[api]\nenabled = false\nlisten = \"0.0.0.0:9000\"\n";
    let vars = [TOKEN, ("ALPHA_PANDA__API__LISTEN", "[::1]:0")];
    let s = load(Some(file), &vars).unwrap();
    assert!(!s.api.enabled);
    assert_eq!(s.api.listen, "[::1]:0".parse::<SocketAddr>().unwrap());
    assert_eq!(s.api.control_token.expose(), "ctl-token-4242-abcdef");
    assert!(s.api.control_enabled());
}

#[test]
fn bad_listen_address_is_named_with_the_expected_shape() {
    let cases = [
        (
            "x",
            "api.listen: expected host:port, e.g. 127.0.0.1:8080, got \"x\"",
        ),
        (
            "127.0.0.1",
            "api.listen: expected host:port, e.g. 127.0.0.1:8080, got \"127.0.0.1\"",
        ),
        (
            "127.0.0.1:99999",
            "api.listen: expected host:port, e.g. 127.0.0.1:8080, got \"127.0.0.1:99999\"",
        ),
        (
            "localhost:8080",
            "api.listen: expected an IP address and port, e.g. 127.0.0.1:8080 or 0.0.0.0:8080 \
             (host names are not resolved), got \"localhost:8080\"",
        ),
    ];
    for (value, expected) in cases {
        let from_env = problems(load(None, &[("ALPHA_PANDA__API__LISTEN", value)]));
        assert_eq!(from_env, [expected], "{value} via the environment");
        let file = format!("[api]\nlisten = {value:?}\n");
        assert_eq!(
            problems(load(Some(&file), &[])),
            [expected],
            "{value} via a file"
        );
    }
}

#[test]
fn unknown_api_key_is_rejected() {
    let found = problems(load(Some("[api]\nlisten_addr = \"127.0.0.1:1\"\n"), &[]));
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(found[0].starts_with("api.listen_addr: "), "{found:?}");
}

#[test]
fn control_token_with_whitespace_is_refused_without_showing_it() {
    let found = problems(load(
        None,
        &[(
            "ALPHA_PANDA__API__CONTROL_TOKEN",
            "two words for a long token",
        )],
    ));
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(found[0].starts_with("api.control_token: must not contain whitespace"));
    assert!(!found[0].contains("two words"), "{found:?}");
}

#[test]
fn control_token_shorter_than_16_characters_is_refused_without_showing_it() {
    // (token, refused); empty turns the control endpoints off and is fine.
    let cases = [
        ("", false),
        ("Q7", true),
        ("fifteen-chars-0", true),
        ("sixteen-chars-00", false),
        // Characters, not bytes: 8 two-byte letters are 8 characters.
        ("éééééééé", true),
    ];
    for (token, refused) in cases {
        let loaded = load(None, &[("ALPHA_PANDA__API__CONTROL_TOKEN", token)]);
        match (loaded, refused) {
            (Ok(_), false) => {}
            (Err(e), true) => {
                let found: Vec<String> = e.problems.iter().map(ToString::to_string).collect();
                assert_eq!(found.len(), 1, "{token:?}: {found:?}");
                assert!(
                    found[0].starts_with("api.control_token: must be at least 16 characters"),
                    "{found:?}"
                );
                assert!(!found[0].contains(token), "{found:?}");
            }
            (other, _) => panic!("{token:?}: {other:?}"),
        }
    }
}

#[test]
fn control_token_is_masked() {
    let s = load(None, &[TOKEN]).unwrap();
    let out = s.to_masked_toml();
    assert!(!out.contains("ctl-token-4242-abcdef"), "{out}");
    let parsed: toml::Table = toml::from_str(&out).unwrap();
    assert_eq!(parsed["api"]["control_token"].as_str(), Some("***"));
    assert_eq!(parsed["api"]["listen"].as_str(), Some("127.0.0.1:8080"));
    assert!(!format!("{s:?}").contains("ctl-token-4242-abcdef"));
}
