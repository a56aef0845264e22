//! The `htu` comparison (RFC 9449 section 4.3, step 9): the proof's `htu` and the request's own
//! URI, both without query and fragment, normalised per RFC 3986 sections 6.2.2 and 6.2.3:
//! scheme and host in lower case, the default port dropped, percent-encodings in upper case
//! (and those of unreserved characters decoded), dot segments removed, an empty path as `/`.
//!
//! The request's scheme and host come from, in this order: the configured public origin; the
//! trusted forwarding headers, when they are trusted and present (the value the proxy nearest
//! to this service added: the last one, which a client cannot choose when its proxy appends);
//! the request's own URI (HTTP/2) or `Host` header, as `http`. The path is the one the client
//! asked for (`OriginalUri` under `Router::nest`).

use axum::extract::OriginalUri;
use http::header::HOST;
use http::{Extensions, HeaderMap, Uri};

use super::ForwardedHeaders;

/// A scheme and authority, normalised: `https://api.example.com` (no default port).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Origin(String);

impl Origin {
    /// Parses `scheme://host[:port]` (a trailing `/` allowed; no path, query or userinfo).
    pub(crate) fn parse(text: &str) -> Option<Self> {
        let text = text.strip_suffix('/').unwrap_or(text);
        let (scheme, authority) = text.split_once("://")?;
        if authority.contains(['/', '?', '#']) {
            return None;
        }
        origin(scheme, authority).map(Self)
    }
}

/// `scheme://authority` normalised, or `None` when either part is not one we accept.
fn origin(scheme: &str, authority: &str) -> Option<String> {
    let scheme = scheme.to_ascii_lowercase();
    let default_port = match scheme.as_str() {
        "http" => 80,
        "https" => 443,
        _ => return None,
    };
    let authority_char = |b: u8| {
        b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_' | b'~' | b':' | b'[' | b']')
    };
    if authority.is_empty() || !authority.bytes().all(authority_char) {
        return None; // userinfo (`@`), spaces, percent-encoded hosts: never a request's host
    }
    let (host, port) = if authority.starts_with('[') {
        let (host, after) = authority.split_at(authority.find(']')? + 1);
        (host, if after.is_empty() { after } else { after.strip_prefix(':')? })
    } else {
        authority.rsplit_once(':').unwrap_or((authority, ""))
    };
    if host.is_empty() || (!host.starts_with('[') && host.contains([':', '[', ']'])) {
        return None;
    }
    let port = match port {
        "" => None,
        digits if digits.bytes().all(|b| b.is_ascii_digit()) && digits.len() <= 5 => {
            Some(digits.parse::<u16>().ok()?).filter(|p| *p != default_port)
        }
        _ => return None,
    };
    let host = host.to_ascii_lowercase();
    Some(match port {
        Some(port) => format!("{scheme}://{host}:{port}"),
        None => format!("{scheme}://{host}"),
    })
}

/// An absolute `http`/`https` URI, normalised, without its query and fragment; `None` when it
/// is not one.
pub(crate) fn normalize(uri: &str) -> Option<String> {
    if !uri.bytes().all(|b| (0x21..=0x7e).contains(&b)) {
        return None;
    }
    let uri = uri.split_once('#').map_or(uri, |(u, _)| u);
    let uri = uri.split_once('?').map_or(uri, |(u, _)| u);
    let (scheme, rest) = uri.split_once("://")?;
    let (authority, path) = rest.find('/').map_or((rest, ""), |i| rest.split_at(i));
    let mut out = origin(scheme, authority)?;
    out.push_str(&remove_dot_segments(&percent_normalize(path)?));
    Some(out)
}

/// Percent-encodings in upper case, those of unreserved characters decoded (RFC 3986
/// 6.2.2.1, 6.2.2.2); `None` for a `%` not followed by two hex digits.
fn percent_normalize(path: &str) -> Option<String> {
    let bytes = path.as_bytes();
    let mut out = String::with_capacity(path.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes.get(i + 1..i + 3)?;
            let text = std::str::from_utf8(hex).ok()?;
            let value = u8::from_str_radix(text, 16).ok()?;
            if value.is_ascii_alphanumeric() || matches!(value, b'-' | b'.' | b'_' | b'~') {
                out.push(char::from(value));
            } else {
                out.push('%');
                out.push_str(&text.to_ascii_uppercase());
            }
            i += 3;
        } else {
            out.push(char::from(bytes[i]));
            i += 1;
        }
    }
    Some(out)
}

