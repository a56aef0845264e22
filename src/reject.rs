//! [`Rejection`]: why a guard or an extractor refused a request, and the response for it.

use std::fmt::{self, Write as _};
use std::sync::{Arc, LazyLock};

use axum::extract::OriginalUri;
use axum::response::{IntoResponse, Response};
use http::header::{CONTENT_TYPE, LOCATION, RETRY_AFTER, WWW_AUTHENTICATE};
use http::{Extensions, HeaderMap, HeaderValue, Method, StatusCode, Uri};
use serde_json::{Map, Value};

use crate::CrossOriginError;
use crate::mcp::ToolCallError;
use crate::policy::{DenyRule, MethodMatch};
use crate::stepup::{is_browser_navigation, redirect_location};
use crate::{AuthError, MfaPolicy, ProblemCode};

/// The default base of problem `type` URIs: a tag URI (RFC 4151), which RFC 9457 allows for
/// problem types that are not meant to be dereferenced. The `type` is this base followed by the
/// problem code (`tag:axum-session-mfa,2026:problem:token_expired`): an identifier that stays
/// the same across versions; the [rejections guide](crate::guide::rejections) documents every
/// code. Give clients links that resolve with
/// [`AuthLayerBuilder::problem_type_base`](crate::AuthLayerBuilder::problem_type_base).
pub const DEFAULT_PROBLEM_TYPE_BASE: &str = "tag:axum-session-mfa,2026:problem:";

/// A replacement for the default rejection response; see
/// [`AuthLayerBuilder::on_reject`](crate::AuthLayerBuilder::on_reject).
pub(crate) type RejectFn = Arc<dyn Fn(&Rejection) -> Response + Send + Sync>;

/// How a layer answers rejections: set once on the layer, used by guards and extractors alike.
#[derive(Clone)]
pub(crate) struct Responder {
    pub(crate) login: Option<String>,
    pub(crate) step_up: Option<String>,
    pub(crate) step_up_status: StatusCode,
    pub(crate) problem_type_base: Arc<str>,
    pub(crate) on_reject: Option<RejectFn>,
    /// The URL of the layer's protected resource metadata (RFC 9728), which every 401 and
    /// step-up or scope 403 challenge names as `resource_metadata`.
    pub(crate) resource_metadata: Option<Arc<str>>,
    /// Only the recency rules (`auth_time`) send a browser to step up: set for providers that
    /// never send `amr` or `acr` (WorkOS), where signing in again cannot satisfy a method rule
    /// and the redirect would loop.
    pub(crate) step_up_recency_only: bool,
    /// What the challenges offer when the layer speaks DPoP.
    pub(crate) dpop: Option<Arc<crate::dpop::Challenge>>,
}

impl Default for Responder {
    fn default() -> Self {
        Self {
            login: None,
            step_up: None,
            step_up_status: StatusCode::FORBIDDEN,
            problem_type_base: Arc::from(DEFAULT_PROBLEM_TYPE_BASE),
            on_reject: None,
            resource_metadata: None,
            step_up_recency_only: false,
            dpop: None,
        }
    }
}

impl fmt::Debug for Responder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Responder")
            .field("login", &self.login)
            .field("step_up", &self.step_up)
            .field("step_up_status", &self.step_up_status)
            .field("problem_type_base", &self.problem_type_base)
            .field("on_reject", &self.on_reject.as_ref().map(|_| "custom"))
            .field("dpop", &self.dpop)
            .field("resource_metadata", &self.resource_metadata)
            .finish()
    }
}

/// The request a rejection answers: enough to decide on a browser redirect.
struct Target<'a> {
    method: &'a Method,
    headers: &'a HeaderMap,
    /// The path and query the browser asked for (before any `Router::nest` stripping).
    path_and_query: &'a str,
}

/// The rejection for `kind`, answered with the settings of the request's layer (the defaults
/// when there is none).
pub(crate) fn reject_request(
    kind: RejectionKind,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    extensions: &Extensions,
) -> Rejection {
    let responder = extensions.get::<Arc<Responder>>().cloned().unwrap_or_else(Responder::fallback);
    // Under `Router::nest` the URI is stripped of the prefix; the original is not.
    let uri = extensions.get::<OriginalUri>().map_or(uri, |o| &o.0);
    let path_and_query = uri.path_and_query().map_or("/", |pq| pq.as_str());
    responder.reject(kind, &Target { method, headers, path_and_query })
}

