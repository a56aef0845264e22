//! [`CrossOriginProtectionLayer`]: refuses cross-origin browser requests with unsafe methods,
//! modelled on Go 1.25's `net/http.CrossOriginProtection`.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::response::{IntoResponse, Response};
use http::header::{HOST, ORIGIN};
use http::{HeaderMap, HeaderValue, Method, Request, Uri};
use pin_project_lite::pin_project;
use tower_layer::Layer;
use tower_service::Service;

use crate::audit::{self, RequestInfo};
use crate::reject::{RejectionKind, reject_request};

/// The header browsers send with every request since 2023 (Fetch Metadata).
const SEC_FETCH_SITE: &str = "sec-fetch-site";

/// Refuses cross-origin browser requests with unsafe methods (403 `cross_origin_request`);
/// builds [`CrossOriginProtection`]. Modelled on Go 1.25's `net/http.CrossOriginProtection`.
///
/// A session cookie goes with every request the browser sends to your site, including the
/// form another site submits to it (cross-site request forgery). `SameSite=Lax` cookies stop
/// most of these, but not those from a sibling subdomain (same site, other origin), nor every
/// browser. This layer refuses them from what browsers say about every request:
///
/// 1. `GET`, `HEAD` and `OPTIONS` always pass: they must not change anything (CORS preflights
///    are `OPTIONS` too).
/// 2. Any other method: when `Sec-Fetch-Site` is sent, it must be `same-origin` or `none` (the
///    user typed the address or used a bookmark); `same-site` and `cross-site` are refused.
/// 3. Without `Sec-Fetch-Site` (a browser from before 2023), an `Origin` header must name the
///    request's own host (the `Host` header, or the URI's authority in HTTP/2), else refused.
///    A default port (`:80` for `http`, `:443` for `https`) may be left out on either side.
/// 4. With neither header the request passes: it does not come from a browser (curl, another
///    server), so it carries no cookie a browser attached on its own.
///
/// A request refused by rule 2 or 3 still passes when its `Origin` is one of the
/// [trusted origins](CrossOriginProtectionLayer::trusted_origin), or its path is an
/// [insecure bypass](CrossOriginProtectionLayer::insecure_bypass_path). A repeated
/// `Sec-Fetch-Site` or `Origin` header, or a `Sec-Fetch-Site` value that is none of the four
/// the Fetch Metadata spec defines, is refused too: nothing forged gets the benefit of doubt.
///
/// A refusal is a [`Rejection`](crate::Rejection): 403 with an `application/problem+json` body
/// whose `code` is `cross_origin_request` and whose `reason` is a [`CrossOriginError`] code,
/// and one `cross_origin` [audit](crate::audit) event. Placed outside the
/// [`AuthLayer`](crate::AuthLayer) (`.layer(..)` after it), a refused request never reaches
/// the session (no refresh is spent on it) and gets the default problem body; placed inside
/// (a `route_layer` behind it), the refusal is answered with the layer's settings
/// (`problem_type_base`, `on_reject`).
///
/// ```
/// use axum::{Router, body::Body, http::Request, routing::post};
/// use axum_session_mfa::CrossOriginProtectionLayer;
/// use tower::ServiceExt;
///
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let app = Router::new()
///     .route("/transfer", post(|| async { "sent" }))
///     .layer(CrossOriginProtectionLayer::new());
///
/// let from_elsewhere = Request::post("/transfer")
///     .header("host", "bank.example")
///     .header("sec-fetch-site", "cross-site")
///     .body(Body::empty())
///     .unwrap();
/// let response = app.clone().oneshot(from_elsewhere).await.unwrap();
/// assert_eq!(response.status(), 403);
///
/// let from_itself = Request::post("/transfer")
///     .header("host", "bank.example")
///     .header("sec-fetch-site", "same-origin")
///     .body(Body::empty())
///     .unwrap();
/// assert_eq!(app.oneshot(from_itself).await.unwrap().status(), 200);
/// # });
/// ```
///
/// With a trusted origin and a bypass:
///
/// ```
/// use axum::{Router, routing::post};
/// use axum_session_mfa::CrossOriginProtectionLayer;
///
/// let cross_origin = CrossOriginProtectionLayer::new()
///     .trusted_origin("https://checkout.example.com")?
///     .insecure_bypass_path("/auth/backchannel-logout");
/// let app: Router = Router::new()
///     .route("/settings", post(|| async { "saved" }))
///     .route("/auth/backchannel-logout", post(|| async { "ok" }))
///     .layer(cross_origin);
/// # Ok::<(), axum_session_mfa::InvalidOrigin>(())
/// ```
#[derive(Debug, Clone, Default)]
#[must_use]
pub struct CrossOriginProtectionLayer {
    config: Arc<Config>,
}

