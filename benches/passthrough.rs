//! Consume → handle → publish pass-through through ONE `ConsumerActor`, against a real
//! broker (`ALPHA_PANDA_TEST_KAFKA_BROKERS`) or, when that is unset, librdkafka's embedded
//! mock cluster.
//!
//! Phase 1 (backlog): N ltp-tick envelopes (keyed by ~50 tokens, 6 partitions) are
//! pre-loaded, then a producer actor and a consumer actor start; the routed service
//! publishes one output record per input through the `ProducerHandle` and answers
//! `Completion::after(..)`. Reported: wall time from consumer start until the service has
//! handled all N, and until the consumer's stored offsets cover all N (polled every 100 ms,
//! so that figure is up to ~100 ms late), and record age at handling (now − envelope.ts).
//! The backlog ages mostly measure how long records queued, not latency.
//!
//! Phase 2 (live): a producer thread writes at a steady rate while the consumer runs; the
//! record ages of that phase are the end-to-end latency (produce linger + broker + fetch +
//! decode + actor round trip).
//!
//! Run: `cargo bench --bench passthrough`. Environment:
//! - `ALPHA_PANDA_TEST_KAFKA_BROKERS` — `host:port` of the broker (unset: embedded mock);
//! - `PASSTHROUGH_RECORDS` (default 200000) — backlog size;
//! - `PASSTHROUGH_LIVE_RATE` (default 20000 records/s) and `PASSTHROUGH_LIVE_SECS`
//!   (default 5) — the live phase (rate 0 skips it);
//! - `PASSTHROUGH_TIMEOUT_SECS` (default 600) — give up on a phase after this long.
//!
//! Besides rates and ages, each phase prints where the CPU went (from /proc: the actix
//! thread that runs the consume loop, the service and the producer actor; the whole bench
//! process; the whole machine, broker included — the machine has few cores and whatever
//! else runs on it competes) and, for the backlog, how many records sat in the consumer's
//! windows (handled, outputs not yet acknowledged). The live phase also prints the load
//! producer's produce → ack latency, the part of the age spent before the consumer could
//! see the record.
//!
//! This reports numbers; it asserts nothing about timing.

use actix::prelude::*;
use alpha_panda::messages::{Envelope, MarketTick, encode};
use alpha_panda::settings::Settings;
use alpha_panda::streaming::consumer::{
    Completion, ConsumerActor, ConsumerArgs, Deliver, GetProgress, HandlerResult, Progress, Routes,
    Shutdown,
};
use alpha_panda::streaming::producer::{HEADER_CORRELATION_ID, HEADER_EVENT_TYPE, OutboundRecord};
use alpha_panda::streaming::retry::Backoff;
use alpha_panda::streaming::{KafkaConnection, ProducerActor, ProducerHandle};
use chrono::{DateTime, Utc};
use rdkafka::ClientContext;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::Message as _;
use rdkafka::mocking::MockCluster;
use rdkafka::producer::{
    BaseRecord, DefaultProducerContext, DeliveryResult, Producer, ProducerContext, ThreadedProducer,
};
use rust_decimal::Decimal;
use std::collections::HashMap;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tokio::sync::oneshot;

const PARTITIONS: i32 = 6;
const TOKENS: u32 = 50;
/// Instrument tokens start here (any non-zero value; Kite tokens are six-digit-ish).
const FIRST_TOKEN: u32 = 256_265;
const POLL: Duration = Duration::from_millis(100);
const SOURCE: &str = "bench-passthrough";

// ---------------------------------------------------------------------------------------
// Configuration

struct Config {
    brokers: Option<String>,
    records: u64,
    live_rate: u64,
    live_secs: u64,
    timeout: Duration,
}

fn env_u64(name: &str, default: u64) -> u64 {
    match std::env::var(name) {
        Ok(v) if !v.trim().is_empty() => v
            .trim()
            .replace('_', "")
            .parse()
            .unwrap_or_else(|_| panic!("{name}={v:?} is not a whole number")),
        _ => default,
    }
}

