//! [`Revocations`]: see the type for the details.

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use dashmap::DashMap;

use crate::store::{Cursor, Revocation, RevocationStore, StoreError};
use crate::{AuthContext, AuthError, Clock};

/// How often the watchdog compares the copy's age with the staleness bound: the bound holds
/// to within this.
const WATCHDOG_TICK: Duration = Duration::from_millis(100);

/// How often the local copy forgets expired entries.
const SWEEP_EVERY: Duration = Duration::from_secs(60);

/// Entries published in one batch when the copy is published again.
const REPUBLISH_BATCH: usize = 1_000;

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

/// A map of the local copy: ids from verified tokens or this service's own revocations, a fast
/// hasher seeded per process, shards locked one at a time (a lookup never waits for a whole
/// copy).
type Map<V> = DashMap<Box<str>, V, foldhash::fast::RandomState>;

fn map<V>() -> Map<V> {
    DashMap::with_hasher_and_shard_amount(foldhash::fast::RandomState::default(), 64)
}

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

/// What applying an entry to the copy did.
#[derive(Debug, PartialEq, Eq)]
enum Applied {
    /// The copy already covered it.
    Covered,
    /// It widened an entry or added one.
    Changed,
    /// A new entry, refused at capacity.
    Full,
}

/// The local copy: what is revoked, as of the last sync.
struct Copy {
    /// `sid` -> (tokens issued at or before this are refused, `None`: all of them; when the
    /// entry may be forgotten).
    sessions: Map<(Option<u64>, u64)>,
    /// `sub` -> (sessions that authenticated at or before this are revoked, forget after).
    users: Map<(u64, u64)>,
    /// Sign-in id -> forget after.
    sign_ins: Map<u64>,
    /// Entries per map, so the request path skips an empty map without touching it.
    counts: [AtomicUsize; 3],
}

impl Default for Copy {
    fn default() -> Self {
        Self { sessions: map(), users: map(), sign_ins: map(), counts: Default::default() }
    }
}

impl Copy {
    fn len(&self) -> usize {
        self.counts.iter().map(|c| c.load(Ordering::Relaxed)).sum()
    }

    /// The entry the copy holds for `entry`'s id, if any.
    fn get(&self, entry: &Revocation) -> Option<Revocation> {
        match entry {
            Revocation::Session { sid, .. } => self.sessions.get(sid.as_str()).map(|v| {
                let (issued_before, until) = *v;
                Revocation::Session { sid: sid.clone(), until, issued_before }
            }),
            Revocation::User { sub, .. } => self.users.get(sub.as_str()).map(|v| {
                let (before, until) = *v;
                Revocation::User { sub: sub.clone(), before, until }
            }),
            Revocation::SignIn { id, .. } => self
                .sign_ins
                .get(id.as_str())
                .map(|u| Revocation::SignIn { id: id.clone(), until: *u }),
        }
    }

    /// Merges `entry` into the copy; with a `capacity`, a new entry is refused when the copy
    /// holds that many.
    fn apply(&self, entry: &Revocation, capacity: Option<usize>) -> Applied {
        let current = self.get(entry);
        if current.as_ref().is_some_and(|c| c.covers(entry)) {
            return Applied::Covered;
        }
        if current.is_none() && capacity.is_some_and(|cap| self.len() >= cap) {
            return Applied::Full;
        }
        // Merged under the shard's lock: an announcement applied at the same moment as a local
        // revocation of the same id cannot overwrite the wider of the two.
        let added = match entry {
            Revocation::Session { sid, .. } => merge_into(
                &self.sessions,
                sid,
                entry,
                |(issued_before, until)| Revocation::Session {
                    sid: sid.clone(),
                    until,
                    issued_before,
                },
                |e| match e {
                    Revocation::Session { until, issued_before, .. } => (*issued_before, *until),
                    _ => unreachable!("the sessions map holds sessions"),
                },
            ),
            Revocation::User { sub, .. } => merge_into(
                &self.users,
                sub,
                entry,
                |(before, until)| Revocation::User { sub: sub.clone(), before, until },
                |e| match e {
                    Revocation::User { before, until, .. } => (*before, *until),
                    _ => unreachable!("the users map holds users"),
                },
            ),
            Revocation::SignIn { id, .. } => merge_into(
                &self.sign_ins,
                id,
                entry,
                |until| Revocation::SignIn { id: id.clone(), until },
                |e| match e {
                    Revocation::SignIn { until, .. } => *until,
                    _ => unreachable!("the sign-ins map holds sign-ins"),
                },
            ),
        };
        if added {
            self.counts[kind(entry)].fetch_add(1, Ordering::Relaxed);
        }
        Applied::Changed
    }

