//! [`Rejection`]: why a guard or an extractor refused a request, and the response for it.

use std::fmt::{self, Write as _};
use std::sync::{Arc, LazyLock};

use axum::extract::OriginalUri;
use axum::response::{IntoResponse, Response};
use http::header::{CONTENT_TYPE, LOCATION, RETRY_AFTER, WWW_AUTHENTICATE};
use http::{Extensions, HeaderMap, HeaderValue, Method, StatusCode, Uri};
use serde_json::{Map, Value};

use crate::CrossOriginError;
use crate::policy::{DenyRule, MethodMatch};
use crate::stepup::{is_browser_navigation, redirect_location};
use crate::{AuthError, MfaPolicy};

/// The default base of problem `type` URIs: the crate's page on crates.io, whose README lists
/// the problem codes. It does not change with the crate's version or module layout. The `type`
/// is this base followed by the problem code.
pub const DEFAULT_PROBLEM_TYPE_BASE: &str = "https://crates.io/crates/axum-session-mfa#problem-";

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
    /// Only the recency rules (`auth_time`) send a browser to step up: set for providers that
    /// never send `amr` or `acr` (WorkOS), where signing in again cannot satisfy a method rule
    /// and the redirect would loop.
    pub(crate) step_up_recency_only: bool,
}

