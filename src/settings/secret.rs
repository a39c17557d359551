//! [`Secret`]: a string setting that never prints.
//!
//! Connection URLs and passwords end up in `Debug` dumps, log lines and the effective
//! settings printout; wrapping them makes leaking them a deliberate act
//! ([`Secret::expose`]) instead of an accident. Invariant: `Debug`, `Display`,
//! `Serialize` and deserialisation errors never write the value; only `expose` returns it.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer, de};

/// What a set secret prints as.
pub const MASK: &str = "***";

/// A string that never prints: `Debug`/`Display` show `***` (or `(unset)` when empty),
/// `Serialize` writes `***` (or `""` when empty). Deserialises from a plain string.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Secret(String);

impl Secret {
    /// Wraps `value`.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The value itself, for the one place that needs it (e.g. opening a connection).
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// True if the value is the empty string.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.0.is_empty() { "(unset)" } else { MASK })
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Self(value)
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Self {
        Self(value.to_owned())
    }
}

impl Serialize for Secret {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        // An unset secret has nothing to hide: `""` says it is unset (e.g. the control
        // endpoints off), and reads back as unset.
        serializer.serialize_str(if self.0.is_empty() { "" } else { MASK })
    }
}

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_string(SecretVisitor)
    }
}

/// Accepts strings only; serde's usual "invalid type: integer `123`" would repeat a
/// numeric secret, so the error names only what was expected.
struct SecretVisitor;

impl de::Visitor<'_> for SecretVisitor {
    type Value = Secret;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string")
    }

    fn visit_str<E: de::Error>(self, value: &str) -> Result<Secret, E> {
        Ok(Secret(value.to_owned()))
    }

    fn visit_string<E: de::Error>(self, value: String) -> Result<Secret, E> {
        Ok(Secret(value))
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Secret, E> {
        Err(E::custom(HIDDEN))
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Secret, E> {
        Err(E::custom(HIDDEN))
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Secret, E> {
        Err(E::custom(HIDDEN))
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Secret, E> {
        Err(E::custom(HIDDEN))
    }
}

/// The error of a secret that is not a string.
const HIDDEN: &str = "expected a string (value not shown: it is a secret)";