    /// Forgets entries that expired before `now`.
    fn sweep(&self, now: u64) {
        let mut removed = [0usize; 3];
        self.sessions.retain(|_, (_, u)| *u >= now || !bump(&mut removed[0]));
        self.users.retain(|_, (_, u)| *u >= now || !bump(&mut removed[1]));
        self.sign_ins.retain(|_, u| *u >= now || !bump(&mut removed[2]));
        for (count, n) in self.counts.iter().zip(removed) {
            count.fetch_sub(n, Ordering::Relaxed);
        }
    }

    /// Every live entry, for publishing the copy again.
    fn entries(&self, now: u64) -> Vec<Revocation> {
        let mut all = Vec::with_capacity(self.len());
        for e in self.sessions.iter().filter(|e| e.value().1 >= now) {
            let (issued_before, until) = *e.value();
            all.push(Revocation::Session { sid: e.key().to_string(), until, issued_before });
        }
        for e in self.users.iter().filter(|e| e.value().1 >= now) {
            let (before, until) = *e.value();
            all.push(Revocation::User { sub: e.key().to_string(), before, until });
        }
        for e in self.sign_ins.iter().filter(|e| *e.value() >= now) {
            all.push(Revocation::SignIn { id: e.key().to_string(), until: *e.value() });
        }
        all
    }
}

/// Merges `entry` into `map[id]` under the shard's lock with the one merge rule
/// (`Revocation::merge`); `true` when the id was new. `entry_of` and `value_of` convert between a
/// stored value and its entry.
fn merge_into<V: std::marker::Copy>(
    map: &Map<V>,
    id: &str,
    entry: &Revocation,
    entry_of: impl Fn(V) -> Revocation,
    value_of: impl Fn(&Revocation) -> V,
) -> bool {
    match map.entry(Box::from(id)) {
        dashmap::mapref::entry::Entry::Occupied(mut stored) => {
            let mut merged = entry_of(*stored.get());
            merged.merge(entry);
            stored.insert(value_of(&merged));
            false
        }
        dashmap::mapref::entry::Entry::Vacant(slot) => {
            slot.insert(value_of(entry));
            true
        }
    }
}

/// Counts one removal; always `true`.
fn bump(n: &mut usize) -> bool {
    *n += 1;
    true
}

