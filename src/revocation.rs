//! [`Revocations`]: see the type for the details.

use std::collections::HashMap;

/// The local copy's maps: a fast non-cryptographic hasher seeded per process (keys are ids
/// from verified tokens or from this service's own revocations).
type Map<V> = HashMap<Box<str>, V, foldhash::fast::RandomState>;
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use arc_swap::ArcSwap;

use crate::shared::{Entry, SharedState, StateError};

/// How often the watchdog compares the copy's age with the staleness bound: the bound holds
/// to within this.
const WATCHDOG_TICK: Duration = Duration::from_millis(100);
use crate::{AuthContext, AuthError, Clock};

/// The local copy: what is revoked, as of the last sync.
#[derive(Default)]
struct Snapshot {
    /// `sid` -> (tokens issued at or before this are refused, `None`: all of them; when the
    /// entry may be forgotten).
    sessions: Map<(Option<u64>, u64)>,
    /// `sub` -> (sessions that authenticated at or before this are revoked, forget after).
    users: Map<(u64, u64)>,
}

impl Snapshot {
    fn apply(&mut self, entry: Entry) {
        match entry {
            Entry::Session { sid, until, issued_before } => {
                match self.sessions.entry(sid.into_boxed_str()) {
                    std::collections::hash_map::Entry::Occupied(mut e) => {
                        let (b0, u0) = *e.get();
                        e.insert((crate::shared::widest(b0, issued_before), u0.max(until)));
                    }
                    std::collections::hash_map::Entry::Vacant(e) => {
                        e.insert((issued_before, until));
                    }
                }
            }
            Entry::User { sub, before, until } => {
                let slot = self.users.entry(sub.into_boxed_str()).or_default();
                *slot = (slot.0.max(before), slot.1.max(until));
            }
        }
    }

    fn from_entries(entries: Vec<Entry>) -> Self {
        let mut s = Self::default();
        for e in entries {
            s.apply(e);
        }
        s
    }
}

struct Inner {
    shared: SharedState,
    snapshot: ArcSwap<Snapshot>,
    /// When the copy was last known current (ms since the epoch, by `clock`).
    synced_ms: AtomicU64,
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
/// **The request path never waits for the network.** Each instance keeps a local copy (an
/// [`arc_swap`] snapshot: one atomic load and a hash lookup per request, no allocation), kept
/// current by the shared state's announcements ([`SharedState`], Redis pub/sub) and a full
/// resync every [`resync_every`](RevocationsBuilder::resync_every) (default 5 s). An instance
/// loads the whole set when it starts, so it refuses sessions revoked before it existed.
///
/// **When the shared state is unreachable**, the local copy keeps serving for
/// [`max_staleness`](RevocationsBuilder::max_staleness) (default 30 s) after the last
/// successful sync; after that, requests with a session are refused with 503 and
/// `Retry-After` (fail closed), or let through if you chose
/// [`fail_open`](RevocationsBuilder::fail_open). It recovers on its own when the state comes
/// back. Each change (unreachable, recovered) is an audit event.
///
/// ```no_run
/// use axum_session_mfa::{AuthLayer, Key, Algorithm, Revocations, SharedState};
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let revocations = Revocations::builder(SharedState::in_memory()).start().await;
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
        let s = self.inner.snapshot.load();
        f.debug_struct("Revocations")
            .field("shared", &self.inner.shared)
            .field("sessions", &s.sessions.len())
            .field("users", &s.users.len())
            .field("fail_open", &self.inner.fail_open)
            .finish_non_exhaustive()
    }
}

/// Builds [`Revocations`]; see [`Revocations::builder`].
#[derive(Debug)]
#[must_use]
pub struct RevocationsBuilder {
    shared: SharedState,
    retain: Duration,
    max_staleness: Duration,
    resync_every: Duration,
    fail_open: bool,
    clock: Clock,
}

impl Revocations {
    /// Revocations kept in `shared` (in memory for one instance, Redis for several).
    pub fn builder(shared: SharedState) -> RevocationsBuilder {
        RevocationsBuilder {
            shared,
            retain: Duration::from_secs(24 * 3600),
            max_staleness: Duration::from_secs(30),
            resync_every: Duration::from_secs(5),
            fail_open: false,
            clock: Clock::system(),
        }
    }

    /// Refuses every token of the session `sid` on every instance, from now on.
    ///
    /// # Errors
    ///
    /// [`StateError`] when the shared state cannot be written; the local copy of this instance
    /// refuses the session anyway.
    pub async fn revoke_session(&self, sid: &str) -> Result<(), StateError> {
        let until = self.until();
        self.publish(Entry::Session { sid: sid.to_owned(), until, issued_before: None }).await
    }

