//! The instrument registry as the commands load it; `alpha-panda instruments sync`; and
//! the start-up refresh of Kite's instrument master for `run`.
//!
//! `sync` downloads `GET /instruments` with the `[kite]` credentials, validates it and
//! replaces the cache in `instruments.cache_dir` ([`MasterCache::replace`]: only a valid
//! master is written, atomically). `run` with `instruments.kite_master = true` follows
//! [`StartPlan`]: the cache of today is loaded as it is; an older one is refreshed first
//! when the credentials are at hand (a failed refresh warns loudly and goes on with the
//! old cache; with no cache it stops start-up); without credentials a stale cache is
//! loaded with a loud warning, and no cache at all stops start-up saying how to get one.
//!
//! The IST date of "today" is taken once per command from the clock and passed down, so
//! the decisions are plain functions of it ([`crate::market::master_cache::plan`]).

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use chrono::NaiveDate;
use clap::Subcommand;

use super::{EXIT_CONFIG, EXIT_FAILURE};
use crate::kite::rest::{KiteClient, KiteError};
use crate::market::master_cache::{CacheError, MasterCache, Replaced, StartPlan, plan};
use crate::market::{InstrumentRegistry, MarketCalendar};
use crate::settings::{ACCESS_TOKEN_VAR, API_KEY_VAR, KiteCredentials, SESSION_COMMAND, Settings};

#[derive(Debug, Subcommand)]
pub enum InstrumentsCommand {
    /// Download Kite's instrument master (GET /instruments, with the [kite] credentials),
    /// validate it and replace the cache in instruments.cache_dir atomically; a malformed
    /// master is refused with its line and the cache left as it was.
    Sync,
}

/// The instrument registry: `path`, else what `[instruments]` names (a file, Kite's
/// cached master, or the built-in list). Never downloads.
///
/// # Errors
/// The file cannot be read or holds an invalid row; no master is cached.
pub(super) fn registry(
    settings: &Settings,
    path: Option<&Path>,
) -> anyhow::Result<InstrumentRegistry> {
    Ok(match path {
        Some(p) => InstrumentRegistry::load(p)?,
        None => settings.instruments.load_registry()?,
    })
}

/// Runs an `instruments` subcommand; the answer is the exit code.
pub(super) async fn dispatch(
    command: InstrumentsCommand,
    settings: &Settings,
) -> anyhow::Result<u8> {
    match command {
        InstrumentsCommand::Sync => sync_command(settings).await,
    }
}

/// Today's IST date, from the clock.
fn today() -> NaiveDate {
    MarketCalendar::ist_date(chrono::Utc::now())
}

/// The Kite API key and access token, or why they cannot be used (no secret in it).
pub(super) fn credentials(settings: &Settings) -> Result<KiteCredentials, String> {
    let credentials = settings.kite_credentials().map_err(|e| e.to_string())?;
    let mut missing = Vec::new();
    if credentials.api_key.expose().is_empty() {
        missing.push(format!("kite.api_key is not set ({API_KEY_VAR})"));
    }
    if credentials.access_token.expose().is_empty() {
        missing.push(format!(
            "no access token ({ACCESS_TOKEN_VAR}, or kite.access_token_file written by \
             `{SESSION_COMMAND}`)"
        ));
    }
    if missing.is_empty() {
        Ok(credentials)
    } else {
        Err(missing.join("; "))
    }
}

/// What start-up does with Kite's master on `today`, and the credentials it would use.
///
/// # Errors
/// The cache directory cannot be listed.
pub(super) fn start_plan(
    settings: &Settings,
    today: NaiveDate,
) -> Result<(StartPlan, Result<KiteCredentials, String>), CacheError> {
    let cached = settings.instruments.master_cache().current()?;
    let credentials = credentials(settings);
    let plan = plan(cached.map(|c| c.date), today, credentials.is_ok());
    Ok((plan, credentials))
}

