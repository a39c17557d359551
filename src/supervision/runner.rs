//! A supervisor: starts its children in order, applies each one's restart policy when it
//! exits, and escalates (stops everything it started, in reverse order, and fails in its
//! own parent) when a child exceeds its restart budget.

use super::board::{ActorState, Board};
use super::budget::{RestartBackoff, RestartBudget};
use super::driver::{Command, Exit};
use super::failure::ExitReason;
use crate::settings::{RestartPolicy, RestartType};
use serde::{Deserialize, Serialize};
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;

/// Which children restart when one fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RestartStrategy {
    /// Only the failed child.
    OneForOne,
    /// The failed child and every child started after it, in start order.
    RestForOne,
    /// Every child.
    OneForAll,
}

/// A child as its supervisor sees it.
pub(super) struct Child {
    pub name: String,
    pub policy: RestartPolicy,
    pub commands: mpsc::UnboundedSender<Command>,
    /// Starts sent; an exit from an older run is stale.
    pub run: u64,
    /// False once it exited for good (temporary, or transient that stopped normally).
    pub alive: bool,
    pub budget: RestartBudget,
    pub backoff: RestartBackoff,
}

impl Child {
    pub(super) fn new(
        name: String,
        policy: RestartPolicy,
        commands: mpsc::UnboundedSender<Command>,
    ) -> Self {
        Child {
            budget: RestartBudget::new(&policy),
            backoff: RestartBackoff::new(&policy),
            name,
            policy,
            commands,
            run: 0,
            alive: true,
        }
    }
}

pub(super) struct Supervisor {
    pub name: String,
    pub strategy: RestartStrategy,
    pub children: Vec<Child>,
    pub board: Board,
    /// This supervisor's index among its parent's children.
    pub index: usize,
    pub exits: mpsc::UnboundedReceiver<Exit>,
    pub commands: mpsc::UnboundedReceiver<Command>,
    /// Where this supervisor reports its own exits (its parent, or the root handle).
    pub parent: mpsc::UnboundedSender<Exit>,
    /// A command that arrived while a restart sequence was waiting on a child.
    pub interrupted: Option<Option<Command>>,
}

impl Supervisor {
    pub(super) async fn run(mut self) {
        let mut run: u64 = 0;
        let mut pending = self.commands.recv().await;
        while let Some(command) = pending.take() {
            if let Command::Start { delay, started } = command {
                run += 1;
                pending = self.serve(run, delay, started).await;
                continue;
            }
            if let Command::Stop { done, .. } = command {
                let _ = done.send(());
            }
            pending = self.commands.recv().await;
        }
        self.stop_children().await;
    }

    /// One run: start, supervise until stopped or given up, return the next command.
    async fn serve(
        &mut self,
        run: u64,
        delay: Duration,
        started: oneshot::Sender<Result<(), String>>,
    ) -> Option<Command> {
        if !delay.is_zero() {
            self.board.set_state(&self.name, ActorState::BackingOff);
            tokio::time::sleep(delay).await;
        }
        self.board.set_state(&self.name, ActorState::Starting);
        for child in &mut self.children {
            child.alive = true;
        }
        let all: Vec<usize> = (0..self.children.len()).collect();
        self.start_in_order(&all, None, Duration::ZERO).await;
        self.board.set_state(&self.name, ActorState::Running);
        let _ = started.send(Ok(()));
        let since = Instant::now();
        loop {
            let command = match self.interrupted.take() {
                Some(command) => command,
                None => tokio::select! {
                    Some(exit) = self.exits.recv() => {
                        if let Err(reason) = self.on_exit(exit).await {
                            tracing::error!(supervisor = %self.name, %reason, "giving up: stopping every child");
                            crate::alerts::raise(crate::alerts::Alert::new(
                                crate::alerts::AlertKind::SupervisorEscalated,
                                self.name.as_str(),
                                format!("supervisor {} gave up and stopped its children: {reason}", self.name),
                            ));
                            self.stop_children().await;
                            self.board.set_state(&self.name, ActorState::Failed);
                            self.board.record_failure(&self.name, &reason);
                            let _ = self.parent.send(Exit {
                                child: self.index,
                                run,
                                reason: ExitReason::Failure(reason),
                                ran_for: since.elapsed(),
                            });
                            return self.commands.recv().await;
                        }
                        continue;
                    }
                    command = self.commands.recv() => command,
                },
            };
            match command {
                Some(Command::Stop { done, .. }) => {
                    self.board.set_state(&self.name, ActorState::Restarting);
                    self.stop_children().await;
                    self.board.set_state(&self.name, ActorState::Stopped);
                    let _ = done.send(());
                    return self.commands.recv().await;
                }
                Some(Command::Start { started, .. }) => {
                    let _ = started.send(Ok(()));
                }
                None => return None,
            }
        }
    }

