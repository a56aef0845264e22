#![doc = include_str!("../README.md")]
#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod audit;
pub mod authkit;
mod claims;
mod context;
mod crypto;
mod error;
mod extract;
mod guard;
pub mod keys;
mod layer;
mod policy;
pub mod reject;
mod session;
mod source;
mod stepup;
mod verify;

pub use claims::ClaimNames;
pub use context::{Amr, AuthContext, AuthOutcome};
pub use crypto::install_crypto_provider;
pub use error::AuthError;
pub use extract::{DefaultMfa, Mfa, NamedPolicy};
pub use guard::{Guard, GuardFuture, RejectFn, RequireAuth, RequireMfa};
pub use jsonwebtoken::Algorithm;
#[cfg(feature = "jwks")]
pub use keys::{JwksKeys, Provider};
pub use keys::{Key, KeyError};
pub use layer::{AuthLayer, AuthLayerBuilder, AuthService, BuildError};
pub use policy::{DenyRule, FUTURE_AUTH_TIME_SKEW, MethodMatch, MfaPolicy};
pub use reject::{Denial, Rejection};
pub use authkit::iron::IronPasswords;
pub use authkit::{AuthKitSession, Impersonator, RefreshToken, SessionUser};
pub use source::{DEFAULT_MAX_TOKEN_BYTES, TokenSource};
pub use stepup::safe_return_to;
pub use verify::{Clock, DEFAULT_LEEWAY};