#[derive(Debug, Clone, Default)]
struct Config {
    /// Origins in their serialised form (`scheme://host[:port]`, lowercase, no default port).
    trusted: Vec<Box<str>>,
    /// Request paths that are never refused.
    bypass: Vec<Box<str>>,
}

impl CrossOriginProtectionLayer {
    /// The layer with no trusted origin and no bypass.
    pub fn new() -> Self {
        Self::default()
    }

    /// Lets requests whose `Origin` is `origin` pass, wherever they come from. `origin` is
    /// `scheme://host[:port]` with nothing after it (no path, query, fragment or user); it is
    /// compared, lowercased and without a default port, with the `Origin` header as browsers
    /// send it. Go: `AddTrustedOrigin`.
    ///
    /// ```
    /// use axum_session_mfa::CrossOriginProtectionLayer;
    ///
    /// let layer = CrossOriginProtectionLayer::new().trusted_origin("https://App.example:443")?;
    /// assert!(CrossOriginProtectionLayer::new().trusted_origin("https://app.example/").is_err());
    /// # Ok::<(), axum_session_mfa::InvalidOrigin>(())
    /// ```
    pub fn trusted_origin(mut self, origin: &str) -> Result<Self, InvalidOrigin> {
        let canonical = canonical_origin(origin).ok_or_else(|| InvalidOrigin(origin.into()))?;
        let config = Arc::make_mut(&mut self.config);
        if !config.trusted.contains(&canonical) {
            config.trusted.push(canonical);
        }
        Ok(self)
    }

    /// Lets every request to exactly this path pass, whatever its origin: for endpoints that
    /// do not rely on the browser's cookie and prove each request themselves (a webhook with a
    /// signature, a back-channel logout with a signed token). The path is the request's as this layer
    /// sees it (under `Router::nest`, without the prefix); no patterns, no query. Go:
    /// `AddInsecureBypassPattern`, with exact paths only.
    pub fn insecure_bypass_path(mut self, path: impl Into<String>) -> Self {
        let path: Box<str> = path.into().into_boxed_str();
        let config = Arc::make_mut(&mut self.config);
        if !config.bypass.contains(&path) {
            config.bypass.push(path);
        }
        self
    }

    /// Applies the rules to one request: `Ok` when it may pass. The layer calls this; a
    /// handler may too. Go: `Check`.
    pub fn check<B>(&self, request: &Request<B>) -> Result<(), CrossOriginError> {
        self.config.check(request.method(), request.uri(), request.headers())
    }
}

impl<S> Layer<S> for CrossOriginProtectionLayer {
    type Service = CrossOriginProtection<S>;

    fn layer(&self, inner: S) -> Self::Service {
        CrossOriginProtection { inner, config: self.config.clone() }
    }
}

impl Config {
    fn check(
        &self,
        method: &Method,
        uri: &Uri,
        headers: &HeaderMap,
    ) -> Result<(), CrossOriginError> {
        if method == Method::GET || method == Method::HEAD || method == Method::OPTIONS {
            return Ok(());
        }
        let refusal = match single(headers, SEC_FETCH_SITE) {
            Err(()) => CrossOriginError::MalformedHeader,
            Ok(Some(site)) => match site.as_bytes() {
                b"same-origin" | b"none" => return Ok(()),
                b"same-site" | b"cross-site" => CrossOriginError::SecFetchSite,
                _ => CrossOriginError::MalformedHeader,
            },
            Ok(None) => match single(headers, ORIGIN.as_str()) {
                Err(()) => CrossOriginError::MalformedHeader,
                Ok(None) => return Ok(()),
                Ok(Some(origin)) => match origin.to_str() {
                    Err(_) => CrossOriginError::MalformedHeader,
                    Ok(origin)
                        if request_host(uri, headers)
                            .is_some_and(|host| origin_matches_host(origin, host)) =>
                    {
                        return Ok(());
                    }
                    Ok(_) => CrossOriginError::OriginMismatch,
                },
            },
        };
        if self.exempt(uri, headers) { Ok(()) } else { Err(refusal) }
    }

