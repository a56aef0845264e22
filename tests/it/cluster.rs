//! Many instances, one truth: two app instances sharing Redis, against a real OpenID Provider
//! (`oidc-provider` with refresh-token rotation, where spending a token twice revokes the whole
//! grant): one refresh cluster-wide, and back-channel logout honoured on both.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::{Body, to_bytes};
use axum::extract::Request;
use axum::middleware::{self, Next};
use axum::routing::get;
use axum::{Json, Router};
use axum_session_mfa::authkit::IronPasswords;
use axum_session_mfa::lifecycle::{OpenIdProvider, Sessions};
use axum_session_mfa::store::{RedisOptions, RedisStore};
use axum_session_mfa::{AuthContext, Revocations};
use http::StatusCode;
use serde_json::Value;

use crate::interop_support::{Peer, require};
use crate::lifecycle_support::{Browser, TestClock, serve};

const PASSWORD: &str = "an-iron-password-shared-by-instances";

struct Cluster {
    _peer: Peer,
    op: Value,
    apps: [String; 2],
    clock: TestClock,
    /// The logout tokens the provider posted to instance A.
    logout_tokens: Arc<Mutex<Vec<String>>>,
}

impl Cluster {
    fn op(&self, name: &str) -> String {
        self.op[name].as_str().unwrap().to_owned()
    }

    async fn stats(&self) -> Value {
        let body = reqwest::get(self.op("stats_endpoint")).await.unwrap().text().await.unwrap();
        serde_json::from_str(&body).unwrap()
    }
}

async fn me(ctx: AuthContext) -> Json<AuthContext> {
    Json(ctx)
}

/// Keeps a copy of each back-channel logout request body, then passes it on.
async fn record(
    tokens: Arc<Mutex<Vec<String>>>,
    req: Request,
    next: Next,
) -> axum::response::Response {
    if req.uri().path() != "/auth/backchannel-logout" {
        return next.run(req).await;
    }
    let (parts, body) = req.into_parts();
    let bytes = to_bytes(body, 64 * 1024).await.unwrap();
    tokens.lock().unwrap().push(String::from_utf8_lossy(&bytes).into_owned());
    next.run(Request::from_parts(parts, Body::from(bytes))).await
}

async fn start() -> Cluster {
    require("oidc-provider");
    let listeners = [
        tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap(),
        tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap(),
    ];
    let apps = listeners.each_ref().map(|l| format!("http://{}", l.local_addr().unwrap()));
    let callbacks = apps.each_ref().map(|a| format!("{a}/auth/callback"));
    let peer = Peer::spawn_with_env(
        "oidc_login_provider.mjs",
        &[
            ("OP_REDIRECT_URIS", &callbacks.join(" ")),
            ("OP_POST_LOGOUT_URIS", &apps.each_ref().map(|a| format!("{a}/")).join(" ")),
            ("OP_BACKCHANNEL_LOGOUT_URI", &format!("{}/auth/backchannel-logout", apps[0])),
            ("OP_ACCESS_TTL", "120"),
        ],
    );
    let op: Value = serde_json::from_str(&peer.greeting).unwrap();
    let s = |k: &str| op[k].as_str().unwrap().to_owned();
    let prefix = format!("cluster-{}-{}", std::process::id(), crate::common::now());
    let clock = TestClock::default();
    let logout_tokens = Arc::new(Mutex::new(Vec::new()));
    for (listener, callback) in listeners.into_iter().zip(&callbacks) {
        let idp = OpenIdProvider::discover(&s("issuer"), s("client_id"), s("client_secret"))
            .await
            .unwrap()
            .resource(s("resource"));
        // Each instance has its own Redis client, as separate processes would.
        let shared = RedisStore::with_options(
            &crate::prerequisites::redis_url(),
            RedisOptions::default().prefix(prefix.clone()),
        )
        .unwrap();
        let revocations = Revocations::builder(shared.clone()).start().await;
        tokio::spawn(revocations.keep_current());
        let sessions =
            Sessions::builder(idp, IronPasswords::new("1", PASSWORD).unwrap(), callback.clone())
                .clock(clock.clock())
                .store(shared)
                .revocations(revocations)
                .build()
                .unwrap();
        let tokens = logout_tokens.clone();
        let app = Router::new()
            .route("/", get(|| async { "home" }))
            .route("/me", get(me))
            .merge(sessions.routes())
            .layer(sessions.auth_layer())
            .layer(middleware::from_fn(move |req, next| record(tokens.clone(), req, next)));
        serve(listener, app);
    }
    Cluster { _peer: peer, op, apps, clock, logout_tokens }
}

