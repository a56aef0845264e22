//! [`Revocations`]: see the type for the details.

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::store::{Cursor, Revocation, RevocationStore, StoreError};
use crate::{AuthContext, AuthError, Clock};

mod copy;
mod sync;

use copy::Copy;
pub use sync::KeepCurrent;

/// The longest `sid`, `sub` or sign-in id a revocation accepts, in bytes. Longer ids are
/// refused at every entry point (they would let one request grow every instance's copy and the
/// shared state without bound); no provider issues ids anywhere near this long.
pub const MAX_ID_BYTES: usize = 255;

/// `true` for an id a revocation may name: 1 to [`MAX_ID_BYTES`] bytes.
pub(crate) fn valid_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= MAX_ID_BYTES
}

/// The default [`capacity`](RevocationsBuilder::capacity).
pub const DEFAULT_REVOCATION_CAPACITY: usize = 1_000_000;

/// Why a revocation was not made, or not shared.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RevokeError {
    /// The id is empty or longer than [`MAX_ID_BYTES`](MAX_ID_BYTES): nothing was
    /// revoked.
    InvalidId,
    /// The set holds its [`capacity`](RevocationsBuilder::capacity): nothing was revoked.
    Full {
        /// The configured capacity.
        capacity: usize,
    },
    /// Revoked on this instance, but the shared state could not be written: this instance
    /// publishes it again once the shared state answers, and the others refuse the session
    /// from then on.
    NotShared(StoreError),
}

impl RevokeError {
    /// A stable code for logs and bodies: `invalid_id`, `revocations_full`, `not_shared`.
    pub fn code(&self) -> &'static str {
        match self {
            Self::InvalidId => "invalid_id",
            Self::Full { .. } => "revocations_full",
            Self::NotShared(_) => "not_shared",
        }
    }
}

impl fmt::Display for RevokeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::InvalidId => write!(
                f,
                "the id is empty or longer than {} bytes: nothing was revoked",
                MAX_ID_BYTES
            ),
            Self::Full { capacity } => {
                write!(f, "the revocation set holds its capacity ({capacity}): nothing was revoked")
            }
            Self::NotShared(e) => write!(f, "revoked on this instance only for now: {e}"),
        }
    }
}

impl std::error::Error for RevokeError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::NotShared(e) => Some(e),
            _ => None,
        }
    }
}

struct Inner {
    store: Arc<dyn RevocationStore>,
    /// `store.is_shared()`: whether the copy must be kept in step with other instances.
    shared: bool,
    /// Whether a [`KeepCurrent`] future is running: when none is (never spawned, or dropped),
    /// the request path judges staleness by the clock itself.
    syncing: AtomicBool,
    copy: Copy,
    /// Where the last resync stopped reading the shared state's log.
    cursor: Mutex<Option<Cursor>>,
    /// Revocations made here that the shared state has not taken yet (by field).
    pending: Mutex<HashMap<String, Revocation>>,
    /// The shared state lost data this copy holds: publish the whole copy again (kept until a
    /// republish completes, so a failed one is tried again at the next resync).
    republish: AtomicBool,
    /// When the copy was last known current (ms since the epoch, by `clock`).
    synced_ms: AtomicU64,
    /// When the copy last forgot expired entries (seconds since the epoch).
    swept: AtomicU64,
    /// Set by the watchdog when the copy is older than `max_staleness`: the request path reads
    /// one atomic instead of the clock.
    stale: AtomicBool,
    /// Whether the last sync attempt failed (for one audit event per change).
    down: AtomicBool,
    clock: Clock,
    retain: Duration,
    max_staleness: Duration,
    resync_every: Duration,
    fail_open: bool,
    capacity: usize,
}

