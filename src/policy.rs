//! [`MfaPolicy`]: what a session must have proven to pass a guard.
//!
//! A policy is a value: build it once ([`MfaPolicy::builder`]), share it across routes. Evaluation on the pass path
//! allocates nothing.
//!
//! A session passes when:
//! 0. it grants every [scope](MfaPolicyBuilder::scopes) the policy asks (`scope` / `scp`
//!    claims; none by default); and
//! 1. its **strength** is proven: `amr` satisfies the accepted methods (any-of, the default
//!    `["mfa"]`, or all-of), **or** its `acr` is one of the accepted `acr` values (RFC 9470:
//!    any one suffices); and
//! 2. when [`max_age`](MfaPolicyBuilder::max_age) is set, `auth_time` is present and no older than
//!    `max_age` seconds (exactly at the limit passes; an `auth_time` more than
//!    [`FUTURE_AUTH_TIME_SKEW`] in the future fails); and
//! 3. every custom rule added with [`require`](MfaPolicyBuilder::require) returns `true`.
//!
//! An empty method list is never satisfied (`all_of([])` does not mean "anything goes").
//! A failed custom rule is not something a step-up can fix, so it is answered with a plain 403
//! (no RFC 9470 challenge, no step-up redirect); see [`DenyRule::step_up_helps`]. A missing
//! scope is not either: it is answered 403 with the RFC 6750 challenge
//! `error="insufficient_scope"` and the `scope` the client must ask for when it authorizes
//! again (what MCP clients do).

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::AuthContext;

/// How far in the future an `auth_time` may lie (clock skew) before a `max_age` rule refuses it.
pub const FUTURE_AUTH_TIME_SKEW: std::time::Duration = std::time::Duration::from_secs(60);

type Predicate = Arc<dyn Fn(&AuthContext) -> bool + Send + Sync>;

/// Whether all or any of the accepted methods must appear in `amr`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MethodMatch {
    /// At least one of the methods.
    AnyOf,
    /// Every one of the methods.
    AllOf,
}

/// The step-up requirements of a guarded route. Build one with [`MfaPolicy::builder`]; read it
/// back with the getters of the same names.
///
/// ```
/// use std::time::Duration;
/// use axum_session_mfa::MfaPolicy;
///
/// // amr contains "mfa", or the IdP says acr "phr" (phishing-resistant), within 5 minutes.
/// let policy = MfaPolicy::builder()
///     .name("admin-recent")
///     .acr_values(["phr"])
///     .max_age(Duration::from_secs(300))
///     .build();
/// assert_eq!(policy.name(), "admin-recent");
/// assert_eq!(policy.max_age(), Some(Duration::from_secs(300)));
/// ```
#[derive(Clone)]
pub struct MfaPolicy {
    name: Cow<'static, str>,
    methods: Vec<String>,
    matching: MethodMatch,
    acr_values: Vec<String>,
    max_age: Option<u64>,
    rules: Vec<(Cow<'static, str>, Predicate)>,
    /// Scopes the token must grant, all of them.
    scopes: Vec<String>,
    /// `false` only for the re-authentication policy of
    /// [`RequireRecentAuth`](crate::RequireRecentAuth), which asks no method at all.
    strength: bool,
}

/// Builds an [`MfaPolicy`]; see [`MfaPolicy::builder`].
#[derive(Clone, Debug)]
#[must_use]
pub struct MfaPolicyBuilder(MfaPolicy);

impl Default for MfaPolicy {
    fn default() -> Self {
        Self::new()
    }
}

impl MfaPolicy {
    /// The default policy, named `mfa`: `amr` must contain `"mfa"`.
    pub fn new() -> Self {
        Self {
            name: Cow::Borrowed("mfa"),
            methods: vec!["mfa".to_owned()],
            matching: MethodMatch::AnyOf,
            acr_values: Vec::new(),
            max_age: None,
            rules: Vec::new(),
            scopes: Vec::new(),
            strength: true,
        }
    }

