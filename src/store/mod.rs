//! The key-value store behind read models and persisted service state: Redis in
//! production, an in-process map in the embedded mode.
//!
//! Keys are built by their owners (`{broker}:portfolio:{strategy}`,
//! `{broker}:portfolios` for the index); values are JSON text. Indexes are Redis sets, so a
//! reader lists a broker's portfolios without scanning keys. A store that cannot answer is
//! an error the caller treats as transient.
//!
//! Capped lists ([`ListWrite`]) hold a bounded history beside a value — the risk manager's
//! recently applied fill ids next to its book — so that a write appends what is new instead
//! of rewriting the whole history: the value, its index entry and the list appends are one
//! step ([`Store::put_with_lists`]), and are read back in one step
//! ([`Store::get_with_lists`]). Lists are oldest first and keep their newest `cap` members.
//!
//! A [`MemoryStore`] can be told that some indexes are write-only
//! ([`MemoryStore::write_only`]): a backtest's store, where nothing is ever read back from
//! the paper order journal (no restart, no redelivery), keeps memory flat in run length.

use futures::future::BoxFuture;
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use thiserror::Error;

#[derive(Debug, Clone, Error, PartialEq, Eq)]
#[error("store unavailable: {0}")]
pub struct StoreError(pub String);

/// Members appended to a capped list as part of [`Store::put_with_lists`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListWrite {
    /// The list's key.
    pub list: String,
    /// Appended in this order (a list is oldest first).
    pub members: Vec<String>,
    /// The list keeps its newest `cap` members; 0 empties it.
    pub cap: usize,
    /// Empty the list before appending: a whole history written at once (a migration).
    pub replace: bool,
}

impl ListWrite {
    /// Appends `members` to `list`, which then keeps its newest `cap`.
    pub fn append(list: impl Into<String>, members: Vec<String>, cap: usize) -> Self {
        ListWrite {
            list: list.into(),
            members,
            cap,
            replace: false,
        }
    }

    /// Makes `list` the newest `cap` of `members`, whatever it held before.
    pub fn replace(list: impl Into<String>, members: Vec<String>, cap: usize) -> Self {
        ListWrite {
            replace: true,
            ..Self::append(list, members, cap)
        }
    }

    /// The members that survive the cap (appending more than `cap` keeps only the last).
    fn kept(&self) -> &[String] {
        &self.members[self.members.len().saturating_sub(self.cap)..]
    }
}

/// A value and lists read in one step ([`Store::get_with_lists`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ValueWithLists {
    /// The value of the key, if any.
    pub value: Option<String>,
    /// The members of each list asked for, in the order asked, each oldest first (empty for
    /// a list that does not exist).
    pub lists: Vec<Vec<String>>,
}

/// Values by key, plus named sets of keys (indexes).
pub trait Store: Send + Sync {
    /// Whether what is written to `index` is kept (and so worth serialising): false only
    /// for a [`MemoryStore::write_only`] index, whose writers may skip the work.
    fn keeps(&self, index: &str) -> bool {
        let _ = index;
        true
    }

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

    /// Sets `key` to `value`, adds `key` to `index` and makes every list write, in one step:
    /// no reader (and no restart) sees some of it without the rest. Its cost depends on what
    /// is written, not on how long the lists are.
    ///
    /// # Errors
    /// The store is unreachable or failed.
    fn put_with_lists(
        &self,
        index: &str,
        key: &str,
        value: String,
        lists: Vec<ListWrite>,
    ) -> BoxFuture<'static, Result<(), StoreError>>;

    /// The value of `key` and the members of each of `lists`, read in one step (so they
    /// are from the same [`Store::put_with_lists`]).
    ///
    /// # Errors
    /// The store is unreachable or failed.
    fn get_with_lists(
        &self,
        key: &str,
        lists: &[&str],
    ) -> BoxFuture<'static, Result<ValueWithLists, StoreError>>;
}

/// Redis: `SET key value` and `SADD index key` in one MULTI/EXEC transaction; capped lists
/// are `RPUSH` + `LTRIM` in the same transaction.
#[derive(Clone)]
pub struct RedisStore {
    connection: redis::aio::ConnectionManager,
    /// `host:port` (never the password), named in every error.
    address: Arc<str>,
}

/// A Redis error as text without connection details (they can hold the password): the
/// error kind, the server's own detail, and for a network error its cause (the operating
/// system's words: `Connection refused (os error 111)`), or that it timed out.
pub(crate) fn redis_error_text(e: &redis::RedisError) -> String {
    let cause = if e.is_timeout() {
        ": timed out".to_owned()
    } else if e.is_io_error() {
        std::error::Error::source(e)
            .map(|c| format!(": {c}"))
            .unwrap_or_default()
    } else {
        String::new()
    };
    format!(
        "{:?}{}{cause}",
        e.kind(),
        e.detail().map(|d| format!(": {d}")).unwrap_or_default()
    )
}

