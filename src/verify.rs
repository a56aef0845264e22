//! The verifier: header hygiene, key selection with the algorithm pinned to the key, signature
//! check (by `jsonwebtoken`'s crypto backend), then claim validation.
//!
//! The order is fixed and fail-closed: shape, header (`alg`, forbidden and critical headers,
//! `typ`), key, signature, and only then the claims. Claims of an unverified token are never
//! parsed.
//!
//! Claim rules: `exp` is required (not for Security Event Tokens, which have none) and must be
//! a number; `nbf` is checked when present; `sub` is required and must be a string; `iat` and
//! `auth_time`, when present, must be numbers. Issuers and audiences are checked when
//! configured (then the claim is required). `leeway` (default [`DEFAULT_LEEWAY`]) applies to
//! `exp` and `nbf` only.

use std::borrow::Cow;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::Algorithm;
use serde::{Deserialize, Deserializer};
use serde_json::{Map, Value};

use crate::claims::{ClaimNames, numeric_date};
use crate::clock::Clock;
use crate::error::{Claim, ForbiddenHeader, Malformed};
use crate::keys::{KeyChoice, KeyStore};
use crate::{AuthContext, AuthError};

/// Default clock skew allowed on `exp` and `nbf`.
pub const DEFAULT_LEEWAY: Duration = Duration::from_secs(30);

/// Which token types (the JOSE `typ` header) a layer accepts; see
/// [`AuthLayerBuilder::token_type`](crate::AuthLayerBuilder::token_type).
///
/// Values compare case-insensitively, with or without the `application/` prefix
/// (RFC 7515 section 4.1.9).
///
/// **ID tokens are not access tokens.** An OpenID Connect ID token is a signed JWT from the same
/// issuer and keys; its `aud` is your client id. If your layer accepts that audience (or checks
/// none), an ID token, which the browser may hold, passes as a session token. Providers that
/// issue RFC 9068 access tokens mark them `typ: at+jwt`: [`TokenType::AccessToken`] then refuses
/// everything else, ID tokens included, in one line.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum TokenType {
    /// The default: `typ` may be absent; when present it must be `at+jwt` or `JWT`.
    #[default]
    Lenient,
    /// RFC 9068 access tokens only: `typ` must be present and be `at+jwt`. Refuses ID tokens
    /// (`typ: JWT` or none) even where their `aud` is accepted.
    AccessToken,
    /// `typ` must be present and one of these values.
    OneOf(Vec<String>),
    /// `typ` is not checked at all.
    Unchecked,
}

impl TokenType {
    fn check(&self, typ: Option<&str>) -> Result<(), AuthError> {
        let accepted: &[&str] = match self {
            Self::Unchecked => return Ok(()),
            Self::Lenient if typ.is_none() => return Ok(()),
            Self::Lenient => &["at+jwt", "jwt"],
            Self::AccessToken => &["at+jwt"],
            Self::OneOf(values) => {
                let typ = typ.ok_or(AuthError::WrongType)?;
                let bare = bare_typ(typ);
                return if values.iter().any(|v| bare_typ(v).eq_ignore_ascii_case(bare)) {
                    Ok(())
                } else {
                    Err(AuthError::WrongType)
                };
            }
        };
        let bare = bare_typ(typ.ok_or(AuthError::WrongType)?);
        if accepted.iter().any(|a| a.eq_ignore_ascii_case(bare)) {
            Ok(())
        } else {
            Err(AuthError::WrongType)
        }
    }
}

/// Drops an `application/` prefix (any case).
fn bare_typ(typ: &str) -> &str {
    match typ.get(..12) {
        Some(prefix) if prefix.eq_ignore_ascii_case("application/") => &typ[12..],
        _ => typ,
    }
}

/// Everything needed to turn a compact JWS into an [`AuthContext`].
#[derive(Clone)]
pub(crate) struct Verifier {
    pub(crate) keys: KeyStore,
    pub(crate) issuers: Vec<String>,
    pub(crate) audiences: Vec<String>,
    pub(crate) leeway: u64,
    pub(crate) typ: TokenType,
    pub(crate) clock: Clock,
    pub(crate) names: Arc<ClaimNames>,
    /// `false` only for back-channel logout tokens, which may name a session (`sid`) alone.
    pub(crate) require_sub: bool,
    /// `false` only for Security Event Tokens (RFC 8417), which carry no `exp`: their age is
    /// judged by `iat` instead. An `exp` that is present is still checked.
    pub(crate) require_exp: bool,
}

/// Marks a header member as present, whatever its value (even `null`).
#[derive(Default)]
struct Present(bool);

impl<'de> Deserialize<'de> for Present {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        serde::de::IgnoredAny::deserialize(d).map(|_| Present(true))
    }
}

#[derive(Deserialize)]
struct Header<'a> {
    // Borrowed from the decoded header unless the JSON escapes them: no allocation per request.
    #[serde(borrow)]
    alg: Cow<'a, str>,
    #[serde(default, borrow)]
    kid: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    typ: Option<Cow<'a, str>>,
    #[serde(default)]
    crit: Present,
    #[serde(default)]
    jwk: Present,
    #[serde(default)]
    jku: Present,
    #[serde(default)]
    x5u: Present,
    #[serde(default)]
    x5c: Present,
}

impl Header<'_> {
    fn hygiene(&self) -> Result<(), AuthError> {
        for (present, name) in [
            (&self.jwk, ForbiddenHeader::Jwk),
            (&self.jku, ForbiddenHeader::Jku),
            (&self.x5u, ForbiddenHeader::X5u),
            (&self.x5c, ForbiddenHeader::X5c),
        ] {
            if present.0 {
                return Err(AuthError::ForbiddenHeader(name));
            }
        }
        // No JWS extension is understood, so any `crit` (even an empty one, which RFC 7515
        // forbids) is refused.
        if self.crit.0 {
            return Err(AuthError::UnsupportedCritical);
        }
        Ok(())
    }
}