fn kind(entry: &Revocation) -> usize {
    match entry {
        Revocation::Session { .. } => 0,
        Revocation::User { .. } => 1,
        Revocation::SignIn { .. } => 2,
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

    /// Applies `entries` here at once (this instance refuses them whatever the backend says),
    /// then writes them to the shared state in one call. All or none are recorded here: an
    /// invalid id, or (when `bounded`) a full set, refuses the whole call.
    async fn publish_all(
        &self,
        entries: Vec<Revocation>,
        bounded: bool,
    ) -> Result<(), RevokeError> {
        let copy = &self.inner.copy;
        if let Some(bad) = entries.iter().find(|e| !valid_id(e.id())) {
            crate::audit::revocation_refused(bad, "invalid_id");
            return Err(RevokeError::InvalidId);
        }
        self.sweep_if_due();
        let new = entries.iter().filter(|e| copy.get(e).is_none()).count();
        if bounded && new > 0 && copy.len() + new > self.inner.capacity {
            crate::audit::revocation_refused(&entries[0], "revocations_full");
            return Err(RevokeError::Full { capacity: self.inner.capacity });
        }
        let mut merged = Vec::with_capacity(entries.len());
        for entry in entries {
            copy.apply(&entry, None);
            crate::audit::revoked(&entry);
            // What the copy holds now: wider than `entry` when it was revoked before.
            merged.push(copy.get(&entry).unwrap_or(entry));
        }
        if let Err(e) = self.inner.store.publish(merged.clone()).await {
            let mut pending = self.inner.pending.lock().unwrap_or_else(|e| e.into_inner());
            pending.extend(merged.into_iter().map(|e| (e.key(), e)));
            return Err(RevokeError::NotShared(e));
        }
        Ok(())
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

    /// Whether the copy is older than the staleness bound now.
    fn is_stale(&self) -> bool {
        let now_ms = self.inner.clock.now_millis();
        let synced = self.inner.synced_ms.load(Ordering::Relaxed);
        now_ms.saturating_sub(synced) > self.inner.max_staleness.as_millis() as u64
    }

    /// Re-evaluates staleness often enough for the bound to hold within [`WATCHDOG_TICK`].
    async fn watchdog(weak: std::sync::Weak<Inner>) {
        let mut tick = tokio::time::interval(WATCHDOG_TICK);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let Some(inner) = weak.upgrade() else { return };
            let this = Revocations { inner };
            this.inner.stale.store(this.is_stale(), Ordering::Relaxed);
        }
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
        let weak = Arc::downgrade(&self.inner);
        let inner = self.inner.clone();
        KeepCurrent {
            run: Box::pin(async move {
                if inner.syncing.swap(true, Ordering::AcqRel) {
                    tracing::warn!(
                        "Revocations::keep_current is already running for these revocations"
                    );
                    return;
                }
                let _running = Syncing(Arc::downgrade(&inner));
                drop(inner);
                tokio::join!(Revocations::run(weak.clone()), Revocations::watchdog(weak));
            }),
        }
    }

    /// Brings the copy up to date with the shared state: the changes since the last resync
    /// (the whole set on the first one, or when the reader lost its place in the log). When the
    /// store lost data this copy had seen (a Redis restarted empty, a log that went back), the
    /// copy is published again, so the others learn what the store forgot; revocations that
    /// could not be shared when they were made are published now. Entries only leave the copy
    /// by expiring.
    async fn resync(&self) -> Result<(), StoreError> {
        let inner = &*self.inner;
        let now = inner.clock.now();
        let backend = &inner.store;
        loop {
            let since = inner.cursor.lock().unwrap_or_else(|e| e.into_inner()).clone();
            let loaded = backend.load(since, now).await?;
            for entry in &loaded.entries {
                inner.copy.apply(entry, None);
            }
            if loaded.lost {
                inner.republish.store(true, Ordering::Relaxed);
            }
            *inner.cursor.lock().unwrap_or_else(|e| e.into_inner()) = Some(loaded.cursor);
            if !loaded.more {
                break;
            }
        }
        // The copy is current now; publishing may take a while (a Redis that restarted empty)
        // and must not make the copy look stale.
        self.mark_synced();
        self.sweep_if_due();
        let pending: Vec<Revocation> = {
            let mut p = inner.pending.lock().unwrap_or_else(|e| e.into_inner());
            p.drain().map(|(_, e)| e).collect()
        };
        let whole = inner.republish.load(Ordering::Relaxed);
        let again = if whole { inner.copy.entries(now) } else { pending.clone() };
        for batch in again.chunks(REPUBLISH_BATCH) {
            if let Err(e) = backend.publish(batch.to_vec()).await {
                let mut p = inner.pending.lock().unwrap_or_else(|e| e.into_inner());
                p.extend(pending.into_iter().map(|e| (e.key(), e)));
                return Err(e);
            }
        }
        if whole {
            inner.republish.store(false, Ordering::Relaxed);
        }
        Ok(())
    }

    /// Forgets expired entries, at most once per [`SWEEP_EVERY`] (on a resync, and as
    /// revocations are made: a copy nobody resyncs is swept too).
    fn sweep_if_due(&self) {
        let (inner, now) = (&*self.inner, self.inner.clock.now());
        let last = inner.swept.load(Ordering::Relaxed);
        if now.saturating_sub(last) >= SWEEP_EVERY.as_secs()
            && inner.swept.compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed).is_ok()
        {
            inner.copy.sweep(now);
        }
    }

    fn mark_synced(&self) {
        self.inner.synced_ms.store(self.inner.clock.now_millis(), Ordering::Relaxed);
        self.inner.stale.store(false, Ordering::Relaxed);
        if self.inner.down.swap(false, Ordering::Relaxed) {
            crate::audit::shared_state_changed(true, "resynced");
        }
    }

    fn mark_down(&self, e: &StoreError) {
        if !self.inner.down.swap(true, Ordering::Relaxed) {
            crate::audit::shared_state_changed(false, &e.to_string());
        }
    }

    /// Keeps the copy current: subscribe, resync, apply announcements, resync periodically;
    /// on any failure wait a little and start over. Ends when the last handle is dropped.
    async fn run(weak: std::sync::Weak<Inner>) {
        let mut backoff = Duration::from_millis(100);
        loop {
            let Some(inner) = weak.upgrade() else { return };
            let this = Revocations { inner };
            let every = this.inner.resync_every;
            let broke = match this.inner.store.subscribe().await {
                Err(e) => e,
                Ok(mut rx) => match this.resync().await {
                    Err(e) => e,
                    Ok(()) => {
                        backoff = Duration::from_millis(100);
                        let mut tick = tokio::time::interval(every);
                        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                        tick.tick().await;
                        drop(this);
                        loop {
                            tokio::select! {
                                msg = rx.recv() => {
                                    let Some(inner) = weak.upgrade() else { return };
                                    match msg {
                                        Some(entry) => {
                                            inner.copy.apply(&entry, None);
                                        }
                                        None => break StoreError::Unavailable("subscription closed".into()),
                                    }
                                }
                                _ = tick.tick() => {
                                    let Some(inner) = weak.upgrade() else { return };
                                    if let Err(e) = (Revocations { inner }).resync().await {
                                        break e;
                                    }
                                }
                            }
                        }
                    }
                },
            };
            let Some(inner) = weak.upgrade() else { return };
            Revocations { inner }.mark_down(&broke);
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(Duration::from_secs(2));
        }
    }
}

