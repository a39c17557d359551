//! What each subcommand does.

use super::{Command, ConfigCommand, DlqCommand, ReplayArgs, TopicsCommand};
use crate::actors::daemon;
use crate::actors::supervisor::EXIT_SUPERVISION_GAVE_UP;
use crate::settings::Settings;
use crate::streaming::dlq::{ReplayOptions, replay};
use crate::streaming::{EmbeddedBroker, KafkaConnection, ProducerActor, TopicMap, admin};
use anyhow::Context as _;
use std::time::Duration;
use tokio::signal::unix::{SignalKind, signal};

/// `println!` that ignores a closed stdout (`alpha-panda topics list | head` must not panic).
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout(), $($arg)*);
    }};
}

/// Bound on broker calls made by the CLI.
const BROKER_TIMEOUT: Duration = Duration::from_secs(10);

/// Runs `command`; the answer is the process exit code.
pub(super) async fn dispatch(command: Command, settings: Settings) -> anyhow::Result<u8> {
    match command {
        Command::Config(ConfigCommand::Check) => {
            say!("{}", settings.to_masked_toml().trim_end());
            Ok(0)
        }
        Command::Topics(TopicsCommand::Create) => topics_create(&settings).await.map(|()| 0),
        Command::Topics(TopicsCommand::List) => topics_list(&settings).await.map(|()| 0),
        Command::Dlq(DlqCommand::Replay(args)) => dlq_replay(&settings, args).await.map(|()| 0),
        Command::Run => run(&settings).await,
    }
}

/// The broker to talk to: the configured one, or a fresh embedded one (kept alive by the
/// returned guard).
fn connect(settings: &Settings) -> anyhow::Result<(KafkaConnection, Option<EmbeddedBroker>)> {
    if settings.is_embedded_kafka() {
        let broker = EmbeddedBroker::start(&TopicMap::new(&settings.topics))?;
        Ok((broker.connection(&settings.kafka), Some(broker)))
    } else {
        Ok((
            KafkaConnection::new(&settings.kafka, settings.kafka.brokers.clone()),
            None,
        ))
    }
}

async fn topics_create(settings: &Settings) -> anyhow::Result<()> {
    let (connection, embedded) = connect(settings)?;
    if embedded.is_some() {
        say!("embedded broker: topics exist only inside this process");
    }
    let map = TopicMap::new(&settings.topics);
    let report = admin::ensure_topics(&connection, &map, BROKER_TIMEOUT).await?;
    for name in &report.created {
        say!("created  {name}");
    }
    for name in &report.existing {
        say!("exists   {name}");
    }
    say!(
        "{} created, {} already existed",
        report.created.len(),
        report.existing.len()
    );
    Ok(())
}

async fn topics_list(settings: &Settings) -> anyhow::Result<()> {
    let (connection, _embedded) = connect(settings)?;
    let map = TopicMap::new(&settings.topics);
    let statuses = admin::list_topics(&connection, &map, BROKER_TIMEOUT).await?;
    say!(
        "{:<32} {:>10} {:>8} {:>14}  key",
        "topic",
        "partitions",
        "actual",
        "retention_ms"
    );
    for s in statuses {
        let actual = s
            .actual_partitions
            .map_or_else(|| "missing".to_owned(), |p| p.to_string());
        say!(
            "{:<32} {:>10} {:>8} {:>14}  {}",
            s.spec.name,
            s.spec.partitions,
            actual,
            s.spec.retention_ms,
            s.spec.topic.stream.key_description()
        );
    }
    Ok(())
}

async fn dlq_replay(settings: &Settings, args: ReplayArgs) -> anyhow::Result<()> {
    let (connection, _embedded) = connect(settings)?;
    let (_producer, handle) = ProducerActor::connect(&connection, BROKER_TIMEOUT)
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
    for (topic, n) in &report.replayed {
        say!("{verb} {n} record(s) to {topic}");
    }
    for (partition, offset, reason) in &report.unreadable {
        say!("skipped partition {partition} offset {offset}: {reason}");
    }
    say!(
        "read {} DLQ record(s): {} {verb}, {} not replayable",
        report.read,
        report.replayed.values().sum::<usize>(),
        report.unreadable.len()
    );
    Ok(())
}

/// The daemon: topics, then the supervision tree (producer first), until a signal or
/// until the root supervisor gives up. Returns the process exit code.
async fn run(settings: &Settings) -> anyhow::Result<u8> {
    let (connection, _embedded) = connect(settings)?;
    let map = TopicMap::new(&settings.topics);
    let report = admin::ensure_topics(&connection, &map, BROKER_TIMEOUT)
        .await
        .context("creating topics")?;
    tracing::info!(
        created = report.created.len(),
        existing = report.existing.len(),
        "topics ready"
    );
    // Fail fast, with the reason, if no producer can be made or the brokers do not answer.
    let producer = ProducerActor::connect(&connection, BROKER_TIMEOUT)
        .await
        .context("starting the producer")?;
    let tree = daemon::build(settings, &connection, producer);
    let unknown = daemon::unknown_policy_names(settings, &tree.names);
    if !unknown.is_empty() {
        anyhow::bail!(
            "[supervision.actors] names no such actor: {} (actors: {})",
            unknown.join(", "),
            tree.names.join(", ")
        );
    }
    let mut root = tree.root.start().await;
    // Installed before saying we run, so a signal right after that line is handled.
    let mut term = signal(SignalKind::terminate())?;
    let mut interrupt = signal(SignalKind::interrupt())?;
    tracing::info!(brokers = %connection.bootstrap_servers, "running until SIGINT/SIGTERM");
    tokio::select! {
        _ = term.recv() => {
            tracing::info!("signal received; stopping");
            root.shutdown().await;
            Ok(0)
        }
        _ = interrupt.recv() => {
            tracing::info!("signal received; stopping");
            root.shutdown().await;
            Ok(0)
        }
        outcome = root.wait() => {
            tracing::error!(?outcome, "the root supervisor gave up; exiting for the service manager to restart us");
            Ok(EXIT_SUPERVISION_GAVE_UP)
        }
    }
}
