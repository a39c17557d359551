//! `[kite]`: the Kite Connect credentials and endpoints, shared by the ticker feed and
//! the REST client, and how the access token of the day is found.
//!
//! The access token comes from `kite.access_token` (best set through
//! `ALPHA_PANDA__KITE__ACCESS_TOKEN`) or, failing that, from the file named by
//! `kite.access_token_file`, which `alpha-panda zerodha session` writes after the daily
//! login. [`Settings::validate`](super::Settings::validate) checks only that a source is
//! configured when one is needed (it does no I/O); the file itself is read at start-up by
//! [`KiteSettings::resolve_access_token`].
//!
//! Invariants:
//! - `api_key`, `api_secret` and `access_token` are [`Secret`]s: they never appear in
//!   `Debug` output, error messages or the effective settings. The one deliberate
//!   exception is [`KiteSettings::login_url_for`]: Kite's login page shows the API key
//!   in the browser anyway.
//! - A token file is accepted only if neither group nor others have any access to it
//!   (like ssh with private keys), and it is written that way: created with mode 0600
//!   beside its final name, then renamed over it, so a reader never sees half a token.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use super::Settings;
use super::error::{Problem, SettingsError};
use super::secret::Secret;
use crate::messages::Broker;

/// The environment variable that sets `kite.api_key`.
pub const API_KEY_VAR: &str = "ALPHA_PANDA__KITE__API_KEY";

/// The environment variable that sets `kite.access_token`.
pub const ACCESS_TOKEN_VAR: &str = "ALPHA_PANDA__KITE__ACCESS_TOKEN";

/// The command that logs in and writes the access token file.
pub const SESSION_COMMAND: &str = "alpha-panda zerodha session --request-token T";

/// `[kite]`: Kite Connect credentials and endpoints.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct KiteSettings {
    /// Kite Connect API key.
    pub api_key: Secret,
    /// Kite Connect API secret; only the `zerodha session` login command needs it.
    pub api_secret: Secret,
    /// Access token of the trading day; empty to read it from `access_token_file`.
    pub access_token: Secret,
    /// `""` for none, else the file the login command writes the day's token to.
    pub access_token_file: String,
    /// Base URL of the REST API (`https://api.kite.trade`).
    pub rest_url: String,
    /// The login page (`https://kite.zerodha.com/connect/login`).
    pub login_url: String,
    /// Deadline of one REST request, milliseconds.
    pub request_timeout_ms: u64,
}

/// The API key and access token, resolved: what the ticker and the REST client need.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct KiteCredentials {
    /// Kite Connect API key.
    pub api_key: Secret,
    /// Access token of the trading day.
    pub access_token: Secret,
}

impl KiteSettings {
    /// The configured token file, or `None` if `access_token_file` is `""`.
    pub fn access_token_file(&self) -> Option<&Path> {
        (!self.access_token_file.is_empty()).then(|| Path::new(&self.access_token_file))
    }

    /// True if a source of the access token is configured (the token or a token file).
    pub fn has_access_token_source(&self) -> bool {
        !self.access_token.expose().trim().is_empty() || self.access_token_file().is_some()
    }

    /// Deadline of one REST request.
    pub fn request_timeout(&self) -> Duration {
        Duration::from_millis(self.request_timeout_ms)
    }

    /// The access token: `access_token` if set, else the content of
    /// `access_token_file` if set (whitespace trimmed), else empty.
    ///
    /// # Errors
    ///
    /// A [`SettingsError`] keyed `kite.access_token_file` if the file is missing (run
    /// `alpha-panda zerodha session`), unreadable, empty, or (on Unix) open to group or
    /// others: `/path is readable by others (mode 0644); chmod 600 it`.
    pub fn resolve_access_token(&self) -> Result<Secret, SettingsError> {
        let token = self.access_token.expose().trim();
        if !token.is_empty() {
            return Ok(Secret::new(token));
        }
        let Some(path) = self.access_token_file() else {
            return Ok(Secret::default());
        };
        read_token_file(path)
            .map_err(|message| SettingsError::new(vec![Problem::new(FILE_KEY, message)]))
    }

