//! Producer and consumer actors against librdkafka's in-process mock cluster, including
//! fault injection (request errors, a broker going down and coming back).

mod common;

use actix::prelude::*;
use alpha_panda::messages::{DlqErrorKind, DlqRecord, MarketTick, decode};
use alpha_panda::streaming::consumer::{
    Completion, ConsumerActor, ConsumerArgs, Deliver, GetProgress, HandlerError, HandlerResult,
    Progress, Routes, Shutdown,
};
use alpha_panda::streaming::producer::{OutboundRecord, PublishError};
use alpha_panda::streaming::retry::Backoff;
use alpha_panda::streaming::{KafkaConnection, ProducerActor, ProducerHandle};
use alpha_panda::testkit::Probe;
use common::{read_all, settings, tick_bytes, unique_topic};
use futures::FutureExt;
use rdkafka::mocking::MockCluster;
use rdkafka::producer::DefaultProducerContext;
use rdkafka::types::{RDKafkaApiKey, RDKafkaRespErr};
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(30);

struct Cluster {
    mock: MockCluster<'static, DefaultProducerContext>,
    connection: KafkaConnection,
}

fn cluster(topics: &[(&str, i32)]) -> Cluster {
    let mock = MockCluster::new(1).expect("mock cluster");
    for (name, partitions) in topics {
        mock.create_topic(name, *partitions, 1).expect("topic");
        mock.create_topic(&format!("{name}.dlq"), *partitions, 1)
            .expect("dlq topic");
    }
    let connection = KafkaConnection::new(&settings().kafka, mock.bootstrap_servers());
    Cluster { mock, connection }
}

async fn producer(connection: &KafkaConnection) -> ProducerHandle {
    let (_addr, handle) = ProducerActor::connect(connection, Duration::from_secs(10))
        .await
        .expect("producer")
        .start_with_handle();
    handle
}

fn start_consumer(
    connection: &KafkaConnection,
    service: &str,
    routes: Routes,
    producer: ProducerHandle,
) -> Addr<ConsumerActor> {
    ConsumerActor::new(ConsumerArgs {
        connection: connection.clone(),
        service: service.into(),
        routes,
        producer,
        backoff: Backoff::new(&settings().retry),
    })
    .expect("consumer")
    .start()
}

async fn dlq_records(bootstrap: &str, topic: &str, n: usize) -> Vec<DlqRecord> {
    read_all(bootstrap, &format!("{topic}.dlq"), n, WAIT)
        .await
        .into_iter()
        .map(|(_, _, _, v)| decode::<DlqRecord>(&v).expect("dlq record decodes").data)
        .collect()
}

#[actix::test]
async fn routes_records_to_their_owner_and_publishes_outputs_then_commits() {
    let (input, output) = (unique_topic("in"), unique_topic("out"));
    let c = cluster(&[(&input, 3), (&output, 3)]);
    let producer = producer(&c.connection).await;
    let out = output.clone();
    let publisher = producer.clone();
    let mut service = Probe::<Deliver<MarketTick>>::with_reply(move |d| -> HandlerResult {
        let echo = OutboundRecord {
            topic: out.clone(),
            key: Some(d.envelope.key.clone().into_bytes()),
            value: tick_bytes(d.envelope.data.token, 1),
            headers: vec![],
        };
        Ok(Completion::after(vec![publisher.publish(echo)]))
    });
    let records: Vec<(String, Vec<u8>)> = (0..30u32)
        // Prices from 0.01: a tick at 0 would be refused at the door (MarketTick::check).
        .map(|i| {
            (
                (i % 5 + 1).to_string(),
                tick_bytes(i % 5 + 1, i64::from(i) + 1),
            )
        })
        .collect();
    common::produce_raw(&c.mock.bootstrap_servers(), &input, &records);

    let consumer = start_consumer(
        &c.connection,
        "echo",
        Routes::new().route_name(&input, service.recipient()),
        producer,
    );
    let got = service.expect_msgs(30, WAIT).await;
    // Per key (token), records arrive in the order they were produced.
    let mut by_token: HashMap<u32, Vec<String>> = HashMap::new();
    for d in &got {
        by_token
            .entry(d.envelope.data.token)
            .or_default()
            .push(d.envelope.data.last_price.to_string());
    }
    for (token, prices) in by_token {
        let expected: Vec<String> = (0..30u32)
            .filter(|i| i % 5 + 1 == token)
            .map(|i| rust_decimal::Decimal::new(i64::from(i) + 1, 2).to_string())
            .collect();
        assert_eq!(prices, expected, "order of token {token}");
    }
    let progress: Progress = consumer.send(Shutdown).await.expect("shutdown");
    assert_eq!(progress.stats.handled, 30);
    assert_eq!(progress.stats.completed, 30);
    assert_eq!(progress.stats.dead_lettered, 0);
    assert_eq!(
        read_all(&c.mock.bootstrap_servers(), &output, 30, WAIT)
            .await
            .len(),
        30
    );
    // Everything completed was stored, and the shutdown committed it.
    let committed = common::committed(
        &c.mock.bootstrap_servers(),
        &settings().kafka.consumer_group("echo"),
        &input,
        3,
    );
    let total: i64 = committed.values().sum();
    assert_eq!(
        total, 30,
        "committed offsets cover every record: {committed:?}"
    );
    service.expect_no_msg(Duration::from_millis(200)).await;
}

