//! The read-model store against a real Redis.

mod common;

use alpha_panda::store::{ListWrite, RedisStore, Store};
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

fn ids(range: std::ops::Range<u32>) -> Vec<String> {
    range.map(|i| i.to_string()).collect()
}

#[tokio::test]
async fn redis_store_appends_to_capped_lists_with_the_value_in_one_step() {
    let Some(url) = common::redis_url() else {
        return;
    };
    let connect = || RedisStore::connect(&url, Duration::from_secs(2), Duration::from_secs(2));
    let store = connect().await.expect("redis");
    let prefix = uuid::Uuid::new_v4().simple().to_string();
    let (index, key) = (
        format!("{prefix}:risk:states"),
        format!("{prefix}:paper:risk"),
    );
    let (fills, signals) = (format!("{key}:applied_fills"), format!("{key}:validated"));
    let read = |lists: &'static [usize]| {
        let (store, key, names) = (store.clone(), key.clone(), [fills.clone(), signals.clone()]);
        async move {
            let names: Vec<&str> = lists.iter().map(|i| names[*i].as_str()).collect();
            store.get_with_lists(&key, &names).await.unwrap()
        }
    };

    // Nothing yet: no value, empty lists.
    let empty = read(&[0, 1]).await;
    assert_eq!((empty.value, empty.lists), (None, vec![vec![], vec![]]));

    // Appends, oldest first, each list trimmed to its newest `cap`.
    for i in 0..5_u32 {
        let writes = vec![
            ListWrite::append(&fills, vec![i.to_string()], 3),
            ListWrite::append(&signals, vec![format!("s{i}"), format!("t{i}")], 100),
        ];
        store
            .put_with_lists(&index, &key, format!("v{i}"), writes)
            .await
            .unwrap();
    }
    let after = read(&[0, 1]).await;
    assert_eq!(after.value.as_deref(), Some("v4"));
    assert_eq!(after.lists[0], ["2", "3", "4"]);
    assert_eq!(after.lists[1].len(), 10);
    assert_eq!(after.lists[1][..3], ["s0", "t0", "s1"]);
    assert_eq!(store.members(&index).await.unwrap(), vec![key.clone()]);

    // More members than the cap: only the newest stay. No list writes: lists untouched.
    let long = vec![ListWrite::append(&fills, ids(10..30), 5)];
    store
        .put_with_lists(&index, &key, "v5".into(), long)
        .await
        .unwrap();
    store
        .put_with_lists(&index, &key, "v6".into(), vec![])
        .await
        .unwrap();
    let after = read(&[0]).await;
    assert_eq!(after.value.as_deref(), Some("v6"));
    assert_eq!(after.lists[0], ids(25..30));

    // Replace: the list is exactly the new members; cap 0 removes the list.
    let replace = vec![
        ListWrite::replace(&fills, ids(0..2), 5),
        ListWrite::append(&signals, ids(0..1), 0),
    ];
    store
        .put_with_lists(&index, &key, "v7".into(), replace)
        .await
        .unwrap();
    let after = read(&[0, 1]).await;
    assert_eq!(after.lists, vec![ids(0..2), vec![]]);

    // One step: a reader on another connection racing the writer always finds the value's
    // own id last in the list (MULTI/EXEC for the write and for the read).
    let reader = connect().await.expect("redis");
    let start = vec![ListWrite::replace(&fills, vec!["start".into()], 20)];
    store
        .put_with_lists(&index, &key, "start".into(), start)
        .await
        .unwrap();
    let writer = {
        let (store, index, key, fills) = (store.clone(), index.clone(), key.clone(), fills.clone());
        tokio::spawn(async move {
            for i in 0..300_u32 {
                let writes = vec![ListWrite::append(&fills, vec![i.to_string()], 20)];
                store
                    .put_with_lists(&index, &key, i.to_string(), writes)
                    .await
                    .unwrap();
            }
        })
    };
    while !writer.is_finished() {
        let read = reader.get_with_lists(&key, &[&fills]).await.unwrap();
        assert_eq!(read.value.as_ref(), read.lists[0].last());
        assert!(read.lists[0].len() <= 20);
    }
    writer.await.unwrap();
    let last = reader.get_with_lists(&key, &[&fills]).await.unwrap();
    assert_eq!(last.lists[0], ids(280..300));
}