    /// Writes `token` and a newline to `path`, creating or replacing it atomically: a
    /// temporary file in the same directory, created with mode 0600 (on Unix), is
    /// written, synced and renamed over `path`.
    ///
    /// # Errors
    ///
    /// The I/O error of creating, writing or renaming; the temporary file is removed.
    pub fn write_access_token_file(path: &Path, token: &Secret) -> io::Result<()> {
        let temp = temp_path(path)?;
        let written = write_new_private(&temp, token).and_then(|()| fs::rename(&temp, path));
        if written.is_err() {
            // Best effort: the error that matters is the one returned.
            let _ = fs::remove_file(&temp);
        }
        written?;
        // Make the rename itself durable; some file systems refuse to sync a directory,
        // which does not undo the write.
        if let Ok(dir) = File::open(parent_dir(path)) {
            let _ = dir.sync_all();
        }
        Ok(())
    }

    /// The login page for this API key: `{login_url}?api_key={api_key}&v=3`, the key
    /// percent-encoded. The key is shown here on purpose: Kite's login page puts it in
    /// the browser's address bar anyway.
    pub fn login_url_for(&self) -> String {
        let separator = if self.login_url.contains('?') {
            '&'
        } else {
            '?'
        };
        let key = percent_encode(self.api_key.expose().trim());
        format!("{}{separator}api_key={key}&v=3", self.login_url)
    }
}

impl Settings {
    /// The Kite API key and the resolved access token (see
    /// [`KiteSettings::resolve_access_token`]), for the ticker feed and the Zerodha
    /// execution.
    ///
    /// # Errors
    ///
    /// As [`KiteSettings::resolve_access_token`].
    pub fn kite_credentials(&self) -> Result<KiteCredentials, SettingsError> {
        Ok(KiteCredentials {
            api_key: Secret::new(self.kite.api_key.expose().trim()),
            access_token: self.kite.resolve_access_token()?,
        })
    }
}

const FILE_KEY: &str = "kite.access_token_file";

/// The token in `path`, or the message of why it cannot be used.
fn read_token_file(path: &Path) -> Result<Secret, String> {
    let shown = path.display();
    let mut file = File::open(path).map_err(|e| match e.kind() {
        io::ErrorKind::NotFound => format!(
            "{shown} does not exist; run `{SESSION_COMMAND}` to log in and write it (or set \
             {ACCESS_TOKEN_VAR})"
        ),
        _ => format!("cannot open {shown}: {e}"),
    })?;
    // The mode of the opened file, not of whatever the path names a moment later.
    let metadata = file
        .metadata()
        .map_err(|e| format!("cannot inspect {shown}: {e}"))?;
    check_private(path, &metadata)?;
    let mut text = String::new();
    file.read_to_string(&mut text)
        .map_err(|e| format!("cannot read {shown}: {e}"))?;
    let token = text.trim();
    if token.is_empty() {
        return Err(format!(
            "{shown} is empty; run `{SESSION_COMMAND}` to write today's token"
        ));
    }
    Ok(Secret::new(token))
}

/// Refuses a file that group or others may access at all, as ssh refuses a private key.
#[cfg(unix)]
fn check_private(path: &Path, metadata: &fs::Metadata) -> Result<(), String> {
    use std::os::unix::fs::PermissionsExt as _;
    let mode = metadata.permissions().mode() & 0o777;
    if mode & 0o077 == 0 {
        return Ok(());
    }
    let what = if mode & 0o044 != 0 {
        "readable"
    } else {
        "accessible"
    };
    Err(format!(
        "{} is {what} by others (mode {mode:04o}); chmod 600 it",
        path.display()
    ))
}

#[cfg(not(unix))]
fn check_private(_path: &Path, _metadata: &fs::Metadata) -> Result<(), String> {
    Ok(())
}

