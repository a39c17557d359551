//! The cached copy of Kite's instrument master: one file per download, named by the IST
//! date it was downloaded on (`kite-instruments-2026-05-12.csv`), holding the CSV exactly
//! as Kite sent it (decompressed), so Kite's own tools read it too.
//!
//! Why a date in the name rather than a stamp file beside the CSV: the date and the rows
//! then change in one rename, and no crash between two writes can pair a new master with
//! an old date (or the reverse).
//!
//! Invariants:
//! - Only a valid master is ever written: [`MasterCache::replace`] parses the text with
//!   [`InstrumentRegistry::parse`] first; a malformed master is refused with the error
//!   naming the line (`<source>:<line>: <column>: ...`) and the directory is not touched.
//! - Replacement is atomic: the text goes to a temporary file in the cache directory,
//!   is synced, then renamed to its final name (and the directory synced), so a reader
//!   sees the old master or the new one, never a part. Other masters are removed only
//!   after that; one that cannot be removed is reported, never fatal (the newest date
//!   wins when loading).
//! - The cache is "fresh" on the IST date in its name; from the next IST date on it is
//!   stale ([`plan`] decides what start-up does about it, from an injected `today`).
//!
//! Plain domain and file system: no network, no clock, no actors; the download is
//! [`KiteClient::instruments`](crate::kite::rest::KiteClient::instruments) and the
//! orchestration is the CLI's.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use chrono::NaiveDate;

use super::instruments::{InstrumentError, InstrumentRegistry};

/// A cached master's file name: `kite-instruments-YYYY-MM-DD.csv`.
const PREFIX: &str = "kite-instruments-";
const SUFFIX: &str = ".csv";

/// The cache directory of Kite's instrument master.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MasterCache {
    dir: PathBuf,
}

/// A master in the cache: its file and the IST date it was downloaded on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CachedMaster {
    pub path: PathBuf,
    pub date: NaiveDate,
}

/// What [`MasterCache::replace`] did.
#[derive(Debug)]
pub struct Replaced {
    /// The new master.
    pub cached: CachedMaster,
    /// Its rows, parsed.
    pub registry: InstrumentRegistry,
    /// The master it replaced, if any.
    pub previous: Option<CachedMaster>,
    /// Older masters that could not be removed, with the reason (harmless: the newest
    /// date is the one loaded).
    pub leftovers: Vec<(PathBuf, String)>,
}

/// Why the cache could not be read or replaced.
#[derive(Debug, thiserror::Error)]
pub enum CacheError {
    /// The master (downloaded, or the cached file) is malformed; nothing was replaced.
    #[error("{0}")]
    Invalid(InstrumentError),
    /// The file system refused.
    #[error("cannot {action} {}: {source}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        source: io::Error,
    },
}

impl MasterCache {
    /// The cache in `dir` (created on the first [`replace`](Self::replace)).
    pub fn new(dir: impl Into<PathBuf>) -> MasterCache {
        MasterCache { dir: dir.into() }
    }

    /// The cache directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Where the master downloaded on `date` is kept.
    pub fn path_for(&self, date: NaiveDate) -> PathBuf {
        self.dir
            .join(format!("{PREFIX}{}{SUFFIX}", date.format("%Y-%m-%d")))
    }

    /// The newest master in the cache, or `None` (no directory, or no master in it).
    ///
    /// # Errors
    /// [`CacheError::Io`] if the directory exists but cannot be listed.
    pub fn current(&self) -> Result<Option<CachedMaster>, CacheError> {
        Ok(self.masters()?.into_iter().max_by_key(|m| m.date))
    }

    /// The newest master, loaded; `None` when there is none.
    ///
    /// # Errors
    /// As [`current`](Self::current); [`CacheError::Invalid`] if the cached file does not
    /// parse (edited by hand, or a disk fault), naming its path and line.
    pub fn load(&self) -> Result<Option<(CachedMaster, InstrumentRegistry)>, CacheError> {
        let Some(cached) = self.current()? else {
            return Ok(None);
        };
        let registry = InstrumentRegistry::load(&cached.path).map_err(CacheError::Invalid)?;
        Ok(Some((cached, registry)))
    }

