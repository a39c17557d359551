//! [`TradingHolds`]: reasons, set by other services, that keep a broker HALTED for now.
//!
//! Zerodha execution holds the `zerodha` broker while its start-up reconciliation with
//! Kite has not succeeded. A hold is shared state (one per process, handed to both sides
//! when the tree is built) rather than a message, so it survives a restart of either
//! actor: a restarted risk manager sees the hold at once, and a hold is never lost
//! because a message went to a mailbox that was being replaced. It does not cross
//! processes: when risk and execution run in different processes, execution's own gate
//! (it places nothing before reconciling) is what holds.

use crate::messages::Broker;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

/// Holder name → reason, per broker.
#[derive(Clone, Default)]
pub struct TradingHolds {
    inner: Arc<Mutex<BTreeMap<Broker, BTreeMap<String, String>>>>,
}

impl TradingHolds {
    /// `holder` holds `broker` HALTED because of `reason` (replacing its earlier reason).
    pub fn hold(&self, broker: Broker, holder: &str, reason: &str) {
        self.with(|m| {
            m.entry(broker)
                .or_default()
                .insert(holder.to_owned(), reason.to_owned());
        });
    }

    /// `holder` lifts its hold on `broker` (if it had one).
    pub fn release(&self, broker: Broker, holder: &str) {
        self.with(|m| {
            if let Some(holds) = m.get_mut(&broker) {
                holds.remove(holder);
            }
        });
    }

    /// Every reason `broker` is held, joined; `None` if it is not held.
    pub fn reason(&self, broker: Broker) -> Option<String> {
        self.with(|m| {
            let holds = m.get(&broker).filter(|h| !h.is_empty())?;
            Some(holds.values().cloned().collect::<Vec<_>>().join("; "))
        })
    }

    fn with<R>(&self, f: impl FnOnce(&mut BTreeMap<Broker, BTreeMap<String, String>>) -> R) -> R {
        // A panic while holding this lock cannot leave the map half-updated (each
        // update is one insert or remove), so a poisoned lock is still usable.
        let mut guard = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut guard)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn holds_are_per_broker_and_per_holder() {
        let holds = TradingHolds::default();
        assert_eq!(holds.reason(Broker::Zerodha), None);
        holds.hold(Broker::Zerodha, "a", "reconciling");
        holds.hold(Broker::Zerodha, "b", "token expired");
        assert_eq!(holds.reason(Broker::Paper), None);
        assert_eq!(
            holds.reason(Broker::Zerodha).as_deref(),
            Some("reconciling; token expired")
        );
        holds.release(Broker::Zerodha, "a");
        holds.release(Broker::Zerodha, "b");
        assert_eq!(holds.reason(Broker::Zerodha), None);
    }
}