impl Responder {
    /// `true` when these are the default settings (the layer then stores none per request).
    pub(crate) fn is_default(&self) -> bool {
        self.login.is_none()
            && self.step_up.is_none()
            && self.step_up_status == StatusCode::FORBIDDEN
            && &*self.problem_type_base == DEFAULT_PROBLEM_TYPE_BASE
            && self.on_reject.is_none()
            && self.resource_metadata.is_none()
            && !self.step_up_recency_only
            && self.dpop.is_none()
    }

    /// The settings of a route without a layer, or of a layer with the defaults.
    fn fallback() -> Arc<Self> {
        static DEFAULT: LazyLock<Arc<Responder>> = LazyLock::new(Arc::default);
        DEFAULT.clone()
    }

    /// Turns a refusal into the rejection this layer answers with.
    fn reject(self: &Arc<Self>, kind: RejectionKind, target: &Target<'_>) -> Rejection {
        let kind = match kind {
            RejectionKind::InsufficientAuthentication(mut denial) => {
                if denial.rule.step_up_helps() {
                    denial.status = self.step_up_status;
                }
                RejectionKind::InsufficientAuthentication(denial)
            }
            other => other,
        };
        let url = match &kind {
            RejectionKind::InsufficientAuthentication(d)
                if d.rule.step_up_helps()
                    && (!self.step_up_recency_only || d.rule.is_recency()) =>
            {
                self.step_up.as_deref().map(|url| (url, Some(&*d.policy)))
            }
            RejectionKind::Unauthenticated(e) if e.retry_after().is_some() => None,
            RejectionKind::Unauthenticated(_) => self.login.as_deref().map(|url| (url, None)),
            _ => None,
        };
        let browser = is_browser_navigation(target.method, target.headers).then(|| {
            let location =
                url.and_then(|(url, policy)| redirect_location(url, target.path_and_query, policy));
            Box::new(Navigation { location, path: Box::from(target.path_and_query) })
        });
        // The request sent its token with the `DPoP` scheme: its challenge is a DPoP one.
        let dpop = self.dpop.is_some()
            && target.headers.get(http::header::AUTHORIZATION).is_some_and(|v| {
                v.as_bytes().get(..5).is_some_and(|s| s.eq_ignore_ascii_case(b"dpop "))
            });
        Rejection { kind, browser, dpop, responder: self.clone() }
    }
}

/// Why a guard or an extractor refused a request, and its response: status, `WWW-Authenticate` challenge (RFC 6750, RFC 9470)
/// and an `application/problem+json` body (RFC 9457).
///
/// | situation | status | `WWW-Authenticate` |
/// |---|---|---|
/// | no token | 401 | `Bearer` |
/// | bad, expired, forged token | 401 | `Bearer error="invalid_token", error_description="…"` |
/// | conflicting or malformed credentials header | 401 | `Bearer error="invalid_request", error_description="…"` |
/// | valid session, MFA policy not met | 403 | `Bearer error="insufficient_user_authentication", …, acr_values="…", max_age=…` |
/// | valid token without a required scope | 403 | `Bearer error="insufficient_scope", …, scope="…"` |
/// | valid session, a custom rule fails | 403 | none (stepping up cannot help) |
/// | keys unavailable | 503 | none; `Retry-After`: seconds until the next key fetch may be tried |
/// | unsafe method from another origin ([`CrossOriginProtectionLayer`](crate::CrossOriginProtectionLayer)) | 403 | none |
/// | MCP tool call [`ToolGuardLayer`](crate::mcp::ToolGuardLayer) cannot read | 413, 415, 400 | none |
///
/// The body's `type` is the layer's problem type base followed by the problem code (by
/// default [`DEFAULT_PROBLEM_TYPE_BASE`], a tag URI: an identifier, not a link). Clients should
/// switch on `type` or `code`, never on `title` or `detail`; in Rust, `match` on
/// [`problem_code`](Self::problem_code). Every code, its status and title, is a [`ProblemCode`]
/// and is in the [rejections guide](crate::guide::rejections) (declared once in the crate and
/// checked against that page by a test). The body also carries the `code` itself and, for 403,
/// `policy`, `rule`, what was missing (`missing_methods`) and what would pass (`methods`,
/// `methods_match`, `acr_values`, `max_age`). No body or header ever contains token material.
///
/// # One way to reject
/// The layer's settings shape every rejection, whoever raises it (a guard, the [`AuthContext`]
/// or [`Mfa`](crate::Mfa) extractors): the sign-in and step-up redirects for browsers, the
/// status of a step-up denial, the problem type base and your own
/// [`on_reject`](crate::AuthLayerBuilder::on_reject) function. A handler that wants the typed
/// rejection instead wraps the extractor with `axum_extra::extract::WithRejection` or takes
/// `Result<AuthContext, Rejection>`.
///
/// [`AuthContext`]: crate::AuthContext
///
/// # Reading and answering it
/// `status()`, `code()`, `challenge()` and `problem()` describe it; its [`IntoResponse`]
/// answers with [`on_reject`](crate::AuthLayerBuilder::on_reject) when one is set, else with
/// [`default_response`](Self::default_response).
///
/// ```
/// use axum::response::IntoResponse;
/// use axum_session_mfa::{AuthContext, Rejection};
///
/// // A handler that answers a missing session its own way, without `on_reject`.
/// async fn me(session: Result<AuthContext, Rejection>) -> axum::response::Response {
///     match session {
///         Ok(ctx) => ctx.sub().to_owned().into_response(),
///         Err(rejection) => (rejection.status(), rejection.code()).into_response(),
///     }
/// }
/// # let _: axum::Router = axum::Router::new().route("/me", axum::routing::get(me));
/// ```
#[derive(Clone)]
pub struct Rejection {
    kind: RejectionKind,
    /// Set for a browser navigation (boxed: API rejections stay small).
    browser: Option<Box<Navigation>>,
    /// The request presented its token with the `DPoP` scheme (to a layer that reads it).
    dpop: bool,
    responder: Arc<Responder>,
}

