//! Verification keys ([`Key`]), pinned to their algorithms, and where a layer finds them
//! ([`KeySource`]).

mod static_keys;

pub(crate) mod pin;

#[cfg(feature = "jwks")]
pub(crate) mod discovery;
#[cfg(feature = "jwks")]
pub(crate) mod http;
#[cfg(feature = "jwks")]
mod jwk;
#[cfg(feature = "jwks")]
mod jwks;
#[cfg(feature = "jwks")]
mod presets;

#[cfg(feature = "jwks")]
pub use discovery::DiscoveryError;
#[cfg(feature = "jwks")]
pub use http::UrlError;
#[cfg(feature = "jwks")]
pub use jwks::{JwksError, JwksKeys, JwksOptions};
#[cfg(feature = "jwks")]
pub use presets::IssuerKeys;
pub(crate) use static_keys::StaticKeys;

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};

use jsonwebtoken::{Algorithm, AlgorithmFamily, DecodingKey};

use crate::AuthError;

/// Shortest HMAC secret accepted for HS256, in bytes. RFC 7518 section 3.2 requires a key at
/// least as long as the hash: 32 bytes for HS256, 48 for HS384, 64 for HS512.
const MIN_HMAC_SECRET_BYTES: usize = 32;

fn min_hmac_len(alg: Algorithm) -> usize {
    match alg {
        Algorithm::HS384 => 48,
        Algorithm::HS512 => 64,
        _ => MIN_HMAC_SECRET_BYTES,
    }
}

/// A public key (or HMAC secret) trusted to verify tokens, pinned to its algorithms.
#[derive(Clone)]
#[must_use]
pub struct Key {
    /// Identifies the key material within the process: a serial for configured keys, a hash
    /// of the JWK for published ones (so a refetched, unchanged key keeps its id). The token
    /// cache drops what a key verified once no key of the set has its id.
    id: u64,
    kid: Option<String>,
    algorithms: Vec<Algorithm>,
    decoding: DecodingKey,
}

/// Why a [`Key`] could not be built.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeyError {
    /// The PEM text is not a public key of the expected type.
    InvalidPem(KeyType),
    /// The algorithm does not belong to the key's type (e.g. HS256 for an RSA key).
    AlgorithmMismatch {
        /// The key's type.
        key_type: KeyType,
        /// The algorithm that was asked for.
        algorithm: Algorithm,
    },
    /// An HMAC secret shorter than its algorithm's hash (RFC 7518 section 3.2).
    WeakSecret {
        /// Length of the rejected secret in bytes.
        len: usize,
        /// The minimum for the algorithm: 32 (HS256), 48 (HS384) or 64 (HS512).
        min: usize,
    },
    /// A key must be pinned to at least one algorithm.
    NoAlgorithm,
    /// A private key was given where a public key is expected. It must never be deployed to a
    /// verifier, and it would not verify anything anyway.
    PrivateKey,
    /// A key set was built from an empty list.
    NoKeys,
    /// Two keys of a set share this `kid`.
    DuplicateKid(String),
}

impl fmt::Display for KeyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::InvalidPem(kind) => write!(f, "not a valid {kind} public key PEM"),
            Self::AlgorithmMismatch { key_type, algorithm } => {
                write!(f, "algorithm {algorithm:?} cannot be used with a {key_type} key")
            }
            Self::WeakSecret { len, min } => {
                write!(f, "HMAC secret is {len} bytes; at least {min} are required")
            }
            Self::NoAlgorithm => f.write_str("a key must be pinned to at least one algorithm"),
            Self::PrivateKey => {
                f.write_str("this PEM holds a private key: configure the public key instead")
            }
            Self::NoKeys => f.write_str("a key set needs at least one key"),
            Self::DuplicateKid(kid) => write!(f, "two keys share the kid {kid:?}"),
        }
    }
}

impl std::error::Error for KeyError {}

/// Refuses PEM text whose label names a private key (`PRIVATE KEY`, `RSA PRIVATE KEY`,
/// `EC PRIVATE KEY`, `ENCRYPTED PRIVATE KEY`): jsonwebtoken would take its bytes as a public key.
fn refuse_private(pem: &[u8]) -> Result<(), KeyError> {
    let private = pem.windows(b"PRIVATE KEY-----".len()).any(|w| w == b"PRIVATE KEY-----");
    if private { Err(KeyError::PrivateKey) } else { Ok(()) }
}

/// The type of a key, as errors name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum KeyType {
    /// An HMAC shared secret.
    Hmac,
    /// An RSA public key.
    Rsa,
    /// An EC public key (P-256 or P-384).
    Ec,
    /// An Ed25519 public key.
    Ed25519,
    /// Any of the public key types (a PEM of unknown type).
    AnyPublic,
}

