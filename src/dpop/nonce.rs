//! Server nonces (RFC 9449 section 8), stateless: a nonce is a time window's number and its
//! HMAC-SHA256 under a secret every instance shares (`<window>.<base64url mac>`), so any
//! instance can check any instance's nonce with nothing stored. The current and the previous
//! window are accepted, so a nonce lives between one and two windows.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey};

use super::DpopConfigError;

/// The shortest accepted nonce secret in bytes (HS256's hash length, RFC 7518 section 3.2).
pub const MIN_NONCE_SECRET_BYTES: usize = 32;

/// The default nonce window: a nonce is accepted for 5 to 10 minutes.
pub const DEFAULT_NONCE_WINDOW: Duration = Duration::from_secs(300);

/// Server-issued DPoP nonces (RFC 9449 section 8): proofs must carry a recent `nonce` this
/// service issued, which limits how long a proof made in advance stays usable. Give every
/// instance the same secret; see [`Dpop::nonces`](super::Dpop::nonces).
///
/// ```
/// use std::time::Duration;
/// use axum_session_mfa::dpop::DpopNonces;
///
/// let nonces = DpopNonces::new(b"a-secret-all-instances-share-32+bytes")
///     .unwrap()
///     .window(Duration::from_secs(120));
/// # let _ = nonces;
/// ```
#[derive(Clone)]
#[must_use]
pub struct DpopNonces {
    keys: Arc<(EncodingKey, DecodingKey)>,
    window: u64,
}

impl fmt::Debug for DpopNonces {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DpopNonces").field("window_secs", &self.window).finish_non_exhaustive()
    }
}

impl DpopNonces {
    /// Nonces keyed with `secret` (at least [`MIN_NONCE_SECRET_BYTES`] bytes), in windows of
    /// [`DEFAULT_NONCE_WINDOW`].
    ///
    /// # Errors
    ///
    /// [`DpopConfigError::WeakNonceSecret`] for a shorter secret.
    pub fn new(secret: impl AsRef<[u8]>) -> Result<Self, DpopConfigError> {
        let secret = secret.as_ref();
        if secret.len() < MIN_NONCE_SECRET_BYTES {
            return Err(DpopConfigError::WeakNonceSecret {
                len: secret.len(),
                min: MIN_NONCE_SECRET_BYTES,
            });
        }
        let keys = (EncodingKey::from_secret(secret), DecodingKey::from_secret(secret));
        Ok(Self { keys: Arc::new(keys), window: DEFAULT_NONCE_WINDOW.as_secs() })
    }

    /// How long a nonce is current (default 5 minutes, at least 1 second); the previous
    /// window's nonce is still accepted, so a nonce lives up to twice this.
    pub fn window(mut self, window: Duration) -> Self {
        self.window = window.as_secs().max(1);
        self
    }

    fn message(number: u64) -> String {
        format!("dpop-nonce.{number}")
    }

    /// The current nonce.
    pub(crate) fn issue(&self, now: u64) -> Option<String> {
        let number = now / self.window;
        let mac = jsonwebtoken::crypto::sign(
            Self::message(number).as_bytes(),
            &self.keys.0,
            Algorithm::HS256,
        )
        .ok()?;
        Some(format!("{number}.{mac}"))
    }

    /// Whether `nonce` was issued for the current or the previous window (the MAC compared in
    /// constant time by the crypto backend).
    pub(crate) fn accepts(&self, nonce: &str, now: u64) -> bool {
        let Some((number, mac)) = nonce.split_once('.') else { return false };
        if number.is_empty() || number.len() > 20 || !number.bytes().all(|b| b.is_ascii_digit()) {
            return false;
        }
        let Ok(number) = number.parse::<u64>() else { return false };
        let current = now / self.window;
        if number != current && number.saturating_add(1) != current {
            return false;
        }
        matches!(
            jsonwebtoken::crypto::verify(
                mac,
                Self::message(number).as_bytes(),
                &self.keys.1,
                Algorithm::HS256
            ),
            Ok(true)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_the_current_and_previous_window_only() {
        crate::install_crypto_provider();
        let nonces = DpopNonces::new([7u8; 32]).unwrap().window(Duration::from_secs(100));
        let issued = nonces.issue(1_000).unwrap();
        assert!(nonces.accepts(&issued, 1_000));
        assert!(nonces.accepts(&issued, 1_099));
        assert!(nonces.accepts(&issued, 1_199));
        assert!(!nonces.accepts(&issued, 1_200), "two windows later");
        assert!(!nonces.accepts(&issued, 999), "from the future");
        let other = DpopNonces::new([8u8; 32]).unwrap().window(Duration::from_secs(100));
        assert!(!other.accepts(&issued, 1_000), "another secret");
        let (number, _) = issued.split_once('.').unwrap();
        assert!(!nonces.accepts(&format!("{number}.AAAA"), 1_000));
        assert!(!nonces.accepts("x.y", 1_000));
        assert!(!nonces.accepts("", 1_000));
        assert!(matches!(
            DpopNonces::new([1u8; 31]),
            Err(DpopConfigError::WeakNonceSecret { len: 31, min: 32 })
        ));
    }
}
