//! One refresh per session at a time: in this process ([`Flights`]) and across instances
//! ([`Lease`], through the sessions' [`Store`]).
//!
//! Refresh tokens are single-use (WorkOS, and OpenID Providers that rotate them): spending one
//! twice signs the user out. So requests of one session that need a refresh at the same time
//! share one call to the provider, and requests that arrive shortly after it, still carrying
//! the old cookie (they left the browser before the new cookie arrived), get its result too
//! instead of spending the old token again (authkit-nextjs#28).
//!
//! Flights are keyed by the SHA-256 of the refresh token, so the table holds no token as a
//! key. The call runs on its own task: a request that goes away mid-refresh cannot cancel it
//! after the provider has rotated the token.
//!
//! A sign-out [ends](Flights::end) the flight of its refresh token under the table's lock:
//! either the flight had finished (the sign-out gets its result, to revoke the rotated token)
//! or it is still running, and then its result is discarded when it arrives (the flight's
//! `discard` runs instead, and every waiter gets the ended result). No order lets a refresh
//! that finishes after a sign-out hand out a session.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::watch;

use super::provider::GrantError;
use super::renew::Refreshed;
use crate::Clock;
use crate::authkit::crypto::sha256;
use crate::authkit::{AuthKitSession, RefreshToken};
use crate::store::Store;

/// How long a completed refresh is handed to late requests that carry the old cookie.
pub(crate) const REUSE_WINDOW: Duration = Duration::from_secs(60);

/// Above this many remembered flights, finished and expired ones are swept on the next start.
const SWEEP_ABOVE: usize = 1024;

type Key = [u8; 32];

struct Flight<R> {
    result: watch::Receiver<Option<Arc<R>>>,
    /// When the flight stops being reused, in ms by the clock (`u64::MAX` while it runs).
    until: u64,
    /// A sign-out ended this session while the refresh ran: its result is discarded.
    ended: Option<Arc<R>>,
}

impl<R> Flight<R> {
    fn running(&self) -> bool {
        // A flight whose task died (a panic) without a result is over: the next caller retries.
        self.result.borrow().is_none() && self.result.has_changed().is_ok()
    }

    fn current(&self, now: u64) -> bool {
        self.running() || now < self.until
    }
}

type Table<R> = Arc<Mutex<HashMap<Key, Flight<R>>>>;

/// Deduplicates refreshes by refresh token.
pub(crate) struct Flights<R> {
    table: Table<R>,
    /// The lifecycle's clock: how long results are reused follows it.
    clock: Clock,
}

impl<R> Default for Flights<R> {
    fn default() -> Self {
        Self::new(Clock::system())
    }
}