#[actix::test]
async fn poison_record_goes_to_the_dlq_with_reason_and_origin_and_the_rest_is_handled() {
    let input = unique_topic("poison");
    let c = cluster(&[(&input, 1)]);
    let producer = producer(&c.connection).await;
    let mut service = Probe::<Deliver<MarketTick>>::handling();
    let poison = b"{\"not\": \"an envelope\"".to_vec();
    common::produce_raw(
        &c.mock.bootstrap_servers(),
        &input,
        &[
            ("1".into(), tick_bytes(1, 100)),
            ("1".into(), poison.clone()),
            ("1".into(), tick_bytes(1, 101)),
        ],
    );
    let consumer = start_consumer(
        &c.connection,
        "poison",
        Routes::new().route_name(&input, service.recipient()),
        producer,
    );
    let got = service.expect_msgs(2, WAIT).await;
    assert_eq!(got[0].origin.offset, 0);
    assert_eq!(
        got[1].origin.offset, 2,
        "the poison record never reached the handler"
    );
    let progress = consumer.send(Shutdown).await.expect("shutdown");
    assert_eq!(progress.stats.dead_lettered, 1);
    assert_eq!(progress.stored.get(&(input.clone(), 0)), Some(&2));

    let dlq = dlq_records(&c.mock.bootstrap_servers(), &input, 1).await;
    assert_eq!(dlq.len(), 1);
    let rec = &dlq[0];
    assert_eq!(
        (rec.topic.as_str(), rec.partition, rec.offset),
        (input.as_str(), 0, 1)
    );
    assert_eq!(rec.error_kind, DlqErrorKind::Decode);
    assert!(rec.error.contains("malformed envelope"), "{}", rec.error);
    assert_eq!(rec.value_bytes().unwrap().unwrap(), poison);
    assert_eq!(rec.key_bytes().unwrap().unwrap(), b"1");
    assert_eq!((rec.service.as_str(), rec.attempts), ("poison", 1));
}

