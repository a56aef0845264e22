//! The verified session: [`AuthContext`], its [`Amr`] view and the per-request [`AuthOutcome`].
//! Data only: the extractors that hand them to handlers are in `extract.rs`.
//!
//! # Claim types
//! Time claims (`exp`, `nbf`, `iat`, `auth_time`) and `sub`/`iss`/`aud` are validated when the
//! token is verified: a wrong JSON type there refuses the token (401 `invalid_claim`). The other
//! claims surfaced here (`sid`, `org_id`, `role`, `roles`, `permissions`, `entitlements`,
//! `feature_flags`, `acr`, `amr`) are read
//! leniently: a value of the wrong type reads as absent. For `amr` that means a malformed claim
//! (not an array of strings, e.g. `"mfa"` or `["pwd", 5]`) is treated exactly like a missing one:
//! the token still identifies the user, but it proves no method, so it can never grant MFA.

use std::fmt;
use std::sync::Arc;

use serde::ser::{SerializeMap, SerializeSeq};
use serde::{Deserialize, Serialize, Serializer};
use serde_json::{Map, Value};

use crate::AuthError;
#[cfg(feature = "authkit")]
use crate::authkit::{Impersonator, SessionInfo, SessionUser};
use crate::claims::ClaimNames;

/// A verified session: who, which session, how and when they authenticated.
///
/// Cheap to clone (one reference count). Built only by the layer after the token's signature and
/// claims were verified; there is no public constructor from unverified input.
#[derive(Clone)]
pub struct AuthContext {
    inner: Arc<Inner>,
    /// When this request's token was found valid: per request, also when the verification
    /// itself came from the layer's cache.
    verified_at: u64,
}

struct Inner {
    claims: Map<String, Value>,
    names: Arc<ClaimNames>,
    exp: u64,
    /// `sub` and `sid`, copied out of the claims once: every request's revocation check and
    /// audit event reads them, and a map search costs more than the copy.
    sub: Box<str>,
    sid: Option<Box<str>>,
    /// The user and impersonator of a sealed session cookie (AuthKit); never its tokens.
    #[cfg(feature = "authkit")]
    session: Option<SessionInfo>,
}

impl AuthContext {
    /// Wraps verified claims. `sub` (string) and `exp` (number) were checked by the verifier.
    pub(crate) fn from_verified(
        claims: Map<String, Value>,
        names: Arc<ClaimNames>,
        exp: u64,
        verified_at: u64,
    ) -> Self {
        let text = |name: &str| claims.get(name).and_then(Value::as_str).map(Box::<str>::from);
        let (sub, sid) = (text("sub").unwrap_or_default(), text("sid"));
        Self {
            inner: Arc::new(Inner {
                claims,
                names,
                exp,
                sub,
                sid,
                #[cfg(feature = "authkit")]
                session: None,
            }),
            verified_at,
        }
    }

    /// Attaches the sealed session's user. Called right after verification, while the context
    /// is not shared yet, so no claim is copied.
    #[cfg(feature = "authkit")]
    pub(crate) fn with_session(mut self, info: SessionInfo) -> Self {
        match Arc::get_mut(&mut self.inner) {
            Some(inner) => inner.session = Some(info),
            None => {
                let inner = &self.inner;
                self.inner = Arc::new(Inner {
                    claims: inner.claims.clone(),
                    names: inner.names.clone(),
                    exp: inner.exp,
                    sub: inner.sub.clone(),
                    sid: inner.sid.clone(),
                    session: Some(info),
                });
            }
        }
        self
    }

    /// The same verified session, seen by a request at `now` (a hit in the layer's cache).
    pub(crate) fn seen_at(&self, now: u64) -> Self {
        Self { inner: self.inner.clone(), verified_at: now }
    }

    fn str_claim(&self, name: &str) -> Option<&str> {
        self.inner.claims.get(name).and_then(Value::as_str)
    }

    fn time_claim(&self, name: &str) -> Option<u64> {
        self.inner.claims.get(name).and_then(crate::claims::numeric_date)
    }