/// The future [`Revocations::keep_current`] returns: spawn it. Ends when every clone of the
/// revocations is dropped.
#[must_use = "a shared copy goes stale (and refuses sessions) unless this runs: spawn it"]
pub struct KeepCurrent {
    run: std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>,
}

impl fmt::Debug for KeepCurrent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeepCurrent").finish_non_exhaustive()
    }
}

impl std::future::Future for KeepCurrent {
    type Output = ();

    fn poll(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<()> {
        self.run.as_mut().poll(cx)
    }
}

/// Held while a [`KeepCurrent`] runs: when it ends or is dropped, the request path judges the
/// copy's age by the clock again.
struct Syncing(std::sync::Weak<Inner>);

impl Drop for Syncing {
    fn drop(&mut self) {
        if let Some(inner) = self.0.upgrade() {
            inner.syncing.store(false, Ordering::Release);
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn session(sid: &str, until: u64, issued_before: Option<u64>) -> Revocation {
        Revocation::Session { sid: sid.to_owned(), until, issued_before }
    }

    /// Two appliers (an announcement and a local revocation) racing on the same ids: the copy
    /// always ends with the wider entry, whichever lands last.
    #[test]
    fn concurrent_applies_never_narrow_an_entry() {
        let copy = std::sync::Arc::new(Copy::default());
        let ids: Vec<String> = (0..5_000).map(|i| format!("s{i}")).collect();
        let run = |wide: bool| {
            let (copy, ids) = (copy.clone(), ids.clone());
            std::thread::spawn(move || {
                for id in &ids {
                    let cut = if wide { None } else { Some(5) };
                    copy.apply(&session(id, 10, cut), None);
                }
            })
        };
        let (a, b) = (run(true), run(false));
        a.join().unwrap();
        b.join().unwrap();
        for id in &ids {
            assert_eq!(copy.get(&session(id, 0, None)), Some(session(id, 10, None)), "{id}");
        }
        assert_eq!(copy.len(), ids.len());
    }

    #[test]
    fn the_copy_widens_entries_and_refuses_new_ones_at_capacity() {
        let copy = Copy::default();
        assert_eq!(copy.apply(&session("a", 10, Some(5)), Some(2)), Applied::Changed);
        assert_eq!(copy.apply(&session("a", 9, Some(4)), Some(2)), Applied::Covered);
        assert_eq!(copy.apply(&session("a", 9, None), Some(2)), Applied::Changed);
        assert_eq!(copy.get(&session("a", 0, None)), Some(session("a", 10, None)));
        let user = Revocation::User { sub: "u".into(), before: 3, until: 10 };
        assert_eq!(copy.apply(&user, Some(2)), Applied::Changed);
        let sign_in = Revocation::SignIn { id: "s".into(), until: 10 };
        assert_eq!(copy.apply(&sign_in, Some(2)), Applied::Full, "a third entry at capacity 2");
        assert_eq!(copy.apply(&session("a", 20, None), Some(2)), Applied::Changed, "widening");
        assert_eq!(copy.apply(&sign_in, None), Applied::Changed, "heard from another instance");
        assert_eq!(copy.len(), 3);
        copy.sweep(15);
        assert_eq!(copy.len(), 1, "only the session lives past 15");
        assert_eq!(copy.entries(15), vec![session("a", 20, None)]);
    }
}
