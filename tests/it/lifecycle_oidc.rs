//! The session lifecycle against a real OpenID Provider (`oidc-provider`, tests/interop
//! `oidc_login_provider.mjs`): sign-in, session endpoint, refresh with rotation (and many
//! requests during one refresh), step-up with `max_age`, sign-out, and the attacks on each.

use std::time::Duration;

use axum::routing::get;
use axum::{Json, Router};
use axum_session_mfa::authkit::{AuthKitSession, IronPasswords};
use axum_session_mfa::lifecycle::{OpenIdProvider, Sessions};
use axum_session_mfa::{AuthContext, MfaPolicy, RequireMfa, RequireRecentAuth};
use http::StatusCode;
use serde_json::Value;

use crate::interop_support::{Peer, require};
use crate::lifecycle_support::{Browser, TestClock, serve};

const PASSWORD: &str = "an-iron-password-of-at-least-32-chars";

pub struct World {
    pub peer: Option<Peer>,
    pub op: Value,
    pub app: String,
    pub clock: TestClock,
    pub sessions: Sessions,
}

impl World {
    pub fn op(&self, name: &str) -> String {
        self.op[name].as_str().unwrap_or_else(|| panic!("greeting lacks {name}")).to_owned()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.app)
    }

    pub async fn stats(&self) -> Value {
        let body = reqwest::get(self.op("stats_endpoint")).await.unwrap().text().await.unwrap();
        serde_json::from_str(&body).unwrap()
    }

    pub fn passwords() -> IronPasswords {
        IronPasswords::new("1", PASSWORD).unwrap()
    }

    /// The sealed session in the browser's jar.
    pub fn session_of(&self, browser: &Browser) -> AuthKitSession {
        let cookie = browser.cookie(&self.app, "session").expect("a session cookie");
        AuthKitSession::unseal(&cookie, &Self::passwords()).unwrap()
    }
}

async fn me(ctx: AuthContext) -> Json<AuthContext> {
    Json(ctx)
}

/// Starts the provider (access tokens living `access_ttl` seconds) and an app on loopback.
pub async fn start(access_ttl: u64) -> World {
    start_with(access_ttl, None, None).await
}

/// As `start`, with the layer's leeway and the refresh buffer set.
pub async fn start_with(access_ttl: u64, leeway: Option<u64>, buffer: Option<u64>) -> World {
    require("oidc-provider");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let app = format!("http://{}", listener.local_addr().unwrap());
    let callback = format!("{app}/auth/callback");
    let ttl = access_ttl.to_string();
    let peer = Peer::spawn_with_env(
        "oidc_login_provider.mjs",
        &[
            ("OP_REDIRECT_URIS", &callback),
            ("OP_POST_LOGOUT_URIS", &format!("{app}/")),
            ("OP_ACCESS_TTL", &ttl),
        ],
    );
    let op: Value = serde_json::from_str(&peer.greeting).unwrap();
    let s = |k: &str| op[k].as_str().unwrap().to_owned();
    let idp = OpenIdProvider::discover(&s("issuer"), s("client_id"), s("client_secret"))
        .await
        .expect("discovery")
        .resource(s("resource"));
    let clock = TestClock::default();
    let mut sessions = Sessions::builder(idp, World::passwords(), &callback).clock(clock.clock());
    if let Some(buffer) = buffer {
        sessions = sessions.refresh_buffer(Duration::from_secs(buffer));
    }
    if let Some(leeway) = leeway {
        sessions = sessions.layer(move |layer| layer.leeway(Duration::from_secs(leeway)));
    }
    let sessions = sessions.build().unwrap();
    let recent_mfa = MfaPolicy::builder().name("recent-mfa").max_age(Duration::from_secs(300));
    let router = Router::new()
        .route("/", get(|| async { "home" }))
        .route("/me", get(me))
        .route("/admin", get(me).route_layer(RequireMfa::new()))
        .route("/admin/recent", get(me).route_layer(RequireMfa::with_policy(recent_mfa.build())))
        .route("/recent", get(me).route_layer(RequireRecentAuth::within(Duration::from_secs(300))))
        .merge(sessions.routes())
        .layer(sessions.auth_layer());
    serve(listener, router);
    World { peer: Some(peer), op, app, clock, sessions }
}

