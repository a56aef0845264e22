//! The cookies the lifecycle writes: the session (`HttpOnly`, `Secure` except on loopback
//! `http`, `SameSite=Lax`, `Path=/`) and the short-lived sign-in attempt beside it.

use std::time::Duration;

use cookie::{Cookie, SameSite};
use http::header::COOKIE;
use http::{HeaderMap, HeaderValue};

use super::flow::FLOW_TTL;

/// How long a browser keeps the session cookie (as authkit-nextjs: 400 days, the most browsers
/// allow). The session itself ends when its refresh token stops working.
pub(crate) const SESSION_COOKIE_MAX_AGE: Duration = Duration::from_secs(400 * 24 * 3600);

/// Browsers drop cookies larger than this (name, value and attributes).
pub(crate) const BROWSER_COOKIE_LIMIT: usize = 4096;

#[derive(Debug, Clone)]
pub(crate) struct CookieSettings {
    pub(crate) name: String,
    /// How sign-in attempt cookies start: `__Host-` (when the cookies are `Secure` and
    /// host-only, so a sibling subdomain cannot plant one), the session cookie's name, `-login-`.
    /// Each attempt's cookie ends with 8 hex digits of its `state`'s hash, so two tabs signing in
    /// at once do not overwrite each other.
    pub(crate) flow_prefix: String,
    pub(crate) secure: bool,
    pub(crate) domain: Option<String>,
    pub(crate) max_age: Duration,
}

impl CookieSettings {
    /// The session cookie `name` and the attempts' cookies, `Secure` when `secure`. `Err(name)`
    /// for a `__Host-` name with a `Domain` or without `Secure`: browsers refuse to store it.
    pub(crate) fn new(name: String, domain: Option<String>, secure: bool) -> Result<Self, String> {
        if name.starts_with("__Host-") && (domain.is_some() || !secure) {
            return Err(name);
        }
        let base = name.trim_start_matches("__Host-").trim_start_matches("__Secure-");
        let host_only = if secure && domain.is_none() { "__Host-" } else { "" };
        Ok(Self {
            flow_prefix: format!("{host_only}{base}-login-"),
            name,
            secure,
            domain,
            max_age: SESSION_COOKIE_MAX_AGE,
        })
    }
}

/// A cookie's value when the request carries it once (or several times with one value);
/// `Err` when it appears with different values (planted by a sibling domain), `Ok(None)` when
/// absent.
pub(crate) fn read(headers: &HeaderMap, name: &str) -> Result<Option<String>, ()> {
    let mut found: Option<String> = None;
    for value in headers.get_all(COOKIE) {
        // Another cookie with non-ASCII bytes must not hide ours: decode lossily, as the
        // layer's sources do.
        let text = String::from_utf8_lossy(value.as_bytes());
        for cookie in Cookie::split_parse(text.as_ref()).flatten() {
            if cookie.name() == name {
                match &found {
                    Some(prev) if prev != cookie.value() => return Err(()),
                    Some(_) => {}
                    None => found = Some(cookie.value().to_owned()),
                }
            }
        }
    }
    Ok(found)
}

/// Most values of one cookie that [`values`] returns.
const MAX_VALUES: usize = 4;

/// The distinct values of the cookie `name` (at most [`MAX_VALUES`]), in the order sent.
pub(crate) fn values(headers: &HeaderMap, name: &str) -> Vec<String> {
    let mut found: Vec<String> = Vec::new();
    for value in headers.get_all(COOKIE) {
        let text = String::from_utf8_lossy(value.as_bytes());
        for cookie in Cookie::split_parse(text.as_ref()).flatten() {
            if cookie.name() == name && !found.iter().any(|v| v == cookie.value()) {
                if found.len() == MAX_VALUES {
                    return found;
                }
                found.push(cookie.value().to_owned());
            }
        }
    }
    found
}

