//! `alpha-panda record`: writes a running system's `market.ticks` to a JSON-lines file, the
//! format `alpha-panda backtest --ticks` reads.
//!
//! Reads from the live end of every partition (the high watermarks when recording starts),
//! by manual assignment under a throwaway group id: it joins no consumer group and commits
//! nothing, so the daemon's consumers are untouched. Every record is checked with
//! [`decode`]; one that does not decode is skipped with a warning and counted, never written.
//!
//! Partitions interleave, so envelope times may go backwards between records. The recording
//! is therefore held in memory (each tick as its compact JSON line: about 0.3 KB for an ltp
//! tick, 1 KB for a full-mode tick with depth, so an hour of 50 instruments at one tick a
//! second each is about 180 MB) and written at the end sorted by `ts` (stable: one
//! partition's order is kept among equal times), to a temporary file in the same directory
//! that is then renamed over `--out`. An interrupted run never leaves a half-written
//! `--out`; only a SIGKILL can leave the hidden temporary file behind.

use crate::messages::{MarketTick, decode, encode};
use crate::settings::Settings;
use crate::streaming::{KafkaConnection, Topic};
use anyhow::Context as _;
use chrono::{DateTime, Utc};
use clap::Args;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Message;
use rdkafka::{Offset, TopicPartitionList};
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use tokio::signal::unix::{SignalKind, signal};

/// Bound on metadata and watermark calls.
const BROKER_TIMEOUT: Duration = Duration::from_secs(10);
/// How long one poll waits: the longest a stop request goes unnoticed.
const POLL_INTERVAL: Duration = Duration::from_millis(100);

#[derive(Debug, Args)]
pub struct RecordArgs {
    /// The JSON-lines file to write (one `market.ticks` envelope per line).
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
    /// Stop after this many seconds (default: until SIGINT/SIGTERM).
    #[arg(long, value_name = "SECS")]
    pub duration: Option<u64>,
    /// Stop after recording this many ticks.
    #[arg(long, value_name = "N")]
    pub max_ticks: Option<u64>,
    /// Record only these instrument tokens (comma-separated; default: all).
    #[arg(long, value_name = "LIST", value_delimiter = ',')]
    pub tokens: Vec<u32>,
}

/// When the recording ends (besides a signal).
#[derive(Debug, Clone)]
struct Limits {
    duration: Option<Duration>,
    max_ticks: Option<u64>,
    tokens: Vec<u32>,
}

/// What was read: each tick's time and JSON line, in arrival order, and the records skipped.
#[derive(Debug, Default)]
struct Recording {
    ticks: Vec<(DateTime<Utc>, Vec<u8>)>,
    skipped: u64,
}

/// Records ticks until the duration is over, `--max-ticks` are recorded or a signal arrives.
pub(super) async fn run(settings: &Settings, args: RecordArgs) -> anyhow::Result<u8> {
    if settings.is_embedded_kafka() {
        eprintln!(
            "record needs a running system's broker: set kafka.brokers (the embedded broker \
             lives inside one process and nothing else writes to it)"
        );
        return Ok(super::EXIT_CONFIG);
    }
    // Before the broker: an unwritable destination fails at once, not after the recording.
    let mut out = TempOut::create(&args.out)?;
    // Installed before the live end is announced, so a signal right after it is handled.
    let mut term = signal(SignalKind::terminate())?;
    let mut interrupt = signal(SignalKind::interrupt())?;
    let connection = KafkaConnection::new(&settings.kafka, settings.kafka.brokers.clone());
    let limits = Limits {
        duration: args.duration.map(Duration::from_secs),
        max_ticks: args.max_ticks,
        tokens: args.tokens,
    };
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    // librdkafka's calls block: the recording runs on its own thread, signals here.
    let mut task = tokio::task::spawn_blocking(move || record(&connection, &limits, &flag));
    let joined = tokio::select! {
        joined = &mut task => joined,
        _ = term.recv() => { stop.store(true, Ordering::Relaxed); task.await }
        _ = interrupt.recv() => { stop.store(true, Ordering::Relaxed); task.await }
    };
    let mut recording = joined.context("the recording thread failed")??;
    recording.ticks.sort_by_key(|(ts, _)| *ts);
    out.write_lines(recording.ticks.iter().map(|(_, line)| line.as_slice()))?;
    out.persist()?;
    let (ticks, path, skipped) = (recording.ticks.len(), args.out.display(), recording.skipped);
    // A closed stdout (`record ... | head`) must not turn a finished recording into a panic.
    let _ = writeln!(
        std::io::stdout(),
        "recorded {ticks} ticks to {path} ({skipped} skipped)"
    );
    Ok(0)
}