/// Signs a fresh browser in (with or without the second factor) and returns it on `/me`.
pub async fn signed_in(world: &World, mfa: bool) -> Browser {
    let mut browser = Browser::new();
    let page = browser.sign_in_through(&world.url("/auth/login?return_to=/me"), mfa, 0).await;
    assert_eq!(page.status, StatusCode::OK, "{page:?}");
    assert_eq!(page.url.path(), "/me");
    browser
}

#[tokio::test]
async fn sign_in_step_up_and_sign_out_with_a_real_provider() {
    let world = start(120).await;
    let mut browser = Browser::new();

    // A browser without a session is sent to sign in, and comes back where it was going.
    let first = browser.get(&world.url("/me")).await;
    assert_eq!(first.status, StatusCode::SEE_OTHER);
    assert_eq!(first.location.as_deref(), Some(world.url("/auth/login?return_to=%2Fme").as_str()));
    let me = browser.sign_in_through(&world.url("/me"), false, 0).await;
    assert_eq!(me.status, StatusCode::OK, "{me:?}");
    let ctx = me.json();
    assert_eq!(ctx["sub"], "user-1");
    assert_eq!(ctx["amr"], serde_json::json!(["pwd"]));
    assert_eq!(ctx["user"]["email"], "ada@example.test");
    assert_eq!(ctx["user"]["firstName"], "Ada");

    // The cookie: HttpOnly, SameSite=Lax, Path=/, no Secure on loopback http; AuthKit's shape.
    let sealed = world.session_of(&browser);
    assert!(sealed.refresh_token.is_some());
    assert!(sealed.extra.contains_key("idToken"), "kept for id_token_hint");

    // The session endpoint: what a browser may know, never a token.
    let session = browser.api().get(&world.url("/auth/session")).await;
    assert_eq!(session.status, StatusCode::OK);
    let s = session.json();
    assert_eq!(s["authenticated"], true);
    assert_eq!(s["sub"], "user-1");
    assert_eq!(s["amr"], serde_json::json!(["pwd"]));
    assert_eq!(s["acr"], "urn:test:loa:1");
    assert!(s["auth_time"].as_u64().is_some() && s["expires_at"].as_u64().is_some());
    assert!(s["sid"].as_str().is_some());
    for secret in [sealed.access_token.as_str(), sealed.refresh_token.as_ref().unwrap().expose()] {
        assert!(!session.body.contains(secret), "the session endpoint leaks a token");
    }
    assert!(!session.body.contains("eyJ"), "no JWT in {}", session.body);

    // /admin needs MFA: an API client gets the RFC 9470 challenge, a browser the step-up.
    let api = browser.api().get(&world.url("/admin")).await;
    assert_eq!(api.status, StatusCode::FORBIDDEN);
    assert_eq!(api.code(), "insufficient_user_authentication");
    let step = browser.get(&world.url("/admin")).await;
    assert_eq!(step.status, StatusCode::SEE_OTHER);
    let to = step.location.clone().unwrap();
    assert!(to.starts_with(&world.url("/auth/login?step_up=1&return_to=%2Fadmin")), "{to}");
    // The provider asks again (max_age=0): sign in with the second factor, land on /admin.
    let admin = browser.sign_in_through(&to, true, 0).await;
    assert_eq!(admin.status, StatusCode::OK, "{admin:?}");
    assert_eq!(admin.url.path(), "/admin");
    assert_eq!(admin.json()["amr"], serde_json::json!(["pwd", "otp", "mfa"]));

    // /admin/recent (MFA within 300 s) passes now; an hour later it sends the browser to
    // sign in again with max_age=300.
    let recent = browser.get(&world.url("/admin/recent")).await;
    assert_eq!(recent.status, StatusCode::OK, "{recent:?}");

    // Sign out: cookie cleared, the browser goes to the provider's end_session_endpoint with
    // id_token_hint and comes back home.
    let out = browser.post_form(&world.url("/auth/logout"), &[]).await;
    assert_eq!(out.status, StatusCode::SEE_OTHER);
    let end = out.location.clone().unwrap();
    assert!(end.starts_with(&world.op("end_session_endpoint")), "{end}");
    assert!(end.contains("id_token_hint=") && end.contains("post_logout_redirect_uri="), "{end}");
    assert!(out.set_cookie("session").is_some_and(|c| c.value().is_empty()));
    assert!(browser.cookie(&world.app, "session").is_none());
    // The provider's confirmation form (auto-submitted by a browser).
    let confirm = browser.navigate(&end).await;
    let form = confirm.body.split("action=\"").nth(1).and_then(|s| s.split('"').next());
    let xsrf =
        confirm.body.split("name=\"xsrf\" value=\"").nth(1).and_then(|s| s.split('"').next());
    let (action, xsrf) = form.zip(xsrf).unwrap_or_else(|| panic!("no logout form: {confirm:?}"));
    let action = confirm.url.join(action).unwrap().to_string();
    let done = browser.post_form(&action, &[("xsrf", xsrf), ("logout", "yes")]).await;
    let home = browser.navigate(done.location.as_deref().unwrap()).await;
    assert_eq!(home.url.as_str(), world.url("/"));
    let gone = browser.api().get(&world.url("/auth/session")).await;
    assert_eq!(gone.json(), serde_json::json!({"authenticated": false}));
    assert_eq!(world.stats().await["end_sessions"], 1);
}