    /// A bypassed path, or a trusted `Origin`.
    fn exempt(&self, uri: &Uri, headers: &HeaderMap) -> bool {
        if self.bypass.iter().any(|p| **p == *uri.path()) {
            return true;
        }
        match single(headers, ORIGIN.as_str()) {
            Ok(Some(origin)) => self.trusted.iter().any(|t| t.as_bytes() == origin.as_bytes()),
            _ => false,
        }
    }
}

/// The value of a header sent at most once; `Err` when it is repeated.
fn single<'a>(headers: &'a HeaderMap, name: &str) -> Result<Option<&'a HeaderValue>, ()> {
    let mut values = headers.get_all(name).iter();
    match (values.next(), values.next()) {
        (first, None) => Ok(first),
        _ => Err(()),
    }
}

/// The host the request was sent to: the `Host` header (sent once), else the URI's authority
/// (HTTP/2's `:authority`).
fn request_host<'a>(uri: &'a Uri, headers: &'a HeaderMap) -> Option<&'a str> {
    match single(headers, HOST.as_str()) {
        Ok(Some(host)) => host.to_str().ok(),
        Ok(None) => uri.authority().map(|a| a.as_str()),
        Err(()) => None,
    }
}

/// `scheme://authority` split, when `origin` is one (no path, query, fragment or user).
fn split_origin(origin: &str) -> Option<(&str, &str)> {
    let (scheme, authority) = origin.split_once("://")?;
    let scheme_ok = scheme.starts_with(|c: char| c.is_ascii_alphabetic())
        && scheme.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'));
    let authority_ok = !authority.is_empty()
        && authority
            .bytes()
            .all(|b| b.is_ascii_graphic() && !matches!(b, b'/' | b'?' | b'#' | b'@' | b'\\'));
    (scheme_ok && authority_ok).then_some((scheme, authority))
}

/// `authority` without the scheme's default port.
fn without_default_port<'a>(scheme: &str, authority: &'a str) -> &'a str {
    let default = if scheme.eq_ignore_ascii_case("http") {
        ":80"
    } else if scheme.eq_ignore_ascii_case("https") {
        ":443"
    } else {
        return authority;
    };
    authority.strip_suffix(default).unwrap_or(authority)
}

/// `true` when the `Origin` value names `host` (case-insensitive, default ports aside).
fn origin_matches_host(origin: &str, host: &str) -> bool {
    let Some((scheme, authority)) = split_origin(origin) else { return false };
    without_default_port(scheme, authority).eq_ignore_ascii_case(without_default_port(scheme, host))
}

/// `origin` as browsers serialise it, when it is `scheme://host[:port]`.
fn canonical_origin(origin: &str) -> Option<Box<str>> {
    let (scheme, authority) = split_origin(origin)?;
    let authority = without_default_port(scheme, authority);
    if authority.is_empty() || authority.starts_with(':') || authority.ends_with(':') {
        return None;
    }
    Some(format!("{scheme}://{authority}").to_ascii_lowercase().into_boxed_str())
}

/// Why [`CrossOriginProtectionLayer`] refused a request: the `reason` of its problem body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum CrossOriginError {
    /// `Sec-Fetch-Site` is `cross-site` or `same-site`: the request comes from another origin.
    SecFetchSite,
    /// No `Sec-Fetch-Site`, and `Origin` does not name the request's host (an older browser).
    OriginMismatch,
    /// `Sec-Fetch-Site` or `Origin` is repeated, or its value is not one a browser sends.
    MalformedHeader,
}

impl CrossOriginError {
    /// The stable code: `sec_fetch_site`, `origin_mismatch` or `malformed_header`.
    pub fn code(&self) -> &'static str {
        match self {
            Self::SecFetchSite => "sec_fetch_site",
            Self::OriginMismatch => "origin_mismatch",
            Self::MalformedHeader => "malformed_header",
        }
    }
}

