//! Browser step-up redirects and safe `return_to` values.
//!
//! When the layer is configured with a step-up URL
//! ([`AuthLayerBuilder::step_up_redirect`](crate::AuthLayerBuilder::step_up_redirect)), a
//! **browser navigation** (a `GET` or `HEAD`
//! whose `Accept` lists `text/html`, and whose `Sec-Fetch-Mode`, when sent, is `navigate`)
//! that fails the policy is answered with `303 See Other` to
//! `<step-up URL>?return_to=<path and query of the request>` (plus the policy's `max_age` and
//! `acr_values` when it has them) instead of a 403. API clients keep
//! getting the 403 challenge. A login URL works the same way for navigations without a valid
//! session (401 cases, keys-unavailable excepted).
//!
//! `return_to` is only ever a same-origin relative path. [`safe_return_to`] is the check, and
//! the step-up endpoint **must** apply it again to the value it receives before redirecting
//! back: that endpoint is where an open redirect would happen.

use http::header::ACCEPT;
use http::{HeaderMap, HeaderValue, Method};
use percent_encoding::percent_decode_str;

use crate::MfaPolicy;

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

/// The `Location` of a redirect to `url` for a request to `path_and_query`: `return_to` (which
/// falls back to `/` when the request target itself is not a safe local path), and for a
/// step-up the policy's `max_age` (seconds) and `acr_values` (space separated), so a sign-in
/// endpoint can ask the provider for exactly what the policy needs. `None` when `url` cannot
/// form a `Location` header (the caller then answers with the plain rejection).
pub(crate) fn redirect_location(
    url: &str,
    path_and_query: &str,
    policy: Option<&MfaPolicy>,
) -> Option<HeaderValue> {
    let return_to = safe_return_to(path_and_query).unwrap_or("/");
    let mut query = form_urlencoded::Serializer::new(String::new());
    query.append_pair("return_to", return_to);
    if let Some(policy) = policy {
        if let Some(max_age) = policy.max_age() {
            query.append_pair("max_age", &max_age.as_secs().to_string());
        }
        if !policy.acr_values().is_empty() {
            query.append_pair("acr_values", &policy.acr_values().join(" "));
        }
    }
    let separator = if url.contains('?') { '&' } else { '?' };
    HeaderValue::try_from(format!("{url}{separator}{}", query.finish())).ok()
}
