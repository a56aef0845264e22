//! WorkOS AuthKit `wos-session` cookies through a real Router, sealed by the crate itself and
//! from committed golden cookies. The cookies made by the real npm peers are in
//! `interop_authkit.rs` (feature `__interop`).

use axum_session_mfa::Algorithm;
use axum_session_mfa::authkit::{AuthKitSession, IronPasswords, SessionUser};
use axum_session_mfa::{AuthContext, AuthLayer, AuthLayerBuilder, BuildError, TokenSource};

/// The AuthKit cookie password set for `password` (id `1`, as AuthKit writes).
pub(crate) fn pw(password: &str) -> IronPasswords {
    IronPasswords::new("1", password).unwrap()
}
use crate::common::*;
use http::StatusCode;
use serde_json::{Value, json};

pub(crate) const PASSWORD: &str = "test-only-iron-password-000000000001";
pub(crate) const OTHER_PASSWORD: &str = "another-test-only-iron-password-0002";
pub(crate) const WORKOS_ISS: &str = "https://api.workos.com/user_management/client_interop";
pub(crate) const REFRESH: &str = "refresh_SECRET_must_never_leak_0123";

/// Claims shaped like a WorkOS AuthKit access token (no `amr`, no `auth_time`, no `aud`).
pub(crate) fn workos_claims(sub: &str) -> Value {
    let now = now();
    json!({
        "iss": WORKOS_ISS,
        "sub": sub,
        "sid": "session_01TEST",
        "jti": "01TESTJTI",
        "org_id": "org_01TEST",
        "role": "admin",
        "roles": ["admin", "billing"],
        "permissions": ["users:write", "reports:read"],
        "entitlements": ["audit-logs"],
        "feature_flags": ["new-dashboard"],
        "iat": now - 5,
        "exp": now + 300,
    })
}

pub(crate) fn user(id: &str) -> Value {
    json!({
        "object": "user",
        "id": id,
        "email": "ada@example.com",
        "firstName": "Ada",
        "lastName": "Lovelace",
        "emailVerified": true,
        "profilePictureUrl": "https://img.example/ada.png",
        "metadata": {"team": "core"},
        "createdAt": "2024-01-01T00:00:00.000Z",
    })
}

/// A job: iron-session (authkit-nextjs) seal of a good session for `user_01TEST`.
pub(crate) fn job(claims: Value) -> Value {
    json!({
        "claims": claims,
        "session": {"user": user("user_01TEST"), "refreshToken": REFRESH, "impersonator": null},
        "via": "iron-session",
        "password": PASSWORD,
        "ttl": 3600,
    })
}

pub(crate) fn builder() -> AuthLayerBuilder {
    AuthLayer::builder(key_pair(Algorithm::RS256).1).issuer(WORKOS_ISS)
}

pub(crate) fn app() -> axum::Router {
    router(builder().authkit(pw(PASSWORD)).build().unwrap())
}

pub(crate) async fn wos(app: &axum::Router, path: &str, value: &str) -> Reply {
    cookie(app, path, &format!("wos-session={value}")).await
}

/// 401 `invalid_session` whose `reason` (the [`SealError`] code) is `reason`.
pub(crate) fn assert_session(reply: &Reply, reason: &str) {
    assert_invalid(reply, "invalid_session");
    assert_eq!(reply.json()["reason"], reason, "body: {}", reply.text());
}

/// Replaces the first character of `*`-separated part `index` with another base64url one.
pub(crate) fn tamper(cookie: &str, index: usize) -> String {
    let mut parts: Vec<String> = cookie.split('*').map(str::to_owned).collect();
    let part = &mut parts[index];
    let first = if part.starts_with('A') { "B" } else { "A" };
    part.replace_range(..1, first);
    parts.join("*")
}

// ---------------------------------------------------------------------------------------------
// Sessions made by the real peers authenticate

/// The context a handler behind `layer` receives for a request with this cookie.
pub(crate) async fn context_of(layer: AuthLayer, value: &str) -> AuthContext {
    use std::sync::{Arc, Mutex};
    let slot = Arc::new(Mutex::new(None));
    let write = slot.clone();
    let app = axum::Router::new()
        .route(
            "/",
            axum::routing::get(move |ctx: AuthContext| {
                *write.lock().unwrap() = Some(ctx);
                async { "ok" }
            }),
        )
        .layer(layer);
    let reply = wos(&app, "/", value).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    slot.lock().unwrap().take().unwrap()
}