impl fmt::Display for CrossOriginError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::SecFetchSite => "Sec-Fetch-Site says the request comes from another origin",
            Self::OriginMismatch => {
                "Origin does not match the request's host, and Sec-Fetch-Site is missing"
            }
            Self::MalformedHeader => "Sec-Fetch-Site or Origin is repeated or malformed",
        })
    }
}

impl std::error::Error for CrossOriginError {}

/// A [trusted origin](CrossOriginProtectionLayer::trusted_origin) that is not
/// `scheme://host[:port]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidOrigin(String);

impl InvalidOrigin {
    /// The value given.
    pub fn origin(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for InvalidOrigin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid trusted origin {:?}: expected scheme://host[:port]", self.0)
    }
}

impl std::error::Error for InvalidOrigin {}

/// The service built by [`CrossOriginProtectionLayer`]: refuses cross-origin requests with
/// unsafe methods, calls the inner service with the others.
#[derive(Debug, Clone)]
pub struct CrossOriginProtection<S> {
    inner: S,
    config: Arc<Config>,
}

impl<S> CrossOriginProtection<S> {
    /// The protected service.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// The protected service, mutably.
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.inner
    }

    /// Unwraps the protected service.
    pub fn into_inner(self) -> S {
        self.inner
    }
}

impl<S, B> Service<Request<B>> for CrossOriginProtection<S>
where
    S: Service<Request<B>, Response = Response>,
{
    type Response = Response;
    type Error = S::Error;
    type Future = CrossOriginFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        let state = match self.config.check(req.method(), req.uri(), req.headers()) {
            Ok(()) => State::Inner { future: self.inner.call(req) },
            Err(reason) => {
                let info = RequestInfo::new(req.method(), req.uri(), req.extensions());
                audit::cross_origin_refused(&info, reason.code());
                let kind = RejectionKind::CrossOrigin(reason);
                let rejection =
                    reject_request(kind, req.method(), req.uri(), req.headers(), req.extensions());
                State::Refused { response: Some(rejection.into_response()) }
            }
        };
        CrossOriginFuture { state }
    }
}

pin_project! {
    /// The future of [`CrossOriginProtection`]: the inner service's, or an immediate refusal.
    pub struct CrossOriginFuture<F> {
        #[pin]
        state: State<F>,
    }
}

pin_project! {
    #[project = StateProj]
    enum State<F> {
        Inner { #[pin] future: F },
        Refused { response: Option<Response> },
    }
}

impl<F, E> Future for CrossOriginFuture<F>
where
    F: Future<Output = Result<Response, E>>,
{
    type Output = Result<Response, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().state.project() {
            StateProj::Inner { future } => future.poll(cx),
            StateProj::Refused { response } => {
                Poll::Ready(Ok(response.take().expect("future polled after completion")))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_match_hosts_with_or_without_default_ports() {
        assert!(origin_matches_host("https://app.example", "app.example"));
        assert!(origin_matches_host("https://app.example", "APP.example:443"));
        assert!(origin_matches_host("http://app.example:80", "app.example"));
        assert!(origin_matches_host("http://[::1]:8080", "[::1]:8080"));
        assert!(!origin_matches_host("https://app.example", "app.example:8443"));
        assert!(!origin_matches_host("https://app.example:80", "app.example"));
        assert!(!origin_matches_host("null", "app.example"));
        assert!(!origin_matches_host("https://app.example/", "app.example"));
        assert!(!origin_matches_host("https://user@app.example", "app.example"));
        assert!(!origin_matches_host("https://", ""));
    }

    #[test]
    fn trusted_origins_are_canonical_or_refused() {
        assert_eq!(
            canonical_origin("HTTPS://App.Example:443").as_deref(),
            Some("https://app.example")
        );
        assert_eq!(
            canonical_origin("http://a.example:8080").as_deref(),
            Some("http://a.example:8080")
        );
        for bad in [
            "",
            "a.example",
            "https://",
            "https://a.example/",
            "https://a.example?x",
            "https://:443",
            "//a.example",
            "https://a b",
        ] {
            assert_eq!(canonical_origin(bad), None, "{bad}");
        }
    }
}
