//! The HTTP side of remote keys: which URLs may be fetched, the client (timeouts, redirects),
//! bounded body reads and the `Cache-Control: max-age` directive.
//!
//! URL rule: `https://` always; `http://` only when the host is a loopback address
//! (`127.0.0.0/8`, `::1`, `localhost`), and no URL may carry a user name or password (it would
//! end up in logs). Redirects are followed (at most 3) only to URLs that pass the same rule and
//! never from `https` down to `http`. Proxy environment variables are ignored: key fetches go
//! straight to the configured host. Key URLs come from configuration or from a discovery
//! document fetched from the configured issuer, never from a token.

use std::fmt;
use std::time::Duration;

use http::header::{ACCEPT, CACHE_CONTROL, HeaderMap};
use reqwest::{Client, Url, redirect};

/// Why a URL may not be used to fetch keys or discovery documents.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum UrlError {
    /// The text is not an absolute URL.
    Invalid(String),
    /// The URL is neither `https://` nor `http://` to a loopback address, or it carries
    /// credentials.
    Insecure(String),
}

impl fmt::Display for UrlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Invalid(url) => write!(f, "`{url}` is not a valid absolute URL"),
            Self::Insecure(url) => write!(
                f,
                "`{url}` must use https (plain http is allowed only for loopback addresses)"
            ),
        }
    }
}

impl std::error::Error for UrlError {}

/// `true` for `localhost` (any case, optional trailing dot), `127.0.0.0/8` and `::1`.
fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => {
            d.strip_suffix('.').unwrap_or(d).eq_ignore_ascii_case("localhost")
        }
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

/// Checks the URL rule in the module docs.
pub(crate) fn check_url(url: &Url) -> Result<(), UrlError> {
    let allowed = match url.scheme() {
        "https" => url.host().is_some(),
        "http" => is_loopback(url),
        _ => false,
    };
    let credentials = !url.username().is_empty() || url.password().is_some();
    if allowed && !credentials {
        Ok(())
    } else {
        // Never echo credentials back into an error message (or a log line).
        let mut shown = url.clone();
        let _ = shown.set_username("");
        let _ = shown.set_password(None);
        Err(UrlError::Insecure(shown.to_string()))
    }
}

/// Parses and checks a URL.
pub(crate) fn parse_url(text: &str) -> Result<Url, UrlError> {
    let url = Url::parse(text).map_err(|_| UrlError::Invalid(text.to_owned()))?;
    check_url(&url)?;
    Ok(url)
}

/// Network limits shared by JWKS and discovery fetches.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    pub(crate) connect_timeout: Duration,
    pub(crate) timeout: Duration,
    pub(crate) max_body_bytes: usize,
}

/// A client with the limits applied and redirects restricted by the URL rule.
pub(crate) fn client(limits: &Limits) -> Result<Client, String> {
    let policy = redirect::Policy::custom(|attempt| {
        // `previous()` holds the original URL and every redirect followed so far.
        let downgrade = attempt.url().scheme() == "http"
            && attempt.previous().iter().any(|u| u.scheme() == "https");
        if attempt.previous().len() > 3 {
            attempt.error("too many redirects")
        } else if check_url(attempt.url()).is_err() || downgrade {
            attempt.error("redirect to a URL that is not https or loopback, or from https to http")
        } else {
            attempt.follow()
        }
    });
    Client::builder()
        .no_proxy()
        .connect_timeout(limits.connect_timeout)
        .timeout(limits.timeout)
        .redirect(policy)
        .user_agent(concat!("axum-session-mfa/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| e.to_string())
}

/// A successful fetch: the body and the response headers.
pub(crate) struct Fetched {
    pub(crate) body: Vec<u8>,
    pub(crate) headers: HeaderMap,
}

/// GETs a JSON document: non-2xx statuses, bodies over the limit and timeouts are errors.
pub(crate) async fn get_json(
    client: &Client,
    url: &Url,
    max_body_bytes: usize,
) -> Result<Fetched, String> {
    let mut response = client
        .get(url.clone())
        .header(ACCEPT, "application/json, application/jwk-set+json")
        .send()
        .await
        .map_err(|e| describe(&e))?;
    let status = response.status();
    if !status.is_success() {
        return Err(format!("HTTP status {status}"));
    }
    if response.content_length().is_some_and(|n| n > max_body_bytes as u64) {
        return Err(format!("body larger than {max_body_bytes} bytes"));
    }
    let headers = response.headers().clone();
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|e| describe(&e))? {
        if body.len() + chunk.len() > max_body_bytes {
            return Err(format!("body larger than {max_body_bytes} bytes"));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(Fetched { body, headers })
}

fn describe(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        "timed out".to_owned()
    } else if e.is_connect() {
        "connection failed".to_owned()
    } else if e.is_redirect() {
        "redirect refused".to_owned()
    } else {
        // reqwest errors name the URL; it is configuration, not a secret.
        e.to_string()
    }
}

/// The `max-age` of `Cache-Control`, in seconds; `no-store` and `no-cache` count as 0.
/// Several header lines are read as one list; an unparsable value is ignored.
pub(crate) fn max_age(headers: &HeaderMap) -> Option<u64> {
    let mut found = None;
    for value in headers.get_all(CACHE_CONTROL) {
        let Ok(value) = value.to_str() else { continue };
        for directive in value.split(',') {
            let directive = directive.trim();
            let (name, arg) = directive.split_once('=').unwrap_or((directive, ""));
            let name = name.trim();
            if name.eq_ignore_ascii_case("no-store") || name.eq_ignore_ascii_case("no-cache") {
                return Some(0);
            }
            if name.eq_ignore_ascii_case("max-age")
                && let Ok(secs) = arg.trim().trim_matches('"').parse::<u64>()
            {
                found = Some(found.map_or(secs, |f: u64| f.min(secs)));
            }
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_rule() {
        for ok in [
            "https://idp.example/jwks",
            "http://127.0.0.1:8080/jwks",
            "http://127.9.9.9/jwks",
            "http://[::1]:3000/jwks",
            "http://localhost/jwks",
            "http://LOCALHOST./jwks",
        ] {
            assert!(parse_url(ok).is_ok(), "{ok}");
        }
        for bad in [
            "http://idp.example/jwks",
            "http://10.0.0.1/jwks",
            "http://localhost.evil.example/jwks",
            "http://[::2]/jwks",
            "ftp://idp.example/jwks",
            "file:///etc/passwd",
        ] {
            assert!(matches!(parse_url(bad), Err(UrlError::Insecure(_))), "{bad}");
        }
        assert!(matches!(parse_url("not a url"), Err(UrlError::Invalid(_))));
        assert!(matches!(parse_url("/relative"), Err(UrlError::Invalid(_))));
    }

    fn headers(values: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in values {
            h.append(CACHE_CONTROL, v.parse().unwrap());
        }
        h
    }

    #[test]
    fn cache_control() {
        assert_eq!(max_age(&headers(&[])), None);
        assert_eq!(max_age(&headers(&["public, max-age=3600"])), Some(3600));
        assert_eq!(max_age(&headers(&["Max-Age = 60 , must-revalidate"])), Some(60));
        assert_eq!(max_age(&headers(&["max-age=\"90\""])), Some(90));
        assert_eq!(max_age(&headers(&["max-age=abc"])), None);
        assert_eq!(max_age(&headers(&["max-age=-5"])), None);
        assert_eq!(max_age(&headers(&["max-age=600", "max-age=60"])), Some(60));
        assert_eq!(max_age(&headers(&["no-store"])), Some(0));
        assert_eq!(max_age(&headers(&["max-age=600, no-cache"])), Some(0));
    }
}
