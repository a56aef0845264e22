//! WorkOS AuthKit sessions (feature `authkit`): the `wos-session` cookie written by `@workos-inc/authkit-nextjs`
//! (and the sealed sessions of `@workos-inc/node`).
//!
//! The cookie value is an iron seal (`Fe26.2`, opened with [`IronPasswords`]) of a JSON object
//! (camelCase):
//!
//! ```json
//! { "accessToken": "<JWT>", "refreshToken": "<opaque>",
//!   "user": { "id": "user_…", "email": "…", "firstName": "…", "lastName": "…",
//!             "emailVerified": true, "profilePictureUrl": null, … },
//!   "impersonator": { "email": "…", "reason": "…" },
//!   "authenticationMethod": "Password", "organizationId": "org_…" }
//! ```
//!
//! Keys this crate does not know (`organizationId`, the user's `metadata`, keys a later
//! authkit-nextjs adds, …) are kept as they are when a session is resealed. The layer
//! ([`AuthLayerBuilder::authkit`](crate::AuthLayerBuilder::authkit)) opens
//! the seal, verifies `accessToken` like any other token, requires the sealed `user.id` to equal
//! the token's `sub` (as AuthKit's `withAuth()` does), and exposes the user, impersonator and
//! authentication method on the [`AuthContext`](crate::AuthContext). The refresh token never
//! reaches the context.
//!
//! WorkOS access tokens carry `auth_time` (the last *active* sign-in; a refresh keeps it) but no
//! `amr`: an AuthKit session proves how recently the user signed in, not that MFA was used. For
//! "re-enter your password before this" use [`RequireRecentAuth`](crate::RequireRecentAuth).
//!
//! [`AuthKitSession`] opens and writes such cookies directly (the
//! [`lifecycle`](crate::lifecycle) module does it for you: sign-in, refresh, sign-out):
//!
//! ```
//! use axum_session_mfa::authkit::{AuthKitSession, IronPasswords, RefreshToken, SessionUser};
//!
//! let passwords = IronPasswords::new("1", "a-cookie-password-of-32-characters!").unwrap();
//! let session = AuthKitSession::new("eyJ…new access token…", SessionUser::new("user_01H"))
//!     .with_refresh_token(RefreshToken::new("new refresh token"));
//! let cookie = session.seal(&passwords).unwrap();
//! assert!(cookie.starts_with("Fe26.2*1*"));
//!
//! let opened = AuthKitSession::unseal(&cookie, &passwords).unwrap();
//! assert_eq!(opened.user.id, "user_01H");
//! assert_eq!(opened.refresh_token.unwrap().expose(), "new refresh token");
//! ```

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

pub(crate) mod crypto;
pub(crate) mod iron;

pub use self::iron::{IronConfigError, IronError, IronPasswords};
use crate::AuthError;
use crate::clock::Clock;
use crate::error::SealError;

/// The cookie name AuthKit uses.
pub const AUTHKIT_COOKIE: &str = "wos-session";

/// How a sealed cookie value starts. Anything else is read as a plain JWT.
pub(crate) const SEAL_PREFIX: &str = "Fe26.";

/// The seal lifetime [`AuthKitSession::seal`] uses: none, as `@workos-inc/authkit-nextjs`
/// (`ttl: 0`) and `@workos-inc/node` write them. The session ends when its refresh token stops
/// working, not when the seal expires; the cookie's own `Max-Age` bounds how long a browser
/// keeps it.
pub const DEFAULT_SEAL_TTL: Option<Duration> = None;

/// A WorkOS refresh token.
///
/// A long-lived credential: its [`Debug`] output is redacted and it does not implement
/// `Serialize`, so it cannot leak into logs or JSON by accident. Read it only with
/// [`expose`](Self::expose), to call WorkOS's refresh endpoint.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct RefreshToken(String);

impl RefreshToken {
    /// Wraps a refresh token (for example one returned by WorkOS's refresh endpoint).
    pub fn new(token: impl Into<String>) -> Self {
        Self(token.into())
    }

    /// The token itself. Send it to WorkOS only; never log or return it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for RefreshToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RefreshToken(<redacted>)")
    }
}

