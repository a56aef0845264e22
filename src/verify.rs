//! The verifier: header hygiene, key selection with the algorithm pinned to the key, signature
//! check (by `jsonwebtoken`'s crypto backend), then claim validation.
//!
//! The order is fixed and fail-closed: shape, header (`alg`, forbidden and critical headers,
//! `typ`), key, signature, and only then the claims. Claims of an unverified token are never
//! parsed.
//!
//! Claim rules: `exp` is required and must be a number; `nbf` is checked when present; `sub`
//! is required and must be a string; `iat` and `auth_time`, when present, must be numbers.
//! Issuers and audiences are checked when configured (then the claim is required). `leeway`
//! (default [`DEFAULT_LEEWAY`]) applies to `exp` and `nbf` only.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::Algorithm;
use serde::{Deserialize, Deserializer};
use serde_json::{Map, Value};

use crate::claims::ClaimNames;
use crate::keys::KeyStore;
use crate::{AuthContext, AuthError};

/// Default clock skew allowed on `exp` and `nbf`.
pub const DEFAULT_LEEWAY: Duration = Duration::from_secs(30);

/// A source of "now", in seconds since the Unix epoch.
pub type Clock = Arc<dyn Fn() -> u64 + Send + Sync>;

pub(crate) fn system_clock() -> Clock {
    Arc::new(|| SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs()))
}

/// Which `typ` header values are accepted.
#[derive(Debug, Clone)]
pub(crate) struct TypRule {
    /// Lower-cased accepted values without an `application/` prefix; empty disables the check.
    pub(crate) accepted: Vec<String>,
    /// Refuse tokens without `typ`.
    pub(crate) required: bool,
}

impl Default for TypRule {
    fn default() -> Self {
        Self { accepted: vec!["at+jwt".into(), "jwt".into()], required: false }
    }
}

impl TypRule {
    fn check(&self, typ: Option<&str>) -> Result<(), AuthError> {
        match typ {
            None if self.required => Err(AuthError::WrongType),
            None => Ok(()),
            Some(_) if self.accepted.is_empty() => Ok(()),
            Some(typ) => {
                // RFC 7515 4.1.9: "application/" may be omitted; compare case-insensitively.
                let bare = typ
                    .get(..12)
                    .filter(|p| p.eq_ignore_ascii_case("application/"))
                    .map_or(typ, |_| &typ[12..]);
                if self.accepted.iter().any(|a| a.eq_ignore_ascii_case(bare)) {
                    Ok(())
                } else {
                    Err(AuthError::WrongType)
                }
            }
        }
    }
}

