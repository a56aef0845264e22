//! Which signature algorithm a public JWK may verify: the one rule behind keys from a JWKS
//! (`jwk.rs`) and the keys DPoP proofs carry (`dpop/proof.rs`).
//!
//! * Symmetric keys (`kty: oct`) are never accepted: a published or embedded HMAC secret is no
//!   secret, and it would let anyone forge signatures.
//! * `RSA` fits RS256/384/512 and PS256/384/512 (RS256 when nothing says which), `EC` `P-256`
//!   ES256, `EC` `P-384` ES384, `OKP` `Ed25519` EdDSA. Anything else (HS*, `none`, encryption
//!   algorithms, P-521, X25519, unknown values) does not fit.
//! * A JWK's own `alg`, when present, must be one that fits, and it is then the only one.
//! * The key material must have the right size: RSA moduli of at least 2048 bits, EC
//!   coordinates and Ed25519 keys of the curve's length.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::Algorithm;
use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, KeyAlgorithm};

/// Smallest accepted RSA modulus, in bytes (2048 bits).
const MIN_RSA_MODULUS_BYTES: usize = 256;

const RSA_ALGS: &[Algorithm] = &[
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::PS256,
    Algorithm::PS384,
    Algorithm::PS512,
];

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
            return Err("HMAC algorithms are never accepted for a public key");
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

/// The algorithms the key's type and material fit, most likely first, with the material's
/// size checked. A declared `alg` is not looked at here.
fn fitting_algs(jwk: &Jwk) -> Result<&'static [Algorithm], &'static str> {
    match &jwk.algorithm {
        AlgorithmParameters::OctetKey(_) => {
            Err("symmetric (oct) keys are never accepted as public keys")
        }
        AlgorithmParameters::RSA(rsa) => {
            if significant_len(&rsa.n).is_none_or(|n| n < MIN_RSA_MODULUS_BYTES) {
                return Err("RSA modulus is missing, malformed or shorter than 2048 bits");
            }
            if significant_len(&rsa.e).is_none_or(|e| e == 0) {
                return Err("RSA exponent is missing or malformed");
            }
            Ok(RSA_ALGS)
        }
        AlgorithmParameters::EllipticCurve(ec) => {
            let (algs, len): (&'static [Algorithm], usize) = match ec.curve {
                EllipticCurve::P256 => (&[Algorithm::ES256], 32),
                EllipticCurve::P384 => (&[Algorithm::ES384], 48),
                _ => return Err("unsupported EC curve"),
            };
            if decoded_len(&ec.x) != Some(len) || decoded_len(&ec.y) != Some(len) {
                return Err("EC coordinates do not have the curve's length");
            }
            Ok(algs)
        }
        AlgorithmParameters::OctetKeyPair(okp) => {
            if okp.curve != EllipticCurve::Ed25519 {
                return Err("unsupported OKP curve");
            }
            if decoded_len(&okp.x) != Some(32) {
                return Err("Ed25519 key does not have 32 bytes");
            }
            Ok(&[Algorithm::EdDSA])
        }
        _ => Err("unsupported or incomplete key (kty)"),
    }
}

/// The one algorithm a key is pinned to: its declared `alg` when it fits, else the one its
/// type implies (RS256 for RSA).
#[cfg(feature = "jwks")]
pub(crate) fn pinned_alg(jwk: &Jwk) -> Result<Algorithm, &'static str> {
    let declared = jwk.common.key_algorithm.map(signature_alg).transpose()?;
    let fitting = fitting_algs(jwk)?;
    match declared {
        None => Ok(fitting[0]),
        Some(alg) if fitting.contains(&alg) => Ok(alg),
        Some(_) => Err("alg does not fit the key's type or curve"),
    }
}

/// Whether `alg` (named by a signature, not by the key) may be verified with this key: it
/// fits the key's type and curve, and equals the key's own `alg` when it declares one.
pub(crate) fn fits(jwk: &Jwk, alg: Algorithm) -> Result<(), &'static str> {
    let declared = jwk.common.key_algorithm.map(signature_alg).transpose()?;
    if !fitting_algs(jwk)?.contains(&alg) {
        return Err("alg does not fit the key's type or curve");
    }
    match declared {
        Some(declared) if declared != alg => Err("alg is not the key's own alg"),
        _ => Ok(()),
    }
}
