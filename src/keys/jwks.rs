//! The remote key set cache behind [`JwksKeys`]; its behaviour is documented on the public
//! `jwks` module.

use std::collections::HashSet;
use std::fmt;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use arc_swap::ArcSwapOption;
use jsonwebtoken::Algorithm;
use reqwest::{Client, Url};
use serde_json::Value;

use super::http::{self, Limits, UrlError};
use super::jwk::key_from_jwk;
use super::{Key, StaticKeys};
use crate::AuthError;

/// Tuning for a remote key set (and for discovery fetches). Every setter documents its default.
///
/// ```
/// use std::time::Duration;
/// use axum_session_mfa::jwks::JwksOptions;
/// let options = JwksOptions::default()
///     .refetch_interval(Duration::from_secs(10))
///     .max_stale(Duration::from_secs(15 * 60));
/// # let _ = options;
/// ```
#[derive(Debug, Clone)]
#[must_use]
pub struct JwksOptions {
    min_ttl: Duration,
    max_ttl: Duration,
    default_ttl: Duration,
    max_stale: Duration,
    refetch_interval: Duration,
    limits: Limits,
}

impl Default for JwksOptions {
    fn default() -> Self {
        Self {
            min_ttl: Duration::from_secs(60),
            max_ttl: Duration::from_secs(24 * 60 * 60),
            default_ttl: Duration::from_secs(10 * 60),
            max_stale: Duration::from_secs(60 * 60),
            refetch_interval: Duration::from_secs(30),
            limits: Limits {
                connect_timeout: Duration::from_secs(5),
                timeout: Duration::from_secs(10),
                max_body_bytes: 256 * 1024,
            },
        }
    }
}

impl JwksOptions {
    /// Floor for the cache lifetime taken from `Cache-Control: max-age` (default 60 s).
    pub fn min_ttl(mut self, ttl: Duration) -> Self {
        self.min_ttl = ttl;
        self
    }

    /// Ceiling for the cache lifetime taken from `Cache-Control: max-age` (default 24 h).
    pub fn max_ttl(mut self, ttl: Duration) -> Self {
        self.max_ttl = ttl;
        self
    }

    /// Cache lifetime when the response has no `max-age` (default 10 min; clamped too).
    pub fn default_ttl(mut self, ttl: Duration) -> Self {
        self.default_ttl = ttl;
        self
    }

    /// How long past its expiry the last good set is still served while refreshes fail
    /// (default 1 h). After that, requests get 503 until a fetch succeeds. A short value
    /// honours key revocation sooner; a long one rides out longer IdP outages.
    pub fn max_stale(mut self, max_stale: Duration) -> Self {
        self.max_stale = max_stale;
        self
    }

    /// Minimum time between two fetches triggered by requests (unknown `kid`, nothing cached)
    /// or retrying after a failure (default 30 s).
    pub fn refetch_interval(mut self, interval: Duration) -> Self {
        self.refetch_interval = interval;
        self
    }

    /// TCP/TLS connect timeout (default 5 s).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.limits.connect_timeout = timeout;
        self
    }

    /// Timeout for the whole exchange, body included (default 10 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.limits.timeout = timeout;
        self
    }

    /// Largest accepted response body in bytes (default 256 KiB).
    pub fn max_body_bytes(mut self, limit: usize) -> Self {
        self.limits.max_body_bytes = limit;
        self
    }

    pub(crate) fn limits(&self) -> &Limits {
        &self.limits
    }

    fn ttl(&self, max_age: Option<u64>) -> Duration {
        let wanted = max_age.map_or(self.default_ttl, Duration::from_secs);
        // `clamp` panics when min > max; a misconfigured pair must not panic.
        wanted.max(self.min_ttl).min(self.max_ttl.max(self.min_ttl))
    }
}