impl Config {
    fn from_env() -> Self {
        // `cargo test --all-targets` runs benches without `--bench`: then only a small
        // smoke pass (the path works), not the measurement.
        let measuring = std::env::args().any(|a| a == "--bench");
        let (records, live_rate) = if measuring {
            (200_000, 20_000)
        } else {
            (2_000, 0)
        };
        Config {
            brokers: std::env::var("ALPHA_PANDA_TEST_KAFKA_BROKERS")
                .ok()
                .filter(|b| !b.trim().is_empty()),
            records: env_u64("PASSTHROUGH_RECORDS", records),
            live_rate: env_u64("PASSTHROUGH_LIVE_RATE", live_rate),
            live_secs: env_u64("PASSTHROUGH_LIVE_SECS", 5),
            timeout: Duration::from_secs(env_u64("PASSTHROUGH_TIMEOUT_SECS", 600)),
        }
    }
}

// ---------------------------------------------------------------------------------------
// The load producer (plain rdkafka, bypassing the code under test)

/// Counts acknowledged records and remembers the highest offset written per partition;
/// while `timing` is on, also records each record's produce → acknowledgement latency
/// (the delivery opaque is the envelope's `ts` in microseconds since the epoch).
struct LoadContext {
    delivered: AtomicU64,
    failed: AtomicU64,
    last_offset: Vec<AtomicI64>,
    timing: AtomicBool,
    ack_us: Mutex<Vec<u64>>,
}

impl LoadContext {
    fn new() -> Self {
        LoadContext {
            delivered: AtomicU64::new(0),
            failed: AtomicU64::new(0),
            last_offset: (0..PARTITIONS).map(|_| AtomicI64::new(-1)).collect(),
            timing: AtomicBool::new(false),
            ack_us: Mutex::new(Vec::new()),
        }
    }

    fn last_offsets(&self) -> Vec<i64> {
        self.last_offset
            .iter()
            .map(|o| o.load(Ordering::Relaxed))
            .collect()
    }

    fn take_ack_latencies(&self) -> Vec<u64> {
        self.ack_us
            .lock()
            .map(|mut v| std::mem::take(&mut *v))
            .unwrap_or_default()
    }
}

fn epoch_us(at: DateTime<Utc>) -> i64 {
    at.timestamp_micros()
}

impl ClientContext for LoadContext {}

impl ProducerContext for LoadContext {
    type DeliveryOpaque = usize;

    fn delivery(&self, result: &DeliveryResult<'_>, produced_at_us: usize) {
        match result {
            Ok(m) => {
                self.delivered.fetch_add(1, Ordering::Relaxed);
                if self.timing.load(Ordering::Relaxed) {
                    let age = epoch_us(Utc::now()) - produced_at_us as i64;
                    if let Ok(mut acks) = self.ack_us.lock() {
                        acks.push(u64::try_from(age).unwrap_or(0));
                    }
                }
                if let Some(o) = usize::try_from(m.partition())
                    .ok()
                    .and_then(|p| self.last_offset.get(p))
                {
                    o.fetch_max(m.offset(), Ordering::Relaxed);
                }
            }
            Err((e, _)) => {
                if self.failed.fetch_add(1, Ordering::Relaxed) < 5 {
                    eprintln!("load producer: delivery failed: {e}");
                }
            }
        }
    }
}

type LoadProducer = ThreadedProducer<LoadContext>;

fn load_producer(connection: &KafkaConnection) -> Arc<LoadProducer> {
    let mut cfg = connection.producer_config();
    cfg.set("linger.ms", "5")
        .set("queue.buffering.max.messages", "1000000")
        .set("queue.buffering.max.kbytes", "1048576");
    Arc::new(
        cfg.create_with_context(LoadContext::new())
            .expect("load producer"),
    )
}

/// The i-th load record: an ltp tick of one of the tokens, its envelope stamped now.
/// Returns the key, the value and the stamp in microseconds since the epoch.
fn load_record(i: u64) -> (String, Vec<u8>, i64) {
    let token = FIRST_TOKEN + (i % u64::from(TOKENS)) as u32;
    let price = Decimal::new(100_000 + (i % 10_000) as i64, 2);
    let envelope = Envelope::root(MarketTick::ltp(token, price), "bench-load", Utc::now());
    let stamp = epoch_us(envelope.ts);
    (envelope.key.clone(), encode(&envelope), stamp)
}

