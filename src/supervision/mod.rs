//! Supervision on actix, in the spirit of Erlang/OTP.
//!
//! actix restarts an actor only when it stops, without limit, backoff or escalation, and a
//! handler panic kills the actor's task and leaves a dead mailbox. Here:
//!
//! - every supervised actor is a *child* with a name, a factory (fresh or recovered state
//!   on every start) and a [`RestartPolicy`]: restart type (`permanent`, `transient`,
//!   `temporary`), a restart budget (`max_restarts` within `within_secs`), exponential
//!   backoff with jitter between restarts, reset after `reset_after_secs` of health, and a
//!   stop timeout;
//! - a supervisor has a [`RestartStrategy`] (`one_for_one`, `rest_for_one`, `one_for_all`) and
//!   children that are workers or other supervisors, started in order and stopped in
//!   reverse order;
//! - a child that exceeds its budget makes its supervisor give up: it stops its children and
//!   fails in its own parent; when the root gives up, [`RootHandle::wait`] says so and the
//!   process exits with [`EXIT_SUPERVISION_GAVE_UP`];
//! - a panic in a handler (or in a future the actor runs in its own context) is caught,
//!   logged with the actor, the message type and the panic text, and is a failure of that
//!   actor; its address stays valid across the restart (the driver owns the mailbox);
//! - the [`Board`] holds every actor's state and restart counts ([`Tree`]).
//!
//! A supervised actor implements `actix::Supervised` through [`supervised!`], which swaps
//! in the factory's fresh state on restart.
//!
//! A tree's supervisors run as tasks on the current arbiter, and so do its workers unless
//! one is placed on an arbiter of its own ([`SupervisorSpec::worker_on`]: a thread for a
//! service on the tick path). A worker's driver runs where its actor runs, so a restart
//! builds the fresh state on that thread; supervisors talk to drivers over channels only.

mod board;
mod budget;
mod driver;
mod failure;
mod runner;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_threads;

pub use crate::settings::{RestartPolicy, RestartType};
pub use board::{ActorInfo, ActorKind, ActorState, Board, LastFailure, Tree};
pub use budget::{RestartBackoff, RestartBudget};
pub use driver::{Factory, take_replacement};
pub use failure::{ExitReason, HandlingFuture, fail, handling};
pub use runner::RestartStrategy;

use crate::settings::SupervisionSettings;
use actix::prelude::*;

use driver::{Command, Driver, Exit};
use runner::{Child, Supervisor};
use tokio::sync::{mpsc, oneshot};

/// Process exit code when the root supervisor gives up (so systemd or Kubernetes restarts
/// the process).
pub const EXIT_SUPERVISION_GAVE_UP: u8 = 3;

/// A worker's mailbox capacity (actix's own default for a context).
const MAILBOX_CAPACITY: usize = 16;

/// Implements `actix::Supervised` so that a restart replaces the actor's state with the
/// one its factory just built.
#[macro_export]
macro_rules! supervised {
    ($actor:ty) => {
        impl ::actix::Supervised for $actor {
            fn restarting(&mut self, _ctx: &mut <Self as ::actix::Actor>::Context) {
                if let Some(fresh) = $crate::supervision::take_replacement::<$actor>() {
                    *self = fresh;
                }
            }
        }
    };
}

type SpawnChild = Box<dyn FnOnce(Spawn<'_>) -> mpsc::UnboundedSender<Command>>;

/// What a child needs to be spawned under its supervisor.
struct Spawn<'a> {
    board: &'a Board,
    parent: &'a str,
    index: usize,
    exits: mpsc::UnboundedSender<Exit>,
}

struct PendingChild {
    name: String,
    policy: RestartPolicy,
    spawn: SpawnChild,
}

/// A supervisor and its children, before they run.
pub struct SupervisorSpec {
    name: String,
    strategy: RestartStrategy,
    settings: SupervisionSettings,
    children: Vec<PendingChild>,
}

