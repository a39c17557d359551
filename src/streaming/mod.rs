//! Everything Kafka: the topic map, client configuration, the embedded broker, the producer
//! and consumer actors, retries, dead-lettering and topic administration.

pub mod admin;
pub mod client;
pub mod consumer;
pub mod dlq;
pub mod embedded;
pub mod health;
pub mod history;
pub mod producer;
pub mod retry;
pub mod tail;
pub mod topics;
pub mod watch;

pub use client::KafkaConnection;
pub use embedded::EmbeddedBroker;
pub use health::BrokerHealth;
pub use producer::{Outbox, ProducerActor, ProducerHandle, Published};
pub use topics::{Stream, Topic, TopicMap};