/// RFC 3986 5.2.4 for an absolute path (or none): `.` and `..` segments resolved; `/` at least.
fn remove_dot_segments(path: &str) -> String {
    let Some(rest) = path.strip_prefix('/') else { return "/".to_owned() };
    let segments: Vec<&str> = rest.split('/').collect();
    let mut out: Vec<&str> = Vec::with_capacity(segments.len());
    for (i, segment) in segments.iter().enumerate() {
        let last = i + 1 == segments.len();
        match *segment {
            "." => {}
            ".." => {
                out.pop();
            }
            other => {
                out.push(other);
                continue;
            }
        }
        if last {
            out.push("");
        }
    }
    format!("/{}", out.join("/"))
}

/// The last value of a comma-separated header (over all its lines), trimmed.
fn last_value<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    let line = headers.get_all(name).iter().next_back()?.to_str().ok()?;
    Some(line.rsplit(',').next()?.trim()).filter(|v| !v.is_empty())
}

/// `proto` and `host` of the last element of `Forwarded` (RFC 7239), quotes removed.
fn forwarded(headers: &HeaderMap) -> (Option<&str>, Option<&str>) {
    let Some(element) = last_value(headers, "forwarded") else { return (None, None) };
    let (mut proto, mut host) = (None, None);
    for pair in element.split(';') {
        let Some((name, value)) = pair.trim().split_once('=') else { continue };
        let value = value.trim();
        let value = value.strip_prefix('"').and_then(|v| v.strip_suffix('"')).unwrap_or(value);
        if name.trim().eq_ignore_ascii_case("proto") {
            proto = Some(value);
        } else if name.trim().eq_ignore_ascii_case("host") {
            host = Some(value);
        }
    }
    (proto, host)
}

/// What the request's `htu` must be, normalised; `None` when the request does not say (no
/// host), which no proof matches.
pub(crate) fn expected(
    public: Option<&Origin>,
    trusted: Option<ForwardedHeaders>,
    uri: &Uri,
    headers: &HeaderMap,
    extensions: &Extensions,
) -> Option<String> {
    let path = extensions.get::<OriginalUri>().map_or(uri, |o| &o.0).path();
    // The router dispatches on the path as sent, dot segments and all (`/files/%2E%2E` reaches
    // `/files/{name}`), while normalising would make it `/`: a proof for `/` must not pass
    // there. Clients remove dot segments before sending, so a request with one has no proof.
    if has_dot_segment(path) {
        return None;
    }
    let base = match public {
        Some(Origin(base)) => base.clone(),
        None => {
            let own_scheme = uri.scheme_str().unwrap_or("http");
            let own_host = match uri.authority() {
                Some(authority) => Some(authority.as_str()),
                None => headers.get(HOST).and_then(|h| h.to_str().ok()),
            };
            let (proto, host) = match trusted {
                Some(ForwardedHeaders::Forwarded) => forwarded(headers),
                Some(ForwardedHeaders::XForwarded) => (
                    last_value(headers, "x-forwarded-proto"),
                    last_value(headers, "x-forwarded-host"),
                ),
                None => (None, None),
            };
            origin(proto.unwrap_or(own_scheme), host.or(own_host)?)?
        }
    };
    normalize(&format!("{base}{path}"))
}

