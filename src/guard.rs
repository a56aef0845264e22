//! Route guards: [`RequireMfa`] (a valid session that meets an [`MfaPolicy`]),
//! [`RequireRecentAuth`] (a recent active sign-in, "sudo mode"), [`RequireScope`] (a token that
//! grants OAuth scopes) and [`RequireAuth`] (any valid session). Install them with `route_layer` behind an
//! [`AuthLayer`](crate::AuthLayer); the layer's settings shape their rejections.
//!
//! Each decision emits one audit event (see [`audit`](crate::audit)).
//!
//! # CORS
//! Browsers send CORS preflights (`OPTIONS` with `Access-Control-Request-Method`) without
//! credentials, so a guard answers them 401. Put your CORS layer **outside** the guards and the
//! auth layer (`.layer(cors)` last), so it answers preflights before they reach a guard:
//!
//! ```text
//! Router::new()
//!     .route("/admin", post(handler))
//!     .route_layer(RequireMfa::new())
//!     .layer(auth)        // AuthLayer
//!     .layer(cors)        // tower_http::cors::CorsLayer: outermost
//! ```
//!
//! Where that is not possible, [`RequireMfa::allow_cors_preflight`] makes the guard answer
//! preflights itself with `204 No Content` and no body; the handler never runs without a
//! session.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::response::{IntoResponse, Response};
use http::header::ACCESS_CONTROL_REQUEST_METHOD;
use http::{Method, Request, StatusCode};
use pin_project_lite::pin_project;
use tower_layer::Layer;
use tower_service::Service;

use crate::audit::{self, RequestInfo};
use crate::reject::{Denial, RejectionKind, reject_request};
use crate::{AuthContext, AuthOutcome, MfaPolicy};

/// Requires a valid session that passed MFA: 401 without a valid session, 403 when the
/// [`MfaPolicy`] is not met (by default: `amr` lacks `"mfa"`).
///
/// ```
/// use std::time::Duration;
/// use axum::{Router, routing::get};
/// use axum_session_mfa::{MfaPolicy, RequireMfa};
///
/// let recent = MfaPolicy::builder().name("recent-mfa").max_age(Duration::from_secs(300));
/// let admin: Router = Router::new()
///     .route("/admin", get(|| async { "ok" }))
///     .route_layer(RequireMfa::new())
///     .route("/admin/recent", get(|| async { "ok" }).route_layer(RequireMfa::with_policy(recent.build())));
/// ```
#[derive(Debug, Clone)]
#[must_use]
pub struct RequireMfa {
    policy: Arc<MfaPolicy>,
    allow_preflight: bool,
}

impl Default for RequireMfa {
    fn default() -> Self {
        Self::new()
    }
}

impl RequireMfa {
    /// Guards with the default policy: `amr` must contain `"mfa"`.
    pub fn new() -> Self {
        Self::with_policy(MfaPolicy::new())
    }

    /// Guards with `policy`.
    pub fn with_policy(policy: MfaPolicy) -> Self {
        Self { policy: Arc::new(policy), allow_preflight: false }
    }

    /// Answers CORS preflights (`OPTIONS` with `Access-Control-Request-Method`) with
    /// `204 No Content` and no body instead of 401; the guarded service is never called for
    /// them. This serves one setup: the CORS headers are added to responses by something
    /// outside the application (a reverse proxy, or a layer that only decorates responses) and
    /// the preflight just needs a 2xx. Otherwise put a CORS layer outside the guards and the
    /// auth layer (`.layer(cors)` last, e.g. `tower_http::cors::CorsLayer`): it answers
    /// preflights with the CORS headers before they reach a guard, and this option is not
    /// needed.
    ///
    /// ```
    /// let guard = axum_session_mfa::RequireMfa::new().allow_cors_preflight();
    /// ```
    pub fn allow_cors_preflight(mut self) -> Self {
        self.allow_preflight = true;
        self
    }

    /// The policy this guard enforces.
    pub fn policy(&self) -> &MfaPolicy {
        &self.policy
    }
}