impl Default for Responder {
    fn default() -> Self {
        Self {
            login: None,
            step_up: None,
            step_up_status: StatusCode::FORBIDDEN,
            problem_type_base: Arc::from(DEFAULT_PROBLEM_TYPE_BASE),
            on_reject: None,
            step_up_recency_only: false,
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
            && !self.step_up_recency_only
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
        Rejection { kind, browser, responder: self.clone() }
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
/// | valid session, a custom rule fails | 403 | none (stepping up cannot help) |
/// | keys unavailable | 503 | none; `Retry-After`: seconds until the next key fetch may be tried |
/// | unsafe method from another origin ([`CrossOriginProtectionLayer`](crate::CrossOriginProtectionLayer)) | 403 | none |
///
/// The body's `type` is a stable URI made of a base and the problem code (below): by default
/// [`DEFAULT_PROBLEM_TYPE_BASE`] + code, e.g.
/// `https://crates.io/crates/axum-session-mfa#problem-insufficient_user_authentication`: the
/// crate's page, whose README lists the codes (RFC 9457 asks that a type URI lead to
/// documentation for people), and which does not change with the crate's version or module
/// layout. Clients should switch on `type` or `code`, never on `title` or `detail`. Point the
/// types at your own documentation with
/// [`AuthLayerBuilder::problem_type_base`](crate::AuthLayerBuilder::problem_type_base). The
/// body also carries the `code` itself and, for 403, `policy`, `rule`, what was missing
/// (`missing_methods`) and what would pass (`methods`, `methods_match`, `acr_values`,
/// `max_age`). No body or header ever contains token material.
///
/// # Problem codes
///
/// ### missing_token
/// No credential was presented.
/// ### ambiguous_token
/// Conflicting credentials: a cookie and a bearer token that carry different tokens, duplicate
/// cookies with different values, or several `Authorization` headers.
/// ### malformed_header
/// The `Authorization` header is not a well-formed bearer credential.
/// ### token_too_large
/// The token exceeds the configured size limit.
/// ### malformed_token
/// Not a compact JWS (segments, base64url, JSON objects).
/// ### algorithm_not_allowed
/// `alg` is `none`, unknown, or not pinned to the selected key.
/// ### unknown_key
/// No trusted key for the token's `kid`.
/// ### forbidden_header
/// The header carries `jwk`, `jku`, `x5u` or `x5c`.
/// ### unsupported_critical_header
/// The header has a `crit` member.
/// ### wrong_token_type
/// `typ` is not accepted.
/// ### bad_signature
/// The signature does not verify.
/// ### token_expired
/// `exp` has passed.
/// ### token_not_yet_valid
/// `nbf` is in the future.
/// ### missing_claim
/// A required claim is absent.
/// ### invalid_claim
/// A claim has the wrong type.
/// ### wrong_issuer
/// `iss` is not accepted.
/// ### wrong_audience
/// `aud` is not accepted.
/// ### invalid_session
/// A sealed session cookie could not be opened.
/// ### session_user_mismatch
/// A sealed session's user is not the subject of its access token.
/// ### keys_unavailable
/// Verification keys are temporarily unavailable (503).
/// ### insufficient_user_authentication
/// A valid session that must step up (RFC 9470).
/// ### policy_denied
/// A valid session refused by a custom rule.
/// ### auth_layer_missing
/// `AuthLayer` is not installed in front of the route (a programming error, 500).
/// ### cross_origin_request
/// An unsafe method from another origin, refused by
/// [`CrossOriginProtectionLayer`](crate::CrossOriginProtectionLayer) (403); `reason` is a
/// [`CrossOriginError`] code.
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
}

/// A policy's refusal of a valid session.
#[derive(Debug, Clone)]
pub struct Denial {
    pub(crate) policy: Arc<MfaPolicy>,
    pub(crate) rule: DenyRule,
    pub(crate) missing_methods: Vec<String>,
    pub(crate) status: StatusCode,
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
}

impl Rejection {
    /// What the rejection is about.
    pub fn kind(&self) -> &RejectionKind {
        &self.kind
    }

    /// The response status: 401, 403 (or the layer's step-up status), 503, or 500 when the
    /// layer is missing.
    pub fn status(&self) -> StatusCode {
        match &self.kind {
            RejectionKind::Unauthenticated(e) => e.status(),
            RejectionKind::InsufficientAuthentication(d) => d.status,
            RejectionKind::LayerMissing => StatusCode::INTERNAL_SERVER_ERROR,
            RejectionKind::CrossOrigin(_) => StatusCode::FORBIDDEN,
        }
    }

    /// The stable code naming the problem (the list is in the [type docs](Rejection)).
    pub fn code(&self) -> &'static str {
        match &self.kind {
            RejectionKind::Unauthenticated(e) => e.code(),
            RejectionKind::InsufficientAuthentication(d) if d.rule.step_up_helps() => {
                "insufficient_user_authentication"
            }
            RejectionKind::InsufficientAuthentication(_) => "policy_denied",
            RejectionKind::LayerMissing => "auth_layer_missing",
            RejectionKind::CrossOrigin(_) => "cross_origin_request",
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

    /// The `WWW-Authenticate` challenge, if this rejection carries one.
    pub fn challenge(&self) -> Option<String> {
        let invalid = |error: &str, e: &AuthError| {
            format!("Bearer error=\"{error}\", error_description=\"{}\"", quoted(&e.to_string()))
        };
        match &self.kind {
            RejectionKind::Unauthenticated(AuthError::MissingToken) => Some("Bearer".to_owned()),
            RejectionKind::Unauthenticated(e) if e.retry_after().is_some() => None,
            RejectionKind::LayerMissing | RejectionKind::CrossOrigin(_) => None,
            RejectionKind::Unauthenticated(
                e @ (AuthError::AmbiguousToken | AuthError::MalformedHeader),
            ) => Some(invalid("invalid_request", e)),
            RejectionKind::Unauthenticated(e) => Some(invalid("invalid_token", e)),
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
        let (title, detail) = match &self.kind {
            RejectionKind::Unauthenticated(e @ AuthError::MissingToken) => {
                ("Authentication required", e.to_string())
            }
            RejectionKind::Unauthenticated(e) if e.retry_after().is_some() => {
                ("Service unavailable", e.to_string())
            }
            RejectionKind::Unauthenticated(e) => ("Invalid session", e.to_string()),
            RejectionKind::InsufficientAuthentication(d) if d.rule.step_up_helps() => {
                ("Step-up authentication required", d.rule.to_string())
            }
            RejectionKind::InsufficientAuthentication(d) => ("Forbidden", d.rule.to_string()),
            RejectionKind::LayerMissing => (
                "Server misconfiguration",
                "AuthLayer is not installed in front of this route".to_owned(),
            ),
            RejectionKind::CrossOrigin(e) => ("Cross-origin request refused", e.to_string()),
        };
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
        if let RejectionKind::InsufficientAuthentication(d) = &self.kind {
            let policy = &d.policy;
            body.insert("policy".into(), policy.name().into());
            body.insert("rule".into(), d.rule.code().into());
            body.insert("missing_methods".into(), d.missing_methods.clone().into());
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

/// Keeps the characters RFC 6750 allows in `error_description` and `acr_values` quoted
/// strings: visible ASCII and space, without `"` and `\`.
fn quoted(s: &str) -> String {
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
        }
    }
}

impl std::error::Error for Rejection {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.kind {
            RejectionKind::Unauthenticated(e) => Some(e),
            RejectionKind::CrossOrigin(e) => Some(e),
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
