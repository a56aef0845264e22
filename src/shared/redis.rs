//! The Redis backend (feature `redis`), on the `redis` crate: a `ConnectionManager` (one
//! multiplexed connection that reconnects on its own) for commands, and a pub/sub connection
//! per subscription. Every command runs under a timeout.
//!
//! Keys, under the prefix (default `axum-session-mfa`): `<prefix>:revoked` (a hash, one field
//! per revoked session or user, JSON values), `<prefix>:revocations` (the pub/sub channel),
//! `<prefix>:v:<key>` (leases and refresh results, with their own expiry).
//!
//! TLS (`rediss://`) is rustls through the `redis` crate: the system's roots (loaded with
//! `rustls-native-certs` at each connection), or only the CA given with
//! [`RedisOptions::ca_pem`].

use std::fmt;
use std::time::Duration;

use futures_util::StreamExt;
use redis::AsyncCommands;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use tokio::sync::{Mutex, mpsc};

use super::{Backend, BoxFuture, Entry, StateError};

/// How the Redis backend names its keys, how long it waits, and which CA it trusts over TLS.
#[derive(Clone)]
#[must_use]
pub struct RedisOptions {
    prefix: String,
    timeout: Duration,
    ca_pem: Option<Vec<u8>>,
}

impl fmt::Debug for RedisOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisOptions")
            .field("prefix", &self.prefix)
            .field("timeout", &self.timeout)
            .field("ca_pem", &self.ca_pem.as_ref().map(|pem| format!("{} bytes", pem.len())))
            .finish()
    }
}

impl Default for RedisOptions {
    fn default() -> Self {
        Self {
            prefix: "axum-session-mfa".to_owned(),
            timeout: Duration::from_millis(500),
            ca_pem: None,
        }
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

    /// Trusts only the CA certificates in `pem` (one or more PEM `CERTIFICATE` blocks) for a
    /// `rediss://` URL, instead of the system's roots: for a Redis whose certificate a private
    /// CA signed (Memorystore's server CA, your own). [`SharedState::redis_with`] refuses, with
    /// [`StateError::Config`], text without a usable certificate and a CA given with a URL that
    /// is not TLS.
    ///
    /// ```no_run
    /// use axum_session_mfa::{RedisOptions, SharedState};
    /// # fn run() -> Result<(), Box<dyn std::error::Error>> {
    /// let ca = std::fs::read("/etc/redis/ca.pem")?;
    /// let options = RedisOptions::default().ca_pem(ca);
    /// let shared = SharedState::redis_with("rediss://redis.internal:6380", options)?;
    /// # Ok(()) }
    /// ```
    ///
    /// [`SharedState::redis_with`]: super::SharedState::redis_with
    pub fn ca_pem(mut self, pem: impl Into<Vec<u8>>) -> Self {
        self.ca_pem = Some(pem.into());
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

fn config(why: impl Into<String>) -> StateError {
    StateError::Config(why.into())
}

/// How a URL reaches Redis: the schemes the `redis` crate serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Transport {
    Tcp,
    Tls,
    Unix,
}

/// The transport `url` asks for. Errors name the scheme at most, never the rest of the URL (it
/// may hold a password).
fn transport(url: &str) -> Result<Transport, StateError> {
    let parsed = url::Url::parse(url).map_err(|e| {
        config(format!("not a Redis URL ({e}): expected redis://host:port or rediss://host:port"))
    })?;
    let transport = match parsed.scheme() {
        "redis" | "valkey" => Transport::Tcp,
        "rediss" | "valkeys" => Transport::Tls,
        "unix" | "redis+unix" | "valkey+unix" => Transport::Unix,
        other => {
            return Err(config(format!(
                "unknown URL scheme `{other}`: expected redis://, rediss:// (TLS) or redis+unix://"
            )));
        }
    };
    // The `redis` crate reads `#insecure` as "no certificate check", which this crate does not
    // offer (and which would fail at every connection): a private CA goes in `ca_pem`.
    if transport == Transport::Tls && parsed.fragment().is_some() {
        return Err(config(
            "a rediss:// URL takes no fragment (`#insecure` turns certificate checks off, which \
             is not supported): trust a private CA with RedisOptions::ca_pem",
        ));
    }
    Ok(transport)
}

/// Checks that `pem` holds at least one CA certificate rustls can use as a root, so a wrong
/// file fails here, not as an unknown issuer at every connection.
fn check_ca(pem: &[u8]) -> Result<(), StateError> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::{Error, PemObject};
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(pem) {
        let cert = cert.map_err(|e| {
            let why = match e {
                Error::MissingSectionEnd { end_marker } => {
                    let label = String::from_utf8_lossy(&end_marker);
                    format!("no `-----END {label}-----` line")
                }
                Error::IllegalSectionStart { .. } => "a malformed BEGIN line".to_owned(),
                Error::Base64Decode(e) => format!("bad base64 ({e})"),
                e => e.to_string(),
            };
            config(format!("the CA PEM cannot be read: {why}"))
        })?;
        roots.add(cert).map_err(|e| {
            let why = match e {
                rustls::Error::InvalidCertificate(e) => format!("{e:?}"),
                e => e.to_string(),
            };
            config(format!("the CA PEM holds a certificate that cannot be a root ({why})"))
        })?;
    }
    if roots.is_empty() {
        return Err(config("the CA PEM holds no certificate (no BEGIN CERTIFICATE block)"));
    }
    Ok(())
}

/// The `redis` crate builds its rustls config from the process-wide provider, and rustls finds
/// none on its own when it was compiled with several (ring here and in reqwest, aws-lc-rs from
/// another crate): the connection would panic. Installs ring, the provider this crate's other
/// TLS (reqwest, for JWKS) uses in both crypto builds, unless the application installed one
/// first (aws-lc-rs for FIPS, say), which then serves Redis too.
fn install_tls_provider() {
    if rustls::crypto::CryptoProvider::get_default().is_none() {
        // Err: another thread installed one meanwhile, which serves as well.
        let _ = rustls::crypto::ring::default_provider().install_default();
    }
}

/// The client for `url`: plain, or TLS with the system's roots or only the given CA.
fn client(url: &str, ca_pem: Option<&[u8]>) -> Result<redis::Client, StateError> {
    let client = match (transport(url)?, ca_pem) {
        (Transport::Tls, None) => {
            install_tls_provider();
            redis::Client::open(url)
        }
        (Transport::Tls, Some(pem)) => {
            check_ca(pem)?;
            install_tls_provider();
            let roots = redis::TlsCertificates { client_tls: None, root_cert: Some(pem.to_vec()) };
            redis::Client::build_with_tls(url, roots)
        }
        (Transport::Tcp | Transport::Unix, Some(_)) => {
            return Err(config(
                "a CA was given (RedisOptions::ca_pem) but the URL is not TLS: use rediss://",
            ));
        }
        (Transport::Tcp | Transport::Unix, None) => redis::Client::open(url),
    };
    // The `redis` crate's messages here name the problem (a bad port or database number),
    // never the URL.
    client.map_err(|e| config(format!("invalid Redis URL: {e}")))
}

impl Redis {
    pub(super) fn new(url: &str, options: RedisOptions) -> Result<Self, StateError> {
        let client = client(url, options.ca_pem.as_deref())?;
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