/// Signed-out and revoked sessions, refused on every instance (feature `revocation`).
///
/// A JWT stays valid until it expires; a revocation makes the layer refuse it anyway:
/// [`revoke_session`](Revocations::revoke_session) refuses every token carrying that `sid`,
/// [`revoke_user`](Revocations::revoke_user) every session of that `sub` that authenticated
/// (`auth_time`, else `iat`) at or before the call. Entries are forgotten after
/// [`retain`](RevocationsBuilder::retain) (default 24 hours): set it longer than any token you
/// accept lives, and end the session at the provider too, so no refresh brings it back later.
///
/// **The request path never waits for the network.** Each instance keeps a local copy (a
/// concurrent map: a hash lookup per request, no allocation, no copy of the map when an entry
/// is added), kept current by the store's announcements (Redis pub/sub) through
/// [`keep_current`](Revocations::keep_current) and a resync every [`resync_every`](RevocationsBuilder::resync_every) (default
/// 5 s) that reads only the changes since the last one (the shared state keeps a log of
/// them). An instance loads the whole set when it starts, so it refuses sessions revoked
/// before it existed.
///
/// **The set is bounded.** Ids longer than [`MAX_ID_BYTES`](MAX_ID_BYTES) are refused
/// ([`RevokeError::InvalidId`]); entries expire by time ([`retain`](RevocationsBuilder::retain));
/// revocations through this API fill the set to at most
/// [`capacity`](RevocationsBuilder::capacity) entries (default 1,000,000). At capacity a *new*
/// revocation is refused with [`RevokeError::Full`] (and an audit event) while every session
/// keeps working and every existing revocation holds: a flood can neither push out earlier
/// revocations nor make other sessions fail. Sign-outs of the lifecycle, back-channel logouts
/// and entries heard from other instances are always applied.
///
/// **When the shared state is unreachable**, the local copy keeps serving for
/// [`max_staleness`](RevocationsBuilder::max_staleness) (default 30 s) after the last
/// successful sync; after that, requests with a session are refused with 503 and
/// `Retry-After` (fail closed), or let through if you chose
/// [`fail_open`](RevocationsBuilder::fail_open). It recovers on its own when the state comes
/// back. Each change (unreachable, recovered) is an audit event.
///
/// ```no_run
/// use axum_session_mfa::store::MemoryStore;
/// use axum_session_mfa::{AuthLayer, Key, Algorithm, Revocations};
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let revocations = Revocations::builder(MemoryStore::new()).start().await;
/// tokio::spawn(revocations.keep_current());
/// # let key = Key::hmac(Algorithm::HS256, &[7; 32])?;
/// let auth = AuthLayer::builder(key).revocations(revocations.clone()).build()?;
/// // Later, from an admin endpoint or a back-channel logout:
/// revocations.revoke_session("session_01H").await?;
/// # Ok(()) }
/// ```
///
/// Cheap to clone: clones share one copy.
#[derive(Clone)]
pub struct Revocations {
    inner: Arc<Inner>,
}

impl fmt::Debug for Revocations {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let c = &self.inner.copy;
        f.debug_struct("Revocations")
            .field("shared", &self.inner.shared)
            .field("entries", &c.len())
            .field("capacity", &self.inner.capacity)
            .field("fail_open", &self.inner.fail_open)
            .finish_non_exhaustive()
    }
}

/// Builds [`Revocations`]; see [`Revocations::builder`].
#[must_use]
pub struct RevocationsBuilder {
    store: Arc<dyn RevocationStore>,
    retain: Duration,
    max_staleness: Duration,
    resync_every: Duration,
    fail_open: bool,
    clock: Clock,
    capacity: usize,
}

impl fmt::Debug for RevocationsBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RevocationsBuilder")
            .field("shared", &self.store.is_shared())
            .field("retain", &self.retain)
            .field("capacity", &self.capacity)
            .field("fail_open", &self.fail_open)
            .finish_non_exhaustive()
    }
}

impl Revocations {
    /// Revocations kept in `store`: a [`MemoryStore`](crate::store::MemoryStore) for one
    /// instance, a [`RedisStore`](crate::store::RedisStore) (feature `redis`) for several.
    pub fn builder(store: impl RevocationStore) -> RevocationsBuilder {
        RevocationsBuilder {
            store: Arc::new(store),
            retain: Duration::from_secs(24 * 3600),
            max_staleness: Duration::from_secs(30),
            resync_every: Duration::from_secs(5),
            fail_open: false,
            clock: Clock::system(),
            capacity: DEFAULT_REVOCATION_CAPACITY,
        }
    }

    /// Refuses every token of the session `sid` on every instance, from now on.
    ///
    /// # Errors
    ///
    /// [`RevokeError::InvalidId`] and [`RevokeError::Full`]: nothing was revoked;
    /// [`RevokeError::NotShared`]: this instance refuses the session already, the others will
    /// once the shared state answers.
    pub async fn revoke_session(&self, sid: &str) -> Result<(), RevokeError> {
        self.publish_all(vec![self.session_entry(sid)], true).await
    }

    /// Refuses the tokens of session `sid` issued until now, on every instance (sign-out): a
    /// later sign-in that the provider gives the same `sid` is not refused.
    ///
    /// # Errors
    ///
    /// As [`revoke_session`](Self::revoke_session).
    pub async fn sign_out_session(&self, sid: &str) -> Result<(), RevokeError> {
        let (until, now) = (self.until(), self.inner.clock.now());
        let entry = Revocation::Session { sid: sid.to_owned(), until, issued_before: Some(now) };
        self.publish_all(vec![entry], true).await
    }

