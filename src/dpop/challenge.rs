//! The `WWW-Authenticate` challenges of a layer with DPoP on (RFC 9449 section 7.1), and of a
//! bound token refused without it.

use crate::AuthError;

/// What a layer's rejections offer: kept in its `Responder`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Challenge {
    /// Only DPoP is offered (bearer tokens are refused).
    pub(crate) required: bool,
    /// The accepted proof algorithms, space separated.
    pub(crate) algs: String,
}

/// The challenge for `error` when DPoP decides it: `Some(challenge)`, where a `None` challenge
/// means no header; `None` leaves it to the bearer rules. `dpop_request`: the request sent its
/// token with the `DPoP` scheme, so any refusal of it is a DPoP challenge (RFC 9449 section 7.1).
pub(crate) fn challenge(
    dpop: Option<&Challenge>,
    error: &AuthError,
    dpop_request: bool,
) -> Option<Option<String>> {
    let described = |code: &str| {
        let algs = dpop.map(|c| format!(", algs=\"{}\"", c.algs)).unwrap_or_default();
        format!(
            "DPoP error=\"{code}\", error_description=\"{}\"{algs}",
            crate::reject::quoted(&error.to_string())
        )
    };
    Some(Some(match (dpop, error) {
        (_, AuthError::DpopUnavailable { .. }) => return Some(None),
        // With DPoP off, a bound token gets the bearer challenge: no DPoP is offered.
        (None, _) => return None,
        (Some(c), AuthError::MissingToken) if c.required => format!("DPoP algs=\"{}\"", c.algs),
        (Some(c), AuthError::MissingToken) => format!("Bearer, DPoP algs=\"{}\"", c.algs),
        (Some(_), AuthError::InvalidDpopProof(_)) => described("invalid_dpop_proof"),
        (Some(_), AuthError::UseDpopNonce) => described("use_dpop_nonce"),
        (Some(_), AuthError::DpopRequired | AuthError::DpopBoundToken) => {
            described("invalid_token")
        }
        (Some(c), e) if (c.required || dpop_request) && e.retry_after().is_none() => match e {
            AuthError::AmbiguousToken | AuthError::MalformedHeader => described("invalid_request"),
            _ => described("invalid_token"),
        },
        _ => return None,
    }))
}
