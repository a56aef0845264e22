//! The verified-token cache: a session sends the same token (or AuthKit cookie) on every
//! request, so the layer keeps what verifying it proved and skips the signature check (and the
//! unsealing) the next time.
//!
//! What it may and may not do, each rule tested:
//! * it caches **verification** (token -> [`AuthContext`]), never **authorization**: guards and
//!   policies run on every request, hit or miss;
//! * the key is the **whole** token (or cookie) value, compared in full, with where it came from
//!   (a bearer token and a sealed cookie are read differently); a fast hash only picks the slot;
//! * one cache per layer: two layers (other keys, issuers, audiences) never share entries;
//! * successes only: a refused token is verified again each time;
//! * every hit re-checks `exp` and `nbf` (with the layer's leeway) against the layer's clock, and
//!   an entry lives until the token's `exp`, the sealed cookie's own expiry, or the cap
//!   ([`TokenCache::max_ttl`], 60 s by default), whichever comes first;
//! * a key that leaves the key set (JWKS rotation or removal) ends, at once, every entry it
//!   verified: each hit checks that the current set would still select that very key for the
//!   token (so a new key that makes a `kid`-less choice ambiguous ends it too);
//! * bounded in entries **and** bytes, with S3-FIFO admission (`quick_cache`): a flood of
//!   distinct tokens, each seen once, passes through the small probation queue and cannot evict
//!   the hot working set;
//! * no lock is shared by all requests: the map is sharded, and the counters are striped.

use std::hash::{Hash, Hasher};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use quick_cache::sync::Cache as QuickCache;
use quick_cache::{DefaultHashBuilder, Equivalent, Lifecycle, Weighter};

use crate::AuthContext;
use crate::keys::{KeyChoice, KeyStore};
use crate::session::Verified;

/// How a layer caches verified tokens: on by default; see
/// [`AuthLayerBuilder::token_cache`](crate::AuthLayerBuilder::token_cache).
///
/// ```
/// use std::time::Duration;
/// use axum_session_mfa::{Algorithm, AuthLayer, Key, TokenCache};
/// # let key = Key::hmac(Algorithm::HS256, &[7; 32]).unwrap();
/// let auth = AuthLayer::builder(key)
///     .token_cache(
///         TokenCache::new()
///             .max_entries(50_000)
///             .max_bytes(64 * 1024 * 1024)
///             .max_ttl(Duration::from_secs(30)),
///     )
///     .build()
///     .unwrap();
/// let stats = auth.cache_stats().unwrap();
/// assert_eq!((stats.hits, stats.misses), (0, 0));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use]
pub struct TokenCache {
    enabled: bool,
    max_entries: usize,
    max_bytes: u64,
    max_ttl: Duration,
}

impl Default for TokenCache {
    fn default() -> Self {
        Self::new()
    }
}

impl TokenCache {
    /// The default cache: 10,000 entries, 64 MiB, entries live at most 60 seconds. A typical
    /// access token (700 bytes, 15 claims) weighs about 5.5 KB, so the entry bound is the one
    /// that binds.
    pub fn new() -> Self {
        Self {
            enabled: true,
            max_entries: 10_000,
            max_bytes: 64 * 1024 * 1024,
            max_ttl: Duration::from_secs(60),
        }
    }

    /// No cache: every request verifies its token.
    pub fn disabled() -> Self {
        Self { enabled: false, ..Self::new() }
    }

    /// At most this many entries (default 10,000; at least 1).
    pub fn max_entries(mut self, entries: usize) -> Self {
        self.max_entries = entries.max(1);
        self
    }

    /// At most about this many bytes of memory for tokens and verified claims (default 64 MiB).
    /// Each entry is weighed by an estimate of the heap it holds (its token and its claims,
    /// with allocator overhead), so the bound holds for resident memory, not just for the
    /// tokens' text.
    pub fn max_bytes(mut self, bytes: u64) -> Self {
        self.max_bytes = bytes.max(1);
        self
    }

    /// The longest an entry is trusted without verifying the token again (default 60 s),
    /// however far away the token's `exp` is.
    pub fn max_ttl(mut self, ttl: Duration) -> Self {
        self.max_ttl = ttl;
        self
    }
}

