//! The in-memory backend: one process.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use tokio::sync::mpsc;

use super::{Backend, BoxFuture, Entry, StateError};

/// Announcements buffered per subscriber before the slowest one drops some (it then resyncs).
const SUBSCRIBER_BUFFER: usize = 1024;

#[derive(Default)]
pub(super) struct Memory {
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    entries: HashMap<String, Entry>,
    values: HashMap<String, (Option<String>, Instant)>,
    subscribers: Vec<mpsc::Sender<Entry>>,
}

fn merge(old: Option<&Entry>, new: Entry) -> Entry {
    match (old, new) {
        (Some(Entry::User { before: b0, until: u0, .. }), Entry::User { sub, before, until }) => {
            Entry::User { sub, before: before.max(*b0), until: until.max(*u0) }
        }
        (
            Some(Entry::Session { until: u0, issued_before: b0, .. }),
            Entry::Session { sid, until, issued_before },
        ) => Entry::Session {
            sid,
            until: until.max(*u0),
            issued_before: super::widest(*b0, issued_before),
        },
        (_, new) => new,
    }
}

impl Memory {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Backend for Memory {
    fn publish(&self, entry: Entry) -> BoxFuture<'_, Result<(), StateError>> {
        let mut state = self.lock();
        let field = entry.field();
        let merged = merge(state.entries.get(&field), entry);
        state.entries.insert(field, merged.clone());
        state.subscribers.retain(|tx| !tx.is_closed());
        for tx in &state.subscribers {
            let _ = tx.try_send(merged.clone());
        }
        Box::pin(async { Ok(()) })
    }

    fn load(&self, now: u64) -> BoxFuture<'_, Result<Vec<Entry>, StateError>> {
        let mut state = self.lock();
        state.entries.retain(|_, e| e.until() >= now);
        let all = state.entries.values().cloned().collect();
        Box::pin(async { Ok(all) })
    }

    fn subscribe(&self) -> BoxFuture<'_, Result<mpsc::Receiver<Entry>, StateError>> {
        let (tx, rx) = mpsc::channel(SUBSCRIBER_BUFFER);
        self.lock().subscribers.push(tx);
        Box::pin(async { Ok(rx) })
    }

    fn lease(&self, key: &str, ttl: Duration) -> BoxFuture<'_, Result<bool, StateError>> {
        let mut state = self.lock();
        let now = Instant::now();
        let ttl = ttl.min(super::MAX_TTL);
        state.values.retain(|_, (_, until)| *until > now);
        let taken = if state.values.contains_key(key) {
            false
        } else {
            state.values.insert(key.to_owned(), (None, now + ttl));
            true
        };
        Box::pin(async move { Ok(taken) })
    }

    fn put(&self, key: &str, value: &str, ttl: Duration) -> BoxFuture<'_, Result<(), StateError>> {
        let until = Instant::now() + ttl.min(super::MAX_TTL);
        self.lock().values.insert(key.to_owned(), (Some(value.to_owned()), until));
        Box::pin(async { Ok(()) })
    }

    fn get(&self, key: &str) -> BoxFuture<'_, Result<Option<String>, StateError>> {
        let now = Instant::now();
        let value = self
            .lock()
            .values
            .get(key)
            .filter(|(_, until)| *until > now)
            .and_then(|(v, _)| v.clone());
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
