//! Following partitions live from given offsets, for one process alone: no consumer
//! group, nothing committed. A service that rebuilt its state from [`super::history`]
//! tails the same partitions from the ends the rebuild stopped at, so every record is
//! applied exactly once per process — and every process that runs the service sees every
//! record (the strategy runner needs all fills of its strategies, whichever process's
//! consumer group got which partition).
//!
//! Each record is decoded and handed to its owner through a [`Routes`] table and the
//! answer awaited before the next, so records reach the owner in partition order. A record
//! that does not decode, or whose handler fails, is logged and skipped: the service's
//! group consumers own dead-lettering; a tail only keeps a belief up to date.

use super::client::KafkaConnection;
use super::consumer::Routes;
use crate::messages::RecordOrigin;
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::message::Message;
use rdkafka::{Offset, TopicPartitionList};
use thiserror::Error;

#[derive(Debug, Error)]
pub enum TailError {
    #[error("tailing {what}: {reason}")]
    Kafka { what: String, reason: String },
}

/// Follows `from` (`(topic, partition, first offset)`) until an error; records go to their
/// owners through `routes`.
///
/// # Errors
/// The consumer could not be created or assigned, or the broker failed fatally.
pub async fn tail(
    connection: KafkaConnection,
    from: Vec<(String, i32, i64)>,
    routes: Routes,
    service: &str,
) -> Result<(), TailError> {
    let fail = |reason: String| TailError::Kafka {
        what: service.to_owned(),
        reason,
    };
    let group = format!(
        "{}.tail.{service}.{}",
        connection.settings.group_prefix,
        uuid::Uuid::new_v4().simple()
    );
    let consumer: StreamConsumer = connection
        .consumer_config(&group)
        .set("enable.auto.commit", "false")
        .create()
        .map_err(|e| fail(e.to_string()))?;
    let mut tpl = TopicPartitionList::new();
    for (topic, partition, offset) in &from {
        tpl.add_partition_offset(topic, *partition, Offset::Offset(*offset))
            .map_err(|e| fail(e.to_string()))?;
    }
    consumer.assign(&tpl).map_err(|e| fail(e.to_string()))?;
    loop {
        let message = match consumer.recv().await {
            Ok(message) => message,
            Err(e) => {
                tracing::warn!(service, error = %e, "tail: receive failed; retrying in 1 s");
                tokio::time::sleep(std::time::Duration::from_secs(1)).await;
                continue;
            }
        };
        let origin = RecordOrigin {
            topic: message.topic().to_owned(),
            partition: message.partition(),
            offset: message.offset(),
        };
        let value = message.payload().unwrap_or_default();
        match routes.deliver(value, origin.clone()) {
            None => {}
            Some(Err(e)) => {
                tracing::warn!(service, topic = %origin.topic, offset = origin.offset, error = %e, "tail: undecodable record skipped");
            }
            Some(Ok(answer)) => {
                if let Err(e) = answer.await {
                    tracing::warn!(service, topic = %origin.topic, offset = origin.offset, error = %e, "tail: handler failed; record skipped");
                }
            }
        }
    }
}