/// Requires a recent **active sign-in**: a valid session whose `auth_time` is at most `max_age`
/// old. This is re-authentication ("sudo mode": re-enter your password before changing the
/// billing email), **not MFA**: it asks for no `amr` method, so it works with providers that
/// send `auth_time` but no `amr`, such as WorkOS AuthKit.
///
/// Sessions that authenticated too long ago (or whose token has no `auth_time`) get 403 with
/// the RFC 9470 challenge `insufficient_user_authentication` and `max_age`; browsers are sent to
/// the layer's step-up URL with `max_age`, which the crate's sign-in route passes to the
/// provider so it re-authenticates the user ([`lifecycle`](crate::lifecycle)). Audit events name
/// the policy `recent-auth`.
///
/// ```
/// use std::time::Duration;
/// use axum::{Router, routing::post};
/// use axum_session_mfa::RequireRecentAuth;
///
/// let billing: Router = Router::new()
///     .route("/billing/email", post(|| async { "changed" }))
///     .route_layer(RequireRecentAuth::within(Duration::from_secs(300)));
/// ```
#[derive(Debug, Clone)]
#[must_use]
pub struct RequireRecentAuth {
    policy: Arc<MfaPolicy>,
    allow_preflight: bool,
}

impl RequireRecentAuth {
    /// Requires an active sign-in within `max_age` (whole seconds).
    pub fn within(max_age: Duration) -> Self {
        Self { policy: Arc::new(MfaPolicy::recent_auth(max_age)), allow_preflight: false }
    }

    /// See [`RequireMfa::allow_cors_preflight`].
    pub fn allow_cors_preflight(mut self) -> Self {
        self.allow_preflight = true;
        self
    }

    /// The longest time since the last active sign-in this guard accepts.
    pub fn max_age(&self) -> Duration {
        self.policy.max_age().unwrap_or_default()
    }
}

impl<S> Layer<S> for RequireRecentAuth {
    type Service = Guard<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Guard { inner, policy: Some(self.policy.clone()), allow_preflight: self.allow_preflight }
    }
}

/// Requires a valid token that grants every one of the given OAuth scopes (the `scope` claim,
/// space separated, or an `scp` array as Entra ID and Okta send it): 401 without a valid
/// token, 403 `insufficient_scope` with `WWW-Authenticate: Bearer error="insufficient_scope",
/// scope="..."` (RFC 6750) when a scope is missing, so an OAuth client (an MCP client, say)
/// can authorize again asking for it. No MFA rule: to ask for both, give
/// [`RequireMfa::with_policy`] a policy built with [`MfaPolicyBuilder::scopes`](crate::MfaPolicyBuilder::scopes).
/// Audit events name the policy `scope`.
///
/// ```
/// use axum::{Router, routing::get};
/// use axum_session_mfa::RequireScope;
///
/// let files: Router = Router::new()
///     .route("/files", get(|| async { "a.txt" }))
///     .route_layer(RequireScope::new(["files:read"]));
/// ```
#[derive(Debug, Clone)]
#[must_use]
pub struct RequireScope {
    policy: Arc<MfaPolicy>,
    allow_preflight: bool,
}

impl RequireScope {
    /// Requires every one of `scopes`.
    pub fn new<I, S>(scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Self { policy: Arc::new(MfaPolicy::scopes_only(scopes)), allow_preflight: false }
    }

    /// See [`RequireMfa::allow_cors_preflight`].
    pub fn allow_cors_preflight(mut self) -> Self {
        self.allow_preflight = true;
        self
    }

    /// The scopes this guard requires.
    pub fn scopes(&self) -> &[String] {
        self.policy.scopes()
    }
}

impl<S> Layer<S> for RequireScope {
    type Service = Guard<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Guard { inner, policy: Some(self.policy.clone()), allow_preflight: self.allow_preflight }
    }
}

/// Requires any valid session: 401 without one. No MFA rule.
#[derive(Debug, Clone, Default)]
#[must_use]
pub struct RequireAuth {
    allow_preflight: bool,
}

impl RequireAuth {
    /// A guard that requires a valid session.
    pub fn new() -> Self {
        Self::default()
    }

    /// See [`RequireMfa::allow_cors_preflight`].
    pub fn allow_cors_preflight(mut self) -> Self {
        self.allow_preflight = true;
        self
    }
}

impl<S> Layer<S> for RequireMfa {
    type Service = Guard<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Guard { inner, policy: Some(self.policy.clone()), allow_preflight: self.allow_preflight }
    }
}