    /// The re-authentication ("sudo mode") policy, named `recent-auth`: `auth_time` within
    /// `max_age`, no method required. Not an MFA policy: it works with providers that send
    /// `auth_time` but no `amr` (WorkOS). [`RequireRecentAuth`](crate::RequireRecentAuth)
    /// guards a route with it; take it as a value to guard something else (an MCP tool).
    ///
    /// ```
    /// use std::time::Duration;
    /// use axum_session_mfa::MfaPolicy;
    /// let sudo = MfaPolicy::recent_auth(Duration::from_secs(300));
    /// assert_eq!((sudo.name(), sudo.max_age()), ("recent-auth", Some(Duration::from_secs(300))));
    /// ```
    pub fn recent_auth(max_age: Duration) -> Self {
        Self {
            name: Cow::Borrowed("recent-auth"),
            methods: Vec::new(),
            max_age: Some(max_age.as_secs()),
            strength: false,
            ..Self::new()
        }
    }

    /// The policy, named `scope`, that asks only for OAuth scopes: the token must grant every
    /// one of `scopes` (see [`AuthContext::scopes`]); no MFA. A token that lacks one gets 403
    /// `insufficient_scope`. [`RequireScope`](crate::RequireScope) guards a route with it; to
    /// ask for MFA too, use [`MfaPolicyBuilder::scopes`].
    ///
    /// ```
    /// use axum_session_mfa::MfaPolicy;
    /// let read = MfaPolicy::scopes_only(["files:read"]);
    /// assert_eq!(read.scopes(), ["files:read"]);
    /// assert!(read.methods().is_empty());
    /// ```
    pub fn scopes_only<I, S>(scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Self {
            name: Cow::Borrowed("scope"),
            methods: Vec::new(),
            scopes: scopes.into_iter().map(Into::into).collect(),
            strength: false,
            ..Self::new()
        }
    }

    /// Starts from the default policy ([`MfaPolicy::new`]) and changes it.
    pub fn builder() -> MfaPolicyBuilder {
        MfaPolicyBuilder(Self::new())
    }

    /// The policy's name (audit events and problem bodies carry it).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The accepted `amr` methods.
    pub fn methods(&self) -> &[String] {
        &self.methods
    }

    /// Whether any or all of [`methods`](Self::methods) must appear in `amr`.
    pub fn method_match(&self) -> MethodMatch {
        self.matching
    }

    /// The accepted `acr` values.
    pub fn acr_values(&self) -> &[String] {
        &self.acr_values
    }

    /// The maximum age of `auth_time` (whole seconds), if set.
    pub fn max_age(&self) -> Option<Duration> {
        self.max_age.map(Duration::from_secs)
    }

    /// The scopes a token must grant (all of them).
    pub fn scopes(&self) -> &[String] {
        &self.scopes
    }

    /// The names of the custom rules, in the order they run.
    pub fn rules(&self) -> impl Iterator<Item = &str> {
        self.rules.iter().map(|(name, _)| name.as_ref())
    }

    /// Decides whether `ctx` satisfies this policy.
    pub fn evaluate(&self, ctx: &AuthContext) -> Result<(), DenyRule> {
        if self.scopes.iter().any(|scope| !ctx.has_scope(scope)) {
            return Err(DenyRule::ScopesMissing);
        }
        if !self.strength_proven(ctx) {
            return Err(if ctx.amr_is_malformed() {
                DenyRule::AmrMalformed
            } else if ctx.amr().is_none() {
                DenyRule::AmrAbsent
            } else {
                DenyRule::MethodsMissing
            });
        }
        if let Some(max_age) = self.max_age {
            let auth_time = ctx.auth_time().ok_or(DenyRule::AuthTimeMissing)?;
            if auth_time > ctx.verified_at().saturating_add(FUTURE_AUTH_TIME_SKEW.as_secs()) {
                return Err(DenyRule::AuthTimeInFuture);
            }
            let age = ctx.verified_at().saturating_sub(auth_time);
            if age > max_age {
                return Err(DenyRule::TooOld { age, max_age });
            }
        }
        if let Some((rule, _)) = self.rules.iter().find(|(_, predicate)| !predicate(ctx)) {
            return Err(DenyRule::Custom(rule.clone()));
        }
        Ok(())
    }