/// `now` plus `d`, in ms.
fn after(now: u64, d: Duration) -> u64 {
    now.saturating_add(u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// What a flight is told to do with its result.
pub(crate) struct Plan<F, K, D> {
    /// The refresh itself.
    pub(crate) refresh: F,
    /// How long a result is handed out ([`REUSE_WINDOW`] for a success, less for a transient
    /// failure, so a later request tries again).
    pub(crate) keep_for: K,
    /// Runs instead of handing out the result when a sign-out ended the session meanwhile
    /// (revoke what the refresh produced).
    pub(crate) discard: D,
}

impl<R> Flights<R> {
    /// Flights whose reuse windows follow `clock`.
    pub(crate) fn new(clock: Clock) -> Self {
        Self { table: Arc::default(), clock }
    }
}

impl<R: Send + Sync + 'static> Flights<R> {
    /// Runs the plan's refresh for `refresh_token` unless a flight for it is running, or
    /// finished and still reusable; every caller gets the same result. `None` only if the
    /// refresh panicked.
    pub(crate) async fn run<F, K, D>(
        &self,
        refresh_token: &str,
        plan: Plan<F, K, D>,
    ) -> Option<Arc<R>>
    where
        F: Future<Output = R> + Send + 'static,
        K: FnOnce(&R) -> Duration + Send + 'static,
        D: FnOnce(R) + Send + 'static,
    {
        let key = sha256(refresh_token.as_bytes());
        let mut result = self.flight(key, plan);
        let done = result.wait_for(Option::is_some).await.ok()?;
        done.clone()
    }

    /// The receiver of the current flight for `key`, started now if there is none. The refresh
    /// runs on its own task: a caller that goes away cannot cancel it after the provider has
    /// spent the token, and the result still reaches later callers.
    fn flight<F, K, D>(&self, key: Key, plan: Plan<F, K, D>) -> watch::Receiver<Option<Arc<R>>>
    where
        F: Future<Output = R> + Send + 'static,
        K: FnOnce(&R) -> Duration + Send + 'static,
        D: FnOnce(R) + Send + 'static,
    {
        let mut table = self.table.lock().unwrap_or_else(|e| e.into_inner());
        let now = self.clock.now_millis();
        if table.len() > SWEEP_ABOVE {
            table.retain(|_, f| f.current(now));
        }
        if let Some(f) = table.get(&key).filter(|f| f.current(now)) {
            return f.result.clone();
        }
        let (tx, rx) = watch::channel(None);
        table.insert(key, Flight { result: rx.clone(), until: u64::MAX, ended: None });
        let (shared, clock) = (self.table.clone(), self.clock.clone());
        let Plan { refresh, keep_for, discard } = plan;
        tokio::spawn(async move {
            let result = refresh.await;
            let keep = keep_for(&result);
            let mut table = shared.lock().unwrap_or_else(|e| e.into_inner());
            let flight = table.get_mut(&key);
            let ended = flight.as_ref().and_then(|f| f.ended.clone());
            if let Some(f) = flight {
                f.until = after(clock.now_millis(), keep.min(REUSE_WINDOW));
            }
            // Sent under the lock: a sign-out sees either a running flight (and marks it) or
            // its result (and revokes it), never a result on its way out.
            let _ = match ended {
                Some(ended) => {
                    discard(result);
                    tx.send(Some(ended))
                }
                None => tx.send(Some(Arc::new(result))),
            };
        });
        rx
    }

    /// Sign-out: from now on every caller with `refresh_token` gets `ended`, a flight still
    /// running included (its result is discarded when it arrives). Returns the result of a
    /// flight that had already finished, so its rotated token can be revoked.
    pub(crate) fn end(&self, refresh_token: &str, ended: R) -> Option<Arc<R>> {
        let key = sha256(refresh_token.as_bytes());
        let ended = Arc::new(ended);
        let now = self.clock.now_millis();
        let mut table = self.table.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(f) = table.get_mut(&key)
            && f.running()
        {
            f.ended = Some(ended);
            return None;
        }
        let (tx, rx) = watch::channel(Some(ended.clone()));
        drop(tx);
        let flight = Flight { result: rx, until: after(now, REUSE_WINDOW), ended: Some(ended) };
        let before = table.insert(key, flight)?;
        let finished = before.result.borrow().clone();
        finished.filter(|_| before.ended.is_none() && now < before.until)
    }

    /// Flights remembered now (running or reusable), for tests.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.table.lock().unwrap().len()
    }
}

/// How long one instance may hold a session's refresh (longer than the provider's timeout).
/// Held for longer than the refresh can take (the provider's 10 s timeout, then a key fetch
/// for a refreshed ID token, 10 s more), so no other instance spends the same token meanwhile.
const LEASE_TTL: Duration = Duration::from_secs(60);
/// How long the other instances wait for the leader's result before answering 503.
const LEASE_WAIT: Duration = Duration::from_secs(15);
/// How often the other instances look for the leader's result.
const LEASE_POLL: Duration = Duration::from_millis(50);

/// A session's refresh, coordinated across instances through the shared state.
pub(super) struct Lease {
    store: Arc<dyn Store>,
    lease: String,
    result: String,
    /// Seals the shared result again with a key only holders of the old refresh token can
    /// derive: whoever reads Redis gets no usable session.
    wrap: crate::authkit::IronPasswords,
}

impl Lease {
    pub(super) fn new(store: Arc<dyn Store>, refresh_token: &str) -> Self {
        let hex = super::flow::hex_sha256(refresh_token);
        let key = super::flow::hex_sha256(&format!("refresh-result-key:{refresh_token}"));
        let wrap = crate::authkit::IronPasswords::new("r", key)
            .expect("64 hex characters are a valid iron password");
        Self {
            wrap,
            store,
            lease: format!("refresh-lease:{hex}"),
            result: format!("refresh:{hex}"),
        }
    }