/// The user stored in an AuthKit session (WorkOS's `User` object, the fields that matter here).
///
/// Serializes in WorkOS's camelCase shape (`firstName`, `emailVerified`, …).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct SessionUser {
    /// The WorkOS user id (`user_…`); equal to the access token's `sub`.
    pub id: String,
    /// The user's email address.
    #[serde(default)]
    pub email: Option<String>,
    /// Given name.
    #[serde(default)]
    pub first_name: Option<String>,
    /// Family name.
    #[serde(default)]
    pub last_name: Option<String>,
    /// Whether WorkOS verified the email address (`None` when the session does not say).
    #[serde(default)]
    pub email_verified: Option<bool>,
    /// Profile picture URL.
    #[serde(default)]
    pub profile_picture_url: Option<String>,
    /// The user's other fields (`object`, `metadata`, `createdAt`, …), kept when resealing.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl SessionUser {
    /// A user with only an id; set the other public fields as needed.
    pub fn new(id: impl Into<String>) -> Self {
        Self {
            id: id.into(),
            email: None,
            first_name: None,
            last_name: None,
            email_verified: None,
            profile_picture_url: None,
            extra: Map::new(),
        }
    }
}

/// The WorkOS staff member or admin impersonating the user, when the session is impersonated.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Impersonator {
    /// The impersonator's email address.
    pub email: String,
    /// The reason they gave, if any.
    #[serde(default)]
    pub reason: Option<String>,
}

impl Impersonator {
    /// An impersonator with an email and an optional reason.
    pub fn new(email: impl Into<String>, reason: Option<String>) -> Self {
        Self { email: email.into(), reason }
    }
}

/// The contents of an AuthKit session cookie.
///
/// The access token inside is **not verified** by [`unseal`](Self::unseal): the seal proves
/// that someone holding the cookie password wrote it, not that the token is valid now. Let
/// [`AuthLayer`](crate::AuthLayer) authenticate requests; use this type to read the refresh
/// token and to write a refreshed cookie back.
///
/// `Debug` shows the user and impersonator only; both tokens are redacted.
#[derive(Clone)]
#[non_exhaustive]
pub struct AuthKitSession {
    /// The WorkOS access token (a JWT).
    pub access_token: String,
    /// The refresh token, when the session carries one.
    pub refresh_token: Option<RefreshToken>,
    /// The signed-in user.
    pub user: SessionUser,
    /// Who is impersonating the user, if anyone.
    pub impersonator: Option<Impersonator>,
    /// How the user signed in, as WorkOS reports it (`Password`, `GoogleOAuth`, `SSO`, …).
    pub authentication_method: Option<String>,
    /// The payload's other keys (`organizationId`, `idToken`, keys a later AuthKit adds),
    /// kept as they are when the session is resealed.
    pub extra: Map<String, Value>,
}

impl fmt::Debug for AuthKitSession {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthKitSession")
            .field("access_token", &"<redacted>")
            .field("refresh_token", &self.refresh_token)
            .field("user", &self.user)
            .field("impersonator", &self.impersonator)
            .field("authentication_method", &self.authentication_method)
            .field("extra", &self.extra.keys().collect::<Vec<_>>())
            .finish()
    }
}

/// What the layer keeps of a session: the parts that are safe to expose.
#[derive(Debug, Clone)]
pub(crate) struct SessionInfo {
    pub(crate) user: SessionUser,
    pub(crate) impersonator: Option<Impersonator>,
    pub(crate) authentication_method: Option<String>,
    /// The seal's own expiry in ms since the epoch, if it has one (not exposed).
    pub(crate) seal_expires_ms: Option<u64>,
    /// The sign-in this session comes from (kept across refreshes), if this crate sealed it.
    #[cfg_attr(not(feature = "revocation"), allow(dead_code))]
    pub(crate) sign_in: Option<String>,
}

/// The key of the sealed payload that names the sign-in a session comes from: a random id the
/// callback mints, kept by every refresh, revoked by sign-out (so a refresh that finishes after
/// a sign-out yields a cookie every instance refuses).
pub(crate) const SIGN_IN_KEY: &str = "signInId";

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireIn {
    #[serde(default)]
    access_token: Option<String>,
    #[serde(default)]
    refresh_token: Option<RefreshToken>,
    #[serde(default)]
    user: Option<SessionUser>,
    #[serde(default)]
    impersonator: Option<Impersonator>,
    #[serde(default)]
    authentication_method: Option<String>,
    #[serde(flatten)]
    extra: Map<String, Value>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct WireOut<'a> {
    access_token: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    refresh_token: Option<&'a str>,
    user: &'a SessionUser,
    impersonator: Option<&'a Impersonator>,
    #[serde(skip_serializing_if = "Option::is_none")]
    authentication_method: Option<&'a str>,
    #[serde(flatten)]
    extra: &'a Map<String, Value>,
}

/// Maps an iron failure to the session error that names it (`bad_mac`, `expired`, …).
fn iron_error(e: &IronError) -> AuthError {
    AuthError::InvalidSession(match e {
        IronError::Malformed | IronError::Rng => SealError::Malformed,
        IronError::Base64 => SealError::BadBase64,
        IronError::UnknownPasswordId => SealError::UnknownPasswordId,
        IronError::Expired => SealError::Expired,
        IronError::BadMac => SealError::BadMac,
        IronError::Decrypt => SealError::DecryptFailed,
    })
}