/// One download and replacement, with its timings.
struct Synced {
    replaced: Replaced,
    source: String,
    text_bytes: usize,
    download: Duration,
    validate_and_write: Duration,
}

/// Why a sync failed; the cache is unchanged in every case.
#[derive(Debug, thiserror::Error)]
enum SyncError {
    #[error("downloading the instrument master failed: {0}")]
    Download(KiteError),
    #[error("the instrument master was refused: {0}")]
    Cache(CacheError),
}

/// Downloads the master with `credentials` and makes it the cache of `today`.
async fn download_and_replace(
    settings: &Settings,
    credentials: KiteCredentials,
    today: NaiveDate,
) -> Result<Synced, SyncError> {
    let kite = &settings.kite;
    let client =
        KiteClient::new(settings.kite_client_config(credentials)).map_err(SyncError::Download)?;
    // Named in errors as `<source>:<line>: ...`; the URL carries no secret, and any
    // query is left out all the same.
    let base = kite.rest_url.split('?').next().unwrap_or_default();
    let source = format!("{}/instruments", base.trim_end_matches('/'));
    let started = Instant::now();
    let text = client.instruments().await.map_err(SyncError::Download)?;
    let download = started.elapsed();
    let started = Instant::now();
    let replaced = settings
        .instruments
        .master_cache()
        .replace(&text, &source, today)
        .map_err(SyncError::Cache)?;
    Ok(Synced {
        replaced,
        source,
        text_bytes: text.len(),
        download,
        validate_and_write: started.elapsed(),
    })
}

/// `alpha-panda instruments sync`.
async fn sync_command(settings: &Settings) -> anyhow::Result<u8> {
    let credentials = match credentials(settings) {
        Ok(credentials) => credentials,
        Err(why) => {
            eprintln!("cannot download Kite's instrument master: {why}");
            return Ok(EXIT_CONFIG);
        }
    };
    let cache = settings.instruments.master_cache();
    let started = Instant::now();
    match download_and_replace(settings, credentials, today()).await {
        Ok(synced) => {
            say(&report(&synced, started.elapsed()));
            if !settings.instruments.kite_master {
                say(
                    "note: instruments.kite_master is false, so `run` still uses the embedded \
                     registry (or instruments.path); set it to true to use this master",
                );
            }
            Ok(0)
        }
        Err(e) => {
            eprintln!("{e}");
            eprintln!("the cache in {} is unchanged", cache.dir().display());
            Ok(EXIT_FAILURE)
        }
    }
}

/// What `sync` prints: rows, where from, by exchange and segment, where to, timings.
fn report(synced: &Synced, total: Duration) -> String {
    let Synced {
        replaced,
        source,
        text_bytes,
        download,
        validate_and_write,
    } = synced;
    let mut out = format!(
        "downloaded {} instruments ({:.1} MB of CSV) from {source} in {} ms\n",
        replaced.registry.len(),
        *text_bytes as f64 / 1_000_000.0,
        download.as_millis()
    );
    out.push_str(&format!(
        "{:<8} {:<12} {:>8}\n",
        "exchange", "segment", "rows"
    ));
    for ((exchange, segment), rows) in by_segment(&replaced.registry) {
        out.push_str(&format!("{exchange:<8} {segment:<12} {rows:>8}\n"));
    }
    let cached = &replaced.cached;
    out.push_str(&format!(
        "cached as {} (IST date {})",
        cached.path.display(),
        cached.date
    ));
    match &replaced.previous {
        Some(previous) if previous.path == cached.path => out.push_str(", replacing today's"),
        Some(previous) => out.push_str(&format!(", replacing {}", previous.path.display())),
        None => out.push_str(", the first master in this cache"),
    }
    out.push('\n');
    for (path, why) in &replaced.leftovers {
        out.push_str(&format!(
            "warning: could not remove the older {}: {why}\n",
            path.display()
        ));
    }
    out.push_str(&format!(
        "validated and written in {} ms; {} ms in all",
        validate_and_write.as_millis(),
        total.as_millis()
    ));
    out
}

