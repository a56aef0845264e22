// The README's links lead to files on GitHub; on docs.rs, these definitions of the same labels
// come first and win (CommonMark keeps the first), so they lead to the guide modules. (Through
// `concat!`, so that doc tests are named after this file rather than links.md.)
#![doc = concat!(include_str!("guide/links.md"))]
#![doc = include_str!("../README.md")]
#![deny(missing_docs)]
#![forbid(unsafe_code)]
// docs.rs builds with `--cfg docsrs`: every item gated by a feature shows that feature.
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod audit;
#[cfg(feature = "authkit")]
pub mod authkit;
pub mod dpop;
pub mod guide;
#[cfg(feature = "jwks")]
pub mod jwks;
#[cfg(feature = "lifecycle")]
pub mod lifecycle;
pub mod mcp;
pub mod store;

mod cache;
mod claims;
mod clock;
mod context;
mod cross_origin;
mod crypto;
mod error;
mod extract;
mod guard;
mod keys;
mod layer;
mod policy;
mod problem;
mod reject;
mod resource_metadata;
#[cfg(feature = "revocation")]
mod revocation;
mod session;
mod source;
mod stepup;
mod verify;

pub use cache::{CacheStats, TokenCache};
pub use claims::ClaimNames;
pub use clock::Clock;
pub use context::{Amr, AuthContext, AuthOutcome};
pub use cross_origin::{
    CrossOriginError, CrossOriginFuture, CrossOriginProtection, CrossOriginProtectionLayer,
    InvalidOrigin,
};
pub use crypto::install_crypto_provider;
#[cfg(feature = "authkit")]
pub use error::SealError;
pub use error::{AuthError, Claim, DpopProofError, ForbiddenHeader, Malformed};
pub use extract::{DefaultMfa, Mfa, NamedPolicy};
pub use guard::{Guard, GuardFuture, RequireAuth, RequireMfa, RequireRecentAuth, RequireScope};
/// The JWS algorithms, from `jsonwebtoken` (a public dependency: see the crate docs).
pub use jsonwebtoken::Algorithm;
pub use keys::{Key, KeyError, KeySource, KeyType};
pub use layer::{AuthLayer, AuthLayerBuilder, AuthService, BuildError, ResponseFuture};
pub use policy::{DenyRule, FUTURE_AUTH_TIME_SKEW, MethodMatch, MfaPolicy, MfaPolicyBuilder};
pub use problem::ProblemCode;
pub use reject::{DEFAULT_PROBLEM_TYPE_BASE, Denial, Rejection, RejectionKind};
pub use resource_metadata::{InvalidResource, ProtectedResource, RESOURCE_METADATA_PATH};
#[cfg(feature = "revocation")]
pub use revocation::{
    DEFAULT_REVOCATION_CAPACITY, KeepCurrent, MAX_ID_BYTES, Revocations, RevocationsBuilder,
    RevokeError,
};
pub use source::{DEFAULT_MAX_TOKEN_BYTES, TokenSource};
pub use stepup::safe_return_to;
pub use verify::{DEFAULT_LEEWAY, TokenType};

/// Internals for the fuzz targets in `fuzz/`; not part of the API, no stability promise.
#[doc(hidden)]
pub mod __private {
    #[cfg(feature = "authkit")]
    pub use crate::authkit::iron::{seal, unseal};
}