/// A Redis error of the store at `address`, as [`redis_error_text`] words it.
fn redact(address: &str, e: redis::RedisError) -> StoreError {
    StoreError(format!("redis at {address}: {}", redis_error_text(&e)))
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
        let address: Arc<str> = client.get_connection_info().addr().to_string().into();
        let config = redis::aio::ConnectionManagerConfig::new()
            .set_connection_timeout(Some(connect_timeout))
            .set_response_timeout(Some(command_timeout))
            .set_number_of_retries(1);
        let connection = client
            .get_connection_manager_with_config(config)
            .await
            .map_err(|e| redact(&address, e))?;
        Ok(RedisStore {
            connection,
            address,
        })
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
        let address = self.address.clone();
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
                .map_err(|e| redact(&address, e))
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
        let address = self.address.clone();
        let (index, key) = (index.to_owned(), key.to_owned());
        Box::pin(async move {
            let created: i64 = redis::Script::new(CREATE)
                .key(&key)
                .key(&index)
                .arg(value)
                .invoke_async(&mut conn)
                .await
                .map_err(|e| redact(&address, e))?;
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
        let address = self.address.clone();
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
                .map_err(|e| redact(&address, e))
        })
    }

    fn get(&self, key: &str) -> BoxFuture<'static, Result<Option<String>, StoreError>> {
        let mut conn = self.connection.clone();
        let address = self.address.clone();
        let key = key.to_owned();
        Box::pin(async move {
            redis::cmd("GET")
                .arg(&key)
                .query_async(&mut conn)
                .await
                .map_err(|e| redact(&address, e))
        })
    }

    fn members(&self, index: &str) -> BoxFuture<'static, Result<Vec<String>, StoreError>> {
        let mut conn = self.connection.clone();
        let address = self.address.clone();
        let index = index.to_owned();
        Box::pin(async move {
            let mut keys: Vec<String> = redis::cmd("SMEMBERS")
                .arg(&index)
                .query_async(&mut conn)
                .await
                .map_err(|e| redact(&address, e))?;
            keys.sort();
            Ok(keys)
        })
    }

    fn put_with_lists(
        &self,
        index: &str,
        key: &str,
        value: String,
        lists: Vec<ListWrite>,
    ) -> BoxFuture<'static, Result<(), StoreError>> {
        let mut conn = self.connection.clone();
        let address = self.address.clone();
        let mut pipe = redis::pipe();
        pipe.atomic()
            .cmd("SET")
            .arg(key)
            .arg(value)
            .ignore()
            .cmd("SADD")
            .arg(index)
            .arg(key)
            .ignore();
        for write in &lists {
            if write.replace || write.cap == 0 {
                pipe.cmd("DEL").arg(&write.list).ignore();
            }
            let kept = write.kept();
            if kept.is_empty() {
                continue; // RPUSH needs a member; and nothing new means nothing to trim.
            }
            // Keep the newest `cap`: indexes from the end (-cap .. -1).
            let first = -i64::try_from(write.cap).unwrap_or(i64::MAX);
            pipe.cmd("RPUSH")
                .arg(&write.list)
                .arg(kept)
                .ignore()
                .cmd("LTRIM")
                .arg(&write.list)
                .arg(first)
                .arg(-1)
                .ignore();
        }
        Box::pin(async move {
            pipe.query_async::<()>(&mut conn)
                .await
                .map_err(|e| redact(&address, e))
        })
    }

    fn get_with_lists(
        &self,
        key: &str,
        lists: &[&str],
    ) -> BoxFuture<'static, Result<ValueWithLists, StoreError>> {
        let mut conn = self.connection.clone();
        let address = self.address.clone();
        let mut pipe = redis::pipe();
        pipe.atomic().cmd("GET").arg(key);
        for list in lists {
            pipe.cmd("LRANGE").arg(*list).arg(0).arg(-1);
        }
        Box::pin(async move {
            let replies: Vec<redis::Value> = pipe
                .query_async(&mut conn)
                .await
                .map_err(|e| redact(&address, e))?;
            let mut replies = replies.into_iter();
            let unexpected = |e: redis::ParsingError| StoreError(format!("unexpected reply: {e}"));
            let value = redis::from_redis_value(replies.next().unwrap_or(redis::Value::Nil))
                .map_err(unexpected)?;
            let lists = replies
                .map(|r| redis::from_redis_value(r).map_err(unexpected))
                .collect::<Result<_, _>>()?;
            Ok(ValueWithLists { value, lists })
        })
    }
}

/// Values by key, index name → keys, and list name → members (oldest first).
#[derive(Default)]
struct Maps {
    values: BTreeMap<String, String>,
    indexes: BTreeMap<String, BTreeSet<String>>,
    lists: BTreeMap<String, VecDeque<String>>,
    /// Indexes whose writes succeed but are not kept (see [`MemoryStore::write_only`]).
    write_only: Vec<String>,
}

