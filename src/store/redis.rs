//! The Redis backend (feature `redis`), on the `redis` crate: a `ConnectionManager` (one
//! multiplexed connection that reconnects on its own) for commands, and a pub/sub connection
//! per subscription. Every command runs under a timeout.
//!
//! Keys, under the prefix (default `axum-session-mfa`):
//! * `<prefix>:revoked`: a hash, one field per revoked session, user or sign-in (JSON values):
//!   the whole set, read by an instance that starts (or lost track, see below);
//! * `<prefix>:revoked-until`: a sorted set of the same fields by expiry, so expired entries
//!   are found without reading the set;
//! * `<prefix>:revoked-log`: a stream of every change, trimmed to about
//!   [`LOG_CAPACITY`] entries: a resync reads only what changed since its last read;
//! * `<prefix>:epoch`: the store's generation, set once; a Redis that restarted empty gets a
//!   new one, and the instances then reload and publish their copies again;
//! * `<prefix>:revocations`: the pub/sub channel that announces each change at once;
//! * `<prefix>:v:<key>`: leases and refresh results, with their own expiry.
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

use super::{
    BoxFuture, Cursor, LOAD_PAGE, Loaded, MAX_TTL, Revocation, RevocationStore, Store, StoreError,
};

/// Changes the log keeps (approximately: Redis trims whole nodes); an instance that falls
/// further behind between two resyncs reloads the whole set.
pub(super) const LOG_CAPACITY: usize = 100_000;

/// Expired entries removed per load.
const SWEEP_BATCH: usize = 1_000;

/// Fields read per `HSCAN` of a whole load.
const SCAN_BATCH: usize = 1_000;

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
    /// CA signed (Memorystore's server CA, your own). [`RedisStore::with_options`] refuses, with
    /// [`StoreError::Config`], text without a usable certificate and a CA given with a URL that
    /// is not TLS.
    ///
    /// ```no_run
    /// use axum_session_mfa::store::{RedisOptions, RedisStore};
    /// # fn run() -> Result<(), Box<dyn std::error::Error>> {
    /// let ca = std::fs::read("/etc/redis/ca.pem")?;
    /// let options = RedisOptions::default().ca_pem(ca);
    /// let redis = RedisStore::with_options("rediss://redis.internal:6380", options)?;
    /// # Ok(()) }
    /// ```
    pub fn ca_pem(mut self, pem: impl Into<Vec<u8>>) -> Self {
        self.ca_pem = Some(pem.into());
        self
    }
}

struct Redis {
    client: redis::Client,
    conn: Mutex<Option<ConnectionManager>>,
    options: RedisOptions,
    hash: String,
    until: String,
    log: String,
    epoch: String,
    channel: String,
    /// The generation this process proposes when the store has none.
    new_epoch: String,
}

fn unavailable(e: impl std::fmt::Display) -> StoreError {
    StoreError::Unavailable(e.to_string())
}

