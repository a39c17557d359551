//! Actor-level tests of supervision, on paused tokio time: what the probe sees (starts and
//! stops, in order), what the tree says, and the delays between failure and restart.

use super::ActorState;
use super::*;
use crate::settings::{RestartPolicy, RestartType, Settings};
use crate::testkit::Probe;
use actix::prelude::*;
use std::cell::Cell;
use std::rc::Rc;
use std::time::Duration;
use tokio::time::Instant;

const WAIT: Duration = Duration::from_secs(600);

/// Lifecycle events a test worker reports.
#[derive(Debug, Clone, PartialEq, Eq, Message)]
#[rtype(result = "()")]
enum Event {
    Started {
        name: &'static str,
        incarnation: u32,
    },
    Stopped {
        name: &'static str,
    },
}

struct Worker {
    name: &'static str,
    incarnation: u32,
    pings: u32,
    events: Recipient<Event>,
}
crate::supervised!(Worker);

impl Actor for Worker {
    type Context = Context<Self>;
    fn started(&mut self, _ctx: &mut Self::Context) {
        self.events.do_send(Event::Started {
            name: self.name,
            incarnation: self.incarnation,
        });
    }
    fn stopped(&mut self, _ctx: &mut Self::Context) {
        self.events.do_send(Event::Stopped { name: self.name });
    }
}

/// Answers how many pings this incarnation has seen (its state).
#[derive(Message)]
#[rtype(result = "u32")]
struct Ping;

#[derive(Message)]
#[rtype(result = "()")]
struct Crash;

#[derive(Message)]
#[rtype(result = "()")]
struct Panic;

#[derive(Message)]
#[rtype(result = "()")]
struct PanicLater;

#[derive(Message)]
#[rtype(result = "()")]
struct Finish;

impl Handler<Ping> for Worker {
    type Result = u32;
    fn handle(&mut self, _: Ping, _ctx: &mut Self::Context) -> u32 {
        self.pings += 1;
        self.pings
    }
}

impl Handler<Crash> for Worker {
    type Result = ();
    fn handle(&mut self, _: Crash, ctx: &mut Self::Context) {
        fail::<Self>(ctx, format!("{} crashed", self.name));
    }
}

impl Handler<Panic> for Worker {
    type Result = ();
    fn handle(&mut self, _: Panic, _ctx: &mut Self::Context) {
        let _handling = handling::<Panic>();
        panic!("boom in {}", self.name);
    }
}

impl Handler<PanicLater> for Worker {
    type Result = ResponseActFuture<Self, ()>;
    fn handle(&mut self, _: PanicLater, _ctx: &mut Self::Context) -> Self::Result {
        let fut = async {
            tokio::task::yield_now().await;
        }
        .into_actor(self)
        .map(|(), act: &mut Worker, _ctx| panic!("async boom in {}", act.name));
        Box::pin(HandlingFuture::<PanicLater, _>::new(fut))
    }
}

impl Handler<Finish> for Worker {
    type Result = ();
    fn handle(&mut self, _: Finish, ctx: &mut Self::Context) {
        ctx.stop();
    }
}

fn policy(restart: RestartType) -> RestartPolicy {
    RestartPolicy {
        restart,
        max_restarts: 10,
        within_secs: 60,
        backoff_initial_ms: 100,
        backoff_max_ms: 1000,
        backoff_multiplier: 2.0,
        jitter: 0.0,
        reset_after_secs: 30,
        stop_timeout_ms: 1000,
    }
}

fn settings() -> crate::settings::SupervisionSettings {
    Settings::load_from(None, &Default::default())
        .unwrap()
        .supervision
}

/// Adds a worker whose every start is a new incarnation.
fn add(
    spec: &mut SupervisorSpec,
    name: &'static str,
    policy: RestartPolicy,
    probe: &Probe<Event>,
) -> Addr<Worker> {
    let events = probe.recipient();
    let incarnations = Rc::new(Cell::new(0));
    spec.worker_with_policy(name, policy, move || {
        incarnations.set(incarnations.get() + 1);
        Ok(Worker {
            name,
            incarnation: incarnations.get(),
            pings: 0,
            events: events.clone(),
        })
    })
}

