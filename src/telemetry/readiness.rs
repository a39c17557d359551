//! One readiness check's outcome: what `GET /health/ready` lists, and what each part of
//! the daemon that can be unready (the feed, the consumers, the broker, the store, the
//! strategies) produces.
//!
//! Why here and not in `api`: the parts that produce checks sit below the API
//! (`actors::market_feed`); defining the type with the API made them import it, and the
//! API imports them. `api` re-exports it.

use serde::{Deserialize, Serialize};

/// The outcome of one readiness check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReadinessCheck {
    /// What was checked (`kafka`, `store`, `market_feed`).
    pub name: String,
    /// Whether it is ready.
    pub ready: bool,
    /// Why, in a few words (shown as `"{name}: {detail}"` when not ready).
    pub detail: String,
}

impl ReadinessCheck {
    /// A passing check.
    pub fn ready(name: impl Into<String>, detail: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            ready: true,
            detail: detail.into(),
        }
    }

    /// A failing check.
    pub fn not_ready(name: impl Into<String>, detail: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            ready: false,
            detail: detail.into(),
        }
    }
}