async fn sign_in(cluster: &Cluster) -> Browser {
    let mut browser = Browser::new();
    let login = format!("{}/auth/login?return_to=/me", cluster.apps[0]);
    let page = browser.sign_in_through(&login, false, 0).await;
    assert_eq!(page.status, StatusCode::OK, "{page:?}");
    browser
}

#[tokio::test]
async fn two_instances_refresh_a_session_once_and_it_stays_signed_in() {
    let cluster = start().await;
    let browser = sign_in(&cluster).await;
    let cookie = browser.cookie(&cluster.apps[0], "session").unwrap();
    assert_eq!(cluster.stats().await["refresh_grants"], 0);
    // The token is due on both instances: 24 requests, half to each, all at once.
    cluster.clock.set_offset(100);
    let mut tasks = Vec::new();
    for i in 0..24 {
        let app = cluster.apps[i % 2].clone();
        let mut b = Browser::new().api();
        b.set_cookie_value(&app, "session", &cookie);
        tasks.push(tokio::spawn(async move { b.get(&format!("{app}/me")).await }));
    }
    let mut cookies = std::collections::HashSet::new();
    for t in tasks {
        let page = t.await.unwrap();
        assert_eq!(page.status, StatusCode::OK, "{page:?}");
        cookies.insert(page.set_cookie("session").expect("the new session").value().to_owned());
    }
    let stats = cluster.stats().await;
    assert_eq!(stats["refresh_grants"], 1, "one refresh at the provider: {stats}");
    assert_eq!(stats["refresh_failures"], 0, "no refresh token spent twice: {stats}");
    assert_eq!(cookies.len(), 1, "every instance hands out the same new session");
    // The user stays signed in: the new session refreshes again later, on either instance.
    let new_cookie = cookies.into_iter().next().unwrap();
    let mut b = Browser::new().api();
    b.set_cookie_value(&cluster.apps[1], "session", &new_cookie);
    assert_eq!(b.get(&format!("{}/me", cluster.apps[1])).await.status, StatusCode::OK);
    cluster.clock.set_offset(0);

    // Signing out through instance A: a copy of the cookie is refused on instance B at once.
    let mut user = Browser::new();
    user.set_cookie_value(&cluster.apps[0], "session", &new_cookie);
    let out = user.post_form(&format!("{}/auth/logout", cluster.apps[0]), &[]).await;
    assert_eq!(out.status, StatusCode::SEE_OTHER);
    let mut refused = false;
    for _ in 0..1_000 {
        let page = b.get(&format!("{}/me", cluster.apps[1])).await;
        if page.status == StatusCode::UNAUTHORIZED {
            assert_eq!(page.code(), "session_revoked");
            refused = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(refused, "a signed-out session still works on the other instance");
}

#[tokio::test]
async fn back_channel_logout_signs_the_session_out_on_every_instance() {
    let cluster = start().await;
    let mut browser = sign_in(&cluster).await;
    let cookie = browser.cookie(&cluster.apps[0], "session").unwrap();
    let on = |i: usize| {
        let mut b = Browser::new().api();
        b.set_cookie_value(&cluster.apps[i], "session", &cookie);
        (b, format!("{}/me", cluster.apps[i]))
    };
    for i in 0..2 {
        let (mut b, url) = on(i);
        assert_eq!(b.get(&url).await.status, StatusCode::OK);
    }
    // Sign out at the provider directly (not through the app): it posts a logout_token to A's
    // back-channel route, and A revokes the session for every instance.
    let session = axum_session_mfa::authkit::AuthKitSession::unseal(
        &cookie,
        &IronPasswords::new("1", PASSWORD).unwrap(),
    )
    .unwrap();
    let mut end = reqwest::Url::parse(&cluster.op("end_session_endpoint")).unwrap();
    end.query_pairs_mut()
        .append_pair("id_token_hint", session.extra["idToken"].as_str().unwrap())
        .append_pair("client_id", &cluster.op("client_id"))
        .append_pair("post_logout_redirect_uri", &format!("{}/", cluster.apps[0]));
    let confirm = browser.navigate(end.as_str()).await;
    let xsrf =
        confirm.body.split("name=\"xsrf\" value=\"").nth(1).unwrap().split('"').next().unwrap();
    let action = confirm.body.split("action=\"").nth(1).unwrap().split('"').next().unwrap();
    let action = confirm.url.join(action).unwrap().to_string();
    let done = browser.post_form(&action, &[("xsrf", xsrf), ("logout", "yes")]).await;
    assert!(done.status.is_redirection(), "{done:?}");
    for i in 0..2 {
        let (mut b, url) = on(i);
        let mut refused = None;
        for _ in 0..1_000 {
            let page = b.get(&url).await;
            if page.status == StatusCode::UNAUTHORIZED {
                refused = Some(page);
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let page = refused.unwrap_or_else(|| panic!("instance {i} still accepts the session"));
        assert_eq!(page.code(), "session_revoked");
        assert!(page.set_cookie("session").is_some_and(|c| c.value().is_empty()), "cleared");
    }
    // The provider's logout token, replayed: refused (its jti was seen).
    let body = cluster.logout_tokens.lock().unwrap().first().cloned().expect("a logout token");
    let post = |body: String| {
        let url = format!("{}/auth/backchannel-logout", cluster.apps[1]);
        async move {
            let r = reqwest::Client::new()
                .post(url)
                .header("content-type", "application/x-www-form-urlencoded")
                .body(body)
                .send()
                .await
                .unwrap();
            let status = r.status();
            (status, serde_json::from_str::<Value>(&r.text().await.unwrap()).unwrap_or_default())
        }
    };
    let (status, json) = post(body).await;
    assert_eq!((status, json["code"].as_str()), (StatusCode::BAD_REQUEST, Some("jti_replayed")));
    // An ID token from the same provider (right signature and audience) is not a logout token:
    // it has no `typ: logout+jwt` (nor the back-channel `events`, tested in lifecycle_workos).
    let other = sign_in(&cluster).await;
    let id_token = {
        let sealed = other.cookie(&cluster.apps[0], "session").unwrap();
        let session = axum_session_mfa::authkit::AuthKitSession::unseal(
            &sealed,
            &IronPasswords::new("1", PASSWORD).unwrap(),
        )
        .unwrap();
        session.extra["idToken"].as_str().unwrap().to_owned()
    };
    let form = |t: &str| format!("logout_token={t}");
    let (status, json) = post(form(&id_token)).await;
    assert_eq!(
        (status, json["code"].as_str(), json["reason"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_logout_token"), Some("wrong_token_type"))
    );
    // A tampered signature, a missing token, a JSON body: refused.
    let real = body_token(&cluster);
    let mut parts: Vec<String> = real.split('.').map(str::to_owned).collect();
    parts[2] = "AAAA".into();
    let (status, json) = post(form(&parts.join("."))).await;
    assert_eq!(
        (status, json["code"].as_str(), json["reason"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_logout_token"), Some("bad_signature"))
    );
    let (status, json) = post(String::new()).await;
    assert_eq!(
        (status, json["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("logout_token_missing"))
    );
    // The other browser's session was not touched by any of this.
    let mut other_b = other.api();
    let other_cookie = other.cookie(&cluster.apps[0], "session").unwrap();
    other_b.set_cookie_value(&cluster.apps[1], "session", &other_cookie);
    let page = other_b.get(&format!("{}/me", cluster.apps[1])).await;
    assert_eq!(page.status, StatusCode::OK, "{page:?}");
}

/// The first logout token the provider posted.
fn body_token(cluster: &Cluster) -> String {
    let body = cluster.logout_tokens.lock().unwrap().first().cloned().unwrap();
    form_urlencoded::parse(body.as_bytes())
        .find(|(k, _)| k == "logout_token")
        .map(|(_, v)| v.into_owned())
        .unwrap()
}
