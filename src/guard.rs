//! Route guards: [`RequireMfa`] (a valid session that meets an [`MfaPolicy`]) and
//! [`RequireAuth`] (any valid session). Install them with `route_layer` behind an
//! [`AuthLayer`](crate::AuthLayer).
//!
//! Each decision emits one audit event (see [`audit`](crate::audit)).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use std::fmt;

use axum::extract::OriginalUri;
use axum::response::{IntoResponse, Response};
use http::header::ACCESS_CONTROL_REQUEST_METHOD;
use http::{HeaderMap, Method, Request, StatusCode};
use pin_project_lite::pin_project;
use tower_layer::Layer;
use tower_service::Service;

use crate::audit::{self, RequestInfo};
use crate::layer::request_info;
use crate::reject::Denial;
use crate::stepup::{StepUp, is_browser_navigation};
use crate::{AuthContext, AuthError, AuthOutcome, MfaPolicy, Rejection};

/// A replacement for the guard's rejection responses; see [`RequireMfa::on_reject`].
pub type RejectFn = Arc<dyn Fn(Rejection, &HeaderMap) -> Response + Send + Sync>;

/// Options shared by [`RequireMfa`] and [`RequireAuth`].
#[derive(Clone)]
struct Options {
    status: StatusCode,
    step_up: Option<StepUp>,
    login: Option<StepUp>,
    on_reject: Option<RejectFn>,
    allow_preflight: bool,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            status: StatusCode::FORBIDDEN,
            step_up: None,
            login: None,
            on_reject: None,
            allow_preflight: false,
        }
    }
}

impl fmt::Debug for Options {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Options")
            .field("status", &self.status)
            .field("step_up", &self.step_up)
            .field("login", &self.login)
            .field("on_reject", &self.on_reject.as_ref().map(|_| "custom"))
            .field("allow_preflight", &self.allow_preflight)
            .finish()
    }
}

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
///     .route_layer(RequireMfa::new().step_up_redirect("/auth/step-up"))
///     .route("/admin/recent", get(|| async { "ok" }).route_layer(RequireMfa::with_policy(recent)));
/// ```
#[derive(Debug, Clone)]
pub struct RequireMfa {
    policy: Arc<MfaPolicy>,
    options: Options,
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
        Self { policy: Arc::new(policy), options: Options::default() }
    }

    /// Answers a policy failure with 401 instead of 403, for strict RFC 9470 clients that
    /// expect the `insufficient_user_authentication` challenge on a 401.
    ///
    /// ```
    /// let guard = axum_session_mfa::RequireMfa::new().unauthorized_on_step_up();
    /// ```
    pub fn unauthorized_on_step_up(mut self) -> Self {
        self.options.status = StatusCode::UNAUTHORIZED;
        self
    }

    /// Redirects browser navigations that fail the policy (403 cases) to `url` with a
    /// `return_to` query parameter (a same-origin relative path), with `303 See Other`.
    /// API requests still get the 403 challenge. See [`safe_return_to`](crate::safe_return_to)
    /// for what the step-up endpoint must check before redirecting back.
    ///
    /// ```
    /// let guard = axum_session_mfa::RequireMfa::new().step_up_redirect("/auth/step-up");
    /// ```
    pub fn step_up_redirect(mut self, url: impl Into<String>) -> Self {
        self.options.step_up = Some(StepUp::new(url));
        self
    }

    /// Redirects browser navigations **without a valid session** (no token, or an expired or
    /// invalid one) to a sign-in page at `url`, with the same `return_to` rule as
    /// [`step_up_redirect`](Self::step_up_redirect). API requests still get the 401.
    ///
    /// ```
    /// let guard = axum_session_mfa::RequireMfa::new().login_redirect("/login");
    /// ```
    pub fn login_redirect(mut self, url: impl Into<String>) -> Self {
        self.options.login = Some(StepUp::new(url));
        self
    }

    /// Lets CORS preflight requests (`OPTIONS` with `Access-Control-Request-Method`) through
    /// without a session, so a CORS layer *inside* the guard can answer them. Off by default;
    /// preflights carry no credentials, so a guard in front of them otherwise answers 401.
    ///
    /// ```
    /// let guard = axum_session_mfa::RequireMfa::new().allow_cors_preflight();
    /// ```
    pub fn allow_cors_preflight(mut self) -> Self {
        self.options.allow_preflight = true;
        self
    }

    /// Replaces every rejection response (401, 403, 503; the step-up and sign-in redirects
    /// excepted) with your own. The function gets the [`Rejection`] and the request headers.
    ///
    /// ```
    /// use axum::response::IntoResponse;
    /// use axum_session_mfa::RequireMfa;
    /// let guard = RequireMfa::new()
    ///     .on_reject(|rejection, _headers| (rejection.status(), "step up, please").into_response());
    /// ```
    pub fn on_reject<F>(mut self, f: F) -> Self
    where
        F: Fn(Rejection, &HeaderMap) -> Response + Send + Sync + 'static,
    {
        self.options.on_reject = Some(Arc::new(f));
        self
    }

    /// The policy this guard enforces.
    pub fn policy(&self) -> &MfaPolicy {
        &self.policy
    }
}