/// Why a remote key set could not be set up or fetched.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum JwksError {
    /// The key set URL is invalid or not allowed (see [`crate::jwks`]).
    Url(UrlError),
    /// The HTTP client could not be built.
    Client(String),
    /// A fetch failed (network, status, size, JSON, or no usable key).
    Fetch(String),
}

impl fmt::Display for JwksError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Url(e) => write!(f, "JWKS URL: {e}"),
            Self::Client(e) => write!(f, "JWKS HTTP client: {e}"),
            Self::Fetch(e) => write!(f, "JWKS fetch failed: {e}"),
        }
    }
}

impl std::error::Error for JwksError {}

impl From<UrlError> for JwksError {
    fn from(e: UrlError) -> Self {
        Self::Url(e)
    }
}

/// A remote JWKS. A layer uses it through a [`IssuerKeys`](crate::jwks::IssuerKeys), which pins the
/// issuers its tokens must carry (key sets are often shared by many tenants or realms).
///
/// Cheap to clone (clones share one cache). See the [`jwks` module docs](crate::jwks) for the caching,
/// refresh and failure behaviour. Needs a Tokio runtime when keys are fetched.
///
/// ```no_run
/// use axum_session_mfa::AuthLayer;
/// use axum_session_mfa::jwks::{JwksKeys, IssuerKeys};
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let keys = JwksKeys::new("https://idp.example/.well-known/jwks.json")?;
/// let auth = AuthLayer::builder(IssuerKeys::new(keys, "https://idp.example")).build()?;
/// # let _ = auth; Ok(()) }
/// ```
#[derive(Clone)]
pub struct JwksKeys {
    inner: Arc<Inner>,
}

struct Snapshot {
    keys: StaticKeys,
    refresh_at: Instant,
    serve_until: Instant,
}

struct Inner {
    url: Url,
    client: Client,
    options: JwksOptions,
    current: ArcSwapOption<Snapshot>,
    /// Held while a fetch runs; single-flight.
    fetch_lock: tokio::sync::Mutex<()>,
    /// Completed fetch attempts (success or failure).
    attempts: AtomicU64,
    /// Start of the last attempt, in ms since `base` plus one; 0 = never.
    last_attempt: AtomicU64,
    base: Instant,
    refreshing: AtomicBool,
    warned: Mutex<HashSet<u64>>,
}

impl fmt::Debug for JwksKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let keys = self.inner.current.load().as_ref().map(|s| s.keys.len());
        f.debug_struct("JwksKeys")
            .field("url", &self.inner.url.as_str())
            .field("cached_keys", &keys)
            .finish_non_exhaustive()
    }
}

impl JwksKeys {
    /// A key set at `url` with default [`JwksOptions`]. Nothing is fetched until a request
    /// needs a key (or [`JwksKeys::refresh`] is called).
    pub fn new(url: &str) -> Result<Self, JwksError> {
        Self::with_options(url, JwksOptions::default())
    }

    /// A key set at `url` with the given options.
    pub fn with_options(url: &str, options: JwksOptions) -> Result<Self, JwksError> {
        Self::from_url(http::parse_url(url)?, options)
    }

    pub(crate) fn from_url(url: Url, options: JwksOptions) -> Result<Self, JwksError> {
        http::check_url(&url)?;
        let client = http::client(&options.limits).map_err(JwksError::Client)?;
        Ok(Self {
            inner: Arc::new(Inner {
                url,
                client,
                options,
                current: ArcSwapOption::empty(),
                fetch_lock: tokio::sync::Mutex::new(()),
                attempts: AtomicU64::new(0),
                last_attempt: AtomicU64::new(0),
                base: Instant::now(),
                refreshing: AtomicBool::new(false),
                warned: Mutex::new(HashSet::new()),
            }),
        })
    }

    /// The key set URL.
    pub fn url(&self) -> &str {
        self.inner.url.as_str()
    }

