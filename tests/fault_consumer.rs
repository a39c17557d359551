//! Faults a consumer must survive, against a real Kafka-protocol broker (tansu, started by
//! scripts/test-services.sh; the freeze test starts a broker of its own):
//! - an oversized record on an input topic: dead-lettered whole (chunked), replayed byte
//!   for byte, counted once, and nothing else stops — not its partition, not the others,
//!   not a restart;
//! - the broker frozen for 20 s: the consumer gets partitions back and handles what is
//!   produced afterwards.

mod common;
#[path = "common/faults.rs"]
#[allow(dead_code)] // Shared with the e2e fault suite, which uses the rest.
mod faults;

use actix::prelude::*;
use alpha_panda::messages::{DlqRecord, MarketTick, decode};
use alpha_panda::streaming::consumer::{
    ConsumerActor, ConsumerArgs, ConsumerHealth, Deliver, GetHealth, Routes, Shutdown,
};
use alpha_panda::streaming::dlq::{ReplayOptions, replay, replay_connection};
use alpha_panda::streaming::retry::Backoff;
use alpha_panda::streaming::{KafkaConnection, ProducerActor, ProducerHandle};
use alpha_panda::telemetry::metrics;
use alpha_panda::testkit::Probe;
use common::{create_topics, read_all, real_broker, settings, tick_bytes, unique_topic};
use faults::PrivateBroker;
use rdkafka::ClientConfig;
use rdkafka::producer::{BaseRecord, DefaultProducerContext, Producer, ThreadedProducer};
use std::collections::BTreeSet;
use std::time::{Duration, Instant};

const WAIT: Duration = Duration::from_secs(60);

async fn producer(connection: &KafkaConnection) -> ProducerHandle {
    ProducerActor::connect(connection, Duration::from_secs(10))
        .await
        .expect("producer")
        .start_with_handle()
        .1
}

fn consumer(
    connection: &KafkaConnection,
    service: &str,
    topic: &str,
    probe: &Probe<Deliver<MarketTick>>,
    producer: ProducerHandle,
) -> ConsumerActor {
    ConsumerActor::new(ConsumerArgs {
        connection: connection.clone(),
        service: service.into(),
        routes: Routes::new().route_name(topic, probe.recipient()),
        producer,
        backoff: Backoff::new(&settings().retry),
    })
    .expect("consumer")
}

/// Writes records to chosen partitions with a plain producer whose record limit is raised
/// (10 MB), as a misbehaving upstream could.
fn produce_to(bootstrap: &str, topic: &str, records: &[(i32, &str, Vec<u8>)]) {
    let producer: ThreadedProducer<DefaultProducerContext> = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("enable.idempotence", "true")
        .set("batch.num.messages", "1")
        .set("linger.ms", "0")
        .set("message.max.bytes", "10000000")
        .create()
        .expect("producer");
    for (partition, key, value) in records {
        producer
            .send(
                BaseRecord::to(topic)
                    .partition(*partition)
                    .key(*key)
                    .payload(value),
            )
            .map_err(|(e, _)| e)
            .expect("enqueue");
    }
    producer.flush(Duration::from_secs(30)).expect("flush");
}

fn junk(len: usize, seed: u32) -> Vec<u8> {
    // Not UTF-8 and not JSON: only a byte-for-byte copy gives it back.
    (0..len as u32)
        .map(|i| (i.wrapping_mul(31).wrapping_add(seed) % 256) as u8)
        .collect()
}

fn dlq_metric(topic: &str) -> Option<String> {
    let line = format!("alpha_panda_dlq_records_total{{topic=\"{topic}\"}} ");
    metrics::render()
        .lines()
        .find_map(|l| l.strip_prefix(&line).map(str::to_owned))
}

