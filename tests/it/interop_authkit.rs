//! WorkOS AuthKit `wos-session` cookies made by the real npm peers: access tokens signed by
//! `jose` (RS256, the fixture key), sealed by `iron-session` (what
//! `@workos-inc/authkit-nextjs` uses) and by `@workos-inc/node`; and seals written by the crate
//! opened by `iron-session` and `iron-webcrypto`. See `tests/interop/authkit.mjs`.
//!
//! Needs node and `npm ci --prefix tests/interop`; without them these tests fail, loudly.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use axum_session_mfa::Algorithm;
use axum_session_mfa::authkit::{AuthKitSession, IronPasswords, RefreshToken, SessionUser};
use axum_session_mfa::{Clock, MfaPolicy, RequireMfa, TokenSource};
use http::StatusCode;
use serde_json::{Value, json};

use crate::authkit::*;
use crate::common::*;

/// Runs a script of `tests/interop` under coreutils' `timeout` (a stuck peer fails the test
/// instead of hanging CI), with `input` as JSON on stdin. Panics when the peers are missing.
fn run_peer(script: &str, input: &Value) -> std::process::Output {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/interop");
    assert!(
        dir.join("node_modules/iron-session").is_dir()
            && dir.join("node_modules/@workos-inc/node").is_dir()
            && dir.join("node_modules/jose").is_dir(),
        "the AuthKit interop tests need the npm peers: run `npm ci --prefix tests/interop`"
    );
    let mut child = Command::new("timeout")
        .args(["--kill-after=5", "60", "node"])
        .arg(dir.join(script))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| {
            panic!("cannot run node ({e}): install node, then run `npm ci --prefix tests/interop`")
        });
    let bytes = serde_json::to_vec(input).unwrap();
    std::io::Write::write_all(&mut child.stdin.take().unwrap(), &bytes).unwrap();
    child.wait_with_output().unwrap()
}