/// What a rejection of a browser navigation knows besides the reason.
#[derive(Debug, Clone)]
struct Navigation {
    /// Where the default response redirects, if anywhere.
    location: Option<HeaderValue>,
    /// The path and query the browser asked for.
    path: Box<str>,
}

/// What a [`Rejection`] is about.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum RejectionKind {
    /// No valid session: 401 (or 503 when keys are unavailable).
    Unauthenticated(AuthError),
    /// A valid session that does not meet the policy: 403 by default.
    InsufficientAuthentication(Denial),
    /// `AuthLayer` is not installed in front of this route: a programming error, 500.
    LayerMissing,
    /// An unsafe method from another origin, refused by
    /// [`CrossOriginProtectionLayer`](crate::CrossOriginProtectionLayer): 403.
    CrossOrigin(CrossOriginError),
    /// An MCP request whose tool calls [`ToolGuardLayer`](crate::mcp::ToolGuardLayer) cannot
    /// read: 413, 415 or 400.
    ToolCall(ToolCallError),
    /// A refusal of the lifecycle's routes (sign-in, callback, back-channel logout): 400 mostly.
    #[cfg(feature = "lifecycle")]
    SignIn(SignInError),
}

/// Why one of the lifecycle's routes (sign-in, callback, back-channel logout) refused a request
/// (feature `lifecycle`), answered as a [`Rejection`] through the layer's settings.
///
/// [`problem_code`](Self::problem_code) says which refusal it is (a [`ProblemCode`] to `match`
/// on; every one, with its status, is in the [rejections guide](crate::guide::rejections)),
/// [`detail`](Self::detail) what happened, for people.
///
/// ```
/// use axum::response::IntoResponse;
/// use axum_session_mfa::{Algorithm, AuthLayer, Key, ProblemCode, RejectionKind};
///
/// let key = Key::hmac(Algorithm::HS256, &[7; 32]).expect("a 32-byte HMAC key");
/// let layer = AuthLayer::builder(key).on_reject(|rejection| match rejection.kind() {
///     // A replayed callback (a second tab, a back button): start again quietly.
///     RejectionKind::SignIn(e) if e.problem_code() == ProblemCode::StateReplayed => {
///         axum::response::Redirect::to("/").into_response()
///     }
///     _ => rejection.default_response(),
/// });
/// # let _ = layer;
/// ```
#[cfg(feature = "lifecycle")]
#[derive(Debug, Clone)]
pub struct SignInError {
    problem: ProblemCode,
    detail: String,
    /// A finer code: a refused logout token's own [`AuthError`] code.
    reason: Option<&'static str>,
    /// Where "Try again" leads a browser.
    retry: Option<String>,
    retry_after: Option<u64>,
    /// The members the route's protocol adds to the problem+json body (only the
    /// `revocation` feature's routes add any).
    #[cfg_attr(not(feature = "revocation"), allow(dead_code))]
    dialect: Dialect,
}

