//! Keeping the local copy and the shared state in step: revocations made here published,
//! announcements and resyncs applied, the staleness watch, [`KeepCurrent`].

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use super::{Inner, Revocations, RevokeError, valid_id};
use crate::store::{Revocation, StoreError};

/// How often the watchdog compares the copy's age with the staleness bound: the bound holds
/// to within this.
const WATCHDOG_TICK: Duration = Duration::from_millis(100);

/// How often the local copy forgets expired entries.
const SWEEP_EVERY: Duration = Duration::from_secs(60);

/// Entries published in one batch when the copy is published again.
const REPUBLISH_BATCH: usize = 1_000;

impl Revocations {
    /// Applies `entries` here at once (this instance refuses them whatever the backend says),
    /// then writes them to the shared state in one call. All or none are recorded here: an
    /// invalid id, or (when `bounded`) a full set, refuses the whole call.
    pub(super) async fn publish_all(
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

    /// Whether the copy is older than the staleness bound now.
    pub(super) fn is_stale(&self) -> bool {
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

    /// Brings the copy up to date with the shared state: the changes since the last resync
    /// (the whole set on the first one, or when the reader lost its place in the log). When the
    /// store lost data this copy had seen (a Redis restarted empty, a log that went back), the
    /// copy is published again, so the others learn what the store forgot; revocations that
    /// could not be shared when they were made are published now. Entries only leave the copy
    /// by expiring.
    pub(super) async fn resync(&self) -> Result<(), StoreError> {
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
    pub(super) fn sweep_if_due(&self) {
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

    pub(super) fn mark_down(&self, e: &StoreError) {
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

impl KeepCurrent {
    /// The future [`Revocations::keep_current`] returns for these revocations.
    pub(super) fn new(inner: &Arc<Inner>) -> Self {
        let weak = Arc::downgrade(inner);
        let inner = inner.clone();
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
}
