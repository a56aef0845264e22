//! DPoP (RFC 9449): sender-constrained access tokens. A client proves, on every request, that it
//! holds the private key its token is bound to: the token comes as `Authorization: DPoP
//! <token>` with a `DPoP` header carrying a fresh proof, a small JWT signed with that key.
//!
//! ```
//! use axum::{Router, routing::get};
//! use axum_session_mfa::dpop::Dpop;
//! use axum_session_mfa::store::MemoryStore;
//! use axum_session_mfa::{AuthContext, AuthLayer, Key};
//!
//! # let pem = std::fs::read("tests/fixtures/keys/rsa_public.pem").unwrap();
//! let auth = AuthLayer::builder(Key::from_public_pem(&pem).unwrap())
//!     .dpop(
//!         Dpop::required()
//!             .store(MemoryStore::new()) // a `RedisStore` with several instances
//!             .public_origin("https://api.example.com"),
//!     )
//!     .build()
//!     .unwrap();
//! let app: Router = Router::new()
//!     .route("/me", get(|ctx: AuthContext| async move { ctx.sub().to_owned() }))
//!     .layer(auth);
//! ```
//!
//! # Modes
//! * **Off** (no `.dpop(..)`, the default): the `DPoP` scheme is not read. A DPoP-bound token
//!   (`cnf.jkt`) sent as `Bearer` or in a cookie is still refused (`dpop_bound_token`): a
//!   stolen bound token is never usable as a bearer token.
//! * [`Dpop::allowed`]: bearer tokens as before, and `Authorization: DPoP` with a proof. A bound
//!   token must come with its proof; a token sent as `DPoP` must be bound.
//! * [`Dpop::required`]: only `Authorization: DPoP` with bound tokens (`dpop_required`
//!   otherwise).
//!
//! # The proof's checks, in order
//! One `DPoP` header (`missing`, `multiple`), a compact JWS of at most
//! [`MAX_PROOF_BYTES`] (`malformed`); `typ` `dpop+jwt` (`type`); `alg` one of the accepted
//! asymmetric algorithms (default [`DEFAULT_ALGORITHMS`]; never `none` or HMAC) that fits the
//! `jwk`'s type and curve, as keys from a JWKS are pinned (`algorithm`); `jwk` a public key:
//! private members (`d`, `p`, `q`, `dp`, `dq`, `qi`, `oth`) and symmetric keys (`kty: oct`,
//! `k`) refused (`private_key`); the signature, by `jsonwebtoken` with that key (`signature`);
//! `jti` (at most [`MAX_JTI_BYTES`]), `htm`, `htu` and `iat` present (`malformed`); `htm` the
//! request's method (`method`); `htu` the request's URI, normalised (`uri`, see
//! [`public_origin`](Dpop::public_origin) and
//! [`trust_forwarded`](Dpop::trust_forwarded)); `iat` at most
//! [`max_age`](Dpop::max_age) old (`stale`) and at most [`max_future`](Dpop::max_future) ahead
//! (`future`); with [nonces](Dpop::nonces), a current `nonce` (`use_dpop_nonce`); `ath` the
//! base64url SHA-256 of the token (`token_hash`); the token's `cnf.jkt` the RFC 7638 thumbprint
//! of the `jwk` (`key_mismatch`); last, the `jti` spent in the [store](Dpop::store), so a proof
//! is used once on every instance that shares it (`replayed`). Hashes and thumbprints compare
//! in constant time.
//!
//! The checks run after verification on every request, also when the token came from the
//! [token cache](crate::TokenCache): a cached token still needs a fresh proof.
//!
//! Refusals are 401 `invalid_dpop_proof` with `WWW-Authenticate: DPoP
//! error="invalid_dpop_proof", error_description="...", algs="..."`; the
//! [DPoP guide](crate::guide::dpop) has the whole picture.

mod challenge;
mod check;
mod htu;
mod nonce;
mod proof;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use jsonwebtoken::{Algorithm, AlgorithmFamily};

pub(crate) use challenge::{Challenge, challenge};
pub(crate) use check::{Binding, Parts, binding, check};
pub use nonce::{DEFAULT_NONCE_WINDOW, DpopNonces, MIN_NONCE_SECRET_BYTES};

use crate::Clock;
pub use crate::error::DpopProofError;
use crate::store::{MemoryStore, Store};

/// The proof algorithms accepted by default.
pub const DEFAULT_ALGORITHMS: &[Algorithm] =
    &[Algorithm::ES256, Algorithm::ES384, Algorithm::EdDSA, Algorithm::RS256, Algorithm::PS256];

