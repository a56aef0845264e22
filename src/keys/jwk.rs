//! One JWK from a remote key set to one [`Key`], pinned to exactly one algorithm.
//!
//! The rule (applied to every key of a fetched JWKS, in order):
//! 1. `use` must be absent or `sig`; `key_ops`, when present, must contain `verify`.
//! 2. Symmetric keys (`kty: oct`) are never accepted from a JWKS: a published HMAC secret is no
//!    secret, and it would let anyone forge tokens.
//! 3. (2 to 4 are `pin.rs`, shared with DPoP proofs.) The algorithm is the JWK's `alg` when present, else derived from the key type:
//!    `RSA` → RS256, `EC` `P-256` → ES256, `EC` `P-384` → ES384, `OKP` `Ed25519` → EdDSA.
//!    An `alg` must be a signature algorithm that fits the key: RS256/384/512 or PS256/384/512
//!    for `RSA`, ES256 for `P-256`, ES384 for `P-384`, EdDSA for `Ed25519`. Anything else
//!    (HS*, `none`, encryption algorithms, P-521, X25519, unknown values) skips the key.
//! 4. The key material must have the right size: RSA moduli of at least 2048 bits, EC
//!    coordinates and Ed25519 keys of the curve's length.
//!
//! A key that fails the rule is skipped (and logged once); the other keys of the set are kept.

use jsonwebtoken::DecodingKey;
use jsonwebtoken::jwk::{Jwk, KeyOperations, PublicKeyUse};
use serde_json::Value;

use super::Key;
use super::pin::pinned_alg;

/// Converts one member of a JWKS `keys` array, or says why it is skipped.
pub(crate) fn key_from_jwk(value: &Value) -> Result<Key, &'static str> {
    if !value.is_object() {
        return Err("not a JSON object");
    }
    let jwk: Jwk = serde_json::from_value(value.clone()).map_err(|_| "not a valid JWK")?;
    match &jwk.common.public_key_use {
        None | Some(PublicKeyUse::Signature) => {}
        Some(_) => return Err("not a signing key (use)"),
    }
    if let Some(ops) = &jwk.common.key_operations
        && !ops.contains(&KeyOperations::Verify)
    {
        return Err("key_ops does not allow verify");
    }
    let alg = pinned_alg(&jwk)?;
    let decoding = DecodingKey::from_jwk(&jwk).map_err(|_| "key material does not decode")?;
    let key = Key::from_decoding_key(decoding, [alg]).map_err(|_| "alg does not fit the key")?;
    // The same published key keeps its id across refetches; another key gets another.
    let mut hasher = std::hash::DefaultHasher::new();
    std::hash::Hash::hash(&value.to_string(), &mut hasher);
    let key = key.with_id(std::hash::Hasher::finish(&hasher));
    Ok(match jwk.common.key_id {
        Some(kid) => key.with_kid(kid),
        None => key,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use jsonwebtoken::Algorithm;
    use serde_json::json;

    fn b64(len: usize) -> String {
        URL_SAFE_NO_PAD.encode(vec![7u8; len])
    }

    fn rsa(extra: Value) -> Value {
        let mut v = json!({"kty": "RSA", "kid": "r", "n": b64(256), "e": "AQAB"});
        v.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        v
    }

    fn alg_of(v: &Value) -> Result<Vec<Algorithm>, &'static str> {
        key_from_jwk(v).map(|k| k.algorithms().to_vec())
    }

    #[test]
    fn derives_and_pins_one_algorithm() {
        assert_eq!(alg_of(&rsa(json!({}))), Ok(vec![Algorithm::RS256]));
        assert_eq!(alg_of(&rsa(json!({"alg": "PS256", "use": "sig"}))), Ok(vec![Algorithm::PS256]));
        assert_eq!(
            alg_of(&json!({"kty": "EC", "crv": "P-256", "x": b64(32), "y": b64(32)})),
            Ok(vec![Algorithm::ES256])
        );
        assert_eq!(
            alg_of(&json!({"kty": "EC", "crv": "P-384", "x": b64(48), "y": b64(48)})),
            Ok(vec![Algorithm::ES384])
        );
        assert_eq!(
            alg_of(&json!({"kty": "OKP", "crv": "Ed25519", "x": b64(32), "key_ops": ["verify"]})),
            Ok(vec![Algorithm::EdDSA])
        );
        assert_eq!(key_from_jwk(&rsa(json!({}))).unwrap().kid(), Some("r"));
    }

    #[test]
    fn skips_what_the_rule_refuses() {
        let cases = [
            rsa(json!({"use": "enc"})),
            rsa(json!({"key_ops": ["encrypt"]})),
            rsa(json!({"alg": "HS256"})),
            rsa(json!({"alg": "RSA-OAEP"})),
            rsa(json!({"alg": "none"})),
            rsa(json!({"alg": "ES256"})),
            rsa(json!({"n": b64(128)})),
            rsa(json!({"n": "***"})),
            json!({"kty": "oct", "k": b64(32)}),
            json!({"kty": "oct", "k": b64(32), "alg": "HS256"}),
            json!({"kty": "EC", "crv": "P-256", "x": b64(32), "y": b64(32), "alg": "ES384"}),
            json!({"kty": "EC", "crv": "P-256", "x": b64(31), "y": b64(32)}),
            json!({"kty": "EC", "crv": "P-521", "x": b64(66), "y": b64(66)}),
            json!({"kty": "OKP", "crv": "X25519", "x": b64(32)}),
            json!({"kty": "OKP", "crv": "Ed25519", "x": b64(31)}),
            json!({"kty": "XYZ"}),
            json!({"kty": "RSA"}),
            json!("a string"),
        ];
        for case in cases {
            assert!(key_from_jwk(&case).is_err(), "accepted {case}");
        }
    }
}
