//! Rejections and their responses: status, `WWW-Authenticate` challenge (RFC 6750, RFC 9470)
//! and an `application/problem+json` body (RFC 9457).
//!
//! | situation | status | `WWW-Authenticate` |
//! |---|---|---|
//! | no token | 401 | `Bearer` |
//! | bad, expired, forged token | 401 | `Bearer error="invalid_token", error_description="…"` |
//! | conflicting or malformed credentials header | 401 | `Bearer error="invalid_request", error_description="…"` |
//! | valid session, MFA policy not met | 403 | `Bearer error="insufficient_user_authentication", …, acr_values="…", max_age=…` |
//! | valid session, a custom rule fails | 403 | none (stepping up cannot help) |
//! | keys unavailable | 503 | none; `Retry-After`: seconds until the next key fetch may be tried |
//!
//! The body's `type` is this page's URL with the problem code as fragment (below); the body also
//! carries the `code` itself and, for 403, `policy`, `rule`, what was missing
//! (`missing_methods`) and what would pass (`methods`, `methods_match`, `acr_values`,
//! `max_age`). No body or header ever contains token material.
//!
//! # Problem types
//!
//! ### missing_token
//! No credential was presented.
//! ### ambiguous_token
//! Conflicting credentials: different duplicate cookies, or several `Authorization` headers.
//! ### malformed_header
//! The `Authorization` header is not a well-formed bearer credential.
//! ### token_too_large
//! The token exceeds the configured size limit.
//! ### malformed_token
//! Not a compact JWS (segments, base64url, JSON objects).
//! ### algorithm_not_allowed
//! `alg` is `none`, unknown, or not pinned to the selected key.
//! ### unknown_key
//! No trusted key for the token's `kid`.
//! ### forbidden_header
//! The header carries `jwk`, `jku`, `x5u` or `x5c`.
//! ### unsupported_critical_header
//! The header has a `crit` member.
//! ### wrong_token_type
//! `typ` is not accepted.
//! ### bad_signature
//! The signature does not verify.
//! ### token_expired
//! `exp` has passed.
//! ### token_not_yet_valid
//! `nbf` is in the future.
//! ### missing_claim
//! A required claim is absent.
//! ### invalid_claim
//! A claim has the wrong type.
//! ### wrong_issuer
//! `iss` is not accepted.
//! ### wrong_audience
//! `aud` is not accepted.
//! ### invalid_session
//! A sealed session cookie could not be opened.
//! ### session_user_mismatch
//! A sealed session's user is not the subject of its access token.
//! ### keys_unavailable
//! Verification keys are temporarily unavailable (503).
//! ### insufficient_user_authentication
//! A valid session that must step up (RFC 9470).
//! ### policy_denied
//! A valid session refused by a custom rule.
//! ### auth_layer_missing
//! `AuthLayer` is not installed in front of the route (a programming error, 500).

use axum::response::{IntoResponse, Response};
use http::header::{CONTENT_TYPE, RETRY_AFTER, WWW_AUTHENTICATE};
use http::{HeaderValue, StatusCode};
use serde_json::{Map, Value};
use std::fmt::Write as _;
use std::sync::Arc;

use crate::policy::{DenyRule, MethodMatch};
use crate::{AuthError, MfaPolicy};

const TYPE_BASE: &str =
    "https://docs.rs/axum-session-mfa/latest/axum_session_mfa/reject/index.html#";

/// Why a guard or extractor refused a request.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Rejection {
    /// No valid session: 401 (or 503 when keys are unavailable).
    Unauthenticated(AuthError),
    /// A valid session that does not meet the policy: 403 by default.
    InsufficientAuthentication(Denial),
    /// `AuthLayer` is not installed in front of this route: a programming error, 500.
    LayerMissing,
}

/// A policy's refusal of a valid session.
#[derive(Debug, Clone)]
pub struct Denial {
    pub(crate) policy: Arc<MfaPolicy>,
    pub(crate) rule: DenyRule,
    pub(crate) missing_methods: Vec<String>,
    pub(crate) status: StatusCode,
}

impl Denial {
    /// The policy that refused.
    pub fn policy(&self) -> &MfaPolicy {
        &self.policy
    }

    /// The rule that failed.
    pub fn rule(&self) -> &DenyRule {
        &self.rule
    }

    /// The accepted `amr` methods the session lacked.
    pub fn missing_methods(&self) -> &[String] {
        &self.missing_methods
    }
}

