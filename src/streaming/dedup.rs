//! Duplicate detection for side-effecting handlers (orders, fills, portfolio).
//!
//! At-least-once delivery plus deterministic event ids plus an atomic claim here gives
//! effectively-once processing. The claim is one atomic step (`SET key 1 NX EX ttl` in
//! Redis), never check-then-set, so concurrent deliveries of one id let exactly one through.
//! A store that cannot answer is an error — the handler must treat it as transient and
//! retry — never "not a duplicate".

use futures::future::BoxFuture;
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use thiserror::Error;
use uuid::Uuid;

/// The store could not answer; retry later.
#[derive(Debug, Clone, Error, PartialEq, Eq)]
#[error("dedup store unavailable: {0}")]
pub struct DedupError(pub String);

/// Outcome of a claim.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Claim {
    /// First time this service sees the event: go ahead.
    First,
    /// Already claimed: skip the side effect.
    Duplicate,
}

/// A place to claim event ids, per service.
pub trait DedupStore: Send + Sync {
    /// Atomically claims `event_id` for `service` for `ttl`.
    ///
    /// # Errors
    /// The store is unreachable or failed; the caller must retry, not proceed.
    fn claim(
        &self,
        service: &str,
        event_id: Uuid,
        ttl: Duration,
    ) -> BoxFuture<'static, Result<Claim, DedupError>>;

    /// Releases a claim whose side effect failed, so a redelivery can try again.
    ///
    /// # Errors
    /// The store is unreachable or failed.
    fn release(&self, service: &str, event_id: Uuid) -> BoxFuture<'static, Result<(), DedupError>>;
}

/// The Redis key for a claim.
pub fn dedup_key(service: &str, event_id: Uuid) -> String {
    format!("dedup:{service}:{event_id}")
}

/// Claims in Redis with `SET NX EX`, shared by every process of the deployment.
#[derive(Clone)]
pub struct RedisDedup {
    connection: redis::aio::ConnectionManager,
}

impl RedisDedup {
    /// Connects (with a bounded wait) to the Redis at `url`.
    ///
    /// # Errors
    /// Bad URL or Redis not answering within the timeouts. The error never contains the
    /// URL, which may hold a password.
    pub async fn connect(
        url: &str,
        connect_timeout: Duration,
        command_timeout: Duration,
    ) -> Result<Self, DedupError> {
        let connection = crate::store::connect_redis(url, connect_timeout, command_timeout)
            .await
            .map_err(DedupError)?;
        Ok(RedisDedup { connection })
    }
}

fn redact(e: redis::RedisError) -> DedupError {
    DedupError(crate::store::redis_error_text(&e))
}

impl DedupStore for RedisDedup {
    fn claim(
        &self,
        service: &str,
        event_id: Uuid,
        ttl: Duration,
    ) -> BoxFuture<'static, Result<Claim, DedupError>> {
        let mut conn = self.connection.clone();
        let key = dedup_key(service, event_id);
        let ttl_secs = ttl.as_secs().max(1);
        Box::pin(async move {
            let set: Option<String> = redis::cmd("SET")
                .arg(&key)
                .arg(1)
                .arg("NX")
                .arg("EX")
                .arg(ttl_secs)
                .query_async(&mut conn)
                .await
                .map_err(redact)?;
            Ok(if set.is_some() {
                Claim::First
            } else {
                Claim::Duplicate
            })
        })
    }

    fn release(&self, service: &str, event_id: Uuid) -> BoxFuture<'static, Result<(), DedupError>> {
        let mut conn = self.connection.clone();
        let key = dedup_key(service, event_id);
        Box::pin(async move {
            let _: i64 = redis::cmd("DEL")
                .arg(&key)
                .query_async(&mut conn)
                .await
                .map_err(redact)?;
            Ok(())
        })
    }
}

