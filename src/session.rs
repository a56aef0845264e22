//! Session cookie formats: a plain JWT, or an iron-sealed (`Fe26.2`) cookie such as WorkOS
//! AuthKit's `wos-session` (feature `authkit`).
//!
//! The layer decodes each token it found in one step between finding and verifying:
//!
//! * a **bearer** token is always a plain JWT;
//! * a **cookie** value is an AuthKit session when AuthKit is enabled
//!   ([`AuthLayerBuilder::authkit`](crate::AuthLayerBuilder::authkit)) and the value starts
//!   with `Fe26.`, and a plain JWT otherwise. Nothing else is guessed.
//!
//! When several sources carry a token, they must decode to the same JWT (see `source.rs`).

use std::borrow::Cow;

#[cfg(feature = "authkit")]
use crate::authkit::{self, AuthKitSession, IronPasswords, SessionInfo};
#[cfg(feature = "authkit")]
use crate::source::TokenSource;
use crate::source::{Found, FoundAll};
use crate::verify::Verifier;
use crate::{AuthContext, AuthError};

/// How cookie values are read.
#[derive(Debug, Clone, Default)]
pub(crate) enum CookieFormat {
    /// Every value is a plain JWT.
    #[default]
    Jwt,
    /// Values starting with `Fe26.` are AuthKit sessions sealed with these passwords.
    #[cfg(feature = "authkit")]
    AuthKit(IronPasswords),
}

/// A token reduced to the JWT it carries, and the sealed session's user when it was sealed.
struct Decoded<'a> {
    jwt: Cow<'a, str>,
    #[cfg(feature = "authkit")]
    info: Option<SessionInfo>,
}

#[cfg_attr(not(feature = "authkit"), allow(unused_variables))]
fn decode<'a>(
    format: &CookieFormat,
    verifier: &Verifier,
    found: &'a Found<'_>,
) -> Result<Decoded<'a>, AuthError> {
    match (format, found.source) {
        #[cfg(feature = "authkit")]
        (CookieFormat::AuthKit(passwords), TokenSource::Cookie(_))
            if found.token.starts_with(authkit::SEAL_PREFIX) =>
        {
            let session =
                AuthKitSession::open(&found.token, passwords, verifier.clock.now_millis())?;
            let (access_token, info) = session.into_info();
            Ok(Decoded { jwt: Cow::Owned(access_token), info: Some(info) })
        }
        _ => Ok(Decoded {
            jwt: Cow::Borrowed(&found.token),
            #[cfg(feature = "authkit")]
            info: None,
        }),
    }
}

/// Decodes and verifies the tokens the sources found.
pub(crate) async fn authenticate(
    format: &CookieFormat,
    verifier: &Verifier,
    found: &FoundAll<'_>,
) -> Result<AuthContext, AuthError> {
    let first = decode(format, verifier, &found.first);
    for other in &found.others {
        let same = match (&first, decode(format, verifier, other)) {
            (Ok(a), Ok(b)) => a.jwt == b.jwt,
            _ => false,
        };
        if !same {
            return Err(AuthError::AmbiguousToken);
        }
    }
    let decoded = first?;
    let ctx = verifier.verify(&decoded.jwt).await?;
    #[cfg(feature = "authkit")]
    if let Some(info) = decoded.info {
        // As AuthKit's withAuth(): the sealed user must be the token's subject.
        if ctx.sub() != info.user.id {
            return Err(AuthError::SessionUserMismatch);
        }
        return Ok(ctx.with_session(info));
    }
    Ok(ctx)
}