impl AuthKitSession {
    /// A session with an access token and a user, and neither refresh token nor impersonator.
    pub fn new(access_token: impl Into<String>, user: SessionUser) -> Self {
        Self {
            access_token: access_token.into(),
            refresh_token: None,
            user,
            impersonator: None,
            authentication_method: None,
            extra: Map::new(),
        }
    }

    /// Sets the refresh token.
    pub fn with_refresh_token(mut self, token: RefreshToken) -> Self {
        self.refresh_token = Some(token);
        self
    }

    /// Sets the impersonator.
    pub fn with_impersonator(mut self, impersonator: Impersonator) -> Self {
        self.impersonator = Some(impersonator);
        self
    }

    /// Opens a `wos-session` cookie value. The access token is **not** verified.
    ///
    /// # Errors
    ///
    /// [`AuthError::InvalidSession`] with the [`crate::SealError`] that names
    /// the failure.
    pub fn unseal(cookie: &str, passwords: &IronPasswords) -> Result<Self, AuthError> {
        Self::open(cookie, passwords, Clock::system().now_millis())
    }

    pub(crate) fn open(
        cookie: &str,
        passwords: &IronPasswords,
        now_ms: u64,
    ) -> Result<Self, AuthError> {
        Self::open_with_expiry(cookie, passwords, now_ms).map(|(session, _)| session)
    }

    /// As `open`, with the seal's own expiry (ms since the epoch), if it has one.
    pub(crate) fn open_with_expiry(
        cookie: &str,
        passwords: &IronPasswords,
        now_ms: u64,
    ) -> Result<(Self, Option<u64>), AuthError> {
        let (plaintext, expires_ms) =
            iron::unseal_with_expiry(cookie, passwords, now_ms).map_err(|e| iron_error(&e))?;
        Ok((Self::from_json(&plaintext)?, expires_ms))
    }

    fn from_json(json: &[u8]) -> Result<Self, AuthError> {
        // serde would also read a struct from a JSON array; the payload must be an object.
        if !json.trim_ascii_start().starts_with(b"{") {
            return Err(AuthError::InvalidSession(SealError::InvalidPayload));
        }
        let wire: WireIn = serde_json::from_slice(json)
            .map_err(|_| AuthError::InvalidSession(SealError::InvalidPayload))?;
        let access_token =
            wire.access_token.ok_or(AuthError::InvalidSession(SealError::MissingAccessToken))?;
        let user = wire.user.ok_or(AuthError::InvalidSession(SealError::MissingUser))?;
        Ok(Self {
            access_token,
            refresh_token: wire.refresh_token,
            user,
            impersonator: wire.impersonator,
            authentication_method: wire.authentication_method,
            extra: wire.extra,
        })
    }

    /// Seals the session into a cookie value that AuthKit (`iron-session`) and this crate
    /// read, with the first password of `passwords` and no seal expiry ([`DEFAULT_SEAL_TTL`]).
    ///
    /// # Errors
    ///
    /// [`IronError::Rng`] if the system random number generator fails.
    pub fn seal(&self, passwords: &IronPasswords) -> Result<String, IronError> {
        self.seal_with_ttl(passwords, DEFAULT_SEAL_TTL)
    }

    /// As [`seal`](Self::seal), with the given lifetime; `None` seals without expiry (like
    /// authkit-nextjs and `@workos-inc/node`).
    ///
    /// # Errors
    ///
    /// [`IronError::Rng`] if the system random number generator fails.
    pub fn seal_with_ttl(
        &self,
        passwords: &IronPasswords,
        ttl: Option<Duration>,
    ) -> Result<String, IronError> {
        let wire = WireOut {
            access_token: &self.access_token,
            refresh_token: self.refresh_token.as_ref().map(RefreshToken::expose),
            user: &self.user,
            impersonator: self.impersonator.as_ref(),
            authentication_method: self.authentication_method.as_deref(),
            extra: &self.extra,
        };
        // Serializing these plain structs to a Vec cannot fail.
        let json = serde_json::to_vec(&wire).unwrap_or_default();
        iron::seal(&json, passwords, ttl, Clock::system().now_millis())
    }

    /// Drops the tokens, keeping what the context exposes.
    /// The sign-in this session comes from, if this crate sealed it (see [`SIGN_IN_KEY`]).
    pub(crate) fn sign_in_id(&self) -> Option<&str> {
        self.extra
            .get(SIGN_IN_KEY)
            .and_then(serde_json::Value::as_str) // Ids this crate mints are 32 characters; anything else is not one of them.
            .filter(|id| (1..=64).contains(&id.len()))
    }