/// Enqueues one record, waiting for room if librdkafka's queue is full.
fn produce(producer: &LoadProducer, topic: &str, i: u64) {
    let (key, value, stamp) = load_record(i);
    let mut record = BaseRecord::with_opaque_to(topic, usize::try_from(stamp).unwrap_or(0))
        .key(&key)
        .payload(&value);
    loop {
        match producer.send(record) {
            Ok(()) => return,
            Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), r)) => {
                record = r;
                std::thread::sleep(Duration::from_millis(1));
            }
            Err((e, _)) => panic!("load producer: cannot enqueue: {e}"),
        }
    }
}

/// Produces `total` records as fast as librdkafka takes them, then flushes.
fn preload(producer: &LoadProducer, topic: &str, total: u64) -> Duration {
    let start = Instant::now();
    for i in 0..total {
        produce(producer, topic, i);
    }
    producer
        .flush(Duration::from_secs(120))
        .expect("flush the pre-load");
    start.elapsed()
}

/// Produces `rate` records a second for `secs` seconds (paced every millisecond), then
/// flushes. Returns the time spent producing (before the flush).
fn produce_live(
    producer: &LoadProducer,
    topic: &str,
    first: u64,
    rate: u64,
    secs: u64,
) -> Duration {
    let total = rate * secs;
    let start = Instant::now();
    let mut sent = 0;
    while sent < total {
        let due = ((start.elapsed().as_secs_f64() * rate as f64) as u64).min(total);
        while sent < due {
            produce(producer, topic, first + sent);
            sent += 1;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    let spent = start.elapsed();
    producer
        .flush(Duration::from_secs(120))
        .expect("flush the live phase");
    spent
}

// ---------------------------------------------------------------------------------------
// The service under the consumer: publish one output per input

struct PassThrough {
    producer: ProducerHandle,
    output: String,
    handled: u64,
    first: Option<Instant>,
    ages_us: Vec<u64>,
    expect: Option<(u64, oneshot::Sender<Instant>)>,
}

impl Actor for PassThrough {
    type Context = Context<Self>;
}

impl Handler<Deliver<MarketTick>> for PassThrough {
    type Result = HandlerResult;

    fn handle(&mut self, deliver: Deliver<MarketTick>, _ctx: &mut Self::Context) -> HandlerResult {
        let now = Utc::now();
        if self.first.is_none() {
            self.first = Some(Instant::now());
        }
        let envelope = &deliver.envelope;
        let age = (now - envelope.ts).num_microseconds().unwrap_or(i64::MAX);
        self.ages_us.push(u64::try_from(age).unwrap_or(0));

        let child = envelope.child(envelope.data.clone(), SOURCE, "", now);
        let record = OutboundRecord {
            topic: self.output.clone(),
            key: Some(child.key.clone().into_bytes()),
            value: encode(&child),
            headers: vec![
                (HEADER_EVENT_TYPE.into(), child.event_type.as_str().into()),
                (
                    HEADER_CORRELATION_ID.into(),
                    child.correlation_id.to_string().into_bytes(),
                ),
            ],
        };
        let pending = self.producer.publish(record);

        self.handled += 1;
        if self
            .expect
            .as_ref()
            .is_some_and(|(total, _)| self.handled >= *total)
            && let Some((_, reached)) = self.expect.take()
        {
            let _ = reached.send(Instant::now());
        }
        Ok(Completion::after(vec![pending]))
    }
}

/// Tell `reached` the moment the service has handled `total` records since it started.
#[derive(Message)]
#[rtype(result = "()")]
struct Expect {
    total: u64,
    reached: oneshot::Sender<Instant>,
}

impl Handler<Expect> for PassThrough {
    type Result = ();

    fn handle(&mut self, msg: Expect, _ctx: &mut Self::Context) {
        if self.handled >= msg.total {
            let _ = msg.reached.send(Instant::now());
        } else {
            self.expect = Some((msg.total, msg.reached));
        }
    }
}

/// What the service saw since the last `TakePhase`.
struct PhaseStats {
    first: Option<Instant>,
    ages_us: Vec<u64>,
}

#[derive(Message)]
#[rtype(result = "PhaseStats")]
struct TakePhase;

impl Handler<TakePhase> for PassThrough {
    type Result = MessageResult<TakePhase>;

    fn handle(&mut self, _: TakePhase, _ctx: &mut Self::Context) -> Self::Result {
        MessageResult(PhaseStats {
            first: self.first.take(),
            ages_us: std::mem::take(&mut self.ages_us),
        })
    }
}

// ---------------------------------------------------------------------------------------
// Measurement

/// When the service handled everything expected, and when stored offsets covered it.
struct PhaseTimes {
    handled: Option<Instant>,
    completed: Option<Instant>,
    /// Records in the consumer's windows (handled, outputs not yet all acknowledged) at
    /// each poll while the phase ran.
    in_window: Vec<usize>,
    last: Option<Progress>,
}

/// Whether the consumer's stored offsets reach every partition's last written offset.
fn covers(progress: &Progress, topic: &str, last_offsets: &[i64]) -> bool {
    last_offsets.iter().enumerate().all(|(p, &last)| {
        last < 0
            || progress
                .stored
                .get(&(topic.to_owned(), p as i32))
                .is_some_and(|&s| s >= last)
    })
}

/// Waits for the handled signal and for stored offsets to cover `last_offsets`, polling
/// progress every 100 ms, for at most `timeout`.
async fn wait_phase(
    consumer: &Addr<ConsumerActor>,
    topic: &str,
    last_offsets: &[i64],
    mut reached: oneshot::Receiver<Instant>,
    timeout: Duration,
) -> PhaseTimes {
    let deadline = tokio::time::Instant::now() + timeout;
    let mut times = PhaseTimes {
        handled: None,
        completed: None,
        in_window: Vec::new(),
        last: None,
    };
    let mut poll = tokio::time::interval(POLL);
    poll.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    while times.handled.is_none() || times.completed.is_none() {
        tokio::select! {
            at = &mut reached, if times.handled.is_none() => match at {
                Ok(at) => times.handled = Some(at),
                Err(_) => break,
            },
            _ = poll.tick() => {
                if let Ok(Some(progress)) = consumer.send(GetProgress).await {
                    if times.completed.is_none() {
                        times.in_window.push(progress.in_window.values().sum());
                        if covers(&progress, topic, last_offsets) {
                            times.completed = Some(Instant::now());
                        }
                    }
                    times.last = Some(progress);
                }
            }
            _ = tokio::time::sleep_until(deadline) => break,
        }
    }
    times
}

/// CPU accounting at one moment, from Linux's /proc (each part `None` elsewhere).
struct CpuSample {
    at: Instant,
    /// The calling (actix) thread: time on a CPU, time runnable but waiting for one.
    thread: Option<(Duration, Duration)>,
    /// Every thread of this process (the actix thread, librdkafka's, the load producer).
    process: Option<Duration>,
    /// The whole machine (broker and anything else included): busy and total CPU ticks.
    machine: Option<(u64, u64)>,
}

fn schedstat(path: &std::path::Path) -> Option<(Duration, Duration)> {
    let stat = std::fs::read_to_string(path).ok()?;
    let mut fields = stat.split_whitespace().map(str::parse::<u64>);
    let on_cpu = fields.next()?.ok()?;
    let waiting = fields.next()?.ok()?;
    Some((Duration::from_nanos(on_cpu), Duration::from_nanos(waiting)))
}

fn machine_ticks() -> Option<(u64, u64)> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let line = stat.lines().next()?.strip_prefix("cpu ")?;
    let ticks: Vec<u64> = line
        .split_whitespace()
        .take(8)
        .filter_map(|t| t.parse().ok())
        .collect();
    let total: u64 = ticks.iter().sum();
    let idle = ticks.get(3)? + ticks.get(4)?;
    Some((total - idle, total))
}

fn cpu_sample() -> CpuSample {
    let process = std::fs::read_dir("/proc/self/task").ok().map(|tasks| {
        tasks
            .filter_map(Result::ok)
            .filter_map(|t| schedstat(&t.path().join("schedstat")))
            .map(|(on_cpu, _)| on_cpu)
            .sum()
    });
    CpuSample {
        at: Instant::now(),
        thread: schedstat(std::path::Path::new("/proc/thread-self/schedstat")),
        process,
        machine: machine_ticks(),
    }
}

/// Where the CPU went since `since`: is the actix thread (consumer loop, service and
/// producer actor) saturated, or waiting — for data, for acks, or for a CPU?
fn print_cpu(since: &CpuSample) {
    let now = cpu_sample();
    let wall = now.at.duration_since(since.at).as_secs_f64().max(1e-9);
    let mut parts = Vec::new();
    if let (Some((cpu0, wait0)), Some((cpu1, wait1))) = (since.thread, now.thread) {
        let cpu = cpu1.saturating_sub(cpu0).as_secs_f64();
        parts.push(format!(
            "actix thread on CPU {cpu:.2} s ({:.0}%), runnable but waiting for a CPU {:.2} s ({:.0}%)",
            100.0 * cpu / wall,
            wait1.saturating_sub(wait0).as_secs_f64(),
            100.0 * wait1.saturating_sub(wait0).as_secs_f64() / wall,
        ));
    }
    if let (Some(p0), Some(p1)) = (since.process, now.process) {
        parts.push(format!(
            "bench process {:.2} CPUs",
            p1.saturating_sub(p0).as_secs_f64() / wall
        ));
    }
    if let (Some((busy0, total0)), Some((busy1, total1))) = (since.machine, now.machine) {
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        let busy = (busy1 - busy0) as f64 / (total1 - total0).max(1) as f64;
        parts.push(format!(
            "machine {:.0}% busy ({:.2} of {cores} CPUs, broker included)",
            100.0 * busy,
            busy * cores as f64
        ));
    }
    if !parts.is_empty() {
        println!("  CPU over {wall:.2} s: {}", parts.join("; "));
    }
}

fn percentile(sorted: &[u64], q: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

fn ms(us: u64) -> f64 {
    us as f64 / 1000.0
}

fn print_ages(label: &str, mut ages_us: Vec<u64>) {
    ages_us.sort_unstable();
    println!(
        "  {label}: n={} p50={:.2} ms  p90={:.2} ms  p99={:.2} ms  max={:.2} ms",
        ages_us.len(),
        ms(percentile(&ages_us, 0.50)),
        ms(percentile(&ages_us, 0.90)),
        ms(percentile(&ages_us, 0.99)),
        ms(ages_us.last().copied().unwrap_or(0)),
    );
}

/// How full the consumer's windows were: near `max_in_flight_per_partition` means the loop
/// was waiting on output acknowledgements (back-pressure), not on input or CPU.
fn print_window(times: &PhaseTimes) {
    let polls = &times.in_window;
    if let Some(max) = polls.iter().max() {
        let mean = polls.iter().sum::<usize>() as f64 / polls.len() as f64;
        println!(
            "  records in the consumer's windows (outputs pending) at {} polls: mean {mean:.0}, max {max} (limit max_in_flight_per_partition × {PARTITIONS} partitions)",
            polls.len()
        );
    }
}

fn rate(n: u64, d: Duration) -> f64 {
    n as f64 / d.as_secs_f64().max(1e-9)
}

fn report_incomplete(phase: &str, expected: u64, times: &PhaseTimes) {
    println!(
        "  INCOMPLETE: {phase} did not finish in time (expected {expected} records; handled signal: {}, offsets covered: {}); last progress: {:?}",
        times.handled.is_some(),
        times.completed.is_some(),
        times.last.as_ref().map(|p| p.stats),
    );
}

// ---------------------------------------------------------------------------------------
// Broker and topics

enum Broker {
    Real(String),
    Mock(MockCluster<'static, DefaultProducerContext>),
}

impl Broker {
    fn bootstrap(&self) -> String {
        match self {
            Broker::Real(b) => b.clone(),
            Broker::Mock(m) => m.bootstrap_servers(),
        }
    }

    async fn create_topics(&self, connection: &KafkaConnection, topics: &[&str]) {
        let names: Vec<String> = topics
            .iter()
            .flat_map(|t| [(*t).to_owned(), format!("{t}.dlq")])
            .collect();
        match self {
            Broker::Mock(mock) => {
                for name in &names {
                    mock.create_topic(name, PARTITIONS, 1).expect("mock topic");
                }
            }
            Broker::Real(_) => {
                let admin: AdminClient<DefaultClientContext> =
                    connection.admin_config().create().expect("admin client");
                let new: Vec<NewTopic<'_>> = names
                    .iter()
                    .map(|n| NewTopic::new(n, PARTITIONS, TopicReplication::Fixed(1)))
                    .collect();
                let results = admin
                    .create_topics(new.iter(), &AdminOptions::new())
                    .await
                    .expect("create topics");
                for r in results {
                    r.expect("topic created");
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------------------

async fn run(config: Config) -> ExitCode {
    let broker = match &config.brokers {
        Some(b) => {
            println!("broker: {b} (ALPHA_PANDA_TEST_KAFKA_BROKERS)");
            Broker::Real(b.clone())
        }
        None => {
            println!(
                "broker: ALPHA_PANDA_TEST_KAFKA_BROKERS is unset — using librdkafka's embedded MOCK cluster (in-process; numbers are not those of a real broker)"
            );
            Broker::Mock(MockCluster::new(1).expect("mock cluster"))
        }
    };
    if let Ok(load) = std::fs::read_to_string("/proc/loadavg") {
        let load: Vec<&str> = load.split_whitespace().take(3).collect();
        println!(
            "load average before the run: {} (this machine's other work competes for its cores)",
            load.join(" ")
        );
    }
    let settings = Settings::load_from(None, &HashMap::new()).expect("default settings");
    let kafka = &settings.kafka;
    println!(
        "settings (defaults): max_in_flight_per_partition={} linger_ms={} fetch_wait_max_ms={} compression={}",
        kafka.max_in_flight_per_partition,
        kafka.linger_ms,
        kafka.fetch_wait_max_ms,
        kafka.compression.as_librdkafka()
    );
    let connection = KafkaConnection::new(kafka, broker.bootstrap());
    let run_id = uuid::Uuid::new_v4().simple().to_string();
    let input = format!("bench.passthrough.in.{run_id}");
    let output = format!("bench.passthrough.out.{run_id}");
    let service = format!("bench-passthrough-{run_id}");
    broker.create_topics(&connection, &[&input, &output]).await;
    println!(
        "topics: {input} → {output} ({PARTITIONS} partitions each, with .dlq twins); group {}",
        kafka.consumer_group(&service)
    );

    // Phase 1: the backlog.
    let load = load_producer(&connection);
    let n = config.records;
    let took = preload(&load, &input, n);
    let failed = load.context().failed.load(Ordering::Relaxed);
    println!(
        "pre-load: {n} records ({TOKENS} tokens) in {:.2} s = {:.0} records/s ({failed} failed)",
        took.as_secs_f64(),
        rate(n, took)
    );
    let last_offsets = load.context().last_offsets();

    let (_producer_addr, producer) = ProducerActor::connect(&connection, Duration::from_secs(10))
        .await
        .expect("producer actor")
        .start_with_handle();
    let passthrough = PassThrough {
        producer: producer.clone(),
        output: output.clone(),
        handled: 0,
        first: None,
        ages_us: Vec::with_capacity(n as usize),
        expect: None,
    }
    .start();
    let (reached, reached_rx) = oneshot::channel();
    passthrough
        .send(Expect { total: n, reached })
        .await
        .expect("service");

    let cpu = cpu_sample();
    let start = Instant::now();
    let consumer = ConsumerActor::new(ConsumerArgs {
        connection: connection.clone(),
        service,
        routes: Routes::new().route_name(&input, passthrough.clone().recipient()),
        producer,
        backoff: Backoff::new(&settings.retry),
    })
    .expect("consumer actor")
    .start();
    let times = wait_phase(&consumer, &input, &last_offsets, reached_rx, config.timeout).await;
    let phase = passthrough.send(TakePhase).await.expect("service");

    println!("phase 1 — backlog of {n} records through one ConsumerActor:");
    let mut ok = true;
    match (times.handled, times.completed) {
        (Some(handled), Some(completed)) => {
            let h = handled - start;
            let c = completed - start;
            println!(
                "  handled all:   {:.3} s from consumer start → {:.0} records/s",
                h.as_secs_f64(),
                rate(n, h)
            );
            println!(
                "  completed all: {:.3} s from consumer start → {:.0} records/s (stored offsets cover all, outputs acknowledged; polled every 100 ms)",
                c.as_secs_f64(),
                rate(n, c)
            );
            if let Some(first) = phase.first {
                let warm = handled - first;
                println!(
                    "  first record handled {:.3} s after consumer start (group join, assignment, first fetch); from then: {:.3} s → {:.0} records/s handled",
                    (first - start).as_secs_f64(),
                    warm.as_secs_f64(),
                    rate(n.saturating_sub(1), warm)
                );
            }
        }
        _ => {
            report_incomplete("phase 1", n, &times);
            ok = false;
        }
    }
    print_cpu(&cpu);
    print_window(&times);
    print_ages(
        "record age at handling (includes the backlog wait)",
        phase.ages_us,
    );

    // Phase 2: live.
    if ok && config.live_rate > 0 && config.live_secs > 0 {
        let live_total = config.live_rate * config.live_secs;
        let (reached, reached_rx) = oneshot::channel();
        passthrough
            .send(Expect {
                total: n + live_total,
                reached,
            })
            .await
            .expect("service");
        let (producer_thread, topic) = (load.clone(), input.clone());
        let (live_rate, live_secs) = (config.live_rate, config.live_secs);
        load.context().timing.store(true, Ordering::Relaxed);
        let cpu = cpu_sample();
        let live_start = Instant::now();
        let spent = tokio::task::spawn_blocking(move || {
            produce_live(&producer_thread, &topic, n, live_rate, live_secs)
        })
        .await
        .expect("live producer thread");
        let produced_until = live_start + spent;
        load.context().timing.store(false, Ordering::Relaxed);
        let ack_us = load.context().take_ack_latencies();
        let last_offsets = load.context().last_offsets();
        let times = wait_phase(&consumer, &input, &last_offsets, reached_rx, config.timeout).await;
        let phase = passthrough.send(TakePhase).await.expect("service");
        println!(
            "phase 2 — live: {live_total} records at {} records/s target for {} s (achieved {:.0} records/s), consumed concurrently:",
            config.live_rate,
            config.live_secs,
            rate(live_total, spent)
        );
        match (times.handled, times.completed) {
            (Some(handled), Some(completed)) => {
                println!(
                    "  last record handled {:.3} s after the producer finished; offsets covered {:.3} s after (polled every 100 ms)",
                    handled
                        .saturating_duration_since(produced_until)
                        .as_secs_f64(),
                    completed
                        .saturating_duration_since(produced_until)
                        .as_secs_f64(),
                );
            }
            _ => {
                report_incomplete("phase 2", n + live_total, &times);
                ok = false;
            }
        }
        print_cpu(&cpu);
        print_ages(
            "record age at handling (the end-to-end latency)",
            phase.ages_us,
        );
        print_ages(
            "of which produce → broker ack (load producer, linger 5 ms, acks=all)",
            ack_us,
        );
    }

    let progress = consumer.send(Shutdown).await.expect("consumer shutdown");
    let s = progress.stats;
    println!(
        "consumer stats: received={} handled={} completed={} retries={} dead_lettered={} delivery_failures={} rewinds={} receive_errors={}",
        s.received,
        s.handled,
        s.completed,
        s.retries,
        s.dead_lettered,
        s.delivery_failures,
        s.rewinds,
        s.receive_errors
    );
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

fn main() -> ExitCode {
    let config = Config::from_env();
    actix::System::new().block_on(run(config))
}