/// The members a refusal adds to its problem+json body for the peer's protocol.
#[cfg(feature = "lifecycle")]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Dialect {
    /// None: a sign-in route.
    Problem,
    /// The OAuth `error` and `error_description` (OpenID Back-Channel Logout 1.0, section 2.8).
    #[cfg(feature = "revocation")]
    OAuth,
    /// RFC 8935 section 2.3's `err` (none for a 503, which the RFC does not cover) and
    /// `description` (OpenID Shared Signals push delivery).
    #[cfg(feature = "revocation")]
    SecEvent(Option<SetErr>),
}

/// RFC 8935 section 2.4's error codes for a refused Security Event Token.
#[cfg(all(feature = "lifecycle", feature = "revocation"))]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SetErr {
    /// The request or the SET cannot be used as it is.
    InvalidRequest,
    /// No acceptable key for the SET.
    InvalidKey,
    /// The SET's signature does not authenticate the transmitter.
    AuthenticationFailed,
    /// The SET's issuer is not the transmitter's.
    InvalidIssuer,
    /// The SET's audience is not this receiver.
    InvalidAudience,
}

#[cfg(all(feature = "lifecycle", feature = "revocation"))]
impl SetErr {
    fn as_str(self) -> &'static str {
        match self {
            Self::InvalidRequest => "invalid_request",
            Self::InvalidKey => "invalid_key",
            Self::AuthenticationFailed => "authentication_failed",
            Self::InvalidIssuer => "invalid_issuer",
            Self::InvalidAudience => "invalid_audience",
        }
    }
}

#[cfg(feature = "lifecycle")]
impl SignInError {
    pub(crate) fn new(problem: ProblemCode, detail: &str) -> Self {
        let detail = detail.to_owned();
        let dialect = Dialect::Problem;
        Self { problem, detail, reason: None, retry: None, retry_after: None, dialect }
    }

    /// A back-channel logout refusal.
    #[cfg(feature = "revocation")]
    pub(crate) fn backchannel(problem: ProblemCode, detail: &str) -> Self {
        Self { dialect: Dialect::OAuth, ..Self::new(problem, detail) }
    }

    /// A refused Security Event Token (RFC 8935 section 2.3): `err` is the RFC's error code,
    /// `None` for a 503 (the transmitter tries again later).
    #[cfg(feature = "revocation")]
    pub(crate) fn shared_signals(problem: ProblemCode, err: Option<SetErr>, detail: &str) -> Self {
        Self { dialect: Dialect::SecEvent(err), ..Self::new(problem, detail) }
    }

    /// A Security Event Token that does not verify: `set_invalid` (400) with the token's own
    /// code as `reason`, and the RFC 8935 `err` for it: `invalid_key` (no trusted key for it,
    /// or a key it may not name), `authentication_failed` (its signature does not verify),
    /// `invalid_issuer`, `invalid_audience`, else `invalid_request`.
    #[cfg(feature = "revocation")]
    pub(crate) fn security_event_token(error: &AuthError) -> Self {
        use crate::Claim;
        let err = match error {
            AuthError::UnknownKey
            | AuthError::AlgorithmNotAllowed
            | AuthError::ForbiddenHeader(_) => SetErr::InvalidKey,
            AuthError::BadSignature => SetErr::AuthenticationFailed,
            AuthError::WrongIssuer
            | AuthError::MissingClaim(Claim::Iss)
            | AuthError::InvalidClaim(Claim::Iss) => SetErr::InvalidIssuer,
            AuthError::WrongAudience
            | AuthError::MissingClaim(Claim::Aud)
            | AuthError::InvalidClaim(Claim::Aud) => SetErr::InvalidAudience,
            _ => SetErr::InvalidRequest,
        };
        let detail = format!("the Security Event Token was refused: {error}");
        let refused = Self::shared_signals(ProblemCode::SetInvalid, Some(err), &detail);
        Self { reason: Some(error.code()), ..refused }
    }

