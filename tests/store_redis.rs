//! The read-model store against a real Redis.

mod common;

use alpha_panda::store::{RedisStore, Store};
use std::time::Duration;

#[tokio::test]
async fn redis_store_writes_values_and_their_index_together() {
    let Some(url) = common::redis_url() else {
        return;
    };
    let store = RedisStore::connect(&url, Duration::from_secs(2), Duration::from_secs(2))
        .await
        .expect("redis");
    let prefix = uuid::Uuid::new_v4().simple().to_string();
    let index = format!("{prefix}:paper:portfolios");
    let (a, b) = (
        format!("{prefix}:paper:portfolio:a"),
        format!("{prefix}:paper:portfolio:b"),
    );
    store
        .put(&index, &b, r#"{"cash":"2"}"#.into())
        .await
        .unwrap();
    store
        .put(&index, &a, r#"{"cash":"1"}"#.into())
        .await
        .unwrap();
    store
        .put(&index, &a, r#"{"cash":"3"}"#.into())
        .await
        .unwrap();
    assert_eq!(
        store.get(&a).await.unwrap().as_deref(),
        Some(r#"{"cash":"3"}"#)
    );
    assert_eq!(
        store.members(&index).await.unwrap(),
        vec![a.clone(), b.clone()]
    );
    assert_eq!(store.get(&format!("{prefix}:missing")).await.unwrap(), None);

    // An open entry settling: new value, moved between indexes in one step.
    let settled = format!("{prefix}:paper:settled");
    store
        .put_and_move(&index, &settled, &a, r#"{"cash":"4"}"#.into())
        .await
        .unwrap();
    assert_eq!(store.members(&index).await.unwrap(), vec![b.clone()]);
    assert_eq!(store.members(&settled).await.unwrap(), vec![a.clone()]);
    assert_eq!(
        store.get(&a).await.unwrap().as_deref(),
        Some(r#"{"cash":"4"}"#)
    );

    // Create: only the first of two writers gets the key; its value and index stay.
    let claimed = format!("{prefix}:zerodha:order:x");
    let open = format!("{prefix}:zerodha:orders:open");
    assert!(store.create(&open, &claimed, "first".into()).await.unwrap());
    assert!(
        !store
            .create(&open, &claimed, "second".into())
            .await
            .unwrap()
    );
    assert_eq!(store.get(&claimed).await.unwrap().as_deref(), Some("first"));
    assert_eq!(store.members(&open).await.unwrap(), vec![claimed.clone()]);

    let unreachable = RedisStore::connect(
        "redis://127.0.0.1:1",
        Duration::from_millis(500),
        Duration::from_millis(500),
    )
    .await;
    assert!(unreachable.is_err());
}
