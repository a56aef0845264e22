//! [`ClaimNames`]: where a token carries the claims that say how and when the session
//! authenticated.
//!
//! The defaults are the standard names (`amr`, RFC 8176; `acr` and `auth_time`, OpenID Connect).
//! Some IdPs cannot put those names in access tokens: Auth0 reserves them, so a post-login
//! Action has to add them under a namespace (`https://example.com/amr`). Point the layer at
//! those names and every accessor, policy, audit event and `/me`-style serialization reads them
//! as if they were the standard claims.

use serde_json::Value;

/// Reads a NumericDate (RFC 7519: seconds, possibly fractional, non-negative).
pub(crate) fn numeric_date(value: &Value) -> Option<u64> {
    let n = value.as_number()?;
    n.as_u64().or_else(|| {
        n.as_f64().filter(|f| f.is_finite() && *f >= 0.0 && *f < u64::MAX as f64).map(|f| f as u64)
    })
}

/// The names of the `amr`, `acr` and `auth_time` claims in your IdP's tokens.
///
/// ```
/// use axum_session_mfa::{AuthLayer, ClaimNames, Key};
///
/// // An Auth0 post-login Action sets these namespaced claims on the access token.
/// let names = ClaimNames::default()
///     .amr("https://example.com/amr")
///     .auth_time("https://example.com/auth_time");
/// # let key = Key::hmac(axum_session_mfa::Algorithm::HS256, &[7; 32]).unwrap();
/// let auth = AuthLayer::builder(key).claim_names(names).build().unwrap();
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use]
pub struct ClaimNames {
    pub(crate) amr: String,
    pub(crate) acr: String,
    pub(crate) auth_time: String,
}

impl Default for ClaimNames {
    fn default() -> Self {
        Self { amr: "amr".into(), acr: "acr".into(), auth_time: "auth_time".into() }
    }
}

impl ClaimNames {
    /// The claim holding the authentication methods (default `amr`).
    pub fn amr(mut self, name: impl Into<String>) -> Self {
        self.amr = name.into();
        self
    }

    /// The claim holding the authentication context class (default `acr`).
    pub fn acr(mut self, name: impl Into<String>) -> Self {
        self.acr = name.into();
        self
    }

    /// The claim holding the time of the last active authentication (default `auth_time`).
    pub fn auth_time(mut self, name: impl Into<String>) -> Self {
        self.auth_time = name.into();
        self
    }
}
