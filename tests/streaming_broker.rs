//! The consume → handle → commit path and DLQ replay against a real Kafka-protocol broker
//! process (tansu, started by scripts/test-services.sh).

mod common;

use actix::prelude::*;
use alpha_panda::messages::{DlqRecord, MarketTick, decode};
use alpha_panda::streaming::consumer::{
    ConsumerActor, ConsumerArgs, Deliver, Progress, Routes, Shutdown,
};
use alpha_panda::streaming::dlq::{ReplayOptions, replay};
use alpha_panda::streaming::retry::Backoff;
use alpha_panda::streaming::{KafkaConnection, ProducerActor, ProducerHandle};
use alpha_panda::testkit::Probe;
use common::{create_topics, read_all, real_broker, settings, tick_bytes, unique_topic};
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

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
) -> Addr<ConsumerActor> {
    ConsumerActor::new(ConsumerArgs {
        connection: connection.clone(),
        service: service.into(),
        routes: Routes::new().route_name(topic, probe.recipient()),
        producer,
        backoff: Backoff::new(&settings().retry),
    })
    .expect("consumer")
    .start()
}

#[actix::test]
async fn restarted_consumer_resumes_after_the_last_stored_offset_with_nothing_skipped() {
    let Some(conn) = real_broker() else { return };
    const TOTAL: usize = 300;
    let topic = unique_topic("resume");
    create_topics(&conn, &[&topic], 3).await;
    let records: Vec<(String, Vec<u8>)> = (0..TOTAL as u32)
        .map(|i| ((i % 7).to_string(), tick_bytes(i % 7 + 1, i64::from(i) + 1)))
        .collect();
    common::produce_raw(&conn.bootstrap_servers, &topic, &records);
    let producer = producer(&conn).await;
    // A unique service name gives a unique consumer group.
    let service = format!("resume-{}", uuid::Uuid::new_v4().simple());

    let mut first = Probe::<Deliver<MarketTick>>::handling();
    let a = consumer(&conn, &service, &topic, &first, producer.clone());
    let mut seen_a = first.expect_msgs(TOTAL / 3, WAIT).await;
    let stopped: Progress = a.send(Shutdown).await.expect("shutdown");
    seen_a.extend(first.drain());
    assert_eq!(seen_a.len() as u64, stopped.stats.handled);
    assert_eq!(
        stopped.stats.handled, stopped.stats.completed,
        "stop drained the window"
    );
    let committed = common::committed(
        &conn.bootstrap_servers,
        &settings().kafka.consumer_group(&service),
        &topic,
        3,
    );
    for ((t, p), last) in &stopped.stored {
        assert_eq!(t, &topic);
        assert_eq!(
            committed.get(p),
            Some(&(last + 1)),
            "stop committed partition {p}"
        );
    }
    let resume_at = |p: i32| {
        stopped
            .stored
            .get(&(topic.clone(), p))
            .map_or(0, |last| last + 1)
    };

    let mut second = Probe::<Deliver<MarketTick>>::handling();
    let b = consumer(&conn, &service, &topic, &second, producer);
    let seen_b = second.expect_msgs(TOTAL - seen_a.len(), WAIT).await;
    let _ = b.send(Shutdown).await;

    let mut handled: BTreeSet<(i32, i64)> = BTreeSet::new();
    for d in &seen_a {
        assert!(handled.insert((d.origin.partition, d.origin.offset)));
    }
    let mut first_of_b: BTreeMap<i32, i64> = BTreeMap::new();
    for d in &seen_b {
        let (p, o) = (d.origin.partition, d.origin.offset);
        first_of_b.entry(p).or_insert(o);
        assert!(
            handled.insert((p, o)),
            "offset {o} of partition {p} handled twice"
        );
    }
    for (p, first_offset) in first_of_b {
        assert_eq!(
            first_offset,
            resume_at(p),
            "partition {p} resumed at the stored offset"
        );
    }
    assert_eq!(
        handled.len(),
        TOTAL,
        "A then B handled every record exactly once"
    );
    second.expect_no_msg(Duration::from_millis(300)).await;
}

#[actix::test]
async fn poison_record_lands_in_the_dlq_and_replay_puts_it_back_on_its_topic() {
    let Some(conn) = real_broker() else { return };
    let topic = unique_topic("replay");
    create_topics(&conn, &[&topic], 1).await;
    let poison = b"\x00\x01 definitely not json".to_vec();
    common::produce_raw(
        &conn.bootstrap_servers,
        &topic,
        &[
            ("5".into(), tick_bytes(5, 1)),
            ("5".into(), poison.clone()),
            ("5".into(), tick_bytes(5, 2)),
        ],
    );
    let producer = producer(&conn).await;
    let mut probe = Probe::<Deliver<MarketTick>>::handling();
    let service = format!("replay-{}", uuid::Uuid::new_v4().simple());
    let c = consumer(&conn, &service, &topic, &probe, producer.clone());
    probe.expect_msgs(2, WAIT).await;
    let progress = c.send(Shutdown).await.expect("shutdown");
    assert_eq!(progress.stats.dead_lettered, 1);

    let dlq_topic = format!("{topic}.dlq");
    let dlq = read_all(&conn.bootstrap_servers, &dlq_topic, 1, WAIT).await;
    assert_eq!(dlq.len(), 1);
    let record = decode::<DlqRecord>(&dlq[0].3).expect("DLQ record").data;
    assert_eq!(
        (record.topic.as_str(), record.partition, record.offset),
        (topic.as_str(), 0, 1)
    );
    assert!(
        record.error.contains("malformed envelope"),
        "{}",
        record.error
    );

    let options = ReplayOptions {
        dlq_topic: dlq_topic.clone(),
        dry_run: true,
        limit: None,
        timeout: Duration::from_secs(10),
    };
    let dry = replay(&conn, &producer, &options).await.expect("dry run");
    assert_eq!(dry.replayed.get(&topic), Some(&1));
    let report = replay(
        &conn,
        &producer,
        &ReplayOptions {
            dry_run: false,
            ..options.clone()
        },
    )
    .await
    .expect("replay");
    assert_eq!((report.read, report.replayed.get(&topic)), (1, Some(&1)));
    assert!(report.unreadable.is_empty());

    let back = read_all(&conn.bootstrap_servers, &topic, 4, WAIT).await;
    assert_eq!(
        back.len(),
        4,
        "the dry run published nothing, the replay one record"
    );
    let (_, offset, key, value) = &back[3];
    assert_eq!(
        (*offset, key.as_deref(), value),
        (3, Some(&b"5"[..]), &poison)
    );

    let again = replay(
        &conn,
        &producer,
        &ReplayOptions {
            dry_run: false,
            ..options
        },
    )
    .await
    .expect("second replay");
    assert_eq!(
        again.read, 0,
        "committed progress: a record is replayed once"
    );
}