#[actix::test]
async fn ticks_that_break_the_price_rules_go_to_the_dlq_as_invalid_and_never_reach_the_handler() {
    use alpha_panda::messages::{DepthLevel, Envelope, MarketDepth, encode};
    let input = unique_topic("invalid-ticks");
    let c = cluster(&[(&input, 1)]);
    let producer = producer(&c.connection).await;
    let mut service = Probe::<Deliver<MarketTick>>::handling();
    let bytes = |tick: MarketTick| encode(&Envelope::root(tick, "test", chrono::Utc::now()));
    let negative = bytes(common::tick(1, -10_000));
    let level = |rupees| DepthLevel {
        quantity: 10,
        price: rust_decimal::Decimal::from(rupees),
        orders: 1,
    };
    let crossed = bytes(MarketTick {
        depth: Some(MarketDepth {
            bids: vec![level(101)],
            asks: vec![level(100)],
        }),
        ..common::tick(1, 10_050)
    });
    let largest = bytes(MarketTick::ltp(1, rust_decimal::Decimal::MAX));
    common::produce_raw(
        &c.mock.bootstrap_servers(),
        &input,
        &[
            ("1".into(), tick_bytes(1, 100)),
            ("1".into(), negative.clone()),
            ("1".into(), crossed),
            ("1".into(), largest),
            ("1".into(), tick_bytes(1, 101)),
        ],
    );
    let consumer = start_consumer(
        &c.connection,
        "door",
        Routes::new().route_name(&input, service.recipient()),
        producer,
    );
    let got = service.expect_msgs(2, WAIT).await;
    let offsets: Vec<i64> = got.iter().map(|d| d.origin.offset).collect();
    assert_eq!(
        offsets,
        vec![0, 4],
        "only the valid ticks reached the handler"
    );
    let progress = consumer.send(Shutdown).await.expect("shutdown");
    assert_eq!(progress.stats.dead_lettered, 3);
    assert_eq!(progress.stored.get(&(input.clone(), 0)), Some(&4));

    let dlq = dlq_records(&c.mock.bootstrap_servers(), &input, 3).await;
    let reasons: Vec<(i64, DlqErrorKind, &str)> = dlq
        .iter()
        .map(|r| (r.offset, r.error_kind, r.error.as_str()))
        .collect();
    let expected = [
        (1, "last_price: -100.00 is not above zero"),
        (2, "depth: crossed book, best bid 101 is above best ask 100"),
        (
            3,
            "last_price: 79228162514264337593543950335 is beyond the ceiling",
        ),
    ];
    assert_eq!(reasons.len(), expected.len(), "{reasons:?}");
    for ((offset, kind, error), (want_offset, says)) in reasons.iter().zip(expected) {
        assert_eq!(
            (*offset, *kind),
            (want_offset, DlqErrorKind::Invalid),
            "{error}"
        );
        assert!(error.contains(says), "{error:?} lacks {says:?}");
    }
    assert_eq!(
        dlq[0].value_bytes().unwrap().unwrap(),
        negative,
        "kept byte for byte"
    );
    service.expect_no_msg(Duration::from_millis(200)).await;
}

/// A service whose answer for each record is scripted by its attempt number.
fn scripted(
    script: impl Fn(u32) -> HandlerResult + Send + 'static,
) -> (Probe<Deliver<MarketTick>>, Arc<AtomicU32>) {
    let attempts = Arc::new(AtomicU32::new(0));
    let counter = attempts.clone();
    let probe = Probe::with_reply(move |_: &Deliver<MarketTick>| {
        script(counter.fetch_add(1, Ordering::SeqCst) + 1)
    });
    (probe, attempts)
}

#[actix::test]
async fn transient_failures_are_retried_and_then_succeed() {
    let input = unique_topic("transient");
    let c = cluster(&[(&input, 1)]);
    let producer = producer(&c.connection).await;
    let (mut service, attempts) = scripted(|n| {
        if n < 3 {
            Err(HandlerError::Transient(format!("store down ({n})")))
        } else {
            Ok(Completion::done())
        }
    });
    common::produce_raw(
        &c.mock.bootstrap_servers(),
        &input,
        &[("7".into(), tick_bytes(7, 1))],
    );
    let consumer = start_consumer(
        &c.connection,
        "transient",
        Routes::new().route_name(&input, service.recipient()),
        producer,
    );
    let seen = service.expect_msgs(3, WAIT).await;
    assert!(
        seen.iter().all(|d| d.origin.offset == 0),
        "the same record, three times"
    );
    let progress = consumer.send(Shutdown).await.expect("shutdown");
    assert_eq!(attempts.load(Ordering::SeqCst), 3);
    assert_eq!(progress.stats.retries, 2);
    assert_eq!(progress.stats.dead_lettered, 0);
    assert_eq!(progress.stored.get(&(input.clone(), 0)), Some(&0));
    service.expect_no_msg(Duration::from_millis(100)).await;
}

