//! `alpha-panda dlq replay`: re-publish dead-lettered records to their topics, or with
//! `--dry-run` list what would be re-published, one line per original record (DLQ
//! partition and offset, original topic, key, size, why it failed), and every DLQ record
//! that cannot be replayed with the reason.

use super::ReplayArgs;
use crate::settings::Settings;
use crate::streaming::dlq::{ReplayOptions, replay, replay_connection};
use crate::streaming::{EmbeddedBroker, KafkaConnection, ProducerActor, TopicMap};
use anyhow::Context as _;
use std::time::Duration;

/// `println!` that ignores a closed stdout (`alpha-panda dlq replay | head` must not panic).
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout(), $($arg)*);
    }};
}

/// Bound on broker calls made by the CLI.
const BROKER_TIMEOUT: Duration = Duration::from_secs(10);

/// Runs `dlq replay`.
///
/// # Errors
/// The broker cannot be reached, the topic is not a DLQ or is missing, or a re-publish
/// failed (the run stops there; what was re-published before stays committed).
pub(super) async fn dlq_replay(settings: &Settings, args: ReplayArgs) -> anyhow::Result<()> {
    let (connection, _embedded) = if settings.is_embedded_kafka() {
        let broker = EmbeddedBroker::start(&TopicMap::new(&settings.topics))?;
        (broker.connection(&settings.kafka), Some(broker))
    } else {
        let brokers = settings.kafka.brokers.clone();
        (KafkaConnection::new(&settings.kafka, brokers), None)
    };
    let (_producer, handle) =
        ProducerActor::connect(&replay_connection(&connection), BROKER_TIMEOUT)
            .await?
            .start_with_handle();
    let options = ReplayOptions {
        dlq_topic: args.topic,
        dry_run: args.dry_run,
        limit: args.limit,
        timeout: BROKER_TIMEOUT,
    };
    let report = replay(&connection, &handle, &options)
        .await
        .with_context(|| format!("replaying {}", options.dlq_topic))?;
    let verb = if report.dry_run {
        "would replay"
    } else {
        "replayed"
    };
    for e in &report.entries {
        say!(
            "{verb} dlq {}/{} ({} record(s)) -> {} partition {} offset {} key {} size {} bytes: {} {}",
            e.partition,
            e.offset,
            e.dlq_records,
            e.topic,
            e.original_partition,
            e.original_offset,
            e.key.as_deref().unwrap_or("(none)"),
            e.size,
            e.error_kind,
            e.error
        );
    }
    for (topic, n) in &report.replayed {
        say!("{verb} {n} record(s) to {topic}");
    }
    for (partition, offset, reason) in &report.unreadable {
        say!("unreadable dlq {partition}/{offset}: {reason}");
    }
    say!(
        "read {} DLQ record(s): {} original record(s) {verb}, {} unreadable",
        report.read,
        report.replayed.values().sum::<usize>(),
        report.unreadable.len()
    );
    Ok(())
}