    /// Refuses the tokens of session `sid` issued until now, on every instance (sign-out): a
    /// later sign-in that the provider gives the same `sid` is not refused.
    ///
    /// # Errors
    ///
    /// As [`revoke_session`](Self::revoke_session).
    pub async fn sign_out_session(&self, sid: &str) -> Result<(), StateError> {
        let (until, now) = (self.until(), self.inner.clock.now());
        let entry = Entry::Session { sid: sid.to_owned(), until, issued_before: Some(now) };
        self.publish(entry).await
    }

    /// Refuses every session of the user `sub` that authenticated now or earlier, on every
    /// instance; a later sign-in is not affected.
    ///
    /// # Errors
    ///
    /// As [`revoke_session`](Self::revoke_session).
    pub async fn revoke_user(&self, sub: &str) -> Result<(), StateError> {
        let now = self.inner.clock.now();
        let entry = Entry::User { sub: sub.to_owned(), before: now, until: self.until() };
        self.publish(entry).await
    }

    /// The shared state these revocations live in.
    pub fn shared_state(&self) -> &SharedState {
        &self.inner.shared
    }

    fn until(&self) -> u64 {
        self.inner.clock.now().saturating_add(self.inner.retain.as_secs())
    }

    async fn publish(&self, entry: Entry) -> Result<(), StateError> {
        // This instance refuses at once, whatever the backend says.
        self.apply(entry.clone());
        crate::audit::revoked(&entry);
        self.inner.shared.backend.publish(entry).await
    }

    fn apply(&self, entry: Entry) {
        // An entry the copy already covers (this instance's own announcement coming back, a
        // repeated revocation) needs no new copy of the maps.
        let current = self.inner.snapshot.load();
        let covered = match &entry {
            Entry::Session { sid, until, issued_before } => {
                current.sessions.get(sid.as_str()).is_some_and(|(b, u)| {
                    u >= until && crate::shared::widest(*b, *issued_before) == *b
                })
            }
            Entry::User { sub, before, until } => {
                current.users.get(sub.as_str()).is_some_and(|(b, u)| b >= before && u >= until)
            }
        };
        drop(current);
        if covered {
            return;
        }
        self.inner.snapshot.rcu(|current| {
            let mut next =
                Snapshot { sessions: current.sessions.clone(), users: current.users.clone() };
            next.apply(entry.clone());
            next
        });
    }

    /// What the layer asks of every request: `Err(`[`AuthError::SessionRevoked`]`)` for a
    /// revoked session, `Err(`[`AuthError::RevocationUnavailable`]`)` when the local copy is
    /// older than the staleness bound (unless fail-open), else `Ok`. No allocation, no network:
    /// use it for sessions checked outside the layer (WebSocket messages, background jobs).
    pub fn check(&self, ctx: &AuthContext) -> Result<(), AuthError> {
        let inner = &*self.inner;
        if inner.stale.load(Ordering::Relaxed) && !inner.fail_open {
            let retry_after = inner.resync_every.as_secs().max(1);
            return Err(AuthError::RevocationUnavailable { retry_after });
        }
        let revoked = self.is_revoked(ctx.sid(), ctx.sub(), ctx.iat(), ctx.auth_time());
        if revoked { Err(AuthError::SessionRevoked) } else { Ok(()) }
    }