fn config(why: impl Into<String>) -> StoreError {
    StoreError::Config(why.into())
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
fn transport(url: &str) -> Result<Transport, StoreError> {
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
fn check_ca(pem: &[u8]) -> Result<(), StoreError> {
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
fn client(url: &str, ca_pem: Option<&[u8]>) -> Result<redis::Client, StoreError> {
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
    fn new(url: &str, options: RedisOptions) -> Result<Self, StoreError> {
        let client = client(url, options.ca_pem.as_deref())?;
        Ok(Self {
            client,
            conn: Mutex::new(None),
            hash: format!("{}:revoked", options.prefix),
            until: format!("{}:revoked-until", options.prefix),
            log: format!("{}:revoked-log", options.prefix),
            epoch: format!("{}:epoch", options.prefix),
            channel: format!("{}:revocations", options.prefix),
            new_epoch: new_epoch(),
            options,
        })
    }

    fn key(&self, key: &str) -> String {
        format!("{}:v:{key}", self.options.prefix)
    }

    /// The command connection, created on first use (and again after a failed creation).
    async fn conn(&self) -> Result<ConnectionManager, StoreError> {
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
    async fn run<T, F>(&self, f: impl FnOnce(ConnectionManager) -> F) -> Result<T, StoreError>
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

/// A generation id unlikely to repeat: the process, the time, and a counter.
fn new_epoch() -> String {
    static COUNT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let n = COUNT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    format!("{}-{nanos}-{n}", std::process::id())
}

/// What `XINFO STREAM` says of the log: the last id given, how many entries it was ever
/// given (`entries-added`, Redis 7), and how many it holds now.
struct LogInfo {
    last: String,
    added: Option<u64>,
    length: u64,
}

/// Removes the given fields whose expiry (in the sorted set) is before `ARGV[1]`, checked in
/// the same step: a field published again meanwhile stays.
const SWEEP_SCRIPT: &str = r"
local removed = 0
for i = 2, #ARGV do
  local score = redis.call('ZSCORE', KEYS[2], ARGV[i])
  if score and tonumber(score) < tonumber(ARGV[1]) then
    redis.call('HDEL', KEYS[1], ARGV[i])
    redis.call('ZREM', KEYS[2], ARGV[i])
    removed = removed + 1
  end
end
return removed
";

impl Redis {
    async fn log_info(&self) -> Result<LogInfo, StoreError> {
        let exists: bool = self.run(|mut c| async move { c.exists(&self.log).await }).await?;
        if !exists {
            return Ok(LogInfo { last: "0-0".to_owned(), added: Some(0), length: 0 });
        }
        let info: std::collections::HashMap<String, redis::Value> = self
            .run(|mut c| async move {
                redis::cmd("XINFO").arg("STREAM").arg(&self.log).query_async(&mut c).await
            })
            .await?;
        let get = |k: &str| info.get(k);
        let text = |k: &str| get(k).and_then(|v| redis::from_redis_value_ref::<String>(v).ok());
        let number = |k: &str| get(k).and_then(|v| redis::from_redis_value_ref::<u64>(v).ok());
        Ok(LogInfo {
            last: text("last-generated-id").unwrap_or_else(|| "0-0".to_owned()),
            added: number("entries-added"),
            length: number("length").unwrap_or(0),
        })
    }

    /// Removes entries that expired before `now` (a batch per call: the sorted set finds them
    /// without reading the rest).
    async fn sweep(&self, now: u64) -> Result<(), StoreError> {
        let expired: Vec<String> = self
            .run(|mut c| async move {
                c.zrangebyscore_limit(
                    &self.until,
                    "-inf",
                    format!("({now}"),
                    0,
                    SWEEP_BATCH as isize,
                )
                .await
            })
            .await?;
        if expired.is_empty() {
            return Ok(());
        }
        self.run(|mut c| async move {
            redis::cmd("EVAL")
                .arg(SWEEP_SCRIPT)
                .arg(2)
                .arg(&self.hash)
                .arg(&self.until)
                .arg(now)
                .arg(&expired)
                .query_async::<()>(&mut c)
                .await
        })
        .await
    }

    /// The whole set, read in `HSCAN` batches (each under the command timeout).
    async fn load_whole(&self, now: u64) -> Result<Vec<Revocation>, StoreError> {
        let mut entries = Vec::new();
        let mut cursor = 0u64;
        loop {
            let (next, flat): (u64, Vec<String>) = self
                .run(|mut c| async move {
                    redis::cmd("HSCAN")
                        .arg(&self.hash)
                        .arg(cursor)
                        .arg("COUNT")
                        .arg(SCAN_BATCH)
                        .query_async(&mut c)
                        .await
                })
                .await?;
            for json in flat.chunks(2).filter_map(|pair| pair.get(1)) {
                // Written by another version (a rolling upgrade) or something else: left alone.
                if let Some(e) = parse(json).filter(|e| e.until() >= now) {
                    entries.push(e);
                }
            }
            if next == 0 {
                return Ok(entries);
            }
            cursor = next;
        }
    }
}

/// An entry as stored, if this version can read it and its id is within the limits.
fn parse(json: &str) -> Option<Revocation> {
    serde_json::from_str::<Revocation>(json).ok().filter(|e| crate::revocation::valid_id(e.id()))
}

impl Redis {
    fn publish(&self, entries: Vec<Revocation>) -> BoxFuture<'_, Result<(), StoreError>> {
        Box::pin(async move {
            if entries.is_empty() {
                return Ok(());
            }
            let mut pipe = redis::pipe();
            pipe.atomic();
            pipe.cmd("SET").arg(&self.epoch).arg(&self.new_epoch).arg("NX").ignore();
            for entry in &entries {
                let json = serde_json::to_string(entry).map_err(unavailable)?;
                let field = entry.key();
                pipe.hset(&self.hash, &field, &json).ignore();
                pipe.cmd("ZADD").arg(&self.until).arg("GT").arg(entry.until()).arg(&field).ignore();
                pipe.cmd("ZADD").arg(&self.until).arg("NX").arg(entry.until()).arg(&field).ignore();
                pipe.cmd("XADD")
                    .arg(&self.log)
                    .arg("MAXLEN")
                    .arg("~")
                    .arg(LOG_CAPACITY)
                    .arg("*")
                    .arg("e")
                    .arg(&json)
                    .ignore();
                pipe.publish(&self.channel, &json).ignore();
            }
            self.run(|mut c| async move { pipe.query_async::<()>(&mut c).await }).await
        })
    }

    fn load(&self, since: Option<Cursor>, now: u64) -> BoxFuture<'_, Result<Loaded, StoreError>> {
        Box::pin(async move {
            self.sweep(now).await?;
            let epoch: String = self
                .run(|mut c| async move {
                    redis::pipe()
                        .cmd("SET")
                        .arg(&self.epoch)
                        .arg(&self.new_epoch)
                        .arg("NX")
                        .ignore()
                        .get(&self.epoch)
                        .query_async::<(String,)>(&mut c)
                        .await
                        .map(|(epoch,)| epoch)
                })
                .await?;
            let info = self.log_info().await?;
            // Changes only when the reader's generation is the store's and every change after
            // its place is still in the log: the log was given `added - seen` entries since,
            // and trimming removes the oldest first, so all of them are there while the log
            // holds at least that many. A log given fewer entries than the reader saw went
            // back (recreated, or restored from an older snapshot): the store lost data.
            let mut lost = false;
            let at = match since {
                Some(c) if c.epoch != epoch => {
                    lost = true;
                    None
                }
                Some(c) => match info.added {
                    Some(added) if added < c.seen => {
                        lost = true;
                        None
                    }
                    Some(added) if info.length >= added - c.seen => Some(c),
                    // Fell behind the trimmed start, or a Redis without `entries-added` (before
                    // 7.0): read the whole set.
                    _ => None,
                },
                None => None,
            };
            let Some(Cursor { at, seen, .. }) = at else {
                let entries = self.load_whole(now).await?;
                let cursor = Cursor { epoch, at: info.last, seen: info.added.unwrap_or(0) };
                return Ok(Loaded { entries, cursor, lost, more: false });
            };
            let page: Vec<(String, Vec<String>)> = self
                .run(|mut c| {
                    let start = format!("({at}");
                    async move {
                        redis::cmd("XRANGE")
                            .arg(&self.log)
                            .arg(start)
                            .arg("+")
                            .arg("COUNT")
                            .arg(LOAD_PAGE)
                            .query_async(&mut c)
                            .await
                    }
                })
                .await?;
            let more = page.len() == LOAD_PAGE;
            let seen = seen + page.len() as u64;
            let end = page.last().map_or(at, |(id, _)| id.clone());
            let entries = page
                .iter()
                .filter_map(|(_, fields)| fields.get(1))
                .filter_map(|json| parse(json))
                .filter(|e| e.until() >= now)
                .collect();
            let cursor = Cursor { epoch, at: end, seen };
            Ok(Loaded { entries, cursor, lost: false, more })
        })
    }

    fn subscribe(&self) -> BoxFuture<'_, Result<mpsc::Receiver<Revocation>, StoreError>> {
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
                    let Some(entry) = parse(&json) else { continue };
                    if tx.send(entry).await.is_err() {
                        break;
                    }
                }
                // The connection is gone: dropping `tx` tells the subscriber.
            });
            Ok(rx)
        })
    }

    fn put_new(
        &self,
        key: &str,
        value: &str,
        ttl: Duration,
    ) -> BoxFuture<'_, Result<bool, StoreError>> {
        let (key, value) = (self.key(key), value.to_owned());
        Box::pin(async move {
            let ms = ttl.min(MAX_TTL).as_millis().max(1) as u64;
            let set: Option<String> = self
                .run(|mut c| async move {
                    redis::cmd("SET")
                        .arg(&key)
                        .arg(value)
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

    fn swap(
        &self,
        key: &str,
        value: &str,
        ttl: Duration,
    ) -> BoxFuture<'_, Result<Option<String>, StoreError>> {
        let (key, value) = (self.key(key), value.to_owned());
        Box::pin(async move {
            let ms = ttl.min(MAX_TTL).as_millis().max(1) as u64;
            self.run(|mut c| async move {
                redis::cmd("SET")
                    .arg(&key)
                    .arg(value)
                    .arg("PX")
                    .arg(ms)
                    .arg("GET")
                    .query_async(&mut c)
                    .await
            })
            .await
        })
    }

    fn get(&self, key: &str) -> BoxFuture<'_, Result<Option<String>, StoreError>> {
        let key = self.key(key);
        Box::pin(async move { self.run(|mut c| async move { c.get(&key).await }).await })
    }

    fn delete(&self, key: &str) -> BoxFuture<'_, Result<(), StoreError>> {
        let key = self.key(key);
        Box::pin(async move { self.run(|mut c| async move { c.del::<_, ()>(&key).await }).await })
    }
}

