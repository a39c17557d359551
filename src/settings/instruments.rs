//! `[instruments]`: where the instrument registry comes from — the embedded sample, a
//! CSV file, or Kite's instrument master from its cache.
//!
//! Decisions:
//! - `kite_master = true` chooses Kite's master, downloaded by `alpha-panda instruments
//!   sync` (and by `run` at start when the cache is older than today in IST and
//!   credentials allow) into `cache_dir`. It is a switch beside `path` rather than a
//!   `source` enum so that existing files (`path = "..."`) keep their meaning; the two
//!   together are refused as ambiguous.
//! - `cache_dir` is relative to the working directory (like `path` and
//!   `kite.access_token_file`), default `var/instruments`: a service runs from its own
//!   directory, and the cache belongs to the deployment, not to a user's home.
//!
//! Invariants: loading the settings reads no file; [`InstrumentSettings::load_registry`]
//! reads the configured file or the cache but never touches the network (the refresh is
//! the CLI's, `src/cli/instruments.rs`).

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::error::Problem;
use crate::market::{
    CacheError, InstrumentError, InstrumentRegistry, MasterCache, instruments::EMBEDDED_SOURCE,
};

/// The command that downloads Kite's master into the cache.
pub const SYNC_COMMAND: &str = "alpha-panda instruments sync";

/// `[instruments]`: where the instrument registry comes from.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct InstrumentSettings {
    /// `""` for the embedded `config/instruments.csv`, else a CSV file path.
    pub path: String,
    /// Use Kite's instrument master from [`cache_dir`](Self::cache_dir) (`path` must be
    /// `""`).
    pub kite_master: bool,
    /// Directory of the cached Kite master (relative to the working directory).
    pub cache_dir: String,
}

impl InstrumentSettings {
    /// The configured file, or `None` for the embedded registry (or Kite's master).
    pub fn path(&self) -> Option<&Path> {
        (!self.path.is_empty()).then(|| Path::new(&self.path))
    }

    /// The cache of Kite's master (used by `instruments sync` whatever the source).
    pub fn master_cache(&self) -> MasterCache {
        MasterCache::new(self.cache_dir.trim())
    }

    /// Loads the registry: Kite's cached master with `kite_master`, else the file at
    /// [`path`](Self::path), else the embedded one. Never downloads.
    ///
    /// # Errors
    ///
    /// An [`InstrumentError`] naming the file (and line) at fault; with `kite_master` and
    /// no master in the cache, an [`InstrumentError::Io`] on the cache directory saying
    /// to run [`SYNC_COMMAND`].
    pub fn load_registry(&self) -> Result<InstrumentRegistry, InstrumentError> {
        if self.kite_master {
            return load_cached(&self.master_cache());
        }
        match self.path() {
            Some(path) => InstrumentRegistry::load(path),
            None => InstrumentRegistry::embedded(),
        }
    }

    /// What [`load_registry`](Self::load_registry) reads, for logs.
    pub fn describe(&self) -> String {
        if self.kite_master {
            return format!("Kite's instrument master cached in {}", self.cache_dir);
        }
        match self.path() {
            Some(path) => path.display().to_string(),
            None => format!("{EMBEDDED_SOURCE} (embedded)"),
        }
    }
}

/// The newest cached master, or the error saying there is none.
fn load_cached(cache: &MasterCache) -> Result<InstrumentRegistry, InstrumentError> {
    match cache.load() {
        Ok(Some((_, registry))) => Ok(registry),
        Ok(None) => Err(InstrumentError::Io {
            path: cache.dir().to_path_buf(),
            reason: format!(
                "no Kite instrument master is cached there; run `{SYNC_COMMAND}` (needs the \
                 [kite] credentials)"
            ),
        }),
        Err(CacheError::Invalid(e)) => Err(e),
        Err(CacheError::Io { path, source, .. }) => Err(InstrumentError::Io {
            path,
            reason: source.to_string(),
        }),
    }
}