/// How old a proof's `iat` may be by default.
pub const DEFAULT_MAX_AGE: Duration = Duration::from_secs(60);

/// How far in the future a proof's `iat` may be by default (clock skew).
pub const DEFAULT_MAX_FUTURE: Duration = Duration::from_secs(5);

/// The longest proof window a layer accepts (`max_age` plus `max_future`): one hour.
pub const MAX_WINDOW: Duration = Duration::from_secs(3600);

/// How much slower another instance's clock may be: used proof ids are kept this much longer
/// than the window, so an instance whose clock lags still finds them spent.
const CLOCK_SKEW_MARGIN: u64 = 30;

/// The largest accepted `DPoP` header, in bytes (a proof with a 4096-bit RSA key is about 1.5 KB).
pub const MAX_PROOF_BYTES: usize = 8 * 1024;

/// The longest accepted `jti`, in bytes.
pub const MAX_JTI_BYTES: usize = 256;

/// Whether DPoP is accepted or required; see the [module docs](self).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DpopMode {
    /// Bearer tokens and DPoP-bound tokens with their proofs.
    Allowed,
    /// DPoP-bound tokens with their proofs only.
    Required,
}

/// Which forwarding headers name the scheme and host a client used, behind a proxy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ForwardedHeaders {
    /// `Forwarded` (RFC 7239): `proto` and `host` of its last element.
    Forwarded,
    /// `X-Forwarded-Proto` and `X-Forwarded-Host`: the last value of each.
    XForwarded,
}

/// Why a [`Dpop`] configuration cannot be used; see
/// [`BuildError::Dpop`](crate::BuildError::Dpop).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DpopConfigError {
    /// No proof algorithm is accepted.
    NoAlgorithm,
    /// A symmetric algorithm (HS256, ...) cannot sign proofs: the verifier would need the
    /// client's secret.
    SymmetricAlgorithm(Algorithm),
    /// The public origin is not `http(s)://host[:port]`.
    InvalidOrigin(String),
    /// No origin for `htu`: neither a [public origin](Dpop::public_origin), nor a protected
    /// resource on the layer, nor [trusted forwarding headers](Dpop::trust_forwarded), nor
    /// [`origin_from_host`](Dpop::origin_from_host). Taken from the request alone, the origin
    /// would be the client's to choose, and a proof made for another server would pass here.
    NoOrigin,
    /// [`max_age`](Dpop::max_age) plus [`max_future`](Dpop::max_future) exceeds
    /// [`MAX_WINDOW`]: proofs would stay usable for long, and their ids kept for as long.
    WindowTooLong,
    /// A nonce secret shorter than the hash.
    WeakNonceSecret {
        /// Length of the rejected secret in bytes.
        len: usize,
        /// The minimum: [`MIN_NONCE_SECRET_BYTES`].
        min: usize,
    },
}

impl fmt::Display for DpopConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NoAlgorithm => f.write_str("DPoP needs at least one proof algorithm"),
            Self::NoOrigin => f.write_str(
                "DPoP needs the origin clients reach this service at: set public_origin (or a \
                 protected resource), trust_forwarded, or origin_from_host",
            ),
            Self::WindowTooLong => {
                write!(f, "the DPoP proof window (max_age + max_future) exceeds {MAX_WINDOW:?}")
            }
            Self::SymmetricAlgorithm(alg) => {
                write!(f, "{alg:?} is symmetric and cannot sign DPoP proofs")
            }
            Self::InvalidOrigin(origin) => {
                write!(f, "the DPoP public origin {origin:?} is not http(s)://host[:port]")
            }
            Self::WeakNonceSecret { len, min } => {
                write!(f, "the DPoP nonce secret is {len} bytes; at least {min} are required")
            }
        }
    }
}

impl std::error::Error for DpopConfigError {}

