//! The consumer's metrics: handler latency per message type, and partition lag read from
//! librdkafka's statistics.
//!
//! Latency is recorded for every record, so the loop keeps one histogram handle per
//! message type and observes through it (an atomic update, no lock, no allocation).
//!
//! Lag: rdkafka 0.39 has no local watermark lookup, and `fetch_watermarks` is a broker
//! round trip, so neither is done per record. Instead the consumer asks librdkafka for its
//! statistics every [`STATS_INTERVAL_MS`]; librdkafka already tracks each partition's high
//! watermark from its fetch responses and reports `consumer_lag_stored` (high watermark −
//! the offset this loop stored for commit) and `consumer_lag` (high watermark − the
//! committed offset). The gauge takes the stored lag, or the committed one while nothing is
//! stored yet; a partition whose lag librdkafka does not know (`-1`) keeps its last value.
//! The statistics arrive on the consumer's own queue, so they are read while the loop
//! polls; only the fields used here are parsed.

use crate::telemetry::metrics;
use prometheus::Histogram;
use serde::Deserialize;
use std::collections::HashMap;
use std::time::Duration;

/// How often librdkafka reports statistics (and so how fresh the lag gauge is), unless the
/// `kafka.client` settings choose their own `statistics.interval.ms`.
pub(super) const STATS_INTERVAL_MS: &str = "1000";

/// Handler latency handles of one consumer, by message type.
pub(super) struct HandlerLatency {
    service: String,
    by_message: HashMap<&'static str, Option<Histogram>>,
}

impl HandlerLatency {
    pub(super) fn new(service: &str) -> Self {
        HandlerLatency {
            service: service.to_owned(),
            by_message: HashMap::new(),
        }
    }

    /// Records that a `message` handler answered after `elapsed`.
    pub(super) fn observe(&mut self, message: &'static str, elapsed: Duration) {
        let service = &self.service;
        let histogram = self
            .by_message
            .entry(message)
            .or_insert_with(|| metrics::handler_latency_histogram(service, message));
        if let Some(h) = histogram {
            h.observe(elapsed.as_secs_f64());
        }
    }
}

/// The part of librdkafka's statistics JSON the lag gauge needs.
#[derive(Debug, Default, Deserialize)]
struct Stats {
    #[serde(default)]
    topics: HashMap<String, TopicStats>,
}

#[derive(Debug, Default, Deserialize)]
struct TopicStats {
    #[serde(default)]
    partitions: HashMap<String, PartitionStats>,
}

#[derive(Debug, Deserialize)]
struct PartitionStats {
    partition: i32,
    /// Whether the application wants this partition (assigned); librdkafka also reports
    /// partitions it merely knows of.
    #[serde(default = "yes")]
    desired: bool,
    #[serde(default = "unknown")]
    consumer_lag: i64,
    #[serde(default = "unknown")]
    consumer_lag_stored: i64,
}

fn unknown() -> i64 {
    -1
}

fn yes() -> bool {
    true
}

/// Sets `service`'s lag gauges from one statistics report, and answers the total lag of
/// the partitions assigned (`Some(None)`: none known; `None`: the report is unreadable).
pub(super) fn report_lag(service: &str, statistics: &[u8]) -> Option<Option<u64>> {
    let stats: Stats = match serde_json::from_slice(statistics) {
        Ok(stats) => stats,
        Err(e) => {
            tracing::debug!(%service, error = %e, "unreadable librdkafka statistics");
            return None;
        }
    };
    let mut total: Option<u64> = None;
    for (topic, (partition, lag), desired) in partition_lags(&stats) {
        metrics::consumer_lag(service, topic, partition, lag);
        if desired {
            *total.get_or_insert(0) += lag.unsigned_abs();
        }
    }
    Some(total)
}

/// `(topic, (partition, lag), desired)` for every real partition whose lag is known.
fn partition_lags(stats: &Stats) -> impl Iterator<Item = (&str, (i32, i64), bool)> {
    stats.topics.iter().flat_map(|(topic, t)| {
        t.partitions.values().filter_map(move |p| {
            // Partition -1 is librdkafka's internal "unassigned" queue.
            let lag = if p.consumer_lag_stored >= 0 {
                p.consumer_lag_stored
            } else {
                p.consumer_lag
            };
            (p.partition >= 0 && lag >= 0).then_some((
                topic.as_str(),
                (p.partition, lag),
                p.desired,
            ))
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn takes_the_stored_lag_then_the_committed_one_and_skips_unknowns() {
        let json = br#"{"name":"c","topics":{"market.ticks":{"topic":"market.ticks","partitions":{
            "0":{"partition":0,"hi_offset":10,"consumer_lag":6,"consumer_lag_stored":4},
            "1":{"partition":1,"hi_offset":5,"consumer_lag":5,"consumer_lag_stored":-1},
            "2":{"partition":2,"hi_offset":-1001,"consumer_lag":-1,"consumer_lag_stored":-1},
            "-1":{"partition":-1,"consumer_lag":-1,"consumer_lag_stored":-1}}}}}"#;
        let stats: Stats = serde_json::from_slice(json).unwrap_or_default();
        let mut lags: Vec<_> = partition_lags(&stats).collect();
        lags.sort();
        assert_eq!(
            lags,
            vec![
                ("market.ticks", (0, 4), true),
                ("market.ticks", (1, 5), true)
            ]
        );
    }

    #[test]
    fn reports_lag_into_the_process_registry() {
        let json = br#"{"topics":{"test.meters.topic":{"partitions":{
            "2":{"partition":2,"consumer_lag":9,"consumer_lag_stored":3}}}}}"#;
        assert_eq!(report_lag("test_meters_service", json), Some(Some(3)));
        let text = metrics::render();
        assert!(text.lines().any(|l| l
            == "alpha_panda_consumer_lag{partition=\"2\",service=\"test_meters_service\",topic=\"test.meters.topic\"} 3"));
    }

    #[test]
    fn the_total_counts_only_the_partitions_the_consumer_wants() {
        let json = br#"{"topics":{"test.meters.total":{"partitions":{
            "0":{"partition":0,"desired":true,"consumer_lag":7,"consumer_lag_stored":2},
            "1":{"partition":1,"desired":false,"consumer_lag":90,"consumer_lag_stored":-1},
            "2":{"partition":2,"desired":true,"consumer_lag":-1,"consumer_lag_stored":-1}}}}}"#;
        assert_eq!(report_lag("test_meters_total", json), Some(Some(2)));
        assert_eq!(report_lag("test_meters_total", b"{}"), Some(None));
        assert_eq!(report_lag("test_meters_total", b"not json"), None);
    }

    #[test]
    fn caches_one_histogram_per_message_type() {
        let mut latency = HandlerLatency::new("test_meters_latency");
        latency.observe("market_tick", Duration::from_micros(80));
        latency.observe("market_tick", Duration::from_millis(3));
        assert_eq!(latency.by_message.len(), 1);
        let count = latency.by_message["market_tick"]
            .as_ref()
            .map(Histogram::get_sample_count);
        assert_eq!(count, Some(2));
    }
}