/// Rows by (exchange, segment), sorted.
fn by_segment(registry: &InstrumentRegistry) -> BTreeMap<(&str, &str), usize> {
    let mut out = BTreeMap::new();
    for instrument in registry.iter() {
        *out.entry((instrument.exchange.as_str(), instrument.segment.as_str()))
            .or_default() += 1;
    }
    out
}

/// A line to stdout; a closed stdout (`| head`) is not an error.
fn say(text: &str) {
    let _ = writeln!(std::io::stdout(), "{text}");
}

/// The registry `run` starts with: as [`registry`] says, except that with
/// `instruments.kite_master` the cached master is refreshed first when [`StartPlan`]
/// says so.
///
/// # Errors
/// The registry cannot be loaded; with Kite's master, no cache and no way to download
/// one, or a download that failed with no cache to fall back on.
pub(super) async fn registry_for_run(settings: &Settings) -> anyhow::Result<InstrumentRegistry> {
    if !settings.instruments.kite_master {
        return registry(settings, None);
    }
    let today = today();
    let cache = settings.instruments.master_cache();
    let (plan, credentials) = start_plan(settings, today)?;
    let dir = cache.dir().display().to_string();
    match (plan, credentials) {
        (StartPlan::UseCache, _) => load_cache(&cache),
        (StartPlan::UseStale { cached }, credentials) => {
            let why = credentials.err().unwrap_or_default();
            tracing::warn!(%cached, %today, cache = %dir, reason = %why, "KITE INSTRUMENT MASTER IS STALE and cannot be refreshed without Kite credentials: tokens of contracts listed or expired since it was downloaded are WRONG; run `alpha-panda instruments sync`");
            load_cache(&cache)
        }
        (StartPlan::Unavailable, credentials) => {
            let why = credentials.err().unwrap_or_default();
            anyhow::bail!(
                "instruments.kite_master = true but no Kite instrument master is cached in \
                 {dir}, and none can be downloaded: {why}; run `alpha-panda instruments sync` \
                 with the credentials, or set instruments.kite_master = false"
            )
        }
        (StartPlan::Refresh { fallback }, Ok(credentials)) => {
            tracing::info!(cache = %dir, cached = ?fallback, %today, "downloading today's Kite instrument master");
            match download_and_replace(settings, credentials, today).await {
                Ok(synced) => {
                    let path = synced.replaced.cached.path.display().to_string();
                    tracing::info!(rows = synced.replaced.registry.len(), %path, download_ms = synced.download.as_millis() as u64, "Kite instrument master refreshed");
                    Ok(synced.replaced.registry)
                }
                Err(e) => match fallback {
                    Some(cached) => {
                        tracing::warn!(error = %e, %cached, %today, cache = %dir, "KITE INSTRUMENT MASTER NOT REFRESHED: going on with the stale master; tokens of contracts listed or expired since it was downloaded are WRONG");
                        load_cache(&cache)
                    }
                    None => Err(anyhow::anyhow!(
                        "{e}; no Kite instrument master is cached in {dir} to fall back on"
                    )),
                },
            }
        }
        // Unreachable: `plan` refreshes only with credentials; say so rather than panic.
        (StartPlan::Refresh { .. }, Err(why)) => {
            anyhow::bail!("cannot refresh the Kite instrument master: {why}")
        }
    }
}

fn load_cache(cache: &MasterCache) -> anyhow::Result<InstrumentRegistry> {
    let (cached, registry) = cache
        .load()?
        .with_context(|| format!("no Kite instrument master in {}", cache.dir().display()))?;
    tracing::info!(rows = registry.len(), path = %cached.path.display(), date = %cached.date, "Kite instrument master loaded");
    Ok(registry)
}
