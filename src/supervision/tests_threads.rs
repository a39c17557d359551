//! Workers placed on arbiters of their own ([`SupervisorSpec::worker_on`]): they run on
//! that thread, keep it across restarts, keep their address, and stop with the tree.
//! Real time: the arbiter has its own runtime, whose clock a test cannot pause.

use super::ActorState;
use super::*;
use crate::settings::{RestartPolicy, RestartType, Settings};
use actix::prelude::*;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::thread::ThreadId;

struct Lane {
    incarnation: u32,
    pings: u32,
}
crate::supervised!(Lane);

impl Actor for Lane {
    type Context = Context<Self>;
}

/// Answers (the thread the handler ran on, this incarnation, its pings so far).
#[derive(Message)]
#[rtype(result = "(ThreadId, u32, u32)")]
struct Where;

#[derive(Message)]
#[rtype(result = "()")]
struct Boom;

impl Handler<Where> for Lane {
    type Result = MessageResult<Where>;
    fn handle(&mut self, _: Where, _ctx: &mut Self::Context) -> Self::Result {
        self.pings += 1;
        MessageResult((std::thread::current().id(), self.incarnation, self.pings))
    }
}

impl Handler<Boom> for Lane {
    type Result = ();
    fn handle(&mut self, _: Boom, _ctx: &mut Self::Context) {
        let _handling = handling::<Boom>();
        panic!("boom on its own thread");
    }
}

fn quick_restarts() -> RestartPolicy {
    RestartPolicy {
        restart: RestartType::Permanent,
        max_restarts: 5,
        within_secs: 60,
        backoff_initial_ms: 10,
        backoff_max_ms: 10,
        backoff_multiplier: 1.0,
        ..Settings::load_from(None, &Default::default())
            .unwrap()
            .supervision
            .default
    }
}

#[actix::test]
async fn a_worker_on_its_own_arbiter_runs_there_restarts_there_and_keeps_its_address() {
    let settings = Settings::load_from(None, &Default::default())
        .unwrap()
        .supervision;
    let mut settings = settings;
    settings.default = quick_restarts();
    let arbiter = Arbiter::new();
    let mut root = SupervisorSpec::new("root", RestartStrategy::OneForOne, &settings);
    let built = Arc::new(AtomicU32::new(0));
    let counter = built.clone();
    let lane = root.worker_on("lane", &arbiter.handle(), move || {
        let incarnation = counter.fetch_add(1, Ordering::SeqCst) + 1;
        Ok(Lane {
            incarnation,
            pings: 0,
        })
    });
    let tree = root.start().await;
    let here = std::thread::current().id();

    let (thread, incarnation, pings) = lane.send(Where).await.unwrap();
    assert_ne!(thread, here, "the worker runs on its arbiter's thread");
    assert_eq!((incarnation, pings), (1, 1));
    assert_eq!(lane.send(Where).await.unwrap(), (thread, 1, 2), "its state");

    lane.do_send(Boom);
    // The same address answers once the restart ran: fresh state, same thread.
    let after = loop {
        match lane.send(Where).await {
            Ok(answer) if answer.1 == 2 => break answer,
            Ok(answer) => panic!("answered before its restart: {answer:?}"),
            // Sent while it was down and the mailbox was being swapped: ask again.
            Err(MailboxError::Closed | MailboxError::Timeout) => continue,
        }
    };
    assert_eq!(
        after,
        (thread, 2, 1),
        "restarted on its thread, fresh state"
    );
    assert_eq!(built.load(Ordering::SeqCst), 2);
    let info = tree.tree();
    assert_eq!(info.get("lane").unwrap().restarts_total, 1);
    assert_eq!(info.get("lane").unwrap().state, ActorState::Running);

    tree.shutdown().await;
    assert_eq!(tree.tree().get("lane").unwrap().state, ActorState::Stopped);
    arbiter.stop();
    arbiter.join().unwrap();
}
