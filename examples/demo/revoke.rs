//! `POST /admin/revoke`: revoke a session or a user, on every instance sharing the state.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum_session_mfa::{AuthContext, MAX_ID_BYTES, Revocations, RevokeError};
use serde::Deserialize;
use serde_json::json;

/// The role that may revoke other users' sessions.
const ADMIN_ROLE: &str = "admin";

/// `{"sid": "..."}` or `{"sub": "..."}` (JSON): 204 once revoked here and shared; 415 for
/// another content type; 400 for another body or an empty or oversized id; 403 `forbidden` for
/// someone else's session without the admin role; 507 when the revocation set is full; 503 when
/// the shared state could not be told (this instance refuses the session already, the others
/// will once Redis answers again).
pub async fn revoke(
    State(revocations): State<Revocations>,
    ctx: AuthContext,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Revoke {
        sid: Option<String>,
        sub: Option<String>,
    }
    if !is_json(&headers) {
        let detail = "send the body as Content-Type: application/json";
        return problem(StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type", detail);
    }
    let Ok(Revoke { sid, sub }) = serde_json::from_slice::<Revoke>(&body) else {
        let detail = r#"expected {"sid": "..."} or {"sub": "..."}"#;
        return problem(StatusCode::BAD_REQUEST, "invalid_request", detail);
    };
    let (id, own) = match (&sid, &sub) {
        (Some(sid), None) => (sid, ctx.sid() == Some(sid.as_str())),
        (None, Some(sub)) => (sub, ctx.sub() == sub),
        _ => {
            let detail = "give exactly one of sid and sub";
            return problem(StatusCode::BAD_REQUEST, "invalid_request", detail);
        }
    };
    if id.is_empty() || id.len() > MAX_ID_BYTES {
        let detail = format!("sid and sub are 1 to {MAX_ID_BYTES} bytes");
        return problem(StatusCode::BAD_REQUEST, "invalid_id", &detail);
    }
    // Your own session or user: always. Anyone else's: admins only (`role`, or in `roles`).
    let admin = ctx.role() == Some(ADMIN_ROLE) || ctx.has_role(ADMIN_ROLE);
    if !own && !admin {
        let detail = "revoking another user's sessions needs the admin role";
        return problem(StatusCode::FORBIDDEN, "forbidden", detail);
    }
    let result = match (sid, sub) {
        (Some(sid), _) => revocations.revoke_session(&sid).await,
        (_, Some(sub)) => revocations.revoke_user(&sub).await,
        (None, None) => unreachable!("checked above"),
    };
    match result {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        // Checked above; the crate refuses the same ids.
        Err(e @ RevokeError::InvalidId) => {
            problem(StatusCode::BAD_REQUEST, e.code(), &e.to_string())
        }
        // The set is full: nothing was recorded, and waiting will not help before entries expire.
        Err(e @ RevokeError::Full { .. }) => {
            problem(StatusCode::INSUFFICIENT_STORAGE, e.code(), &e.to_string())
        }
        // Refused here already; the other instances will once Redis answers again.
        Err(e) => {
            let status = StatusCode::SERVICE_UNAVAILABLE;
            let mut response = problem(status, "temporarily_unavailable", &e.to_string());
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
            response
        }
    }
}

/// `true` when the body is declared as JSON: one `Content-Type` whose media type is
/// `application/json` exactly (parameters such as `charset` allowed).
fn is_json(headers: &HeaderMap) -> bool {
    let mut values = headers.get_all(header::CONTENT_TYPE).iter();
    let (Some(value), None) = (values.next(), values.next()) else { return false };
    let media = value.to_str().unwrap_or_default().split(';').next().unwrap_or_default();
    media.trim().eq_ignore_ascii_case("application/json")
}

/// A refusal by the demo's own routes: problem+json (RFC 9457) with its `code`, and the
/// `error` field these bodies have always carried.
fn problem(status: StatusCode, code: &str, detail: &str) -> Response {
    let body = json!({
        "type": "about:blank",
        "title": status.canonical_reason(),
        "status": status.as_u16(),
        "detail": detail,
        "code": code,
        "error": code,
    });
    let content_type = [(header::CONTENT_TYPE, "application/problem+json")];
    (status, content_type, body.to_string()).into_response()
}
