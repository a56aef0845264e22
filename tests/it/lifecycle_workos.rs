//! The session lifecycle against WorkOS AuthKit, played by the in-process stand-in
//! (`workos_standin.rs`, itself checked with the real `@workos-inc/node`): sign-in, refresh,
//! re-authentication ("sudo mode", no `amr`), sign-out; and the cookies the crate seals opened
//! by `@workos-inc/node` and `iron-session`.

#[cfg(feature = "__interop")]
use std::io::Write as _;
#[cfg(feature = "__interop")]
use std::process::Stdio;
use std::time::Duration;

use axum::routing::get;
use axum::{Json, Router};
use axum_session_mfa::authkit::{AuthKitSession, IronPasswords};
use axum_session_mfa::lifecycle::{IdentityProvider, Sessions, SessionsBuilder};
use axum_session_mfa::{AuthContext, RequireAuth, RequireRecentAuth};
use http::StatusCode;
use serde_json::{Value, json};

use crate::lifecycle_support::{Browser, TestClock, serve};
use crate::workos_standin::{API_KEY, CLIENT_ID, ORG_ID, USER_ID, WorkOsStandIn};

const PASSWORD: &str = "the-WORKOS_COOKIE_PASSWORD-value-32+";

struct World {
    standin: WorkOsStandIn,
    app: String,
    clock: TestClock,
}

impl World {
    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.app)
    }

    fn session_of(&self, browser: &Browser) -> AuthKitSession {
        let cookie = browser.cookie(&self.app, "wos-session").expect("a wos-session cookie");
        AuthKitSession::unseal(&cookie, &passwords()).unwrap()
    }
}

fn passwords() -> IronPasswords {
    IronPasswords::new("1", PASSWORD).unwrap()
}

async fn me(ctx: AuthContext) -> Json<AuthContext> {
    Json(ctx)
}

async fn start(recent: Duration) -> World {
    start_with(recent, |sessions| sessions).await
}

/// A stand-in and an app on loopback, with what `configure` adds to the sessions (a store,
/// revocations).
async fn start_with(
    recent: Duration,
    configure: impl FnOnce(SessionsBuilder) -> SessionsBuilder,
) -> World {
    let standin = WorkOsStandIn::start().await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let app = format!("http://{}", listener.local_addr().unwrap());
    let idp = IdentityProvider::workos_at(standin.base_url(), CLIENT_ID, API_KEY).unwrap();
    let clock = TestClock::default();
    standin.use_clock(clock.clock());
    let sessions =
        Sessions::builder(idp, passwords(), format!("{app}/auth/callback")).clock(clock.clock());
    let sessions = configure(sessions).build().unwrap();
    let router = Router::new()
        .route("/", get(|| async { "home" }))
        .route("/me", get(me).route_layer(RequireAuth::new()))
        .route("/recent", get(me).route_layer(RequireRecentAuth::within(recent)))
        .route("/mfa", get(me).route_layer(axum_session_mfa::RequireMfa::new()))
        .merge(sessions.routes())
        .layer(sessions.auth_layer());
    serve(listener, router);
    World { standin, app, clock }
}

async fn signed_in(world: &World) -> Browser {
    let mut browser = Browser::new();
    let page = browser.navigate(&world.url("/auth/login?return_to=/me")).await;
    assert_eq!(page.status, StatusCode::OK, "{page:?}");
    assert_eq!(page.url.path(), "/me");
    browser
}

