//! A worker's driver: the task that owns the actor's context future, starts and restarts
//! it on its supervisor's command, and reports how each run ended.
//!
//! The driver keeps the actor's mailbox (and one address) for the life of the tree, so
//! addresses handed out at build time stay valid across restarts: messages sent while
//! the actor is down wait in the mailbox and are handled after the restart. A restart
//! swaps in fresh state from the factory through [`take_replacement`] (the `supervised!`
//! macro's `restarting` hook).

use super::board::{ActorState, Board};
use super::failure::{ExitReason, supervised_step};
use actix::dev::ContextFut;
use actix::prelude::*;
use std::any::Any;
use std::cell::RefCell;
use std::future::poll_fn;
use std::pin::Pin;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;

/// Builds the actor's state: fresh, or recovered from Kafka/Redis. An `Err` is a failed
/// start, handled by the restart policy like any other failure.
pub type Factory<A> = Box<dyn FnMut() -> Result<A, String>>;

/// What a supervisor tells a child (worker or child supervisor).
pub(super) enum Command {
    /// Wait `delay` (backing off), then start; answers once running or failed to start.
    Start {
        delay: Duration,
        started: oneshot::Sender<Result<(), String>>,
    },
    /// Stop gracefully within the timeout and stay stopped until the next `Start`.
    Stop {
        timeout: Duration,
        done: oneshot::Sender<()>,
    },
}

/// A run ended without being asked to.
#[derive(Debug)]
pub(super) struct Exit {
    pub child: usize,
    pub run: u64,
    pub reason: ExitReason,
    pub ran_for: Duration,
}

/// The answer to a `Start` that a `Stop` overtook during the backoff.
pub(super) const CANCELLED: &str = "start cancelled by a stop";

thread_local! {
    static REPLACEMENT: RefCell<Option<Box<dyn Any>>> = const { RefCell::new(None) };
}

/// The fresh state for the actor being restarted on this thread, if it is an `A`.
pub fn take_replacement<A: 'static>() -> Option<A> {
    REPLACEMENT.with(|r| {
        let boxed = r.borrow_mut().take()?;
        boxed.downcast::<A>().ok().map(|b| *b)
    })
}

pub(super) struct Driver<A: Actor<Context = Context<A>> + Supervised> {
    pub name: String,
    pub child: usize,
    pub board: Board,
    pub factory: Factory<A>,
    pub context: Option<Context<A>>,
    /// Keeps the mailbox connected so `ContextFut::restart` always applies.
    pub _keepalive: Addr<A>,
    pub commands: mpsc::UnboundedReceiver<Command>,
    pub exits: mpsc::UnboundedSender<Exit>,
}

enum Woke {
    Exited(ExitReason),
    Command(Option<Command>),
}

