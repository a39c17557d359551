//! The key-value store behind read models and persisted service state: Redis in
//! production, an in-process map in the embedded mode. Separate from dedup claims
//! ([`crate::streaming::dedup`]), which need `SET NX EX` semantics.
//!
//! Keys are built by their owners (`{broker}:portfolio:{strategy}`,
//! `{broker}:portfolios` for the index); values are JSON text. Indexes are Redis sets, so a
//! reader lists a broker's portfolios without scanning keys. A store that cannot answer is
//! an error the caller treats as transient.

use futures::future::BoxFuture;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use thiserror::Error;

#[derive(Debug, Clone, Error, PartialEq, Eq)]
#[error("store unavailable: {0}")]
pub struct StoreError(pub String);

/// Values by key, plus named sets of keys (indexes).
pub trait Store: Send + Sync {
    /// Sets `key` to `value` and adds `key` to `index` in one step.
    ///
    /// # Errors
    /// The store is unreachable or failed.
    fn put(
        &self,
        index: &str,
        key: &str,
        value: String,
    ) -> BoxFuture<'static, Result<(), StoreError>>;

    /// Sets `key` to `value` and adds it to `index`, in one step, only if `key` does not
    /// exist yet. `Ok(false)`: it existed, nothing changed (the atomic claim of a key).
    ///
    /// # Errors
    /// The store is unreachable or failed.
    fn create(
        &self,
        index: &str,
        key: &str,
        value: String,
    ) -> BoxFuture<'static, Result<bool, StoreError>>;
    /// Sets `key` to `value` and moves `key` from index `from` to index `to`, in one
    /// step (an open order becoming a settled one).
    ///
    /// # Errors
    /// The store is unreachable or failed.
    fn put_and_move(
        &self,
        from: &str,
        to: &str,
        key: &str,
        value: String,
    ) -> BoxFuture<'static, Result<(), StoreError>>;
    /// The value of `key`, if any.
    ///
    /// # Errors
    /// The store is unreachable or failed.
    fn get(&self, key: &str) -> BoxFuture<'static, Result<Option<String>, StoreError>>;

    /// The keys in `index`, sorted.
    ///
    /// # Errors
    /// The store is unreachable or failed.
    fn members(&self, index: &str) -> BoxFuture<'static, Result<Vec<String>, StoreError>>;
}

/// Redis: `SET key value` and `SADD index key` in one MULTI/EXEC transaction.
#[derive(Clone)]
pub struct RedisStore {
    connection: redis::aio::ConnectionManager,
}

/// A Redis error as text without connection details (they can hold the password): the
/// error kind and the server's own detail.
pub(crate) fn redis_error_text(e: &redis::RedisError) -> String {
    format!(
        "{:?}{}",
        e.kind(),
        e.detail().map(|d| format!(": {d}")).unwrap_or_default()
    )
}

fn redact(e: redis::RedisError) -> StoreError {
    StoreError(redis_error_text(&e))
}

/// A reconnecting Redis connection with bounded waits, shared by the store and the dedup
/// store.
///
/// # Errors
/// Bad URL or Redis not answering in time; the text never contains the URL.
pub(crate) async fn connect_redis(
    url: &str,
    connect_timeout: Duration,
    command_timeout: Duration,
) -> Result<redis::aio::ConnectionManager, String> {
    let client =
        redis::Client::open(url).map_err(|e| format!("invalid redis url: {:?}", e.kind()))?;
    let config = redis::aio::ConnectionManagerConfig::new()
        .set_connection_timeout(Some(connect_timeout))
        .set_response_timeout(Some(command_timeout))
        .set_number_of_retries(1);
    client
        .get_connection_manager_with_config(config)
        .await
        .map_err(|e| redis_error_text(&e))
}

/// A store write as one of a record's outputs: the record is complete only once the write
/// is, and a failed write is a transient failure (retried like a failed delivery).
pub fn as_output(
    write: BoxFuture<'static, Result<(), StoreError>>,
) -> crate::streaming::producer::PendingDelivery {
    Box::pin(async move {
        write
            .await
            .map(|()| crate::streaming::producer::Delivered {
                partition: -1,
                offset: -1,
            })
            .map_err(|e| crate::streaming::producer::PublishError::Transient {
                topic: "store".into(),
                reason: e.to_string(),
            })
    })
}

