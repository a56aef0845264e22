//! Where tokens come from: a named cookie and/or the `Authorization: Bearer` header.
//!
//! Every configured source is read. When several carry a token, they must carry **the same
//! one** (for an AuthKit cookie: the access token sealed inside it), else the request is
//! refused as [`AuthError::AmbiguousToken`]: a cookie planted by a sibling subdomain never
//! overrides the bearer token a client sent, and a stale cookie never silently falls back to a
//! different credential, or the reverse. Order does not matter.
//!
//! Edge cases, each a deliberate choice:
//! * **Duplicate cookies** with the same name (cookie tossing from a sibling domain): accepted
//!   when every copy has the same value, otherwise [`AuthError::AmbiguousToken`].
//! * A **DQUOTE-wrapped** cookie value (`session="eyJ..."`, RFC 6265 `cookie-value`) is
//!   unwrapped. An empty value (`session=`, a cleared cookie) counts as no token.
//! * Bytes that are not UTF-8 in a `Cookie` header are replaced (U+FFFD) before parsing, so a
//!   junk cookie planted by a sibling domain cannot lock users out; a session cookie carrying
//!   such bytes then fails verification (`malformed_token`). An `Authorization` header that is
//!   not visible ASCII is [`AuthError::MalformedHeader`].
//! * More than one `Authorization` header is [`AuthError::AmbiguousToken`]; a scheme other
//!   than `Bearer` (case-insensitive) is not ours and counts as no token; `Bearer` with an
//!   empty or space-containing credential is [`AuthError::MalformedHeader`].
//! * With [DPoP](crate::dpop) on, `Authorization: DPoP <token>` (RFC 9449) is read too, even
//!   when no source is [`TokenSource::Bearer`], and marked as such: the layer then asks for its
//!   proof. With DPoP off, the `DPoP` scheme is not ours either.
//! * A token longer than the size limit (8 KiB by default) is [`AuthError::TokenTooLarge`],
//!   refused before any decoding.

use std::borrow::Cow;

use http::HeaderMap;
use http::header::{AUTHORIZATION, COOKIE};

use crate::AuthError;

/// Default limit on a token's size in bytes.
pub const DEFAULT_MAX_TOKEN_BYTES: usize = 8 * 1024;

/// Where to look for a session token.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TokenSource {
    /// A cookie with this name (`session` by default, `wos-session` with AuthKit; consider a
    /// `__Host-` prefixed name for new deployments).
    Cookie(String),
    /// The `Authorization: Bearer <token>` header (RFC 6750).
    Bearer,
}

impl TokenSource {
    /// A short label for audit events: `cookie` or `bearer`.
    pub(crate) fn label(&self) -> &'static str {
        match self {
            Self::Cookie(_) => "cookie",
            Self::Bearer => "bearer",
        }
    }
}

impl TokenSource {
    /// A cookie with this name.
    pub fn cookie(name: impl Into<String>) -> Self {
        Self::Cookie(name.into())
    }
}

/// A token found in a request, with where it came from.
pub(crate) struct Found<'a> {
    /// Borrowed from the request's headers, unless a `Cookie` header had to be repaired.
    pub(crate) token: Cow<'a, str>,
    pub(crate) source: &'a TokenSource,
    /// Sent as `Authorization: DPoP` (only read with DPoP on): it needs a proof.
    pub(crate) dpop: bool,
}

/// The tokens a request carries, one per source that carries one (never empty); the caller
/// decides whether they name the same session.
pub(crate) struct FoundAll<'a> {
    pub(crate) first: Found<'a>,
    pub(crate) others: Vec<Found<'a>>,
}

impl<'a> FoundAll<'a> {
    pub(crate) fn iter(&self) -> impl Iterator<Item = &Found<'a>> {
        std::iter::once(&self.first).chain(&self.others)
    }
}

/// Finds the tokens per the rules in the module docs; `dpop`: the `DPoP` scheme is read too.
pub(crate) fn find<'a>(
    sources: &'a [TokenSource],
    headers: &'a HeaderMap,
    limit: usize,
    dpop: bool,
) -> Result<FoundAll<'a>, AuthError> {
    static AUTHORIZATION_HEADER: TokenSource = TokenSource::Bearer;
    let mut first: Option<Found<'a>> = None;
    let mut others = Vec::new();
    let reads_header = sources.contains(&TokenSource::Bearer);
    // Without a Bearer source, DPoP still reads the `Authorization` header (its scheme only).
    let extra = (dpop && !reads_header).then_some(&AUTHORIZATION_HEADER);
    for source in sources.iter().chain(extra) {
        let (token, is_dpop) = match source {
            TokenSource::Cookie(name) => (from_cookies(headers, name)?, false),
            TokenSource::Bearer => match from_authorization(headers, reads_header, dpop)? {
                Some((token, is_dpop)) => (Some(token), is_dpop),
                None => (None, false),
            },
        };
        let Some(token) = token else { continue };
        if token.len() > limit {
            return Err(AuthError::TokenTooLarge { limit });
        }
        let found = Found { token, source, dpop: is_dpop };
        match &first {
            None => first = Some(found),
            Some(_) => others.push(found),
        }
    }
    first.map(|first| FoundAll { first, others }).ok_or(AuthError::MissingToken)
}

