//! Where several instances of a service keep what they must agree on: the [`Store`] trait
//! (short-lived values: refresh leases and results, used sign-in `state`s, back-channel logout
//! `jti`s) and, with feature `revocation`, the [`RevocationStore`] trait (revoked sessions,
//! with a change log and announcements).
//!
//! Two implementations of both, as tower-sessions has its stores:
//!
//! * [`MemoryStore`]: one process. The default: the lifecycle uses one when given no store.
//! * [`RedisStore`] (feature `redis`): every instance that points at the same Redis (and key
//!   prefix) shares leases, results and revocations. Every command has a timeout: an
//!   unreachable Redis never hangs a request.
//!
//! The lifecycle ([`SessionsBuilder::store`](crate::lifecycle::SessionsBuilder::store)) and the
//! revocations ([`Revocations::builder`](crate::Revocations::builder)) each take a store; give
//! both the same one (a clone: clones share one connection):
//!
//! ```no_run
//! # #[cfg(all(feature = "redis", feature = "lifecycle"))]
//! # async fn run(builder: axum_session_mfa::lifecycle::SessionsBuilder)
//! # -> Result<(), Box<dyn std::error::Error>> {
//! use axum_session_mfa::Revocations;
//! use axum_session_mfa::store::RedisStore;
//!
//! let redis = RedisStore::new("redis://127.0.0.1:6379")?;
//! let revocations = Revocations::builder(redis.clone()).start().await;
//! // Keeps this instance's copy current: announcements, resyncs, the staleness bound.
//! tokio::spawn(revocations.keep_current());
//! let sessions = builder.store(redis).revocations(revocations).build()?;
//! # let _ = sessions;
//! # Ok(()) }
//! ```
//!
//! Another backend (a database, a cache service) implements the traits; the tests of this
//! crate's own implementations show what each method must guarantee.

#[cfg(feature = "revocation")]
mod log;
mod memory;
#[cfg(feature = "redis")]
mod redis;

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

#[cfg(feature = "revocation")]
pub(crate) use self::log::LOAD_PAGE;
#[cfg(feature = "revocation")]
pub use self::log::{Cursor, Loaded, Revocation, RevocationStore};
pub use self::memory::MemoryStore;
#[cfg(feature = "redis")]
pub use self::redis::{RedisOptions, RedisStore};

/// The longest a value is kept, whatever asked (a `jti` from a token with a far `exp`).
pub const MAX_TTL: Duration = Duration::from_secs(30 * 24 * 3600);

/// The future a store's method returns (boxed, so the traits can be used as `dyn`).
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Why a store could not be read or written.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum StoreError {
    /// The backend did not answer in time, or the connection is down.
    Unavailable(String),
    /// The backend's address or settings are invalid.
    Config(String),
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Unavailable(e) => write!(f, "store unavailable: {e}"),
            Self::Config(e) => write!(f, "store misconfigured: {e}"),
        }
    }
}

impl std::error::Error for StoreError {}

/// Short-lived values shared by the instances of a service: refresh leases and results, used
/// sign-in `state`s, back-channel logout `jti`s.
///
/// Keys are short ASCII strings chosen by the crate (hashes, never a token); values are short
/// strings (a refresh result is sealed again before it is stored). Each value expires after the
/// `ttl` it was stored with (at most [`MAX_TTL`]); an expired value reads as absent. Every
/// method must answer in bounded time: return [`StoreError::Unavailable`] rather than wait
/// (the callers fall back or fail closed).
pub trait Store: Send + Sync + 'static {
    /// Stores `value` under `key` for `ttl` unless `key` holds a value: `true` when stored.
    /// Atomic: of two concurrent calls for one key, at most one gets `true` (a lease, a value
    /// used once).
    fn put_new(
        &self,
        key: &str,
        value: &str,
        ttl: Duration,
    ) -> BoxFuture<'_, Result<bool, StoreError>>;

    /// Stores `value` under `key` for `ttl` and returns the value it replaced, in one atomic
    /// step (no `put_new` can slip in between the read and the write).
    fn swap(
        &self,
        key: &str,
        value: &str,
        ttl: Duration,
    ) -> BoxFuture<'_, Result<Option<String>, StoreError>>;

    /// The value under `key`, if any.
    fn get(&self, key: &str) -> BoxFuture<'_, Result<Option<String>, StoreError>>;

    /// Removes `key` (a lease given back early).
    fn delete(&self, key: &str) -> BoxFuture<'_, Result<(), StoreError>>;

    /// `true` when other processes see these values (Redis), `false` in memory.
    fn is_shared(&self) -> bool;
}

/// A store behind an `Arc` (an `Arc<dyn Store>` chosen at run time, say) is a store.
impl<S: Store + ?Sized> Store for std::sync::Arc<S> {
    fn put_new(
        &self,
        key: &str,
        value: &str,
        ttl: Duration,
    ) -> BoxFuture<'_, Result<bool, StoreError>> {
        (**self).put_new(key, value, ttl)
    }

    fn swap(
        &self,
        key: &str,
        value: &str,
        ttl: Duration,
    ) -> BoxFuture<'_, Result<Option<String>, StoreError>> {
        (**self).swap(key, value, ttl)
    }

    fn get(&self, key: &str) -> BoxFuture<'_, Result<Option<String>, StoreError>> {
        (**self).get(key)
    }

    fn delete(&self, key: &str) -> BoxFuture<'_, Result<(), StoreError>> {
        (**self).delete(key)
    }

    fn is_shared(&self) -> bool {
        (**self).is_shared()
    }
}