    /// `Ok(None)`: this instance holds the lease and refreshes. `Ok(Some(result))`: another
    /// instance's result (waited for while it refreshed).
    pub(super) async fn acquire(
        &self,
        passwords: &crate::authkit::IronPasswords,
        cookie: &super::cookies::CookieSettings,
        clock: &Clock,
    ) -> Result<Option<Result<Refreshed, GrantError>>, crate::store::StoreError> {
        let store = &self.store;
        let deadline = tokio::time::Instant::now() + LEASE_WAIT;
        loop {
            if let Some(stored) = store.get(&self.result).await? {
                return Ok(Some(self.read(&stored, passwords, cookie, clock)));
            }
            if store.put_new(&self.lease, "1", LEASE_TTL).await? {
                return Ok(None);
            }
            if tokio::time::Instant::now() >= deadline {
                return Ok(Some(Err(GrantError::Unavailable {
                    retry_after: 1,
                    reason: "another instance is still refreshing".into(),
                })));
            }
            tokio::time::sleep(LEASE_POLL).await;
        }
    }

    /// Another instance's result: the sealed session or a terminal refusal.
    fn read(
        &self,
        stored: &str,
        passwords: &crate::authkit::IronPasswords,
        cookie: &super::cookies::CookieSettings,
        clock: &Clock,
    ) -> Result<Refreshed, GrantError> {
        let opened = match SharedResult::decode(stored) {
            Some(SharedResult::Refused { error }) => return Err(GrantError::Refused { error }),
            Some(SharedResult::Sealed { wrapped }) => self.unwrap(&wrapped).and_then(|sealed| {
                let session = AuthKitSession::open(&sealed, passwords, clock.now_millis()).ok()?;
                Some(Refreshed { set_cookie: cookie.session(sealed), session })
            }),
            None => None,
        };
        // A result this instance cannot open (another cookie password, a corrupted value) is
        // not the provider's refusal: never sign the user out over it.
        opened.ok_or_else(|| {
            tracing::error!("a shared refresh result could not be opened (do all instances share the cookie password?)");
            GrantError::Unavailable { retry_after: 1, reason: "unreadable shared result".into() }
        })
    }

    /// Sign-out: ends the reuse of this session's refresh on every instance (late requests with
    /// the old cookie get an ended session, and a refresh still running elsewhere finds the
    /// result taken and discards its own), and returns the refresh token another instance's
    /// refresh rotated to, so it can be revoked too. One atomic swap: no refresh result can
    /// slip in between reading and ending.
    pub(super) async fn end(
        &self,
        passwords: &crate::authkit::IronPasswords,
        clock: &Clock,
    ) -> Option<RefreshToken> {
        let store = &self.store;
        let ended = SharedResult::Refused { error: GrantError::ended().error().to_owned() };
        match store.swap(&self.result, &ended.encode(), REUSE_WINDOW).await {
            Ok(Some(stored)) => SharedResult::decode(&stored)
                .and_then(|r| match r {
                    SharedResult::Sealed { wrapped } => Some(wrapped),
                    SharedResult::Refused { .. } => None,
                })
                .and_then(|w| self.unwrap(&w))
                .and_then(|sealed| {
                    AuthKitSession::open(&sealed, passwords, clock.now_millis()).ok()
                })
                .and_then(|s| s.refresh_token),
            Ok(None) => None,
            Err(e) => {
                tracing::warn!(error = %e, "sign-out: could not end the shared refresh result");
                None
            }
        }
    }

    /// The inner value of a wrapped result.
    fn unwrap(&self, wrapped: &str) -> Option<String> {
        let plain = crate::authkit::iron::unseal(wrapped, &self.wrap, 0).ok()?;
        String::from_utf8(plain).ok()
    }

