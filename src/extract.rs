//! [`Mfa<P>`]: the MFA check as a handler argument, so a handler cannot forget it.
//!
//! **Layer or extractor?** Use [`RequireMfa`](crate::RequireMfa) to protect a whole group of
//! routes in one place, and when you want browser step-up redirects or a custom rejection
//! response. Use `Mfa<P>` when the requirement belongs to the handler itself: the signature
//! documents it, and moving the handler to another router cannot drop the check. Both evaluate
//! the same [`MfaPolicy`] and emit the same audit event.

use std::fmt;
use std::marker::PhantomData;
use std::ops::Deref;
use std::sync::{Arc, LazyLock};

use axum::extract::FromRequestParts;
use http::StatusCode;
use http::request::Parts;

use crate::audit::RequestInfo;
use crate::guard::decide;
use crate::{AuthContext, AuthOutcome, MfaPolicy, Rejection};

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
///             Arc::new(MfaPolicy::new().named("recent-mfa").max_age(Duration::from_secs(300)))
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

    /// The status of a step-up denial: 403 by default; override with 401 for strict RFC 9470
    /// clients (as [`RequireMfa::unauthorized_on_step_up`](crate::RequireMfa::unauthorized_on_step_up)).
    fn step_up_status() -> StatusCode {
        StatusCode::FORBIDDEN
    }
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
/// RFC 9470 challenge when the policy is not met.
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
        let context = decide(&info, outcome, Some(P::policy()), P::step_up_status())?;
        Ok(Self { context, policy: PhantomData })
    }
}