impl RedisStore {
    /// Connects with bounded waits.
    ///
    /// # Errors
    /// Bad URL or Redis not answering in time (the URL itself is never in the error).
    pub async fn connect(
        url: &str,
        connect_timeout: Duration,
        command_timeout: Duration,
    ) -> Result<Self, StoreError> {
        let client = redis::Client::open(url)
            .map_err(|e| StoreError(format!("invalid redis url: {:?}", e.kind())))?;
        let config = redis::aio::ConnectionManagerConfig::new()
            .set_connection_timeout(Some(connect_timeout))
            .set_response_timeout(Some(command_timeout))
            .set_number_of_retries(1);
        let connection = client
            .get_connection_manager_with_config(config)
            .await
            .map_err(redact)?;
        Ok(RedisStore { connection })
    }
}

impl Store for RedisStore {
    fn put(
        &self,
        index: &str,
        key: &str,
        value: String,
    ) -> BoxFuture<'static, Result<(), StoreError>> {
        let mut conn = self.connection.clone();
        let (index, key) = (index.to_owned(), key.to_owned());
        Box::pin(async move {
            redis::pipe()
                .atomic()
                .cmd("SET")
                .arg(&key)
                .arg(value)
                .ignore()
                .cmd("SADD")
                .arg(&index)
                .arg(&key)
                .ignore()
                .query_async::<()>(&mut conn)
                .await
                .map_err(redact)
        })
    }

    fn create(
        &self,
        index: &str,
        key: &str,
        value: String,
    ) -> BoxFuture<'static, Result<bool, StoreError>> {
        // SET NX and SADD together, or neither: a script runs atomically in Redis.
        const CREATE: &str = "if redis.call('SET', KEYS[1], ARGV[1], 'NX') then \
            redis.call('SADD', KEYS[2], KEYS[1]) return 1 else return 0 end";
        let mut conn = self.connection.clone();
        let (index, key) = (index.to_owned(), key.to_owned());
        Box::pin(async move {
            let created: i64 = redis::Script::new(CREATE)
                .key(&key)
                .key(&index)
                .arg(value)
                .invoke_async(&mut conn)
                .await
                .map_err(redact)?;
            Ok(created == 1)
        })
    }

    fn put_and_move(
        &self,
        from: &str,
        to: &str,
        key: &str,
        value: String,
    ) -> BoxFuture<'static, Result<(), StoreError>> {
        let mut conn = self.connection.clone();
        let (from, to, key) = (from.to_owned(), to.to_owned(), key.to_owned());
        Box::pin(async move {
            redis::pipe()
                .atomic()
                .cmd("SET")
                .arg(&key)
                .arg(value)
                .ignore()
                .cmd("SREM")
                .arg(&from)
                .arg(&key)
                .ignore()
                .cmd("SADD")
                .arg(&to)
                .arg(&key)
                .ignore()
                .query_async::<()>(&mut conn)
                .await
                .map_err(redact)
        })
    }

    fn get(&self, key: &str) -> BoxFuture<'static, Result<Option<String>, StoreError>> {
        let mut conn = self.connection.clone();
        let key = key.to_owned();
        Box::pin(async move {
            redis::cmd("GET")
                .arg(&key)
                .query_async(&mut conn)
                .await
                .map_err(redact)
        })
    }

    fn members(&self, index: &str) -> BoxFuture<'static, Result<Vec<String>, StoreError>> {
        let mut conn = self.connection.clone();
        let index = index.to_owned();
        Box::pin(async move {
            let mut keys: Vec<String> = redis::cmd("SMEMBERS")
                .arg(&index)
                .query_async(&mut conn)
                .await
                .map_err(redact)?;
            keys.sort();
            Ok(keys)
        })
    }
}

/// Values by key, and index name → keys.
type Maps = (BTreeMap<String, String>, BTreeMap<String, BTreeSet<String>>);

