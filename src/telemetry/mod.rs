//! The one place that sets up logging: `tracing` to stderr, human or JSON, filtered by
//! `log.level` (or `RUST_LOG` when set, for ad-hoc debugging). Process metrics live in
//! [`metrics`].
//!
//! One exception to the level: actix-http logs a client's malformed request (a bad
//! header, a head over its limit, a broken chunked body) at ERROR under `actix_http::h1`
//! after answering it 4xx. Those lines are someone else's mistake, not the operator's
//! problem (issue 16: anyone could write ERROR lines), so that target is off unless the
//! filter names `actix_http` itself.

pub mod metrics;
pub mod readiness;

use crate::settings::LogFormat;
use tracing_subscriber::EnvFilter;

/// Where actix-http reports client connection errors, all of them answered already.
const CLIENT_CONNECTION_ERRORS: &str = "actix_http::h1=off";

/// Installs the global subscriber. Calling it twice is harmless (the second is ignored).
pub fn init(format: LogFormat, level: &str) {
    let builder = tracing_subscriber::fmt()
        .with_env_filter(env_filter(level))
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Human => builder.try_init(),
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
    };
}

/// The filter of [`init`]: `RUST_LOG` when set and valid, else `level`, else `info`; with
/// actix-http's client connection errors off unless the chosen filter names `actix_http`.
pub fn env_filter(level: &str) -> EnvFilter {
    let from_env = std::env::var("RUST_LOG")
        .ok()
        .filter(|spec| !spec.trim().is_empty())
        .and_then(|spec| EnvFilter::try_new(&spec).ok().map(|f| (f, spec)));
    let (filter, spec) = from_env
        .or_else(|| {
            EnvFilter::try_new(level)
                .ok()
                .map(|f| (f, level.to_owned()))
        })
        .unwrap_or_else(|| (EnvFilter::new("info"), "info".to_owned()));
    if spec.contains("actix_http") {
        return filter;
    }
    match CLIENT_CONNECTION_ERRORS.parse() {
        Ok(directive) => filter.add_directive(directive),
        Err(_) => filter,
    }
}
