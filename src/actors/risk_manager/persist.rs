//! The one thing the risk manager keeps in the store: each broker's kill switch, the
//! operator's decision (or the loss limit's REDUCING), which no event records.
//! Everything else is derived from the topics at start (see the module docs).
//!
//! `{broker}:risk` ([`state_key`], listed in [`STATE_INDEX`]) holds
//! `{"version":3,"state":"REDUCING"}`. Earlier versions kept the whole book there
//! (`{"version":2,"snapshot":{…,"state":…}}`, or the snapshot fields at the top level with
//! no version); their `state` is read and the rest ignored — the book is rebuilt from the
//! topics instead of trusted — and the value is rewritten as version 3 on the next save.

use super::{STATE_INDEX, state_key};
use crate::messages::Broker;
use crate::risk::TradingState;
use crate::store::{Store, StoreError};
use futures::future::BoxFuture;
use serde::{Deserialize, Serialize};
use thiserror::Error;

/// The format written now.
const VERSION: u32 = 3;

#[derive(Serialize)]
struct Saved {
    version: u32,
    state: TradingState,
}

/// Why a broker's state could not be read back.
#[derive(Debug, Error)]
pub(super) enum LoadError {
    /// Transient: the actor must not trade with a forgotten HALT, so it fails and restarts.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Permanent: the value is not any version's; the broker starts HALTED.
    #[error("saved risk state unreadable: {0}")]
    Unreadable(String),
}

/// `broker`'s kill switch; `None` if nothing was saved.
///
/// # Errors
/// See [`LoadError`].
pub(super) async fn load(
    store: &dyn Store,
    broker: Broker,
) -> Result<Option<TradingState>, LoadError> {
    let Some(json) = store.get(&state_key(broker)).await? else {
        return Ok(None);
    };
    parse(&json).map(Some)
}

/// The state in any version's value.
fn parse(json: &str) -> Result<TradingState, LoadError> {
    #[derive(Deserialize)]
    struct Any {
        state: Option<TradingState>,
        snapshot: Option<Inner>,
    }
    #[derive(Deserialize)]
    struct Inner {
        state: TradingState,
    }
    let any: Any = serde_json::from_str(json).map_err(|e| LoadError::Unreadable(e.to_string()))?;
    any.state
        .or(any.snapshot.map(|s| s.state))
        .ok_or_else(|| LoadError::Unreadable("no `state` in it".into()))
}

/// Writes `broker`'s kill switch.
pub(super) fn save(
    store: &dyn Store,
    broker: Broker,
    state: TradingState,
) -> BoxFuture<'static, Result<(), StoreError>> {
    let value = serde_json::json!(Saved {
        version: VERSION,
        state
    })
    .to_string();
    store.put(STATE_INDEX, &state_key(broker), value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_version_s_state_is_read() {
        let cases = [
            (
                r#"{"version":3,"state":"REDUCING"}"#,
                TradingState::Reducing,
            ),
            (
                r#"{"version":2,"snapshot":{"broker":"paper","state":"HALTED","open_orders":7}}"#,
                TradingState::Halted,
            ),
            (
                r#"{"broker":"paper","state":"ACTIVE","open_orders":3,"positions":[]}"#,
                TradingState::Active,
            ),
        ];
        for (json, state) in cases {
            assert_eq!(parse(json).unwrap(), state, "{json}");
        }
        let err = parse(r#"{"version":3}"#).unwrap_err().to_string();
        assert_eq!(err, "saved risk state unreadable: no `state` in it");
    }

    #[tokio::test]
    async fn a_saved_state_reads_back() {
        let store = crate::store::MemoryStore::default();
        save(&store, Broker::Zerodha, TradingState::Halted)
            .await
            .unwrap();
        assert_eq!(
            load(&store, Broker::Zerodha).await.unwrap(),
            Some(TradingState::Halted)
        );
        assert_eq!(load(&store, Broker::Paper).await.unwrap(), None);
    }
}
