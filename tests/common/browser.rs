//! What the browser tests need (Debian's Chromium, node, playwright-core in
//! tests/browser/node_modules; `scripts/browser-deps.sh` installs them), shared by the
//! dashboard and the backtest report tests.

use std::path::{Path, PathBuf};
use std::process::Command;

pub fn manifest() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The path of `tests/browser/<script>` when everything it needs is here. Otherwise
/// `None` with a note (the test skips), except under `CI=true`, where it panics naming
/// what is missing: CI runs the browser tests through `scripts/test.sh`.
pub fn script(script: &str) -> Option<PathBuf> {
    match missing() {
        None => Some(manifest().join("tests/browser").join(script)),
        Some(why) if std::env::var("CI").is_ok_and(|v| v == "true") => {
            panic!("CI=true but the browser test cannot run: {why} (run scripts/browser-deps.sh)")
        }
        Some(why) => {
            eprintln!("skipped: {why} (run scripts/browser-deps.sh)");
            None
        }
    }
}

/// What is missing, if anything.
fn missing() -> Option<String> {
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    if !Path::new(&chromium).exists() {
        return Some(format!("no Chromium at {chromium}"));
    }
    if Command::new("node").arg("--version").output().is_err() {
        return Some("no node on PATH".into());
    }
    let package = manifest().join("tests/browser/node_modules/playwright-core");
    (!package.exists()).then(|| format!("{} is missing", package.display()))
}