/// A new file at `path` (failing if one exists) holding `token` and a newline, synced.
fn write_new_private(path: &Path, token: &Secret) -> io::Result<()> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(token.expose().as_bytes())?;
    file.write_all(b"\n")?;
    file.sync_all()
}

/// The directory `path` is in (`.` for a bare file name).
fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    }
}

/// A fresh name beside `path` for the temporary file: `.{name}.tmp-{pid}-{nanos}`.
fn temp_path(path: &Path) -> io::Result<PathBuf> {
    let name = path.file_name().ok_or_else(|| {
        let message = format!("{} does not name a file", path.display());
        io::Error::new(io::ErrorKind::InvalidInput, message)
    })?;
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let temp = format!(
        ".{}.tmp-{}-{nanos}",
        name.to_string_lossy(),
        std::process::id()
    );
    Ok(parent_dir(path).join(temp))
}

/// `text` with everything but RFC 3986 unreserved characters percent-encoded.
fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(byte));
        } else {
            const HEX: &[u8; 16] = b"0123456789ABCDEF";
            out.push('%');
            out.push(char::from(HEX[usize::from(byte >> 4)]));
            out.push(char::from(HEX[usize::from(byte & 0x0F)]));
        }
    }
    out
}

/// Every broken rule of `[kite]`, keyed by setting, in a stable order: the URLs, the
/// timeout, and the credentials that the real ticker or live trading need.
pub(super) fn problems(s: &Settings) -> Vec<Problem> {
    let mut out = Vec::new();
    let kite = &s.kite;
    for (key, url, example) in [
        ("kite.rest_url", &kite.rest_url, "https://api.kite.trade"),
        (
            "kite.login_url",
            &kite.login_url,
            "https://kite.zerodha.com/connect/login",
        ),
    ] {
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            // Only the part before any query is shown: the query might carry a token.
            let shown = url.split('?').next().unwrap_or_default();
            let message =
                format!("must be an http:// or https:// URL (e.g. {example}), got {shown:?}");
            out.push(Problem::new(key, message));
        }
    }
    if !(1..=60_000).contains(&kite.request_timeout_ms) {
        let message = format!(
            "must be between 1 and 60000, got {}",
            kite.request_timeout_ms
        );
        out.push(Problem::new("kite.request_timeout_ms", message));
    }
    if !kite.access_token_file.is_empty() && kite.access_token_file.trim().is_empty() {
        let message = "must be \"\" (no token file) or a file path, got only spaces";
        out.push(Problem::new(FILE_KEY, message));
    }
    out.extend(credential_problems(s));
    out
}

/// One problem per missing credential, naming who needs it and how to provide it.
fn credential_problems(s: &Settings) -> Vec<Problem> {
    let mut needed_by = Vec::new();
    if !s.feed.uses_simulator() {
        let url = s.feed.ticker_url.as_str();
        let shown = url.split('?').next().unwrap_or_default();
        needed_by.push(format!("a real ticker (feed.ticker_url = {shown:?})"));
    }
    if s.brokers.enabled.contains(&Broker::Zerodha) {
        needed_by.push("live trading (brokers.enabled has \"zerodha\")".to_owned());
    }
    if needed_by.is_empty() {
        return Vec::new();
    }
    let who = match needed_by.as_slice() {
        [one] => format!("{one} needs it"),
        many => format!("{} need it", many.join(" and ")),
    };
    let mut out = Vec::new();
    if s.kite.api_key.expose().trim().is_empty() {
        let message = format!(
            "is missing: {who}; set the environment variable {API_KEY_VAR} (or kite.api_key \
             in the settings file)"
        );
        out.push(Problem::new("kite.api_key", message));
    }
    if !s.kite.has_access_token_source() {
        let message = format!(
            "is missing: {who}; set the environment variable {ACCESS_TOKEN_VAR}, or set \
             kite.access_token_file to the file that `{SESSION_COMMAND}` writes"
        );
        out.push(Problem::new("kite.access_token", message));
    }
    out
}