fn started(name: &'static str, incarnation: u32) -> Event {
    Event::Started { name, incarnation }
}

fn stopped(name: &'static str) -> Event {
    Event::Stopped { name }
}

/// Delays equal the nominal ones, allowing the timer's 1 ms granularity.
fn assert_close(actual: &[u128], nominal: &[u128]) {
    assert_eq!(actual.len(), nominal.len());
    for (a, n) in actual.iter().zip(nominal) {
        assert!(
            *a >= *n && *a <= *n + 1,
            "delays {actual:?}, expected {nominal:?}"
        );
    }
}

#[actix::test]
async fn permanent_child_restarts_after_each_failure_with_growing_capped_backoff_that_resets() {
    tokio::time::pause();
    let mut probe = Probe::<Event>::new();
    let mut root = SupervisorSpec::new("root", RestartStrategy::OneForOne, &settings());
    let worker = add(&mut root, "worker", policy(RestartType::Permanent), &probe);
    let tree = root.start().await;
    assert_eq!(probe.expect_msg(WAIT).await, started("worker", 1));

    let mut delays = Vec::new();
    for incarnation in 2..=6 {
        let crashed_at = Instant::now();
        worker.do_send(Crash);
        assert_eq!(probe.expect_msg(WAIT).await, stopped("worker"));
        assert_eq!(probe.expect_msg(WAIT).await, started("worker", incarnation));
        delays.push(crashed_at.elapsed().as_millis());
    }
    // tokio's timer rounds a deadline up to the next millisecond.
    assert_close(&delays, &[100, 200, 400, 800, 1000]);

    // Healthy for reset_after (30 s): the next delay is the initial one again.
    tokio::time::sleep(Duration::from_secs(31)).await;
    let crashed_at = Instant::now();
    worker.do_send(Crash);
    assert_eq!(probe.expect_msg(WAIT).await, stopped("worker"));
    assert_eq!(probe.expect_msg(WAIT).await, started("worker", 7));
    assert_close(&[crashed_at.elapsed().as_millis()], &[100]);

    let info = tree.tree().get("worker").cloned().unwrap();
    assert_eq!(info.state, ActorState::Running);
    assert_eq!(info.restarts_total, 6);
    // Within the last 60 s: the last five restarts (the first was 31 s + its delays ago... all
    // six happened within 60 s of now).
    assert_eq!(info.restarts_in_window, 6);
    assert_eq!(info.parent.as_deref(), Some("root"));
    assert_eq!(info.last_failure.unwrap().reason, "worker crashed");
    assert_eq!(tree.tree().restarts["worker"]["failure"], 6);
}

#[actix::test]
async fn jittered_delays_stay_within_their_band() {
    tokio::time::pause();
    let mut probe = Probe::<Event>::new();
    let mut root = SupervisorSpec::new("root", RestartStrategy::OneForOne, &settings());
    let mut jittery = policy(RestartType::Permanent);
    jittery.jitter = 0.5;
    jittery.max_restarts = 100;
    jittery.reset_after_secs = 1; // Every restart starts from the initial delay.
    let worker = add(&mut root, "jittery", jittery, &probe);
    let _tree = root.start().await;
    probe.expect_msg(WAIT).await;
    for _ in 0..20 {
        tokio::time::sleep(Duration::from_secs(2)).await;
        let crashed_at = Instant::now();
        worker.do_send(Crash);
        probe.expect_msgs(2, WAIT).await;
        let delay = crashed_at.elapsed().as_millis();
        assert!((50..=151).contains(&delay), "100 ms ± 50%: {delay}");
    }
}