/// `true` when a segment of `path` is `.` or `..`, percent-encoded or not.
fn has_dot_segment(path: &str) -> bool {
    path.split('/').any(|segment| {
        let dots = segment.replace("%2e", ".").replace("%2E", ".");
        dots == "." || dots == ".."
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_path_with_dot_segments_matches_no_proof() {
        let public = Origin::parse("https://api.example.com");
        for path in ["/files/%2E%2E", "/files/..", "/./files", "/a/%2e/b", "/.."] {
            let uri: Uri = path.parse().unwrap();
            assert_eq!(
                expected(public.as_ref(), None, &uri, &HeaderMap::new(), &Extensions::new()),
                None,
                "{path}"
            );
        }
        let ok: Uri = "/files/..x/.hidden".parse().unwrap();
        assert!(
            expected(public.as_ref(), None, &ok, &HeaderMap::new(), &Extensions::new()).is_some()
        );
    }

    #[test]
    fn normalises_as_rfc_3986_section_6_2_2_and_6_2_3() {
        let same = [
            ("https://API.Example.COM/a", "https://api.example.com/a"),
            ("HTTPS://api.example.com:443/a", "https://api.example.com/a"),
            ("http://api.example.com:80", "http://api.example.com/"),
            ("http://api.example.com", "http://api.example.com/"),
            ("http://api.example.com:8080/a", "http://api.example.com:8080/a"),
            ("https://api.example.com/a%2fb", "https://api.example.com/a%2Fb"),
            ("https://api.example.com/%7Euser/%61", "https://api.example.com/~user/a"),
            ("https://api.example.com/a/./b/../c", "https://api.example.com/a/c"),
            ("https://api.example.com/a/..", "https://api.example.com/"),
            ("https://api.example.com/a?x=1#frag", "https://api.example.com/a"),
            ("https://api.example.com?x=1", "https://api.example.com/"),
            ("http://[::1]:3000/a", "http://[::1]:3000/a"),
            ("http://127.0.0.1:3000/a", "http://127.0.0.1:3000/a"),
            ("https://api.example.com:/a", "https://api.example.com/a"),
        ];
        for (input, want) in same {
            assert_eq!(normalize(input).as_deref(), Some(want), "{input}");
        }
        // The path keeps its case; the scheme must be http(s); no userinfo, no bad escapes.
        assert_ne!(normalize("https://a.example/A"), normalize("https://a.example/a"));
        for bad in [
            "ftp://a.example/",
            "https:/a.example/",
            "/relative",
            "https://user@a.example/",
            "https://a.example/%zz",
            "https://a.example:99999/",
            "https://a.example:x/",
            "https:///path",
            "https://a b/",
            "https://[::1/",
        ] {
            assert_eq!(normalize(bad), None, "{bad}");
        }
    }

    #[test]
    fn an_origin_is_scheme_and_host_only() {
        assert_eq!(
            Origin::parse("https://API.example.com/"),
            Some(Origin("https://api.example.com".into()))
        );
        assert_eq!(
            Origin::parse("http://localhost:3000"),
            Some(Origin("http://localhost:3000".into()))
        );
        assert_eq!(Origin::parse("https://api.example.com/v1"), None);
        assert_eq!(Origin::parse("api.example.com"), None);
    }

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, v.parse().unwrap());
        }
        h
    }

    #[test]
    fn the_expected_uri_comes_from_the_configured_origin_or_trusted_headers_only() {
        let uri: Uri = "/api/me?x=1".parse().unwrap();
        let ext = Extensions::new();
        let h = headers(&[
            ("host", "internal:8080"),
            ("forwarded", "proto=http;host=evil.example, proto=https;host=\"api.example.com\""),
            ("x-forwarded-proto", "https"),
            ("x-forwarded-host", "xf.example.com"),
        ]);
        let own = expected(None, None, &uri, &h, &ext);
        assert_eq!(own.as_deref(), Some("http://internal:8080/api/me"));
        let fwd = expected(None, Some(ForwardedHeaders::Forwarded), &uri, &h, &ext);
        assert_eq!(fwd.as_deref(), Some("https://api.example.com/api/me"));
        let xf = expected(None, Some(ForwardedHeaders::XForwarded), &uri, &h, &ext);
        assert_eq!(xf.as_deref(), Some("https://xf.example.com/api/me"));
        let public = Origin::parse("https://public.example").unwrap();
        let configured = expected(Some(&public), Some(ForwardedHeaders::Forwarded), &uri, &h, &ext);
        assert_eq!(configured.as_deref(), Some("https://public.example/api/me"));
        let mut nested = Extensions::new();
        nested.insert(OriginalUri("/v1/api/me".parse().unwrap()));
        let n = expected(Some(&public), None, &uri, &h, &nested);
        assert_eq!(n.as_deref(), Some("https://public.example/v1/api/me"));
        assert_eq!(expected(None, None, &uri, &HeaderMap::new(), &ext), None);
    }
}