impl fmt::Display for KeyType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Hmac => "HMAC",
            Self::Rsa => "RSA",
            Self::Ec => "EC",
            Self::Ed25519 => "Ed25519",
            Self::AnyPublic => "RSA, EC or Ed25519",
        })
    }
}

fn key_type(family: AlgorithmFamily) -> KeyType {
    match family {
        AlgorithmFamily::Hmac => KeyType::Hmac,
        AlgorithmFamily::Rsa => KeyType::Rsa,
        AlgorithmFamily::Ec => KeyType::Ec,
        AlgorithmFamily::Ed => KeyType::Ed25519,
    }
}

impl Key {
    fn new(decoding: DecodingKey, algorithms: Vec<Algorithm>) -> Result<Self, KeyError> {
        let family = decoding.family();
        if algorithms.is_empty() {
            return Err(KeyError::NoAlgorithm);
        }
        if let Some(alg) = algorithms.iter().find(|a| a.family() != family) {
            return Err(KeyError::AlgorithmMismatch {
                key_type: key_type(family),
                algorithm: *alg,
            });
        }
        if family == AlgorithmFamily::Hmac {
            let len = decoding.try_get_as_bytes().map_or(0, <[u8]>::len);
            if let Some(alg) = algorithms.iter().find(|a| len < min_hmac_len(**a)) {
                return Err(KeyError::WeakSecret { len, min: min_hmac_len(*alg) });
            }
        }
        static SERIAL: AtomicU64 = AtomicU64::new(0);
        let id = SERIAL.fetch_add(1, Ordering::Relaxed);
        Ok(Self { id, kid: None, algorithms, decoding })
    }

    /// An HMAC shared secret for `algorithm` (HS256, HS384 or HS512).
    ///
    /// Secrets shorter than the hash are refused: 32 bytes for HS256, 48 for HS384, 64 for
    /// HS512.
    ///
    /// ```
    /// use axum_session_mfa::{Algorithm, Key};
    /// let key = Key::hmac(Algorithm::HS256, b"a-32-byte-or-longer-shared-secret!").unwrap();
    /// assert_eq!(key.algorithms(), &[Algorithm::HS256]);
    /// ```
    pub fn hmac(algorithm: Algorithm, secret: &[u8]) -> Result<Self, KeyError> {
        Self::new(DecodingKey::from_secret(secret), vec![algorithm])
    }

    /// An RSA public key (SPKI or PKCS#1 PEM) for RS256/384/512 or PS256/384/512.
    pub fn rsa_pem(algorithm: Algorithm, pem: &[u8]) -> Result<Self, KeyError> {
        refuse_private(pem)?;
        let key = DecodingKey::from_rsa_pem(pem).map_err(|_| KeyError::InvalidPem(KeyType::Rsa))?;
        Self::new(key, vec![algorithm])
    }

    /// An EC public key (P-256 for ES256, P-384 for ES384) in SPKI PEM.
    pub fn ec_pem(algorithm: Algorithm, pem: &[u8]) -> Result<Self, KeyError> {
        refuse_private(pem)?;
        let key = DecodingKey::from_ec_pem(pem).map_err(|_| KeyError::InvalidPem(KeyType::Ec))?;
        Self::new(key, vec![algorithm])
    }

    /// An Ed25519 public key in SPKI PEM, for EdDSA.
    pub fn ed25519_pem(pem: &[u8]) -> Result<Self, KeyError> {
        refuse_private(pem)?;
        let key =
            DecodingKey::from_ed_pem(pem).map_err(|_| KeyError::InvalidPem(KeyType::Ed25519))?;
        Self::new(key, vec![Algorithm::EdDSA])
    }

    /// A public key PEM of any supported type, pinned to that type's default algorithms:
    /// RSA to RS256, EC to ES256 and ES384 (the curve decides which verifies), Ed25519 to EdDSA.
    /// Use [`Key::with_algorithms`] to pin another choice (PS256, RS512, ...).
    ///
    /// ```
    /// use axum_session_mfa::{Algorithm, Key};
    /// let pem = std::fs::read("tests/fixtures/keys/rsa_public.pem").unwrap();
    /// let key = Key::from_public_pem(&pem).unwrap().with_algorithms([Algorithm::PS256]).unwrap();
    /// assert_eq!(key.algorithms(), &[Algorithm::PS256]);
    /// ```
    pub fn from_public_pem(pem: &[u8]) -> Result<Self, KeyError> {
        refuse_private(pem)?;
        if let Ok(key) = DecodingKey::from_rsa_pem(pem) {
            return Self::new(key, vec![Algorithm::RS256]);
        }
        if let Ok(key) = DecodingKey::from_ec_pem(pem) {
            return Self::new(key, vec![Algorithm::ES256, Algorithm::ES384]);
        }
        if let Ok(key) = DecodingKey::from_ed_pem(pem) {
            return Self::new(key, vec![Algorithm::EdDSA]);
        }
        Err(KeyError::InvalidPem(KeyType::AnyPublic))
    }