/// Everything needed to turn a compact JWS into an [`AuthContext`].
#[derive(Clone)]
pub(crate) struct Verifier {
    pub(crate) keys: KeyStore,
    pub(crate) issuers: Vec<String>,
    pub(crate) audiences: Vec<String>,
    pub(crate) leeway: u64,
    pub(crate) typ: TypRule,
    pub(crate) clock: Clock,
    pub(crate) names: Arc<ClaimNames>,
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
struct Header {
    alg: String,
    #[serde(default)]
    kid: Option<String>,
    #[serde(default)]
    typ: Option<String>,
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

impl Header {
    fn hygiene(&self) -> Result<(), AuthError> {
        for (present, name) in
            [(&self.jwk, "jwk"), (&self.jku, "jku"), (&self.x5u, "x5u"), (&self.x5c, "x5c")]
        {
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

/// Reads a NumericDate (RFC 7519: seconds, possibly fractional, non-negative).
pub(crate) fn numeric_date(value: &Value) -> Option<u64> {
    let n = value.as_number()?;
    n.as_u64().or_else(|| {
        n.as_f64().filter(|f| f.is_finite() && *f >= 0.0 && *f < u64::MAX as f64).map(|f| f as u64)
    })
}

fn time_claim(claims: &Map<String, Value>, name: &'static str) -> Result<Option<u64>, AuthError> {
    claims.get(name).map(|v| numeric_date(v).ok_or(AuthError::InvalidClaim(name))).transpose()
}

fn b64(segment: &str, what: &'static str) -> Result<Vec<u8>, AuthError> {
    URL_SAFE_NO_PAD.decode(segment).map_err(|_| AuthError::MalformedToken(what))
}

impl Verifier {
    pub(crate) fn now(&self) -> u64 {
        (self.clock)()
    }

    /// Verifies a compact JWS and returns the session it proves.
    pub(crate) async fn verify(&self, token: &str) -> Result<AuthContext, AuthError> {
        let mut parts = token.split('.');
        let (Some(header_b64), Some(payload_b64), Some(signature), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(AuthError::MalformedToken("expected three dot-separated segments"));
        };
        if header_b64.is_empty() || payload_b64.is_empty() || signature.is_empty() {
            return Err(AuthError::MalformedToken("empty segment"));
        }

        let header_json = b64(header_b64, "header is not base64url")?;
        // serde would also read a struct from a JSON array; a JOSE header must be an object.
        let header: Header = Some(&header_json)
            .filter(|h| h.trim_ascii_start().starts_with(b"{"))
            .and_then(|h| serde_json::from_slice(h).ok())
            .ok_or(AuthError::MalformedToken("header is not a JSON object with an alg"))?;
        header.hygiene()?;
        // `none`, `None`, `NONE`, unknown and misspelled names all fail here.
        let alg: Algorithm = header.alg.parse().map_err(|_| AuthError::AlgorithmNotAllowed)?;
        self.typ.check(header.typ.as_deref())?;

        let signed = &token[..header_b64.len() + 1 + payload_b64.len()];
        let valid = self
            .keys
            .resolve(header.kid.as_deref(), alg, |key| {
                jsonwebtoken::crypto::verify(signature, signed.as_bytes(), key.decoding_key(), alg)
            })
            .await?;
        if !matches!(valid, Ok(true)) {
            return Err(AuthError::BadSignature);
        }

        let payload = b64(payload_b64, "payload is not base64url")?;
        let claims: Map<String, Value> = serde_json::from_slice(&payload)
            .map_err(|_| AuthError::MalformedToken("payload is not a JSON object"))?;
        self.validate(claims)
    }

    fn validate(&self, claims: Map<String, Value>) -> Result<AuthContext, AuthError> {
        let now = self.now();
        let exp = time_claim(&claims, "exp")?.ok_or(AuthError::MissingClaim("exp"))?;
        if now >= exp.saturating_add(self.leeway) {
            return Err(AuthError::Expired);
        }
        if let Some(nbf) = time_claim(&claims, "nbf")?
            && nbf > now.saturating_add(self.leeway)
        {
            return Err(AuthError::NotYetValid);
        }
        time_claim(&claims, "iat")?;
        if let Some(value) = claims.get(&self.names.auth_time)
            && numeric_date(value).is_none()
        {
            return Err(AuthError::InvalidClaim("auth_time"));
        }
        match claims.get("sub") {
            Some(Value::String(_)) => {}
            Some(_) => return Err(AuthError::InvalidClaim("sub")),
            None => return Err(AuthError::MissingClaim("sub")),
        }
        if !self.issuers.is_empty() {
            match claims.get("iss") {
                Some(Value::String(iss)) if self.issuers.iter().any(|i| i == iss) => {}
                Some(Value::String(_)) => return Err(AuthError::WrongIssuer),
                Some(_) => return Err(AuthError::InvalidClaim("iss")),
                None => return Err(AuthError::MissingClaim("iss")),
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
                Some(_) => return Err(AuthError::InvalidClaim("aud")),
                None => return Err(AuthError::MissingClaim("aud")),
            }
        }
        Ok(AuthContext::from_verified(claims, self.names.clone(), exp, now))
    }
}