#[actix::test]
async fn messages_sent_while_backing_off_are_handled_by_the_fresh_actor() {
    tokio::time::pause();
    let mut probe = Probe::<Event>::new();
    let mut root = SupervisorSpec::new("root", RestartStrategy::OneForOne, &settings());
    let worker = add(&mut root, "worker", policy(RestartType::Permanent), &probe);
    let _tree = root.start().await;
    probe.expect_msg(WAIT).await;
    assert_eq!(worker.send(Ping).await.unwrap(), 1);
    assert_eq!(worker.send(Ping).await.unwrap(), 2);
    worker.do_send(Crash);
    // Sent before the restart: waits in the mailbox, answered by incarnation 2.
    assert_eq!(worker.send(Ping).await.unwrap(), 1, "fresh state");
    assert_eq!(probe.drain(), vec![stopped("worker"), started("worker", 2)]);
}

#[actix::test]
async fn exceeding_the_budget_escalates_and_the_root_stops_everything_in_reverse_order() {
    tokio::time::pause();
    let alerts = crate::alerts::capture::Capture::start();
    let mut probe = Probe::<Event>::new();
    let settings = settings();
    let mut root = SupervisorSpec::new("root", RestartStrategy::OneForOne, &settings);
    add(&mut root, "first", policy(RestartType::Permanent), &probe);
    let mut middle = SupervisorSpec::new("middle", RestartStrategy::OneForOne, &settings);
    let mut flaky_policy = policy(RestartType::Permanent);
    flaky_policy.max_restarts = 2;
    let flaky = add(&mut middle, "flaky", flaky_policy, &probe);
    let mut middle_policy = policy(RestartType::Permanent);
    middle_policy.max_restarts = 0; // Its first failure makes the root give up.
    root.supervisor_with_policy(middle, middle_policy);
    add(&mut root, "last", policy(RestartType::Permanent), &probe);
    let mut tree = root.start().await;
    assert_eq!(
        probe.expect_msgs(3, WAIT).await,
        vec![started("first", 1), started("flaky", 1), started("last", 1)],
        "started in order"
    );

    for incarnation in 2..=3 {
        flaky.do_send(Crash);
        assert_eq!(
            probe.expect_msgs(2, WAIT).await,
            vec![stopped("flaky"), started("flaky", incarnation)]
        );
    }
    flaky.do_send(Crash); // The third failure within 60 s: over budget.
    let outcome = tree.wait().await;
    let RootOutcome::GaveUp(reason) = outcome else {
        panic!("root should give up, got {outcome:?}");
    };
    assert!(reason.contains("`middle`"), "{reason}");
    assert_eq!(
        probe.expect_msgs(3, WAIT).await,
        vec![stopped("flaky"), stopped("last"), stopped("first")],
        "reverse start order"
    );
    probe.expect_no_msg(Duration::from_secs(120)).await;

    let t = tree.tree();
    assert_eq!(t.get("root").unwrap().state, ActorState::Failed);
    assert_eq!(t.get("middle").unwrap().state, ActorState::Failed);
    assert!(
        t.get("middle")
            .unwrap()
            .last_failure
            .as_ref()
            .unwrap()
            .reason
            .contains("`flaky` exceeded its restart budget (2 restarts in 60 s)"),
        "{:?}",
        t.get("middle")
    );
    assert_eq!(t.get("flaky").unwrap().restarts_total, 2);
    assert_eq!(t.get("flaky").unwrap().state, ActorState::Failed);
    assert_eq!(t.get("first").unwrap().state, ActorState::Stopped);
    assert_eq!(EXIT_SUPERVISION_GAVE_UP, 3);

    // Each restart and each supervisor that gave up was raised as an alert.
    use crate::alerts::AlertKind;
    let restarted: Vec<String> = alerts
        .of(AlertKind::ActorRestarted)
        .into_iter()
        .map(|a| a.subject)
        .collect();
    assert_eq!(restarted, ["flaky", "flaky"]);
    assert_eq!(
        alerts.of(AlertKind::ActorRestarted)[0].message,
        "actor flaky restarting in 100ms (failure): flaky crashed"
    );
    let escalated: Vec<String> = alerts
        .of(AlertKind::SupervisorEscalated)
        .into_iter()
        .map(|a| a.subject)
        .collect();
    assert_eq!(escalated, ["middle", "root"]);
}