    /// Wraps an already-built [`DecodingKey`] (for example from a JWK), pinned to `algorithms`.
    pub fn from_decoding_key(
        decoding: DecodingKey,
        algorithms: impl IntoIterator<Item = Algorithm>,
    ) -> Result<Self, KeyError> {
        Self::new(decoding, algorithms.into_iter().collect())
    }

    /// Sets the key id that tokens name in their `kid` header.
    pub fn with_kid(mut self, kid: impl Into<String>) -> Self {
        self.kid = Some(kid.into());
        self
    }

    /// Replaces the pinned algorithms; each must belong to the key's family.
    pub fn with_algorithms(
        self,
        algorithms: impl IntoIterator<Item = Algorithm>,
    ) -> Result<Self, KeyError> {
        let (id, kid) = (self.id, self.kid);
        let key = Self::new(self.decoding, algorithms.into_iter().collect())?;
        Ok(Self { id, kid, ..key })
    }

    /// The key id, if any.
    pub fn kid(&self) -> Option<&str> {
        self.kid.as_deref()
    }

    /// The algorithms this key may verify.
    pub fn algorithms(&self) -> &[Algorithm] {
        &self.algorithms
    }

    /// `true` when `alg` is one of the pinned algorithms.
    pub fn allows(&self, alg: Algorithm) -> bool {
        self.algorithms.contains(&alg)
    }

    pub(crate) fn id(&self) -> u64 {
        self.id
    }

    /// Replaces the id (keys made from a published JWK: see the `id` field).
    #[cfg_attr(not(feature = "jwks"), allow(dead_code))]
    pub(crate) fn with_id(mut self, id: u64) -> Self {
        self.id = id;
        self
    }

    pub(crate) fn decoding_key(&self) -> &DecodingKey {
        &self.decoding
    }
}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Key")
            .field("kid", &self.kid)
            .field("algorithms", &self.algorithms)
            .field("type", &key_type(self.decoding.family()))
            .finish_non_exhaustive()
    }
}

/// Where a layer's verification keys come from, chosen when the layer is created
/// ([`AuthLayer::builder`](crate::AuthLayer::builder)): one [`Key`], a set of keys, or an
/// identity provider's remote key set ([`IssuerKeys`](crate::jwks::IssuerKeys), feature `jwks`),
/// which also brings the issuers its tokens carry.
///
/// ```
/// use axum_session_mfa::{Algorithm, Key, KeySource};
///
/// let one = Key::hmac(Algorithm::HS256, b"a-32-byte-or-longer-shared-secret!").unwrap();
/// let _single: KeySource = one.clone().into();
/// // Several keys, selected by `kid`: an empty list or a repeated kid is refused here.
/// let two = Key::hmac(Algorithm::HS256, b"another-32-byte-long-shared-secret").unwrap();
/// let set = KeySource::try_from(vec![one.with_kid("a"), two.with_kid("b")]).unwrap();
/// # let _ = set;
/// ```
///
///
/// A [`Key`] couples a [`jsonwebtoken::DecodingKey`] with an optional key id (`kid`) and the
/// exact list of algorithms it accepts. A token whose header names any other algorithm is
/// refused *before* any signature check, so an HS256 token "signed" with an RSA public key's
/// bytes never reaches the HMAC code, and `alg: none` is refused in every spelling.
///
/// # Key selection
/// * A token with a `kid` uses the key with exactly that `kid`; when keys are named
///   ([`Key::with_kid`]) an unknown `kid` never verifies ([`AuthError::UnknownKey`]).
/// * When no configured key is named (a single PEM pasted from an IdP, say), the token's `kid`
///   is not used: the token is verified by the one key whose algorithms include its `alg`.
/// * A token without a `kid` uses the one key (with or without a `kid`) whose algorithms include
///   the token's `alg`; if several keys qualify the token is refused as
///   [`AuthError::UnknownKey`]: an ambiguous choice is never guessed.
/// * Two static keys with the same `kid` are a build error.
/// * Remote key sets ([`JwksKeys`]) are stricter: a token's `kid` must name a published key
///   exactly (an unknown `kid` triggers a rate-limited refetch, then [`AuthError::UnknownKey`]);
///   a token without `kid` is accepted only when exactly one key is pinned to its `alg`.
///
/// # Keys from a JWKS
/// Each published JWK becomes one [`Key`] pinned to exactly one algorithm:
/// 1. `use` must be absent or `sig`; `key_ops`, when present, must contain `verify`.
/// 2. Symmetric keys (`kty: oct`) are never accepted from a JWKS.
/// 3. The algorithm is the JWK's `alg` when present, else derived from the key type:
///    `RSA` → RS256, `EC` `P-256` → ES256, `EC` `P-384` → ES384, `OKP` `Ed25519` → EdDSA.
///    A declared `alg` must fit the key (RS*/PS* for RSA, ES256 for P-256, ES384 for P-384,
///    EdDSA for Ed25519); HS*, `none`, encryption algorithms and other curves skip the key.
/// 4. RSA moduli must have at least 2048 bits; EC and Ed25519 keys the curve's length.
///
/// A key that fails is skipped and logged once (`tracing` warn); the others are kept. Caching,
/// refresh and failure behaviour: [`jwks`](crate::jwks) (feature `jwks`, on by default).
///
/// # URLs
/// Key set and discovery URLs must be `https://`, except `http://` to a loopback address
/// (`127.0.0.0/8`, `::1`, `localhost`) for local IdPs and tests. Redirects are followed (at
/// most 3) only to URLs that pass the same rule. No URL is ever taken from a token (`jku`,
/// `x5u` and friends are refused outright by the verifier).
#[derive(Debug, Clone)]
pub struct KeySource {
    pub(crate) store: KeyStore,
    /// The issuers a provider's tokens carry (empty for static keys).
    pub(crate) issuers: Vec<String>,
}