/// Assigns every partition of `market.ticks` at its live end, then collects ticks until a
/// limit is reached or `stop` is set.
fn record(
    connection: &KafkaConnection,
    limits: &Limits,
    stop: &AtomicBool,
) -> anyhow::Result<Recording> {
    let topic = Topic::MARKET_TICKS.name();
    let brokers = &connection.bootstrap_servers;
    // Never joined (partitions are assigned) and never committed: a throwaway id.
    let group = format!(
        "{}.record.{}",
        connection.settings.group_prefix,
        uuid::Uuid::new_v4().simple()
    );
    let consumer: BaseConsumer = connection
        .consumer_config(&group)
        .set("enable.auto.commit", "false")
        .create()
        .context("creating the Kafka consumer")?;
    let assignment = live_end(&consumer, &topic)
        .with_context(|| format!("finding the live end of {topic} on {brokers}"))?;
    let partitions = assignment.count();
    consumer
        .assign(&assignment)
        .with_context(|| format!("assigning the partitions of {topic}"))?;
    tracing::info!(%topic, partitions, %brokers, "partitions assigned at the live end; recording");
    eprintln!("recording {topic}");

    let deadline = limits.duration.map(|d| Instant::now() + d);
    let mut recording = Recording::default();
    while !stop.load(Ordering::Relaxed)
        && deadline.is_none_or(|d| Instant::now() < d)
        && limits
            .max_ticks
            .is_none_or(|max| (recording.ticks.len() as u64) < max)
    {
        let message = match consumer.poll(POLL_INTERVAL) {
            None => continue,
            // librdkafka reconnects by itself: say so and keep reading.
            Some(Err(e)) => {
                tracing::warn!(error = %e, "error while reading {topic}");
                continue;
            }
            Some(Ok(message)) => message,
        };
        match decode::<MarketTick>(message.payload().unwrap_or_default()) {
            Ok(envelope) => {
                if limits.tokens.is_empty() || limits.tokens.contains(&envelope.data.token) {
                    recording.ticks.push((envelope.ts, encode(&envelope)));
                }
            }
            Err(e) => {
                recording.skipped += 1;
                tracing::warn!(partition = message.partition(), offset = message.offset(), error = %e, "skipping a record that is not a market tick");
            }
        }
    }
    Ok(recording)
}

/// Every partition of `topic` at its high watermark: the offset the next record will get.
fn live_end(consumer: &BaseConsumer, topic: &str) -> anyhow::Result<TopicPartitionList> {
    let metadata = consumer.fetch_metadata(Some(topic), BROKER_TIMEOUT)?;
    let partitions: Vec<i32> = metadata
        .topics()
        .iter()
        .filter(|t| t.name() == topic && t.error().is_none())
        .flat_map(|t| t.partitions().iter().map(|p| p.id()))
        .collect();
    if partitions.is_empty() {
        anyhow::bail!(
            "the topic does not exist (is the system running? `alpha-panda topics create` makes it)"
        );
    }
    let mut assignment = TopicPartitionList::new();
    for partition in partitions {
        let (_, high) = consumer.fetch_watermarks(topic, partition, BROKER_TIMEOUT)?;
        assignment.add_partition_offset(topic, partition, Offset::Offset(high))?;
    }
    Ok(assignment)
}

/// A temporary file beside the destination, renamed over it by [`TempOut::persist`] and
/// removed if dropped before that.
struct TempOut {
    temp: PathBuf,
    dest: PathBuf,
    file: Option<File>,
}

impl TempOut {
    fn create(dest: &Path) -> anyhow::Result<Self> {
        let cannot = || format!("cannot write {}", dest.display());
        let name = dest
            .file_name()
            .with_context(|| format!("{}: not a file name", dest.display()))?;
        if dest.is_dir() {
            anyhow::bail!("{}: is a directory", cannot());
        }
        let mut temp_name = std::ffi::OsString::from(".");
        temp_name.push(name);
        temp_name.push(format!(".{}.tmp", std::process::id()));
        let temp = dest.with_file_name(temp_name);
        let file = File::create(&temp).with_context(cannot)?;
        Ok(TempOut {
            temp,
            dest: dest.to_owned(),
            file: Some(file),
        })
    }

    /// Writes one line per item, newline-terminated, and syncs the file to disk.
    fn write_lines<'a>(&mut self, lines: impl Iterator<Item = &'a [u8]>) -> anyhow::Result<()> {
        let file = self.file.take().context("the output is already closed")?;
        let mut writer = BufWriter::with_capacity(1 << 16, file);
        let written: std::io::Result<()> = (|| {
            for line in lines {
                writer.write_all(line)?;
                writer.write_all(b"\n")?;
            }
            writer.flush()?;
            // Durable before it gets the final name: a crash after the rename keeps the data.
            writer.get_ref().sync_all()
        })();
        written.with_context(|| format!("writing {}", self.temp.display()))
    }

    fn persist(mut self) -> anyhow::Result<()> {
        std::fs::rename(&self.temp, &self.dest)
            .with_context(|| format!("cannot write {}", self.dest.display()))?;
        // Renamed: nothing left for Drop to remove.
        self.temp = PathBuf::new();
        Ok(())
    }
}

impl Drop for TempOut {
    fn drop(&mut self) {
        if !self.temp.as_os_str().is_empty() {
            let _ = std::fs::remove_file(&self.temp);
        }
    }
}