impl SupervisorSpec {
    /// A supervisor whose children take their policies from `settings`
    /// (`[supervision.default]` overridden by `[supervision.actors.<name>]`).
    pub fn new(name: &str, strategy: RestartStrategy, settings: &SupervisionSettings) -> Self {
        SupervisorSpec {
            name: name.to_owned(),
            strategy,
            settings: settings.clone(),
            children: Vec::new(),
        }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Adds a worker with the policy configured for `name`; returns its address, valid
    /// from now on and across restarts (messages wait in the mailbox until it runs).
    pub fn worker<A>(
        &mut self,
        name: &str,
        factory: impl FnMut() -> Result<A, String> + 'static,
    ) -> Addr<A>
    where
        A: Actor<Context = Context<A>> + Supervised,
    {
        let policy = self.settings.policy_for(name);
        self.worker_with_policy(name, policy, factory)
    }

    /// Adds a worker whose actor (with its driver, so every restart) runs on `arbiter`'s
    /// thread, with the policy configured for `name`. The factory runs on that thread; it
    /// must be `Send` to get there.
    pub fn worker_on<A>(
        &mut self,
        name: &str,
        arbiter: &ArbiterHandle,
        factory: impl FnMut() -> Result<A, String> + Send + 'static,
    ) -> Addr<A>
    where
        A: Actor<Context = Context<A>> + Supervised,
    {
        let policy = self.settings.policy_for(name);
        // The mailbox is made here so the address exists at once; its receiving end goes
        // to the arbiter, where the context (not `Send`) is built around it.
        let (sender, receiver) = actix::dev::channel::channel::<A>(MAILBOX_CAPACITY);
        let addr = Addr::new(sender);
        let keepalive = addr.clone();
        let owned_name = name.to_owned();
        let arbiter = arbiter.clone();
        let spawn: SpawnChild = Box::new(move |s: Spawn<'_>| {
            s.board
                .register(&owned_name, Some(s.parent), ActorKind::Worker);
            let (tx, rx) = mpsc::unbounded_channel();
            let (board, child, exits) = (s.board.clone(), s.index, s.exits);
            let placed = arbiter.spawn_fn(move || {
                let driver = Driver {
                    name: owned_name,
                    child,
                    board,
                    factory: Box::new(factory),
                    context: Some(Context::with_receiver(receiver)),
                    _keepalive: keepalive,
                    commands: rx,
                    exits,
                };
                actix::spawn(driver.run());
            });
            if !placed {
                // The arbiter has stopped: the driver's commands channel is dropped with
                // the closure, so every start answers as failed and the policy decides.
                tracing::error!(supervisor = s.parent, "a worker's arbiter has stopped");
            }
            tx
        });
        self.children.push(PendingChild {
            name: name.to_owned(),
            policy,
            spawn,
        });
        addr
    }

