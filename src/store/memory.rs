//! The in-memory store: one process.

use std::collections::HashMap;
#[cfg(feature = "revocation")]
use std::collections::VecDeque;
use std::fmt;
#[cfg(feature = "revocation")]
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

#[cfg(feature = "revocation")]
use tokio::sync::mpsc;

use super::{BoxFuture, MAX_TTL, Store, StoreError};
#[cfg(feature = "revocation")]
use super::{Cursor, LOAD_PAGE, Loaded, Revocation, RevocationStore};
use crate::Clock;

/// Announcements buffered per subscriber before the slowest one drops some (it then resyncs).
#[cfg(feature = "revocation")]
const SUBSCRIBER_BUFFER: usize = 1024;

/// Changes kept for readers that resync; one that falls further behind reloads the whole set.
#[cfg(feature = "revocation")]
const LOG_CAPACITY: usize = 100_000;

/// Tells the in-memory stores of one process apart (their logs are not comparable).
#[cfg(feature = "revocation")]
static GENERATION: AtomicU64 = AtomicU64::new(0);

/// A [`Store`] (and [`RevocationStore`]) in this process only: for one instance, and tests.
/// Values expire by the store's [`Clock`] (the system clock unless
/// [`with_clock`](Self::with_clock) gave another), so a test that moves its clock sees leases
/// and used ids expire without waiting.
///
/// Cheap to clone: clones share one store.
#[derive(Clone)]
pub struct MemoryStore {
    inner: Arc<Inner>,
}

struct Inner {
    clock: Clock,
    values: Mutex<Values>,
    #[cfg(feature = "revocation")]
    epoch: String,
    #[cfg(feature = "revocation")]
    log: Mutex<Log>,
}

/// Short-lived values, by key: (value, expiry in ms since the epoch).
#[derive(Default)]
struct Values {
    map: HashMap<String, (String, u64)>,
    /// How many values were left after the last sweep of expired ones.
    swept_to: usize,
}

/// The revocations, their change log and the subscribers.
#[cfg(feature = "revocation")]
#[derive(Default)]
struct Log {
    entries: HashMap<String, Revocation>,
    /// The change log: (sequence number, entry), oldest first.
    log: VecDeque<(u64, Revocation)>,
    /// The sequence number of the last change.
    last: u64,
    subscribers: Vec<mpsc::Sender<Revocation>>,
}

impl fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryStore").finish_non_exhaustive()
    }
}

impl Default for MemoryStore {
    fn default() -> Self {
        Self::new()
    }
}

impl MemoryStore {
    /// An empty store on the system clock.
    pub fn new() -> Self {
        Self::with_clock(Clock::system())
    }

    /// An empty store whose values expire by `clock` (tests and simulations).
    pub fn with_clock(clock: Clock) -> Self {
        Self {
            inner: Arc::new(Inner {
                clock,
                values: Mutex::default(),
                #[cfg(feature = "revocation")]
                epoch: format!("memory-{}", GENERATION.fetch_add(1, Ordering::Relaxed)),
                #[cfg(feature = "revocation")]
                log: Mutex::default(),
            }),
        }
    }

    fn values(&self) -> MutexGuard<'_, Values> {
        self.inner.values.lock().unwrap_or_else(|e| e.into_inner())
    }

    #[cfg(feature = "revocation")]
    fn log(&self) -> MutexGuard<'_, Log> {
        self.inner.log.lock().unwrap_or_else(|e| e.into_inner())
    }

    #[cfg(feature = "revocation")]
    fn cursor(&self, at: u64) -> Cursor {
        Cursor { epoch: self.inner.epoch.clone(), at: at.to_string(), seen: at }
    }

    /// Now and the expiry of a value stored now for `ttl`, in ms.
    fn times(&self, ttl: Duration) -> (u64, u64) {
        let now = self.inner.clock.now_millis();
        (now, now.saturating_add(ttl.min(MAX_TTL).as_millis() as u64))
    }
}

impl Values {
    /// Stores a value, first forgetting expired ones whenever the table has doubled since the
    /// last sweep (amortized: values cannot pile up, and no insert scans the table each time).
    fn insert(&mut self, key: &str, value: &str, until: u64, now: u64) {
        if self.map.len() >= 2 * self.swept_to.max(512) {
            self.map.retain(|_, (_, u)| *u > now);
            self.swept_to = self.map.len();
        }
        self.map.insert(key.to_owned(), (value.to_owned(), until));
    }

    fn live(&mut self, key: &str, now: u64) -> Option<&String> {
        if self.map.get(key).is_some_and(|(_, until)| *until <= now) {
            self.map.remove(key);
        }
        self.map.get(key).map(|(v, _)| v)
    }
}