/// The in-process store of the embedded mode (lost on exit).
#[derive(Clone, Default)]
pub struct MemoryStore {
    inner: Arc<Mutex<Maps>>,
}

impl MemoryStore {
    /// Runs `f` on the maps under the lock, as a ready future.
    fn with<R: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Maps) -> R,
    ) -> BoxFuture<'static, Result<R, StoreError>> {
        let result = self
            .inner
            .lock()
            .map(|mut g| f(&mut g))
            .map_err(|_| StoreError("memory store lock poisoned".into()));
        Box::pin(async move { result })
    }
}

impl Store for MemoryStore {
    fn put(
        &self,
        index: &str,
        key: &str,
        value: String,
    ) -> BoxFuture<'static, Result<(), StoreError>> {
        self.with(|g| {
            g.0.insert(key.to_owned(), value);
            g.1.entry(index.to_owned())
                .or_default()
                .insert(key.to_owned());
        })
    }

    fn create(
        &self,
        index: &str,
        key: &str,
        value: String,
    ) -> BoxFuture<'static, Result<bool, StoreError>> {
        self.with(|g| {
            if g.0.contains_key(key) {
                return false;
            }
            g.0.insert(key.to_owned(), value);
            g.1.entry(index.to_owned())
                .or_default()
                .insert(key.to_owned());
            true
        })
    }

    fn put_and_move(
        &self,
        from: &str,
        to: &str,
        key: &str,
        value: String,
    ) -> BoxFuture<'static, Result<(), StoreError>> {
        self.with(|g| {
            g.0.insert(key.to_owned(), value);
            if let Some(set) = g.1.get_mut(from) {
                set.remove(key);
            }
            g.1.entry(to.to_owned()).or_default().insert(key.to_owned());
        })
    }

    fn get(&self, key: &str) -> BoxFuture<'static, Result<Option<String>, StoreError>> {
        self.with(|g| g.0.get(key).cloned())
    }

    fn members(&self, index: &str) -> BoxFuture<'static, Result<Vec<String>, StoreError>> {
        self.with(|g| {
            g.1.get(index)
                .map(|s| s.iter().cloned().collect())
                .unwrap_or_default()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn memory_store_creates_a_key_only_once() {
        let s = MemoryStore::default();
        assert!(s.create("open", "o:1", "first".into()).await.unwrap());
        assert!(!s.create("open", "o:1", "second".into()).await.unwrap());
        assert_eq!(s.get("o:1").await.unwrap().as_deref(), Some("first"));
        assert_eq!(s.members("open").await.unwrap(), vec!["o:1"]);
    }

    #[tokio::test]
    async fn memory_store_moves_a_key_between_indexes_with_its_new_value() {
        let s = MemoryStore::default();
        s.put("open", "o:1", "1".into()).await.unwrap();
        s.put("open", "o:2", "2".into()).await.unwrap();
        s.put_and_move("open", "done", "o:1", "1b".into())
            .await
            .unwrap();
        assert_eq!(s.members("open").await.unwrap(), vec!["o:2"]);
        assert_eq!(s.members("done").await.unwrap(), vec!["o:1"]);
        assert_eq!(s.get("o:1").await.unwrap().as_deref(), Some("1b"));
    }

    #[tokio::test]
    async fn memory_store_keeps_values_and_indexes() {
        let s = MemoryStore::default();
        s.put("paper:portfolios", "paper:portfolio:b", "{\"x\":2}".into())
            .await
            .unwrap();
        s.put("paper:portfolios", "paper:portfolio:a", "{\"x\":1}".into())
            .await
            .unwrap();
        s.put("paper:portfolios", "paper:portfolio:a", "{\"x\":3}".into())
            .await
            .unwrap();
        assert_eq!(
            s.get("paper:portfolio:a").await.unwrap().as_deref(),
            Some("{\"x\":3}")
        );
        assert_eq!(s.get("nope").await.unwrap(), None);
        assert_eq!(
            s.members("paper:portfolios").await.unwrap(),
            vec!["paper:portfolio:a", "paper:portfolio:b"]
        );
        assert!(s.members("zerodha:portfolios").await.unwrap().is_empty());
    }
}