    /// Leaves the result for the other instances (wrapped: see `wrap`), unless a sign-out
    /// ended the session meanwhile: `false` then, and the caller discards its result.
    pub(super) async fn publish(&self, result: &Result<Refreshed, GrantError>) -> bool {
        let value = match result {
            Ok(r) => {
                let header = r.set_cookie.to_str().unwrap_or_default();
                let sealed = header.split_once('=').map_or("", |(_, v)| v);
                let sealed = sealed.split(';').next().unwrap_or_default();
                match crate::authkit::iron::seal(sealed.as_bytes(), &self.wrap, None, 0) {
                    Ok(wrapped) => SharedResult::Sealed { wrapped }.encode(),
                    Err(_) => return true,
                }
            }
            Err(GrantError::Refused { error }) => {
                SharedResult::Refused { error: error.clone() }.encode()
            }
            // A transient failure: nothing to share; free the lease so the next request on any
            // instance retries at once instead of waiting for it to expire.
            Err(GrantError::Unavailable { .. }) => {
                let _ = self.store.delete(&self.lease).await;
                return true;
            }
        };
        match self.store.put_new(&self.result, &value, REUSE_WINDOW).await {
            Ok(stored) => stored,
            Err(e) => {
                // Unknown whether a sign-out came first: the other instances find no result and
                // refresh after the lease expires (with the spent token: they end the session).
                tracing::warn!(error = %e, "could not share a refresh result");
                true
            }
        }
    }
}

/// A refresh result as the shared state keeps it: JSON with a version, so another version of
/// the crate reading it (a rolling upgrade) sees a value it cannot read, never a wrong one (an
/// unreadable result is a transient failure, never a sign-out).
#[derive(Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "result", rename_all = "snake_case")]
enum SharedResult {
    /// The new session's cookie value, sealed again with a key only holders of the old refresh
    /// token can derive.
    Sealed { wrapped: String },
    /// The provider refused (or a sign-out ended the session): its OAuth error.
    Refused { error: String },
}

/// The version of [`SharedResult`]'s encoding.
const SHARED_RESULT_VERSION: u32 = 1;

#[derive(serde::Serialize, serde::Deserialize)]
struct Versioned<T> {
    v: u32,
    #[serde(flatten)]
    body: T,
}

impl SharedResult {
    fn encode(self) -> String {
        let versioned = Versioned { v: SHARED_RESULT_VERSION, body: self };
        serde_json::to_string(&versioned).unwrap_or_default()
    }