    #[cfg(feature = "lifecycle")]
    /// Sign-out of a sealed session: the tokens of `sid` issued until now, and every cookie of
    /// the sign-in `sign_in` (the ones a refresh still in flight produces included), in one
    /// write to the shared state.
    pub(crate) async fn sign_out(
        &self,
        sid: Option<&str>,
        sign_in: Option<&str>,
    ) -> Result<(), RevokeError> {
        let (until, now) = (self.until(), self.inner.clock.now());
        let sign_in = sign_in.map(|id| Revocation::SignIn { id: id.to_owned(), until });
        // An over-long `sid` cannot be recorded; the sign-in id still is.
        let sid = sid.filter(|sid| valid_id(sid));
        let sid = sid.map(|sid| Revocation::Session {
            sid: sid.to_owned(),
            until,
            issued_before: Some(now),
        });
        // Not bounded by the capacity: each sign-out needs a sign-in at the provider first.
        self.publish_all(sign_in.into_iter().chain(sid).collect(), false).await
    }

    #[cfg(feature = "lifecycle")]
    /// A revocation the provider asked for (back-channel logout), not bounded by the capacity:
    /// the provider signed it, and refusing it would leave a session it ended alive.
    pub(crate) async fn provider_revoked(&self, entry: Revocation) -> Result<(), RevokeError> {
        self.publish_all(vec![entry], false).await
    }

    /// The entry `revoke_session(sid)` records.
    pub(crate) fn session_entry(&self, sid: &str) -> Revocation {
        Revocation::Session { sid: sid.to_owned(), until: self.until(), issued_before: None }
    }

    /// The entry `revoke_user(sub)` records.
    pub(crate) fn user_entry(&self, sub: &str) -> Revocation {
        let before = self.inner.clock.now();
        Revocation::User { sub: sub.to_owned(), before, until: self.until() }
    }
    /// Refuses every session of the user `sub` that authenticated now or earlier, on every
    /// instance; a later sign-in is not affected.
    ///
    /// # Errors
    ///
    /// As [`revoke_session`](Self::revoke_session).
    pub async fn revoke_user(&self, sub: &str) -> Result<(), RevokeError> {
        self.publish_all(vec![self.user_entry(sub)], true).await
    }

    /// `true` when the store is shared with other instances.
    #[cfg(feature = "lifecycle")]
    pub(crate) fn is_shared(&self) -> bool {
        self.inner.shared
    }

    /// How many entries this instance's copy holds (revoked sessions, users and sign-ins,
    /// expired ones until the next sweep), for metrics.
    pub fn len(&self) -> usize {
        self.inner.copy.len()
    }

    /// `true` when the copy holds no entry.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn until(&self) -> u64 {
        self.inner.clock.now().saturating_add(self.inner.retain.as_secs())
    }

    /// What the layer asks of every request: `Err(`[`AuthError::SessionRevoked`]`)` for a
    /// revoked session, `Err(`[`AuthError::RevocationUnavailable`]`)` when the local copy is
    /// older than the staleness bound (unless fail-open), else `Ok`. No allocation, no network:
    /// use it for sessions checked outside the layer (WebSocket messages, background jobs).
    pub fn check(&self, ctx: &AuthContext) -> Result<(), AuthError> {
        let inner = &*self.inner;
        // The watchdog of a running `keep_current` sets `stale`; without one (never spawned,
        // or dropped), a shared copy's age is read from the clock here.
        let stale = inner.stale.load(Ordering::Relaxed)
            || (inner.shared && !inner.syncing.load(Ordering::Relaxed) && self.is_stale());
        if stale && !inner.fail_open {
            let retry_after = inner.resync_every.as_secs().max(1);
            return Err(AuthError::RevocationUnavailable { retry_after });
        }
        // The times are read (two claim lookups) only when an entry matches.
        let times = || (ctx.iat(), ctx.auth_time());
        let revoked = self.is_revoked(ctx.sid(), ctx.sub(), times, ctx.sign_in_id());
        if revoked { Err(AuthError::SessionRevoked) } else { Ok(()) }
    }

    /// Whether a session with these claims (and, for a sealed cookie, this sign-in id) is
    /// revoked (the copy only; staleness aside).
    /// `times` gives the session's `iat` and `auth_time`; it is called only when an entry
    /// names the session or its user (claim lookups cost more than the check itself).
    pub(crate) fn is_revoked(
        &self,
        sid: Option<&str>,
        sub: &str,
        times: impl Fn() -> (Option<u64>, Option<u64>),
        sign_in: Option<&str>,
    ) -> bool {
        let inner = &*self.inner;
        let copy = &inner.copy;
        let live = |until: u64| until >= inner.clock.now();
        // Each lookup only when its map has entries; the clock only when an entry matches.
        if copy.counts[0].load(Ordering::Relaxed) != 0
            && let Some(sid) = sid
            && let Some(entry) = copy.sessions.get(sid)
            && let (issued_before, until) = *entry
            && live(until)
            && issued_before.is_none_or(|b| times().0.is_none_or(|iat| iat <= b))
        {
            return true;
        }
        if copy.counts[2].load(Ordering::Relaxed) != 0
            && let Some(id) = sign_in
            && copy.sign_ins.get(id).is_some_and(|until| live(*until))
        {
            return true;
        }
        copy.counts[1].load(Ordering::Relaxed) != 0
            && copy.users.get(sub).is_some_and(|entry| {
                let (before, until) = *entry;
                let (iat, auth_time) = times();
                live(until) && auth_time.or(iat).is_none_or(|t| t <= before)
            })
    }

    /// The background work that keeps this instance's copy in step with a shared store:
    /// announcements as they come, a resync every
    /// [`resync_every`](RevocationsBuilder::resync_every), expired entries forgotten, the
    /// staleness bound watched. Spawn it (or run it beside your server); it ends when every
    /// clone of these revocations is dropped, and stops when dropped (abort its task).
    ///
    /// Without it, a shared copy goes stale: once it is older than
    /// [`max_staleness`](RevocationsBuilder::max_staleness), requests with a session get 503
    /// (fail closed). A [`MemoryStore`](crate::store::MemoryStore) needs none (it has no other
    /// instance to hear from; expired entries are forgotten as revocations are made), but
    /// running it does no harm. A second one for the same revocations ends at once.
    ///
    /// ```no_run
    /// # async fn run(revocations: axum_session_mfa::Revocations) {
    /// let sync = tokio::spawn(revocations.keep_current());
    /// // At shutdown, or to stop following the store:
    /// sync.abort();
    /// # }
    /// ```
    pub fn keep_current(&self) -> KeepCurrent {
        KeepCurrent::new(&self.inner)
    }
}