#[tokio::test]
async fn committed_golden_cookies_open_but_their_unsigned_tokens_are_refused() {
    let app = router(
        AuthLayer::builder(key_pair(Algorithm::RS256).1).authkit(pw(PASSWORD)).build().unwrap(),
    );
    // An `alg: none` token has an empty signature segment: refused as malformed before its
    // header is even read.
    for (name, code, detail) in [
        ("authkit-nextjs-session", "malformed_token", None),
        ("workos-node-session", "malformed_token", None),
        ("iron-webcrypto-v2", "invalid_session", Some("missing_access_token")),
    ] {
        let path = format!("{}/tests/fixtures/iron/{name}.json", env!("CARGO_MANIFEST_DIR"));
        let golden: Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
        let value = golden["cookie"].as_str().unwrap();
        let reply = wos(&app, "/me", value).await;
        match detail {
            Some(detail) => assert_session(&reply, detail),
            None => {
                assert_invalid(&reply, code);
                assert_eq!(reply.json()["detail"], "the token is malformed: empty segment");
            }
        }
        // The same seal under another password does not open.
        let other = router(builder().authkit(pw(OTHER_PASSWORD)).build().unwrap());
        assert_session(&wos(&other, "/me", value).await, "bad_mac");
    }
}

// ---------------------------------------------------------------------------------------------
// MFA: WorkOS tokens carry no amr today

// ---------------------------------------------------------------------------------------------
// Rejections

// ---------------------------------------------------------------------------------------------
// Sealing, rotation, configuration

#[test]
fn bad_configuration_fails_at_build_time() {
    let short = IronPasswords::new("1", "too-short").unwrap_err();
    assert!(short.to_string().contains("shorter than 32"), "{short}");
    let no_cookie =
        builder().authkit(pw(PASSWORD)).sources([TokenSource::Bearer]).build().unwrap_err();
    assert_eq!(no_cookie, BuildError::AuthKitWithoutCookie);
    // The password never appears in the layer's Debug output.
    let layer = builder().authkit(pw(PASSWORD)).build().unwrap();
    let debug = format!("{layer:?}");
    assert!(!debug.contains(PASSWORD) && debug.contains("wos-session"), "{debug}");
}

#[tokio::test]
async fn a_sealed_cookie_and_a_bearer_token_must_carry_the_same_access_token() {
    let passwords = pw(PASSWORD);
    let token = sign(Algorithm::RS256, &workos_claims("user_01TEST"));
    let sealed = AuthKitSession::new(token.clone(), SessionUser::new("user_01TEST"))
        .seal(&passwords)
        .unwrap();
    let app = router(builder().authkit(passwords).build().unwrap());
    let req = |bearer_token: &str| {
        get_req("/me")
            .header("cookie", format!("wos-session={sealed}"))
            .header("authorization", format!("Bearer {bearer_token}"))
            .body(axum::body::Body::empty())
            .unwrap()
    };
    // The bearer token is the one sealed in the cookie: one credential, the sealed user shows.
    let reply = send(&app, req(&token)).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    assert_eq!(reply.json()["user"]["id"], "user_01TEST");
    // Another valid token next to the cookie: refused, whichever is the attacker's.
    let other = sign(Algorithm::RS256, &workos_claims("user_02OTHER"));
    assert_invalid_request(&send(&app, req(&other)).await, "ambiguous_token");
    // The bearer sent the seal's text itself: it does not decode to the same JWT.
    assert_invalid_request(&send(&app, req(&sealed)).await, "ambiguous_token");

    // Order does not matter: with the bearer listed first, the sealed user still shows.
    let bearer_first = router(
        builder()
            .authkit(pw(PASSWORD))
            .sources([TokenSource::Bearer, TokenSource::cookie("wos-session")])
            .build()
            .unwrap(),
    );
    let reply = send(&bearer_first, req(&token)).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    assert_eq!(reply.json()["user"]["id"], "user_01TEST");
    assert_invalid_request(&send(&bearer_first, req(&other)).await, "ambiguous_token");
}
