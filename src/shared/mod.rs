//! [`SharedState`]: see the type for the details.

mod memory;
#[cfg(feature = "redis")]
mod redis;

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;

#[cfg(feature = "redis")]
pub use self::redis::RedisOptions;

/// The longest a lease or value is kept, whatever asked (a `jti` from a token with a far `exp`).
#[cfg_attr(not(feature = "lifecycle"), allow(dead_code))]
pub(crate) const MAX_TTL: Duration = Duration::from_secs(30 * 24 * 3600);

/// A boxed future, for the backend interface.
pub(crate) type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Why the shared state could not be read or written.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum StateError {
    /// The backend did not answer in time, or the connection is down.
    Unavailable(String),
    /// The backend's address or settings are invalid.
    Config(String),
}

impl fmt::Display for StateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Unavailable(e) => write!(f, "shared state unavailable: {e}"),
            Self::Config(e) => write!(f, "shared state misconfigured: {e}"),
        }
    }
}

impl std::error::Error for StateError {}

/// The longest `sid`, `sub` or sign-in id a revocation accepts, in bytes. Longer ids are
/// refused at every entry point (they would let one request grow every instance's copy and the
/// shared state without bound); no provider issues ids anywhere near this long.
pub const MAX_ID_BYTES: usize = 255;

/// `true` for an id a revocation may name: 1 to [`MAX_ID_BYTES`] bytes.
pub(crate) fn valid_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= MAX_ID_BYTES
}

/// One revocation, as stored and announced.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub(crate) enum Entry {
    /// Tokens of this session (`sid`) are refused: all of them, or (sign-out) those issued
    /// at or before `issued_before`, so a new sign-in that a provider gives the same `sid`
    /// (its own session lived on) is not refused.
    Session {
        sid: String,
        /// When the entry may be forgotten (seconds since the epoch).
        until: u64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        issued_before: Option<u64>,
    },
    /// Every session of this user (`sub`) that authenticated at or before `before` is refused.
    User { sub: String, before: u64, until: u64 },
    /// Every cookie of one sign-in (the sealed session's sign-in id, kept across refreshes) is
    /// refused: a sign-out, so that a refresh finishing after it brings nothing back.
    SignIn { id: String, until: u64 },
}

/// The wider of two session cut-offs: `None` (every token) wins, else the later one.
pub(crate) fn widest(a: Option<u64>, b: Option<u64>) -> Option<u64> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.max(b)),
        _ => None,
    }
}

impl Entry {
    pub(crate) fn until(&self) -> u64 {
        match self {
            Self::Session { until, .. } | Self::User { until, .. } | Self::SignIn { until, .. } => {
                *until
            }
        }
    }

    /// The id the entry names.
    pub(crate) fn id(&self) -> &str {
        match self {
            Self::Session { sid: id, .. }
            | Self::User { sub: id, .. }
            | Self::SignIn { id, .. } => id,
        }
    }

    /// The hash field this entry is stored under (one per session, user or sign-in).
    pub(crate) fn field(&self) -> String {
        match self {
            Self::Session { sid, .. } => format!("sid:{sid}"),
            Self::User { sub, .. } => format!("sub:{sub}"),
            Self::SignIn { id, .. } => format!("sin:{id}"),
        }
    }

    /// The one merge rule: two revocations of the same session, user or sign-in become the
    /// wider of both (the later `until`, the wider cut-off). Revocations only ever widen, so
    /// the order in which instances hear of them does not matter. `other` naming another
    /// entry leaves `self` as it is.
    pub(crate) fn merge(&mut self, other: &Entry) {
        match (self, other) {
            (
                Self::Session { sid, until, issued_before },
                Self::Session { sid: s2, until: u2, issued_before: b2 },
            ) if sid == s2 => {
                *until = (*until).max(*u2);
                *issued_before = widest(*issued_before, *b2);
            }
            (Self::User { sub, before, until }, Self::User { sub: s2, before: b2, until: u2 })
                if sub == s2 =>
            {
                *before = (*before).max(*b2);
                *until = (*until).max(*u2);
            }
            (Self::SignIn { id, until }, Self::SignIn { id: i2, until: u2 }) if id == i2 => {
                *until = (*until).max(*u2);
            }
            _ => {}
        }
    }

    /// `true` when merging `other` into `self` would change nothing.
    pub(crate) fn covers(&self, other: &Entry) -> bool {
        let mut merged = self.clone();
        merged.merge(other);
        merged == *self && self.field() == other.field()
    }
}

/// Where a reader of the revocation log stands: the log's generation (a new one when the
/// store lost its data, e.g. a Redis restarted empty) and the last change read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Cursor {
    pub(crate) epoch: String,
    /// The id of the last change read.
    pub(crate) at: String,
    /// How many changes the log had been given up to `at` (Redis: its `entries-added`), so a
    /// reader can tell whether every change after `at` is still in the log.
    pub(crate) seen: u64,
}

/// What a load returned.
pub(crate) struct Loaded {
    pub(crate) entries: Vec<Entry>,
    /// Where the next load starts.
    pub(crate) cursor: Cursor,
    /// `true` when the store lost data the reader had seen (another generation, or a log that
    /// went back): the readers' copies must be published again.
    pub(crate) lost: bool,
    /// `true` when more changes are waiting (the load stopped at its page size).
    pub(crate) more: bool,
}

/// Most log entries (or whole-set entries) one load returns.
pub(crate) const LOAD_PAGE: usize = 10_000;