    /// Applies the child's policy. `Err` means escalate, with the reason.
    async fn on_exit(&mut self, exit: Exit) -> Result<(), String> {
        let i = exit.child;
        let strategy = self.strategy;
        let Some(child) = self.children.get_mut(i) else {
            return Ok(());
        };
        if exit.run != child.run || !child.alive {
            return Ok(()); // From a run this supervisor already stopped.
        }
        let (failed, why) = match &exit.reason {
            ExitReason::Failure(r) => (true, r.clone()),
            ExitReason::Normal => (false, "stopped normally".to_owned()),
            ExitReason::Requested => (false, "stopped on request".to_owned()),
        };
        if failed {
            self.board.record_failure(&child.name, &why);
        }
        let restart = match child.policy.restart {
            RestartType::Permanent => true,
            RestartType::Transient => failed,
            RestartType::Temporary => false,
        };
        if !restart {
            child.alive = false;
            tracing::info!(actor = %child.name, reason = %why, "child exited; its restart type keeps it down");
            return Ok(());
        }
        let now = Instant::now().into_std();
        if !child.budget.allow(now) {
            return Err(format!(
                "child `{}` exceeded its restart budget ({} restarts in {} s); last exit: {why}",
                child.name, child.policy.max_restarts, child.policy.within_secs
            ));
        }
        let delay = child.backoff.next(exit.ran_for);
        let kind = if why.starts_with("panic") {
            "panic"
        } else if failed {
            "failure"
        } else {
            "exit"
        };
        self.board
            .record_restart(&child.name, kind, Some((now, child.policy.within())));
        tracing::warn!(actor = %child.name, reason = %why, ?delay, ?strategy, "restarting child");
        crate::alerts::raise(crate::alerts::Alert::new(
            crate::alerts::AlertKind::ActorRestarted,
            child.name.as_str(),
            format!(
                "actor {} restarting in {delay:?} ({kind}): {why}",
                child.name
            ),
        ));
        let group: Vec<usize> = match strategy {
            RestartStrategy::OneForOne => vec![i],
            RestartStrategy::RestForOne => (i..self.children.len())
                .filter(|&j| j == i || self.children[j].alive)
                .collect(),
            RestartStrategy::OneForAll => (0..self.children.len())
                .filter(|&j| j == i || self.children[j].alive)
                .collect(),
        };
        for &j in group.iter().rev().filter(|&&j| j != i) {
            let sibling = &self.children[j];
            self.board.record_restart(&sibling.name, "sibling", None);
            self.stop_child(j).await;
        }
        self.start_in_order(&group, Some(i), delay).await;
        Ok(())
    }

    /// Starts `which` in order, `delayed` after `delay`. Stops early if a command arrives
    /// (it is kept in `interrupted` for the main loop).
    async fn start_in_order(&mut self, which: &[usize], delayed: Option<usize>, delay: Duration) {
        for &j in which {
            let (tx, rx) = oneshot::channel();
            let child = &mut self.children[j];
            child.run += 1;
            child.alive = true;
            let wait = if Some(j) == delayed {
                delay
            } else {
                Duration::ZERO
            };
            if child
                .commands
                .send(Command::Start {
                    delay: wait,
                    started: tx,
                })
                .is_err()
            {
                continue;
            }
            tokio::select! {
                _ = rx => {}
                command = self.commands.recv() => {
                    self.interrupted = Some(command);
                    return;
                }
            }
        }
    }

    async fn stop_child(&mut self, j: usize) {
        let child = &self.children[j];
        let (tx, rx) = oneshot::channel();
        let timeout = child.policy.stop_timeout();
        if child
            .commands
            .send(Command::Stop { timeout, done: tx })
            .is_ok()
        {
            // The child bounds its own stop by `timeout`; the margin covers the hand-off.
            let _ = tokio::time::timeout(timeout + Duration::from_secs(1), rx).await;
        }
    }

    /// Stops every child, last started first.
    async fn stop_children(&mut self) {
        for j in (0..self.children.len()).rev() {
            self.stop_child(j).await;
        }
    }
}