impl<S> Layer<S> for RequireAuth {
    type Service = Guard<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Guard { inner, policy: None, allow_preflight: self.allow_preflight }
    }
}

/// The service produced by [`RequireMfa`], [`RequireRecentAuth`], [`RequireScope`] and
/// [`RequireAuth`].
#[derive(Debug, Clone)]
pub struct Guard<S> {
    inner: S,
    policy: Option<Arc<MfaPolicy>>,
    allow_preflight: bool,
}

impl<S> Guard<S> {
    /// The guarded service.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// The guarded service, mutably.
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.inner
    }

    /// Unwraps the guarded service.
    pub fn into_inner(self) -> S {
        self.inner
    }
}

/// Evaluates `policy` (or "any valid session" when `None`) against a request's outcome, with
/// one audit event for the decision.
pub(crate) fn decide(
    info: &RequestInfo<'_>,
    outcome: Option<&AuthOutcome>,
    policy: Option<&Arc<MfaPolicy>>,
) -> Result<AuthContext, RejectionKind> {
    let policy_name = policy.map_or("authenticated", |p| p.name());
    let Some(outcome) = outcome else {
        audit::guard_decision(info, policy_name, None, Some("auth_layer_missing"));
        return Err(RejectionKind::LayerMissing);
    };
    let ctx = match outcome.result() {
        Ok(ctx) => ctx,
        Err(e) => {
            audit::guard_decision(info, policy_name, None, Some(e.code()));
            return Err(RejectionKind::Unauthenticated(e.clone()));
        }
    };
    if let Some(policy) = policy
        && let Err(rule) = policy.evaluate(ctx)
    {
        audit::guard_decision(info, policy_name, Some(ctx), Some(rule.code()));
        let missing_methods = policy.missing_methods(ctx).into_iter().map(str::to_owned).collect();
        let missing_scopes = policy.missing_scopes(ctx).into_iter().map(str::to_owned).collect();
        return Err(RejectionKind::InsufficientAuthentication(Denial {
            policy: policy.clone(),
            rule,
            missing_methods,
            missing_scopes,
            status: StatusCode::FORBIDDEN,
        }));
    }
    audit::guard_decision(info, policy_name, Some(ctx), None);
    Ok(ctx.clone())
}

fn is_cors_preflight<B>(req: &Request<B>) -> bool {
    req.method() == Method::OPTIONS && req.headers().contains_key(ACCESS_CONTROL_REQUEST_METHOD)
}

impl<S> Guard<S> {
    /// Decides one request: `None` lets it through, `Some` is the response.
    fn check<B>(&self, req: &Request<B>) -> Option<Response> {
        if self.allow_preflight && is_cors_preflight(req) {
            return Some(StatusCode::NO_CONTENT.into_response());
        }
        let info = RequestInfo::new(req.method(), req.uri(), req.extensions());
        let outcome = req.extensions().get::<AuthOutcome>();
        let kind = decide(&info, outcome, self.policy.as_ref()).err()?;
        let rejection =
            reject_request(kind, req.method(), req.uri(), req.headers(), req.extensions());
        Some(rejection.into_response())
    }
}

impl<S, B> Service<Request<B>> for Guard<S>
where
    S: Service<Request<B>, Response = Response>,
{
    type Response = Response;
    type Error = S::Error;
    type Future = GuardFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        let state = match self.check(&req) {
            None => State::Inner { future: self.inner.call(req) },
            Some(response) => State::Rejected { response: Some(response) },
        };
        GuardFuture { state }
    }
}

pin_project! {
    /// The future of [`Guard`]: the inner service's, or an immediate rejection.
    pub struct GuardFuture<F> {
        #[pin]
        state: State<F>,
    }
}

pin_project! {
    #[project = StateProj]
    enum State<F> {
        Inner { #[pin] future: F },
        Rejected { response: Option<Response> },
    }
}

impl<F, E> Future for GuardFuture<F>
where
    F: Future<Output = Result<Response, E>>,
{
    type Output = Result<Response, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().state.project() {
            StateProj::Inner { future } => future.poll(cx),
            StateProj::Rejected { response } => {
                Poll::Ready(Ok(response.take().expect("future polled after completion")))
            }
        }
    }
}
