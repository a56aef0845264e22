//! The audit trail: one `tracing` event per token failure and per guard decision, under the
//! target [`AUDIT_TARGET`] (`axum_session_mfa::audit`).
//!
//! Fields (absent ones are omitted or empty):
//!
//! | field | on | meaning |
//! |---|---|---|
//! | `event` | all | `token_rejected`, `guard_decision`, `cross_origin` (a request [`CrossOriginProtectionLayer`](crate::CrossOriginProtectionLayer) refused), `tool_call` (an MCP request [`ToolGuardLayer`](crate::mcp::ToolGuardLayer) could not read), or a [session lifecycle](crate::lifecycle) event: `sign_in`, `step_up`, `sign_in_failed`, `refresh`, `refresh_failed`, `sign_out`, `backchannel_logout` (a refused logout token), `idp_event` (an event from the identity provider: `source`, `kind`, `subject`); [revocation](crate::Revocations) events: `revocation`, `shared_state` |
//! | `decision` | all | `allow` or `deny` |
//! | `reason` | all | [`AuthError::code`](crate::AuthError::code), a [`DenyRule`](crate::DenyRule) code, a [`CrossOriginError`](crate::CrossOriginError) or [`ToolCallError`](crate::mcp::ToolCallError) code, or `ok` |
//! | `source` | token_rejected | `cookie` or `bearer` |
//! | `policy` | guard_decision | the policy name (`authenticated` for `RequireAuth`) |
//! | `tool` | guard_decision | the MCP tool called, when [`ToolGuardLayer`](crate::mcp::ToolGuardLayer) decided |
//! | `sub`, `sid` | guard_decision | who and which session, when known |
//! | `amr`, `acr`, `auth_age` | guard_decision | what the session had |
//! | `method`, `route` | all | HTTP method; the matched route pattern, else the path (never the query) |
//!
//! Allowed decisions are `INFO`, denials `WARN`. Tokens, cookies, signatures and query strings
//! never appear in any event: filter on the target to ship these events to a SIEM.

use axum::extract::MatchedPath;
use http::{Extensions, Method, Uri};

use crate::AuthContext;
use crate::context::Amr;

/// Formats `amr` as space-separated methods, only when an event is actually recorded.
struct AmrField<'a>(Option<Amr<'a>>);

impl std::fmt::Display for AmrField<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, m) in self.0.iter().flat_map(Amr::iter).enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            f.write_str(m)?;
        }
        Ok(())
    }
}

/// The `tracing` target of every audit event.
pub const AUDIT_TARGET: &str = "axum_session_mfa::audit";

/// Where a request was going, for audit events.
pub(crate) struct RequestInfo<'a> {
    pub(crate) method: &'a Method,
    pub(crate) route: &'a str,
    /// The MCP tool a JSON-RPC `tools/call` names, when the decision is about one.
    pub(crate) tool: Option<&'a str>,
}

impl<'a> RequestInfo<'a> {
    /// The matched route pattern when routing has happened, else the path (never the query).
    pub(crate) fn new(method: &'a Method, uri: &'a Uri, extensions: &'a Extensions) -> Self {
        let route = extensions.get::<MatchedPath>().map_or(uri.path(), MatchedPath::as_str);
        Self { method, route, tool: None }
    }

    /// The same request, deciding about the MCP tool `tool`.
    pub(crate) fn for_tool(&self, tool: &'a str) -> Self {
        Self { tool: Some(tool), ..*self }
    }
}

pub(crate) fn token_rejected(info: &RequestInfo<'_>, source: &str, reason: &str) {
    tracing::warn!(
        target: "axum_session_mfa::audit",
        event = "token_rejected",
        decision = "deny",
        reason,
        source,
        method = %info.method,
        route = info.route,
        "session token rejected"
    );
}

/// [`CrossOriginProtectionLayer`](crate::CrossOriginProtectionLayer) refused a request; the
/// `Origin` value is left out (it is the sender's to choose).
pub(crate) fn cross_origin_refused(info: &RequestInfo<'_>, reason: &str) {
    tracing::warn!(
        target: "axum_session_mfa::audit",
        event = "cross_origin",
        decision = "deny",
        reason,
        method = %info.method,
        route = info.route,
        "cross-origin request refused"
    );
}

/// [`ToolGuardLayer`](crate::mcp::ToolGuardLayer) refused an MCP request it could not read.
pub(crate) fn tool_call_refused(info: &RequestInfo<'_>, reason: &str) {
    tracing::warn!(
        target: "axum_session_mfa::audit",
        event = "tool_call",
        decision = "deny",
        reason,
        method = %info.method,
        route = info.route,
        "MCP request refused"
    );
}

pub(crate) fn guard_decision(
    info: &RequestInfo<'_>,
    policy: &str,
    ctx: Option<&AuthContext>,
    denied: Option<&str>,
) {
    let sub = ctx.map(AuthContext::sub);
    let sid = ctx.and_then(AuthContext::sid);
    let amr = AmrField(ctx.and_then(AuthContext::amr));
    let acr = ctx.and_then(AuthContext::acr);
    // Whole seconds in the event (a number, as log pipelines expect).
    let auth_age = ctx.and_then(AuthContext::auth_age).map(|age| age.as_secs());
    match denied {
        None => tracing::info!(
            target: "axum_session_mfa::audit",
            event = "guard_decision",
            decision = "allow",
            reason = "ok",
            policy,
            sub,
            sid,
            amr = %amr,
            acr,
            auth_age,
            tool = info.tool,
            method = %info.method,
            route = info.route,
            "access granted"
        ),
        Some(reason) => tracing::warn!(
            target: "axum_session_mfa::audit",
            event = "guard_decision",
            decision = "deny",
            reason,
            policy,
            sub,
            sid,
            amr = %amr,
            acr,
            auth_age,
            tool = info.tool,
            method = %info.method,
            route = info.route,
            "access denied"
        ),
    }
}

