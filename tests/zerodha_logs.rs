//! What Zerodha execution writes to the logs: the exact request of a dry run, the loud
//! halt on a token error — and never the access token or the API secret. A test binary of
//! its own, because log capture needs the process-wide subscriber.

use actix::prelude::*;
use alpha_panda::actors::risk_manager::{SetTradingState, TradingHolds};
use alpha_panda::actors::zerodha_execution::{
    GetZerodhaStats, ZerodhaExecution, ZerodhaExecutionArgs,
};
use alpha_panda::kite::fake::{FakeKite, FakeKiteConfig};
use alpha_panda::kite::orders::{Product, Variety};
use alpha_panda::kite::rest::{KiteClient, KiteClientConfig, RateLimits};
use alpha_panda::market::InstrumentRegistry;
use alpha_panda::messages::{
    Broker, Envelope, RecordOrigin, Side, ValidatedSignal, client_order_id,
};
use alpha_panda::paper::ChargeSchedule;
use alpha_panda::risk::TradingState;
use alpha_panda::settings::Secret;
use alpha_panda::store::MemoryStore;
use alpha_panda::streaming::ProducerHandle;
use alpha_panda::streaming::consumer::Deliver;
use alpha_panda::streaming::producer::Publish;
use alpha_panda::testkit::Probe;
use alpha_panda::testkit::fixtures::validated_signal;
use alpha_panda::testkit::logs::capture_global;
use std::sync::Arc;
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(10);

fn args(
    kite: &FakeKite,
    published: &Probe<Publish>,
    kill: &Probe<SetTradingState>,
) -> ZerodhaExecutionArgs {
    let config = FakeKiteConfig::default();
    ZerodhaExecutionArgs {
        client: KiteClient::new(KiteClientConfig {
            base_url: kite.base_url(),
            api_key: Secret::new(config.api_key),
            access_token: Secret::new(config.access_token),
            timeout: Duration::from_secs(5),
            limits: RateLimits::default(),
            rate_limit_backoff: Duration::from_millis(10),
            rate_limit_backoff_max: Duration::from_millis(40),
        })
        .unwrap(),
        dry_run: false,
        registry: Arc::new(InstrumentRegistry::embedded().unwrap()),
        order_kinds: Default::default(),
        default_kind: (Product::Mis, Variety::Regular),
        market_protection: -1,
        limit_buffers: Default::default(),
        charges: ChargeSchedule::default(),
        fno: alpha_panda::settings::Settings::load_from(None, &Default::default())
            .unwrap()
            .fno,
        producer: ProducerHandle::new(published.recipient()),
        store: Arc::new(MemoryStore::default()),
        holds: TradingHolds::default(),
        kill_switch: Some(kill.recipient()),
        poll_interval: Duration::from_secs(3600),
        settle: Duration::from_secs(60),
        max_signal_age: Duration::from_secs(60),
        order_timeout: Duration::ZERO,
        reconcile_interval: Duration::from_secs(3600),
        reconcile_retry_initial: Duration::from_millis(10),
        reconcile_retry_max: Duration::from_millis(50),
    }
}

fn deliver(envelope: &Envelope<ValidatedSignal>) -> Deliver<ValidatedSignal> {
    Deliver {
        envelope: envelope.clone(),
        origin: RecordOrigin {
            topic: "zerodha.signals.validated".into(),
            partition: 0,
            offset: 0,
        },
    }
}

async fn reconciled(addr: &Addr<ZerodhaExecution>) {
    tokio::time::timeout(WAIT, async {
        while !addr.send(GetZerodhaStats).await.unwrap().reconciled {
            tokio::task::yield_now().await;
        }
    })
    .await
    .expect("reconciled");
}

fn assert_no_secrets(text: &str) {
    let config = FakeKiteConfig::default();
    assert!(
        !text.contains(&config.access_token),
        "the access token leaked into the logs"
    );
    assert!(
        !text.contains(&config.api_secret),
        "the API secret leaked into the logs"
    );
}

#[actix::test]
async fn a_token_error_is_logged_loudly_and_the_token_never() {
    let logs = capture_global();
    let kite = FakeKite::start(FakeKiteConfig::default()).await.unwrap();
    let (published, mut kill) = (
        Probe::acking_producer(),
        Probe::with_reply(|_| Ok(TradingState::Halted)),
    );
    let addr = ZerodhaExecution::new(args(&kite, &published, &kill)).start();
    reconciled(&addr).await;
    kite.expire_token();
    let signal = validated_signal(Broker::Zerodha, Side::Buy, 10);
    let completion = addr.send(deliver(&signal)).await.unwrap().unwrap();
    // The placement runs on after the handler answered; its outcome completes the record.
    futures::future::try_join_all(completion.deliveries)
        .await
        .unwrap();
    kill.expect_msg(WAIT).await;
    let text = logs.text();
    let id = client_order_id(signal.id);
    let refused = text
        .lines()
        .find(|l| l.contains("Kite refused the order") && l.contains(&id))
        .unwrap_or_else(|| panic!("no refusal logged for {id}:\n{text}"));
    assert!(refused.contains("HTTP 403"), "{refused}");
    assert!(
        text.contains("KITE REJECTED THE ACCESS TOKEN: zerodha trading is HALTED"),
        "{text}"
    );
    assert_no_secrets(&text);
}

#[actix::test]
async fn a_dry_run_logs_the_exact_request_and_no_secret() {
    let logs = capture_global();
    let kite = FakeKite::start(FakeKiteConfig::default()).await.unwrap();
    let (published, kill) = (
        Probe::acking_producer(),
        Probe::with_reply(|_| Ok(TradingState::Halted)),
    );
    let mut dry = args(&kite, &published, &kill);
    dry.dry_run = true;
    let addr = ZerodhaExecution::new(dry).start();
    let signal = validated_signal(Broker::Zerodha, Side::Buy, 10);
    let completion = addr.send(deliver(&signal)).await.unwrap().unwrap();
    // The placement runs on after the handler answered; its outcome completes the record.
    futures::future::try_join_all(completion.deliveries)
        .await
        .unwrap();
    assert!(kite.requests().is_empty(), "{:?}", kite.requests());
    let text = logs.text();
    let expected = format!(
        "POST {}/orders/regular exchange=NSE&tradingsymbol=INFY&transaction_type=BUY&quantity=10&product=MIS&order_type=MARKET&validity=DAY&tag={}",
        kite.base_url(),
        client_order_id(signal.id)
    );
    assert!(text.contains(&expected), "{text}");
    assert!(text.contains("dry run: order not sent"), "{text}");
    assert_no_secrets(&text);
}