#[tokio::test]
async fn refresh_once_for_many_concurrent_requests_and_reuse_for_late_ones() {
    let world = start(120).await;
    let browser = signed_in(&world, false).await;
    let before = world.session_of(&browser);
    let old_cookie = browser.cookie(&world.app, "session").unwrap();
    assert_eq!(world.stats().await["refresh_grants"], 0);

    // 100 s later the token (120 s) is inside the 60 s buffer: 20 requests at once.
    world.clock.set_offset(100);
    let mut tasks = Vec::new();
    for _ in 0..20 {
        let mut b = browser.api();
        let url = world.url("/me");
        tasks.push(tokio::spawn(async move { b.get(&url).await }));
    }
    let mut cookies = std::collections::HashSet::new();
    for t in tasks {
        let page = t.await.unwrap();
        assert_eq!(page.status, StatusCode::OK, "{page:?}");
        let set = page.set_cookie("session").expect("every response carries the new session");
        cookies.insert(set.value().to_owned());
        assert!(
            page.set_cookies.iter().any(|c| c.contains("HttpOnly") && c.contains("SameSite=Lax"))
        );
    }
    assert_eq!(cookies.len(), 1, "one refresh, one new cookie for all");
    let stats = world.stats().await;
    assert_eq!(stats["refresh_grants"], 1, "{stats}");
    assert_eq!(stats["refresh_failures"], 0, "{stats}");

    // The new session: rotated refresh token, same auth_time, same user.
    let new_cookie = cookies.into_iter().next().unwrap();
    let after = AuthKitSession::unseal(&new_cookie, &World::passwords()).unwrap();
    assert_ne!(after.refresh_token, before.refresh_token, "rotated");
    assert_ne!(after.access_token, before.access_token);
    let claims = |t: &str| {
        use base64::Engine;
        let p = t.split('.').nth(1).unwrap();
        let b = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(p).unwrap();
        serde_json::from_slice::<Value>(&b).unwrap()
    };
    assert_eq!(claims(&after.access_token)["auth_time"], claims(&before.access_token)["auth_time"]);

    // A late request with the old cookie reuses the result: no second spend (which would make
    // the provider revoke the whole grant and sign the user out).
    let mut late = browser.api();
    late.set_cookie_value(&world.app, "session", &old_cookie);
    let page = late.get(&world.url("/me")).await;
    assert_eq!(page.status, StatusCode::OK, "{page:?}");
    assert_eq!(page.set_cookie("session").unwrap().value(), new_cookie);
    assert_eq!(world.stats().await["refresh_grants"], 1);

    // With the new cookie and the clock back, no refresh is due and the user stays signed in;
    // the rotated refresh token still works later (the grant was not revoked).
    world.clock.set_offset(0);
    let mut fresh = browser.api();
    fresh.set_cookie_value(&world.app, "session", &new_cookie);
    let ok = fresh.get(&world.url("/me")).await;
    assert_eq!(ok.status, StatusCode::OK);
    assert!(ok.set_cookie("session").is_none());
    world.clock.set_offset(100);
    let again = fresh.get(&world.url("/me")).await;
    assert_eq!(again.status, StatusCode::OK, "{again:?}");
    assert_eq!(world.stats().await["refresh_grants"], 2);
    assert_eq!(world.stats().await["refresh_failures"], 0);
}

