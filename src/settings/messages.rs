//! Wording of loader problems: `expected …, got …` and "did you mean" hints.
//!
//! `config` and serde describe types in Rust terms (`an unsigned 64 bit or less
//! integer`, `64-bit integer `5``); operators write TOML, so everything is translated
//! to TOML terms: an integer, a number, a string, one of human, json. Invariant: the
//! `got` part quotes strings and shows numbers and booleans plain, so
//! `kafka.linger_ms: expected an integer, got "fast"` reads the same whether the value
//! came from a file or from the environment.

use config::{ConfigError, ValueKind};

use super::error::Problem;

/// Largest edit distance at which an unknown key gets a "did you mean" hint.
const HINT_DISTANCE: usize = 2;

/// How a merged value is shown after `got`.
pub(super) fn describe_value(kind: &ValueKind) -> String {
    match kind {
        ValueKind::Nil => "nothing".to_owned(),
        ValueKind::Boolean(b) => b.to_string(),
        ValueKind::I64(i) => i.to_string(),
        ValueKind::I128(i) => i.to_string(),
        ValueKind::U64(u) => u.to_string(),
        ValueKind::U128(u) => u.to_string(),
        ValueKind::Float(f) => format!("{f:?}"),
        ValueKind::String(s) => format!("{s:?}"),
        ValueKind::Table(_) => "a table".to_owned(),
        ValueKind::Array(_) => "an array".to_owned(),
    }
}

/// How a secret's value is shown after `got`: its kind only.
pub(super) fn describe_secret(kind: &ValueKind) -> String {
    let what = match kind {
        ValueKind::Nil => "nothing",
        ValueKind::Boolean(_) => "a boolean",
        ValueKind::I64(_) | ValueKind::I128(_) | ValueKind::U64(_) | ValueKind::U128(_) => {
            "an integer"
        }
        ValueKind::Float(_) => "a number",
        ValueKind::String(_) => "a string",
        ValueKind::Table(_) => "a table",
        ValueKind::Array(_) => "an array",
    };
    format!("{what} (value not shown: it is a secret)")
}

/// A problem for a deserialisation error inside `section`, keyed by the full dotted path.
pub(super) fn describe_config_error(section: &str, error: ConfigError) -> Problem {
    let key = |inner: Option<String>| match inner {
        Some(inner) if !inner.is_empty() => format!("{section}.{inner}"),
        _ => section.to_owned(),
    };
    match error {
        ConfigError::Type {
            unexpected,
            expected,
            key: inner,
            ..
        } => {
            let got = describe_got(&unexpected.to_string());
            let expected = describe_expected(expected, &got);
            Problem::new(key(inner), format!("expected {expected}, got {got}"))
        }
        ConfigError::At {
            error, key: inner, ..
        } => match *error {
            ConfigError::Message(message) => Problem::new(key(inner), serde_message(&message)),
            other => Problem::new(key(inner), other.to_string()),
        },
        ConfigError::NotFound(inner) => Problem::new(key(Some(inner)), "missing"),
        ConfigError::Message(message) => Problem::new(section, serde_message(&message)),
        other => Problem::new(section, other.to_string()),
    }
}

/// Rewords serde's `invalid value: string "x", expected …` (and `invalid type: …`).
fn serde_message(message: &str) -> String {
    for prefix in ["invalid value: ", "invalid type: "] {
        if let Some(rest) = message.strip_prefix(prefix)
            && let Some(at) = rest.rfind(", expected ")
        {
            let got = describe_got(&rest[..at]);
            let expected = describe_expected(&rest[at + ", expected ".len()..], &got);
            return format!("expected {expected}, got {got}");
        }
    }
    message.to_owned()
}

/// `string "x"` → `"x"`, ``64-bit integer `5` `` → `5`, `map` → `a table`.
fn describe_got(unexpected: &str) -> String {
    if let Some(quoted) = unexpected.strip_prefix("string ") {
        return quoted.to_owned();
    }
    if let (Some(open), Some(close)) = (unexpected.find('`'), unexpected.rfind('`'))
        && open < close
    {
        return unexpected[open + 1..close].to_owned();
    }
    match unexpected {
        "sequence" => "an array",
        "map" => "a table",
        "unit value" => "nothing",
        other => other,
    }
    .to_owned()
}

/// Rust type expectations in TOML terms; out-of-range integers get the range.
fn describe_expected(expected: &str, got: &str) -> String {
    // Inside buffered content (internally tagged enums) serde names the Rust type.
    const RUST_INTEGERS: [&str; 10] = [
        "u8", "u16", "u32", "u64", "usize", "i8", "i16", "i32", "i64", "isize",
    ];
    if expected.contains("integer") || RUST_INTEGERS.contains(&expected) {
        let expected = expected.replace("size", "64");
        let unsigned = expected.contains("unsigned") || expected.starts_with('u');
        let bits = expected
            .split(|c: char| !c.is_ascii_digit())
            .find_map(|digits| digits.parse::<u32>().ok())
            .filter(|bits| (8..=64).contains(bits));
        return match (got.parse::<i128>(), bits) {
            (Ok(n), _) if unsigned && n < 0 => "a non-negative integer".to_owned(),
            (Ok(_), Some(bits)) if unsigned => {
                format!("an integer at most {}", (1i128 << bits) - 1)
            }
            (Ok(_), Some(bits)) => {
                let half = 1i128 << (bits - 1);
                format!("an integer between {} and {}", -half, half - 1)
            }
            _ => "an integer".to_owned(),
        };
    }
    let known = [
        // rust_decimal's "a Decimal type representing a fixed-point number".
        ("Decimal", "a decimal number"),
        ("floating", "a number"),
        ("boolean", "a boolean"),
        ("string", "a string"),
        ("map", "a table"),
        ("array", "an array"),
    ];
    known
        .iter()
        .find(|(word, _)| expected.contains(word))
        .map_or(expected, |(_, toml)| toml)
        .to_owned()
}

/// The candidate closest to `key` by edit distance, if within [`HINT_DISTANCE`].
pub(crate) fn closest<'a>(key: &str, candidates: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    candidates
        .map(|candidate| (edit_distance(key, candidate), candidate))
        .filter(|(distance, _)| *distance <= HINT_DISTANCE)
        .min()
        .map(|(_, candidate)| candidate)
}

/// Levenshtein distance over chars.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut current = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let substitute = previous[j] + usize::from(ca != *cb);
            current[j + 1] = substitute.min(previous[j + 1] + 1).min(current[j] + 1);
        }
        previous = current;
    }
    previous[b.len()]
}