/// Every broken rule of `[instruments]`, keyed by setting.
pub(super) fn problems(instruments: &InstrumentSettings) -> Vec<Problem> {
    let mut out = Vec::new();
    if !instruments.path.is_empty() && instruments.path.trim().is_empty() {
        let message = "must be \"\" (the embedded registry) or a file path, got only spaces";
        out.push(Problem::new("instruments.path", message));
    } else if instruments.kite_master && !instruments.path.is_empty() {
        let message = format!(
            "must be \"\" with instruments.kite_master = true (the registry is then Kite's \
             master from instruments.cache_dir), got {:?}",
            instruments.path
        );
        out.push(Problem::new("instruments.path", message));
    }
    if instruments.cache_dir.trim().is_empty() {
        let message = "must be a directory path (e.g. \"var/instruments\"), got nothing";
        out.push(Problem::new("instruments.cache_dir", message));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::Settings;
    use std::collections::HashMap;

    fn load(pairs: &[(&str, &str)]) -> Result<Settings, crate::settings::SettingsError> {
        let env: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| {
                let key = format!("ALPHA_PANDA__INSTRUMENTS__{}", k.to_uppercase());
                (key, (*v).to_owned())
            })
            .collect();
        Settings::load_from(None, &env)
    }

    #[test]
    fn defaults_are_the_embedded_registry_and_a_relative_cache() {
        let s = load(&[]).unwrap();
        assert!(!s.instruments.kite_master);
        assert_eq!(s.instruments.cache_dir, "var/instruments");
        assert_eq!(
            s.instruments.master_cache().dir(),
            Path::new("var/instruments")
        );
        let effective: toml::Table = toml::from_str(&s.to_masked_toml()).unwrap();
        let section = effective["instruments"].as_table().unwrap();
        let written: Vec<String> = section.iter().map(|(k, v)| format!("{k} = {v}")).collect();
        assert_eq!(
            written,
            [
                "cache_dir = \"var/instruments\"",
                "kite_master = false",
                "path = \"\""
            ],
            "every setting of the section, as the effective settings write it"
        );
    }

    #[test]
    fn broken_rules_are_named_by_key() {
        // (settings, the key at fault, what its message says)
        type Case<'a> = (&'a [(&'a str, &'a str)], &'a str, &'a str);
        let cases: [Case; 3] = [
            (
                &[("kite_master", "true"), ("path", "x.csv")],
                "instruments.path",
                "must be \"\" with instruments.kite_master = true",
            ),
            (
                &[("cache_dir", "  ")],
                "instruments.cache_dir",
                "must be a directory path",
            ),
            (&[("path", " ")], "instruments.path", "got only spaces"),
        ];
        for (pairs, key, says) in cases {
            let error = load(pairs).unwrap_err();
            let problem = error.problems.iter().find(|p| p.key == key);
            assert!(
                problem.is_some_and(|p| p.message.contains(says)),
                "{pairs:?}: {error}"
            );
        }
    }

    #[test]
    fn kite_master_loads_the_cache_and_says_how_to_fill_an_empty_one() {
        let dir = tempfile::tempdir().unwrap();
        let cache_dir = dir.path().to_str().unwrap();
        let s = load(&[("kite_master", "true"), ("cache_dir", cache_dir)]).unwrap();
        let error = s.instruments.load_registry().unwrap_err().to_string();
        assert!(error.contains(SYNC_COMMAND), "{error}");
        assert!(error.contains(cache_dir), "{error}");
        let text = InstrumentRegistry::embedded().unwrap().to_csv();
        let date = chrono::NaiveDate::from_ymd_opt(2026, 5, 12).unwrap();
        s.instruments
            .master_cache()
            .replace(&text, "test", date)
            .unwrap();
        let registry = s.instruments.load_registry().unwrap();
        assert_eq!(registry.to_csv(), text);
        assert!(s.instruments.describe().contains(cache_dir));
    }
}