    /// The required scopes the token does not grant.
    pub fn missing_scopes<'a>(&'a self, ctx: &AuthContext) -> Vec<&'a str> {
        self.scopes.iter().filter(|s| !ctx.has_scope(s)).map(String::as_str).collect()
    }

    /// The accepted methods the session's `amr` lacks (all of them when `amr` is absent).
    pub fn missing_methods<'a>(&'a self, ctx: &AuthContext) -> Vec<&'a str> {
        let amr = ctx.amr();
        self.methods
            .iter()
            .filter(|m| !amr.is_some_and(|a| a.contains(m)))
            .map(String::as_str)
            .collect()
    }

    fn strength_proven(&self, ctx: &AuthContext) -> bool {
        if !self.strength {
            return true;
        }
        let by_acr = ctx.acr().is_some_and(|acr| self.acr_values.iter().any(|v| v == acr));
        let by_amr = ctx.amr().is_some_and(|amr| match self.matching {
            MethodMatch::AnyOf => self.methods.iter().any(|m| amr.contains(m)),
            MethodMatch::AllOf => {
                !self.methods.is_empty() && self.methods.iter().all(|m| amr.contains(m))
            }
        });
        by_acr || by_amr
    }
}

impl MfaPolicyBuilder {
    /// Names the policy (audit events and problem bodies carry the name).
    pub fn name(mut self, name: impl Into<Cow<'static, str>>) -> Self {
        self.0.name = name.into();
        self
    }

    /// Accepts a session whose `amr` lists **any** of `methods` (e.g. `["mfa", "hwk", "swk"]`
    /// to also accept passkeys). Replaces the default `["mfa"]`.
    ///
    /// ```
    /// use axum_session_mfa::{MethodMatch, MfaPolicy};
    /// let passkeys_too = MfaPolicy::builder().any_of(["mfa", "hwk", "swk"]).build();
    /// assert_eq!(passkeys_too.method_match(), MethodMatch::AnyOf);
    /// ```
    pub fn any_of<I, M>(mut self, methods: I) -> Self
    where
        I: IntoIterator<Item = M>,
        M: Into<String>,
    {
        self.0.methods = methods.into_iter().map(Into::into).collect();
        self.0.matching = MethodMatch::AnyOf;
        self
    }

    /// Accepts a session whose `amr` lists **all** of `methods` (e.g. `["pwd", "otp"]`).
    /// Replaces the default `["mfa"]`.
    ///
    /// ```
    /// use axum_session_mfa::MfaPolicy;
    /// let password_and_otp = MfaPolicy::builder().name("pwd+otp").all_of(["pwd", "otp"]).build();
    /// ```
    pub fn all_of<I, M>(mut self, methods: I) -> Self
    where
        I: IntoIterator<Item = M>,
        M: Into<String>,
    {
        self.0.methods = methods.into_iter().map(Into::into).collect();
        self.0.matching = MethodMatch::AllOf;
        self
    }

    /// Also accepts a session whose `acr` is one of `values`, whatever its `amr` (RFC 9470:
    /// any one suffices). The values are advertised in the 403 challenge's `acr_values`.
    ///
    /// ```
    /// use axum_session_mfa::MfaPolicy;
    /// let policy = MfaPolicy::builder().acr_values(["phr", "urn:okta:loa:2fa:any"]).build();
    /// assert_eq!(policy.acr_values(), ["phr", "urn:okta:loa:2fa:any"]);
    /// ```
    pub fn acr_values<I, V>(mut self, values: I) -> Self
    where
        I: IntoIterator<Item = V>,
        V: Into<String>,
    {
        self.0.acr_values = values.into_iter().map(Into::into).collect();
        self
    }

    /// Requires `auth_time` no older than `max_age` (whole seconds). A token without
    /// `auth_time` then fails. The limit is advertised in the 403 challenge's `max_age`.
    ///
    /// ```
    /// use std::time::Duration;
    /// use axum_session_mfa::MfaPolicy;
    /// let recent = MfaPolicy::builder().max_age(Duration::from_secs(300)).build();
    /// assert_eq!(recent.max_age(), Some(Duration::from_secs(300)));
    /// ```
    pub fn max_age(mut self, max_age: Duration) -> Self {
        self.0.max_age = Some(max_age.as_secs());
        self
    }

    /// Also requires the token to grant every one of `scopes` (the `scope` or `scp` claim; see
    /// [`AuthContext::scopes`](crate::AuthContext::scopes)). Scopes are checked first: a
    /// token without them gets 403 `insufficient_scope` with the RFC 6750 `scope` parameter,
    /// whatever its MFA. Accumulates.
    ///
    /// ```
    /// use axum_session_mfa::MfaPolicy;
    /// let admin = MfaPolicy::builder().name("admin").scopes(["admin"]).build();
    /// assert_eq!(admin.scopes(), ["admin"]);
    /// assert_eq!(admin.methods(), ["mfa"]);
    /// ```
    pub fn scopes<I, S>(mut self, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.0.scopes.extend(scopes.into_iter().map(Into::into));
        self
    }