fn time_claim(claims: &Map<String, Value>, claim: Claim) -> Result<Option<u64>, AuthError> {
    claims
        .get(claim.code())
        .map(|v| numeric_date(v).ok_or(AuthError::InvalidClaim(claim)))
        .transpose()
}

fn b64(segment: &str, what: Malformed) -> Result<Vec<u8>, AuthError> {
    URL_SAFE_NO_PAD.decode(segment).map_err(|_| AuthError::MalformedToken(what))
}

impl Verifier {
    pub(crate) fn now(&self) -> u64 {
        self.clock.now()
    }

    /// Verifies a compact JWS and returns the session it proves.
    pub(crate) async fn verify(&self, token: &str) -> Result<AuthContext, AuthError> {
        self.verify_with_key(token).await.map(|(ctx, _)| ctx)
    }

    /// As [`verify`](Self::verify), with the id of the key that verified the signature.
    pub(crate) async fn verify_with_key(
        &self,
        token: &str,
    ) -> Result<(AuthContext, KeyChoice), AuthError> {
        let mut parts = token.split('.');
        let (Some(header_b64), Some(payload_b64), Some(signature), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(AuthError::MalformedToken(Malformed::SegmentCount));
        };
        if header_b64.is_empty() || payload_b64.is_empty() || signature.is_empty() {
            return Err(AuthError::MalformedToken(Malformed::EmptySegment));
        }

        let header_json = b64(header_b64, Malformed::HeaderEncoding)?;
        // serde would also read a struct from a JSON array; a JOSE header must be an object.
        let header: Header = Some(&header_json)
            .filter(|h| h.trim_ascii_start().starts_with(b"{"))
            .and_then(|h| serde_json::from_slice(h).ok())
            .ok_or(AuthError::MalformedToken(Malformed::Header))?;
        header.hygiene()?;
        // `none`, `None`, `NONE`, unknown and misspelled names all fail here.
        let alg: Algorithm = header.alg.parse().map_err(|_| AuthError::AlgorithmNotAllowed)?;
        self.typ.check(header.typ.as_deref())?;

        let signed = &token[..header_b64.len() + 1 + payload_b64.len()];
        let (valid, key_id) = self
            .keys
            .resolve(header.kid.as_deref(), alg, |key| {
                let valid = jsonwebtoken::crypto::verify(
                    signature,
                    signed.as_bytes(),
                    key.decoding_key(),
                    alg,
                );
                (valid, key.id())
            })
            .await?;
        if !matches!(valid, Ok(true)) {
            return Err(AuthError::BadSignature);
        }

        let payload = b64(payload_b64, Malformed::PayloadEncoding)?;
        let claims: Map<String, Value> = serde_json::from_slice(&payload)
            .map_err(|_| AuthError::MalformedToken(Malformed::Payload))?;
        let kid = header.kid.as_deref().map(Box::from);
        self.validate(claims).map(|ctx| (ctx, KeyChoice { key_id, kid, alg }))
    }

    fn validate(&self, claims: Map<String, Value>) -> Result<AuthContext, AuthError> {
        let now = self.now();
        let exp = match time_claim(&claims, Claim::Exp)? {
            Some(exp) if now >= exp.saturating_add(self.leeway) => return Err(AuthError::Expired),
            Some(exp) => exp,
            None if self.require_exp => return Err(AuthError::MissingClaim(Claim::Exp)),
            None => 0,
        };
        if let Some(nbf) = time_claim(&claims, Claim::Nbf)?
            && nbf > now.saturating_add(self.leeway)
        {
            return Err(AuthError::NotYetValid);
        }
        time_claim(&claims, Claim::Iat)?;
        if let Some(value) = claims.get(&self.names.auth_time)
            && numeric_date(value).is_none()
        {
            return Err(AuthError::InvalidClaim(Claim::AuthTime));
        }
        match claims.get("sub") {
            Some(Value::String(_)) => {}
            Some(_) => return Err(AuthError::InvalidClaim(Claim::Sub)),
            None if self.require_sub => return Err(AuthError::MissingClaim(Claim::Sub)),
            None => {}
        }
        if !self.issuers.is_empty() {
            match claims.get("iss") {
                Some(Value::String(iss)) if self.issuers.iter().any(|i| i == iss) => {}
                Some(Value::String(_)) => return Err(AuthError::WrongIssuer),
                Some(_) => return Err(AuthError::InvalidClaim(Claim::Iss)),
                None => return Err(AuthError::MissingClaim(Claim::Iss)),
            }
        }
        if !self.audiences.is_empty() {
            let accepted = |a: &str| self.audiences.iter().any(|x| x == a);
            match claims.get("aud") {
                Some(Value::String(aud)) if accepted(aud) => {}
                Some(Value::Array(auds)) if auds.iter().all(Value::is_string) => {
                    if !auds.iter().filter_map(Value::as_str).any(accepted) {
                        return Err(AuthError::WrongAudience);
                    }
                }
                Some(Value::String(_)) => return Err(AuthError::WrongAudience),
                Some(_) => return Err(AuthError::InvalidClaim(Claim::Aud)),
                None => return Err(AuthError::MissingClaim(Claim::Aud)),
            }
        }
        Ok(AuthContext::from_verified(claims, self.names.clone(), exp, now))
    }
}