impl CookieSettings {
    fn build<'a>(&self, name: &'a str, value: String, max_age: Duration) -> Cookie<'a> {
        let mut c = Cookie::build((name, value))
            .http_only(true)
            .secure(self.secure)
            .same_site(SameSite::Lax)
            .path("/")
            .max_age(cookie::time::Duration::seconds(max_age.as_secs() as i64));
        if let Some(domain) = &self.domain {
            c = c.domain(domain.clone());
        }
        c.build()
    }

    fn header(cookie: &Cookie<'_>) -> HeaderValue {
        // Names and sealed values are ASCII tokens (iron seals use base64url, `*` and `~`), so
        // the header value is always valid.
        HeaderValue::try_from(cookie.to_string()).unwrap_or_else(|_| HeaderValue::from_static(""))
    }

    /// `Set-Cookie` for a sealed session.
    pub(crate) fn session(&self, sealed: String) -> HeaderValue {
        let cookie = self.build(&self.name, sealed, self.max_age);
        let header = Self::header(&cookie);
        if header.len() > BROWSER_COOKIE_LIMIT {
            tracing::warn!(
                bytes = header.len(),
                cookie = %self.name,
                "the session cookie exceeds 4096 bytes; browsers will drop it (fewer scopes or \
                 claims make the tokens smaller)"
            );
        }
        header
    }

    /// `Set-Cookie` that removes the session.
    pub(crate) fn clear_session(&self) -> HeaderValue {
        Self::header(&self.build(&self.name, String::new(), Duration::ZERO))
    }

    /// The cookie name of the sign-in attempt with this `state`.
    pub(crate) fn flow_name(&self, state: &str) -> String {
        let hash = super::flow::hex_sha256(state);
        format!("{}{}", self.flow_prefix, &hash[..8])
    }

    /// `Set-Cookie` for a sign-in attempt.
    pub(crate) fn flow(&self, state: &str, sealed: String) -> HeaderValue {
        Self::header(&self.build(&self.flow_name(state), sealed, FLOW_TTL))
    }

    /// `Set-Cookie` that removes the sign-in attempt (it is single-use).
    pub(crate) fn clear_flow(&self, state: &str) -> HeaderValue {
        Self::header(&self.build(&self.flow_name(state), String::new(), Duration::ZERO))
    }

    /// `true` when `value` (a `Set-Cookie` header) sets the session cookie.
    pub(crate) fn sets_session(&self, value: &HeaderValue) -> bool {
        value
            .to_str()
            .ok()
            .and_then(|v| v.split_once('='))
            .is_some_and(|(name, _)| name.trim() == self.name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(secure: bool) -> CookieSettings {
        CookieSettings {
            name: "session".into(),
            flow_prefix: "session-login-".into(),
            secure,
            domain: None,
            max_age: SESSION_COOKIE_MAX_AGE,
        }
    }

    #[test]
    fn session_cookie_attributes() {
        let v = settings(true).session("Fe26.2**abc".into());
        let v = v.to_str().unwrap();
        for part in ["session=Fe26.2**abc", "HttpOnly", "SameSite=Lax", "Secure", "Path=/"] {
            assert!(v.contains(part), "{v} lacks {part}");
        }
        assert!(v.contains("Max-Age=34560000"), "{v}");
        let local = settings(false).session("x".into());
        assert!(!local.to_str().unwrap().contains("Secure"));
        let clear = settings(true).clear_session();
        assert!(clear.to_str().unwrap().contains("Max-Age=0"), "{clear:?}");
        assert!(settings(true).sets_session(&clear));
        assert!(!settings(true).sets_session(&settings(true).flow("st", "y".into())));
        assert_eq!(settings(true).flow_name("st").len(), "session-login-".len() + 8);
    }

    #[test]
    fn reads_one_cookie_and_refuses_conflicting_duplicates() {
        let mut h = HeaderMap::new();
        h.append(COOKIE, HeaderValue::from_static("a=1; session=abc; b=2"));
        assert_eq!(read(&h, "session"), Ok(Some("abc".to_owned())));
        assert_eq!(read(&h, "missing"), Ok(None));
        h.append(COOKIE, HeaderValue::from_static("session=abc"));
        assert_eq!(
            read(&h, "session"),
            Ok(Some("abc".to_owned())),
            "one value twice is one cookie"
        );
        h.append(COOKIE, HeaderValue::from_static("session=planted"));
        assert_eq!(read(&h, "session"), Err(()));
        assert_eq!(values(&h, "session"), ["abc", "planted"], "sign-out reads every value");
        // A cookie header with non-ASCII bytes still yields our cookie.
        let mut h = HeaderMap::new();
        h.append(COOKIE, HeaderValue::from_bytes(b"pref=caf\xc3\xa9; session=abc").unwrap());
        assert_eq!(read(&h, "session"), Ok(Some("abc".to_owned())));
    }
}