    /// Whether a session with these claims is revoked (the copy only; staleness aside).
    pub(crate) fn is_revoked(
        &self,
        sid: Option<&str>,
        sub: &str,
        iat: Option<u64>,
        auth_time: Option<u64>,
    ) -> bool {
        let inner = &*self.inner;
        let snapshot = inner.snapshot.load();
        // Each lookup only when its map has entries; the clock only when an entry matches.
        if !snapshot.sessions.is_empty()
            && let Some(sid) = sid
            && let Some((issued_before, until)) = snapshot.sessions.get(sid)
            && *until >= inner.clock.now()
            && issued_before.is_none_or(|b| iat.is_none_or(|iat| iat <= b))
        {
            return true;
        }
        !snapshot.users.is_empty()
            && snapshot.users.get(sub).is_some_and(|(before, until)| {
                *until >= inner.clock.now() && auth_time.or(iat).is_none_or(|t| t <= *before)
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

    /// Reloads the copy from the shared state (a resync). Entries only ever leave by expiring,
    /// so the copy becomes the union of what was loaded and what it already held (an
    /// announcement that arrived during the load is not lost), minus what expired. What this
    /// instance holds and the shared state lacks (a revocation made while it was unreachable,
    /// or a Redis that restarted empty) is published again, so the others learn it too.
    async fn resync(&self) -> Result<(), StateError> {
        let now = self.inner.clock.now();
        let backend = &self.inner.shared.backend;
        let entries = backend.load(now).await?;
        let loaded = Snapshot::from_entries(entries);
        let mut missing = Vec::new();
        let current = self.inner.snapshot.load();
        for (sid, (before, until)) in current.sessions.iter().filter(|(_, (_, u))| *u >= now) {
            let covered = loaded
                .sessions
                .get(sid)
                .is_some_and(|(b, u)| u >= until && crate::shared::widest(*b, *before) == *b);
            if !covered {
                let entry =
                    Entry::Session { sid: sid.to_string(), until: *until, issued_before: *before };
                missing.push(entry);
            }
        }
        for (sub, (before, until)) in current.users.iter().filter(|(_, (_, u))| *u >= now) {
            if loaded.users.get(sub).is_none_or(|(b, u)| b < before || u < until) {
                missing.push(Entry::User { sub: sub.to_string(), before: *before, until: *until });
            }
        }
        drop(current);
        self.inner.snapshot.rcu(|current| {
            let mut next =
                Snapshot { sessions: loaded.sessions.clone(), users: loaded.users.clone() };
            for (sid, (before, until)) in current.sessions.iter().filter(|(_, (_, u))| *u >= now) {
                next.sessions
                    .entry(sid.clone())
                    .and_modify(|(b, u)| {
                        *b = crate::shared::widest(*b, *before);
                        *u = (*u).max(*until);
                    })
                    .or_insert((*before, *until));
            }
            for (sub, (before, until)) in current.users.iter().filter(|(_, (_, u))| *u >= now) {
                let slot = next.users.entry(sub.clone()).or_default();
                *slot = (slot.0.max(*before), slot.1.max(*until));
            }
            next
        });
        // The copy is current now; republishing what the shared state lacks may take a while
        // (a Redis that restarted empty) and must not make the copy look stale.
        self.mark_synced();
        for entry in missing {
            backend.publish(entry).await?;
        }
        Ok(())
    }

    fn mark_synced(&self) {
        self.inner.synced_ms.store(self.inner.clock.now_millis(), Ordering::Relaxed);
        self.inner.stale.store(false, Ordering::Relaxed);
        if self.inner.down.swap(false, Ordering::Relaxed) {
            crate::audit::shared_state_changed(true, "resynced");
        }
    }

    fn mark_down(&self, e: &StateError) {
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
            let broke = match this.inner.shared.backend.subscribe().await {
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
                                        Some(entry) => Revocations { inner }.apply(entry),
                                        None => break StateError::Unavailable("subscription closed".into()),
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

impl RevocationsBuilder {
    /// How long an entry is kept (default 24 hours): longer than any token you accept lives.
    pub fn retain(mut self, retain: Duration) -> Self {
        self.retain = retain;
        self
    }

    /// How old the local copy may get while the shared state is unreachable before requests
    /// with a session are refused with 503 (default 30 s).
    pub fn max_staleness(mut self, staleness: Duration) -> Self {
        self.max_staleness = staleness;
        self
    }

    /// How often the whole set is reloaded (default 5 s; at most half of
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

    /// Loads the current set (waiting at most the staleness bound; an unreachable shared
    /// state is then retried in the background) and starts keeping it current. Call it inside
    /// a Tokio runtime.
    pub async fn start(self) -> Revocations {
        // A resync slower than the staleness bound would make every copy stale between syncs.
        let resync_every =
            self.resync_every.min(self.max_staleness / 2).max(Duration::from_millis(10));
        let revocations = Revocations {
            inner: Arc::new(Inner {
                shared: self.shared,
                snapshot: ArcSwap::default(),
                synced_ms: AtomicU64::new(0),
                stale: AtomicBool::new(false),
                down: AtomicBool::new(false),
                clock: self.clock,
                retain: self.retain,
                max_staleness: self.max_staleness,
                resync_every,
                fail_open: self.fail_open,
            }),
        };
        if let Err(e) = revocations.resync().await {
            revocations.mark_down(&e);
        }
        revocations.inner.stale.store(revocations.is_stale(), Ordering::Relaxed);
        tokio::spawn(Revocations::run(Arc::downgrade(&revocations.inner)));
        tokio::spawn(Revocations::watchdog(Arc::downgrade(&revocations.inner)));
        revocations
    }
}