/// The interface every backend implements. Keys are short ASCII strings chosen by the crate.
/// Leases and values serve the lifecycle (refresh leases, used states, logout `jti`s).
#[cfg_attr(not(feature = "lifecycle"), allow(dead_code))]
pub(crate) trait Backend: Send + Sync + 'static {
    /// Stores revocations (merged with what is stored), appends them to the change log and
    /// announces them to every subscriber.
    fn publish(&self, entries: Vec<Entry>) -> BoxFuture<'_, Result<(), StateError>>;
    /// The changes since `since`, or the whole set (a first load, another generation, or a
    /// reader that fell behind the log's trimmed start); drops entries that expired before
    /// `now`.
    fn load(&self, since: Option<Cursor>, now: u64) -> BoxFuture<'_, Result<Loaded, StateError>>;
    /// Announcements from now on; the channel closes when the subscription breaks.
    fn subscribe(&self) -> BoxFuture<'_, Result<mpsc::Receiver<Entry>, StateError>>;
    /// Takes `key` for `ttl` unless someone holds it: `true` for the taker.
    fn lease(&self, key: &str, ttl: Duration) -> BoxFuture<'_, Result<bool, StateError>> {
        self.put_new(key, "1", ttl)
    }
    /// Stores `value` under `key` for `ttl` unless `key` holds a value: `true` when stored.
    fn put_new(
        &self,
        key: &str,
        value: &str,
        ttl: Duration,
    ) -> BoxFuture<'_, Result<bool, StateError>>;
    /// Stores `value` under `key` for `ttl` and returns what it replaced, in one step.
    fn swap(
        &self,
        key: &str,
        value: &str,
        ttl: Duration,
    ) -> BoxFuture<'_, Result<Option<String>, StateError>>;
    /// The value under `key`, if any.
    fn get(&self, key: &str) -> BoxFuture<'_, Result<Option<String>, StateError>>;
    /// Removes `key` (a lease given back early).
    fn delete(&self, key: &str) -> BoxFuture<'_, Result<(), StateError>>;
    /// `true` when the state is shared with other processes.
    fn is_shared(&self) -> bool;
}

/// What several instances of a service must agree on (feature `revocation`):
/// revoked sessions, who refreshes a session right now (a short lease) and its result, and
/// one-time ids (back-channel logout `jti`).
///
/// Two backends, behind one internal interface that the rest of the crate talks to:
///
/// * [`SharedState::in_memory`] (the default): one process. Revocations, leases and results
///   live in this process only.
/// * [`SharedState::redis`] (feature `redis`): every instance that points at the same Redis
///   (and key prefix) shares them. Revocations are stored in a hash and announced on a
///   pub/sub channel; each instance keeps a local copy (so the request path never waits for
///   the network) and resyncs it periodically. Leases are `SET NX PX`; results expire on their
///   own. Every command has a timeout: an unreachable Redis never hangs a request.
///
/// Cheap to clone: clones share one backend.
#[derive(Clone)]
pub struct SharedState {
    pub(crate) backend: Arc<dyn Backend>,
}

impl fmt::Debug for SharedState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SharedState").field("shared", &self.backend.is_shared()).finish()
    }
}

impl Default for SharedState {
    fn default() -> Self {
        Self::in_memory()
    }
}

impl SharedState {
    /// State kept in this process only: the default, for one instance.
    pub fn in_memory() -> Self {
        Self { backend: Arc::new(memory::Memory::default()) }
    }

    /// State shared through Redis at `url`, with the default [`RedisOptions`]. Connects lazily
    /// and reconnects on its own: a Redis that is down at start is not an error here
    /// ([`ping`](Self::ping) tells).
    ///
    /// URLs: `redis://[user:password@]host[:port][/db]`, `rediss://` for TLS (managed Redis:
    /// ElastiCache with in-transit encryption, Memorystore, Upstash, Azure), `redis+unix:///path`
    /// (and the `valkey` spellings). TLS is rustls, checking the server's certificate and name
    /// against the system's roots (read with `rustls-native-certs`), or only against the CA given
    /// with [`RedisOptions::ca_pem`]; `#insecure` (no check) is refused. rustls needs a
    /// process-wide crypto provider: the first `rediss://` state installs ring unless the
    /// application installed one before (install yours, aws-lc-rs say, before this call).
    ///
    /// # Errors
    ///
    /// [`StateError::Config`] naming the problem, never the URL (it may hold a password): an
    /// unknown scheme, a URL the `redis` crate cannot parse, a CA PEM without a usable
    /// certificate, a CA with a URL that is not TLS.
    ///
    /// ```no_run
    /// use axum_session_mfa::SharedState;
    /// let shared = SharedState::redis("redis://127.0.0.1:6379").unwrap();
    /// let managed = SharedState::redis("rediss://default:secret@redis.example.com:6380").unwrap();
    /// ```
    #[cfg(feature = "redis")]
    pub fn redis(url: &str) -> Result<Self, StateError> {
        Self::redis_with(url, RedisOptions::default())
    }

    /// [`SharedState::redis`] with a key prefix, timeouts or a CA.
    ///
    /// # Errors
    ///
    /// As [`SharedState::redis`].
    #[cfg(feature = "redis")]
    pub fn redis_with(url: &str, options: RedisOptions) -> Result<Self, StateError> {
        Ok(Self { backend: Arc::new(redis::Redis::new(url, options)?) })
    }

    /// Whether the backend answers now: one round trip under its timeout (in memory, always
    /// `Ok`). For a start-up banner or a health check; the state reconnects on its own either
    /// way.
    ///
    /// # Errors
    ///
    /// [`StateError::Unavailable`] when Redis does not answer (down, refused the TLS
    /// handshake or the password, timed out).
    pub async fn ping(&self) -> Result<(), StateError> {
        // A read of a key never written: the cheapest command every backend has.
        self.backend.get("ping").await.map(drop)
    }

    /// `true` when other processes see this state (Redis), `false` in memory.
    pub fn is_shared(&self) -> bool {
        self.backend.is_shared()
    }
}
