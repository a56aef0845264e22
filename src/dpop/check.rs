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

/// How a token is bound to a key (its `cnf` claim, RFC 7800).
pub(crate) enum Binding<'a> {
    /// No `cnf`: a bearer token.
    None,
    /// `cnf.jkt`: DPoP, to the key with this thumbprint.
    Jkt(&'a str),
    /// Another confirmation (a certificate's `x5t#S256`, a `jwk`, ...) or a malformed `cnf`:
    /// bound, to something this layer cannot check.
    Other,
}

/// The token's binding.
pub(crate) fn binding(ctx: &AuthContext) -> Binding<'_> {
    match ctx.claims().get("cnf") {
        None => Binding::None,
        Some(cnf) => match cnf.as_object().and_then(|c| c.get("jkt")).and_then(|j| j.as_str()) {
            Some(jkt) if !jkt.is_empty() => Binding::Jkt(jkt),
            _ => Binding::Other,
        },
    }
}

/// Applies `dpop` (none: DPoP off) to a verified `result`.
pub(crate) async fn check(
    dpop: Option<&DpopCheck>,
    request: Parts<'_>,
    found: &FoundAll<'_>,
    result: Result<AuthContext, AuthError>,
) -> Result<AuthContext, AuthError> {
    let ctx = result?;
    let bound = binding(&ctx);
    let Some(dpop) = dpop else {
        // DPoP off: a bound token is never taken as a bearer token.
        return match bound {
            Binding::None => Ok(ctx),
            _ => Err(AuthError::DpopBoundToken),
        };
    };
    let Some(sent) = found.iter().find(|f| f.dpop) else {
        return match (bound, dpop.mode) {
            (Binding::Jkt(_) | Binding::Other, _) => Err(AuthError::DpopBoundToken),
            (Binding::None, super::DpopMode::Required) => Err(AuthError::DpopRequired),
            (Binding::None, _) => Ok(ctx),
        };
    };
    let Binding::Jkt(jkt) = bound else {
        return Err(AuthError::InvalidDpopProof(DpopProofError::UnboundToken));
    };
    dpop.verify_proof(&request, &sent.token, jkt).await?;
    Ok(ctx)
}