    /// A back-channel `logout_token` that does not verify: `invalid_logout_token`, with the
    /// token's own code as `reason`.
    #[cfg(feature = "revocation")]
    pub(crate) fn logout_token(error: &AuthError) -> Self {
        let detail = format!("the logout_token was refused: {error}");
        let refused = Self::backchannel(ProblemCode::InvalidLogoutToken, &detail);
        Self { reason: Some(error.code()), ..refused }
    }

    /// Where "Try again" leads a browser.
    pub(crate) fn retry(mut self, url: String) -> Self {
        self.retry = Some(url);
        self
    }

    /// Seconds after which the request may succeed (503).
    #[cfg(feature = "revocation")]
    pub(crate) fn retry_after(mut self, secs: u64) -> Self {
        self.retry_after = Some(secs);
        self
    }

    /// Which refusal this is: its code, status and title.
    pub fn problem_code(&self) -> ProblemCode {
        self.problem
    }

    /// The stable code (see the [rejections guide](crate::guide::rejections)).
    pub fn code(&self) -> &'static str {
        self.problem.code()
    }

    /// The status: 400, 403 for a refused step-up, 502 or 503 when the provider or this
    /// service cannot answer now.
    pub fn status(&self) -> StatusCode {
        self.problem.status()
    }

    /// What happened, for people (never token material).
    pub fn detail(&self) -> &str {
        &self.detail
    }

    /// A finer code, when there is one: for `invalid_logout_token`, the token's own
    /// [`AuthError`] code (`bad_signature`, `token_expired`, ...). The body's `reason`.
    pub fn reason(&self) -> Option<&'static str> {
        self.reason
    }
}

#[cfg(feature = "lifecycle")]
impl fmt::Display for SignInError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.detail, self.problem.code())
    }
}

#[cfg(feature = "lifecycle")]
impl std::error::Error for SignInError {}

/// A policy's refusal of a valid session.
#[derive(Debug, Clone)]
pub struct Denial {
    pub(crate) policy: Arc<MfaPolicy>,
    pub(crate) rule: DenyRule,
    pub(crate) missing_methods: Vec<String>,
    /// For a missing scope (boxed: other denials keep the rejection small).
    pub(crate) scopes: Option<Box<ScopeDenial>>,
    pub(crate) status: StatusCode,
}

/// What a denial for a missing scope knows.
#[derive(Debug, Clone)]
pub(crate) struct ScopeDenial {
    /// The policy's scopes the token lacks.
    pub(crate) missing: Vec<String>,
    /// The `scope` of the challenge: the token's scopes, then the policy's.
    pub(crate) ask: Vec<String>,
}

impl Denial {
    /// The policy that refused.
    pub fn policy(&self) -> &MfaPolicy {
        &self.policy
    }

    /// The rule that failed.
    pub fn rule(&self) -> &DenyRule {
        &self.rule
    }

    /// The accepted `amr` methods the session lacked.
    pub fn missing_methods(&self) -> &[String] {
        &self.missing_methods
    }

    /// The required scopes the token did not grant.
    pub fn missing_scopes(&self) -> &[String] {
        self.scopes.as_ref().map_or(&[], |s| &s.missing)
    }
}

impl Rejection {
    /// What the rejection is about.
    pub fn kind(&self) -> &RejectionKind {
        &self.kind
    }

    /// The response status: the [`ProblemCode`]'s, except a step-up denial's, which is the
    /// layer's step-up status (403, or 401 with
    /// [`unauthorized_on_step_up`](crate::AuthLayerBuilder::unauthorized_on_step_up)).
    pub fn status(&self) -> StatusCode {
        match &self.kind {
            RejectionKind::Unauthenticated(e) => e.status(),
            RejectionKind::InsufficientAuthentication(d) => d.status,
            _ => self.problem_code().status(),
        }
    }