impl Maps {
    /// Whether writes to `index` are dropped.
    fn drops(&self, index: &str) -> bool {
        self.write_only.iter().any(|w| w == index)
    }

    /// Sets `key` and adds it to `index`, unless `index` is write-only.
    fn set(&mut self, index: &str, key: &str, value: String) {
        if self.drops(index) {
            return;
        }
        self.values.insert(key.to_owned(), value);
        match self.indexes.get_mut(index) {
            Some(set) => {
                set.insert(key.to_owned());
            }
            None => {
                self.indexes
                    .insert(index.to_owned(), BTreeSet::from([key.to_owned()]));
            }
        }
    }
}

/// The in-process store of the embedded mode (lost on exit).
#[derive(Clone, Default)]
pub struct MemoryStore {
    inner: Arc<Mutex<Maps>>,
}

impl MemoryStore {
    /// A store whose writes to the keys of `indexes` succeed but are not kept: reads find
    /// nothing there and [`Store::create`] always claims. For a backtest, whose services
    /// never read back what these indexes hold (the paper order journal exists for restarts
    /// and redeliveries, and a backtest has neither), so that memory does not grow with the
    /// number of orders. Every other index behaves as in [`MemoryStore::default`].
    pub fn write_only<S: AsRef<str>>(indexes: &[S]) -> Self {
        let maps = Maps {
            write_only: indexes.iter().map(|i| i.as_ref().to_owned()).collect(),
            ..Maps::default()
        };
        MemoryStore {
            inner: Arc::new(Mutex::new(maps)),
        }
    }

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
    fn keeps(&self, index: &str) -> bool {
        self.inner.lock().map_or(true, |g| !g.drops(index))
    }