    fn str_list(&self, name: &str) -> impl Iterator<Item = &str> {
        self.inner
            .claims
            .get(name)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
    }

    /// The subject (`sub`): the user id.
    pub fn sub(&self) -> &str {
        &self.inner.sub
    }

    /// The session id (`sid`), if the token carries one.
    pub fn sid(&self) -> Option<&str> {
        self.inner.sid.as_deref()
    }

    /// The organization (`org_id`), if any.
    pub fn org_id(&self) -> Option<&str> {
        self.str_claim("org_id")
    }

    /// The single `role` claim, if any (WorkOS sets both `role` and `roles`).
    pub fn role(&self) -> Option<&str> {
        self.str_claim("role")
    }

    /// The `roles` claim, or the single `role` when there is no `roles` array.
    pub fn roles(&self) -> impl Iterator<Item = &str> {
        let from_role = match self.inner.claims.get("roles") {
            Some(Value::Array(_)) => None,
            _ => self.role(),
        };
        self.str_list("roles").chain(from_role)
    }

    /// `true` when [`roles`](Self::roles) contains `role`.
    pub fn has_role(&self, role: &str) -> bool {
        self.roles().any(|r| r == role)
    }

    /// The `permissions` claim (Auth0, WorkOS), empty when absent.
    pub fn permissions(&self) -> impl Iterator<Item = &str> {
        self.str_list("permissions")
    }

    /// `true` when [`permissions`](Self::permissions) contains `permission`.
    pub fn has_permission(&self, permission: &str) -> bool {
        self.permissions().any(|p| p == permission)
    }

    /// The OAuth scopes the token grants: the `scope` claim (RFC 9068, RFC 8693: one string,
    /// space separated) followed by the `scp` claim (Okta and Entra ID: an array of strings, or
    /// one space-separated string). Empty when neither is present; a value of another type
    /// grants nothing.
    ///
    /// ```
    /// # use axum_session_mfa::AuthContext;
    /// fn can_read(ctx: &AuthContext) -> bool {
    ///     ctx.has_scope("files:read")
    /// }
    /// ```
    pub fn scopes(&self) -> impl Iterator<Item = &str> {
        let spaced = |name: &str| {
            self.inner
                .claims
                .get(name)
                .and_then(Value::as_str)
                .into_iter()
                .flat_map(|s| s.split(' ').filter(|scope| !scope.is_empty()))
        };
        spaced("scope").chain(spaced("scp")).chain(self.str_list("scp"))
    }

    /// `true` when [`scopes`](Self::scopes) contains `scope` (compared exactly, case matters).
    pub fn has_scope(&self, scope: &str) -> bool {
        self.scopes().any(|s| s == scope)
    }

    /// The `entitlements` claim (WorkOS), empty when absent.
    pub fn entitlements(&self) -> impl Iterator<Item = &str> {
        self.str_list("entitlements")
    }

    /// The `feature_flags` claim (WorkOS), empty when absent.
    pub fn feature_flags(&self) -> impl Iterator<Item = &str> {
        self.str_list("feature_flags")
    }

    /// `true` when [`feature_flags`](Self::feature_flags) contains `flag`.
    pub fn has_feature_flag(&self, flag: &str) -> bool {
        self.feature_flags().any(|f| f == flag)
    }

    /// The user stored in a sealed session cookie (WorkOS AuthKit), `None` for a plain JWT.
    #[cfg(feature = "authkit")]
    /// Its `id` equals [`sub`](Self::sub): the layer refuses the session otherwise.
    pub fn user(&self) -> Option<&SessionUser> {
        self.inner.session.as_ref().map(|s| &s.user)
    }

    /// Who is impersonating the user (WorkOS AuthKit), if anyone.
    #[cfg(feature = "authkit")]
    pub fn impersonator(&self) -> Option<&Impersonator> {
        self.inner.session.as_ref().and_then(|s| s.impersonator.as_ref())
    }

    /// How the user signed in, as a sealed WorkOS session records it (`Password`,
    /// `GoogleOAuth`, `SSO`, …); `None` for a plain JWT or when the session does not say.
    /// Informational: it is not evidence of MFA (WorkOS tokens carry no `amr`).
    #[cfg(feature = "authkit")]
    pub fn authentication_method(&self) -> Option<&str> {
        self.inner.session.as_ref().and_then(|s| s.authentication_method.as_deref())
    }