    /// Validates `text` (named `source` in errors, e.g. the URL it came from) and, only if
    /// it parses, makes it the master of `date`, atomically; then removes the other
    /// masters.
    ///
    /// # Errors
    /// [`CacheError::Invalid`] for a malformed master (the cache is untouched);
    /// [`CacheError::Io`] if the directory cannot be created or the file written (the
    /// temporary file is removed; the previous master stays in place).
    pub fn replace(
        &self,
        text: &str,
        source: &str,
        date: NaiveDate,
    ) -> Result<Replaced, CacheError> {
        let registry = InstrumentRegistry::parse(text, source).map_err(CacheError::Invalid)?;
        let previous = self.current()?;
        fs::create_dir_all(&self.dir).map_err(|e| io_error("create", &self.dir, e))?;
        let path = self.path_for(date);
        let temp = self.temp_path(date);
        let written = write_synced(&temp, text.as_bytes())
            .map_err(|e| io_error("write", &temp, e))
            .and_then(|()| fs::rename(&temp, &path).map_err(|e| io_error("rename", &path, e)));
        if let Err(e) = written {
            // Best effort: the error that matters is the one returned.
            let _ = fs::remove_file(&temp);
            return Err(e);
        }
        // Make the rename itself durable; some file systems refuse to sync a directory,
        // which does not undo the write.
        if let Ok(dir) = File::open(&self.dir) {
            let _ = dir.sync_all();
        }
        let mut leftovers = Vec::new();
        for other in self.masters()?.into_iter().filter(|m| m.path != path) {
            if let Err(e) = fs::remove_file(&other.path) {
                leftovers.push((other.path, e.to_string()));
            }
        }
        Ok(Replaced {
            cached: CachedMaster { path, date },
            registry,
            previous,
            leftovers,
        })
    }

    /// Every master file in the directory (none if it does not exist).
    fn masters(&self) -> Result<Vec<CachedMaster>, CacheError> {
        let entries = match fs::read_dir(&self.dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(io_error("list", &self.dir, e)),
        };
        let mut out = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|e| io_error("list", &self.dir, e))?;
            let name = entry.file_name();
            let date = name
                .to_str()
                .and_then(|n| n.strip_prefix(PREFIX)?.strip_suffix(SUFFIX))
                .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok());
            if let Some(date) = date {
                out.push(CachedMaster {
                    path: entry.path(),
                    date,
                });
            }
        }
        Ok(out)
    }

    /// A fresh hidden name in the cache directory: `.kite-instruments-DATE.csv.tmp-PID-NANOS`
    /// (never matched as a master).
    fn temp_path(&self, date: NaiveDate) -> PathBuf {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let name = format!(
            ".{PREFIX}{}{SUFFIX}.tmp-{}-{nanos}",
            date.format("%Y-%m-%d"),
            std::process::id()
        );
        self.dir.join(name)
    }
}

fn io_error(action: &'static str, path: &Path, source: io::Error) -> CacheError {
    CacheError::Io {
        action,
        path: path.to_path_buf(),
        source,
    }
}

/// A new file at `path` (failing if one exists) holding `bytes`, synced to disk.
fn write_synced(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut file = OpenOptions::new().write(true).create_new(true).open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

/// What start-up does with the cached master.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartPlan {
    /// The cache is of today (or later): load it.
    UseCache,
    /// Download today's master first. On failure: with `fallback` (the stale cache's
    /// date) warn loudly and load the stale cache; with none, start-up fails.
    Refresh { fallback: Option<NaiveDate> },
    /// The cache is of an earlier day and there are no credentials to refresh it: load
    /// it and warn loudly that it is stale.
    UseStale { cached: NaiveDate },
    /// No cache and no credentials: start-up fails, saying how to get one.
    Unavailable,
}

/// What to do at start-up with a cache of IST date `cached` (or none) on IST date
/// `today`, when Kite credentials are (`can_download`) or are not at hand.
pub fn plan(cached: Option<NaiveDate>, today: NaiveDate, can_download: bool) -> StartPlan {
    match (cached, can_download) {
        (Some(date), _) if date >= today => StartPlan::UseCache,
        (fallback, true) => StartPlan::Refresh { fallback },
        (Some(cached), false) => StartPlan::UseStale { cached },
        (None, false) => StartPlan::Unavailable,
    }
}
