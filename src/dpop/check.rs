//! The layer's DPoP step, after verification (and the token cache) on every request: the mode's
//! rules (no downgrade of a bound token, bearer refused when DPoP is required), then the proof.

use http::{Extensions, HeaderMap, Method, Uri};

use super::DpopCheck;
use crate::error::DpopProofError;
use crate::source::FoundAll;
use crate::{AuthContext, AuthError};

/// The parts of the request a proof is checked against.
pub(crate) struct Parts<'a> {
    pub(crate) method: &'a Method,
    pub(crate) uri: &'a Uri,
    pub(crate) headers: &'a HeaderMap,
    pub(crate) extensions: &'a Extensions,
}

/// The token's `cnf.jkt`: `None` when the token is not bound, `Some(None)` when `cnf.jkt` is
/// there but not a string.
fn bound_to(ctx: &AuthContext) -> Option<Option<&str>> {
    let jkt = ctx.claims().get("cnf")?.as_object()?.get("jkt")?;
    Some(jkt.as_str().filter(|s| !s.is_empty()))
}

/// Applies `dpop` (none: DPoP off) to a verified `result`.
pub(crate) async fn check(
    dpop: Option<&DpopCheck>,
    request: Parts<'_>,
    found: &FoundAll<'_>,
    result: Result<AuthContext, AuthError>,
) -> Result<AuthContext, AuthError> {
    let ctx = result?;
    let bound = bound_to(&ctx);
    let Some(dpop) = dpop else {
        // DPoP off: a bound token is never taken as a bearer token.
        return if bound.is_some() { Err(AuthError::DpopBoundToken) } else { Ok(ctx) };
    };
    let Some(sent) = found.iter().find(|f| f.dpop) else {
        return match (bound, dpop.mode) {
            (Some(_), _) => Err(AuthError::DpopBoundToken),
            (None, super::DpopMode::Required) => Err(AuthError::DpopRequired),
            (None, _) => Ok(ctx),
        };
    };
    let Some(Some(jkt)) = bound else {
        return Err(AuthError::InvalidDpopProof(DpopProofError::UnboundToken));
    };
    dpop.verify_proof(&request, &sent.token, jkt).await?;
    Ok(ctx)
}
