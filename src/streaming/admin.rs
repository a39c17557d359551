//! Topic administration: create what the topic map lists and is missing; list what exists.
//! Existing topics are left alone (their partitions and configs are not changed).

use super::client::KafkaConnection;
use super::topics::{TopicMap, TopicSpec};
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::types::RDKafkaErrorCode;
use std::collections::BTreeMap;
use std::time::Duration;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum AdminError {
    #[error("cannot create the Kafka admin client: {0}")]
    Client(String),
    #[error("cannot read topic metadata from {brokers}: {reason}")]
    Metadata { brokers: String, reason: String },
    #[error("cannot create topic `{topic}`: {reason}")]
    Create { topic: String, reason: String },
}

/// What `topics create` did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct EnsureReport {
    pub created: Vec<String>,
    pub existing: Vec<String>,
}

/// One line of `topics list`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicStatus {
    pub spec: TopicSpec,
    /// Partitions on the broker, or `None` if the topic does not exist.
    pub actual_partitions: Option<i32>,
}

/// Topic name → partition count, as the brokers report them.
///
/// # Errors
/// The brokers did not answer within `timeout`.
pub async fn existing_topics(
    connection: &KafkaConnection,
    timeout: Duration,
) -> Result<BTreeMap<String, i32>, AdminError> {
    let consumer: BaseConsumer = connection
        .admin_config()
        .create()
        .map_err(|e| AdminError::Client(e.to_string()))?;
    let brokers = connection.bootstrap_servers.clone();
    tokio::task::spawn_blocking(move || {
        let md = consumer
            .fetch_metadata(None, timeout)
            .map_err(|e| e.to_string())?;
        Ok(md
            .topics()
            .iter()
            .filter(|t| t.error().is_none())
            .map(|t| (t.name().to_owned(), t.partitions().len() as i32))
            .collect())
    })
    .await
    .map_err(|e| AdminError::Client(e.to_string()))?
    .map_err(|reason| AdminError::Metadata { brokers, reason })
}

/// Creates every topic of `map` that does not exist yet.
///
/// # Errors
/// Metadata unavailable, or a creation the broker refused (other than "already exists",
/// which a concurrent creator may cause and counts as existing).
pub async fn ensure_topics(
    connection: &KafkaConnection,
    map: &TopicMap,
    timeout: Duration,
) -> Result<EnsureReport, AdminError> {
    let existing = existing_topics(connection, timeout).await?;
    let mut report = EnsureReport::default();
    let missing: Vec<&TopicSpec> = map
        .specs()
        .iter()
        .filter(|s| {
            let exists = existing.contains_key(&s.name);
            if exists {
                report.existing.push(s.name.clone());
            }
            !exists
        })
        .collect();
    if missing.is_empty() {
        return Ok(report);
    }
    let admin: AdminClient<DefaultClientContext> = connection
        .admin_config()
        .create()
        .map_err(|e| AdminError::Client(e.to_string()))?;
    let retention: Vec<String> = missing.iter().map(|s| s.retention_ms.to_string()).collect();
    let new_topics: Vec<NewTopic<'_>> = missing
        .iter()
        .zip(&retention)
        .map(|(s, retention_ms)| {
            NewTopic::new(
                &s.name,
                s.partitions,
                TopicReplication::Fixed(s.replication_factor),
            )
            .set("retention.ms", retention_ms)
        })
        .collect();
    let options = AdminOptions::new().operation_timeout(Some(timeout));
    let results = admin
        .create_topics(new_topics.iter(), &options)
        .await
        .map_err(|e| AdminError::Client(e.to_string()))?;
    for result in results {
        match result {
            Ok(name) => report.created.push(name),
            Err((name, RDKafkaErrorCode::TopicAlreadyExists)) => report.existing.push(name),
            Err((topic, code)) => {
                return Err(AdminError::Create {
                    topic,
                    reason: code.to_string(),
                });
            }
        }
    }
    Ok(report)
}

/// Every topic of the map with its state on the brokers.
///
/// # Errors
/// Metadata unavailable.
pub async fn list_topics(
    connection: &KafkaConnection,
    map: &TopicMap,
    timeout: Duration,
) -> Result<Vec<TopicStatus>, AdminError> {
    let existing = existing_topics(connection, timeout).await?;
    Ok(map
        .specs()
        .iter()
        .map(|spec| TopicStatus {
            spec: spec.clone(),
            actual_partitions: existing.get(&spec.name).copied(),
        })
        .collect())
}
