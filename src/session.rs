//! Session cookie formats: a plain JWT, or an iron-sealed (`Fe26.2`) cookie such as WorkOS
//! AuthKit's `wos-session`.
//!
//! The layer decodes a token in one step between finding it and verifying it:
//!
//! * a **bearer** token is always a plain JWT;
//! * a **cookie** value is an AuthKit session when AuthKit is enabled
//!   ([`AuthLayerBuilder::authkit`](crate::AuthLayerBuilder::authkit)) and the value starts
//!   with `Fe26.`, and a plain JWT otherwise. Nothing else is guessed.

pub(crate) use crate::authkit::{AUTHKIT_COOKIE, AuthKitSession};
use crate::authkit::{self, iron};

use crate::source::{Found, TokenSource};
use crate::verify::Verifier;
use crate::{AuthContext, AuthError};
use iron::IronPasswords;

/// How cookie values are read.
#[derive(Debug, Clone, Default)]
pub(crate) enum CookieFormat {
    /// Every value is a plain JWT.
    #[default]
    Jwt,
    /// Values starting with `Fe26.` are AuthKit sessions sealed with these passwords.
    AuthKit(IronPasswords),
}

/// Decodes and verifies the token the source found.
pub(crate) async fn authenticate(
    format: &CookieFormat,
    verifier: &Verifier,
    found: &Found<'_>,
) -> Result<AuthContext, AuthError> {
    match (format, found.source) {
        (CookieFormat::AuthKit(passwords), TokenSource::Cookie(_))
            if found.token.starts_with(authkit::SEAL_PREFIX) =>
        {
            let now_ms = verifier.now().saturating_mul(1000);
            let session = AuthKitSession::open(&found.token, passwords, now_ms)?;
            let (access_token, info) = session.into_info();
            let ctx = verifier.verify(&access_token).await?;
            // As AuthKit's withAuth(): the sealed user must be the token's subject.
            if ctx.sub() != info.user.id {
                return Err(AuthError::SessionUserMismatch);
            }
            Ok(ctx.with_session(info))
        }
        _ => verifier.verify(&found.token).await,
    }
}
