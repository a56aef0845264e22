//! `POST /auth/backchannel-logout` (feature `revocation`): OpenID Back-Channel Logout 1.0. The
//! provider's server posts a signed `logout_token`; once it passes every check (section 2.6),
//! its `jti` is spent (a replay is refused on every instance) and the session or user it names
//! is revoked.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use http::header::{CACHE_CONTROL, CONTENT_TYPE};
use http::{HeaderValue, StatusCode};
use serde_json::Value;

use super::Inner;
use super::routes::{param, params, refuse};
use crate::problem::Problem;
use crate::reject::SignInError;
use crate::{Revocations, RevokeError, audit};

/// The `events` member of a logout token (section 2.4).
const BACKCHANNEL_EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";
/// Largest request body read.
const MAX_BODY: usize = 16 * 1024;
/// Longest `jti` accepted.
const MAX_JTI: usize = 256;

/// What a logout token ends (section 2.4: a `sid`, a `sub`, or both; the `sid` wins).
enum Ended {
    Session(String),
    User(String),
}

/// A logout token that passed every check.
struct Logout {
    ended: Ended,
    sub: String,
    sid: Option<String>,
    jti: String,
    exp: u64,
}

/// A refusal: 400 (503 when it cannot be recorded now), through the layer's `Rejection`.
fn refused(problem: Problem, detail: &str) -> SignInError {
    SignInError::backchannel(problem, detail)
}

/// The route.
pub(super) async fn logout(
    State(inner): State<Arc<Inner>>,
    parts: Parts,
    body: axum::body::Body,
) -> Response {
    let Some(revocations) = &inner.revocations else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let recorded = match read(&inner, &parts, body).await {
        Ok(logout) => record(&inner, revocations, &logout).await.map(|()| logout),
        Err(e) => Err(e),
    };
    match recorded {
        Ok(logout) => {
            audit::signed_out(&logout.sub, logout.sid.as_deref());
            let mut r = StatusCode::OK.into_response();
            r.headers_mut().insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
            r
        }
        Err(e) => {
            audit::logout_token_refused(e.reason().unwrap_or(e.code()));
            refuse(&parts, e)
        }
    }
}

/// The form, its `logout_token`, and every check of the token (section 2.6).
async fn read(inner: &Inner, parts: &Parts, body: axum::body::Body) -> Result<Logout, SignInError> {
    let form = parts.headers.get(CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(|v| {
        // The media type exactly (parameters such as charset allowed), not a prefix of it.
        let essence = v.split(';').next().unwrap_or_default().trim();
        essence.eq_ignore_ascii_case("application/x-www-form-urlencoded")
    });
    if !form {
        return Err(refused(Problem::NotAForm, "expected application/x-www-form-urlencoded"));
    }
    let Ok(bytes) = axum::body::to_bytes(body, MAX_BODY).await else {
        return Err(refused(Problem::BodyTooLarge, "the request body is too large"));
    };
    let Some(q) = params(std::str::from_utf8(&bytes).ok()) else {
        return Err(refused(Problem::DuplicateParameter, "a parameter was given more than once"));
    };
    let Some(token) = param(&q, "logout_token").filter(|t| !t.is_empty()) else {
        return Err(refused(Problem::LogoutTokenMissing, "no logout_token"));
    };
    let claims =
        inner.logout_tokens.verify(token).await.map_err(|e| SignInError::logout_token(&e))?;
    let c = claims.claims();
    let events = c.get("events").and_then(Value::as_object);
    if !events.is_some_and(|e| e.contains_key(BACKCHANNEL_EVENT)) {
        return Err(refused(
            Problem::NotALogoutToken,
            "events lacks the back-channel logout event",
        ));
    }
    if c.contains_key("nonce") {
        return Err(refused(Problem::NoncePresent, "a logout token must not carry a nonce"));
    }
    let jti = c.get("jti").and_then(Value::as_str).filter(|j| !j.is_empty() && j.len() <= MAX_JTI);
    let Some(jti) = jti else {
        return Err(refused(Problem::JtiMissing, "the logout token has no jti"));
    };
    let sid = c.get("sid").and_then(Value::as_str).filter(|s| !s.is_empty());
    let sub = Some(claims.sub()).filter(|s| !s.is_empty());
    if sid.into_iter().chain(sub).any(|id| id.len() > crate::MAX_ID_BYTES) {
        return Err(refused(Problem::IdTooLong, "the logout token's sid or sub is too long"));
    }
    let ended = match (sid, sub) {
        (Some(sid), _) => Ended::Session(sid.to_owned()),
        (None, Some(sub)) => Ended::User(sub.to_owned()),
        (None, None) => {
            return Err(refused(Problem::NoSubject, "the logout token names no sid or sub"));
        }
    };
    Ok(Logout {
        ended,
        sub: claims.sub().to_owned(),
        sid: sid.map(str::to_owned),
        jti: jti.to_owned(),
        exp: claims.exp(),
    })
}

/// Spends the `jti` (on every instance with a shared store), then revokes what the token ends.
async fn record(
    inner: &Inner,
    revocations: &Revocations,
    logout: &Logout,
) -> Result<(), SignInError> {
    // Remember the jti as long as the token could be replayed (its exp plus leeway).
    let ttl = logout.exp.saturating_sub(inner.clock.now()).saturating_add(60);
    let key = format!("jti:{}", super::flow::hex_sha256(&logout.jti));
    match inner.store.put_new(&key, "1", Duration::from_secs(ttl)).await {
        Ok(true) => {}
        Ok(false) => {
            return Err(refused(Problem::JtiReplayed, "this logout token was already used"));
        }
        // The jti cannot be recorded. Ending a session twice is harmless, so a `sid` logout is
        // applied anyway; a `sub` logout replayed later could end newer sessions: try again.
        Err(_) if matches!(logout.ended, Ended::Session(_)) => {}
        Err(_) => {
            let detail = "the logout token's jti cannot be recorded now";
            return Err(refused(Problem::LogoutUnavailable, detail).retry_after(5));
        }
    }
    let entry = match &logout.ended {
        Ended::Session(sid) => revocations.session_entry(sid),
        Ended::User(sub) => revocations.user_entry(sub),
    };
    match revocations.provider_revoked(entry).await {
        Ok(()) => Ok(()),
        // This instance refuses the session already; the others will once it is shared.
        Err(e @ RevokeError::NotShared(_)) => {
            tracing::warn!(error = %e, "back-channel logout: the revocation was not shared yet");
            Ok(())
        }
        // Not recorded: the provider should try again.
        Err(e) => {
            tracing::error!(error = %e, "back-channel logout: the revocation was refused");
            let detail = "the revocation cannot be recorded now";
            Err(refused(Problem::LogoutUnavailable, detail).retry_after(60))
        }
    }
}
