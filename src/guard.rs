//! Route guards: [`RequireMfa`] (a valid session that meets an [`MfaPolicy`]) and
//! [`RequireAuth`] (any valid session). Install them with `route_layer` behind an
//! [`AuthLayer`](crate::AuthLayer).
//!
//! Each decision emits one audit event (see [`audit`](crate::audit)).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::response::{IntoResponse, Response};
use http::{Request, StatusCode};
use pin_project_lite::pin_project;
use tower_layer::Layer;
use tower_service::Service;

use crate::audit;
use crate::layer::request_info;
use crate::reject::Denial;
use crate::{AuthOutcome, MfaPolicy, Rejection};

/// Requires a valid session that passed MFA: 401 without a valid session, 403 when the
/// [`MfaPolicy`] is not met (by default: `amr` lacks `"mfa"`).
///
/// ```
/// use std::time::Duration;
/// use axum::{Router, routing::get};
/// use axum_session_mfa::{MfaPolicy, RequireMfa};
///
/// let recent = MfaPolicy::new().named("recent-mfa").max_age(Duration::from_secs(300));
/// let admin: Router = Router::new()
///     .route("/admin", get(|| async { "ok" }))
///     .route_layer(RequireMfa::new())
///     .route("/admin/recent", get(|| async { "ok" }).route_layer(RequireMfa::with_policy(recent)));
/// ```
#[derive(Debug, Clone)]
pub struct RequireMfa {
    policy: Arc<MfaPolicy>,
    status: StatusCode,
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
        Self { policy: Arc::new(policy), status: StatusCode::FORBIDDEN }
    }

    /// Answers a policy failure with 401 instead of 403, for strict RFC 9470 clients that
    /// expect the `insufficient_user_authentication` challenge on a 401.
    pub fn unauthorized_on_step_up(mut self) -> Self {
        self.status = StatusCode::UNAUTHORIZED;
        self
    }

    /// The policy this guard enforces.
    pub fn policy(&self) -> &MfaPolicy {
        &self.policy
    }
}

/// Requires any valid session: 401 without one. No MFA rule.
#[derive(Debug, Clone, Copy, Default)]
pub struct RequireAuth;

impl RequireAuth {
    /// A guard that requires a valid session.
    pub fn new() -> Self {
        Self
    }
}

impl<S> Layer<S> for RequireMfa {
    type Service = Guard<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Guard { inner, rule: Some((self.policy.clone(), self.status)) }
    }
}

impl<S> Layer<S> for RequireAuth {
    type Service = Guard<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Guard { inner, rule: None }
    }
}

/// The service produced by [`RequireMfa`] and [`RequireAuth`].
#[derive(Debug, Clone)]
pub struct Guard<S> {
    inner: S,
    rule: Option<(Arc<MfaPolicy>, StatusCode)>,
}

impl<S> Guard<S> {
    /// Decides one request; `Ok` lets it through.
    fn check<B>(&self, req: &Request<B>) -> Result<(), Rejection> {
        let info = request_info(req);
        let policy_name = self.rule.as_ref().map_or("authenticated", |(p, _)| p.name());
        let Some(outcome) = req.extensions().get::<AuthOutcome>() else {
            audit::guard_decision(&info, policy_name, None, Some("auth_layer_missing"));
            return Err(Rejection::LayerMissing);
        };
        let ctx = match &outcome.0 {
            Ok(ctx) => ctx,
            Err(e) => {
                audit::guard_decision(&info, policy_name, None, Some(e.code()));
                return Err(Rejection::Unauthenticated(e.clone()));
            }
        };
        if let Some((policy, status)) = &self.rule
            && let Err(rule) = policy.evaluate(ctx)
        {
            audit::guard_decision(&info, policy_name, Some(ctx), Some(rule.code()));
            return Err(Rejection::InsufficientAuthentication(Denial {
                policy: policy.clone(),
                rule,
                status: *status,
            }));
        }
        audit::guard_decision(&info, policy_name, Some(ctx), None);
        Ok(())
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
        match self.check(&req) {
            Ok(()) => GuardFuture { state: State::Inner { future: self.inner.call(req) } },
            Err(rejection) => {
                GuardFuture { state: State::Rejected { response: Some(rejection.into_response()) } }
            }
        }
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
            StateProj::Rejected { response } => Poll::Ready(Ok(response
                .take()
                .unwrap_or_else(|| StatusCode::INTERNAL_SERVER_ERROR.into_response()))),
        }
    }
}
