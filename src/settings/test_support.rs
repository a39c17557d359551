//! Helpers shared by the settings tests.

use super::{Settings, SettingsError};
use std::collections::HashMap;

/// Loads with `file` (TOML text, written to a temporary file) and the variables `vars`.
pub(super) fn load(file: Option<&str>, vars: &[(&str, &str)]) -> Result<Settings, SettingsError> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("settings.toml");
    if let Some(text) = file {
        std::fs::write(&path, text).unwrap();
    }
    let env: HashMap<String, String> = vars
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    Settings::load_from(file.map(|_| path.as_path()), &env)
}

/// The problems of a load that must fail, as `key: message` lines.
pub(super) fn problems(result: Result<Settings, SettingsError>) -> Vec<String> {
    match result {
        Ok(_) => panic!("expected problems, got valid settings"),
        Err(e) => e.problems.iter().map(ToString::to_string).collect(),
    }
}
