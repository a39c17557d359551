//! What went wrong while loading or validating settings.
//!
//! A [`SettingsError`] carries every [`Problem`] found, never just the first, so an
//! operator fixes a configuration in one round. Invariants: a problem always names the
//! key it is about (a dotted path such as `kafka.linger_ms`, or `(file)` /
//! `(defaults)` / an environment variable name when no setting applies), and its
//! message never repeats a secret value.

use std::fmt;

/// One thing wrong with the configuration. Displays as `"{key}: {message}"`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Dotted path of the setting (`kafka.linger_ms`), or `(file)` for the settings file.
    pub key: String,
    /// What is wrong, e.g. `expected an integer, got "fast"`.
    pub message: String,
}

impl Problem {
    /// A problem with the setting `key`.
    pub fn new(key: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            key: key.into(),
            message: message.into(),
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.key, self.message)
    }
}

/// Every problem found in the configuration, one `key: message` per line when displayed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", lines(.problems))]
pub struct SettingsError {
    /// The problems, in a stable order; never empty when returned as an error.
    pub problems: Vec<Problem>,
}

impl SettingsError {
    /// An error made of `problems`.
    pub fn new(problems: Vec<Problem>) -> Self {
        Self { problems }
    }

    /// True if some problem is about `key`.
    pub fn mentions(&self, key: &str) -> bool {
        self.problems.iter().any(|p| p.key == key)
    }
}

fn lines(problems: &[Problem]) -> String {
    problems
        .iter()
        .map(Problem::to_string)
        .collect::<Vec<_>>()
        .join("\n")
}