#[actix::test]
async fn exhausted_and_permanent_failures_are_dead_lettered_with_their_kind_and_attempts() {
    let (exhausted, permanent) = (unique_topic("exhausted"), unique_topic("permanent"));
    let c = cluster(&[(&exhausted, 1), (&permanent, 1)]);
    let producer = producer(&c.connection).await;
    let (flaky, _) = scripted(|_| Err(HandlerError::Transient("always down".into())));
    let (refuser, _) = scripted(|_| Err(HandlerError::Permanent("unknown instrument".into())));
    for topic in [&exhausted, &permanent] {
        common::produce_raw(
            &c.mock.bootstrap_servers(),
            topic,
            &[("9".into(), tick_bytes(9, 1))],
        );
    }
    let consumer = start_consumer(
        &c.connection,
        "failing",
        Routes::new()
            .route_name(&exhausted, flaky.recipient())
            .route_name(&permanent, refuser.recipient()),
        producer,
    );
    let a = dlq_records(&c.mock.bootstrap_servers(), &exhausted, 1).await;
    let b = dlq_records(&c.mock.bootstrap_servers(), &permanent, 1).await;
    assert_eq!(a[0].error_kind, DlqErrorKind::RetriesExhausted);
    assert_eq!(a[0].attempts, settings().retry.attempts);
    assert!(a[0].error.contains("always down"), "{}", a[0].error);
    assert_eq!(b[0].error_kind, DlqErrorKind::Permanent);
    assert_eq!(b[0].attempts, 1);
    assert!(b[0].error.contains("unknown instrument"), "{}", b[0].error);
    let progress = consumer.send(Shutdown).await.expect("shutdown");
    assert_eq!(progress.stats.dead_lettered, 2);
}

#[actix::test]
async fn failed_output_delivery_in_the_window_holds_back_the_offset_until_redone() {
    const HELD: i64 = 4;
    let input = unique_topic("window");
    let c = cluster(&[(&input, 1)]);
    let producer = producer(&c.connection).await;
    // Record HELD's first output delivery is controlled by the test; everything else
    // completes at once.
    let (fail_tx, fail_rx) = futures::channel::oneshot::channel::<()>();
    let gate = Arc::new(Mutex::new(Some(fail_rx)));
    let mut service = Probe::<Deliver<MarketTick>>::with_reply(move |d| -> HandlerResult {
        if d.origin.offset != HELD {
            return Ok(Completion::done());
        }
        match gate.lock().unwrap().take() {
            Some(rx) => Ok(Completion::after(vec![
                rx.map(|_| {
                    Err(PublishError::Transient {
                        topic: "out".into(),
                        reason: "broker timed out".into(),
                    })
                })
                .boxed(),
            ])),
            None => Ok(Completion::done()),
        }
    });
    let records: Vec<(String, Vec<u8>)> =
        (1..=10).map(|i| ("3".into(), tick_bytes(3, i))).collect();
    common::produce_raw(&c.mock.bootstrap_servers(), &input, &records);
    let consumer = start_consumer(
        &c.connection,
        "window",
        Routes::new().route_name(&input, service.recipient()),
        producer,
    );
    let first_pass: Vec<i64> = service
        .expect_msgs(10, WAIT)
        .await
        .iter()
        .map(|d| d.origin.offset)
        .collect();
    assert_eq!(first_pass, (0..10).collect::<Vec<_>>());
    let progress = consumer.send(GetProgress).await.unwrap().unwrap();
    assert_eq!(
        progress.stored.get(&(input.clone(), 0)),
        Some(&(HELD - 1)),
        "records after the pending one are done but the stored offset stops before it"
    );

    fail_tx.send(()).unwrap(); // The delivery of record HELD fails.
    let second_pass: Vec<i64> = service
        .expect_msgs(10 - HELD as usize, WAIT)
        .await
        .iter()
        .map(|d| d.origin.offset)
        .collect();
    assert_eq!(
        second_pass,
        (HELD..10).collect::<Vec<_>>(),
        "rewound and handled again in order"
    );
    let progress = consumer.send(Shutdown).await.expect("shutdown");
    assert_eq!(progress.stored.get(&(input.clone(), 0)), Some(&9));
    assert_eq!(progress.stats.rewinds, 1);
    assert_eq!(progress.stats.delivery_failures, 1);
    assert_eq!(progress.stats.dead_lettered, 0);
}