    fn decode(stored: &str) -> Option<Self> {
        let versioned: Versioned<Self> = serde_json::from_str(stored).ok()?;
        (versioned.v == SHARED_RESULT_VERSION).then_some(versioned.body)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    fn plan<R>(
        refresh: impl Future<Output = R> + Send + 'static,
        keep: Duration,
    ) -> Plan<
        impl Future<Output = R> + Send + 'static,
        impl FnOnce(&R) -> Duration + Send,
        impl FnOnce(R) + Send,
    > {
        Plan { refresh, keep_for: move |_: &R| keep, discard: |_: R| {} }
    }

    #[tokio::test]
    async fn concurrent_and_late_callers_share_one_refresh() {
        let flights: Arc<Flights<Result<u32, ()>>> = Arc::default();
        let calls = Arc::new(AtomicUsize::new(0));
        let mut tasks = Vec::new();
        for _ in 0..20 {
            let (flights, calls) = (flights.clone(), calls.clone());
            tasks.push(tokio::spawn(async move {
                let c = calls.clone();
                let fut = async move {
                    c.fetch_add(1, Ordering::SeqCst);
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    Ok(7)
                };
                *flights.run("rt", plan(fut, REUSE_WINDOW)).await.unwrap()
            }));
        }
        for t in tasks {
            assert_eq!(t.await.unwrap(), Ok(7));
        }
        // A late caller with the same (old) token gets the same result, no new call.
        let late = flights.run("rt", plan(async { Ok(8) }, REUSE_WINDOW)).await.unwrap();
        assert_eq!(*late, Ok(7));
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        // Another token is another flight.
        let other = flights.run("other", plan(async { Ok(9) }, REUSE_WINDOW)).await.unwrap();
        assert_eq!(*other, Ok(9));
        assert_eq!(flights.len(), 2);
    }

    #[tokio::test]
    async fn a_transient_failure_is_retried_after_its_keep_time() {
        let flights: Flights<Result<u32, &'static str>> = Flights::default();
        let r = flights.run("rt", plan(async { Err("down") }, Duration::ZERO)).await.unwrap();
        assert_eq!(*r, Err("down"));
        let r = flights.run("rt", plan(async { Ok(1) }, REUSE_WINDOW)).await.unwrap();
        assert_eq!(*r, Ok(1), "the failure was not kept");
    }

    #[tokio::test]
    async fn a_cancelled_caller_does_not_cancel_the_refresh() {
        let flights: Arc<Flights<Result<u32, ()>>> = Arc::default();
        let calls = Arc::new(AtomicUsize::new(0));
        let (f2, c2) = (flights.clone(), calls.clone());
        let (release, gate) = tokio::sync::oneshot::channel::<()>();
        let first = tokio::spawn(async move {
            let fut = async move {
                let _ = gate.await;
                c2.fetch_add(1, Ordering::SeqCst);
                Ok(1)
            };
            f2.run("rt", plan(fut, REUSE_WINDOW)).await
        });
        tokio::task::yield_now().await;
        first.abort();
        let _ = first.await;
        release.send(()).unwrap();
        // Its result reaches the next caller with the old token: no second spend.
        let late = flights.run("rt", plan(async { Ok(2) }, REUSE_WINDOW)).await.unwrap();
        assert_eq!(*late, Ok(1));
        assert_eq!(calls.load(Ordering::SeqCst), 1, "the spawned refresh ran to completion");
    }

    /// A refresh whose provider answers only after a sign-out: its waiters get the ended
    /// result, its own result goes to `discard`, and later callers get the ended result too.
    #[tokio::test]
    async fn a_sign_out_during_the_refresh_discards_its_result() {
        let flights: Arc<Flights<Result<u32, &'static str>>> = Arc::default();
        let (release, gate) = tokio::sync::oneshot::channel::<()>();
        let (discarded_tx, discarded) = tokio::sync::oneshot::channel::<Result<u32, &str>>();
        let f2 = flights.clone();
        let waiter = tokio::spawn(async move {
            let p = Plan {
                refresh: async move {
                    let _ = gate.await;
                    Ok(42)
                },
                keep_for: |_: &Result<u32, &str>| REUSE_WINDOW,
                discard: move |r| {
                    let _ = discarded_tx.send(r);
                },
            };
            f2.run("rt", p).await
        });
        while flights.len() == 0 {
            tokio::task::yield_now().await;
        }
        assert!(flights.end("rt", Err("ended")).is_none(), "nothing had finished");
        release.send(()).unwrap();
        assert_eq!(*waiter.await.unwrap().unwrap(), Err("ended"), "the waiter gets no session");
        assert_eq!(discarded.await.unwrap(), Ok(42), "the refresh's result was discarded");
        let late = flights.run("rt", plan(async { Ok(7) }, REUSE_WINDOW)).await.unwrap();
        assert_eq!(*late, Err("ended"), "no new refresh with the signed-out token");
    }

    /// A sign-out after the refresh finished gets its result back (to revoke the rotated
    /// token), and later callers get the ended result.
    #[tokio::test]
    async fn a_sign_out_after_the_refresh_returns_its_result() {
        let flights: Flights<Result<u32, &'static str>> = Flights::default();
        let r = flights.run("rt", plan(async { Ok(5) }, REUSE_WINDOW)).await.unwrap();
        assert_eq!(*r, Ok(5));
        assert_eq!(flights.end("rt", Err("ended")).as_deref(), Some(&Ok(5)));
        let late = flights.run("rt", plan(async { Ok(6) }, REUSE_WINDOW)).await.unwrap();
        assert_eq!(*late, Err("ended"));
        assert!(flights.end("rt", Err("ended")).is_none(), "an ended flight hands out nothing");
        assert!(flights.end("never", Err("ended")).is_none());
    }

    #[test]
    fn shared_results_round_trip_and_other_versions_are_unreadable() {
        for r in [
            SharedResult::Sealed { wrapped: "Fe26.2**abc".into() },
            SharedResult::Refused { error: "invalid_grant".into() },
        ] {
            let text = format!("{:?}", r);
            assert_eq!(format!("{:?}", SharedResult::decode(&r.encode()).unwrap()), text);
        }
        assert_eq!(SharedResult::decode(r#"{"v":2,"result":"refused","error":"x"}"#), None);
        assert_eq!(SharedResult::decode("err:invalid_grant"), None, "the old format");
    }
}