/// A [`Store`] and [`RevocationStore`] in Redis (feature `redis`): every instance that points at
/// the same Redis (and key prefix) shares leases, refresh results, used ids and revocations.
/// Revocations are stored in a hash and announced on a pub/sub channel; leases are
/// `SET NX PX`; values expire on their own. Every command has a timeout: an unreachable Redis
/// never hangs a request.
///
/// Cheap to clone: clones share one connection.
#[derive(Clone)]
pub struct RedisStore {
    inner: std::sync::Arc<Redis>,
}

impl fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never the URL: it may hold a password.
        f.debug_struct("RedisStore")
            .field("prefix", &self.inner.options.prefix)
            .finish_non_exhaustive()
    }
}

impl RedisStore {
    /// A store in Redis at `url`, with the default [`RedisOptions`]. Connects lazily and
    /// reconnects on its own: a Redis that is down at start is not an error here
    /// ([`ping`](Self::ping) tells).
    ///
    /// URLs: `redis://[user:password@]host[:port][/db]`, `rediss://` for TLS (managed Redis:
    /// ElastiCache with in-transit encryption, Memorystore, Upstash, Azure), `redis+unix:///path`
    /// (and the `valkey` spellings). TLS is rustls, checking the server's certificate and name
    /// against the system's roots (read with `rustls-native-certs`), or only against the CA given
    /// with [`RedisOptions::ca_pem`]; `#insecure` (no check) is refused. rustls needs a
    /// process-wide crypto provider: the first `rediss://` store installs ring unless the
    /// application installed one before (install yours, aws-lc-rs say, before this call).
    ///
    /// # Errors
    ///
    /// [`StoreError::Config`] naming the problem, never the URL (it may hold a password): an
    /// unknown scheme, a URL the `redis` crate cannot parse, a CA PEM without a usable
    /// certificate, a CA with a URL that is not TLS.
    ///
    /// ```no_run
    /// use axum_session_mfa::store::RedisStore;
    /// let local = RedisStore::new("redis://127.0.0.1:6379").unwrap();
    /// let managed = RedisStore::new("rediss://default:secret@redis.example.com:6380").unwrap();
    /// ```
    pub fn new(url: &str) -> Result<Self, StoreError> {
        Self::with_options(url, RedisOptions::default())
    }

