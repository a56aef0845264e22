//! The Redis backend (feature `redis`), on the `redis` crate: a `ConnectionManager` (one
//! multiplexed connection that reconnects on its own) for commands, and a pub/sub connection
//! per subscription. Every command runs under a timeout.
//!
//! Keys, under the prefix (default `axum-session-mfa`): `<prefix>:revoked` (a hash, one field
//! per revoked session or user, JSON values), `<prefix>:revocations` (the pub/sub channel),
//! `<prefix>:v:<key>` (leases and refresh results, with their own expiry).

use std::time::Duration;

use futures_util::StreamExt;
use redis::AsyncCommands;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use tokio::sync::{Mutex, mpsc};

use super::{Backend, BoxFuture, Entry, StateError};

/// How the Redis backend names its keys and how long it waits.
#[derive(Debug, Clone)]
#[must_use]
pub struct RedisOptions {
    prefix: String,
    timeout: Duration,
}

impl Default for RedisOptions {
    fn default() -> Self {
        Self { prefix: "axum-session-mfa".to_owned(), timeout: Duration::from_millis(500) }
    }
}

impl RedisOptions {
    /// The key prefix (default `axum-session-mfa`): instances that share state use the same.
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// The longest any Redis command (or connection attempt) may take (default 500 ms).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }
}

pub(super) struct Redis {
    client: redis::Client,
    conn: Mutex<Option<ConnectionManager>>,
    options: RedisOptions,
    hash: String,
    channel: String,
}

fn unavailable(e: impl std::fmt::Display) -> StateError {
    StateError::Unavailable(e.to_string())
}

impl Redis {
    pub(super) fn new(url: &str, options: RedisOptions) -> Result<Self, StateError> {
        // The error names the problem, never the URL (it may hold a password).
        let client =
            redis::Client::open(url).map_err(|e| StateError::Config(format!("{:?}", e.kind())))?;
        Ok(Self {
            client,
            conn: Mutex::new(None),
            hash: format!("{}:revoked", options.prefix),
            channel: format!("{}:revocations", options.prefix),
            options,
        })
    }

    fn key(&self, key: &str) -> String {
        format!("{}:v:{key}", self.options.prefix)
    }

    /// The command connection, created on first use (and again after a failed creation).
    async fn conn(&self) -> Result<ConnectionManager, StateError> {
        let mut slot = self.conn.lock().await;
        if let Some(conn) = &*slot {
            return Ok(conn.clone());
        }
        let t = self.options.timeout;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(t))
            .set_response_timeout(Some(t))
            .set_number_of_retries(1);
        let conn = tokio::time::timeout(t, self.client.get_connection_manager_with_config(config))
            .await
            .map_err(|_| unavailable("connection timed out"))?
            .map_err(unavailable)?;
        *slot = Some(conn.clone());
        Ok(conn)
    }

    /// Runs a command under the timeout (getting the connection too: callers never wait
    /// behind another caller's connection attempt for longer than that).
    async fn run<T, F>(&self, f: impl FnOnce(ConnectionManager) -> F) -> Result<T, StateError>
    where
        F: Future<Output = redis::RedisResult<T>>,
    {
        let conn = tokio::time::timeout(self.options.timeout, self.conn())
            .await
            .map_err(|_| unavailable("waiting for the connection timed out"))??;
        tokio::time::timeout(self.options.timeout, f(conn))
            .await
            .map_err(|_| unavailable("command timed out"))?
            .map_err(unavailable)
    }
}

impl Backend for Redis {
    fn publish(&self, entry: Entry) -> BoxFuture<'_, Result<(), StateError>> {
        Box::pin(async move {
            let json = serde_json::to_string(&entry).map_err(unavailable)?;
            let field = entry.field();
            self.run(|mut c| async move {
                redis::pipe()
                    .atomic()
                    .hset(&self.hash, field, &json)
                    .ignore()
                    .publish(&self.channel, &json)
                    .ignore()
                    .query_async::<()>(&mut c)
                    .await
            })
            .await
        })
    }

    fn load(&self, now: u64) -> BoxFuture<'_, Result<Vec<Entry>, StateError>> {
        Box::pin(async move {
            let all: Vec<(String, String)> =
                self.run(|mut c| async move { c.hgetall(&self.hash).await }).await?;
            let mut live = Vec::with_capacity(all.len());
            let mut expired = Vec::new();
            for (field, json) in all {
                match serde_json::from_str::<Entry>(&json) {
                    Ok(e) if e.until() >= now => live.push(e),
                    Ok(_) => expired.push(field),
                    // Written by another version (a rolling upgrade) or something else: left
                    // alone, not deleted.
                    Err(_) => {}
                }
            }
            if !expired.is_empty() {
                self.run(|mut c| async move { c.hdel::<_, _, ()>(&self.hash, expired).await })
                    .await?;
            }
            Ok(live)
        })
    }

    fn subscribe(&self) -> BoxFuture<'_, Result<mpsc::Receiver<Entry>, StateError>> {
        Box::pin(async move {
            let t = self.options.timeout;
            let mut pubsub = tokio::time::timeout(t, self.client.get_async_pubsub())
                .await
                .map_err(|_| unavailable("connection timed out"))?
                .map_err(unavailable)?;
            tokio::time::timeout(t, pubsub.subscribe(&self.channel))
                .await
                .map_err(|_| unavailable("subscribe timed out"))?
                .map_err(unavailable)?;
            let (tx, rx) = mpsc::channel(1024);
            tokio::spawn(async move {
                let mut messages = pubsub.into_on_message();
                loop {
                    let msg = tokio::select! {
                        // The subscriber gave up (it reconnects): close this connection too.
                        () = tx.closed() => break,
                        msg = messages.next() => msg,
                    };
                    let Some(msg) = msg else { break };
                    let Ok(json) = msg.get_payload::<String>() else { continue };
                    let Ok(entry) = serde_json::from_str::<Entry>(&json) else { continue };
                    if tx.send(entry).await.is_err() {
                        break;
                    }
                }
                // The connection is gone: dropping `tx` tells the subscriber.
            });
            Ok(rx)
        })
    }

    fn lease(&self, key: &str, ttl: Duration) -> BoxFuture<'_, Result<bool, StateError>> {
        let key = self.key(key);
        Box::pin(async move {
            let ms = ttl.min(super::MAX_TTL).as_millis().max(1) as u64;
            let set: Option<String> = self
                .run(|mut c| async move {
                    redis::cmd("SET")
                        .arg(&key)
                        .arg("1")
                        .arg("NX")
                        .arg("PX")
                        .arg(ms)
                        .query_async(&mut c)
                        .await
                })
                .await?;
            Ok(set.is_some())
        })
    }

    fn put(&self, key: &str, value: &str, ttl: Duration) -> BoxFuture<'_, Result<(), StateError>> {
        let (key, value) = (self.key(key), value.to_owned());
        Box::pin(async move {
            let ms = ttl.min(super::MAX_TTL).as_millis().max(1) as u64;
            self.run(|mut c| async move { c.pset_ex::<_, _, ()>(&key, value, ms).await }).await
        })
    }

    fn get(&self, key: &str) -> BoxFuture<'_, Result<Option<String>, StateError>> {
        let key = self.key(key);
        Box::pin(async move { self.run(|mut c| async move { c.get(&key).await }).await })
    }

    fn delete(&self, key: &str) -> BoxFuture<'_, Result<(), StateError>> {
        let key = self.key(key);
        Box::pin(async move { self.run(|mut c| async move { c.del::<_, ()>(&key).await }).await })
    }

    fn is_shared(&self) -> bool {
        true
    }
}