    fn put(
        &self,
        index: &str,
        key: &str,
        value: String,
    ) -> BoxFuture<'static, Result<(), StoreError>> {
        self.with(|g| g.set(index, key, value))
    }

    fn create(
        &self,
        index: &str,
        key: &str,
        value: String,
    ) -> BoxFuture<'static, Result<bool, StoreError>> {
        self.with(|g| {
            if g.values.contains_key(key) {
                return false;
            }
            g.set(index, key, value);
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
            if let Some(set) = g.indexes.get_mut(from) {
                set.remove(key);
            }
            if g.drops(to) {
                g.values.remove(key);
            }
            g.set(to, key, value);
        })
    }

    fn get(&self, key: &str) -> BoxFuture<'static, Result<Option<String>, StoreError>> {
        self.with(|g| g.values.get(key).cloned())
    }

    fn members(&self, index: &str) -> BoxFuture<'static, Result<Vec<String>, StoreError>> {
        self.with(|g| {
            g.indexes
                .get(index)
                .map(|s| s.iter().cloned().collect())
                .unwrap_or_default()
        })
    }

    fn put_with_lists(
        &self,
        index: &str,
        key: &str,
        value: String,
        lists: Vec<ListWrite>,
    ) -> BoxFuture<'static, Result<(), StoreError>> {
        self.with(|g| {
            g.set(index, key, value);
            for write in &lists {
                let list = g.lists.entry(write.list.clone()).or_default();
                if write.replace {
                    list.clear();
                }
                list.extend(write.kept().iter().cloned());
                let excess = list.len().saturating_sub(write.cap);
                list.drain(..excess);
                if list.is_empty() {
                    g.lists.remove(&write.list); // As Redis: an empty list does not exist.
                }
            }
        })
    }

    fn get_with_lists(
        &self,
        key: &str,
        lists: &[&str],
    ) -> BoxFuture<'static, Result<ValueWithLists, StoreError>> {
        self.with(|g| ValueWithLists {
            value: g.values.get(key).cloned(),
            lists: lists
                .iter()
                .map(|l| {
                    g.lists
                        .get(*l)
                        .map(|m| m.iter().cloned().collect())
                        .unwrap_or_default()
                })
                .collect(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(range: std::ops::Range<u32>) -> Vec<String> {
        range.map(|i| i.to_string()).collect()
    }

    async fn lists(s: &MemoryStore, key: &str, lists: &[&str]) -> ValueWithLists {
        s.get_with_lists(key, lists).await.unwrap()
    }

    #[tokio::test]
    async fn write_only_index_accepts_writes_but_keeps_none() {
        let s = MemoryStore::write_only(&["journal"]);
        assert!(!s.keeps("journal") && s.keeps("open"));
        assert!(s.create("journal", "j:1", "a".into()).await.unwrap());
        assert!(s.create("journal", "j:1", "b".into()).await.unwrap());
        s.put("journal", "j:2", "c".into()).await.unwrap();
        assert_eq!(s.get("j:1").await.unwrap(), None);
        assert!(s.members("journal").await.unwrap().is_empty());
        // Other indexes are kept; a key moved into a write-only index is forgotten.
        s.put("open", "o:1", "x".into()).await.unwrap();
        assert_eq!(s.get("o:1").await.unwrap().as_deref(), Some("x"));
        s.put_and_move("open", "journal", "o:1", "y".into())
            .await
            .unwrap();
        assert_eq!(s.get("o:1").await.unwrap(), None);
        assert!(s.members("open").await.unwrap().is_empty());
    }

    #[tokio::test]
    async fn memory_store_appends_to_capped_lists_with_the_value_oldest_first() {
        let s = MemoryStore::default();
        for i in 0..5 {
            let append = vec![
                ListWrite::append("k:a", vec![i.to_string()], 3),
                ListWrite::append("k:b", vec![format!("b{i}"), format!("c{i}")], 10),
            ];
            s.put_with_lists("states", "k", format!("v{i}"), append)
                .await
                .unwrap();
        }
        let read = lists(&s, "k", &["k:a", "k:b", "k:none"]).await;
        assert_eq!(read.value.as_deref(), Some("v4"));
        assert_eq!(read.lists[0], ["2", "3", "4"]);
        assert_eq!(read.lists[1].len(), 10);
        assert_eq!(read.lists[1][..2], ["b0", "c0"]);
        assert!(read.lists[2].is_empty());
        assert_eq!(s.members("states").await.unwrap(), vec!["k"]);
        // A write with no list writes leaves the lists alone.
        s.put_with_lists("states", "k", "v5".into(), vec![])
            .await
            .unwrap();
        assert_eq!(lists(&s, "k", &["k:a"]).await.lists[0], ["2", "3", "4"]);
        assert_eq!(
            lists(&s, "missing", &["k:a"]).await,
            ValueWithLists {
                value: None,
                lists: vec![ids(2..5)],
            }
        );
    }

    #[tokio::test]
    async fn memory_store_replaces_lists_and_keeps_the_newest_cap_of_a_long_append() {
        let s = MemoryStore::default();
        s.put_with_lists(
            "i",
            "k",
            "v".into(),
            vec![ListWrite::append("l", ids(0..4), 10)],
        )
        .await
        .unwrap();
        let long = vec![ListWrite::append("l", ids(4..20), 10)];
        s.put_with_lists("i", "k", "v".into(), long).await.unwrap();
        assert_eq!(lists(&s, "k", &["l"]).await.lists[0], ids(10..20));
        let replace = vec![ListWrite::replace("l", ids(0..2), 10)];
        s.put_with_lists("i", "k", "v".into(), replace)
            .await
            .unwrap();
        assert_eq!(lists(&s, "k", &["l"]).await.lists[0], ids(0..2));
        let empty = vec![ListWrite::append("l", ids(5..6), 0)];
        s.put_with_lists("i", "k", "v".into(), empty).await.unwrap();
        assert!(lists(&s, "k", &["l"]).await.lists[0].is_empty());
    }

    #[test]
    fn memory_store_writes_a_value_and_its_lists_in_one_step() {
        // A reader racing the writer always finds the value's own id last in the list.
        let s = MemoryStore::default();
        let writer = {
            let s = s.clone();
            std::thread::spawn(move || {
                futures::executor::block_on(async {
                    for i in 0..2_000 {
                        let append = vec![ListWrite::append("l", vec![i.to_string()], 50)];
                        s.put_with_lists("i", "k", i.to_string(), append)
                            .await
                            .unwrap();
                    }
                })
            })
        };
        futures::executor::block_on(async {
            while !writer.is_finished() {
                let read = lists(&s, "k", &["l"]).await;
                assert_eq!(read.value.as_ref(), read.lists[0].last());
                assert!(read.lists[0].len() <= 50);
            }
        });
        writer.join().unwrap();
        assert_eq!(
            futures::executor::block_on(lists(&s, "k", &["l"])).lists[0],
            ids(1950..2000)
        );
    }

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

    #[tokio::test]
    async fn a_redis_that_refuses_says_where_and_why_without_the_password() {
        // A port nothing listens on: bound, then released.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .unwrap();
        let url = format!("redis://:hunter2secret@127.0.0.1:{port}/0");
        let timeout = Duration::from_secs(2);
        let Err(e) = RedisStore::connect(&url, timeout, timeout).await else {
            panic!("nothing listens on {port}");
        };
        let text = e.to_string();
        assert!(
            text.starts_with(&format!("store unavailable: redis at 127.0.0.1:{port}: ")),
            "{text}"
        );
        assert!(text.to_lowercase().contains("refused"), "the cause: {text}");
        assert!(!text.contains("hunter2secret"), "{text}");
    }
}
