//! The local copy of the revocations: what the request path reads.

use std::sync::atomic::{AtomicUsize, Ordering};

use dashmap::DashMap;

use crate::store::Revocation;

/// A map of the local copy: ids from verified tokens or this service's own revocations, a fast
/// hasher seeded per process, shards locked one at a time (a lookup never waits for a whole
/// copy).
type Map<V> = DashMap<Box<str>, V, foldhash::fast::RandomState>;

fn map<V>() -> Map<V> {
    DashMap::with_hasher_and_shard_amount(foldhash::fast::RandomState::default(), 64)
}

/// What applying an entry to the copy did.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Applied {
    /// The copy already covered it.
    Covered,
    /// It widened an entry or added one.
    Changed,
    /// A new entry, refused at capacity.
    Full,
}

/// The local copy: what is revoked, as of the last sync.
pub(super) struct Copy {
    /// `sid` -> (tokens issued at or before this are refused, `None`: all of them; when the
    /// entry may be forgotten).
    pub(super) sessions: Map<(Option<u64>, u64)>,
    /// `sub` -> (sessions that authenticated at or before this are revoked, forget after).
    pub(super) users: Map<(u64, u64)>,
    /// Sign-in id -> forget after.
    pub(super) sign_ins: Map<u64>,
    /// Entries per map, so the request path skips an empty map without touching it.
    pub(super) counts: [AtomicUsize; 3],
}

impl Default for Copy {
    fn default() -> Self {
        Self { sessions: map(), users: map(), sign_ins: map(), counts: Default::default() }
    }
}

impl Copy {
    pub(super) fn len(&self) -> usize {
        self.counts.iter().map(|c| c.load(Ordering::Relaxed)).sum()
    }

    /// The entry the copy holds for `entry`'s id, if any.
    pub(super) fn get(&self, entry: &Revocation) -> Option<Revocation> {
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
    pub(super) fn apply(&self, entry: &Revocation, capacity: Option<usize>) -> Applied {
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
    pub(super) fn sweep(&self, now: u64) {
        let mut removed = [0usize; 3];
        self.sessions.retain(|_, (_, u)| *u >= now || !bump(&mut removed[0]));
        self.users.retain(|_, (_, u)| *u >= now || !bump(&mut removed[1]));
        self.sign_ins.retain(|_, u| *u >= now || !bump(&mut removed[2]));
        for (count, n) in self.counts.iter().zip(removed) {
            count.fetch_sub(n, Ordering::Relaxed);
        }
    }

    /// Every live entry, for publishing the copy again.
    pub(super) fn entries(&self, now: u64) -> Vec<Revocation> {
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