/// Three workers under one supervisor; pings each so each has state 1.
async fn three(
    strategy: RestartStrategy,
    probe: &mut Probe<Event>,
) -> (RootHandle, [Addr<Worker>; 3]) {
    let mut root = SupervisorSpec::new("root", strategy, &settings());
    let a = add(&mut root, "a", policy(RestartType::Permanent), probe);
    let b = add(&mut root, "b", policy(RestartType::Permanent), probe);
    let c = add(&mut root, "c", policy(RestartType::Permanent), probe);
    let tree = root.start().await;
    probe.expect_msgs(3, WAIT).await;
    for w in [&a, &b, &c] {
        assert_eq!(w.send(Ping).await.unwrap(), 1);
    }
    (tree, [a, b, c])
}

#[actix::test]
async fn rest_for_one_restarts_the_failed_child_and_those_after_it_in_order() {
    tokio::time::pause();
    let mut probe = Probe::<Event>::new();
    let (tree, [a, b, c]) = three(RestartStrategy::RestForOne, &mut probe).await;
    b.do_send(Crash);
    assert_eq!(
        probe.expect_msgs(4, WAIT).await,
        vec![stopped("b"), stopped("c"), started("b", 2), started("c", 2)]
    );
    assert_eq!(
        a.send(Ping).await.unwrap(),
        2,
        "a kept running with its state"
    );
    assert_eq!(b.send(Ping).await.unwrap(), 1);
    assert_eq!(c.send(Ping).await.unwrap(), 1);
    probe.expect_no_msg(Duration::from_secs(10)).await;
    let t = tree.tree();
    assert_eq!(t.restarts["b"]["failure"], 1);
    assert_eq!(t.restarts["c"]["sibling"], 1);
    assert!(!t.restarts.contains_key("a"));
    assert_eq!(t.get("b").unwrap().restarts_in_window, 1);
    assert_eq!(
        t.get("c").unwrap().restarts_in_window,
        0,
        "siblings do not spend budget"
    );
}

#[actix::test]
async fn one_for_all_restarts_every_child_stopping_in_reverse_and_starting_in_order() {
    tokio::time::pause();
    let mut probe = Probe::<Event>::new();
    let (_tree, [a, b, c]) = three(RestartStrategy::OneForAll, &mut probe).await;
    b.do_send(Crash);
    assert_eq!(
        probe.expect_msgs(6, WAIT).await,
        vec![
            stopped("b"),
            stopped("c"),
            stopped("a"),
            started("a", 2),
            started("b", 2),
            started("c", 2)
        ]
    );
    for w in [&a, &b, &c] {
        assert_eq!(w.send(Ping).await.unwrap(), 1, "fresh state everywhere");
    }
}

#[actix::test]
async fn one_for_one_restarts_only_the_failed_child() {
    tokio::time::pause();
    let mut probe = Probe::<Event>::new();
    let (_tree, [a, b, c]) = three(RestartStrategy::OneForOne, &mut probe).await;
    b.do_send(Crash);
    assert_eq!(
        probe.expect_msgs(2, WAIT).await,
        vec![stopped("b"), started("b", 2)]
    );
    probe.expect_no_msg(Duration::from_secs(10)).await;
    assert_eq!(a.send(Ping).await.unwrap(), 2);
    assert_eq!(b.send(Ping).await.unwrap(), 1);
    assert_eq!(c.send(Ping).await.unwrap(), 2);
}

