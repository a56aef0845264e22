//! A fixed set of keys configured at build time.

use jsonwebtoken::Algorithm;

use super::Key;
use crate::AuthError;

/// A fixed set of [`Key`]s, looked up by `kid` (see the [module docs](crate::keys) for the rules).
#[derive(Debug, Clone, Default)]
pub struct StaticKeys {
    keys: Vec<Key>,
}

impl StaticKeys {
    /// An empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a key.
    pub fn push(&mut self, key: Key) {
        self.keys.push(key);
    }

    /// `true` when no key is configured.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// The configured keys.
    pub fn keys(&self) -> &[Key] {
        &self.keys
    }

    /// The key that verifies a token with this `kid` and `alg`.
    pub fn select(&self, kid: Option<&str>, alg: Algorithm) -> Result<&Key, AuthError> {
        if let Some(kid) = kid
            && let Some(key) = self.keys.iter().find(|k| k.kid() == Some(kid))
        {
            return if key.allows(alg) { Ok(key) } else { Err(AuthError::AlgorithmNotAllowed) };
        }
        // Wildcards: keys without a kid when the token's kid is unknown; any key when the token
        // has no kid. Exactly one candidate for the algorithm, or refuse.
        let mut candidates =
            self.keys.iter().filter(|k| kid.is_none() || k.kid().is_none()).peekable();
        if candidates.peek().is_none() {
            return Err(AuthError::UnknownKey);
        }
        let mut allowed = candidates.filter(|k| k.allows(alg));
        match (allowed.next(), allowed.next()) {
            (Some(key), None) => Ok(key),
            (Some(_), Some(_)) => Err(AuthError::UnknownKey),
            (None, _) => Err(AuthError::AlgorithmNotAllowed),
        }
    }
}

impl StaticKeys {
    /// Like [`StaticKeys::select`], but a token's `kid` must name a key exactly: keys without a
    /// `kid` are not wildcards (the rule for remote key sets).
    #[cfg_attr(not(feature = "jwks"), allow(dead_code))]
    pub(crate) fn select_exact(
        &self,
        kid: Option<&str>,
        alg: Algorithm,
    ) -> Result<&Key, AuthError> {
        if let Some(kid) = kid
            && !self.keys.iter().any(|k| k.kid() == Some(kid))
        {
            return Err(AuthError::UnknownKey);
        }
        self.select(kid, alg)
    }
}

impl FromIterator<Key> for StaticKeys {
    fn from_iter<I: IntoIterator<Item = Key>>(iter: I) -> Self {
        Self { keys: iter.into_iter().collect() }
    }
}