/// What a layer's token cache did so far; see [`AuthLayer::cache_stats`](crate::AuthLayer::cache_stats).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct CacheStats {
    /// Requests whose token was found verified in the cache.
    pub hits: u64,
    /// Requests whose token was verified (absent, expired, or its key gone).
    pub misses: u64,
    /// Entries pushed out to stay within the bounds.
    pub evictions: u64,
    /// Entries held now.
    pub entries: u64,
    /// The weight held now: about the bytes of memory the entries hold (see
    /// [`TokenCache::max_bytes`]).
    pub bytes: u64,
}

/// Where a cached token came from: a bearer token is always a JWT, a cookie may be sealed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Origin {
    Bearer,
    Cookie,
}

#[derive(Clone, PartialEq, Eq)]
struct CacheKey {
    origin: Origin,
    token: Box<str>,
}

impl Hash for CacheKey {
    fn hash<H: Hasher>(&self, state: &mut H) {
        Lookup { origin: self.origin, token: &self.token }.hash(state);
    }
}

/// A borrowed key, so a lookup copies nothing.
#[derive(Hash)]
struct Lookup<'a> {
    origin: Origin,
    token: &'a str,
}

impl Equivalent<CacheKey> for Lookup<'_> {
    fn equivalent(&self, key: &CacheKey) -> bool {
        self.origin == key.origin && self.token == &*key.token
    }
}

#[derive(Clone)]
struct Entry {
    ctx: AuthContext,
    key: KeyChoice,
    nbf: Option<u64>,
    /// The first second at which the entry is no longer trusted.
    until: u64,
    /// What the entry holds in memory, about: see [`entry_bytes`].
    bytes: u64,
}

/// Bookkeeping per entry: the map slot, the context's `Arc`, the entry and the cache's own.
const ENTRY_OVERHEAD: u64 = 512;

/// About the heap an entry holds: its key (the token), and the verified claims as a
/// `serde_json` map (each string's bytes plus the allocations and nodes around it), doubled
/// for the allocator's rounding and free space. Calibrated against the resident memory of a
/// server flooded with a million distinct tokens (BENCHMARKS.md): the bound on the weight is a
/// bound on what the cache keeps resident.
fn entry_bytes(token: &str, ctx: &AuthContext) -> u64 {
    fn value(v: &serde_json::Value) -> u64 {
        use serde_json::Value::{Array, Object, String};
        32 + match v {
            String(s) => 16 + s.len() as u64,
            Array(items) => 16 + items.iter().map(value).sum::<u64>(),
            Object(map) => map.iter().map(|(k, v)| 64 + k.len() as u64 + value(v)).sum(),
            _ => 0,
        }
    }
    let claims: u64 = ctx.claims().iter().map(|(k, v)| 64 + k.len() as u64 + value(v)).sum();
    2 * (token.len() as u64 + claims) + ENTRY_OVERHEAD
}

/// Weighs an entry as about its bytes, but never less than `max_bytes / max_entries`, so one
/// weight capacity bounds both.
#[derive(Clone)]
struct Weigh {
    floor: u64,
}

impl Weighter<CacheKey, Entry> for Weigh {
    fn weight(&self, _: &CacheKey, entry: &Entry) -> u64 {
        entry.bytes.max(self.floor)
    }
}

#[derive(Clone)]
struct CountEvictions(Arc<AtomicU64>);

impl Lifecycle<CacheKey, Entry> for CountEvictions {
    type RequestState = ();

    fn on_evict(&self, _: &mut (), _: CacheKey, _: Entry) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }
}

/// A counter striped over cache lines, so concurrent requests do not contend on one.
#[derive(Default)]
struct Striped([Padded; STRIPES]);

const STRIPES: usize = 16;

#[derive(Default)]
#[repr(align(128))]
struct Padded(AtomicU64);

impl Striped {
    fn add(&self) {
        thread_local! {
            static STRIPE: usize = {
                static NEXT: AtomicUsize = AtomicUsize::new(0);
                NEXT.fetch_add(1, Ordering::Relaxed) % STRIPES
            };
        }
        STRIPE.with(|i| self.0[*i].0.fetch_add(1, Ordering::Relaxed));
    }