    /// The stable code naming the problem (every one is in the
    /// [rejections guide](crate::guide::rejections)).
    pub fn code(&self) -> &'static str {
        self.problem_code().code()
    }

    /// The problem this rejection answers with: its code, default status and title.
    ///
    /// ```
    /// use axum::response::{IntoResponse, Response};
    /// use axum_session_mfa::{AuthContext, ProblemCode, Rejection};
    ///
    /// async fn me(session: Result<AuthContext, Rejection>) -> Response {
    ///     match session {
    ///         Ok(ctx) => ctx.sub().to_owned().into_response(),
    ///         Err(r) if r.problem_code() == ProblemCode::MissingToken => "hello, stranger".into_response(),
    ///         Err(r) => r.into_response(),
    ///     }
    /// }
    /// # let _: axum::Router = axum::Router::new().route("/me", axum::routing::get(me));
    /// ```
    pub fn problem_code(&self) -> ProblemCode {
        match &self.kind {
            RejectionKind::Unauthenticated(e) => e.problem_code(),
            RejectionKind::InsufficientAuthentication(d) if d.rule.step_up_helps() => {
                ProblemCode::InsufficientUserAuthentication
            }
            RejectionKind::InsufficientAuthentication(d) if d.rule == DenyRule::ScopesMissing => {
                ProblemCode::InsufficientScope
            }
            RejectionKind::InsufficientAuthentication(_) => ProblemCode::PolicyDenied,
            RejectionKind::LayerMissing => ProblemCode::AuthLayerMissing,
            RejectionKind::CrossOrigin(_) => ProblemCode::CrossOriginRequest,
            RejectionKind::ToolCall(e) => e.problem_code(),
            #[cfg(feature = "lifecycle")]
            RejectionKind::SignIn(e) => e.problem,
        }
    }

    /// Where the default response redirects a browser navigation (the layer's sign-in or
    /// step-up URL with `return_to`), if anywhere.
    pub fn location(&self) -> Option<&str> {
        self.browser.as_ref()?.location.as_ref().and_then(|l| l.to_str().ok())
    }

    /// For a browser navigation (a `GET` that accepts `text/html`), the path and query it asked
    /// for, so an [`on_reject`](crate::AuthLayerBuilder::on_reject) can answer people with a
    /// page; `None` for API requests.
    pub fn navigation(&self) -> Option<&str> {
        self.browser.as_ref().map(|b| &*b.path)
    }

    /// The `WWW-Authenticate` challenge, if this rejection carries one. With
    /// [protected resource metadata](crate::AuthLayerBuilder::protected_resource), every
    /// challenge names it: `resource_metadata="<url>"` (RFC 9728 section 5.1).
    pub fn challenge(&self) -> Option<String> {
        let challenge = self.bearer_challenge()?;
        let Some(url) = &self.responder.resource_metadata else { return Some(challenge) };
        let param = format!("resource_metadata=\"{}\"", quoted(url));
        let with = |c: &str| {
            let separator = if c.contains(' ') { ", " } else { " " };
            format!("{c}{separator}{param}")
        };
        // Two challenges (`Bearer, DPoP algs=...`): each names the metadata.
        Some(match challenge.strip_prefix("Bearer, ") {
            Some(dpop) => format!("{}, {}", with("Bearer"), with(dpop)),
            None => with(&challenge),
        })
    }

    /// The `Bearer` challenge (RFC 6750, RFC 9470) without the resource metadata.
    fn bearer_challenge(&self) -> Option<String> {
        let invalid = |error: &str, e: &AuthError| {
            format!("Bearer error=\"{error}\", error_description=\"{}\"", quoted(&e.to_string()))
        };
        if let RejectionKind::Unauthenticated(e) = &self.kind
            && let Some(challenge) =
                crate::dpop::challenge(self.responder.dpop.as_deref(), e, self.dpop)
        {
            return challenge;
        }
        match &self.kind {
            RejectionKind::Unauthenticated(AuthError::MissingToken) => Some("Bearer".to_owned()),
            RejectionKind::Unauthenticated(e) if e.retry_after().is_some() => None,
            RejectionKind::LayerMissing
            | RejectionKind::CrossOrigin(_)
            | RejectionKind::ToolCall(_) => None,
            #[cfg(feature = "lifecycle")]
            RejectionKind::SignIn(_) => None,
            RejectionKind::Unauthenticated(
                e @ (AuthError::AmbiguousToken | AuthError::MalformedHeader),
            ) => Some(invalid("invalid_request", e)),
            RejectionKind::Unauthenticated(e) => Some(invalid("invalid_token", e)),
            RejectionKind::InsufficientAuthentication(d) if d.rule == DenyRule::ScopesMissing => {
                Some(format!(
                    "Bearer error=\"insufficient_scope\", error_description=\"{}\", scope=\"{}\"",
                    quoted(&d.rule.to_string()),
                    quoted(&d.scopes.as_ref().map_or(String::new(), |s| s.ask.join(" ")))
                ))
            }
            RejectionKind::InsufficientAuthentication(d) if !d.rule.step_up_helps() => None,
            RejectionKind::InsufficientAuthentication(d) => {
                let mut c = format!(
                    "Bearer error=\"insufficient_user_authentication\", error_description=\"{}\"",
                    quoted(&d.rule.to_string())
                );
                if !d.policy.acr_values().is_empty() {
                    let _ =
                        write!(c, ", acr_values=\"{}\"", quoted(&d.policy.acr_values().join(" ")));
                }
                if let Some(max_age) = d.policy.max_age() {
                    let _ = write!(c, ", max_age={}", max_age.as_secs());
                }
                Some(c)
            }
        }
    }

    /// The problem `type` URI: the layer's base followed by [`code`](Self::code).
    pub fn problem_type(&self) -> String {
        format!("{}{}", self.responder.problem_type_base, self.code())
    }

    /// The problem+json body (RFC 9457) as a JSON object.
    pub fn problem(&self) -> Map<String, Value> {
        let detail = match &self.kind {
            RejectionKind::Unauthenticated(e) => e.to_string(),
            RejectionKind::InsufficientAuthentication(d) => d.rule.to_string(),
            RejectionKind::LayerMissing => {
                "AuthLayer is not installed in front of this route".to_owned()
            }
            RejectionKind::CrossOrigin(e) => e.to_string(),
            RejectionKind::ToolCall(e) => e.to_string(),
            #[cfg(feature = "lifecycle")]
            RejectionKind::SignIn(e) => e.detail.clone(),
        };
        let title = self.problem_code().title();
        let mut body = Map::new();
        body.insert("type".into(), self.problem_type().into());
        body.insert("title".into(), title.into());
        body.insert("status".into(), self.status().as_u16().into());
        body.insert("detail".into(), detail.into());
        body.insert("code".into(), self.code().into());
        if let RejectionKind::Unauthenticated(e) = &self.kind
            && let Some(reason) = e.detail_code()
        {
            body.insert("reason".into(), reason.into());
        }
        if let RejectionKind::CrossOrigin(e) = &self.kind {
            body.insert("reason".into(), e.code().into());
        }
        if let RejectionKind::ToolCall(e) = &self.kind {
            body.insert("reason".into(), e.code().into());
        }
        #[cfg(feature = "lifecycle")]
        if let RejectionKind::SignIn(e) = &self.kind
            && let Some(reason) = e.reason
        {
            body.insert("reason".into(), reason.into());
        }
        #[cfg(all(feature = "lifecycle", feature = "revocation"))]
        if let RejectionKind::SignIn(e) = &self.kind {
            match e.dialect {
                Dialect::Problem => {}
                Dialect::OAuth => {
                    // OpenID Back-Channel Logout 1.0, section 2.8: an OAuth 2.0 error response.
                    let error = if e.retry_after.is_some() {
                        "temporarily_unavailable"
                    } else {
                        "invalid_request"
                    };
                    body.insert("error".into(), error.into());
                    body.insert("error_description".into(), e.detail.clone().into());
                }
                Dialect::SecEvent(err) => {
                    // RFC 8935 section 2.3: `err` and `description`.
                    if let Some(err) = err {
                        body.insert("err".into(), err.as_str().into());
                    }
                    body.insert("description".into(), e.detail.clone().into());
                }
            }
        }
        if let RejectionKind::InsufficientAuthentication(d) = &self.kind {
            let policy = &d.policy;
            body.insert("policy".into(), policy.name().into());
            body.insert("rule".into(), d.rule.code().into());
            body.insert("missing_methods".into(), d.missing_methods.clone().into());
            if !policy.scopes().is_empty() {
                body.insert("scope".into(), policy.scopes().join(" ").into());
                body.insert("missing_scopes".into(), d.missing_scopes().into());
            }
            body.insert("methods".into(), policy.methods().into());
            let matching = if policy.method_match() == MethodMatch::AllOf { "all" } else { "any" };
            body.insert("methods_match".into(), matching.into());
            body.insert("acr_values".into(), policy.acr_values().into());
            if let Some(max_age) = policy.max_age() {
                body.insert("max_age".into(), max_age.as_secs().into());
            }
        }
        body
    }

    /// The crate's own response, ignoring `on_reject`: `303 See Other` to
    /// [`location`](Self::location) when there is one, else the status, the challenge,
    /// `Retry-After` (503) and the problem+json body.
    pub fn default_response(&self) -> Response {
        #[cfg(feature = "lifecycle")]
        if let RejectionKind::SignIn(e) = &self.kind {
            return self.sign_in_response(e);
        }
        if let Some(location) = self.browser.as_ref().and_then(|b| b.location.as_ref()) {
            let mut response = StatusCode::SEE_OTHER.into_response();
            response.headers_mut().insert(LOCATION, location.clone());
            return response;
        }
        let body = serde_json::to_vec(&self.problem()).unwrap_or_default();
        let mut response = (self.status(), body).into_response();
        let headers = response.headers_mut();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/problem+json"));
        if let Some(value) = self.challenge().and_then(|c| HeaderValue::try_from(c).ok()) {
            headers.insert(WWW_AUTHENTICATE, value);
        }
        if let RejectionKind::Unauthenticated(e) = &self.kind
            && let Some(retry_after) = e.retry_after()
        {
            headers.insert(RETRY_AFTER, HeaderValue::from(retry_after.max(1)));
        }
        response
    }
}