impl Store for MemoryStore {
    fn put_new(
        &self,
        key: &str,
        value: &str,
        ttl: Duration,
    ) -> BoxFuture<'_, Result<bool, StoreError>> {
        let (now, until) = self.times(ttl);
        let mut values = self.values();
        let stored = values.live(key, now).is_none();
        if stored {
            values.insert(key, value, until, now);
        }
        Box::pin(async move { Ok(stored) })
    }

    fn swap(
        &self,
        key: &str,
        value: &str,
        ttl: Duration,
    ) -> BoxFuture<'_, Result<Option<String>, StoreError>> {
        let (now, until) = self.times(ttl);
        let mut values = self.values();
        let old = values.live(key, now).cloned();
        values.insert(key, value, until, now);
        Box::pin(async move { Ok(old) })
    }

    fn get(&self, key: &str) -> BoxFuture<'_, Result<Option<String>, StoreError>> {
        let now = self.inner.clock.now_millis();
        let value = self.values().live(key, now).cloned();
        Box::pin(async move { Ok(value) })
    }

    fn delete(&self, key: &str) -> BoxFuture<'_, Result<(), StoreError>> {
        self.values().map.remove(key);
        Box::pin(async { Ok(()) })
    }

    fn is_shared(&self) -> bool {
        false
    }
}

#[cfg(feature = "revocation")]
impl RevocationStore for MemoryStore {
    fn publish(&self, entries: Vec<Revocation>) -> BoxFuture<'_, Result<(), StoreError>> {
        let mut state = self.log();
        for entry in entries {
            let field = entry.key();
            let merged = match state.entries.remove(&field) {
                Some(mut old) => {
                    old.merge(&entry);
                    old
                }
                None => entry,
            };
            state.entries.insert(field, merged.clone());
            state.last += 1;
            let seq = state.last;
            state.log.push_back((seq, merged.clone()));
            if state.log.len() > LOG_CAPACITY {
                state.log.pop_front();
            }
            state.subscribers.retain(|tx| !tx.is_closed());
            for tx in &state.subscribers {
                let _ = tx.try_send(merged.clone());
            }
        }
        Box::pin(async { Ok(()) })
    }

    fn load(&self, since: Option<Cursor>, now: u64) -> BoxFuture<'_, Result<Loaded, StoreError>> {
        let mut state = self.log();
        state.entries.retain(|_, e| e.until() >= now);
        let first = state.log.front().map_or(state.last + 1, |(seq, _)| *seq);
        let lost = since.as_ref().is_some_and(|c| c.epoch != self.inner.epoch);
        let at = since
            .filter(|c| c.epoch == self.inner.epoch)
            .map(|c| c.seen)
            // Entries after `at` must all still be in the log.
            .filter(|at| *at + 1 >= first && *at <= state.last);
        let loaded = match at {
            None => Loaded {
                entries: state.entries.values().cloned().collect(),
                cursor: self.cursor(state.last),
                lost,
                more: false,
            },
            Some(at) => {
                let skip = usize::try_from(at + 1 - first).unwrap_or(usize::MAX);
                let page: Vec<(u64, Revocation)> =
                    state.log.iter().skip(skip).take(LOAD_PAGE).cloned().collect();
                let end = page.last().map_or(at, |(seq, _)| *seq);
                Loaded {
                    more: end < state.last,
                    entries: page
                        .into_iter()
                        .map(|(_, e)| e)
                        .filter(|e| e.until() >= now)
                        .collect(),
                    cursor: self.cursor(end),
                    lost: false,
                }
            }
        };
        Box::pin(async { Ok(loaded) })
    }

    fn subscribe(&self) -> BoxFuture<'_, Result<mpsc::Receiver<Revocation>, StoreError>> {
        let (tx, rx) = mpsc::channel(SUBSCRIBER_BUFFER);
        self.log().subscribers.push(tx);
        Box::pin(async { Ok(rx) })
    }

    fn is_shared(&self) -> bool {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::Ordering;

    #[tokio::test]
    async fn values_expire_by_the_stores_clock() {
        use std::sync::atomic::AtomicU64;
        let now = Arc::new(AtomicU64::new(1_000));
        let at = now.clone();
        let store = MemoryStore::with_clock(Clock::from_fn(move || at.load(Ordering::SeqCst)));
        let advance = |s: u64| now.fetch_add(s, Ordering::SeqCst);
        let ttl = Duration::from_secs(10);
        assert_eq!(store.put_new("k", "a", ttl).await, Ok(true));
        assert_eq!(store.put_new("k", "b", ttl).await, Ok(false), "taken");
        assert_eq!(store.swap("k", "c", ttl).await, Ok(Some("a".into())));
        advance(9);
        assert_eq!(store.get("k").await, Ok(Some("c".into())));
        advance(1);
        assert_eq!(store.get("k").await, Ok(None), "expired at its ttl");
        assert_eq!(store.put_new("k", "d", ttl).await, Ok(true));
        store.delete("k").await.unwrap();
        assert_eq!(store.get("k").await, Ok(None));
    }
}
