//! Every extractor of the crate: [`AuthOutcome`], [`AuthContext`], `Option<AuthContext>` and
//! [`Mfa<P>`], the MFA check as a handler argument.
//!
//! **Guard or extractor?** Use [`RequireMfa`](crate::RequireMfa) to protect a group of routes in
//! one place. Use `Mfa<P>` when the requirement belongs to the handler itself: the signature
//! documents it, and moving the handler to another router cannot drop the check. Both evaluate
//! the same [`MfaPolicy`], emit the same audit event and answer with the same [`Rejection`],
//! shaped by the layer's settings (redirects, status, `on_reject`).

use std::fmt;
use std::marker::PhantomData;
use std::ops::Deref;
use std::sync::{Arc, LazyLock};

use axum::extract::{FromRequestParts, OptionalFromRequestParts};
use http::request::Parts;

use crate::audit::RequestInfo;
use crate::guard::decide;
use crate::reject::{RejectionKind, reject_request};
use crate::{AuthContext, AuthOutcome, MfaPolicy, Rejection};

fn reject(parts: &Parts, kind: RejectionKind) -> Rejection {
    reject_request(kind, &parts.method, &parts.uri, &parts.headers, &parts.extensions)
}

fn outcome(parts: &Parts) -> Result<&AuthOutcome, Rejection> {
    parts.extensions.get::<AuthOutcome>().ok_or_else(|| reject(parts, RejectionKind::LayerMissing))
}

/// Extracts the outcome itself, for handlers that want the precise reason. Fails (500) only when
/// [`AuthLayer`](crate::AuthLayer) is not installed in front of the route.
impl<S: Send + Sync> FromRequestParts<S> for AuthOutcome {
    type Rejection = Rejection;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        outcome(parts).cloned()
    }
}

/// Requires an authenticated session: 401 (with the recorded reason) when there is none, 503
/// when the keys were unavailable; a browser goes to the layer's sign-in page when one is set.
/// A refusal is audited like [`RequireAuth`](crate::RequireAuth)'s; a pass is not, since the
/// handler usually sits behind a guard that already recorded the decision (one event per
/// request, not two).
impl<S: Send + Sync> FromRequestParts<S> for AuthContext {
    type Rejection = Rejection;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        if let Some(ctx) = parts.extensions.get::<AuthOutcome>().and_then(AuthOutcome::context) {
            return Ok(ctx.clone());
        }
        let info = RequestInfo::new(&parts.method, &parts.uri, &parts.extensions);
        let outcome = parts.extensions.get::<AuthOutcome>();
        decide(&info, outcome, None).map_err(|kind| reject(parts, kind))
    }
}

/// `Option<AuthContext>`: `None` for any request without a valid session (anonymous, stale or
/// invalid token, keys unavailable), so public pages keep working with a stale cookie. Handlers
/// that need to tell those cases apart take [`AuthOutcome`].
impl<S: Send + Sync> OptionalFromRequestParts<S> for AuthContext {
    type Rejection = Rejection;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Option<Self>, Self::Rejection> {
        Ok(outcome(parts)?.context().cloned())
    }
}

/// A policy known by its type, for [`Mfa<P>`]. Build it once (a `static` `LazyLock`).
///
/// ```
/// use std::sync::{Arc, LazyLock};
/// use std::time::Duration;
/// use axum_session_mfa::{Mfa, MfaPolicy, NamedPolicy};
///
/// struct RecentMfa;
/// impl NamedPolicy for RecentMfa {
///     fn policy() -> &'static Arc<MfaPolicy> {
///         static POLICY: LazyLock<Arc<MfaPolicy>> = LazyLock::new(|| {
///             let recent = MfaPolicy::builder().name("recent-mfa").max_age(Duration::from_secs(300));
///             Arc::new(recent.build())
///         });
///         &POLICY
///     }
/// }
///
/// async fn rotate_keys(session: Mfa<RecentMfa>) -> String {
///     format!("rotated by {}", session.sub())
/// }
/// # let _: axum::Router = axum::Router::new().route("/keys", axum::routing::post(rotate_keys));
/// ```
pub trait NamedPolicy: Send + Sync + 'static {
    /// The policy.
    fn policy() -> &'static Arc<MfaPolicy>;
}

/// The default policy ([`MfaPolicy::new`]: `amr` contains `"mfa"`).
#[derive(Debug, Clone, Copy)]
pub struct DefaultMfa;

impl NamedPolicy for DefaultMfa {
    fn policy() -> &'static Arc<MfaPolicy> {
        static POLICY: LazyLock<Arc<MfaPolicy>> = LazyLock::new(|| Arc::new(MfaPolicy::new()));
        &POLICY
    }
}

/// An [`AuthContext`] that satisfies the policy `P` (by default: `amr` contains `"mfa"`).
/// Rejects like [`RequireMfa`](crate::RequireMfa): 401 without a valid session, 403 with the
/// RFC 9470 challenge when the policy is not met, or the layer's browser redirects.
///
/// ```
/// use axum_session_mfa::Mfa;
/// async fn delete_org(session: Mfa) -> String {
///     format!("deleted by {} in session {:?}", session.sub(), session.sid())
/// }
/// # let _: axum::Router = axum::Router::new().route("/org", axum::routing::delete(delete_org));
/// ```
pub struct Mfa<P: NamedPolicy = DefaultMfa> {
    context: AuthContext,
    policy: PhantomData<fn() -> P>,
}

impl<P: NamedPolicy> Mfa<P> {
    /// The verified session.
    pub fn into_inner(self) -> AuthContext {
        self.context
    }
}

impl<P: NamedPolicy> Deref for Mfa<P> {
    type Target = AuthContext;

    fn deref(&self) -> &AuthContext {
        &self.context
    }
}

impl<P: NamedPolicy> Clone for Mfa<P> {
    fn clone(&self) -> Self {
        Self { context: self.context.clone(), policy: PhantomData }
    }
}

impl<P: NamedPolicy> fmt::Debug for Mfa<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Mfa").field(&self.context).finish()
    }
}

impl<S: Send + Sync, P: NamedPolicy> FromRequestParts<S> for Mfa<P> {
    type Rejection = Rejection;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let info = RequestInfo::new(&parts.method, &parts.uri, &parts.extensions);
        let outcome = parts.extensions.get::<AuthOutcome>();
        let context =
            decide(&info, outcome, Some(P::policy())).map_err(|kind| reject(parts, kind))?;
        Ok(Self { context, policy: PhantomData })
    }
}