/// DPoP settings for a layer: [`AuthLayerBuilder::dpop`](crate::AuthLayerBuilder::dpop).
///
/// ```
/// use std::time::Duration;
/// use axum_session_mfa::Algorithm;
/// use axum_session_mfa::dpop::{Dpop, DpopNonces, ForwardedHeaders};
/// use axum_session_mfa::store::MemoryStore;
///
/// let dpop = Dpop::allowed()
///     .store(MemoryStore::new())
///     .algorithms([Algorithm::ES256, Algorithm::EdDSA])
///     .max_age(Duration::from_secs(30))
///     .trust_forwarded(ForwardedHeaders::XForwarded)
///     .nonces(DpopNonces::new(b"a-secret-all-instances-share-32+bytes").unwrap());
/// # let _ = dpop;
/// ```
#[derive(Clone)]
#[must_use]
pub struct Dpop {
    mode: DpopMode,
    store: Option<Arc<dyn Store>>,
    algorithms: Vec<Algorithm>,
    max_age: Duration,
    max_future: Duration,
    public_origin: Option<String>,
    forwarded: Option<ForwardedHeaders>,
    from_host: bool,
    nonces: Option<DpopNonces>,
}

impl fmt::Debug for Dpop {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Dpop")
            .field("mode", &self.mode)
            .field("shared_store", &self.store.as_ref().map(|s| s.is_shared()))
            .field("algorithms", &self.algorithms)
            .field("max_age", &self.max_age)
            .field("max_future", &self.max_future)
            .field("public_origin", &self.public_origin)
            .field("forwarded", &self.forwarded)
            .field("origin_from_host", &self.from_host)
            .field("nonces", &self.nonces)
            .finish()
    }
}

impl Dpop {
    fn new(mode: DpopMode) -> Self {
        Self {
            mode,
            store: None,
            algorithms: DEFAULT_ALGORITHMS.to_vec(),
            max_age: DEFAULT_MAX_AGE,
            max_future: DEFAULT_MAX_FUTURE,
            public_origin: None,
            forwarded: None,
            from_host: false,
            nonces: None,
        }
    }

    /// Bearer tokens as before, and DPoP-bound tokens with their proofs.
    pub fn allowed() -> Self {
        Self::new(DpopMode::Allowed)
    }

    /// DPoP-bound tokens with their proofs only.
    pub fn required() -> Self {
        Self::new(DpopMode::Required)
    }

    /// The mode.
    pub fn mode(&self) -> DpopMode {
        self.mode
    }

    /// Where used proof ids (`jti`) are kept for the window: a
    /// [`RedisStore`](crate::store::RedisStore) shared by every instance, so a proof replayed to
    /// another instance is refused too. Default: a [`MemoryStore`] on the layer's clock (one
    /// instance). The keys are hashes, never the proof's text.
    pub fn store(mut self, store: impl Store) -> Self {
        self.store = Some(Arc::new(store));
        self
    }

    /// The accepted proof algorithms (default [`DEFAULT_ALGORITHMS`]); the `algs` of the
    /// challenge. Symmetric ones are refused when the layer is built.
    pub fn algorithms(mut self, algorithms: impl IntoIterator<Item = Algorithm>) -> Self {
        self.algorithms = algorithms.into_iter().collect();
        self
    }

    /// How old a proof may be, by its `iat` (default [`DEFAULT_MAX_AGE`]). Used `jti`s are kept
    /// for this plus [`max_future`](Self::max_future).
    pub fn max_age(mut self, max_age: Duration) -> Self {
        self.max_age = max_age;
        self
    }

    /// How far ahead of this service's clock a proof's `iat` may be (default
    /// [`DEFAULT_MAX_FUTURE`]).
    pub fn max_future(mut self, max_future: Duration) -> Self {
        self.max_future = max_future;
        self
    }

    /// The scheme and host clients reach this service at (`https://api.example.com`), which
    /// `htu` must name. Default: the origin of the layer's
    /// [protected resource](crate::AuthLayerBuilder::protected_resource), if it has one.
    /// Without either, the layer needs [trusted forwarding headers](Self::trust_forwarded) or
    /// [`origin_from_host`](Self::origin_from_host), else it does not build.
    pub fn public_origin(mut self, origin: impl Into<String>) -> Self {
        self.public_origin = Some(origin.into());
        self
    }

    /// Reads the scheme and host from these forwarding headers (when no
    /// [public origin](Self::public_origin) is set). Only trust headers that your proxy sets
    /// (or appends to): the last value is read, the one the proxy nearest to this service
    /// wrote. Untrusted, they are ignored.
    ///
    /// Trust `X-Forwarded-Host` only if your proxy sets it (overwriting what the client sent):
    /// a proxy that sets only `X-Forwarded-Proto` leaves the host to the client. Where in
    /// doubt, set a [public origin](Self::public_origin) instead.
    pub fn trust_forwarded(mut self, headers: ForwardedHeaders) -> Self {
        self.forwarded = Some(headers);
        self
    }