#[tokio::test]
async fn an_expired_token_is_refreshed_before_the_request_goes_on() {
    // Tokens for 3 s, no leeway, no buffer: wait until the token has expired for real (the
    // provider's tokens follow the real clock, so the test clock cannot stand in here).
    let world = start_with(3, Some(0), Some(0)).await;
    let browser = signed_in(&world, false).await;
    tokio::time::sleep(Duration::from_millis(4_000)).await;
    let mut api = browser.api();
    let page = api.get(&world.url("/me")).await;
    assert_eq!(page.status, StatusCode::OK, "{page:?}");
    assert!(page.set_cookie("session").is_some(), "the refreshed session is set");
    assert_eq!(world.stats().await["refresh_grants"], 1);
    // The new cookie works without another refresh while its token is valid.
    let again = api.get(&world.url("/me")).await;
    assert_eq!(again.status, StatusCode::OK, "{again:?}");
    assert!(again.set_cookie("session").is_none());
    assert_eq!(world.stats().await["refresh_grants"], 1);
}

#[tokio::test]
async fn a_refresh_token_revoked_at_the_provider_ends_the_session() {
    let world = start(60).await;
    let browser = signed_in(&world, false).await;
    let session = world.session_of(&browser);
    let revoked = reqwest::Client::new()
        .post(world.op("revocation_endpoint"))
        .basic_auth(world.op("client_id"), Some(world.op("client_secret")))
        .form(&[("token", session.refresh_token.as_ref().unwrap().expose())])
        .send()
        .await
        .unwrap();
    assert!(revoked.status().is_success());
    world.clock.set_offset(3600);
    let mut api = browser.api();
    let page = api.get(&world.url("/me")).await;
    assert_eq!(page.status, StatusCode::UNAUTHORIZED, "{page:?}");
    assert_eq!(page.code(), "session_ended");
    let cleared = page.set_cookie("session").expect("the cookie is cleared");
    assert!(cleared.value().is_empty() && cleared.max_age().is_some_and(|m| m.is_zero()));
    // A browser is sent to sign in again.
    let mut nav = browser.clone();
    let page = nav.get(&world.url("/me")).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert!(page.location.unwrap().contains("/auth/login"));
}

#[tokio::test]
async fn a_provider_that_cannot_answer_never_signs_anyone_out() {
    let mut world = start(120).await;
    let browser = signed_in(&world, false).await;
    let cookie = browser.cookie(&world.app, "session").unwrap();
    // The provider goes away.
    world.peer = None;
    // Inside the buffer but still valid: the request goes on with the old token.
    world.clock.set_offset(90);
    let page = browser.api().get(&world.url("/me")).await;
    assert_eq!(page.status, StatusCode::OK, "{page:?}");
    assert!(page.set_cookie("session").is_none(), "the cookie is kept");
    // Expired: 503 with Retry-After, the cookie kept.
    world.clock.set_offset(3600);
    let mut api = browser.api();
    let page = api.get(&world.url("/me")).await;
    assert_eq!(page.status, StatusCode::SERVICE_UNAVAILABLE, "{page:?}");
    assert_eq!(page.code(), "refresh_unavailable");
    assert!(page.retry_after.as_deref().is_some_and(|s| s.parse::<u64>().is_ok()), "{page:?}");
    assert!(page.set_cookie("session").is_none());
    assert_eq!(api.cookie(&world.app, "session").as_deref(), Some(cookie.as_str()));
}