    /// The sign-in a sealed session of this crate comes from (see `authkit::SIGN_IN_KEY`).
    #[cfg(feature = "revocation")]
    pub(crate) fn sign_in_id(&self) -> Option<&str> {
        #[cfg(feature = "authkit")]
        return self.inner.session.as_ref().and_then(|s| s.sign_in.as_deref());
        #[cfg(not(feature = "authkit"))]
        None
    }

    fn is_impersonated(&self) -> bool {
        #[cfg(feature = "authkit")]
        return self.impersonator().is_some();
        #[cfg(not(feature = "authkit"))]
        false
    }

    /// The authentication methods (`amr`, RFC 8176), or `None` when the token has no `amr`
    /// claim or it is malformed: a claim that is not an array of strings (`"mfa"`,
    /// `["pwd", 5]`) proves no method, so it can never grant MFA. Values are case-sensitive.
    pub fn amr(&self) -> Option<Amr<'_>> {
        match self.inner.claims.get(&self.inner.names.amr) {
            Some(Value::Array(values)) if values.iter().all(Value::is_string) => Some(Amr(values)),
            _ => None,
        }
    }

    /// `true` when the `amr` claim is present but not an array of strings.
    pub fn amr_is_malformed(&self) -> bool {
        self.inner.claims.contains_key(&self.inner.names.amr) && self.amr().is_none()
    }

    /// `true` when `amr` contains `method` exactly (case-sensitive: `"MFA"` is not `"mfa"`).
    ///
    /// ```
    /// # fn check(ctx: &axum_session_mfa::AuthContext) {
    /// if ctx.has_amr("mfa") { /* this session passed multi-factor authentication */ }
    /// # }
    /// ```
    pub fn has_amr(&self, method: &str) -> bool {
        self.amr().is_some_and(|amr| amr.contains(method))
    }

    /// The authentication context class (`acr`), if any.
    pub fn acr(&self) -> Option<&str> {
        self.str_claim(&self.inner.names.acr)
    }

    /// When the user last actively authenticated (`auth_time`, seconds since the epoch).
    pub fn auth_time(&self) -> Option<u64> {
        self.time_claim(&self.inner.names.auth_time)
    }

    /// When the token was issued (`iat`).
    pub fn iat(&self) -> Option<u64> {
        self.time_claim("iat")
    }

    /// When the token expires (`exp`).
    pub fn exp(&self) -> u64 {
        self.inner.exp
    }

    /// The issuer (`iss`), if any.
    pub fn iss(&self) -> Option<&str> {
        self.str_claim("iss")
    }

    /// The time (seconds since the epoch) at which the token was verified. Policies measure
    /// `max_age` from this instant, so one request sees one "now".
    pub fn verified_at(&self) -> u64 {
        self.verified_at
    }

    /// The time since `auth_time`, measured at [`verified_at`](Self::verified_at) (whole
    /// seconds). `None` without `auth_time`; zero when `auth_time` lies in the future.
    pub fn auth_age(&self) -> Option<std::time::Duration> {
        self.auth_time()
            .map(|t| std::time::Duration::from_secs(self.verified_at().saturating_sub(t)))
    }

    /// Any claim, deserialized as `T`. `Ok(None)` when absent, `Err` when it has another shape.
    ///
    /// ```
    /// # fn check(ctx: &axum_session_mfa::AuthContext) -> Result<(), serde_json::Error> {
    /// let flags: Option<Vec<String>> = ctx.claim("feature_flags")?;
    /// # Ok(()) }
    /// ```
    pub fn claim<T: for<'de> Deserialize<'de>>(
        &self,
        name: &str,
    ) -> Result<Option<T>, serde_json::Error> {
        self.inner.claims.get(name).map(T::deserialize).transpose()
    }

    /// All verified claims, as the issuer signed them.
    pub fn claims(&self) -> &Map<String, Value> {
        &self.inner.claims
    }
}