#[actix::test]
async fn an_oversized_record_is_dead_lettered_whole_and_stops_nothing() {
    let Some(conn) = real_broker() else { return };
    let topic = unique_topic("oversized");
    create_topics(&conn, &[&topic], 2).await;
    let big = junk(800_000, 7);
    let huge = junk(5_000_000, 11);
    produce_to(
        &conn.bootstrap_servers,
        &topic,
        &[
            (0, "1", tick_bytes(1, 100)),
            (0, "1", big.clone()),
            (0, "1", tick_bytes(1, 101)),
            (0, "1", huge.clone()),
            (0, "1", tick_bytes(1, 102)),
            (1, "2", tick_bytes(2, 200)),
        ],
    );
    let handle = producer(&conn).await;
    let service = format!("oversized-{}", uuid::Uuid::new_v4().simple());
    let mut probe = Probe::<Deliver<MarketTick>>::handling();
    let c = consumer(&conn, &service, &topic, &probe, handle.clone()).start();

    // Every tick, before and after the oversized records on their partition and on the
    // other partition, in offset order per partition.
    let seen = probe.expect_msgs(4, WAIT).await;
    let p0: Vec<i64> = seen
        .iter()
        .filter(|d| d.origin.partition == 0)
        .map(|d| d.origin.offset)
        .collect();
    assert_eq!(p0, vec![0, 2, 4], "partition 0 in order, oversized skipped");
    assert!(seen.iter().any(|d| d.origin.partition == 1));

    // Both are in the DLQ, whole: the DLQ holds several chunk records for each.
    let dlq_topic = format!("{topic}.dlq");
    let deadline = Instant::now() + WAIT;
    let progress = loop {
        let p = c
            .send(alpha_panda::streaming::consumer::GetProgress)
            .await
            .expect("progress")
            .expect("loop runs");
        if p.stats.dead_lettered >= 2 || Instant::now() > deadline {
            break p;
        }
        // Polling a condition with a deadline.
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(
        progress.stats.dead_lettered, 2,
        "counted once each, when written"
    );
    assert_eq!(dlq_metric(&topic).as_deref(), Some("2"));
    assert_eq!(
        progress.stored.get(&(topic.clone(), 0)),
        Some(&4),
        "partition 0 committed past both"
    );
    let stopped = c.send(Shutdown).await.expect("shutdown");
    assert_eq!(stopped.stats.dead_lettered, 2);
    assert_eq!(
        dlq_metric(&topic).as_deref(),
        Some("2"),
        "no attempt counted"
    );

    let dlq = read_all(
        &conn.bootstrap_servers,
        &dlq_topic,
        usize::MAX,
        Duration::from_secs(5),
    )
    .await;
    let chunks: Vec<DlqRecord> = dlq
        .iter()
        .map(|r| decode::<DlqRecord>(&r.3).expect("DLQ record").data)
        .collect();
    assert!(chunks.len() > 2, "chunked: {} DLQ records", chunks.len());
    assert!(chunks.iter().all(|c| c.chunk.is_some() && c.topic == topic));
    assert!(
        dlq.iter().all(|r| r.3.len() <= 1_000_000),
        "each within the limit"
    );

    // Replay: a dry run lists two records with their sizes; the replay restores both
    // (through a producer whose record limit is lifted, as `dlq replay` does).
    let handle = producer(&replay_connection(&conn)).await;
    let options = ReplayOptions {
        dlq_topic: dlq_topic.clone(),
        dry_run: true,
        limit: None,
        timeout: Duration::from_secs(10),
    };
    let dry = replay(&conn, &handle, &options).await.expect("dry run");
    assert_eq!(dry.replayed.get(&topic), Some(&2));
    assert!(dry.unreadable.is_empty(), "{:?}", dry.unreadable);
    let sizes: BTreeSet<(i64, u64)> = dry
        .entries
        .iter()
        .map(|e| (e.original_offset, e.size))
        .collect();
    assert_eq!(
        sizes,
        BTreeSet::from([(1, 800_001), (3, 5_000_001)]),
        "offset and size (key + value) of each"
    );
    let report = replay(
        &conn,
        &handle,
        &ReplayOptions {
            dry_run: false,
            ..options
        },
    )
    .await
    .expect("replay");
    assert_eq!(report.replayed.get(&topic), Some(&2));
    let back = read_all(&conn.bootstrap_servers, &topic, 8, WAIT).await;
    assert_eq!(back.len(), 8, "six records, then the two replayed");
    let copies = |v: &Vec<u8>| back.iter().filter(|r| &r.3 == v).count();
    assert_eq!(copies(&big), 2, "800 KB record restored byte for byte");
    assert_eq!(copies(&huge), 2, "5 MB record restored byte for byte");

    // A restart resumes after the committed offsets: nothing stalls at the oversized
    // records (the replayed copies are dead-lettered again, being the same bytes).
    produce_to(
        &conn.bootstrap_servers,
        &topic,
        &[(0, "1", tick_bytes(1, 103))],
    );
    let mut again = Probe::<Deliver<MarketTick>>::handling();
    let c2 = consumer(&conn, &service, &topic, &again, handle.clone()).start();
    let d = again.expect_msg(WAIT).await;
    assert_eq!(d.origin.partition, 0);
    assert_eq!(
        d.envelope.data,
        common::tick(1, 103),
        "only the new tick is handled"
    );
    again.expect_no_msg(Duration::from_millis(500)).await;
    let _ = c2.send(Shutdown).await;
}

#[actix::test]
async fn a_consumer_gets_its_partitions_back_after_the_broker_froze() {
    if real_broker().is_none() {
        return;
    }
    let Some(mut broker) = PrivateBroker::start() else {
        panic!("tansu is needed for the fault suite");
    };
    let conn = KafkaConnection::new(&settings().kafka, broker.bootstrap());
    let topic = unique_topic("freeze");
    create_topics(&conn, &[&topic], 2).await;
    let handle = producer(&conn).await;
    let service = format!("freeze-{}", uuid::Uuid::new_v4().simple());
    let mut probe = Probe::<Deliver<MarketTick>>::handling();
    let actor = consumer(&conn, &service, &topic, &probe, handle.clone());
    let health = actor.health();
    let c = actor.start();
    produce_to(
        &conn.bootstrap_servers,
        &topic,
        &[(0, "1", tick_bytes(1, 1)), (1, "2", tick_bytes(2, 1))],
    );
    probe.expect_msgs(2, WAIT).await;
    let before = c.send(GetHealth).await.expect("health");
    assert_eq!(
        (before.assigned_partitions, before.unassigned_for),
        (2, None)
    );

    broker.freeze();
    // The fault lasts 20 s; this sleep is the fault, not synchronisation.
    std::thread::sleep(Duration::from_secs(20));
    broker.thaw();
    produce_to(
        &conn.bootstrap_servers,
        &topic,
        &[(0, "1", tick_bytes(1, 2)), (1, "2", tick_bytes(2, 2))],
    );
    let after = probe.expect_msgs(2, Duration::from_secs(120)).await;
    let offsets: BTreeSet<(i32, i64)> = after
        .iter()
        .map(|d| (d.origin.partition, d.origin.offset))
        .collect();
    assert!(
        offsets.contains(&(0, 1)) && offsets.contains(&(1, 1)),
        "{offsets:?}"
    );
    let now = health.snapshot();
    assert_eq!((now.assigned_partitions, now.unassigned_for), (2, None));
    assert!(
        ConsumerHealth::all().iter().any(|h| h.service == service),
        "registered for readiness"
    );
    let _ = c.send(Shutdown).await;
}

/// A handler that publishes one output per tick (as the services do), so outputs are in
/// flight when the broker freezes.
fn publishing_probe(handle: &ProducerHandle, out_topic: &str) -> Probe<Deliver<MarketTick>> {
    let (handle, out_topic) = (handle.clone(), out_topic.to_owned());
    Probe::with_reply(move |d: &Deliver<MarketTick>| {
        let record = alpha_panda::streaming::producer::OutboundRecord {
            topic: out_topic.clone(),
            key: Some(b"k".to_vec()),
            value: d.origin.offset.to_string().into_bytes(),
            headers: vec![],
        };
        Ok(alpha_panda::streaming::consumer::Completion::after(vec![
            handle.publish(record),
        ]))
    })
}

/// Three consumers (one group each) with outputs in flight, a continuous feed, and the
/// broker frozen for 20 s. Passes in most runs (every consumer handles new ticks within
/// seconds of the thaw); in about one run in three tansu 0.6's group coordinator never
/// completes a rebalance again (librdkafka's cgrp log: every SyncGroup answered "Group
/// rebalance in progress", then "Unknown member"), even for fresh members after restarts,
/// so it is ignored until the broker is fixed; run it with `--include-ignored`.
#[actix::test]
#[ignore = "tansu 0.6 can leave the group rebalancing for good after a freeze (see the doc)"]
async fn consumers_with_outputs_in_flight_recover_from_a_frozen_broker() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
    if real_broker().is_none() {
        return;
    }
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .try_init();
    let Some(mut broker) = PrivateBroker::start() else {
        panic!("tansu is needed for the fault suite");
    };
    let conn = KafkaConnection::new(&settings().kafka, broker.bootstrap());
    let (topic, out) = (unique_topic("freeze-in"), unique_topic("freeze-out"));
    create_topics(&conn, &[&topic, &out], 2).await;
    let handle = producer(&conn).await;
    let services: Vec<String> = (0..3)
        .map(|i| format!("freeze{i}-{}", uuid::Uuid::new_v4().simple()))
        .collect();
    let mut probes: Vec<Probe<Deliver<MarketTick>>> = services
        .iter()
        .map(|_| publishing_probe(&handle, &out))
        .collect();
    // A short bound so the restart (the supervisor's job in the daemon, done here by the
    // test when an actor stops) happens within the test.
    let start = |service: &String, probe: &Probe<Deliver<MarketTick>>| {
        consumer(&conn, service, &topic, probe, handle.clone())
            .with_unassigned_exit(Duration::from_secs(15))
            .start()
    };
    let mut actors: Vec<Addr<ConsumerActor>> = services
        .iter()
        .zip(&probes)
        .map(|(s, p)| start(s, p))
        .collect();
    let bootstrap = conn.bootstrap_servers.clone();
    let feed_topic = topic.clone();
    let stop_feed = Arc::new(AtomicBool::new(false));
    let fed = Arc::new(AtomicI64::new(0));
    let (stop, counter) = (stop_feed.clone(), fed.clone());
    let feed = std::thread::spawn(move || {
        while !stop.load(Ordering::Relaxed) {
            let i = counter.load(Ordering::Relaxed);
            let tick = tick_bytes(1, 10 + i);
            produce_to(&bootstrap, &feed_topic, &[((i % 2) as i32, "1", tick)]);
            counter.fetch_add(1, Ordering::Relaxed);
            // Paces the feed (one tick every 200 ms), not a synchronisation.
            std::thread::sleep(Duration::from_millis(200));
        }
    });
    for p in &mut probes {
        p.expect_msgs(2, WAIT).await;
    }

    broker.freeze();
    // The fault lasts 20 s; this sleep is the fault, not synchronisation.
    std::thread::sleep(Duration::from_secs(20));
    broker.thaw();
    let thawed = Instant::now();
    // Ticks fed from now on were produced after the thaw.
    let first_after = common::tick(1, 10 + fed.load(Ordering::Relaxed)).last_price;
    // Every consumer handles ticks produced after the thaw (three each), restarting any
    // that stopped as the supervisor would.
    let mut handled_after = vec![0usize; services.len()];
    let deadline = Instant::now() + Duration::from_secs(150);
    while handled_after.iter().any(|n| *n < 3) && Instant::now() < deadline {
        for (i, actor) in actors.iter_mut().enumerate() {
            if !actor.connected() {
                eprintln!("restarting consumer {i} after {:?}", thawed.elapsed());
                *actor = start(&services[i], &probes[i]);
            }
            handled_after[i] += probes[i]
                .drain()
                .iter()
                .filter(|d| d.envelope.data.last_price >= first_after)
                .count();
        }
        // Polling a condition with a deadline.
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    eprintln!(
        "handled after the thaw {handled_after:?} within {:?}",
        thawed.elapsed()
    );
    stop_feed.store(true, Ordering::Relaxed);
    let _ = feed.join();
    for (i, a) in actors.iter().enumerate() {
        let health = a.send(GetHealth).await.expect("consumer runs");
        assert_eq!(health.assigned_partitions, 2, "consumer {i}: {health:?}");
    }
    assert!(
        handled_after.iter().all(|n| *n >= 3),
        "every consumer handles ticks after the thaw: {handled_after:?}"
    );
    for a in actors {
        let _ = a.send(Shutdown).await;
    }
}