    /// Fetches the set now, ignoring the refetch interval (still single-flight), and returns
    /// the number of usable keys. Useful at startup to fail fast or warm the cache; on error
    /// the previously cached set, if any, stays in use.
    pub async fn refresh(&self) -> Result<usize, JwksError> {
        let _guard = self.inner.fetch_lock.lock().await;
        self.inner.fetch_locked().await.map_err(JwksError::Fetch)
    }

    /// Picks the key for a token header (see the module docs) and runs `with` on it.
    pub(crate) async fn resolve<R>(
        &self,
        kid: Option<&str>,
        alg: Algorithm,
        with: impl FnOnce(&Key) -> R,
    ) -> Result<R, AuthError> {
        // Read before the snapshot, so a fetch finishing in between is noticed by `refetch`.
        let seen = self.inner.attempts.load(Ordering::Acquire);
        {
            let current = self.inner.current.load();
            let now = Instant::now();
            if let Some(snap) = current.as_deref().filter(|s| now < s.serve_until) {
                if now >= snap.refresh_at {
                    self.spawn_refresh();
                }
                match snap.keys.select_exact(kid, alg) {
                    Ok(key) => return Ok(with(key)),
                    // Within the interval an unknown kid is refused at once, without queueing
                    // behind a fetch in flight: a random-kid flood never waits on the IdP.
                    Err(AuthError::UnknownKey) if kid.is_some() && self.inner.too_soon() => {
                        return Err(AuthError::UnknownKey);
                    }
                    // Maybe a rotated key: refetch below.
                    Err(AuthError::UnknownKey) if kid.is_some() => {}
                    Err(e) => return Err(e),
                }
            }
        }
        self.inner.refetch(seen).await;
        let current = self.inner.current.load();
        let now = Instant::now();
        match current.as_deref().filter(|s| now < s.serve_until) {
            Some(snap) => snap.keys.select_exact(kid, alg).map(with),
            None => Err(AuthError::KeysUnavailable { retry_after: self.inner.retry_after() }),
        }
    }

    /// `true` while a usable snapshot would select the same key for the token; starts a background
    /// refresh when one is due, as [`resolve`](Self::resolve) does. No network call, no lock.
    pub(crate) fn trusts(&self, choice: &super::KeyChoice) -> bool {
        let current = self.inner.current.load();
        let now = Instant::now();
        let Some(snap) = current.as_deref().filter(|s| now < s.serve_until) else {
            return false;
        };
        if now >= snap.refresh_at {
            self.spawn_refresh();
        }
        snap.keys
            .select_exact(choice.kid.as_deref(), choice.alg)
            .is_ok_and(|key| key.id() == choice.key_id)
    }

    /// Starts a background refresh unless one runs or the interval forbids it.
    fn spawn_refresh(&self) {
        let inner = &self.inner;
        if inner.refreshing.swap(true, Ordering::AcqRel) {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            inner.refreshing.store(false, Ordering::Release);
            return;
        };
        if inner.too_soon() {
            inner.refreshing.store(false, Ordering::Release);
            return;
        }
        /// Clears the flag even if the task is cancelled (runtime shutdown).
        struct Done(Arc<Inner>);
        impl Drop for Done {
            fn drop(&mut self) {
                self.0.refreshing.store(false, Ordering::Release);
            }
        }
        let done = Done(inner.clone());
        let seen = inner.attempts.load(Ordering::Acquire);
        runtime.spawn(async move {
            done.0.refetch(seen).await;
            drop(done);
        });
    }
}

impl Inner {
    fn now_ms(&self) -> u64 {
        u64::try_from(self.base.elapsed().as_millis()).unwrap_or(u64::MAX - 1) + 1
    }

    /// Whole seconds until the refetch interval allows the next fetch (at least 1).
    fn retry_after(&self) -> u64 {
        let last = self.last_attempt.load(Ordering::Acquire);
        let interval = u64::try_from(self.options.refetch_interval.as_millis()).unwrap_or(u64::MAX);
        let waited = self.now_ms().saturating_sub(last);
        interval.saturating_sub(waited).div_ceil(1000).max(1)
    }

