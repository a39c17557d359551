//! The rig of the actor tests: the fake Kite REST server on 127.0.0.1, a probe as the
//! producer and the in-memory journal and dedup stores (tests/zerodha_execution.rs runs
//! the restart scenario against Redis and a real broker).

use super::*;
use crate::actors::risk_manager::{SetTradingState, TradingHolds};
use crate::kite::fake::{FakeKite, FakeKiteConfig};
use crate::kite::orders::{Product, Variety};
use crate::kite::rest::{KiteClient, KiteClientConfig, RateLimits};
use crate::market::InstrumentRegistry;
use crate::messages::{Envelope, Payload, RecordOrigin, ValidatedSignal, decode};
use crate::paper::ChargeSchedule;
use crate::risk::TradingState;
use crate::settings::Secret;
use crate::store::MemoryStore;
use crate::streaming::ProducerHandle;
use crate::streaming::consumer::Deliver;
use crate::streaming::producer::Publish;
use crate::testkit::Probe;
use actix::prelude::*;
use rust_decimal::Decimal;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

pub(super) const WAIT: Duration = Duration::from_secs(10);

pub(super) fn d(text: &str) -> Decimal {
    Decimal::from_str(text).unwrap()
}

/// The fake, the probes and the shared stores one scenario uses.
pub(super) struct Rig {
    pub(super) kite: FakeKite,
    pub(super) published: Probe<Publish>,
    pub(super) kill_switch: Probe<SetTradingState>,
    pub(super) store: Arc<MemoryStore>,
    pub(super) holds: TradingHolds,
}

impl Rig {
    pub(super) async fn new() -> Rig {
        Rig {
            kite: FakeKite::start(FakeKiteConfig::default()).await.unwrap(),
            published: Probe::acking_producer(),
            kill_switch: Probe::with_reply(|_| Ok(TradingState::Halted)),
            store: Arc::new(MemoryStore::default()),
            holds: TradingHolds::default(),
        }
    }

    pub(super) fn args(&self) -> ZerodhaExecutionArgs {
        let client = KiteClient::new(client_config(self)).unwrap();
        ZerodhaExecutionArgs {
            client,
            dry_run: false,
            registry: Arc::new(InstrumentRegistry::embedded().unwrap()),
            order_kinds: Default::default(),
            default_kind: (Product::Mis, Variety::Regular),
            market_protection: -1,
            limit_buffers: Default::default(),
            charges: ChargeSchedule::default(),
            fno: crate::settings::Settings::load_from(None, &Default::default())
                .unwrap()
                .fno,
            producer: ProducerHandle::new(self.published.recipient()),
            store: self.store.clone(),
            holds: self.holds.clone(),
            kill_switch: Some(self.kill_switch.recipient()),
            poll_interval: Duration::from_millis(20),
            settle: Duration::from_secs(60),
            max_signal_age: Duration::from_secs(60),
            order_timeout: Duration::ZERO,
            reconcile_interval: Duration::from_secs(3600),
            reconcile_retry_initial: Duration::from_millis(10),
            reconcile_retry_max: Duration::from_millis(50),
        }
    }

    pub(super) fn start(&self, args: ZerodhaExecutionArgs) -> Addr<ZerodhaExecution> {
        ZerodhaExecution::new(args).start()
    }

    /// The next published event, which must be of type `T`.
    pub(super) async fn expect<T: Payload>(&mut self) -> (String, Envelope<T>) {
        let Publish(record) = self.published.expect_msg(WAIT).await;
        let envelope = decode::<T>(&record.value)
            .unwrap_or_else(|e| panic!("{} on {}: {e}", T::TYPE.as_str(), record.topic));
        (record.topic, envelope)
    }

    /// Waits until the actor has completed `n` more polls, then asserts nothing more was
    /// published: the polls saw the same state and produced nothing new.
    pub(super) async fn expect_quiet_over_polls(&mut self, addr: &Addr<ZerodhaExecution>, n: u64) {
        let start = addr.send(GetZerodhaStats).await.unwrap().polls;
        tokio::time::timeout(WAIT, async {
            while addr.send(GetZerodhaStats).await.unwrap().polls < start + n {
                tokio::task::yield_now().await;
            }
        })
        .await
        .expect("polls continue");
        let extra = self.published.drain();
        assert!(extra.is_empty(), "published more: {extra:?}");
    }
}

pub(super) fn deliver(envelope: &Envelope<ValidatedSignal>) -> Deliver<ValidatedSignal> {
    Deliver {
        envelope: envelope.clone(),
        origin: RecordOrigin {
            topic: "zerodha.signals.validated".into(),
            partition: 0,
            offset: 0,
        },
    }
}

/// Waits for a handling's outcome: its answer, then every delivery it left in flight (a
/// placement runs on after the handler answered, as the consumer sees it).
pub(super) async fn completed(answer: crate::streaming::consumer::HandlerResult) {
    let completion = answer.expect("handled");
    futures::future::try_join_all(completion.deliveries)
        .await
        .expect("the handling completed");
}

/// Delivers `signal` and waits until its handling completed.
pub(super) async fn handled(addr: &Addr<ZerodhaExecution>, signal: &Envelope<ValidatedSignal>) {
    completed(addr.send(deliver(signal)).await.unwrap()).await;
}

pub(super) fn form_value<'a>(form: &'a [(String, String)], name: &str) -> Option<&'a str> {
    form.iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

pub(super) fn client_config(rig: &Rig) -> KiteClientConfig {
    let config = FakeKiteConfig::default();
    KiteClientConfig {
        base_url: rig.kite.base_url(),
        api_key: Secret::new(config.api_key),
        access_token: Secret::new(config.access_token),
        timeout: Duration::from_secs(5),
        limits: RateLimits::default(),
        rate_limit_backoff: Duration::from_millis(10),
        rate_limit_backoff_max: Duration::from_millis(40),
    }
}

pub(super) async fn wait_reconciled(addr: &Addr<ZerodhaExecution>) {
    tokio::time::timeout(WAIT, async {
        // The start-up position reconciliation follows at once: wait for it too, so its
        // requests never mix with a scenario's.
        while addr
            .send(GetZerodhaStats)
            .await
            .unwrap()
            .position_reconciliations
            == 0
        {
            tokio::task::yield_now().await;
        }
    })
    .await
    .expect("reconciled");
}