    /// [`RedisStore::new`] with a key prefix, timeouts or a CA.
    ///
    /// # Errors
    ///
    /// As [`RedisStore::new`].
    pub fn with_options(url: &str, options: RedisOptions) -> Result<Self, StoreError> {
        Ok(Self { inner: std::sync::Arc::new(Redis::new(url, options)?) })
    }

    /// Whether Redis answers now: one round trip under the timeout. For a start-up banner or
    /// a health check; the store reconnects on its own either way.
    ///
    /// # Errors
    ///
    /// [`StoreError::Unavailable`] when Redis does not answer (down, refused the TLS
    /// handshake or the password, timed out).
    pub async fn ping(&self) -> Result<(), StoreError> {
        // A read of a key never written: the cheapest command there is.
        self.inner.get("ping").await.map(drop)
    }
}

impl Store for RedisStore {
    fn put_new(
        &self,
        key: &str,
        value: &str,
        ttl: Duration,
    ) -> BoxFuture<'_, Result<bool, StoreError>> {
        self.inner.put_new(key, value, ttl)
    }

    fn swap(
        &self,
        key: &str,
        value: &str,
        ttl: Duration,
    ) -> BoxFuture<'_, Result<Option<String>, StoreError>> {
        self.inner.swap(key, value, ttl)
    }

    fn get(&self, key: &str) -> BoxFuture<'_, Result<Option<String>, StoreError>> {
        self.inner.get(key)
    }

    fn delete(&self, key: &str) -> BoxFuture<'_, Result<(), StoreError>> {
        self.inner.delete(key)
    }

    fn is_shared(&self) -> bool {
        true
    }
}

impl RevocationStore for RedisStore {
    fn publish(&self, entries: Vec<Revocation>) -> BoxFuture<'_, Result<(), StoreError>> {
        self.inner.publish(entries)
    }

    fn load(&self, since: Option<Cursor>, now: u64) -> BoxFuture<'_, Result<Loaded, StoreError>> {
        self.inner.load(since, now)
    }

    fn subscribe(
        &self,
    ) -> BoxFuture<'_, Result<tokio::sync::mpsc::Receiver<Revocation>, StoreError>> {
        self.inner.subscribe()
    }

    fn is_shared(&self) -> bool {
        true
    }
}