    /// Adds a custom rule, named for audit events: the session passes only if it returns `true`.
    /// Rules accumulate; they run in order after the MFA checks and the first that fails is
    /// reported. A failing rule is a plain 403 (stepping up cannot fix "not an admin").
    ///
    /// ```
    /// use axum_session_mfa::MfaPolicy;
    /// let policy = MfaPolicy::builder().require("admin_role", |ctx| ctx.has_role("admin")).build();
    /// ```
    pub fn require<F>(mut self, rule: impl Into<Cow<'static, str>>, predicate: F) -> Self
    where
        F: Fn(&AuthContext) -> bool + Send + Sync + 'static,
    {
        self.0.rules.push((rule.into(), Arc::new(predicate)));
        self
    }

    /// The policy.
    #[must_use]
    pub fn build(self) -> MfaPolicy {
        self.0
    }
}

impl fmt::Debug for MfaPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MfaPolicy")
            .field("name", &self.name)
            .field("methods", &self.methods)
            .field("matching", &self.matching)
            .field("acr_values", &self.acr_values)
            .field("max_age", &self.max_age)
            .field("scopes", &self.scopes)
            .field("rules", &self.rules.iter().map(|(name, _)| name).collect::<Vec<_>>())
            .finish()
    }
}

/// The rule of a policy that a session failed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DenyRule {
    /// The token does not grant every scope the policy asks for.
    ScopesMissing,
    /// The token has no `amr` claim (and no accepted `acr`).
    AmrAbsent,
    /// The `amr` claim is not an array of strings; it proves nothing.
    AmrMalformed,
    /// `amr` lacks the required methods (and `acr` is not accepted).
    MethodsMissing,
    /// A `max_age` rule applies and the token has no `auth_time`.
    AuthTimeMissing,
    /// `auth_time` lies further in the future than the allowed skew.
    AuthTimeInFuture,
    /// The last authentication is older than `max_age`.
    TooOld {
        /// Seconds since `auth_time`.
        age: u64,
        /// The policy's limit in seconds.
        max_age: u64,
    },
    /// The custom rule with this name returned `false`.
    Custom(Cow<'static, str>),
}

impl DenyRule {
    /// `true` when a fresh, stronger authentication could satisfy the policy: every rule but
    /// [`DenyRule::Custom`] and [`DenyRule::ScopesMissing`] (the client must ask for the scope
    /// when it authorizes again, RFC 6750 `insufficient_scope`). Only those get the RFC 9470
    /// challenge and the step-up redirect.
    pub fn step_up_helps(&self) -> bool {
        !matches!(self, Self::Custom(_) | Self::ScopesMissing)
    }

    /// `true` for the rules about when the session authenticated (`auth_time`): a fresh
    /// sign-in satisfies them with any provider.
    pub fn is_recency(&self) -> bool {
        matches!(self, Self::AuthTimeMissing | Self::AuthTimeInFuture | Self::TooOld { .. })
    }

    /// A stable snake_case code for logs and problem bodies.
    pub fn code(&self) -> &'static str {
        match self {
            Self::ScopesMissing => "scopes_missing",
            Self::AmrAbsent => "amr_absent",
            Self::AmrMalformed => "amr_malformed",
            Self::MethodsMissing => "methods_missing",
            Self::AuthTimeMissing => "auth_time_missing",
            Self::AuthTimeInFuture => "auth_time_in_future",
            Self::TooOld { .. } => "auth_too_old",
            Self::Custom(_) => "custom_rule",
        }
    }
}

impl fmt::Display for DenyRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::ScopesMissing => f.write_str("the token does not grant the required scopes"),
            Self::AmrAbsent => {
                f.write_str("the session does not say how it authenticated (no amr claim)")
            }
            Self::AmrMalformed => f.write_str("the session's amr claim is malformed"),
            Self::MethodsMissing => {
                f.write_str("the session did not use the required authentication methods")
            }
            Self::AuthTimeMissing => f.write_str("the session does not say when it authenticated"),
            Self::AuthTimeInFuture => f.write_str("the session's auth_time lies in the future"),
            Self::TooOld { age, max_age } => write!(
                f,
                "the last authentication was {age} seconds ago; at most {max_age} are allowed"
            ),
            Self::Custom(rule) => write!(f, "the session does not satisfy the rule {rule}"),
        }
    }
}