/// In-process claims for the embedded mode: bounded (oldest claims evicted first) and
/// expiring. Not shared between processes and lost on exit.
#[derive(Clone)]
pub struct MemoryDedup {
    inner: Arc<Mutex<MemoryInner>>,
}

struct MemoryInner {
    capacity: usize,
    expires: HashMap<String, Instant>,
    order: VecDeque<String>,
}

impl MemoryDedup {
    pub fn new(capacity: usize) -> Self {
        MemoryDedup {
            inner: Arc::new(Mutex::new(MemoryInner {
                capacity: capacity.max(1),
                expires: HashMap::new(),
                order: VecDeque::new(),
            })),
        }
    }

    fn claim_now(&self, key: String, ttl: Duration, now: Instant) -> Result<Claim, DedupError> {
        let mut inner = self
            .inner
            .lock()
            .map_err(|_| DedupError("memory dedup lock poisoned".into()))?;
        if let Some(expiry) = inner.expires.get(&key)
            && *expiry > now
        {
            return Ok(Claim::Duplicate);
        }
        while inner.expires.len() >= inner.capacity {
            match inner.order.pop_front() {
                Some(old) => {
                    inner.expires.remove(&old);
                }
                None => break,
            }
        }
        if inner.expires.insert(key.clone(), now + ttl).is_none() {
            inner.order.push_back(key);
        }
        Ok(Claim::First)
    }
}

impl DedupStore for MemoryDedup {
    fn claim(
        &self,
        service: &str,
        event_id: Uuid,
        ttl: Duration,
    ) -> BoxFuture<'static, Result<Claim, DedupError>> {
        let result = self.claim_now(dedup_key(service, event_id), ttl, Instant::now());
        Box::pin(async move { result })
    }

    fn release(&self, service: &str, event_id: Uuid) -> BoxFuture<'static, Result<(), DedupError>> {
        let key = dedup_key(service, event_id);
        let result = self
            .inner
            .lock()
            .map(|mut inner| {
                // The key stays in `order`; eviction of an absent key is a no-op.
                inner.expires.remove(&key);
            })
            .map_err(|_| DedupError("memory dedup lock poisoned".into()));
        Box::pin(async move { result })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_claims_once_until_expiry_and_release() {
        let d = MemoryDedup::new(10);
        let now = Instant::now();
        let ttl = Duration::from_secs(60);
        assert_eq!(d.claim_now("a".into(), ttl, now), Ok(Claim::First));
        assert_eq!(d.claim_now("a".into(), ttl, now), Ok(Claim::Duplicate));
        assert_eq!(
            d.claim_now("a".into(), ttl, now + Duration::from_secs(61)),
            Ok(Claim::First),
            "an expired claim can be taken again"
        );
    }

    #[test]
    fn memory_store_is_bounded_and_evicts_oldest() {
        let d = MemoryDedup::new(2);
        let now = Instant::now();
        let ttl = Duration::from_secs(60);
        for k in ["a", "b", "c"] {
            assert_eq!(d.claim_now(k.into(), ttl, now), Ok(Claim::First));
        }
        assert_eq!(d.inner.lock().unwrap().expires.len(), 2);
        assert_eq!(d.claim_now("c".into(), ttl, now), Ok(Claim::Duplicate));
        assert_eq!(
            d.claim_now("a".into(), ttl, now),
            Ok(Claim::First),
            "a was evicted"
        );
    }

    #[tokio::test]
    async fn released_claim_can_be_taken_again() {
        let d = MemoryDedup::new(10);
        let id = Uuid::new_v4();
        let ttl = Duration::from_secs(60);
        assert_eq!(d.claim("svc", id, ttl).await, Ok(Claim::First));
        d.release("svc", id).await.unwrap();
        assert_eq!(d.claim("svc", id, ttl).await, Ok(Claim::First));
        assert_eq!(
            d.claim("other", id, ttl).await,
            Ok(Claim::First),
            "per service"
        );
    }
}