impl From<Key> for KeySource {
    fn from(key: Key) -> Self {
        Self {
            store: KeyStore::Static(std::sync::Arc::new([key].into_iter().collect())),
            issuers: Vec::new(),
        }
    }
}

/// Several keys, selected by `kid`: refuses an empty list ([`KeyError::NoKeys`]) and a `kid`
/// used twice ([`KeyError::DuplicateKid`]).
impl TryFrom<Vec<Key>> for KeySource {
    type Error = KeyError;

    fn try_from(keys: Vec<Key>) -> Result<Self, KeyError> {
        let keys: StaticKeys = keys.into_iter().collect();
        if keys.is_empty() {
            return Err(KeyError::NoKeys);
        }
        if let Some(kid) = keys.duplicate_kid() {
            return Err(KeyError::DuplicateKid(kid.to_owned()));
        }
        Ok(Self { store: KeyStore::Static(std::sync::Arc::new(keys)), issuers: Vec::new() })
    }
}

#[cfg(feature = "jwks")]
impl From<IssuerKeys> for KeySource {
    fn from(provider: IssuerKeys) -> Self {
        let (keys, issuers) = provider.into_parts();
        Self { store: KeyStore::Remote(keys), issuers }
    }
}

/// Where the verifier finds keys.
#[derive(Debug, Clone)]
pub(crate) enum KeyStore {
    Static(std::sync::Arc<StaticKeys>),
    #[cfg(feature = "jwks")]
    Remote(JwksKeys),
}

/// Which key verified a token, and how the token chose it: enough to ask again later whether
/// the same token would still pick the same key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct KeyChoice {
    pub(crate) key_id: u64,
    pub(crate) kid: Option<Box<str>>,
    pub(crate) alg: Algorithm,
}

impl KeyStore {
    /// `true` while the token would still be verified by the same key: always for configured
    /// keys (the set never changes); for a remote set, while a usable snapshot would select that
    /// very key for the token's `kid` and `alg` (a key removed, or a second key that makes a
    /// `kid`-less choice ambiguous, ends it). A refresh is started when one is due.
    pub(crate) fn trusts(&self, choice: &KeyChoice) -> bool {
        match self {
            Self::Static(_) => {
                let _ = choice;
                true
            }
            #[cfg(feature = "jwks")]
            Self::Remote(keys) => keys.trusts(choice),
        }
    }

    /// Picks the key for a token header, per the rules in the module docs.
    pub(crate) async fn resolve<R>(
        &self,
        kid: Option<&str>,
        alg: Algorithm,
        with: impl FnOnce(&Key) -> R,
    ) -> Result<R, AuthError> {
        match self {
            Self::Static(keys) => keys.select(kid, alg).map(with),
            #[cfg(feature = "jwks")]
            Self::Remote(keys) => keys.resolve(kid, alg, with).await,
        }
    }
}