#[tokio::test]
async fn workos_sign_in_session_refresh_and_sign_out() {
    let world = start(Duration::from_secs(300)).await;
    let mut browser = Browser::new();

    // The authorization URL WorkOS documents: AuthKit, PKCE S256, state.
    let login = browser.get(&world.url("/auth/login?return_to=/me")).await;
    assert_eq!(login.status, StatusCode::SEE_OTHER);
    let to = login.location.clone().unwrap();
    assert!(to.starts_with(&format!("{}/user_management/authorize?", world.standin.base_url())));
    let me = browser.navigate(&to).await;
    assert_eq!(me.status, StatusCode::OK, "{me:?}");
    let q = world.standin.last_authorize_query().unwrap();
    let get = |k: &str| q.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    assert_eq!(get("client_id"), Some(CLIENT_ID));
    assert_eq!(get("provider"), Some("authkit"));
    assert_eq!(get("code_challenge_method"), Some("S256"));
    assert_eq!(get("redirect_uri"), Some(world.url("/auth/callback").as_str()));
    assert!(get("state").is_some_and(|s| s.len() >= 43));

    // WorkOS sends auth_time but no amr; the context says how the user signed in.
    let ctx = me.json();
    assert_eq!(ctx["sub"], USER_ID);
    assert_eq!(ctx["org_id"], ORG_ID);
    assert_eq!(ctx["amr"], Value::Null);
    assert!(ctx["auth_time"].as_u64().is_some());
    assert_eq!(ctx["authentication_method"], "Password");
    assert_eq!(ctx["user"]["email"], "ada@example.test");
    let s = browser.api().get(&world.url("/auth/session")).await.json();
    assert_eq!(s["authenticated"], true);
    assert_eq!(s["authentication_method"], "Password");
    assert_eq!(s["amr"], Value::Null);
    assert_eq!(s["org_id"], ORG_ID);

    // The sealed cookie: AuthKit's shape, no seal expiry (ttl 0, as authkit-nextjs).
    let cookie = browser.cookie(&world.app, "wos-session").unwrap();
    assert!(cookie.starts_with("Fe26.2*1*") && cookie.contains("**"), "ttl 0: {cookie}");
    let sealed = world.session_of(&browser);
    assert_eq!(sealed.extra.get("organizationId"), Some(&json!(ORG_ID)));

    // WorkOS access tokens live five minutes: refreshed 30 s before they expire.
    world.clock.set_offset(280);
    let page = browser.api().get(&world.url("/me")).await;
    assert_eq!(page.status, StatusCode::OK, "{page:?}");
    let refreshed = page.set_cookie("wos-session").expect("resealed");
    assert_eq!(world.standin.stats().refresh_grants, 1);
    let after = AuthKitSession::unseal(refreshed.value(), &passwords()).unwrap();
    assert_ne!(after.refresh_token, sealed.refresh_token);
    assert_eq!(after.extra.get("organizationId"), Some(&json!(ORG_ID)));
    world.clock.set_offset(0);

    // Sign-out ends the WorkOS session by its sid.
    let sid = page.json()["sid"].as_str().unwrap().to_owned();
    let out = browser.get(&world.url("/auth/logout")).await;
    assert_eq!(out.status, StatusCode::SEE_OTHER);
    let logout = out.location.clone().unwrap();
    assert!(logout.starts_with(&format!(
        "{}/user_management/sessions/logout?session_id={sid}",
        world.standin.base_url()
    )));
    assert!(browser.cookie(&world.app, "wos-session").is_none());
    browser.navigate(&logout).await;
    assert_eq!(world.standin.session_ended(&sid), Some(true));
    assert_eq!(world.standin.stats().logouts, 1);
    let gone = browser.api().get(&world.url("/auth/session")).await.json();
    assert_eq!(gone, json!({"authenticated": false}));
}

#[tokio::test]
async fn concurrent_requests_share_one_workos_refresh() {
    let world = start(Duration::from_secs(300)).await;
    let browser = signed_in(&world).await;
    world.standin.set_refresh_delay(300);
    world.clock.set_offset(280);
    let mut tasks = Vec::new();
    for _ in 0..16 {
        let mut b = browser.api();
        let url = world.url("/me");
        tasks.push(tokio::spawn(async move { b.get(&url).await }));
    }
    let mut cookies = std::collections::HashSet::new();
    for t in tasks {
        let page = t.await.unwrap();
        assert_eq!(page.status, StatusCode::OK, "{page:?}");
        cookies.insert(page.set_cookie("wos-session").unwrap().value().to_owned());
    }
    assert_eq!(cookies.len(), 1);
    let stats = world.standin.stats();
    assert_eq!((stats.refresh_grants, stats.refresh_failures), (1, 0), "{stats:?}");
}

