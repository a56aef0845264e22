//! One sign-in attempt: `state`, PKCE verifier, `nonce` and what the attempt asked for, kept
//! between `/auth/login` and `/auth/callback` in a short-lived sealed cookie.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};

use crate::authkit::IronPasswords;
use crate::authkit::crypto::{random, sha256};
use crate::authkit::iron;

/// How long a sign-in attempt may take, from `/auth/login` to the callback.
pub(crate) const FLOW_TTL: Duration = Duration::from_secs(600);

/// What a sign-in attempt remembers. Sealed (encrypted and authenticated) in the flow cookie.
#[derive(Serialize, Deserialize)]
pub(crate) struct LoginState {
    pub(crate) state: String,
    pub(crate) verifier: String,
    pub(crate) nonce: String,
    pub(crate) return_to: String,
    /// The `max_age` asked of the provider (a step-up), checked against the new `auth_time`.
    #[serde(default)]
    pub(crate) max_age: Option<u64>,
    /// The `acr_values` asked of the provider, checked against the new `acr`.
    #[serde(default)]
    pub(crate) acr_values: Option<String>,
    /// When the attempt started (seconds since the epoch).
    pub(crate) started: u64,
}

/// The `state`s of attempts that reached the callback, for ten minutes (an attempt's life).
/// Bounded: beyond [`UsedStates::LIMIT`] remembered states, new callbacks are refused until old
/// ones age out (fail closed under a flood).
#[derive(Default)]
pub(crate) struct UsedStates {
    seen: std::sync::Mutex<std::collections::HashMap<[u8; 32], u64>>,
}

impl UsedStates {
    const LIMIT: usize = 100_000;

    /// `true` the first time `state` is presented (at `now`, seconds), `false` after.
    pub(crate) fn first_use(&self, state: &str, now: u64) -> bool {
        let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        if seen.len() >= 1024 {
            seen.retain(|_, at| now.saturating_sub(*at) <= FLOW_TTL.as_secs() + 60);
        }
        if seen.len() >= Self::LIMIT {
            return false;
        }
        seen.insert(sha256(state.as_bytes()), now).is_none()
    }
}

/// 32 random bytes as base64url (43 characters): a `state`, `nonce` or PKCE verifier.
pub(crate) fn random_token() -> Option<String> {
    random::<32>().ok().map(|b| URL_SAFE_NO_PAD.encode(b))
}

/// The PKCE `S256` challenge of a verifier (RFC 7636 section 4.2).
pub(crate) fn challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(sha256(verifier.as_bytes()))
}

/// The SHA-256 of `text` in lowercase hex (keys for the shared state: no raw value stored).
pub(crate) fn hex_sha256(text: &str) -> String {
    use std::fmt::Write as _;
    let mut hex = String::with_capacity(64);
    for b in sha256(text.as_bytes()) {
        let _ = write!(hex, "{b:02x}");
    }
    hex
}

/// Compares two strings in time independent of where they differ.
pub(crate) fn same(a: &str, b: &str) -> bool {
    sha256(a.as_bytes()) == sha256(b.as_bytes())
}

impl LoginState {
    /// Starts an attempt; `None` only if the system RNG fails.
    pub(crate) fn new(
        return_to: String,
        max_age: Option<u64>,
        acr_values: Option<String>,
        now: u64,
    ) -> Option<Self> {
        Some(Self {
            state: random_token()?,
            verifier: random_token()?,
            nonce: random_token()?,
            return_to,
            max_age,
            acr_values,
            started: now,
        })
    }

    /// Seals the attempt for its cookie (expires with the attempt).
    pub(crate) fn seal(&self, passwords: &IronPasswords, now_ms: u64) -> Option<String> {
        let json = serde_json::to_vec(self).ok()?;
        iron::seal(&json, passwords, Some(FLOW_TTL), now_ms).ok()
    }

    /// Opens a flow cookie; `None` when it is forged, expired or not ours.
    pub(crate) fn open(cookie: &str, passwords: &IronPasswords, now_ms: u64) -> Option<Self> {
        let (json, _) = iron::unseal_with_expiry(cookie, passwords, now_ms).ok()?;
        serde_json::from_slice(&json).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn s256_matches_rfc_7636_appendix_b() {
        assert_eq!(
            challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }

    #[test]
    fn a_state_is_used_once() {
        let used = UsedStates::default();
        assert!(used.first_use("s1", 100));
        assert!(!used.first_use("s1", 101));
        assert!(used.first_use("s2", 101));
    }

    #[test]
    fn tokens_are_fresh_and_long_enough() {
        let (a, b) = (random_token().unwrap(), random_token().unwrap());
        assert_ne!(a, b);
        assert_eq!(a.len(), 43);
    }

    #[test]
    fn flow_cookie_round_trips_and_expires() {
        let pw = IronPasswords::new("1", "p".repeat(32)).unwrap();
        let s = LoginState::new("/admin".into(), Some(0), None, 1_000).unwrap();
        let now_ms = 1_000_000;
        let sealed = s.seal(&pw, now_ms).unwrap();
        let back = LoginState::open(&sealed, &pw, now_ms).unwrap();
        assert_eq!((back.state, back.return_to, back.max_age), (s.state, s.return_to, Some(0)));
        let late = now_ms + FLOW_TTL.as_millis() as u64 + 120_000;
        assert!(LoginState::open(&sealed, &pw, late).is_none(), "an old attempt is refused");
        let other = IronPasswords::new("1", "q".repeat(32)).unwrap();
        assert!(LoginState::open(&sealed, &other, now_ms).is_none());
    }
}
