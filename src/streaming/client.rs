//! librdkafka client configuration, built in one place from `[kafka]`.
//!
//! Producers are idempotent with `acks=all`, so a retried send is written once per
//! partition and in order. Consumers never auto-store offsets: the consumer actor stores an
//! offset only once the record's handling and its outputs are complete, and the periodic
//! auto-commit then commits what was stored.

use crate::settings::KafkaSettings;
use rdkafka::ClientConfig;

/// Where the brokers are and how to talk to them.
#[derive(Clone, Debug)]
pub struct KafkaConnection {
    pub settings: KafkaSettings,
    /// `host:port,...` — for the embedded broker, the mock cluster's listener.
    pub bootstrap_servers: String,
}

impl KafkaConnection {
    /// A connection to the brokers named in settings (not for `embedded`: use
    /// [`super::EmbeddedBroker::connection`]).
    pub fn new(settings: &KafkaSettings, bootstrap_servers: impl Into<String>) -> Self {
        KafkaConnection {
            settings: settings.clone(),
            bootstrap_servers: bootstrap_servers.into(),
        }
    }

    fn base(&self) -> ClientConfig {
        let s = &self.settings;
        let mut cfg = ClientConfig::new();
        cfg.set("bootstrap.servers", &self.bootstrap_servers)
            .set("client.id", &s.client_id);
        for (key, value) in &s.client {
            cfg.set(key, value);
        }
        cfg
    }

    /// Idempotent producer with `acks=all`, linger (`kafka.linger_ms`) and compression
    /// from settings.
    pub fn producer_config(&self) -> ClientConfig {
        self.producer_config_with_linger(self.settings.linger_ms)
    }

    /// The tick producer's: the same with `kafka.tick_linger_ms`.
    pub fn tick_producer_config(&self) -> ClientConfig {
        self.producer_config_with_linger(self.settings.tick_linger_ms)
    }

    fn producer_config_with_linger(&self, linger_ms: u64) -> ClientConfig {
        let s = &self.settings;
        let mut cfg = self.base();
        cfg.set("enable.idempotence", "true")
            .set("acks", "all")
            .set("linger.ms", linger_ms.to_string())
            .set("compression.type", s.compression.as_librdkafka())
            .set("message.timeout.ms", s.message_timeout_ms.to_string());
        cfg
    }

    /// A group member that stores offsets explicitly and commits them periodically.
    pub fn consumer_config(&self, group_id: &str) -> ClientConfig {
        let s = &self.settings;
        let mut cfg = self.base();
        cfg.set("group.id", group_id)
            .set("enable.auto.commit", "true")
            .set("auto.commit.interval.ms", "1000")
            .set("enable.auto.offset.store", "false")
            .set("auto.offset.reset", "earliest")
            .set("enable.partition.eof", "false")
            .set("fetch.wait.max.ms", s.fetch_wait_max_ms.to_string())
            .set("session.timeout.ms", s.session_timeout_ms.to_string());
        cfg
    }

    /// For admin and metadata calls.
    pub fn admin_config(&self) -> ClientConfig {
        self.base()
    }
}