impl<A: Actor<Context = Context<A>> + Supervised> Driver<A> {
    pub(super) async fn run(mut self) {
        let mut fut: Option<ContextFut<A, Context<A>>> = None;
        let mut run: u64 = 0;
        let mut pending = self.commands.recv().await;
        while let Some(command) = pending.take() {
            match command {
                Command::Stop { done, .. } => {
                    let _ = done.send(());
                }
                Command::Start { delay, started } => {
                    run += 1;
                    match self.start(&mut fut, delay).await {
                        Ok(()) => {
                            let _ = started.send(Ok(()));
                            pending = self.running(&mut fut, run).await;
                            continue;
                        }
                        Err(reason) if reason == CANCELLED => {
                            let _ = started.send(Err(reason));
                        }
                        Err(reason) => {
                            let _ = started.send(Err(reason.clone()));
                            self.board.set_state(&self.name, ActorState::Failed);
                            let _ = self.exits.send(Exit {
                                child: self.child,
                                run,
                                reason: ExitReason::Failure(reason),
                                ran_for: Duration::ZERO,
                            });
                        }
                    }
                }
            }
            pending = self.commands.recv().await;
        }
        // The supervisor is gone: stop for good.
        if let Some(mut f) = fut {
            let timeout = Duration::from_secs(5);
            stop_within(&self.name, &mut f, timeout).await;
            let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || drop(f)));
        }
    }

    /// Backs off (a `Stop` cancels the start), builds the state and (re)starts the context.
    async fn start(
        &mut self,
        fut: &mut Option<ContextFut<A, Context<A>>>,
        delay: Duration,
    ) -> Result<(), String> {
        if !delay.is_zero() {
            self.board.set_state(&self.name, ActorState::BackingOff);
            tokio::select! {
                _ = tokio::time::sleep(delay) => {}
                command = self.commands.recv() => {
                    if let Some(Command::Stop { done, .. }) = command {
                        let _ = done.send(());
                    }
                    self.board.set_state(&self.name, ActorState::Stopped);
                    return Err(CANCELLED.into());
                }
            }
        }
        self.board.set_state(&self.name, ActorState::Starting);
        let actor = (self.factory)().map_err(|e| format!("start failed: {e}"))?;
        match fut {
            None => {
                let context = self
                    .context
                    .take()
                    .ok_or_else(|| "driver has no context".to_owned())?;
                *fut = Some(context.into_future(actor));
            }
            Some(f) => {
                REPLACEMENT.with(|r| *r.borrow_mut() = Some(Box::new(actor)));
                // The driver holds an address, so the mailbox is connected and this restarts.
                let restarted = f.restart();
                REPLACEMENT.with(|r| r.borrow_mut().take());
                if !restarted {
                    return Err("mailbox disconnected".into());
                }
            }
        }
        self.board.set_state(&self.name, ActorState::Running);
        Ok(())
    }

    /// Runs until the actor stops or a command arrives; returns the next command to obey.
    async fn running(
        &mut self,
        fut: &mut Option<ContextFut<A, Context<A>>>,
        run: u64,
    ) -> Option<Command> {
        let Some(f) = fut.as_mut() else {
            return self.commands.recv().await;
        };
        let since = Instant::now();
        loop {
            let woke = tokio::select! {
                reason = drive(&self.name, f) => Woke::Exited(reason),
                command = self.commands.recv() => Woke::Command(command),
            };
            match woke {
                Woke::Exited(reason) => {
                    let state = if reason.is_failure() {
                        ActorState::Failed
                    } else {
                        ActorState::Stopped
                    };
                    self.board.set_state(&self.name, state);
                    let _ = self.exits.send(Exit {
                        child: self.child,
                        run,
                        reason,
                        ran_for: since.elapsed(),
                    });
                    return self.commands.recv().await;
                }
                Woke::Command(Some(Command::Stop { timeout, done })) => {
                    self.board.set_state(&self.name, ActorState::Restarting);
                    stop_within(&self.name, f, timeout).await;
                    self.board.set_state(&self.name, ActorState::Stopped);
                    let _ = done.send(());
                    return self.commands.recv().await;
                }
                Woke::Command(Some(Command::Start { started, .. })) => {
                    let _ = started.send(Ok(())); // Already running.
                }
                Woke::Command(None) => return None,
            }
        }
    }
}

/// Polls the context until the actor stops; a panic is caught and becomes a failure.
async fn drive<A: Actor<Context = Context<A>>>(
    name: &str,
    fut: &mut ContextFut<A, Context<A>>,
) -> ExitReason {
    poll_fn(
        |cx| match supervised_step(name, || Pin::new(&mut *fut).poll(cx)) {
            Ok(std::task::Poll::Pending) => std::task::Poll::Pending,
            Ok(std::task::Poll::Ready(((), reason))) => std::task::Poll::Ready(reason),
            Err(failure) => std::task::Poll::Ready(failure),
        },
    )
    .await
}

/// Asks the actor to stop and gives it `timeout` to run `stopping`/`stopped`.
async fn stop_within<A: Actor<Context = Context<A>>>(
    name: &str,
    fut: &mut ContextFut<A, Context<A>>,
    timeout: Duration,
) {
    fut.ctx().stop();
    if tokio::time::timeout(timeout, drive(name, fut))
        .await
        .is_err()
    {
        tracing::warn!(
            actor = name,
            ?timeout,
            "actor did not stop in time; abandoning its run"
        );
    }
}
