//! Turning what goes wrong inside an actor into a [`ExitReason`] its supervisor can act on.
//!
//! - A panic while the actor's context is polled (in a sync handler, or in a future the
//!   actor runs in its own context: `ResponseActFuture`, `ctx.spawn`, `ctx.wait`) is caught
//!   by the child's driver, never reaching the arbiter. Futures sent off with
//!   `actix::spawn`/`ResponseFuture` run outside the actor and are not covered.
//! - [`fail`] stops an actor and marks the stop as a failure with a reason.
//! - [`handling`] (a guard at the top of a handler) and [`HandlingFuture`] name the
//!   message type for the log line of a panic.
//!
//! Everything here is thread-local: an actor and its driver always run on one thread.

use actix::prelude::*;
use std::any::type_name;
use std::cell::{Cell, RefCell};
use std::pin::Pin;
use std::sync::Once;
use std::task::{Context as TaskContext, Poll};

/// How a run of a child ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExitReason {
    /// Stopped on its own without reporting a failure.
    Normal,
    /// Its supervisor stopped it (shutdown, or a sibling's restart).
    Requested,
    /// Failed: a panic, [`fail`], a failed start, or a child supervisor that gave up.
    Failure(String),
}

impl ExitReason {
    pub fn is_failure(&self) -> bool {
        matches!(self, ExitReason::Failure(_))
    }
}

thread_local! {
    static FAILURE: RefCell<Option<String>> = const { RefCell::new(None) };
    static MESSAGE: Cell<Option<&'static str>> = const { Cell::new(None) };
    static IN_CHILD: Cell<bool> = const { Cell::new(false) };
    static PANIC_SITE: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Stops the actor and records the stop as a failure: its supervisor applies the policy.
pub fn fail<A: Actor>(ctx: &mut A::Context, reason: impl Into<String>)
where
    A::Context: ActorContext,
{
    let reason = reason.into();
    FAILURE.with(|f| *f.borrow_mut() = Some(reason));
    ctx.stop();
}

/// Names the message being handled until the guard drops; put it first in a handler:
/// `let _handling = handling::<MyMessage>();`.
#[must_use = "the guard names the message only while it is alive"]
pub fn handling<M>() -> HandlingGuard {
    HandlingGuard {
        previous: MESSAGE.with(|m| m.replace(Some(type_name::<M>()))),
    }
}

pub struct HandlingGuard {
    previous: Option<&'static str>,
}

impl Drop for HandlingGuard {
    fn drop(&mut self) {
        // While unwinding, keep the name: the driver reads it to log the panic.
        if !std::thread::panicking() {
            MESSAGE.with(|m| m.set(self.previous));
        }
    }
}

/// Wraps an actor future so a panic inside it names message `M`.
pub struct HandlingFuture<M, F> {
    inner: Pin<Box<F>>,
    _message: std::marker::PhantomData<fn() -> M>,
}

impl<M, F> HandlingFuture<M, F> {
    pub fn new(inner: F) -> Self {
        HandlingFuture {
            inner: Box::pin(inner),
            _message: std::marker::PhantomData,
        }
    }
}

impl<A: Actor, M, F: ActorFuture<A>> ActorFuture<A> for HandlingFuture<M, F> {
    type Output = F::Output;

    fn poll(
        mut self: Pin<&mut Self>,
        act: &mut A,
        ctx: &mut A::Context,
        task: &mut TaskContext<'_>,
    ) -> Poll<Self::Output> {
        let _guard = handling::<M>();
        self.inner.as_mut().poll(act, ctx, task)
    }
}

/// The type name as logged (computed only when a failure is reported: `handling` runs for
/// every message).
fn short_type_name(full: &'static str) -> &'static str {
    // `alpha_panda::streaming::consumer::Deliver<alpha_panda::messages::market::MarketTick>`
    // reads better without the module paths.
    full.rsplit_once("::")
        .filter(|_| !full.contains('<'))
        .map_or(full, |(_, last)| last)
}

/// Runs `poll` as one step of a supervised child: clears the failure slot, catches a panic,
/// and reports `(poll result, failure reason if the step failed)`.
pub(super) fn supervised_step<T>(
    actor: &str,
    poll: impl FnOnce() -> Poll<T>,
) -> Result<Poll<(T, ExitReason)>, ExitReason> {
    install_panic_hook();
    IN_CHILD.with(|c| c.set(true));
    MESSAGE.with(|m| m.set(None));
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(poll));
    IN_CHILD.with(|c| c.set(false));
    match outcome {
        Ok(Poll::Pending) => Ok(Poll::Pending),
        Ok(Poll::Ready(value)) => {
            let reason = FAILURE
                .with(|f| f.borrow_mut().take())
                .map_or(ExitReason::Normal, ExitReason::Failure);
            Ok(Poll::Ready((value, reason)))
        }
        Err(payload) => {
            let text = panic_text(payload.as_ref());
            let message = MESSAGE
                .with(|m| m.take())
                .map_or("(unnamed message)", short_type_name);
            let site = PANIC_SITE
                .with(|s| s.borrow_mut().take())
                .unwrap_or_default();
            tracing::error!(actor, message_type = message, panic = %text, site = %site, "actor panicked");
            Err(ExitReason::Failure(format!(
                "panic while handling {message}: {text}"
            )))
        }
    }
}

fn panic_text(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "(non-string panic payload)".to_owned()
    }
}

/// Inside a supervised child, record the panic's location for our own log line instead
/// of printing the default report; elsewhere keep the default behaviour.
fn install_panic_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if IN_CHILD.with(Cell::get) {
                let site = info
                    .location()
                    .map(|l| format!("{}:{}", l.file(), l.line()))
                    .unwrap_or_default();
                PANIC_SITE.with(|s| *s.borrow_mut() = Some(site));
            } else {
                previous(info);
            }
        }));
    });
}