/// Requires any valid session: 401 without one. No MFA rule.
#[derive(Debug, Clone, Default)]
pub struct RequireAuth {
    options: Options,
}

impl RequireAuth {
    /// A guard that requires a valid session.
    pub fn new() -> Self {
        Self::default()
    }

    /// See [`RequireMfa::login_redirect`].
    pub fn login_redirect(mut self, url: impl Into<String>) -> Self {
        self.options.login = Some(StepUp::new(url));
        self
    }

    /// See [`RequireMfa::allow_cors_preflight`].
    pub fn allow_cors_preflight(mut self) -> Self {
        self.options.allow_preflight = true;
        self
    }

    /// See [`RequireMfa::on_reject`].
    pub fn on_reject<F>(mut self, f: F) -> Self
    where
        F: Fn(Rejection, &HeaderMap) -> Response + Send + Sync + 'static,
    {
        self.options.on_reject = Some(Arc::new(f));
        self
    }
}

impl<S> Layer<S> for RequireMfa {
    type Service = Guard<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Guard { inner, policy: Some(self.policy.clone()), options: self.options.clone() }
    }
}

impl<S> Layer<S> for RequireAuth {
    type Service = Guard<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Guard { inner, policy: None, options: self.options.clone() }
    }
}

/// The service produced by [`RequireMfa`] and [`RequireAuth`].
#[derive(Debug, Clone)]
pub struct Guard<S> {
    inner: S,
    policy: Option<Arc<MfaPolicy>>,
    options: Options,
}

/// Evaluates `policy` (or "any valid session" when `None`) against a request's outcome, with
/// one audit event for the decision.
pub(crate) fn decide(
    info: &RequestInfo<'_>,
    outcome: Option<&AuthOutcome>,
    policy: Option<&Arc<MfaPolicy>>,
    status: StatusCode,
) -> Result<AuthContext, Rejection> {
    let policy_name = policy.map_or("authenticated", |p| p.name());
    let Some(outcome) = outcome else {
        audit::guard_decision(info, policy_name, None, Some("auth_layer_missing"));
        return Err(Rejection::LayerMissing);
    };
    let ctx = match &outcome.0 {
        Ok(ctx) => ctx,
        Err(e) => {
            audit::guard_decision(info, policy_name, None, Some(e.code()));
            return Err(Rejection::Unauthenticated(e.clone()));
        }
    };
    if let Some(policy) = policy
        && let Err(rule) = policy.evaluate(ctx)
    {
        audit::guard_decision(info, policy_name, Some(ctx), Some(rule.code()));
        let missing_methods = policy.missing_methods(ctx).into_iter().map(str::to_owned).collect();
        let status = if rule.step_up_helps() { status } else { StatusCode::FORBIDDEN };
        return Err(Rejection::InsufficientAuthentication(Denial {
            policy: policy.clone(),
            rule,
            missing_methods,
            status,
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
        if self.options.allow_preflight && is_cors_preflight(req) {
            return None;
        }
        let info = request_info(req);
        let outcome = req.extensions().get::<AuthOutcome>();
        let rejection = decide(&info, outcome, self.policy.as_ref(), self.options.status).err()?;
        let redirect_to = match &rejection {
            Rejection::InsufficientAuthentication(denial) if denial.rule().step_up_helps() => {
                self.options.step_up.as_ref()
            }
            Rejection::Unauthenticated(AuthError::KeysUnavailable { .. }) => None,
            Rejection::Unauthenticated(_) => self.options.login.as_ref(),
            _ => None,
        };
        if let Some(target_url) = redirect_to
            && is_browser_navigation(req.method(), req.headers())
        {
            // Under `Router::nest` the URI is stripped of the prefix; the original is not.
            let uri = req.extensions().get::<OriginalUri>().map_or(req.uri(), |o| &o.0);
            let target = uri.path_and_query().map_or("/", |pq| pq.as_str());
            if let Some(redirect) = target_url.redirect(target) {
                return Some(redirect);
            }
        }
        Some(match &self.options.on_reject {
            Some(f) => f(rejection, req.headers()),
            None => rejection.into_response(),
        })
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
            StateProj::Rejected { response } => Poll::Ready(Ok(response
                .take()
                .unwrap_or_else(|| StatusCode::INTERNAL_SERVER_ERROR.into_response()))),
        }
    }
}