    fn too_soon(&self) -> bool {
        let last = self.last_attempt.load(Ordering::Acquire);
        let interval = u64::try_from(self.options.refetch_interval.as_millis()).unwrap_or(u64::MAX);
        last != 0 && self.now_ms().saturating_sub(last) < interval
    }

    /// A fetch under the single-flight and interval rules. Callers that waited while another
    /// fetch ran share its result instead of fetching again.
    async fn refetch(&self, seen: u64) {
        if tokio::runtime::Handle::try_current().is_err() {
            tracing::error!(url = %self.url, "JWKS cannot be fetched outside a Tokio runtime");
            return;
        }
        let _guard = self.fetch_lock.lock().await;
        if self.attempts.load(Ordering::Acquire) != seen || self.too_soon() {
            return;
        }
        let _ = self.fetch_locked().await;
    }

    /// One fetch; the caller holds `fetch_lock`.
    async fn fetch_locked(&self) -> Result<usize, String> {
        self.last_attempt.store(self.now_ms(), Ordering::Release);
        let result = self.fetch().await;
        match &result {
            Ok((keys, ttl)) => {
                let now = Instant::now();
                let expires = later(now, *ttl);
                tracing::debug!(url = %self.url, keys = keys.len(), ttl_secs = ttl.as_secs(), "JWKS fetched");
                self.current.store(Some(Arc::new(Snapshot {
                    keys: keys.clone(),
                    refresh_at: later(now, ttl.mul_f64(0.8)),
                    serve_until: later(expires, self.options.max_stale),
                })));
            }
            Err(reason) => {
                let stale = self.current.load().is_some();
                tracing::warn!(url = %self.url, reason = %reason, serving_cached_keys = stale, "JWKS fetch failed");
            }
        }
        self.attempts.fetch_add(1, Ordering::AcqRel);
        result.map(|(keys, _)| keys.len())
    }

    async fn fetch(&self) -> Result<(StaticKeys, Duration), String> {
        let fetched =
            http::get_json(&self.client, &self.url, self.options.limits.max_body_bytes).await?;
        let document: Value =
            serde_json::from_slice(&fetched.body).map_err(|_| "body is not JSON".to_owned())?;
        let members = document
            .get("keys")
            .and_then(Value::as_array)
            .ok_or_else(|| "body is not a JWK Set (no `keys` array)".to_owned())?;
        let keys: StaticKeys = members
            .iter()
            .filter_map(|member| {
                key_from_jwk(member).map_err(|reason| self.warn_skip(member, reason)).ok()
            })
            .collect();
        if keys.is_empty() {
            return Err(format!("none of the {} keys is usable", members.len()));
        }
        Ok((keys, self.options.ttl(http::max_age(&fetched.headers))))
    }

    /// Logs a skipped key once per distinct key and reason.
    fn warn_skip(&self, member: &Value, reason: &'static str) {
        let mut hasher = DefaultHasher::new();
        member.to_string().hash(&mut hasher);
        reason.hash(&mut hasher);
        let fingerprint = hasher.finish();
        let mut warned = self.warned.lock().unwrap_or_else(|e| e.into_inner());
        if warned.len() >= 1024 {
            warned.clear();
        }
        if warned.insert(fingerprint) {
            let kid = member.get("kid").and_then(Value::as_str).unwrap_or("");
            tracing::warn!(url = %self.url, kid, reason, "JWKS key skipped");
        }
    }
}

/// `at + d`, saturating far in the future instead of panicking on overflow (a configured
/// `Duration::MAX` staleness means "serve stale keys indefinitely").
fn later(at: Instant, d: Duration) -> Instant {
    at.checked_add(d).unwrap_or_else(|| at + Duration::from_secs(100 * 365 * 24 * 3600))
}