#[tokio::test]
async fn transient_refresh_failures_keep_the_session_and_terminal_ones_end_it() {
    // The stand-in issues tokens on the real clock and the app runs on the test's: tokens that
    // live long enough let the test move the app's clock (and the refresh reuse windows on it)
    // instead of sleeping through them.
    let world = start(Duration::from_secs(300)).await;
    world.standin.set_access_ttl(3_000);
    let browser = signed_in(&world).await;
    let cookie = browser.cookie(&world.app, "wos-session").unwrap();

    // 429 while the token is still valid (due 60 s before expiry): the request goes on, the
    // cookie is kept.
    world.standin.fail_next_refresh(429);
    world.clock.set_offset(2_950);
    let page = browser.api().get(&world.url("/me")).await;
    assert_eq!(page.status, StatusCode::OK, "{page:?}");
    assert!(page.set_cookie("wos-session").is_none());
    assert_eq!(world.standin.stats().refresh_failures, 1);
    // The failure is kept for its Retry-After (1 s) on the lifecycle's clock: a request at the
    // same moment does not call the provider again.
    let page = browser.api().get(&world.url("/me")).await;
    assert_eq!(page.status, StatusCode::OK, "{page:?}");
    assert_eq!(world.standin.stats().refresh_failures, 1, "the failure was not reused");
    // 503 once the token has expired (the clock moved past the kept failure): 503 with
    // Retry-After, cookie kept, nobody signed out.
    world.standin.fail_next_refresh(503);
    world.clock.set_offset(3_100);
    let page = browser.api().get(&world.url("/me")).await;
    assert_eq!(page.status, StatusCode::SERVICE_UNAVAILABLE, "{page:?}");
    assert_eq!(page.code(), "refresh_unavailable");
    assert!(page.retry_after.is_some(), "{page:?}");
    assert!(page.set_cookie("wos-session").is_none());
    // The provider is back (and the token unspent): once the failure's keep time (5 s) has
    // passed, the next request refreshes.
    world.standin.set_access_ttl(4_000);
    world.clock.set_offset(3_106);
    let mut api = browser.api();
    let page = api.get(&world.url("/me")).await;
    assert_eq!(page.status, StatusCode::OK, "{page:?}");
    assert!(page.set_cookie("wos-session").is_some());

    // invalid_grant (the session was revoked): the cookie is cleared, no session.
    world.standin.revoke_refresh_tokens();
    // The token refreshed at 3,106 s lives 4,000 s: due 60 s before it expires.
    world.clock.set_offset(7_080);
    let page = api.get(&world.url("/me")).await;
    assert_eq!(page.status, StatusCode::UNAUTHORIZED, "{page:?}");
    assert_eq!(page.code(), "session_ended");
    assert!(page.set_cookie("wos-session").is_some_and(|c| c.value().is_empty()));
    let mut old = Browser::new().api();
    old.set_cookie_value(&world.app, "wos-session", &cookie);
    assert_eq!(old.get(&world.url("/me")).await.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn sudo_mode_sends_the_browser_to_re_authenticate_and_back() {
    // Two seconds of "recent"; three pass on the clock the app and the stand-in share.
    let world = start(Duration::from_secs(2)).await;
    let mut browser = signed_in(&world).await;
    assert_eq!(browser.api().get(&world.url("/recent")).await.status, StatusCode::OK);
    world.clock.set_offset(3);
    let api = browser.api().get(&world.url("/recent")).await;
    assert_eq!(api.status, StatusCode::FORBIDDEN, "{api:?}");
    assert_eq!(api.code(), "insufficient_user_authentication");
    assert!(api.body.contains("recent-auth"), "{}", api.body);
    let step = browser.get(&world.url("/recent")).await;
    let to = step.location.clone().unwrap();
    assert!(to.contains("max_age=2") && to.contains("return_to=%2Frecent"), "{to}");
    let page = browser.navigate(&to).await;
    assert_eq!(page.status, StatusCode::OK, "{page:?}");
    assert_eq!(page.url.path(), "/recent");
    let q = world.standin.last_authorize_query().unwrap();
    assert!(q.iter().any(|(k, v)| k == "max_age" && v == "2"), "{q:?}");
    // An MFA rule cannot be met by signing in again at WorkOS (no amr, ever): a browser gets
    // the 403, not a redirect that would loop through sign-in.
    let mfa = browser.get(&world.url("/mfa")).await;
    assert_eq!(mfa.status, StatusCode::FORBIDDEN, "{mfa:?}");
    assert!(mfa.location.is_none());
    assert_eq!(mfa.code(), "insufficient_user_authentication");
}

#[tokio::test]
async fn a_provider_that_ignores_max_age_gets_no_session() {
    let world = start(Duration::from_secs(120)).await;
    world.standin.set_ignore_max_age(true);
    let mut browser = signed_in(&world).await;
    // 200 s later (the access token still valid) /recent (120 s) refuses the sign-in...
    world.clock.set_offset(200);
    let step = browser.get(&world.url("/recent")).await;
    let to = step.location.clone().unwrap_or_else(|| panic!("{step:?}"));
    assert!(to.contains("max_age=120"), "{to}");
    // ...and the provider answers the step-up without re-authenticating: refused, fail closed.
    let before = browser.cookie(&world.app, "wos-session");
    let page = browser.navigate(&to).await;
    assert_eq!(page.status, StatusCode::FORBIDDEN, "{page:?}");
    assert_eq!(page.code(), "reauthentication_missing");
    assert!(page.body.starts_with("<!doctype html>"), "browsers get a page");
    assert_eq!(browser.cookie(&world.app, "wos-session"), before, "the session is unchanged");
    // "Try again" repeats the same step-up: the page to return to and the max_age asked.
    assert!(
        page.body.contains("href=\"/auth/login?return_to=%2Frecent&amp;max_age=120\""),
        "{}",
        page.body
    );
}

#[cfg(feature = "__interop")]
#[tokio::test]
async fn cookies_the_crate_seals_open_in_workos_node_and_iron_session() {
    crate::interop_support::require("@workos-inc/node");
    let world = start(Duration::from_secs(300)).await;
    let browser = signed_in(&world).await;
    let cookie = browser.cookie(&world.app, "wos-session").unwrap();
    let base = world.standin.base_url().to_owned();
    let unseal = move |via: &str| {
        let input = json!({
            "password": PASSWORD,
            "sealed": cookie,
            "via": via,
            "workos": {"baseUrl": base, "clientId": CLIENT_ID, "apiKey": API_KEY},
        });
        let mut child = crate::interop_support::node(60)
            .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/interop/unseal.mjs"))
            .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/interop"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(input.to_string().as_bytes()).unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        serde_json::from_slice::<Value>(&out.stdout).unwrap()
    };
    let plain = tokio::task::spawn_blocking({
        let unseal = unseal.clone();
        move || unseal("iron-session")
    });
    let plain = plain.await.unwrap();
    assert_eq!(plain["user"]["id"], USER_ID);
    assert!(plain["accessToken"].as_str().is_some() && plain["refreshToken"].as_str().is_some());
    assert_eq!(plain["authenticationMethod"], "Password");
    assert_eq!(plain["organizationId"], ORG_ID);
    let workos = tokio::task::spawn_blocking(move || unseal("workos")).await.unwrap();
    assert_eq!(workos["authenticated"], true, "{workos}");
    assert_eq!(workos["userId"], USER_ID);
    assert_eq!(workos["organizationId"], ORG_ID);
    assert!(workos["sessionId"].as_str().is_some_and(|s| s.starts_with("session_")));
}

/// Back-Channel Logout 1.0 checks, with logout tokens signed by the stand-in's key (any
/// provider's keys work the same way): every malformed token refused with its reason, a good
/// one revokes the session once, a replay is refused.
#[cfg(feature = "redis")]
#[tokio::test]
async fn back_channel_logout_tokens_are_checked_before_anything_is_revoked() {
    use axum_session_mfa::Revocations;
    use axum_session_mfa::store::MemoryStore;
    use jsonwebtoken::{Algorithm, EncodingKey, Header};

    let revocations = Revocations::builder(MemoryStore::new()).start().await;
    tokio::spawn(revocations.keep_current());
    let world = start_with(Duration::from_secs(300), |s| s.revocations(revocations)).await;
    let browser = signed_in(&world).await;
    let sid = browser.api().get(&world.url("/me")).await.json()["sid"].as_str().unwrap().to_owned();

    let key = EncodingKey::from_rsa_pem(&crate::common::fixture("rsa_private.pem")).unwrap();
    let now = crate::common::now();
    let good = json!({
        "iss": format!("https://api.workos.com/user_management/{CLIENT_ID}"),
        "aud": CLIENT_ID, "sub": USER_ID, "sid": sid, "iat": now, "exp": now + 120,
        "jti": format!("jti-{now}"),
        "events": {"http://schemas.openid.net/event/backchannel-logout": {}},
    });
    let sign = |claims: &Value, typ: &str| {
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some("standin-rs256".into());
        header.typ = Some(typ.into());
        jsonwebtoken::encode(&header, claims, &key).unwrap()
    };
    let post = |token: String| {
        let url = world.url("/auth/backchannel-logout");
        async move {
            let r = reqwest::Client::new()
                .post(url)
                .header("content-type", "application/x-www-form-urlencoded")
                .body(format!("logout_token={token}"))
                .send()
                .await
                .unwrap();
            let status = r.status();
            let body: Value = serde_json::from_str(&r.text().await.unwrap()).unwrap_or_default();
            // A token that does not verify: `invalid_logout_token`, its own code as `reason`.
            let code = match (body["code"].as_str(), body["reason"].as_str()) {
                (Some("invalid_logout_token"), Some(reason)) => {
                    format!("invalid_logout_token/{reason}")
                }
                (code, _) => code.unwrap_or_default().to_owned(),
            };
            (status.as_u16(), code)
        }
    };
    let with = |f: &dyn Fn(&mut serde_json::Map<String, Value>)| {
        let mut c = good.clone();
        f(c.as_object_mut().unwrap());
        c
    };
    let mut cases: Vec<(Value, &str, &str)> = vec![
        (with(&|c| drop(c.remove("events"))), "logout+jwt", "not_a_logout_token"),
        (
            with(&|c| drop(c.insert("events".into(), json!({"other": {}})))),
            "logout+jwt",
            "not_a_logout_token",
        ),
        (with(&|c| drop(c.insert("nonce".into(), json!("n")))), "logout+jwt", "nonce_present"),
        (with(&|c| drop(c.remove("jti"))), "logout+jwt", "jti_missing"),
        (with(&|c| drop((c.remove("sid"), c.remove("sub")))), "logout+jwt", "no_subject"),
        (
            with(&|c| drop(c.insert("aud".into(), json!("another-client")))),
            "logout+jwt",
            "invalid_logout_token/wrong_audience",
        ),
        (
            with(&|c| drop(c.insert("iss".into(), json!("https://evil.example")))),
            "logout+jwt",
            "invalid_logout_token/wrong_issuer",
        ),
        (
            with(&|c| drop(c.insert("exp".into(), json!(now - 3600)))),
            "logout+jwt",
            "invalid_logout_token/token_expired",
        ),
        (good.clone(), "at+jwt", "invalid_logout_token/wrong_token_type"),
    ];
    let long_sid = with(&|c| drop(c.insert("sid".into(), json!("s".repeat(256)))));
    cases.push((long_sid, "logout+jwt", "id_too_long"));
    for (claims, typ, code) in cases {
        assert_eq!(post(sign(&claims, typ)).await, (400, code.to_owned()), "{claims}");
        // Nothing was revoked by a refused token.
        assert_eq!(browser.api().get(&world.url("/me")).await.status, StatusCode::OK, "{code}");
    }
    // The content type is compared as a media type, not as a prefix; parameters are allowed.
    let token = sign(&good, "logout+jwt");
    let post_as = |content_type: &'static str| {
        let (url, body) = (world.url("/auth/backchannel-logout"), format!("logout_token={token}"));
        async move {
            let r = reqwest::Client::new()
                .post(url)
                .header("content-type", content_type)
                .body(body)
                .send()
                .await
                .unwrap();
            let status = r.status().as_u16();
            let body: Value = serde_json::from_str(&r.text().await.unwrap()).unwrap_or_default();
            (status, body["code"].as_str().unwrap_or_default().to_owned())
        }
    };
    for wrong in
        ["application/x-www-form-urlencoded-not", "application/x-www-form-urlencodedx; a=b"]
    {
        assert_eq!(post_as(wrong).await, (400, "not_a_form".to_owned()), "{wrong}");
    }
    // The refusal is the crate's one problem+json, with the OAuth members section 2.8 asks for.
    let refused = reqwest::Client::new()
        .post(world.url("/auth/backchannel-logout"))
        .header("content-type", "text/plain")
        .body("logout_token=x")
        .send()
        .await
        .unwrap();
    assert_eq!(refused.headers()["content-type"], "application/problem+json");
    assert_eq!(refused.headers()["cache-control"], "no-store");
    let body: Value = serde_json::from_str(&refused.text().await.unwrap()).unwrap();
    assert_eq!(body["type"], "tag:axum-session-mfa,2026:problem:not_a_form", "{body}");
    assert_eq!((&body["status"], &body["error"]), (&json!(400), &json!("invalid_request")));
    assert!(body["error_description"].is_string() && body["title"].is_string(), "{body}");
    assert_eq!(browser.api().get(&world.url("/me")).await.status, StatusCode::OK);
    // The good token revokes the session; the same token again is a replay.
    assert_eq!(post_as("Application/X-WWW-Form-Urlencoded; charset=UTF-8").await.0, 200);
    let page = browser.api().get(&world.url("/me")).await;
    assert_eq!((page.status, page.code().as_str()), (StatusCode::UNAUTHORIZED, "session_revoked"));
    assert_eq!(post(token).await, (400, "jti_replayed".to_owned()));
    // A token that names the session alone (no `sub`, as section 2.4 allows) is accepted.
    let sid_only = with(&|c| {
        c.remove("sub");
        c.insert("jti".into(), json!(format!("jti-sid-only-{now}")));
    });
    assert_eq!(post(sign(&sid_only, "logout+jwt")).await, (200, String::new()));
}

/// Sign-in, refresh and sign-out each leave one audit event, without token material; and with
/// the shared state unreachable (revocations failing open), a refresh falls back to this
/// process's own single-flight instead of failing.
#[cfg(feature = "redis")]
#[tokio::test]
async fn lifecycle_events_are_audited_and_refresh_survives_an_unreachable_redis() {
    use axum_session_mfa::Revocations;
    use axum_session_mfa::store::RedisStore;
    let (capture, _guard) = crate::audit::capture();
    let dead = RedisStore::new("redis://127.0.0.1:1").unwrap();
    let revocations = Revocations::builder(dead.clone()).fail_open().start().await;
    tokio::spawn(revocations.keep_current());
    let world =
        start_with(Duration::from_secs(300), |s| s.store(dead).revocations(revocations)).await;
    let mut browser = signed_in(&world).await;
    let sealed = world.session_of(&browser);
    world.clock.set_offset(280);
    let page = browser.api().get(&world.url("/me")).await;
    assert_eq!(page.status, StatusCode::OK, "{page:?}");
    assert!(page.set_cookie("wos-session").is_some(), "refreshed without Redis");
    assert_eq!(world.standin.stats().refresh_grants, 1);
    world.clock.set_offset(0);
    browser.get(&world.url("/auth/logout")).await;

    let events = capture.events();
    let count = |name: &str| events.iter().filter(|e| e["event"] == name).count();
    assert_eq!(
        (count("sign_in"), count("refresh"), count("sign_out")),
        (1, 1, 1),
        "{}",
        capture.raw()
    );
    let sign_in = events.iter().find(|e| e["event"] == "sign_in").unwrap();
    assert_eq!(sign_in["sub"], USER_ID);
    let raw = capture.raw();
    for secret in
        [sealed.access_token.as_str(), sealed.refresh_token.as_ref().unwrap().expose(), API_KEY]
    {
        assert!(!raw.contains(secret), "a secret reached the logs");
    }
}

/// A copy of a signed-out session's cookie is refused, and never refreshed: its expired token
/// is checked against the revocations before the refresh token is spent.
#[cfg(feature = "revocation")]
#[tokio::test]
async fn a_signed_out_session_is_not_brought_back_by_a_refresh() {
    use axum_session_mfa::Revocations;
    use axum_session_mfa::store::MemoryStore;
    let revocations = Revocations::builder(MemoryStore::new()).start().await;
    tokio::spawn(revocations.keep_current());
    let world = start_with(Duration::from_secs(300), |s| s.revocations(revocations)).await;
    let mut browser = signed_in(&world).await;
    let copy = browser.cookie(&world.app, "wos-session").unwrap();
    browser.post_form(&world.url("/auth/logout"), &[]).await;
    let mut thief = Browser::new().api();
    thief.set_cookie_value(&world.app, "wos-session", &copy);
    // Still valid: refused at once.
    let page = thief.get(&world.url("/me")).await;
    assert_eq!((page.status, page.code().as_str()), (StatusCode::UNAUTHORIZED, "session_revoked"));
    // Expired: refused, the cookie cleared, and no refresh at the provider.
    world.clock.set_offset(3600);
    let mut thief = Browser::new().api();
    thief.set_cookie_value(&world.app, "wos-session", &copy);
    let page = thief.get(&world.url("/me")).await;
    assert_eq!((page.status, page.code().as_str()), (StatusCode::UNAUTHORIZED, "session_revoked"));
    assert!(page.set_cookie("wos-session").is_some_and(|c| c.value().is_empty()));
    assert_eq!(world.standin.stats().refresh_grants, 0, "a signed-out session was refreshed");
}

/// Sign-out is recorded even when the revocation set is at capacity (API revocations filled
/// it), and a planted duplicate of the session cookie does not keep the real one from being
/// signed out.
#[cfg(feature = "revocation")]
#[tokio::test]
async fn sign_out_is_recorded_at_capacity_and_despite_a_planted_cookie() {
    use axum_session_mfa::store::MemoryStore;
    use axum_session_mfa::{Revocations, RevokeError};
    let revocations = Revocations::builder(MemoryStore::new()).capacity(1).start().await;
    tokio::spawn(revocations.keep_current());
    revocations.revoke_session("session_filler").await.unwrap();
    assert!(matches!(revocations.revoke_session("one_more").await, Err(RevokeError::Full { .. })));
    let world = start_with(Duration::from_secs(300), |s| s.revocations(revocations)).await;
    let browser = signed_in(&world).await;
    let real = browser.cookie(&world.app, "wos-session").unwrap();
    let r = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .get(world.url("/auth/logout"))
        .header("cookie", format!("wos-session=planted-by-a-sibling; wos-session={real}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let mut thief = Browser::new().api();
    thief.set_cookie_value(&world.app, "wos-session", &real);
    let page = thief.get(&world.url("/me")).await;
    assert_eq!((page.status, page.code().as_str()), (StatusCode::UNAUTHORIZED, "session_revoked"));
}

/// One configuration for the layer and the callback: with `auth_time` in a namespaced claim
/// (set on the layer through `SessionsBuilder::layer`), a step-up at sign-in is judged by the
/// callback as the guards judge it, the recency guard passes, and so does a refresh.
#[tokio::test]
async fn namespaced_claims_hold_through_sign_in_step_up_and_refresh() {
    use axum_session_mfa::ClaimNames;
    const NS: &str = "https://app.example/auth_time";
    let standin = WorkOsStandIn::start().await;
    standin.set_auth_time_claim(NS);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let app = format!("http://{}", listener.local_addr().unwrap());
    let idp = IdentityProvider::workos_at(standin.base_url(), CLIENT_ID, API_KEY).unwrap();
    let clock = TestClock::default();
    let sessions = Sessions::builder(idp, passwords(), format!("{app}/auth/callback"))
        .clock(clock.clock())
        .layer(|layer| layer.claim_names(ClaimNames::default().auth_time(NS)))
        .build()
        .unwrap();
    let router = Router::new()
        .route("/me", get(me))
        .route("/recent", get(me).route_layer(RequireRecentAuth::within(Duration::from_secs(300))))
        .merge(sessions.routes())
        .layer(sessions.auth_layer());
    serve(listener, router);
    let mut browser = Browser::new();
    // A step-up at sign-in: the callback reads auth_time where the layer reads it.
    let page = browser.navigate(&format!("{app}/auth/login?return_to=/recent&max_age=60")).await;
    assert_eq!(page.status, StatusCode::OK, "{page:?}");
    assert_eq!(page.url.path(), "/recent");
    let sid = standin.current_session_id().unwrap();
    assert_eq!(page.json()["auth_time"], json!(standin.session_auth_time(&sid).unwrap()));
    // A refresh keeps the session, and the guard still reads the namespaced auth_time.
    clock.set_offset(280);
    let page = browser.api().get(&format!("{app}/recent")).await;
    assert_eq!(page.status, StatusCode::OK, "{page:?}");
    assert!(page.set_cookie("wos-session").is_some(), "refreshed");
    assert_eq!(standin.stats().refresh_grants, 1);
}

/// The sign-in routes refuse through the layer's one `Rejection`: its problem type base and
/// its `on_reject` apply to them as to the guards.
#[tokio::test]
async fn route_refusals_go_through_the_layers_problem_base_and_on_reject() {
    use axum::response::IntoResponse;
    use axum_session_mfa::RejectionKind;
    let world = start_with(Duration::from_secs(300), |sessions| {
        sessions.layer(|layer| layer.problem_type_base("https://docs.example.com/errors#"))
    })
    .await;
    let mut api = Browser::new().api();
    let page = api.get(&world.url("/auth/callback?code=x")).await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST, "{page:?}");
    let body = page.json();
    assert_eq!(body["code"], "state_missing");
    assert_eq!(body["type"], "https://docs.example.com/errors#state_missing");
    assert_eq!(body["title"], "Sign-in failed");
    let page = api.get(&world.url("/auth/login?max_age=soon")).await;
    assert_eq!((page.status, page.code()), (StatusCode::BAD_REQUEST, "invalid_max_age".into()));

    let world = start_with(Duration::from_secs(300), |sessions| {
        sessions.layer(|layer| {
            layer.on_reject(|rejection| match rejection.kind() {
                RejectionKind::SignIn(e) => {
                    let text =
                        format!("ours: {:?} {} ({})", e.problem_code(), e.code(), e.detail());
                    (e.status(), text).into_response()
                }
                _ => rejection.default_response(),
            })
        })
    })
    .await;
    let page = Browser::new().api().get(&world.url("/auth/login?acr_values=%01")).await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST, "{page:?}");
    assert!(page.body.starts_with("ours: InvalidAcrValues invalid_acr_values ("), "{}", page.body);
    // The guards' refusals meet the same on_reject.
    let page = Browser::new().api().get(&world.url("/me")).await;
    assert_eq!((page.status, page.code()), (StatusCode::UNAUTHORIZED, "missing_token".into()));
}