/// A sign-in (or a step-up's re-authentication) completed and a session cookie was set.
#[cfg(feature = "lifecycle")]
pub(crate) fn signed_in(sub: &str, sid: Option<&str>, step_up: bool) {
    let event = if step_up { "step_up" } else { "sign_in" };
    tracing::info!(
        target: "axum_session_mfa::audit",
        event,
        decision = "allow",
        reason = "ok",
        sub,
        sid,
        "session established"
    );
}

/// A sign-in or step-up callback was refused; no session was set.
#[cfg(feature = "lifecycle")]
pub(crate) fn sign_in_failed(reason: &str, step_up: bool) {
    let event = if step_up { "step_up" } else { "sign_in_failed" };
    tracing::warn!(
        target: "axum_session_mfa::audit",
        event,
        decision = "deny",
        reason,
        "sign-in refused"
    );
}

/// A back-channel `logout_token` was refused; nothing was revoked.
#[cfg(all(feature = "lifecycle", feature = "revocation"))]
pub(crate) fn logout_token_refused(reason: &str) {
    tracing::warn!(
        target: "axum_session_mfa::audit",
        event = "backchannel_logout",
        decision = "deny",
        reason,
        "logout token refused"
    );
}

/// An event from the identity provider (a WorkOS webhook or polled event, an OpenID Shared
/// Signals Security Event Token): where it came from (`source`: `workos_webhook`,
/// `workos_events`, `ssf`), its type, the subject it names (a session or user id, never a
/// secret) and what was done (`outcome`: `revoked`, `ignored`, `duplicate`, or a refusal code).
#[cfg(all(feature = "lifecycle", feature = "revocation"))]
pub(crate) fn idp_event(source: &str, kind: &str, subject: Option<&str>, outcome: &str) {
    let decision =
        if matches!(outcome, "revoked" | "ignored" | "duplicate") { "allow" } else { "deny" };
    tracing::info!(
        target: "axum_session_mfa::audit",
        event = "idp_event",
        decision,
        source,
        kind,
        subject,
        reason = outcome,
        "identity provider event"
    );
}

/// A session's access token was refreshed (once per refresh at the provider).
#[cfg(feature = "lifecycle")]
pub(crate) fn session_refreshed(sub: &str, sid: Option<&str>) {
    tracing::info!(
        target: "axum_session_mfa::audit",
        event = "refresh",
        decision = "allow",
        reason = "ok",
        sub,
        sid,
        "session refreshed"
    );
}

/// A refresh failed: `terminal` when the provider ended the session (`invalid_grant`).
#[cfg(feature = "lifecycle")]
pub(crate) fn refresh_failed(sub: &str, sid: Option<&str>, terminal: bool, reason: &str) {
    tracing::warn!(
        target: "axum_session_mfa::audit",
        event = "refresh_failed",
        decision = "deny",
        reason,
        terminal,
        sub,
        sid,
        "session refresh failed"
    );
}

/// A user signed out.
#[cfg(feature = "lifecycle")]
pub(crate) fn signed_out(sub: &str, sid: Option<&str>) {
    tracing::info!(
        target: "axum_session_mfa::audit",
        event = "sign_out",
        decision = "allow",
        reason = "ok",
        sub,
        sid,
        "signed out"
    );
}

/// What an entry names, for its audit event.
#[cfg(feature = "revocation")]
fn named(entry: &crate::store::Revocation) -> (Option<&str>, Option<&str>, &'static str) {
    use crate::store::Revocation;
    // An over-long id is cut: the event stays small whatever was asked.
    fn short(id: &str) -> &str {
        let mut end = crate::MAX_ID_BYTES.min(id.len());
        while !id.is_char_boundary(end) {
            end -= 1;
        }
        &id[..end]
    }
    match entry {
        Revocation::Session { sid, .. } => (Some(short(sid)), None, "session_revoked"),
        Revocation::User { sub, .. } => (None, Some(short(sub)), "user_revoked"),
        // A sign-in id is a bearer of nothing: it only names the cookie lineage.
        Revocation::SignIn { .. } => (None, None, "sign_in_revoked"),
    }
}

/// A session, user or sign-in was revoked (by this instance).
#[cfg(feature = "revocation")]
pub(crate) fn revoked(entry: &crate::store::Revocation) {
    let (sid, sub, reason) = named(entry);
    tracing::warn!(
        target: "axum_session_mfa::audit",
        event = "revocation",
        decision = "deny",
        reason,
        sid,
        sub,
        "session revoked"
    );
}

/// A revocation was refused (an invalid id, or the set is full): nothing was revoked.
#[cfg(feature = "revocation")]
pub(crate) fn revocation_refused(entry: &crate::store::Revocation, reason: &'static str) {
    let (sid, sub, _) = named(entry);
    tracing::error!(
        target: "axum_session_mfa::audit",
        event = "revocation",
        decision = "refused",
        reason,
        sid,
        sub,
        "revocation refused"
    );
}

/// The shared state became unreachable (`up` false) or reachable again.
#[cfg(feature = "revocation")]
pub(crate) fn shared_state_changed(up: bool, reason: &str) {
    if up {
        tracing::info!(
            target: "axum_session_mfa::audit",
            event = "shared_state",
            decision = "allow",
            reason,
            "shared state reachable again"
        );
    } else {
        tracing::warn!(
            target: "axum_session_mfa::audit",
            event = "shared_state",
            decision = "deny",
            reason,
            "shared state unreachable"
        );
    }
}