#[tokio::test]
async fn callbacks_that_do_not_belong_to_the_sign_in_set_nothing() {
    let world = start(120).await;
    let login = world.url("/auth/login?return_to=/me");

    // Runs the provider's part of a sign-in and returns the callback URL (not followed).
    async fn to_callback(
        world: &World,
        browser: &mut Browser,
        login: &str,
        ts: i64,
        mfa: bool,
    ) -> String {
        let start = browser.get(login).await;
        let mut url = start.location.clone().unwrap();
        loop {
            if url.starts_with(&world.url("/auth/callback")) {
                return url;
            }
            let page = browser.get(&url).await;
            if page.url.path().starts_with("/interaction/") && page.status == StatusCode::OK {
                let action = format!("{}/login", page.url.as_str().trim_end_matches('/'));
                let offset = ts.to_string();
                let mut form = vec![("ts_offset", offset.as_str())];
                if mfa {
                    form.push(("mfa", "1"));
                }
                url = browser.post_form(&action, &form).await.location.unwrap();
            } else {
                url = page.location.clone().unwrap_or_else(|| panic!("stuck at {page:?}"));
            }
        }
    }
    let no_session = |page: &crate::lifecycle_support::Page| {
        assert!(
            page.set_cookie("session").is_none_or(|c| c.value().is_empty()),
            "a refused callback set a session: {page:?}"
        );
    };

    // Wrong state: it names no attempt this browser started (attempt cookies are per state).
    let mut b = Browser::new();
    let cb = to_callback(&world, &mut b, &login, 0, false).await;
    let mut forged = reqwest::Url::parse(&cb).unwrap();
    let pairs: Vec<(String, String)> = forged
        .query_pairs()
        .map(|(k, v)| {
            let v = if k == "state" { "forged".to_owned() } else { v.into_owned() };
            (k.into_owned(), v)
        })
        .collect();
    forged.query_pairs_mut().clear().extend_pairs(pairs);
    let page = b.get(forged.as_str()).await;
    assert_eq!(
        (page.status, page.code().as_str()),
        (StatusCode::BAD_REQUEST, "login_state_missing")
    );
    no_session(&page);

    // Missing state.
    let mut b = Browser::new();
    let cb = to_callback(&world, &mut b, &login, 0, false).await;
    let url = reqwest::Url::parse(&cb).unwrap();
    let code = url.query_pairs().find(|(k, _)| k == "code").unwrap().1.into_owned();
    let page = b.get(&world.url(&format!("/auth/callback?code={code}"))).await;
    assert_eq!((page.status, page.code().as_str()), (StatusCode::BAD_REQUEST, "state_missing"));
    no_session(&page);

    // No sign-in started in this browser (login CSRF): refused before the code is spent.
    let mut b = Browser::new();
    let cb = to_callback(&world, &mut b, &login, 0, false).await;
    let mut stranger = Browser::new();
    let page = stranger.get(&cb).await;
    assert_eq!(
        (page.status, page.code().as_str()),
        (StatusCode::BAD_REQUEST, "login_state_missing")
    );
    no_session(&page);

    // Replayed callback: the first use signs in; the replay, with the attempt cookie put back,
    // is refused before the provider is asked again (and the provider would refuse the code).
    let (flow_name, flow) = b.cookie_starting(&world.app, "session-login-").unwrap();
    let first = b.get(&cb).await;
    assert_eq!(first.status, StatusCode::SEE_OTHER, "{first:?}");
    assert!(first.set_cookie("session").is_some_and(|c| !c.value().is_empty()));
    assert!(first.set_cookie(&flow_name).is_some_and(|c| c.value().is_empty()), "single-use");
    let mut replay = Browser::new();
    replay.set_cookie_value(&world.app, &flow_name, &flow);
    let page = replay.get(&cb).await;
    assert_eq!((page.status, page.code().as_str()), (StatusCode::BAD_REQUEST, "state_replayed"));
    no_session(&page);

    // Two tabs signing in at once: each attempt has its own cookie, both complete.
    let mut b = Browser::new();
    let cb1 = to_callback(&world, &mut b, &login, 0, false).await;
    let cb2 =
        to_callback(&world, &mut b, &world.url("/auth/login?return_to=/admin"), 0, false).await;
    assert_eq!(b.get(&cb1).await.status, StatusCode::SEE_OTHER);
    let second = b.get(&cb2).await;
    assert_eq!(second.status, StatusCode::SEE_OTHER, "{second:?}");
    assert_eq!(second.location.as_deref(), Some(world.url("/admin").as_str()));

    // Nonce mismatch: the attempt cookie re-sealed with another nonce (a forged attempt cookie
    // needs the password; this proves the check is there).
    let mut b = Browser::new();
    let cb = to_callback(&world, &mut b, &login, 0, false).await;
    let (flow_name, flow) = b.cookie_starting(&world.app, "session-login-").unwrap();
    let pw = World::passwords();
    let plain = axum_session_mfa::__private::unseal(&flow, &pw, now_ms()).unwrap();
    let mut state: Value = serde_json::from_slice(&plain).unwrap();
    state["nonce"] = "another-nonce".into();
    let resealed = axum_session_mfa::__private::seal(
        &serde_json::to_vec(&state).unwrap(),
        &pw,
        Some(Duration::from_secs(600)),
        now_ms(),
    )
    .unwrap();
    b.set_cookie_value(&world.app, &flow_name, &resealed);
    let page = b.get(&cb).await;
    assert_eq!((page.status, page.code().as_str()), (StatusCode::BAD_REQUEST, "nonce_mismatch"));
    no_session(&page);

    // A step-up asked max_age=60 and the provider answered with an hour-old auth_time.
    let mut b = Browser::new();
    let stale = world.url("/auth/login?return_to=/admin&max_age=60");
    let cb = to_callback(&world, &mut b, &stale, -3600, true).await;
    let page = b.get(&cb).await;
    assert_eq!(
        (page.status, page.code().as_str()),
        (StatusCode::FORBIDDEN, "reauthentication_missing"),
        "{page:?}"
    );
    no_session(&page);

    // acr_values asked and not met.
    let mut b = Browser::new();
    let acr = world.url("/auth/login?return_to=/admin&acr_values=urn:test:loa:2&step_up=1");
    let cb = to_callback(&world, &mut b, &acr, 0, false).await;
    let page = b.get(&cb).await;
    assert_eq!((page.status, page.code().as_str()), (StatusCode::FORBIDDEN, "acr_not_satisfied"));
    no_session(&page);

    // An open return_to is dropped: the sign-in lands on "/".
    let mut b = Browser::new();
    let evil = world.url("/auth/login?return_to=https://evil.example/steal");
    let cb = to_callback(&world, &mut b, &evil, 0, false).await;
    let page = b.get(&cb).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert_eq!(page.location.as_deref(), Some(world.url("/").as_str()));
    for bad in ["//evil.example", "/\\evil.example", "https:evil"] {
        let start = Browser::new().get(&world.url(&format!("/auth/login?return_to={bad}"))).await;
        assert_eq!(start.status, StatusCode::SEE_OTHER, "{bad}");
    }

    // The provider said no (the user cancelled).
    let mut b = Browser::new();
    let start = b.get(&login).await;
    let state = reqwest::Url::parse(start.location.as_deref().unwrap())
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "state")
        .unwrap()
        .1
        .into_owned();
    let page =
        b.api().get(&world.url(&format!("/auth/callback?error=access_denied&state={state}"))).await;
    assert_eq!((page.status, page.code().as_str()), (StatusCode::BAD_REQUEST, "provider_error"));
    no_session(&page);

    // Bad sign-in parameters.
    let page = Browser::new().api().get(&world.url("/auth/login?max_age=soon")).await;
    assert_eq!((page.status, page.code().as_str()), (StatusCode::BAD_REQUEST, "invalid_max_age"));
    let page = Browser::new().api().get(&world.url("/auth/login?return_to=/a&return_to=/b")).await;
    assert_eq!(
        (page.status, page.code().as_str()),
        (StatusCode::BAD_REQUEST, "duplicate_parameter")
    );
}

fn now_ms() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as u64
}

#[tokio::test]
async fn recency_step_up_round_trip_lands_back_and_passes() {
    let world = start(600).await;
    let mut browser = signed_in(&world, false).await;
    assert_eq!(browser.api().get(&world.url("/recent")).await.status, StatusCode::OK);
    // Ten minutes later the sign-in is too old for /recent (300 s): API clients get max_age in
    // the challenge, browsers go to sign in again with max_age=300.
    world.clock.set_offset(400);
    let api = browser.api().get(&world.url("/recent")).await;
    assert_eq!(api.status, StatusCode::FORBIDDEN, "{api:?}");
    let step = browser.get(&world.url("/recent")).await;
    let to = step.location.clone().unwrap();
    assert!(to.contains("max_age=300") && to.contains("return_to=%2Frecent"), "{to}");
    // The provider's clock is real time: its session is 0 s old, so it would not ask again.
    // Step back so both agree the sign-in is fresh, then run the round trip.
    world.clock.set_offset(0);
    let page = browser.sign_in_through(&to, false, 0).await;
    assert_eq!(page.status, StatusCode::OK, "{page:?}");
    assert_eq!(page.url.path(), "/recent");
}