    /// Takes the origin from the request itself (its URI, or `http` and its `Host` header)
    /// when no [public origin](Self::public_origin) or forwarding header gives one: for
    /// development and tests on loopback only. A client chooses its `Host`, so a proof made for
    /// another server that accepts the same tokens (within its window, unspent) would pass.
    pub fn origin_from_host(mut self) -> Self {
        self.from_host = true;
        self
    }

    /// Requires server nonces (RFC 9449 section 8): a proof must carry a `nonce` from a
    /// `DPoP-Nonce` response header, else 401 `use_dpop_nonce`. Responses to DPoP requests and
    /// 401s carry the current nonce.
    pub fn nonces(mut self, nonces: DpopNonces) -> Self {
        self.nonces = Some(nonces);
        self
    }

    /// The settings checked and compiled for a layer on `clock`.
    /// `resource_origin`: the origin of the layer's protected resource, if any, the default
    /// public origin.
    pub(crate) fn compile(
        self,
        clock: Clock,
        resource_origin: Option<String>,
    ) -> Result<Arc<DpopCheck>, DpopConfigError> {
        if self.algorithms.is_empty() {
            return Err(DpopConfigError::NoAlgorithm);
        }
        if self.max_age.saturating_add(self.max_future) > MAX_WINDOW {
            return Err(DpopConfigError::WindowTooLong);
        }
        let public_origin = self.public_origin.clone().or(resource_origin);
        if public_origin.is_none() && self.forwarded.is_none() && !self.from_host {
            return Err(DpopConfigError::NoOrigin);
        }
        if let Some(alg) = self.algorithms.iter().find(|a| a.family() == AlgorithmFamily::Hmac) {
            return Err(DpopConfigError::SymmetricAlgorithm(*alg));
        }
        let origin = match &public_origin {
            Some(text) => Some(
                htu::Origin::parse(text)
                    .ok_or_else(|| DpopConfigError::InvalidOrigin(text.clone()))?,
            ),
            None => None,
        };
        let store = self.store.unwrap_or_else(|| Arc::new(MemoryStore::with_clock(clock.clone())));
        let names: Vec<String> = self.algorithms.iter().map(|a| format!("{a:?}")).collect();
        let challenge = Arc::new(Challenge {
            required: self.mode == DpopMode::Required,
            algs: names.join(" "),
        });
        Ok(Arc::new(DpopCheck {
            mode: self.mode,
            store,
            algorithms: self.algorithms,
            max_age: self.max_age.as_secs(),
            max_future: self.max_future.as_secs(),
            origin,
            forwarded: self.forwarded,
            nonces: self.nonces,
            clock,
            challenge,
        }))
    }
}

/// A layer's DPoP settings, ready for requests.
pub(crate) struct DpopCheck {
    pub(crate) mode: DpopMode,
    store: Arc<dyn Store>,
    algorithms: Vec<Algorithm>,
    max_age: u64,
    max_future: u64,
    origin: Option<htu::Origin>,
    forwarded: Option<ForwardedHeaders>,
    nonces: Option<DpopNonces>,
    clock: Clock,
    /// What the layer's rejections offer (also in its `Responder`).
    pub(crate) challenge: Arc<Challenge>,
}

impl fmt::Debug for DpopCheck {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DpopCheck").field("mode", &self.mode).finish_non_exhaustive()
    }
}

impl DpopCheck {
    /// The accepted proof algorithms' names (`dpop_signing_alg_values_supported`).
    pub(crate) fn alg_names(&self) -> Vec<String> {
        self.algorithms.iter().map(|a| format!("{a:?}")).collect()
    }

    /// Whether responses to this request carry a `DPoP-Nonce` whatever their status: nonces
    /// are on and the request speaks DPoP (a `DPoP` header or `Authorization: DPoP`).
    pub(crate) fn nonce_for(&self, headers: &http::HeaderMap) -> bool {
        self.nonces.is_some()
            && (headers.contains_key("dpop")
                || headers.get(http::header::AUTHORIZATION).is_some_and(|v| {
                    v.as_bytes().get(..5).is_some_and(|s| s.eq_ignore_ascii_case(b"dpop "))
                }))
    }

    /// The current `DPoP-Nonce` value, when nonces are on.
    pub(crate) fn nonce_header(&self) -> Option<http::HeaderValue> {
        let nonce = self.nonces.as_ref()?.issue(self.clock.now())?;
        http::HeaderValue::try_from(nonce).ok()
    }
}
