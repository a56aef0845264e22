//! Browser step-up redirects and safe `return_to` values.
//!
//! When a guard is configured with a step-up URL, a **browser navigation** (a `GET` or `HEAD`
//! whose `Accept` lists `text/html`, and whose `Sec-Fetch-Mode`, when sent, is `navigate`)
//! that fails the policy is answered with `303 See Other` to
//! `<step-up URL>?return_to=<path and query of the request>` instead of a 403. API clients keep
//! getting the 403 challenge. A login URL works the same way for navigations without a valid
//! session (401 cases, keys-unavailable excepted).
//!
//! `return_to` is only ever a same-origin relative path. [`safe_return_to`] is the check, and
//! the step-up endpoint **must** apply it again to the value it receives before redirecting
//! back: that endpoint is where an open redirect would happen.

use http::header::{ACCEPT, LOCATION};
use http::{HeaderMap, HeaderValue, Method, StatusCode};
use percent_encoding::percent_decode_str;

/// Returns `candidate` when it is a safe same-origin relative path to redirect to, else `None`.
///
/// Safe means: it starts with a single `/` and carries no backslash, whitespace or control
/// character; and once or twice percent-decoded it still does not start with `//` or `/\` nor
/// contain a control character. That refuses protocol-relative URLs (`//evil.example`),
/// absolute URLs (`https://evil.example`, `javascript:`), backslash tricks
/// (`/\evil.example`), header injection (`%0d%0a`) and encoded variants
/// (`/%2F%2Fevil.example`, `/%5Cevil.example`, double encoding).
///
/// ```
/// use axum_session_mfa::safe_return_to;
/// assert_eq!(safe_return_to("/admin?tab=keys"), Some("/admin?tab=keys"));
/// assert_eq!(safe_return_to("//evil.example"), None);
/// assert_eq!(safe_return_to("https://evil.example"), None);
/// assert_eq!(safe_return_to("/%2F%2Fevil.example"), None);
/// ```
pub fn safe_return_to(candidate: &str) -> Option<&str> {
    let raw_ok = candidate.starts_with('/')
        && !candidate.starts_with("//")
        && !candidate.chars().any(|c| c == '\\' || c.is_whitespace() || c.is_control());
    if !raw_ok {
        return None;
    }
    let once = percent_decode_str(candidate).decode_utf8().ok()?;
    let twice = percent_decode_str(&once).decode_utf8().ok()?;
    let decoded_ok =
        |s: &str| !s.starts_with("//") && !s.starts_with("/\\") && !s.chars().any(char::is_control);
    (decoded_ok(&once) && decoded_ok(&twice)).then_some(candidate)
}

/// `true` for a top-level browser navigation that can follow a redirect.
pub(crate) fn is_browser_navigation(method: &Method, headers: &HeaderMap) -> bool {
    if method != Method::GET && method != Method::HEAD {
        return false;
    }
    if let Some(mode) = headers.get("sec-fetch-mode")
        && mode.as_bytes() != b"navigate"
    {
        return false;
    }
    headers.get_all(ACCEPT).iter().filter_map(|v| v.to_str().ok()).any(|accept| {
        accept.split(',').any(|range| {
            let media = range.split(';').next().unwrap_or_default().trim();
            media.eq_ignore_ascii_case("text/html")
        })
    })
}

/// A configured step-up URL.
#[derive(Debug, Clone)]
pub(crate) struct StepUp {
    url: String,
}

impl StepUp {
    pub(crate) fn new(url: impl Into<String>) -> Self {
        Self { url: url.into() }
    }

    /// The redirect for a request to `path_and_query`; `return_to` falls back to `/` when the
    /// request target itself is not a safe local path. `None` when the configured URL cannot
    /// form a `Location` header (the caller then answers with the plain rejection).
    pub(crate) fn redirect(&self, path_and_query: &str) -> Option<axum::response::Response> {
        let return_to = safe_return_to(path_and_query).unwrap_or("/");
        let separator = if self.url.contains('?') { '&' } else { '?' };
        let encoded: String = form_urlencoded::byte_serialize(return_to.as_bytes()).collect();
        let location = HeaderValue::try_from(format!("{}{separator}return_to={encoded}", self.url));
        let mut response = axum::response::Response::new(axum::body::Body::empty());
        *response.status_mut() = StatusCode::SEE_OTHER;
        response.headers_mut().insert(LOCATION, location.ok()?);
        Some(response)
    }
}
