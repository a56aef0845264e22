//! One refresh per session at a time, in this process.
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

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::watch;

use crate::authkit::crypto::sha256;

/// How long a completed refresh is handed to late requests that carry the old cookie.
pub(crate) const REUSE_WINDOW: Duration = Duration::from_secs(60);

/// Above this many remembered flights, finished and expired ones are swept on the next start.
const SWEEP_ABOVE: usize = 1024;

type Key = [u8; 32];

struct Flight<R> {
    result: watch::Receiver<Option<Arc<R>>>,
    /// When the flight stops being reused (far in the future while it runs).
    until: Instant,
}

impl<R> Flight<R> {
    fn current(&self, now: Instant) -> bool {
        // A flight whose task died (a panic) without a result is over: the next caller retries.
        let running = self.result.borrow().is_none() && self.result.has_changed().is_ok();
        running || now < self.until
    }
}

type Table<R> = Arc<Mutex<HashMap<Key, Flight<R>>>>;

/// Deduplicates refreshes by refresh token.
pub(crate) struct Flights<R> {
    table: Table<R>,
}

impl<R> Default for Flights<R> {
    fn default() -> Self {
        Self { table: Arc::default() }
    }
}

impl<R: Send + Sync + 'static> Flights<R> {
    /// Runs `refresh` for `refresh_token` unless a flight for it is running, or finished and
    /// still reusable; every caller gets the same result. `keep_for` says how long a result is
    /// handed out ([`REUSE_WINDOW`] for a success, less for a transient failure, so a later
    /// request tries again). `None` only if the refresh panicked.
    pub(crate) async fn run<F>(
        &self,
        refresh_token: &str,
        refresh: F,
        keep_for: impl FnOnce(&R) -> Duration + Send + 'static,
    ) -> Option<Arc<R>>
    where
        F: Future<Output = R> + Send + 'static,
    {
        let key = sha256(refresh_token.as_bytes());
        let mut result = self.flight(key, refresh, keep_for);
        let done = result.wait_for(Option::is_some).await.ok()?;
        done.clone()
    }

    /// The receiver of the current flight for `key`, started now if there is none. The refresh
    /// runs on its own task: a caller that goes away cannot cancel it after the provider has
    /// spent the token, and the result still reaches later callers.
    fn flight<F>(
        &self,
        key: Key,
        refresh: F,
        keep_for: impl FnOnce(&R) -> Duration + Send + 'static,
    ) -> watch::Receiver<Option<Arc<R>>>
    where
        F: Future<Output = R> + Send + 'static,
    {
        let mut table = self.table.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        if table.len() > SWEEP_ABOVE {
            table.retain(|_, f| f.current(now));
        }
        if let Some(f) = table.get(&key).filter(|f| f.current(now)) {
            return f.result.clone();
        }
        let (tx, rx) = watch::channel(None);
        let far = now + Duration::from_secs(365 * 24 * 3600);
        table.insert(key, Flight { result: rx.clone(), until: far });
        let shared = self.table.clone();
        tokio::spawn(async move {
            let result = refresh.await;
            let keep = keep_for(&result);
            let mut table = shared.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(f) = table.get_mut(&key) {
                f.until = Instant::now() + keep.min(REUSE_WINDOW);
            }
            // Sent under the lock, so no caller sees a finished flight with the old deadline.
            let _ = tx.send(Some(Arc::new(result)));
        });
        rx
    }

    /// The finished result for `refresh_token`, if one is still handed out.
    pub(crate) fn finished(&self, refresh_token: &str) -> Option<Arc<R>> {
        let key = sha256(refresh_token.as_bytes());
        let table = self.table.lock().unwrap_or_else(|e| e.into_inner());
        let flight = table.get(&key).filter(|f| f.current(Instant::now()))?;
        flight.result.borrow().clone()
    }

    /// Records `result` as the outcome for `refresh_token` (sign-out: late requests with the
    /// old cookie must not get the session back).
    pub(crate) fn settle(&self, refresh_token: &str, result: R) {
        let key = sha256(refresh_token.as_bytes());
        let (tx, rx) = watch::channel(Some(Arc::new(result)));
        drop(tx);
        let until = Instant::now() + REUSE_WINDOW;
        let mut table = self.table.lock().unwrap_or_else(|e| e.into_inner());
        table.insert(key, Flight { result: rx, until });
    }

    /// Flights remembered now (running or reusable), for tests.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.table.lock().unwrap().len()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

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
                *flights.run("rt", fut, |_| REUSE_WINDOW).await.unwrap()
            }));
        }
        for t in tasks {
            assert_eq!(t.await.unwrap(), Ok(7));
        }
        // A late caller with the same (old) token gets the same result, no new call.
        let late = flights.run("rt", async { Ok(8) }, |_| REUSE_WINDOW).await.unwrap();
        assert_eq!(*late, Ok(7));
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        // Another token is another flight.
        let other = flights.run("other", async { Ok(9) }, |_| REUSE_WINDOW).await.unwrap();
        assert_eq!(*other, Ok(9));
        assert_eq!(flights.len(), 2);
    }

    #[tokio::test]
    async fn a_transient_failure_is_retried_after_its_keep_time() {
        let flights: Flights<Result<u32, &'static str>> = Flights::default();
        let r = flights.run("rt", async { Err("down") }, |_| Duration::ZERO).await.unwrap();
        assert_eq!(*r, Err("down"));
        let r = flights.run("rt", async { Ok(1) }, |_| REUSE_WINDOW).await.unwrap();
        assert_eq!(*r, Ok(1), "the failure was not kept");
    }

    #[tokio::test]
    async fn a_cancelled_caller_does_not_cancel_the_refresh() {
        let flights: Arc<Flights<Result<u32, ()>>> = Arc::default();
        let calls = Arc::new(AtomicUsize::new(0));
        let (f2, c2) = (flights.clone(), calls.clone());
        let first = tokio::spawn(async move {
            let fut = async move {
                tokio::time::sleep(Duration::from_millis(100)).await;
                c2.fetch_add(1, Ordering::SeqCst);
                Ok(1)
            };
            f2.run("rt", fut, |_| REUSE_WINDOW).await
        });
        tokio::time::sleep(Duration::from_millis(20)).await;
        first.abort();
        tokio::time::sleep(Duration::from_millis(150)).await;
        assert_eq!(calls.load(Ordering::SeqCst), 1, "the spawned refresh ran to completion");
        // Its result reaches the next caller with the old token: no second spend.
        let late = flights.run("rt", async { Ok(2) }, |_| REUSE_WINDOW).await.unwrap();
        assert_eq!(*late, Ok(1));
    }
}