impl Rejection {
    /// The response status.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::Unauthenticated(e) => e.status(),
            Self::InsufficientAuthentication(d) => d.status,
            Self::LayerMissing => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The stable code naming the problem.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Unauthenticated(e) => e.code(),
            Self::InsufficientAuthentication(d) if d.rule.step_up_helps() => {
                "insufficient_user_authentication"
            }
            Self::InsufficientAuthentication(_) => "policy_denied",
            Self::LayerMissing => "auth_layer_missing",
        }
    }

    /// The `WWW-Authenticate` challenge, if this rejection carries one.
    pub fn challenge(&self) -> Option<String> {
        match self {
            Self::Unauthenticated(AuthError::MissingToken) => Some("Bearer".to_owned()),
            Self::Unauthenticated(AuthError::KeysUnavailable { .. }) | Self::LayerMissing => None,
            Self::Unauthenticated(e @ (AuthError::AmbiguousToken | AuthError::MalformedHeader)) => {
                Some(format!(
                    "Bearer error=\"invalid_request\", error_description=\"{}\"",
                    quoted(&e.to_string())
                ))
            }
            Self::InsufficientAuthentication(d) if !d.rule.step_up_helps() => None,
            Self::Unauthenticated(e) => Some(format!(
                "Bearer error=\"invalid_token\", error_description=\"{}\"",
                quoted(&e.to_string())
            )),
            Self::InsufficientAuthentication(d) => {
                let mut c = format!(
                    "Bearer error=\"insufficient_user_authentication\", error_description=\"{}\"",
                    quoted(&d.rule.to_string())
                );
                if !d.policy.acr().is_empty() {
                    let _ = write!(c, ", acr_values=\"{}\"", quoted(&d.policy.acr().join(" ")));
                }
                if let Some(max_age) = d.policy.max_age_secs() {
                    let _ = write!(c, ", max_age={max_age}");
                }
                Some(c)
            }
        }
    }

    /// The problem+json body (RFC 9457) as a JSON object.
    pub fn problem(&self) -> Map<String, Value> {
        let (title, detail) = match self {
            Self::Unauthenticated(AuthError::MissingToken) => {
                ("Authentication required", AuthError::MissingToken.to_string())
            }
            Self::Unauthenticated(e @ AuthError::KeysUnavailable { .. }) => {
                ("Service unavailable", e.to_string())
            }
            Self::Unauthenticated(e) => ("Invalid session", e.to_string()),
            Self::InsufficientAuthentication(d) if d.rule.step_up_helps() => {
                ("Step-up authentication required", d.rule.to_string())
            }
            Self::InsufficientAuthentication(d) => ("Forbidden", d.rule.to_string()),
            Self::LayerMissing => (
                "Server misconfiguration",
                "AuthLayer is not installed in front of this route".to_owned(),
            ),
        };
        let mut body = Map::new();
        body.insert("type".into(), format!("{TYPE_BASE}{}", self.code()).into());
        body.insert("title".into(), title.into());
        body.insert("status".into(), self.status().as_u16().into());
        body.insert("detail".into(), detail.into());
        body.insert("code".into(), self.code().into());
        if let Self::InsufficientAuthentication(d) = self {
            let (methods, matching) = d.policy.methods();
            body.insert("policy".into(), d.policy.name().into());
            body.insert("rule".into(), d.rule.code().into());
            body.insert("missing_methods".into(), d.missing_methods.clone().into());
            body.insert("methods".into(), methods.into());
            let matching = if matching == MethodMatch::AllOf { "all" } else { "any" };
            body.insert("methods_match".into(), matching.into());
            body.insert("acr_values".into(), d.policy.acr().into());
            if let Some(max_age) = d.policy.max_age_secs() {
                body.insert("max_age".into(), max_age.into());
            }
        }
        body
    }
}

/// Keeps the characters RFC 6750 allows in `error_description` and `acr_values` quoted
/// strings: visible ASCII and space, without `"` and `\`.
fn quoted(s: &str) -> String {
    s.chars().filter(|c| (' '..='~').contains(c) && !matches!(c, '"' | '\\')).collect()
}

impl IntoResponse for Rejection {
    fn into_response(self) -> Response {
        let body = serde_json::to_vec(&self.problem()).unwrap_or_default();
        let mut response = (self.status(), body).into_response();
        let headers = response.headers_mut();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/problem+json"));
        if let Some(value) = self.challenge().and_then(|c| HeaderValue::try_from(c).ok()) {
            headers.insert(WWW_AUTHENTICATE, value);
        }
        if let Self::Unauthenticated(AuthError::KeysUnavailable { retry_after }) = self {
            headers.insert(RETRY_AFTER, HeaderValue::from(retry_after.max(1)));
        }
        response
    }
}