fn from_cookies<'h>(headers: &'h HeaderMap, name: &str) -> Result<Option<Cow<'h, str>>, AuthError> {
    let mut found: Option<Cow<'h, str>> = None;
    for header in headers.get_all(COOKIE) {
        // Invalid UTF-8 belongs to someone else's cookie (a sibling domain can plant one): it
        // must not lock users out. Lossy decoding keeps every other cookie intact, and a session
        // cookie with such bytes fails verification anyway. Unparseable cookies are skipped.
        let bytes = header.as_bytes();
        match std::str::from_utf8(bytes) {
            Ok(text) => {
                for cookie in cookie::Cookie::split_parse(text).flatten() {
                    if cookie.name() == name {
                        // Borrowed from the header: the text `value_trimmed` gives, when the
                        // raw value is the very slice `value()` reads (checked by address).
                        let value = cookie.value();
                        let raw = cookie.value_raw().filter(|raw| {
                            std::ptr::eq(raw.as_ptr(), value.as_ptr()) && raw.len() == value.len()
                        });
                        let value = raw.map_or_else(
                            || Cow::Owned(cookie.value_trimmed().to_owned()),
                            |raw| Cow::Borrowed(unquote(raw)),
                        );
                        agree(&mut found, value)?;
                    }
                }
            }
            Err(_) => {
                let text = String::from_utf8_lossy(bytes);
                for cookie in cookie::Cookie::split_parse(text.as_ref()).flatten() {
                    if cookie.name() == name {
                        agree(&mut found, Cow::Owned(cookie.value_trimmed().to_owned()))?;
                    }
                }
            }
        }
    }
    Ok(found.filter(|v| !v.is_empty()))
}

/// Duplicate cookies must carry the same value.
fn agree<'h>(found: &mut Option<Cow<'h, str>>, value: Cow<'h, str>) -> Result<(), AuthError> {
    match found {
        Some(previous) if *previous != value => Err(AuthError::AmbiguousToken),
        Some(_) => Ok(()),
        None => {
            *found = Some(value);
            Ok(())
        }
    }
}

/// A cookie value without the DQUOTEs RFC 6265 allows around it (`cookie`'s `value_trimmed`).
fn unquote(raw: &str) -> &str {
    raw.strip_prefix('"').and_then(|v| v.strip_suffix('"')).unwrap_or(raw)
}

/// The credential of the `Authorization` header for the schemes read (`Bearer`, `DPoP`), and
/// whether it was `DPoP`.
fn from_authorization(
    headers: &HeaderMap,
    bearer: bool,
    dpop: bool,
) -> Result<Option<(Cow<'_, str>, bool)>, AuthError> {
    let mut values = headers.get_all(AUTHORIZATION).iter();
    let Some(value) = values.next() else { return Ok(None) };
    if values.next().is_some() {
        return Err(AuthError::AmbiguousToken);
    }
    let bytes = value.as_bytes();
    let split = bytes.iter().position(|b| matches!(b, b' ' | b'\t')).unwrap_or(bytes.len());
    let (scheme, rest) = bytes.split_at(split);
    let is_dpop = dpop && scheme.eq_ignore_ascii_case(b"dpop");
    let is_bearer = bearer && scheme.eq_ignore_ascii_case(b"bearer");
    if !is_dpop && !is_bearer {
        // Not ours, but a header that is not visible ASCII is malformed whatever its scheme.
        return value.to_str().map(|_| None).map_err(|_| AuthError::MalformedHeader);
    }
    let mut token = rest;
    while let [b' ' | b'\t', tail @ ..] = token {
        token = tail;
    }
    while let [head @ .., b' ' | b'\t'] = token {
        token = head;
    }
    // One pass over a kilobyte token: every byte visible ASCII, no space or tab inside (a fold
    // without early exit, so it vectorises).
    let bad = token.iter().fold(0u8, |bad, &b| bad | u8::from(!(0x21..=0x7e).contains(&b)));
    if token.is_empty() || bad != 0 {
        return Err(AuthError::MalformedHeader);
    }
    let token = std::str::from_utf8(token).map_err(|_| AuthError::MalformedHeader)?;
    Ok(Some((Cow::Borrowed(token), is_dpop)))
}