    /// Adds a worker with an explicit policy.
    pub fn worker_with_policy<A>(
        &mut self,
        name: &str,
        policy: RestartPolicy,
        factory: impl FnMut() -> Result<A, String> + 'static,
    ) -> Addr<A>
    where
        A: Actor<Context = Context<A>> + Supervised,
    {
        let context = Context::<A>::new();
        let addr = context.address();
        let keepalive = addr.clone();
        let owned_name = name.to_owned();
        let factory: Factory<A> = Box::new(factory);
        let spawn: SpawnChild = Box::new(move |s: Spawn<'_>| {
            s.board
                .register(&owned_name, Some(s.parent), ActorKind::Worker);
            let (tx, rx) = mpsc::unbounded_channel();
            let driver = Driver {
                name: owned_name,
                child: s.index,
                board: s.board.clone(),
                factory,
                context: Some(context),
                _keepalive: keepalive,
                commands: rx,
                exits: s.exits,
            };
            actix::spawn(driver.run());
            tx
        });
        self.children.push(PendingChild {
            name: name.to_owned(),
            policy,
            spawn,
        });
        addr
    }

    /// Adds a child supervisor with the policy configured for its name.
    pub fn supervisor(&mut self, child: SupervisorSpec) {
        let policy = self.settings.policy_for(&child.name);
        self.supervisor_with_policy(child, policy);
    }

    /// Adds a child supervisor with an explicit policy (its budget in this supervisor).
    pub fn supervisor_with_policy(&mut self, child: SupervisorSpec, policy: RestartPolicy) {
        let name = child.name.clone();
        let spawn: SpawnChild = Box::new(move |s: Spawn<'_>| child.spawn(s));
        self.children.push(PendingChild {
            name,
            policy,
            spawn,
        });
    }

    fn spawn(self, s: Spawn<'_>) -> mpsc::UnboundedSender<Command> {
        let parent = (!s.parent.is_empty()).then_some(s.parent);
        s.board.register(&self.name, parent, ActorKind::Supervisor);
        let (exits_tx, exits_rx) = mpsc::unbounded_channel();
        let (tx, rx) = mpsc::unbounded_channel();
        let mut children = Vec::with_capacity(self.children.len());
        for (index, pending) in self.children.into_iter().enumerate() {
            let commands = (pending.spawn)(Spawn {
                board: s.board,
                parent: &self.name,
                index,
                exits: exits_tx.clone(),
            });
            children.push(Child::new(pending.name, pending.policy, commands));
        }
        let supervisor = Supervisor {
            name: self.name,
            strategy: self.strategy,
            children,
            board: s.board.clone(),
            index: s.index,
            exits: exits_rx,
            commands: rx,
            parent: s.exits,
            interrupted: None,
        };
        actix::spawn(supervisor.run());
        tx
    }

    /// Starts the tree with this supervisor as its root; children start in order.
    pub async fn start(self) -> RootHandle {
        let board = Board::default();
        let (exits_tx, exits_rx) = mpsc::unbounded_channel();
        let commands = self.spawn(Spawn {
            board: &board,
            parent: "",
            index: 0,
            exits: exits_tx,
        });
        let (tx, rx) = oneshot::channel();
        let _ = commands.send(Command::Start {
            delay: std::time::Duration::ZERO,
            started: tx,
        });
        let _ = rx.await;
        RootHandle {
            board,
            commands,
            exits: exits_rx,
        }
    }
}

/// How a supervision tree ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RootOutcome {
    /// Stopped on request ([`RootHandle::shutdown`]).
    Shutdown,
    /// The root gave up after a child exceeded its budget; everything has been stopped.
    GaveUp(String),
}

/// The running tree.
pub struct RootHandle {
    board: Board,
    commands: mpsc::UnboundedSender<Command>,
    exits: mpsc::UnboundedReceiver<Exit>,
}

impl RootHandle {
    /// Every actor's state and restart counts, now.
    pub fn tree(&self) -> Tree {
        self.board.snapshot()
    }

    /// The board, for introspection from elsewhere (HTTP API, [`Introspection`]).
    pub fn board(&self) -> Board {
        self.board.clone()
    }

    /// Waits until the root gives up.
    pub async fn wait(&mut self) -> RootOutcome {
        match self.exits.recv().await {
            Some(Exit {
                reason: ExitReason::Failure(reason),
                ..
            }) => RootOutcome::GaveUp(reason),
            _ => RootOutcome::Shutdown,
        }
    }

    /// Stops every actor, last started first, each within its stop timeout.
    pub async fn shutdown(&self) -> RootOutcome {
        let (tx, rx) = oneshot::channel();
        let timeout = std::time::Duration::from_secs(30);
        if self
            .commands
            .send(Command::Stop { timeout, done: tx })
            .is_ok()
        {
            let _ = rx.await;
        }
        RootOutcome::Shutdown
    }
}

/// Asks for the supervision tree.
#[derive(Debug, Message)]
#[rtype(result = "Tree")]
pub struct GetTree;

/// An actor that answers [`GetTree`] for a running tree.
pub struct Introspection {
    board: Board,
}

impl Introspection {
    pub fn new(board: Board) -> Self {
        Introspection { board }
    }
}

impl Actor for Introspection {
    type Context = Context<Self>;
}

impl Handler<GetTree> for Introspection {
    type Result = MessageResult<GetTree>;

    fn handle(&mut self, _: GetTree, _ctx: &mut Self::Context) -> Self::Result {
        MessageResult(self.board.snapshot())
    }
}