#[actix::test]
async fn produce_hitting_transport_errors_is_retried_and_written_once() {
    let topic = unique_topic("flaky-produce");
    let c = cluster(&[(&topic, 1)]);
    let producer = producer(&c.connection).await;
    c.mock.request_errors(
        RDKafkaApiKey::Produce,
        &[
            RDKafkaRespErr::RD_KAFKA_RESP_ERR__TRANSPORT,
            RDKafkaRespErr::RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION,
            RDKafkaRespErr::RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT,
            RDKafkaRespErr::RD_KAFKA_RESP_ERR__TRANSPORT,
        ],
    );
    let pending: Vec<_> = (0..50)
        .map(|i| {
            producer.publish(OutboundRecord {
                topic: topic.clone(),
                key: Some(b"k".to_vec()),
                value: format!("record-{i}").into_bytes(),
                headers: vec![],
            })
        })
        .collect();
    for (i, result) in futures::future::join_all(pending)
        .await
        .into_iter()
        .enumerate()
    {
        result.unwrap_or_else(|e| panic!("record {i} not delivered: {e}"));
    }
    let written = read_all(
        &c.mock.bootstrap_servers(),
        &topic,
        51,
        Duration::from_secs(3),
    )
    .await;
    let values: Vec<String> = written
        .iter()
        .map(|(_, _, _, v)| String::from_utf8(v.clone()).unwrap())
        .collect();
    let expected: Vec<String> = (0..50).map(|i| format!("record-{i}")).collect();
    assert_eq!(values, expected, "each record once, in order");
}

#[actix::test]
async fn consumer_loses_nothing_when_the_broker_goes_down_and_comes_back() {
    let input = unique_topic("outage");
    let c = cluster(&[(&input, 2)]);
    let producer = producer(&c.connection).await;
    let mut service = Probe::<Deliver<MarketTick>>::handling();
    let before: Vec<(String, Vec<u8>)> = (0..20)
        .map(|i| ((i % 4).to_string(), tick_bytes(i % 4 + 1, i64::from(i) + 1)))
        .collect();
    common::produce_raw(&c.mock.bootstrap_servers(), &input, &before);
    let consumer = start_consumer(
        &c.connection,
        "outage",
        Routes::new().route_name(&input, service.recipient()),
        producer.clone(),
    );
    let mut seen: HashSet<(i32, i64)> = service
        .expect_msgs(20, WAIT)
        .await
        .iter()
        .map(|d| (d.origin.partition, d.origin.offset))
        .collect();

    c.mock.broker_down(1).expect("broker down");
    let during: Vec<_> = (20..40u32)
        .map(|i| {
            producer.publish(OutboundRecord {
                topic: input.clone(),
                key: Some((i % 4).to_string().into_bytes()),
                value: tick_bytes(i % 4 + 1, i64::from(i)),
                headers: vec![],
            })
        })
        .collect();
    service.expect_no_msg(Duration::from_secs(1)).await;
    c.mock.broker_up(1).expect("broker up");

    for result in futures::future::join_all(during).await {
        result.expect("records produced during the outage are delivered after it");
    }
    while seen.len() < 40 {
        let d = service.expect_msg(WAIT).await;
        seen.insert((d.origin.partition, d.origin.offset));
    }
    let progress = consumer.send(Shutdown).await.expect("shutdown");
    let stored: i64 = progress.stored.values().map(|o| o + 1).sum();
    assert_eq!(
        stored, 40,
        "all 40 records handled and stored: {:?}",
        progress.stored
    );
}