impl fmt::Debug for AuthContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthContext")
            .field("sub", &self.sub())
            .field("sid", &self.sid())
            .field("org_id", &self.org_id())
            .field("amr", &self.amr())
            .field("acr", &self.acr())
            .field("auth_time", &self.auth_time())
            .field("exp", &self.exp())
            .field("impersonated", &self.is_impersonated())
            .finish_non_exhaustive()
    }
}

/// Serializes as an object: `sub`, `sid`, `org_id`, `role`, `roles`, `permissions`,
/// `entitlements`, `feature_flags`, `amr` (array or `null`), `acr`, `auth_time`, `iat`, `exp`,
/// `iss`, `user` and `impersonator` (WorkOS camelCase objects, or `null` for a plain JWT),
/// `authentication_method`, and `claims` (all claims). Session tokens are never serialized.
impl Serialize for AuthContext {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(18))?;
        map.serialize_entry("sub", self.sub())?;
        map.serialize_entry("sid", &self.sid())?;
        map.serialize_entry("org_id", &self.org_id())?;
        map.serialize_entry("role", &self.role())?;
        map.serialize_entry("roles", &self.roles().collect::<Vec<_>>())?;
        map.serialize_entry("permissions", &self.permissions().collect::<Vec<_>>())?;
        map.serialize_entry("entitlements", &self.entitlements().collect::<Vec<_>>())?;
        map.serialize_entry("feature_flags", &self.feature_flags().collect::<Vec<_>>())?;
        map.serialize_entry("amr", &self.amr())?;
        map.serialize_entry("acr", &self.acr())?;
        map.serialize_entry("auth_time", &self.auth_time())?;
        map.serialize_entry("iat", &self.iat())?;
        map.serialize_entry("exp", &self.exp())?;
        map.serialize_entry("iss", &self.iss())?;
        #[cfg(feature = "authkit")]
        {
            map.serialize_entry("user", &self.user())?;
            map.serialize_entry("impersonator", &self.impersonator())?;
            map.serialize_entry("authentication_method", &self.authentication_method())?;
        }
        #[cfg(not(feature = "authkit"))]
        {
            map.serialize_entry("user", &())?;
            map.serialize_entry("impersonator", &())?;
            map.serialize_entry("authentication_method", &())?;
        }
        map.serialize_entry("claims", self.claims())?;
        map.end()
    }
}

/// A borrowed view of a well-formed `amr` claim: a list of case-sensitive method names.
#[derive(Clone, Copy)]
pub struct Amr<'a>(&'a [Value]);

impl<'a> Amr<'a> {
    /// The method names, in token order.
    pub fn iter(&self) -> impl Iterator<Item = &'a str> + 'a {
        self.0.iter().filter_map(Value::as_str)
    }

    /// `true` when `method` is listed (exact, case-sensitive match).
    pub fn contains(&self, method: &str) -> bool {
        self.iter().any(|m| m == method)
    }

    /// Number of methods listed.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// `true` when the claim is an empty array.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Amr<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl Serialize for Amr<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(Some(self.len()))?;
        for m in self.iter() {
            seq.serialize_element(m)?;
        }
        seq.end()
    }
}

/// What [`AuthLayer`](crate::AuthLayer) concluded for one request, stored as a request extension:
/// a verified [`AuthContext`], or the [`AuthError`] that explains why there is none
/// ([`AuthError::MissingToken`] for anonymous requests).
#[derive(Debug, Clone)]
pub struct AuthOutcome(Result<AuthContext, AuthError>);

impl AuthOutcome {
    pub(crate) fn new(result: Result<AuthContext, AuthError>) -> Self {
        Self(result)
    }

    /// The result itself.
    pub fn result(&self) -> Result<&AuthContext, &AuthError> {
        self.0.as_ref()
    }

    /// The context, when the request is authenticated.
    pub fn context(&self) -> Option<&AuthContext> {
        self.0.as_ref().ok()
    }

    /// The failure, when it is not.
    pub fn error(&self) -> Option<&AuthError> {
        self.0.as_ref().err()
    }
}
