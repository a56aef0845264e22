//! Rejections and their responses: status, `WWW-Authenticate` challenge (RFC 6750, RFC 9470)
//! and an `application/problem+json` body (RFC 9457).
//!
//! | situation | status | `WWW-Authenticate` |
//! |---|---|---|
//! | no token | 401 | `Bearer` |
//! | bad, expired, forged token | 401 | `Bearer error="invalid_token", error_description="…"` |
//! | valid session, policy not met | 403 | `Bearer error="insufficient_user_authentication", …, acr_values="…", max_age=…` |
//! | keys unavailable | 503 | none; `Retry-After: 5` |
//!
//! The body's `type` is `https://docs.rs/axum-session-mfa/latest/axum_session_mfa/reject/#<code>`
//! where `<code>` is [`AuthError::code`] or `insufficient_user_authentication`; the body also
//! carries the `code` itself and, for 403, `policy`, `rule` and what would pass: `methods`,
//! `methods_match`, `acr_values`, `max_age`. No body or header ever contains token material.

use axum::response::{IntoResponse, Response};
use http::header::{CONTENT_TYPE, RETRY_AFTER, WWW_AUTHENTICATE};
use http::{HeaderValue, StatusCode};
use serde_json::{Map, Value, json};
use std::fmt::Write as _;
use std::sync::Arc;

use crate::policy::{DenyRule, MethodMatch};
use crate::{AuthError, MfaPolicy};

const TYPE_BASE: &str = "https://docs.rs/axum-session-mfa/latest/axum_session_mfa/reject/#";

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
            Self::InsufficientAuthentication(_) => "insufficient_user_authentication",
            Self::LayerMissing => "auth_layer_missing",
        }
    }

    /// The `WWW-Authenticate` challenge, if this rejection carries one.
    pub fn challenge(&self) -> Option<String> {
        match self {
            Self::Unauthenticated(AuthError::MissingToken) => Some("Bearer".to_owned()),
            Self::Unauthenticated(AuthError::KeysUnavailable) | Self::LayerMissing => None,
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
            Self::Unauthenticated(AuthError::KeysUnavailable) => {
                ("Service unavailable", AuthError::KeysUnavailable.to_string())
            }
            Self::Unauthenticated(e) => ("Invalid session", e.to_string()),
            Self::InsufficientAuthentication(d) => {
                ("Step-up authentication required", d.rule.to_string())
            }
            Self::LayerMissing => (
                "Server misconfiguration",
                "AuthLayer is not installed in front of this route".to_owned(),
            ),
        };
        let mut body = json!({
            "type": format!("{TYPE_BASE}{}", self.code()),
            "title": title,
            "status": self.status().as_u16(),
            "detail": detail,
            "code": self.code(),
        });
        if let (Self::InsufficientAuthentication(d), Value::Object(map)) = (self, &mut body) {
            let (methods, matching) = d.policy.methods();
            map.insert("policy".into(), d.policy.name().into());
            map.insert("rule".into(), d.rule.code().into());
            map.insert("methods".into(), methods.into());
            let matching = if matching == MethodMatch::AllOf { "all" } else { "any" };
            map.insert("methods_match".into(), matching.into());
            map.insert("acr_values".into(), d.policy.acr().into());
            map.insert("max_age".into(), d.policy.max_age_secs().into());
        }
        match body {
            Value::Object(map) => map,
            _ => Map::new(),
        }
    }
}

/// Escapes a value for an HTTP quoted-string and drops characters a header cannot carry.
fn quoted(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars().filter(|c| (' '..='~').contains(c)) {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out
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
        if matches!(self, Self::Unauthenticated(AuthError::KeysUnavailable)) {
            headers.insert(RETRY_AFTER, HeaderValue::from_static("5"));
        }
        response
    }
}
