//! The revocation side of a store (feature `revocation`): the entries, the change log a
//! reader follows, the trait.

use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;

use super::{BoxFuture, StoreError};

/// One revocation, as a [`RevocationStore`] keeps and announces it: serialize it with serde
/// (its JSON form is stable: a `kind` tag and the fields below), key it by
/// [`key`](Self::key), combine two of one key with [`merge`](Self::merge).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Revocation {
    /// Tokens of this session (`sid`) are refused: all of them, or (sign-out) those issued
    /// at or before `issued_before`, so a new sign-in that a provider gives the same `sid`
    /// (its own session lived on) is not refused.
    #[non_exhaustive]
    Session {
        /// The session id (`sid` claim).
        sid: String,
        /// When the entry may be forgotten (seconds since the epoch).
        until: u64,
        /// Only tokens issued (`iat`) at or before this are refused; `None`: all of them.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        issued_before: Option<u64>,
    },
    /// Every session of this user (`sub`) that authenticated at or before `before` is refused.
    #[non_exhaustive]
    User {
        /// The user (`sub` claim).
        sub: String,
        /// Sessions that authenticated (`auth_time`, else `iat`) at or before this.
        before: u64,
        /// When the entry may be forgotten.
        until: u64,
    },
    /// Every cookie of one sign-in (the sealed session's sign-in id, kept across refreshes) is
    /// refused: a sign-out, so that a refresh finishing after it brings nothing back.
    #[non_exhaustive]
    SignIn {
        /// The sign-in id sealed in the session cookie.
        id: String,
        /// When the entry may be forgotten.
        until: u64,
    },
}

/// The wider of two session cut-offs: `None` (every token) wins, else the later one.
pub(crate) fn widest(a: Option<u64>, b: Option<u64>) -> Option<u64> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.max(b)),
        _ => None,
    }
}

impl Revocation {
    /// When the entry may be forgotten (seconds since the epoch).
    pub fn until(&self) -> u64 {
        match self {
            Self::Session { until, .. } | Self::User { until, .. } | Self::SignIn { until, .. } => {
                *until
            }
        }
    }

    /// The id the entry names (a `sid`, a `sub` or a sign-in id).
    pub fn id(&self) -> &str {
        match self {
            Self::Session { sid: id, .. }
            | Self::User { sub: id, .. }
            | Self::SignIn { id, .. } => id,
        }
    }

    /// The key this entry is stored under: one per session, user or sign-in (`sid:…`,
    /// `sub:…`, `sin:…`).
    pub fn key(&self) -> String {
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
    pub fn merge(&mut self, other: &Revocation) {
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
    pub(crate) fn covers(&self, other: &Revocation) -> bool {
        let mut merged = self.clone();
        merged.merge(other);
        merged == *self && self.key() == other.key()
    }
}

/// Where a reader of the revocation log stands: the log's generation (a new one when the
/// store lost its data, e.g. a Redis restarted empty) and the last change read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    /// The store's generation.
    pub epoch: String,
    /// The id of the last change read.
    pub at: String,
    /// How many changes the log had been given up to `at` (Redis: its `entries-added`), so a
    /// reader can tell whether every change after `at` is still in the log.
    pub seen: u64,
}

/// What a load returned.
#[derive(Debug)]
pub struct Loaded {
    /// The revocations read (expired ones left out).
    pub entries: Vec<Revocation>,
    /// Where the next load starts.
    pub cursor: Cursor,
    /// `true` when the store lost data the reader had seen (another generation, or a log that
    /// went back): the readers' copies must be published again.
    pub lost: bool,
    /// `true` when more changes are waiting (the load stopped at its page size).
    pub more: bool,
}

/// Most log entries (or whole-set entries) one load returns.
pub(crate) const LOAD_PAGE: usize = 10_000;

/// Where revocations live, so every instance refuses what one revoked (feature `revocation`):
/// the whole set, a log of changes a reader follows from a [`Cursor`], and announcements.
/// [`Revocations`](crate::Revocations) keeps a local copy in step with it.
pub trait RevocationStore: Send + Sync + 'static {
    /// Stores revocations, each merged ([`Revocation::merge`]) with what is stored under its
    /// [`key`](Revocation::key), appends them to the change log and announces them to every
    /// subscriber.
    fn publish(&self, entries: Vec<Revocation>) -> BoxFuture<'_, Result<(), StoreError>>;