#[cfg(feature = "lifecycle")]
impl Rejection {
    /// A refused sign-in route: a short page with "Try again" for a browser, problem+json
    /// otherwise; never cached.
    fn sign_in_response(&self, e: &SignInError) -> Response {
        let mut response = match (&self.browser, &e.retry) {
            (Some(_), Some(retry)) => {
                let page = format!(
                    "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
                     <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
                     <title>Sign-in problem</title></head><body style=\"font-family:system-ui,\
                     sans-serif;max-width:36rem;margin:2rem auto;padding:0 1rem\">\
                     <h1>Sign-in did not complete</h1><p>{}</p><p><small>Reason: <code>{}</code>\
                     </small></p><p><a href=\"{}\">Try again</a> · <a href=\"/\">Home</a></p>\
                     </body></html>",
                    escape(&e.detail),
                    escape(e.code()),
                    escape(retry)
                );
                let mut r = (self.status(), page).into_response();
                let html = HeaderValue::from_static("text/html; charset=utf-8");
                r.headers_mut().insert(CONTENT_TYPE, html);
                r
            }
            _ => {
                let body = serde_json::to_vec(&self.problem()).unwrap_or_default();
                let mut r = (self.status(), body).into_response();
                let json = HeaderValue::from_static("application/problem+json");
                r.headers_mut().insert(CONTENT_TYPE, json);
                r
            }
        };
        let headers = response.headers_mut();
        headers.insert(http::header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        if let Some(secs) = e.retry_after {
            headers.insert(RETRY_AFTER, HeaderValue::from(secs.max(1)));
        }
        response
    }
}

/// Text for HTML: `&`, `<`, `>` and `"` escaped.
#[cfg(feature = "lifecycle")]
fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// Keeps the characters RFC 6750 allows in `error_description` and `acr_values` quoted
/// strings: visible ASCII and space, without `"` and `\`.
pub(crate) fn quoted(s: &str) -> String {
    s.chars().filter(|c| (' '..='~').contains(c) && !matches!(c, '"' | '\\')).collect()
}

impl fmt::Debug for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Rejection")
            .field("kind", &self.kind)
            .field("location", &self.location())
            .finish_non_exhaustive()
    }
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            RejectionKind::Unauthenticated(e) => write!(f, "not authenticated: {e}"),
            RejectionKind::InsufficientAuthentication(d) => {
                write!(f, "policy `{}` refused the session: {}", d.policy.name(), d.rule)
            }
            RejectionKind::LayerMissing => {
                f.write_str("AuthLayer is not installed in front of this route")
            }
            RejectionKind::CrossOrigin(e) => write!(f, "cross-origin request refused: {e}"),
            RejectionKind::ToolCall(e) => write!(f, "MCP request refused: {e}"),
            #[cfg(feature = "lifecycle")]
            RejectionKind::SignIn(e) => write!(f, "sign-in refused: {e}"),
        }
    }
}

impl std::error::Error for Rejection {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.kind {
            RejectionKind::Unauthenticated(e) => Some(e),
            RejectionKind::CrossOrigin(e) => Some(e),
            RejectionKind::ToolCall(e) => Some(e),
            #[cfg(feature = "lifecycle")]
            RejectionKind::SignIn(e) => Some(e),
            _ => None,
        }
    }
}

impl IntoResponse for Rejection {
    fn into_response(self) -> Response {
        match &self.responder.on_reject {
            Some(f) => f(&self),
            None => self.default_response(),
        }
    }
}
