//! One DPoP proof checked against its request and token (RFC 9449 section 4.3), in the order
//! the [module docs](super) give; every refusal names its check.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::{Jwk, ThumbprintHash};
use jsonwebtoken::{Algorithm, DecodingKey};
use serde_json::{Map, Value};

use super::check::Parts;
use super::{DpopCheck, MAX_JTI_BYTES, MAX_PROOF_BYTES, htu};
use crate::AuthError;
use crate::claims::numeric_date;
use crate::error::DpopProofError as Why;
use crate::keys::pin;

/// JWK members that hold private or symmetric key material (RFC 7518 section 6).
const PRIVATE_MEMBERS: [&str; 8] = ["d", "p", "q", "dp", "dq", "qi", "oth", "k"];

fn refuse(why: Why) -> AuthError {
    AuthError::InvalidDpopProof(why)
}

/// A JSON object from a base64url segment.
fn object(segment: &str) -> Result<Map<String, Value>, AuthError> {
    let bytes = URL_SAFE_NO_PAD.decode(segment).map_err(|_| refuse(Why::Malformed))?;
    match serde_json::from_slice(&bytes) {
        Ok(Value::Object(map)) => Ok(map),
        _ => Err(refuse(Why::Malformed)),
    }
}

/// Equal in time that depends on the lengths only.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len()
        && std::hint::black_box(a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y))) == 0
}

/// The base64url SHA-256 of `text` (`ath`, store keys).
pub(crate) fn sha256_b64(text: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(crate::crypto::sha256(text))
}

/// The proof's one `DPoP` header.
fn header<'a>(request: &Parts<'a>) -> Result<&'a str, AuthError> {
    let mut values = request.headers.get_all("dpop").iter();
    let value = values.next().ok_or(refuse(Why::Missing))?;
    if values.next().is_some() {
        return Err(refuse(Why::Multiple));
    }
    let proof = value.to_str().map_err(|_| refuse(Why::Malformed))?.trim();
    if proof.is_empty() || proof.len() > MAX_PROOF_BYTES {
        return Err(refuse(Why::Malformed));
    }
    Ok(proof)
}

/// The proof's key: a public JWK whose type and curve fit `alg`.
fn public_key(header: &Map<String, Value>, alg: Algorithm) -> Result<Jwk, AuthError> {
    let Some(Value::Object(jwk)) = header.get("jwk") else {
        return Err(refuse(Why::Malformed));
    };
    if PRIVATE_MEMBERS.iter().any(|m| jwk.contains_key(*m))
        || jwk.get("kty").and_then(Value::as_str) == Some("oct")
    {
        return Err(refuse(Why::PrivateKey));
    }
    let jwk: Jwk =
        serde_json::from_value(Value::Object(jwk.clone())).map_err(|_| refuse(Why::Malformed))?;
    pin::fits(&jwk, alg).map_err(|_| refuse(Why::Algorithm))?;
    Ok(jwk)
}

