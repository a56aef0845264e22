//! The in-memory backend: one process.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::mpsc;

use super::{Backend, BoxFuture, Cursor, Entry, LOAD_PAGE, Loaded, StateError};

/// Announcements buffered per subscriber before the slowest one drops some (it then resyncs).
const SUBSCRIBER_BUFFER: usize = 1024;

/// Changes kept for readers that resync; one that falls further behind reloads the whole set.
const LOG_CAPACITY: usize = 100_000;

/// Tells the in-memory states of one process apart (their logs are not comparable).
static GENERATION: AtomicU64 = AtomicU64::new(0);

pub(super) struct Memory {
    epoch: String,
    state: Mutex<State>,
}

impl Default for Memory {
    fn default() -> Self {
        let epoch = format!("memory-{}", GENERATION.fetch_add(1, Ordering::Relaxed));
        Self { epoch, state: Mutex::default() }
    }
}

#[derive(Default)]
#[cfg_attr(not(feature = "lifecycle"), allow(dead_code))]
struct State {
    entries: HashMap<String, Entry>,
    /// The change log: (sequence number, entry), oldest first.
    log: VecDeque<(u64, Entry)>,
    /// The sequence number of the last change.
    last: u64,
    values: HashMap<String, (Option<String>, Instant)>,
    /// How many values were left after the last sweep of expired ones.
    values_swept_to: usize,
    subscribers: Vec<mpsc::Sender<Entry>>,
}

impl Memory {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn cursor(&self, at: u64) -> Cursor {
        Cursor { epoch: self.epoch.clone(), at: at.to_string(), seen: at }
    }
}

impl State {
    /// Stores a value, first forgetting expired ones whenever the table has doubled since the
    /// last sweep (amortized: values cannot pile up, and no insert scans the table each time).
    fn insert_value(&mut self, key: &str, value: &str, until: Instant, now: Instant) {
        if self.values.len() >= 2 * self.values_swept_to.max(512) {
            self.values.retain(|_, (_, u)| *u > now);
            self.values_swept_to = self.values.len();
        }
        self.values.insert(key.to_owned(), (Some(value.to_owned()), until));
    }

    fn live_value(&mut self, key: &str, now: Instant) -> Option<&(Option<String>, Instant)> {
        if self.values.get(key).is_some_and(|(_, until)| *until <= now) {
            self.values.remove(key);
        }
        self.values.get(key)
    }
}

impl Backend for Memory {
    fn publish(&self, entries: Vec<Entry>) -> BoxFuture<'_, Result<(), StateError>> {
        let mut state = self.lock();
        for entry in entries {
            let field = entry.field();
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

    fn load(&self, since: Option<Cursor>, now: u64) -> BoxFuture<'_, Result<Loaded, StateError>> {
        let mut state = self.lock();
        state.entries.retain(|_, e| e.until() >= now);
        let first = state.log.front().map_or(state.last + 1, |(seq, _)| *seq);
        let lost = since.as_ref().is_some_and(|c| c.epoch != self.epoch);
        let at = since
            .filter(|c| c.epoch == self.epoch)
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
                let page: Vec<(u64, Entry)> =
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

    fn subscribe(&self) -> BoxFuture<'_, Result<mpsc::Receiver<Entry>, StateError>> {
        let (tx, rx) = mpsc::channel(SUBSCRIBER_BUFFER);
        self.lock().subscribers.push(tx);
        Box::pin(async { Ok(rx) })
    }

    fn put_new(
        &self,
        key: &str,
        value: &str,
        ttl: Duration,
    ) -> BoxFuture<'_, Result<bool, StateError>> {
        let now = Instant::now();
        let mut state = self.lock();
        let stored = if state.live_value(key, now).is_some() {
            false
        } else {
            state.insert_value(key, value, now + ttl.min(super::MAX_TTL), now);
            true
        };
        Box::pin(async move { Ok(stored) })
    }

    fn swap(
        &self,
        key: &str,
        value: &str,
        ttl: Duration,
    ) -> BoxFuture<'_, Result<Option<String>, StateError>> {
        let now = Instant::now();
        let mut state = self.lock();
        let old = state.live_value(key, now).and_then(|(v, _)| v.clone());
        state.insert_value(key, value, now + ttl.min(super::MAX_TTL), now);
        Box::pin(async move { Ok(old) })
    }

    fn get(&self, key: &str) -> BoxFuture<'_, Result<Option<String>, StateError>> {
        let now = Instant::now();
        let value = self.lock().live_value(key, now).and_then(|(v, _)| v.clone());
        Box::pin(async move { Ok(value) })
    }

    fn delete(&self, key: &str) -> BoxFuture<'_, Result<(), StateError>> {
        self.lock().values.remove(key);
        Box::pin(async { Ok(()) })
    }

    fn is_shared(&self) -> bool {
        false
    }
}