    /// The changes since `since`, or the whole set (a first load, another generation, or a
    /// reader that fell behind the log's trimmed start), at most about ten thousand per call
    /// (`more` says whether to call again); leaves out entries that expired before `now`
    /// (seconds since the epoch).
    fn load(&self, since: Option<Cursor>, now: u64) -> BoxFuture<'_, Result<Loaded, StoreError>>;

    /// Announcements from now on; the channel closes when the subscription breaks (the reader
    /// then resubscribes and resyncs).
    fn subscribe(&self) -> BoxFuture<'_, Result<mpsc::Receiver<Revocation>, StoreError>>;

    /// `true` when other processes share these revocations (Redis), `false` in memory.
    fn is_shared(&self) -> bool;
}

/// A revocation store behind an `Arc` (an `Arc<dyn RevocationStore>` chosen at run time, say)
/// is a revocation store.
impl<S: RevocationStore + ?Sized> RevocationStore for std::sync::Arc<S> {
    fn publish(&self, entries: Vec<Revocation>) -> BoxFuture<'_, Result<(), StoreError>> {
        (**self).publish(entries)
    }

    fn load(&self, since: Option<Cursor>, now: u64) -> BoxFuture<'_, Result<Loaded, StoreError>> {
        (**self).load(since, now)
    }

    fn subscribe(&self) -> BoxFuture<'_, Result<mpsc::Receiver<Revocation>, StoreError>> {
        (**self).subscribe()
    }

    fn is_shared(&self) -> bool {
        (**self).is_shared()
    }
}

#[cfg(test)]
mod tests {
    use super::Revocation;

    fn session(sid: &str, until: u64, issued_before: Option<u64>) -> Revocation {
        Revocation::Session { sid: sid.into(), until, issued_before }
    }

    /// The one merge rule: the later `until` and the wider cut-off win, in either order; an
    /// entry of another key is left alone.
    #[test]
    fn merging_widens_and_does_not_depend_on_order() {
        let cases = [
            (session("a", 10, Some(5)), session("a", 20, Some(3)), session("a", 20, Some(5))),
            (session("a", 10, Some(5)), session("a", 5, None), session("a", 10, None)),
            (
                Revocation::User { sub: "u".into(), before: 7, until: 10 },
                Revocation::User { sub: "u".into(), before: 9, until: 8 },
                Revocation::User { sub: "u".into(), before: 9, until: 10 },
            ),
            (
                Revocation::SignIn { id: "s".into(), until: 4 },
                Revocation::SignIn { id: "s".into(), until: 6 },
                Revocation::SignIn { id: "s".into(), until: 6 },
            ),
        ];
        for (a, b, want) in cases {
            let (mut ab, mut ba) = (a.clone(), b.clone());
            ab.merge(&b);
            ba.merge(&a);
            assert_eq!((&ab, &ba), (&want, &want), "{a:?} + {b:?}");
            assert!(want.covers(&a) && want.covers(&b));
        }
        let mut a = session("a", 10, Some(5));
        a.merge(&session("b", 99, None));
        assert_eq!(a, session("a", 10, Some(5)), "another session's entry changes nothing");
        let user = Revocation::User { sub: "a".into(), before: 1, until: 99 };
        a.merge(&user);
        assert_eq!(a, session("a", 10, Some(5)), "a user entry of the same id changes nothing");
        assert!(!a.covers(&user));
        assert_eq!((a.key(), user.key()), ("sid:a".to_owned(), "sub:a".to_owned()));
    }
}
