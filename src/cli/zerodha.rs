//! `alpha-panda zerodha login-url | session`: the daily Kite login.
//!
//! Kite's access token lives for one trading day. Each morning: open the URL that
//! `login-url` prints, log in, copy the `request_token` from the page Kite redirects to,
//! and run `session --request-token T`. The token goes to a file only its owner can read
//! (`--out FILE`, else `kite.access_token_file`), which the daemon reads at start-up; with
//! `--print`, or when no file is configured, it is printed as an `export` line for the
//! environment instead. The API secret is read from `kite.api_secret` (better:
//! `ALPHA_PANDA__KITE__API_SECRET`) and never printed.

use super::EXIT_CONFIG;
use crate::kite::rest::{KiteClient, KiteClientConfig, RateLimits};
use crate::settings::{KiteSettings, Secret, Settings};
use clap::{Args, Subcommand};
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, Subcommand)]
pub enum ZerodhaCommand {
    /// Print the Kite login URL to open in a browser (needs kite.api_key).
    LoginUrl,
    /// Exchange a login's request token for the day's access token (needs kite.api_key and
    /// kite.api_secret) and store it for the daemon.
    Session(SessionArgs),
}

#[derive(Debug, Args)]
pub struct SessionArgs {
    /// The `request_token` query parameter of the page Kite redirected to after login.
    #[arg(long)]
    pub request_token: String,
    /// Write the token to this file (mode 0600) instead of `kite.access_token_file`.
    #[arg(long, value_name = "FILE", conflicts_with = "print")]
    pub out: Option<PathBuf>,
    /// Print `export ALPHA_PANDA__KITE__ACCESS_TOKEN=...` instead of writing a file.
    #[arg(long)]
    pub print: bool,
}

/// Runs a `zerodha` subcommand; the answer is the exit code.
pub(super) async fn dispatch(command: ZerodhaCommand, settings: &Settings) -> anyhow::Result<u8> {
    let kite = &settings.kite;
    let missing: Vec<&str> = match &command {
        ZerodhaCommand::LoginUrl => vec![("kite.api_key", &kite.api_key)],
        ZerodhaCommand::Session(_) => vec![
            ("kite.api_key", &kite.api_key),
            ("kite.api_secret", &kite.api_secret),
        ],
    }
    .into_iter()
    .filter(|(_, secret)| secret.expose().trim().is_empty())
    .map(|(key, _)| key)
    .collect();
    if !missing.is_empty() {
        for key in missing {
            let var = format!("ALPHA_PANDA__{}", key.to_uppercase().replace('.', "__"));
            eprintln!(
                "{key} is missing: set the environment variable {var} (or {key} in the settings file)"
            );
        }
        return Ok(EXIT_CONFIG);
    }
    match command {
        ZerodhaCommand::LoginUrl => {
            println!("{}", kite.login_url_for());
            Ok(0)
        }
        ZerodhaCommand::Session(args) => session(kite, args).await,
    }
}

async fn session(kite: &KiteSettings, args: SessionArgs) -> anyhow::Result<u8> {
    let client = KiteClient::new(KiteClientConfig {
        base_url: kite.rest_url.clone(),
        api_key: Secret::new(kite.api_key.expose().trim()),
        access_token: Secret::default(),
        timeout: kite.request_timeout(),
        limits: RateLimits::default(),
        rate_limit_backoff: Duration::from_secs(1),
        rate_limit_backoff_max: Duration::from_secs(8),
    })?;
    let session = match client
        .create_session(args.request_token.trim(), &kite.api_secret)
        .await
    {
        Ok(session) => session,
        Err(e) => {
            eprintln!("login failed: {e}");
            return Ok(super::EXIT_FAILURE);
        }
    };
    let token = Secret::new(session.access_token);
    let out = args.out.or_else(|| {
        (!args.print)
            .then(|| kite.access_token_file().map(PathBuf::from))
            .flatten()
    });
    eprintln!(
        "logged in to Kite as {} ({})",
        session.user_name, session.user_id
    );
    match out {
        Some(path) => {
            KiteSettings::write_access_token_file(&path, &token).map_err(|e| {
                anyhow::anyhow!("writing the access token to {}: {e}", path.display())
            })?;
            eprintln!(
                "access token written to {} (mode 0600); the daemon reads it when kite.access_token_file points there",
                path.display()
            );
        }
        None => {
            if !args.print {
                eprintln!(
                    "kite.access_token_file is not set: printing the token for the environment"
                );
            }
            println!(
                "export {}={}",
                crate::settings::ACCESS_TOKEN_VAR,
                token.expose()
            );
        }
    }
    Ok(0)
}