#[actix::test]
async fn a_panicking_handler_restarts_the_actor_and_its_address_keeps_working() {
    tokio::time::pause();
    let mut probe = Probe::<Event>::new();
    let mut root = SupervisorSpec::new("root", RestartStrategy::OneForOne, &settings());
    let worker = add(&mut root, "panicky", policy(RestartType::Permanent), &probe);
    let tree = root.start().await;
    probe.expect_msg(WAIT).await;
    assert_eq!(worker.send(Ping).await.unwrap(), 1);

    let answer = worker.send(Panic).await;
    assert!(answer.is_err(), "the panicking request gets no answer");
    assert_eq!(
        worker.send(Ping).await.unwrap(),
        1,
        "same address, fresh state"
    );
    assert_eq!(probe.drain(), vec![started("panicky", 2)]);
    let t = tree.tree();
    let failure = t.get("panicky").unwrap().last_failure.clone().unwrap();
    assert_eq!(
        failure.reason,
        "panic while handling Panic: boom in panicky"
    );
    assert_eq!(t.restarts["panicky"]["panic"], 1);

    // A panic inside a future the actor runs in its own context is caught the same way.
    let _ = worker.send(PanicLater).await;
    assert_eq!(worker.send(Ping).await.unwrap(), 1);
    let failure = tree
        .tree()
        .get("panicky")
        .unwrap()
        .last_failure
        .clone()
        .unwrap();
    assert_eq!(
        failure.reason,
        "panic while handling PanicLater: async boom in panicky"
    );
    assert_eq!(tree.tree().get("panicky").unwrap().restarts_total, 2);
}

#[actix::test]
async fn temporary_is_never_restarted_and_transient_only_after_a_failure() {
    tokio::time::pause();
    let mut probe = Probe::<Event>::new();
    let mut root = SupervisorSpec::new("root", RestartStrategy::OneForOne, &settings());
    let temp = add(
        &mut root,
        "temporary",
        policy(RestartType::Temporary),
        &probe,
    );
    let normal = add(
        &mut root,
        "transient_ok",
        policy(RestartType::Transient),
        &probe,
    );
    let failing = add(
        &mut root,
        "transient_bad",
        policy(RestartType::Transient),
        &probe,
    );
    let tree = root.start().await;
    probe.expect_msgs(3, WAIT).await;

    temp.do_send(Crash);
    normal.do_send(Finish);
    failing.do_send(Crash);
    let mut events = probe.expect_msgs(4, WAIT).await;
    events.sort_by_key(|e| format!("{e:?}"));
    assert_eq!(
        events,
        vec![
            started("transient_bad", 2),
            stopped("temporary"),
            stopped("transient_bad"),
            stopped("transient_ok"),
        ]
    );
    probe.expect_no_msg(Duration::from_secs(120)).await;
    let t = tree.tree();
    assert_eq!(t.get("temporary").unwrap().state, ActorState::Failed);
    assert_eq!(t.get("temporary").unwrap().restarts_total, 0);
    assert_eq!(t.get("transient_ok").unwrap().state, ActorState::Stopped);
    assert_eq!(t.get("transient_ok").unwrap().restarts_total, 0);
    assert_eq!(t.get("transient_bad").unwrap().state, ActorState::Running);
    assert_eq!(t.get("transient_bad").unwrap().restarts_total, 1);
}

#[actix::test]
async fn shutdown_stops_children_in_reverse_order_and_introspection_answers() {
    tokio::time::pause();
    let mut probe = Probe::<Event>::new();
    let (tree, _workers) = three(RestartStrategy::OneForOne, &mut probe).await;
    let introspection = Introspection::new(tree.board()).start();
    let before = introspection.send(GetTree).await.unwrap();
    let names: Vec<(&str, Option<&str>, ActorState)> = before
        .actors
        .iter()
        .map(|a| (a.name.as_str(), a.parent.as_deref(), a.state))
        .collect();
    assert_eq!(
        names,
        vec![
            ("root", None, ActorState::Running),
            ("a", Some("root"), ActorState::Running),
            ("b", Some("root"), ActorState::Running),
            ("c", Some("root"), ActorState::Running),
        ]
    );
    assert_eq!(tree.shutdown().await, RootOutcome::Shutdown);
    assert_eq!(
        probe.expect_msgs(3, WAIT).await,
        vec![stopped("c"), stopped("b"), stopped("a")]
    );
    let after = introspection.send(GetTree).await.unwrap();
    assert!(
        after.actors.iter().all(|a| a.state == ActorState::Stopped),
        "{after:?}"
    );
}
