//! The embedded broker: librdkafka's in-process mock cluster, for running with no
//! infrastructure. Nothing is durable: every record is gone when the process exits.
//!
//! The mock cluster handle is not `Send`, so it lives on its own thread for as long as the
//! [`EmbeddedBroker`] value lives; dropping the value stops it.

use super::client::KafkaConnection;
use super::topics::TopicMap;
use crate::settings::KafkaSettings;
use rdkafka::mocking::MockCluster;
use std::sync::mpsc;
use std::thread::JoinHandle;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum EmbeddedError {
    #[error("cannot start the embedded broker: {0}")]
    Start(String),
    #[error("cannot create topic `{topic}` on the embedded broker: {reason}")]
    Topic { topic: String, reason: String },
}

/// A running in-process broker with every topic of the map created.
pub struct EmbeddedBroker {
    bootstrap_servers: String,
    stop: Option<mpsc::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl EmbeddedBroker {
    /// Starts a one-broker mock cluster and creates the topics.
    ///
    /// # Errors
    /// The mock cluster could not start or a topic could not be created.
    pub fn start(topics: &TopicMap) -> Result<Self, EmbeddedError> {
        let specs = topics.specs().to_vec();
        let (ready_tx, ready_rx) = mpsc::channel::<Result<String, EmbeddedError>>();
        let (stop_tx, stop_rx) = mpsc::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("embedded-broker".into())
            .spawn(move || {
                let cluster = match MockCluster::new(1) {
                    Ok(c) => c,
                    Err(e) => {
                        let _ = ready_tx.send(Err(EmbeddedError::Start(e.to_string())));
                        return;
                    }
                };
                for spec in &specs {
                    // The mock cluster has a single broker: replication is always 1.
                    if let Err(e) = cluster.create_topic(&spec.name, spec.partitions, 1) {
                        let _ = ready_tx.send(Err(EmbeddedError::Topic {
                            topic: spec.name.clone(),
                            reason: e.to_string(),
                        }));
                        return;
                    }
                }
                let _ = ready_tx.send(Ok(cluster.bootstrap_servers()));
                // Keep the cluster alive until the owner is dropped (or goes away).
                let _ = stop_rx.recv();
                drop(cluster);
            })
            .map_err(|e| EmbeddedError::Start(e.to_string()))?;
        let bootstrap_servers = ready_rx
            .recv()
            .map_err(|_| EmbeddedError::Start("broker thread exited".into()))??;
        tracing::warn!(
            %bootstrap_servers,
            "kafka.brokers = \"embedded\": using an in-process mock broker; NOTHING IS DURABLE"
        );
        Ok(EmbeddedBroker {
            bootstrap_servers,
            stop: Some(stop_tx),
            thread: Some(thread),
        })
    }

    pub fn bootstrap_servers(&self) -> &str {
        &self.bootstrap_servers
    }

    /// A connection to this broker with the given client settings.
    pub fn connection(&self, settings: &KafkaSettings) -> KafkaConnection {
        KafkaConnection::new(settings, self.bootstrap_servers.clone())
    }
}

impl Drop for EmbeddedBroker {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