    pub(crate) fn into_info(self, seal_expires_ms: Option<u64>) -> (String, SessionInfo) {
        let sign_in = self.sign_in_id().map(str::to_owned);
        let info = SessionInfo {
            user: self.user,
            impersonator: self.impersonator,
            authentication_method: self.authentication_method,
            seal_expires_ms,
            sign_in,
        };
        (self.access_token, info)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(json: &str) -> Result<AuthKitSession, AuthError> {
        AuthKitSession::from_json(json.as_bytes())
    }

    #[test]
    fn reads_camel_case_and_ignores_unknown_keys() {
        let s = parse(
            r#"{"organizationId":"org_1","accessToken":"a.b.c","refreshToken":"r",
                "user":{"object":"user","id":"user_1","email":"a@x","firstName":"A",
                        "lastName":"L","emailVerified":true,"profilePictureUrl":null,
                        "metadata":{}},
                "impersonator":{"email":"staff@x","reason":"support"},"extra":[1]}"#,
        )
        .unwrap();
        assert_eq!(s.access_token, "a.b.c");
        assert_eq!(s.refresh_token.as_ref().map(RefreshToken::expose), Some("r"));
        assert_eq!(s.user.first_name.as_deref(), Some("A"));
        assert_eq!(s.user.email_verified, Some(true));
        assert_eq!(s.impersonator.unwrap().reason.as_deref(), Some("support"));
    }

    #[test]
    fn payload_problems_have_precise_details() {
        let cases = [
            ("[1]", "invalid_payload"),
            ("not json", "invalid_payload"),
            (r#"{"accessToken":5,"user":{"id":"u"}}"#, "invalid_payload"),
            (r#"{"accessToken":"t","accessToken":"u","user":{"id":"u"}}"#, "invalid_payload"),
            (r#"{"user":{"id":"u"}}"#, "missing_access_token"),
            (r#"{"accessToken":"t"}"#, "missing_user"),
            (r#"{"accessToken":"t","user":null}"#, "missing_user"),
            (r#"{"accessToken":"t","user":{"email":"a@x"}}"#, "invalid_payload"),
            (r#"{"accessToken":"t","user":{"id":"u"},"impersonator":"x"}"#, "invalid_payload"),
        ];
        for (json, detail) in cases {
            assert_eq!(parse(json).unwrap_err().detail_code(), Some(detail), "{json}");
        }
    }

    #[test]
    fn debug_redacts_both_tokens() {
        let s = AuthKitSession::new("secret-access", SessionUser::new("u"))
            .with_refresh_token(RefreshToken::new("secret-refresh"));
        let text = format!("{s:?}");
        assert!(!text.contains("secret-access") && !text.contains("secret-refresh"), "{text}");
        assert!(text.contains("<redacted>"));
    }

    #[test]
    fn reseal_keeps_unknown_keys_and_the_method() {
        let pw = IronPasswords::new("1", "x".repeat(32)).unwrap();
        let json = r#"{"organizationId":"org_1","accessToken":"a.b.c","refreshToken":"r",
            "user":{"id":"user_1","metadata":{"k":"v"}},"authenticationMethod":"Password",
            "future":{"nested":[1,2]}}"#;
        let s = parse(json).unwrap();
        assert_eq!(s.authentication_method.as_deref(), Some("Password"));
        let sealed = s.seal(&pw).unwrap();
        let (plain, expiry) = iron::unseal_with_expiry(&sealed, &pw, 0).unwrap();
        assert_eq!(expiry, None, "authkit-nextjs seals with ttl 0");
        let back: Value = serde_json::from_slice(&plain).unwrap();
        assert_eq!(back["organizationId"], "org_1");
        assert_eq!(back["user"]["metadata"], serde_json::json!({"k": "v"}));
        assert_eq!(back["future"], serde_json::json!({"nested": [1, 2]}));
        assert_eq!(back["authenticationMethod"], "Password");
        assert_eq!(back["refreshToken"], "r");
    }

    #[test]
    fn seal_round_trips() {
        let pw = IronPasswords::new("1", "x".repeat(32)).unwrap();
        let s = AuthKitSession::new("t", SessionUser::new("u"))
            .with_refresh_token(RefreshToken::new("r"))
            .with_impersonator(Impersonator::new("i@x", None));
        let opened = AuthKitSession::unseal(&s.seal(&pw).unwrap(), &pw).unwrap();
        assert_eq!(opened.access_token, "t");
        assert_eq!(opened.refresh_token, Some(RefreshToken::new("r")));
        assert_eq!(opened.impersonator, s.impersonator);
        let forever = s.seal_with_ttl(&pw, None).unwrap();
        assert!(forever.contains("**"), "no expiry part: {forever}");
    }
}