    fn sum(&self) -> u64 {
        self.0.iter().map(|p| p.0.load(Ordering::Relaxed)).sum()
    }
}

/// The least an entry weighs: rounded up, so `max_bytes / floor` never exceeds `max_entries`.
fn weight_floor(config: &TokenCache) -> u64 {
    config.max_bytes.div_ceil(config.max_entries as u64).max(1)
}

/// One layer's cache.
pub(crate) struct Cache {
    map: QuickCache<CacheKey, Entry, Weigh, DefaultHashBuilder, CountEvictions>,
    max_ttl: u64,
    hits: Striped,
    misses: Striped,
    evictions: Arc<AtomicU64>,
}

impl Cache {
    /// The cache `config` describes, or `None` when it is disabled.
    pub(crate) fn new(config: &TokenCache) -> Option<Self> {
        if !config.enabled {
            return None;
        }
        let evictions = Arc::new(AtomicU64::new(0));
        let floor = weight_floor(config);
        // No entry weighs less than its bookkeeping: more entries than that can never fit, and
        // the map sizes its own bookkeeping (and its record of recent evictions) from this.
        let entries = config.max_entries.min((config.max_bytes / ENTRY_OVERHEAD).max(1) as usize);
        let map = QuickCache::with(
            entries,
            config.max_bytes,
            Weigh { floor },
            DefaultHashBuilder::default(),
            CountEvictions(evictions.clone()),
        );
        Some(Self {
            map,
            max_ttl: config.max_ttl.as_secs(),
            hits: Striped::default(),
            misses: Striped::default(),
            evictions,
        })
    }

    /// The verified session for `token`, if it was verified before and is still good at `now`:
    /// within `exp` and `nbf` (with `leeway`), the cap, and verified by a key `keys` still trusts.
    pub(crate) fn get(
        &self,
        origin: Origin,
        token: &str,
        now: u64,
        leeway: u64,
        keys: &KeyStore,
    ) -> Option<AuthContext> {
        let lookup = Lookup { origin, token };
        let Some(entry) = self.map.get(&lookup) else {
            self.misses.add();
            return None;
        };
        let early = entry.nbf.is_some_and(|nbf| nbf > now.saturating_add(leeway));
        if now >= entry.until || early || !keys.trusts(&entry.key) {
            self.map.remove(&lookup);
            self.misses.add();
            return None;
        }
        self.hits.add();
        Some(entry.ctx.seen_at(now))
    }

    /// Keeps a session the layer just verified.
    pub(crate) fn insert(&self, origin: Origin, token: &str, verified: &Verified, leeway: u64) {
        let Verified { ctx, key: choice, seal_expires } = verified;
        let now = ctx.verified_at();
        let until = ctx
            .exp()
            .saturating_add(leeway)
            .min(now.saturating_add(self.max_ttl))
            .min(seal_expires.unwrap_or(u64::MAX));
        if until <= now {
            return;
        }
        let nbf = ctx.claims().get("nbf").and_then(crate::claims::numeric_date);
        let bytes = entry_bytes(token, ctx);
        let entry = Entry { ctx: ctx.clone(), key: choice.clone(), nbf, until, bytes };
        self.map.insert(CacheKey { origin, token: token.into() }, entry);
    }

    pub(crate) fn stats(&self) -> CacheStats {
        CacheStats {
            hits: self.hits.sum(),
            misses: self.misses.sum(),
            evictions: self.evictions.load(Ordering::Relaxed),
            entries: self.map.len() as u64,
            bytes: self.map.weight(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_weight_capacity_bounds_entries_and_bytes() {
        for (entries, bytes) in [(10_000, 16 * 1024 * 1024), (64, 256 * 1024), (7, 1000), (1, 1)] {
            let config = TokenCache::new().max_entries(entries).max_bytes(bytes);
            let floor = weight_floor(&config);
            // Entries that all weigh the floor: no more than max_entries fit.
            assert!(bytes / floor <= entries as u64, "{entries} entries, {bytes} bytes");
        }
    }
}