impl DpopCheck {
    /// Checks the request's proof for `token`, bound to `jkt`; spends its `jti` last.
    pub(crate) async fn verify_proof(
        &self,
        request: &Parts<'_>,
        token: &str,
        jkt: &str,
    ) -> Result<(), AuthError> {
        let proof = header(request)?;
        let mut parts = proof.split('.');
        let (Some(header_b64), Some(claims_b64), Some(signature), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(refuse(Why::Malformed));
        };
        if header_b64.is_empty() || claims_b64.is_empty() || signature.is_empty() {
            return Err(refuse(Why::Malformed));
        }

        // The header: typ, alg, jwk, and nothing critical we would not understand.
        let header = object(header_b64)?;
        let typ = header.get("typ").and_then(Value::as_str).unwrap_or_default();
        if !typ.eq_ignore_ascii_case("dpop+jwt")
            && !typ.eq_ignore_ascii_case("application/dpop+jwt")
        {
            return Err(refuse(Why::Type));
        }
        if header.contains_key("crit") {
            return Err(refuse(Why::Malformed));
        }
        // `none`, unknown names and HMAC (never in the accepted list) all fail here.
        let alg = header
            .get("alg")
            .and_then(Value::as_str)
            .and_then(|a| a.parse::<Algorithm>().ok())
            .filter(|a| self.algorithms.contains(a))
            .ok_or(refuse(Why::Algorithm))?;
        let jwk = public_key(&header, alg)?;
        // The key must be the one the token is bound to, before any signature is checked: only
        // that key is ever used (no work for keys a client picks at will).
        let thumbprint =
            jwk.thumbprint(ThumbprintHash::SHA256).map_err(|_| refuse(Why::Malformed))?;
        if !constant_time_eq(thumbprint.as_bytes(), jkt.as_bytes()) {
            return Err(refuse(Why::KeyMismatch));
        }

        // The signature, by jsonwebtoken's backend, with the proof's own key.
        let key = DecodingKey::from_jwk(&jwk).map_err(|_| refuse(Why::Malformed))?;
        let signed = &proof[..header_b64.len() + 1 + claims_b64.len()];
        let valid = jsonwebtoken::crypto::verify(signature, signed.as_bytes(), &key, alg);
        if !matches!(valid, Ok(true)) {
            return Err(refuse(Why::Signature));
        }

        // The claims.
        let claims = object(claims_b64)?;
        let text = |name: &str| claims.get(name).and_then(Value::as_str);
        let jti = text("jti").filter(|j| !j.is_empty() && j.len() <= MAX_JTI_BYTES);
        let (Some(jti), Some(htm), Some(htu), Some(iat)) =
            (jti, text("htm"), text("htu"), claims.get("iat").and_then(numeric_date))
        else {
            return Err(refuse(Why::Malformed));
        };
        if htm != request.method.as_str() {
            return Err(refuse(Why::Method));
        }
        let expected = htu::expected(
            self.origin.as_ref(),
            self.forwarded,
            request.uri,
            request.headers,
            request.extensions,
        );
        match (expected, htu::normalize(htu)) {
            (Some(expected), Some(htu)) if expected == htu => {}
            _ => return Err(refuse(Why::Uri)),
        }
        let now = self.clock.now();
        if now > iat.saturating_add(self.max_age) {
            return Err(refuse(Why::Stale));
        }
        if iat > now.saturating_add(self.max_future) {
            return Err(refuse(Why::Future));
        }
        if let Some(nonces) = &self.nonces {
            match claims.get("nonce") {
                Some(Value::String(nonce)) if nonces.accepts(nonce, now) => {}
                None | Some(Value::String(_)) => return Err(AuthError::UseDpopNonce),
                Some(_) => return Err(refuse(Why::Nonce)),
            }
        }
        let ath = text("ath").unwrap_or_default();
        if !constant_time_eq(ath.as_bytes(), sha256_b64(token.as_bytes()).as_bytes()) {
            return Err(refuse(Why::TokenHash));
        }
        // Last, spend the jti for as long as the proof could be accepted, on every instance
        // sharing the store. The key is a hash of the key's thumbprint and the jti.
        let key = format!("dpop-jti:{}", sha256_b64(format!("{thumbprint}.{jti}").as_bytes()));
        // Accepted until `iat + max_age` on any instance: keep it until then from now, plus the
        // future allowance and a margin for an instance whose clock lags this one.
        let until = iat.saturating_add(self.max_age).saturating_sub(now);
        let ttl = Duration::from_secs(
            until.saturating_add(self.max_future).saturating_add(super::CLOCK_SKEW_MARGIN),
        );
        match self.store.put_new(&key, "1", ttl).await {
            Ok(true) => Ok(()),
            Ok(false) => Err(refuse(Why::Replayed)),
            Err(_) => Err(AuthError::DpopUnavailable { retry_after: 5 }),
        }
    }
}
