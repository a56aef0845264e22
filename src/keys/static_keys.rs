//! A fixed set of keys configured at build time.

use jsonwebtoken::Algorithm;

use super::Key;
use crate::AuthError;

/// A fixed set of [`Key`]s, looked up by `kid` (see the [`KeySource`](crate::KeySource) docs for the rules).
#[derive(Debug, Clone)]
pub(crate) struct StaticKeys {
    keys: Vec<Key>,
}

impl StaticKeys {
    /// `true` when no key is configured.
    pub(crate) fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// How many keys the set holds.
    #[cfg_attr(not(feature = "jwks"), allow(dead_code))]
    pub(crate) fn len(&self) -> usize {
        self.keys.len()
    }

    /// The key that verifies a token with this `kid` and `alg`.
    pub(crate) fn select(&self, kid: Option<&str>, alg: Algorithm) -> Result<&Key, AuthError> {
        if let Some(kid) = kid {
            if let Some(key) = self.keys.iter().find(|k| k.kid() == Some(kid)) {
                return if key.allows(alg) { Ok(key) } else { Err(AuthError::AlgorithmNotAllowed) };
            }
            // Once keys are named, an unknown kid never verifies.
            if self.keys.iter().any(|k| k.kid().is_some()) {
                return Err(AuthError::UnknownKey);
            }
        }
        // No kid to go by (the token has none, or no key is named): exactly one key for the
        // algorithm, or refuse.
        let mut allowed = self.keys.iter().filter(|k| k.allows(alg));
        match (allowed.next(), allowed.next()) {
            (Some(key), None) => Ok(key),
            (Some(_), Some(_)) => Err(AuthError::UnknownKey),
            (None, _) => Err(AuthError::AlgorithmNotAllowed),
        }
    }

    /// The first `kid` configured twice, if any.
    pub(crate) fn duplicate_kid(&self) -> Option<&str> {
        self.keys.iter().enumerate().find_map(|(i, key)| {
            let kid = key.kid()?;
            self.keys[..i].iter().any(|k| k.kid() == Some(kid)).then_some(kid)
        })
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
