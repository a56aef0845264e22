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
use crate::keys::KeyChoice;
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

/// What a sealed session exposes besides its token (nothing without AuthKit).
#[cfg(feature = "authkit")]
type Info = SessionInfo;
#[cfg(not(feature = "authkit"))]
type Info = ();

/// A token reduced to the JWT it carries, and the sealed session's user when it was sealed.
struct Decoded<'a> {
    jwt: Cow<'a, str>,
    info: Option<Info>,
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
            let (session, expires_ms) = AuthKitSession::open_with_expiry(
                &found.token,
                passwords,
                verifier.clock.now_millis(),
            )?;
            let (access_token, info) = session.into_info(expires_ms);
            Ok(Decoded { jwt: Cow::Owned(access_token), info: Some(info) })
        }
        _ => Ok(Decoded { jwt: Cow::Borrowed(&found.token), info: None }),
    }
}

/// A verified session, with what the layer's cache needs to keep it safely.
pub(crate) struct Verified {
    pub(crate) ctx: AuthContext,
    /// The key that verified the signature, and how the token chose it.
    pub(crate) key: KeyChoice,
    /// When a sealed cookie's own expiry ends it (seconds since the epoch), if it has one.
    pub(crate) seal_expires: Option<u64>,
}

/// Decodes and verifies the tokens the sources found. When several sources carry a token, all
/// must decode to the same JWT (else [`AuthError::AmbiguousToken`]), whatever their order; a
/// sealed session among them brings its user, which must be the token's subject.
pub(crate) async fn authenticate(
    format: &CookieFormat,
    verifier: &Verifier,
    found: &FoundAll<'_>,
) -> Result<Verified, AuthError> {
    if found.others.is_empty() {
        // The common case: one token, no allocation.
        let Decoded { jwt, info } = decode(format, verifier, &found.first)?;
        return finish(verifier, &jwt, info).await;
    }
    let all: Vec<Decoded<'_>> = found
        .iter()
        .map(|f| decode(format, verifier, f))
        .collect::<Result<_, _>>()
        .map_err(|_| AuthError::AmbiguousToken)?;
    if all.iter().any(|d| d.jwt != all[0].jwt) {
        return Err(AuthError::AmbiguousToken);
    }
    #[cfg_attr(not(feature = "authkit"), allow(clippy::clone_on_copy))]
    let infos = all.iter().filter_map(|d| d.info.clone());
    finish(verifier, &all[0].jwt, infos).await
}

/// Verifies the one JWT and attaches the sealed session's user, if any source was sealed.
#[cfg_attr(not(feature = "authkit"), allow(unused_variables, unused_mut))]
async fn finish(
    verifier: &Verifier,
    jwt: &str,
    infos: impl IntoIterator<Item = Info>,
) -> Result<Verified, AuthError> {
    let (ctx, key) = verifier.verify_with_key(jwt).await?;
    let mut verified = Verified { ctx, key, seal_expires: None };
    #[cfg(feature = "authkit")]
    {
        let mut infos = infos.into_iter();
        if let Some(info) = infos.next() {
            // As AuthKit's withAuth(): the sealed user must be the token's subject.
            if verified.ctx.sub() != info.user.id
                || infos.any(|other| other.user.id != info.user.id)
            {
                return Err(AuthError::SessionUserMismatch);
            }
            verified.seal_expires = info.seal_expires_ms.map(|ms| ms / 1000);
            verified.ctx = verified.ctx.with_session(info);
        }
    }
    Ok(verified)
}

/// Verifies a sealed session's access token and attaches its user (who must be the subject).
#[cfg(feature = "lifecycle")]
pub(crate) async fn verify_session(
    verifier: &Verifier,
    session: AuthKitSession,
) -> Result<AuthContext, AuthError> {
    let (jwt, info) = session.into_info(None);
    finish(verifier, &jwt, Some(info)).await.map(|v| v.ctx)
}