impl RevocationsBuilder {
    /// How long an entry is kept (default 24 hours): longer than any token you accept lives.
    pub fn retain(mut self, retain: Duration) -> Self {
        self.retain = retain;
        self
    }

    /// How many entries the revocations made through this API may fill the set to (default
    /// [`DEFAULT_REVOCATION_CAPACITY`], 1,000,000: about 130 MiB of memory per instance when
    /// full, see BENCHMARKS.md). At capacity a new revocation is refused with
    /// [`RevokeError::Full`]; existing ones hold and every other session keeps working. Sign-outs
    /// of the lifecycle and back-channel logouts are always recorded (each needs a sign-in at
    /// the provider first, so the provider bounds their rate). Give every instance the same
    /// capacity.
    pub fn capacity(mut self, capacity: usize) -> Self {
        self.capacity = capacity;
        self
    }

    /// How old the local copy may get while the shared state is unreachable before requests
    /// with a session are refused with 503 (default 30 s).
    pub fn max_staleness(mut self, staleness: Duration) -> Self {
        self.max_staleness = staleness;
        self
    }

    /// How often the changes are read from the shared state (default 5 s; at most half of
    /// [`max_staleness`](Self::max_staleness), which it is clamped to).
    pub fn resync_every(mut self, every: Duration) -> Self {
        self.resync_every = every.max(Duration::from_millis(10));
        self
    }

    /// When the copy is too stale, let sessions through instead of refusing them: revoked
    /// sessions may then work until the shared state is back. Off by default (fail closed).
    pub fn fail_open(mut self) -> Self {
        self.fail_open = true;
        self
    }

    /// Replaces the system clock (tests and simulations).
    pub fn clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// Loads the current set, waiting at most the staleness bound (an unreachable store is
    /// tried again by [`keep_current`](Revocations::keep_current)). Call it inside a Tokio
    /// runtime, then spawn [`keep_current`](Revocations::keep_current) for a shared store.
    pub async fn start(self) -> Revocations {
        // A resync slower than the staleness bound would make every copy stale between syncs.
        let resync_every =
            self.resync_every.min(self.max_staleness / 2).max(Duration::from_millis(10));
        let now = self.clock.now();
        let revocations = Revocations {
            inner: Arc::new(Inner {
                shared: self.store.is_shared(),
                syncing: AtomicBool::new(false),
                store: self.store,
                copy: Copy::default(),
                cursor: Mutex::new(None),
                pending: Mutex::default(),
                republish: AtomicBool::new(false),
                synced_ms: AtomicU64::new(0),
                swept: AtomicU64::new(now),
                stale: AtomicBool::new(false),
                down: AtomicBool::new(false),
                clock: self.clock,
                retain: self.retain,
                max_staleness: self.max_staleness,
                resync_every,
                fail_open: self.fail_open,
                capacity: self.capacity,
            }),
        };
        let first = tokio::time::timeout(self.max_staleness, revocations.resync()).await;
        match first {
            Ok(Ok(())) => {}
            Ok(Err(e)) => revocations.mark_down(&e),
            Err(_) => {
                revocations.mark_down(&StoreError::Unavailable("first load timed out".into()))
            }
        }
        revocations.inner.stale.store(revocations.is_stale(), Ordering::Relaxed);
        revocations
    }
}
