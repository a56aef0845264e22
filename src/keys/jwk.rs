//! One JWK from a remote key set to one [`Key`], pinned to exactly one algorithm.
//!
//! The rule (applied to every key of a fetched JWKS, in order):
//! 1. `use` must be absent or `sig`; `key_ops`, when present, must contain `verify`.
//! 2. Symmetric keys (`kty: oct`) are never accepted from a JWKS: a published HMAC secret is no
//!    secret, and it would let anyone forge tokens.
//! 3. The algorithm is the JWK's `alg` when present, else derived from the key type:
//!    `RSA` → RS256, `EC` `P-256` → ES256, `EC` `P-384` → ES384, `OKP` `Ed25519` → EdDSA.
//!    An `alg` must be a signature algorithm that fits the key: RS256/384/512 or PS256/384/512
//!    for `RSA`, ES256 for `P-256`, ES384 for `P-384`, EdDSA for `Ed25519`. Anything else
//!    (HS*, `none`, encryption algorithms, P-521, X25519, unknown values) skips the key.
//! 4. The key material must have the right size: RSA moduli of at least 2048 bits, EC
//!    coordinates and Ed25519 keys of the curve's length.
//!
//! A key that fails the rule is skipped (and logged once); the other keys of the set are kept.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::{
    AlgorithmParameters, EllipticCurve, Jwk, KeyAlgorithm, KeyOperations, PublicKeyUse,
};
use jsonwebtoken::{Algorithm, DecodingKey};
use serde_json::Value;

use super::Key;

/// Smallest accepted RSA modulus, in bytes (2048 bits).
const MIN_RSA_MODULUS_BYTES: usize = 256;

fn signature_alg(alg: KeyAlgorithm) -> Result<Algorithm, &'static str> {
    Ok(match alg {
        KeyAlgorithm::RS256 => Algorithm::RS256,
        KeyAlgorithm::RS384 => Algorithm::RS384,
        KeyAlgorithm::RS512 => Algorithm::RS512,
        KeyAlgorithm::PS256 => Algorithm::PS256,
        KeyAlgorithm::PS384 => Algorithm::PS384,
        KeyAlgorithm::PS512 => Algorithm::PS512,
        KeyAlgorithm::ES256 => Algorithm::ES256,
        KeyAlgorithm::ES384 => Algorithm::ES384,
        KeyAlgorithm::EdDSA => Algorithm::EdDSA,
        KeyAlgorithm::HS256 | KeyAlgorithm::HS384 | KeyAlgorithm::HS512 => {
            return Err("HMAC algorithms are never accepted from a JWKS");
        }
        _ => return Err("alg is not a supported signature algorithm"),
    })
}

fn decoded_len(b64: &str) -> Option<usize> {
    URL_SAFE_NO_PAD.decode(b64).ok().map(|bytes| bytes.len())
}

fn significant_len(b64: &str) -> Option<usize> {
    let bytes = URL_SAFE_NO_PAD.decode(b64).ok()?;
    Some(bytes.iter().skip_while(|b| **b == 0).count())
}

/// The algorithm a key is pinned to, with the material's size checked.
fn pinned_alg(jwk: &Jwk) -> Result<Algorithm, &'static str> {
    let declared = jwk.common.key_algorithm.map(signature_alg).transpose()?;
    let alg = match &jwk.algorithm {
        AlgorithmParameters::OctetKey(_) => {
            return Err("symmetric (oct) keys are never accepted from a JWKS");
        }
        AlgorithmParameters::RSA(rsa) => {
            if significant_len(&rsa.n).is_none_or(|n| n < MIN_RSA_MODULUS_BYTES) {
                return Err("RSA modulus is missing, malformed or shorter than 2048 bits");
            }
            if significant_len(&rsa.e).is_none_or(|e| e == 0) {
                return Err("RSA exponent is missing or malformed");
            }
            match declared {
                None => Algorithm::RS256,
                Some(alg @ (Algorithm::RS256 | Algorithm::RS384 | Algorithm::RS512)) => alg,
                Some(alg @ (Algorithm::PS256 | Algorithm::PS384 | Algorithm::PS512)) => alg,
                Some(_) => return Err("alg does not fit an RSA key"),
            }
        }
        AlgorithmParameters::EllipticCurve(ec) => {
            let (derived, len) = match ec.curve {
                EllipticCurve::P256 => (Algorithm::ES256, 32),
                EllipticCurve::P384 => (Algorithm::ES384, 48),
                _ => return Err("unsupported EC curve"),
            };
            if decoded_len(&ec.x) != Some(len) || decoded_len(&ec.y) != Some(len) {
                return Err("EC coordinates do not have the curve's length");
            }
            match declared {
                None => derived,
                Some(alg) if alg == derived => alg,
                Some(_) => return Err("alg does not fit the EC curve"),
            }
        }
        AlgorithmParameters::OctetKeyPair(okp) => {
            if okp.curve != EllipticCurve::Ed25519 {
                return Err("unsupported OKP curve");
            }
            if decoded_len(&okp.x) != Some(32) {
                return Err("Ed25519 key does not have 32 bytes");
            }
            match declared {
                None | Some(Algorithm::EdDSA) => Algorithm::EdDSA,
                Some(_) => return Err("alg does not fit an Ed25519 key"),
            }
        }
        _ => return Err("unsupported or incomplete key (kty)"),
    };
    Ok(alg)
}

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