/// Runs `tests/interop/authkit.mjs` on `jobs`; returns each job's `(cookie, access token)`.
fn node(jobs: Value) -> Vec<(String, String)> {
    let out = run_peer("authkit.mjs", &json!({ "jobs": jobs }));
    assert!(
        out.status.success(),
        "tests/interop/authkit.mjs failed (did you run `npm ci --prefix tests/interop`?): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let made: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    made.iter()
        .map(|m| {
            (
                m["cookie"].as_str().unwrap().to_owned(),
                m["accessToken"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// One cookie from one job.
fn sealed(job: Value) -> String {
    node(json!([job])).remove(0).0
}

/// Opens `sealed` with the real npm peer `via` (`iron-session` or `iron-webcrypto`): the
/// unsealed JSON, or the peer's error output.
fn node_unseal(password: &str, sealed: &str, via: &str) -> Result<Value, String> {
    let out =
        run_peer("unseal.mjs", &json!({ "password": password, "sealed": sealed, "via": via }));
    if out.status.success() {
        Ok(serde_json::from_slice(&out.stdout).unwrap())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

#[tokio::test]
async fn iron_session_cookie_authenticates_and_surfaces_the_session() {
    let cookie_value = sealed(job(workos_claims("user_01TEST")));
    assert!(cookie_value.starts_with("Fe26.2*1*") && cookie_value.ends_with("~2"));
    let app = app();
    let reply = wos(&app, "/me", &cookie_value).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    let me = reply.json();
    assert_eq!(me["sub"], "user_01TEST");
    assert_eq!(me["sid"], "session_01TEST");
    assert_eq!(me["org_id"], "org_01TEST");
    assert_eq!(me["role"], "admin");
    assert_eq!(me["roles"], json!(["admin", "billing"]));
    assert_eq!(me["permissions"], json!(["users:write", "reports:read"]));
    assert_eq!(me["entitlements"], json!(["audit-logs"]));
    assert_eq!(me["feature_flags"], json!(["new-dashboard"]));
    assert_eq!(me["amr"], Value::Null);
    assert_eq!(
        me["user"],
        json!({"id": "user_01TEST", "email": "ada@example.com", "firstName": "Ada",
               "lastName": "Lovelace", "emailVerified": true,
               "profilePictureUrl": "https://img.example/ada.png",
               // WorkOS's other user fields, kept as sealed (and resealed) by AuthKit.
               "object": "user", "createdAt": "2024-01-01T00:00:00.000Z",
               "metadata": {"team": "core"}})
    );
    assert_eq!(me["impersonator"], Value::Null);
    assert!(!reply.text().contains(REFRESH), "refresh token leaked: {}", reply.text());
    assert_eq!(wos(&app, "/members", &cookie_value).await.status, StatusCode::OK);
}

#[tokio::test]
async fn workos_node_cookie_authenticates_with_impersonator() {
    let cookie_value = sealed(json!({
        "claims": workos_claims("user_01TEST"),
        "session": {
            "user": user("user_01TEST"),
            "refreshToken": REFRESH,
            "authenticationMethod": "Password",
            "impersonator": {"email": "staff@workos.example", "reason": "support ticket 7"},
        },
        "via": "workos",
        "password": PASSWORD,
    }));
    let app = app();
    let reply = wos(&app, "/me", &cookie_value).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    let me = reply.json();
    assert_eq!(me["user"]["id"], "user_01TEST");
    assert_eq!(me["user"]["firstName"], "Ada");
    assert_eq!(
        me["impersonator"],
        json!({"email": "staff@workos.example", "reason": "support ticket 7"})
    );
    assert!(!reply.text().contains(REFRESH));

    // The typed accessors, and no token material in Debug.
    let layer = builder().authkit(pw(PASSWORD)).build().unwrap();
    let ctx = context_of(layer, &cookie_value).await;
    let user = ctx.user().expect("user");
    assert_eq!(
        (user.email.as_deref(), user.last_name.as_deref(), user.email_verified),
        (Some("ada@example.com"), Some("Lovelace"), Some(true))
    );
    assert_eq!(ctx.impersonator().unwrap().reason.as_deref(), Some("support ticket 7"));
    assert!(ctx.has_feature_flag("new-dashboard"));
    assert_eq!(ctx.entitlements().collect::<Vec<_>>(), ["audit-logs"]);
    let debug = format!("{ctx:?}");
    assert!(!debug.contains(REFRESH) && !debug.contains("eyJ"), "{debug}");
}

#[tokio::test]
async fn require_mfa_denies_a_workos_session_without_amr() {
    let cookie_value = sealed(job(workos_claims("user_01TEST")));
    let reply = wos(&app(), "/admin", &cookie_value).await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN, "{}", reply.text());
    assert_eq!(reply.code(), "insufficient_user_authentication");
    assert_eq!(reply.json()["rule"], "amr_absent");

    // A max_age policy does not help either: strength comes first, and there is no auth_time.
    let recent = MfaPolicy::builder().name("recent").max_age(Duration::from_secs(600)).build();
    let app = axum::Router::new()
        .route("/admin", axum::routing::get(|| async { "ok" }))
        .route_layer(RequireMfa::with_policy(recent))
        .layer(builder().authkit(pw(PASSWORD)).build().unwrap());
    let reply = wos(&app, "/admin", &cookie_value).await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    assert_eq!(reply.json()["rule"], "amr_absent");
}

#[tokio::test]
async fn require_mfa_passes_when_the_sealed_token_carries_amr_mfa() {
    let mut claims = workos_claims("user_01TEST");
    claims["amr"] = json!(["pwd", "mfa"]);
    let cookie_value = sealed(job(claims));
    let reply = wos(&app(), "/admin", &cookie_value).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
}

#[tokio::test]
async fn seal_rejections_name_the_iron_failure() {
    let jobs = json!([
        job(workos_claims("user_01TEST")),
        {
            "claims": workos_claims("user_01TEST"),
            "session": {"user": user("user_01TEST"), "refreshToken": REFRESH},
            "via": "iron-session", "password": PASSWORD, "passwordId": "2", "ttl": 3600,
        },
    ]);
    let made = node(jobs);
    let (good, unknown_id) = (&made[0].0, &made[1].0);
    let app = app();
    assert_eq!(wos(&app, "/me", good).await.status, StatusCode::OK);

    let wrong_password = router(builder().authkit(pw(OTHER_PASSWORD)).build().unwrap());
    assert_session(&wos(&wrong_password, "/me", good).await, "bad_mac");
    assert_session(&wos(&app, "/me", unknown_id).await, "unknown_password_id");
    // Parts: 0 prefix, 1 id, 2 salt, 3 iv, 4 ciphertext, 5 expiry, 6 hmac salt, 7 hmac.
    assert_session(&wos(&app, "/me", &tamper(good, 7)).await, "bad_mac");
    assert_session(&wos(&app, "/me", &tamper(good, 4)).await, "bad_mac");
    assert_session(&wos(&app, "/me", &tamper(good, 3)).await, "bad_mac");
    assert_session(&wos(&app, "/me", &tamper(good, 2)).await, "bad_mac");

    let mut parts: Vec<&str> = good.split('*').collect();
    parts.remove(2);
    assert_session(&wos(&app, "/me", &parts.join("*")).await, "malformed");
    assert_session(&wos(&app, "/me", &format!("{good}*extra")).await, "malformed");

    let iv = good.split('*').nth(3).unwrap();
    let bad_b64 = good.replacen(iv, &format!("!{}", &iv[1..]), 1);
    assert_session(&wos(&app, "/me", &bad_b64).await, "bad_base64");

    // Refused in every source order: the same answers through the RequireAuth guard.
    assert_session(&wos(&app, "/members", &tamper(good, 7)).await, "bad_mac");
}

#[tokio::test]
async fn expired_seal_is_refused_before_the_token_is_looked_at() {
    // Seal for 60 s, token valid for 2 h; the layer's clock is an hour ahead.
    let mut claims = workos_claims("user_01TEST");
    claims["exp"] = json!(now() + 7200);
    let mut j = job(claims);
    j["ttl"] = json!(60);
    let cookie_value = sealed(j);
    let later = router(
        builder().authkit(pw(PASSWORD)).clock(Clock::from_fn(|| now() + 3600)).build().unwrap(),
    );
    assert_session(&wos(&later, "/me", &cookie_value).await, "expired");
    // Within iron's 60 s skew after expiry it still opens.
    let skewed = router(
        builder().authkit(pw(PASSWORD)).clock(Clock::from_fn(|| now() + 100)).build().unwrap(),
    );
    assert_eq!(wos(&skewed, "/me", &cookie_value).await.status, StatusCode::OK);
}

#[tokio::test]
async fn token_rejections_inside_a_valid_seal() {
    let mut expired = workos_claims("user_01TEST");
    expired["exp"] = json!(now() - 3600);
    let mut unsigned = job(workos_claims("user_01TEST"));
    unsigned["unsigned"] = json!(true);
    let mut wrong_issuer = workos_claims("user_01TEST");
    wrong_issuer["iss"] = json!("https://evil.example");
    let made = node(json!([
        job(workos_claims("user_01OTHER")),
        job(expired),
        unsigned,
        job(wrong_issuer),
    ]));
    let app = app();
    let mismatch = wos(&app, "/me", &made[0].0).await;
    assert_invalid(&mismatch, "session_user_mismatch");
    assert_eq!(
        mismatch.json()["detail"],
        "the session's user is not the subject of its access token"
    );
    assert_invalid(&wos(&app, "/me", &made[1].0).await, "token_expired");
    assert!(made[2].1.ends_with('.'), "jose UnsecuredJWT: {}", made[2].1);
    let none = wos(&app, "/me", &made[2].0).await;
    assert_invalid(&none, "malformed_token");
    assert_eq!(none.json()["detail"], "the token is malformed: empty segment");
    // With a signature segment added, `alg: none` is refused by name.
    let passwords = IronPasswords::new("1", PASSWORD).unwrap();
    let none_signed =
        AuthKitSession::new(format!("{}c2ln", made[2].1), SessionUser::new("user_01TEST"))
            .seal(&passwords)
            .unwrap();
    assert_invalid(&wos(&app, "/me", &none_signed).await, "algorithm_not_allowed");
    assert_invalid(&wos(&app, "/me", &made[3].0).await, "wrong_issuer");
}

#[tokio::test]
async fn oversize_cookie_is_refused_before_unsealing() {
    let mut j = job(workos_claims("user_01TEST"));
    j["session"]["user"]["metadata"] = json!({"padding": "x".repeat(9000)});
    let big = sealed(j);
    assert!(big.len() > 8 * 1024);
    let reply = wos(&app(), "/me", &big).await;
    assert_invalid(&reply, "token_too_large");
    assert_eq!(reply.json()["detail"], "the token exceeds the 8192-byte limit");

    // The limit applies to the sealed value, not to the token inside it.
    let normal = sealed(job(workos_claims("user_01TEST")));
    let tight =
        router(builder().authkit(pw(PASSWORD)).max_token_bytes(normal.len() - 1).build().unwrap());
    assert_invalid(&wos(&tight, "/me", &normal).await, "token_too_large");
}

#[tokio::test]
async fn only_the_fe26_prefix_selects_unsealing() {
    let made = node(json!([job(workos_claims("user_01TEST"))]));
    let (sealed_value, access_token) = (&made[0].0, &made[0].1);
    let app = app();
    // A plain JWT in the AuthKit cookie is verified as a JWT (no session user then).
    let reply = wos(&app, "/me", access_token).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    assert_eq!(reply.json()["user"], Value::Null);
    // A bearer token is always a plain JWT, even one that looks sealed.
    assert_invalid(&bearer(&app, "/me", sealed_value).await, "malformed_token");
    assert_eq!(bearer(&app, "/me", access_token).await.status, StatusCode::OK);
    // Without AuthKit enabled, a sealed cookie is just a malformed JWT.
    let plain = router(
        builder()
            .sources([TokenSource::cookie("wos-session"), TokenSource::Bearer])
            .build()
            .unwrap(),
    );
    assert_invalid(&wos(&plain, "/me", sealed_value).await, "malformed_token");
    // A value that merely mentions the prefix later is not sealed.
    assert_invalid(&wos(&app, "/me", &format!("x{sealed_value}")).await, "malformed_token");
}

#[tokio::test]
async fn refresh_token_never_reaches_logs_or_bodies() {
    use std::sync::{Arc, Mutex};
    #[derive(Clone, Default)]
    struct Capture(Arc<Mutex<Vec<u8>>>);
    impl std::io::Write for Capture {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let capture = Capture::default();
    let writer = capture.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .finish();
    init_tracing();
    let _guard = tracing::subscriber::set_default(subscriber);

    let mut mismatch = job(workos_claims("user_01OTHER"));
    mismatch["session"]["refreshToken"] = json!(REFRESH);
    let made = node(json!([job(workos_claims("user_01TEST")), mismatch]));
    let app = app();
    let mut bodies = String::new();
    for path in ["/me", "/admin", "/members"] {
        for (value, _) in &made {
            bodies.push_str(&wos(&app, path, value).await.text());
        }
    }
    let logs = String::from_utf8(capture.0.lock().unwrap().clone()).unwrap();
    assert!(logs.contains("session_user_mismatch"), "audit events recorded: {logs}");
    for text in [&bodies, &logs] {
        assert!(!text.contains(REFRESH) && !text.contains("Fe26") && !text.contains("eyJ"));
    }
}

#[tokio::test]
async fn rust_sealed_session_round_trips_through_the_layer() {
    // Open a cookie made by @workos-inc/node, keep its refresh token, seal it back in Rust.
    let original = sealed(json!({
        "claims": workos_claims("user_01TEST"),
        "session": {"user": user("user_01TEST"), "refreshToken": REFRESH},
        "via": "workos", "password": PASSWORD,
    }));
    let passwords = IronPasswords::new("1", PASSWORD).unwrap();
    let opened = AuthKitSession::unseal(&original, &passwords).unwrap();
    assert_eq!(opened.refresh_token.as_ref().map(RefreshToken::expose), Some(REFRESH));
    assert_eq!(opened.user.email.as_deref(), Some("ada@example.com"));
    let resealed = opened.seal(&passwords).unwrap();
    assert_ne!(resealed, original);
    let app = app();
    let reply = wos(&app, "/me", &resealed).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    assert_eq!(reply.json()["user"]["firstName"], "Ada");

    // A session built from scratch with a Rust-signed RS256 token.
    let mut new_user = SessionUser::new("user_01TEST");
    new_user.first_name = Some("Grace".into());
    let token = sign(Algorithm::RS256, &workos_claims("user_01TEST"));
    let fresh = AuthKitSession::new(token, new_user)
        .with_refresh_token(RefreshToken::new("r2"))
        .seal_with_ttl(&passwords, None)
        .unwrap();
    let reply = wos(&app, "/me", &fresh).await;
    assert_eq!(reply.json()["user"]["firstName"], "Grace", "{}", reply.text());
    assert_eq!(
        AuthKitSession::unseal(&fresh, &passwords).unwrap().refresh_token.unwrap().expose(),
        "r2"
    );
}

#[tokio::test]
async fn rotated_passwords_open_old_cookies() {
    let old = sealed(job(workos_claims("user_01TEST")));
    let passwords = IronPasswords::new("2", OTHER_PASSWORD).unwrap().with("1", PASSWORD).unwrap();
    let app = router(builder().authkit(passwords.clone()).build().unwrap());
    assert_eq!(wos(&app, "/me", &old).await.status, StatusCode::OK);
    // New cookies are sealed with the first password (id 2) and open too.
    let opened = AuthKitSession::unseal(&old, &passwords).unwrap();
    let new = opened.seal(&passwords).unwrap();
    assert!(new.starts_with("Fe26.2*2*"));
    assert_eq!(wos(&app, "/me", &new).await.status, StatusCode::OK);
}

#[tokio::test]
async fn custom_cookie_name_with_authkit() {
    let value = sealed(job(workos_claims("user_01TEST")));
    let layer = builder()
        .authkit(pw(PASSWORD))
        .sources([TokenSource::cookie("__Host-wos"), TokenSource::Bearer])
        .build()
        .unwrap();
    let app = router(layer);
    let reply = cookie(&app, "/me", &format!("__Host-wos={value}")).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
}

#[test]
fn seals_written_by_the_crate_open_in_iron_session_and_iron_webcrypto() {
    use axum_session_mfa::authkit::{AuthKitSession, SessionUser};

    let password = "a-cookie-password-of-at-least-32-characters!";
    let passwords = IronPasswords::new("1", password).unwrap();
    let mut user = SessionUser::new("user_01HRUST");
    user.email = Some("ada@example.com".into());
    let session = AuthKitSession::new("header.payload.signature", user);
    for sealed in
        [session.seal(&passwords).unwrap(), session.seal_with_ttl(&passwords, None).unwrap()]
    {
        for via in ["iron-session", "iron-webcrypto"] {
            let opened = node_unseal(password, &sealed, via)
                .unwrap_or_else(|e| panic!("{via} refused a Rust seal: {e}"));
            assert_eq!(opened["accessToken"], "header.payload.signature", "{via}: {opened}");
            assert_eq!(opened["user"]["id"], "user_01HRUST", "{via}");
            assert_eq!(opened["user"]["email"], "ada@example.com", "{via}");
        }
    }
    // The peer refuses a seal made with another password, so the check above cannot pass blindly.
    let other = IronPasswords::new("1", "another-password-of-at-least-32-characters").unwrap();
    let foreign = session.seal(&other).unwrap();
    assert!(node_unseal(password, &foreign, "iron-webcrypto").is_err());
}
