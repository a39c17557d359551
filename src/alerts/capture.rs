//! Test hook: the alerts raised on this thread while a [`Capture`] is alive.
//!
//! Unit tests of the sources (the risk manager, the strategy runner, supervision) run
//! their actors on the test's own single-threaded runtime, while other tests run on other
//! threads at the same time; capturing per thread keeps each test's alerts its own
//! without installing a process-wide dispatcher.

use std::cell::RefCell;

use super::{Alert, AlertKind};

thread_local! {
    static CAPTURED: RefCell<Option<Vec<Alert>>> = const { RefCell::new(None) };
}

/// Records the alerts raised on this thread until dropped.
pub(crate) struct Capture(());

impl Capture {
    pub(crate) fn start() -> Capture {
        CAPTURED.with(|c| *c.borrow_mut() = Some(Vec::new()));
        Capture(())
    }

    /// Every alert raised on this thread so far.
    pub(crate) fn alerts(&self) -> Vec<Alert> {
        CAPTURED.with(|c| c.borrow().clone().unwrap_or_default())
    }

    /// The alerts of `kind` raised so far.
    pub(crate) fn of(&self, kind: AlertKind) -> Vec<Alert> {
        self.alerts()
            .into_iter()
            .filter(|a| a.kind == kind)
            .collect()
    }
}

impl Drop for Capture {
    fn drop(&mut self) {
        CAPTURED.with(|c| *c.borrow_mut() = None);
    }
}

pub(super) fn record(alert: &Alert) {
    CAPTURED.with(|c| {
        if let Some(list) = c.borrow_mut().as_mut() {
            list.push(alert.clone());
        }
    });
}
