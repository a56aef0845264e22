//! Step-up behaviour: browser redirects and their safety, custom responses, CORS preflight,
//! and the `Mfa<P>` extractor.

use std::sync::{Arc, LazyLock};
use std::time::Duration;

use crate::common::*;
use axum::Router;
use axum::body::Body;
use axum::response::IntoResponse;
use axum::routing::get;
use axum_session_mfa::{
    AuthContext, AuthLayerBuilder, Mfa, MfaPolicy, NamedPolicy, RequireAuth, RequireMfa,
    safe_return_to,
};
use jsonwebtoken::Algorithm;
use serde_json::json;

const BROWSER_ACCEPT: &str = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";

/// `/admin` behind `guard`, behind a layer configured by `configure`.
fn app_guarded(
    guard: RequireMfa,
    configure: impl FnOnce(AuthLayerBuilder) -> AuthLayerBuilder,
) -> Router {
    Router::new()
        .route("/admin", get(|| async { "ok" }).post(|| async { "posted" }))
        .route("/{*rest}", get(|| async { "ok" }))
        .route_layer(guard)
        .layer(configure(builder_for(Algorithm::HS256)).build().unwrap())
}

fn app_with(configure: impl FnOnce(AuthLayerBuilder) -> AuthLayerBuilder) -> Router {
    app_guarded(RequireMfa::new(), configure)
}

fn browser(path: &str, token: &str) -> http::Request<Body> {
    get_req(path)
        .header("accept", BROWSER_ACCEPT)
        .header("cookie", format!("session={token}"))
        .body(Body::empty())
        .unwrap()
}

fn location(reply: &Reply) -> String {
    reply.headers.get("location").map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default()
}

#[tokio::test]
async fn browser_navigations_are_redirected_to_step_up() {
    let app = app_with(|b| b.step_up_redirect("/auth/step-up"));
    let token = hs256(&claims());
    let reply = send(&app, browser("/admin?tab=keys&x=1", &token)).await;
    assert_eq!(reply.status, 303);
    assert_eq!(location(&reply), "/auth/step-up?return_to=%2Fadmin%3Ftab%3Dkeys%26x%3D1");

    // A step-up URL with its own query gets `&`.
    let app2 = app_with(|b| b.step_up_redirect("https://idp.example/step?prompt=login"));
    let reply = send(&app2, browser("/admin", &token)).await;
    assert_eq!(location(&reply), "https://idp.example/step?prompt=login&return_to=%2Fadmin");

    // API clients (no text/html), fetch() calls and non-GET requests keep the 403 challenge.
    assert_eq!(bearer(&app, "/admin", &token).await.status, 403);
    let mut fetch = browser("/admin", &token);
    fetch.headers_mut().insert("sec-fetch-mode", "cors".parse().unwrap());
    assert_eq!(send(&app, fetch).await.status, 403);
    let mut nav = browser("/admin", &token);
    nav.headers_mut().insert("sec-fetch-mode", "navigate".parse().unwrap());
    assert_eq!(send(&app, nav).await.status, 303);
    let post = get_req("/admin")
        .method("POST")
        .header("accept", BROWSER_ACCEPT)
        .header("cookie", format!("session={token}"))
        .body(Body::empty())
        .unwrap();
    let reply = send(&app, post).await;
    assert_eq!(reply.status, 403);
    assert_eq!(reply.code(), "insufficient_user_authentication");
    let json_only = get_req("/admin")
        .header("accept", "application/json")
        .header("cookie", format!("session={token}"))
        .body(Body::empty())
        .unwrap();
    assert_eq!(send(&app, json_only).await.status, 403);

    // No session at all is a 401, not a step-up.
    let anonymous = get_req("/admin").header("accept", BROWSER_ACCEPT).body(Body::empty()).unwrap();
    assert_eq!(send(&app, anonymous).await.status, 401);
    // MFA sessions pass.
    assert_eq!(send(&app, browser("/admin", &hs256(&mfa_claims()))).await.status, 200);
}

#[tokio::test]
async fn return_to_is_never_an_open_redirect() {
    let app = app_with(|b| b.step_up_redirect("/step-up"));
    let token = hs256(&claims());
    // Request targets an attacker could craft: the redirect falls back to `/`.
    for target in ["//evil.example/admin", "/%2F%2Fevil.example", "/%5Cevil.example", "/%2f/x"] {
        let reply = send(&app, browser(target, &token)).await;
        assert_eq!(reply.status, 303, "{target}");
        let loc = location(&reply);
        let rt = loc.split_once("return_to=").unwrap().1;
        let decoded: String =
            form_urlencoded::parse(format!("r={rt}").as_bytes()).next().unwrap().1.into_owned();
        assert!(safe_return_to(&decoded).is_some(), "{target} -> {decoded}");
    }
    for target in ["/%2F%2Fevil.example", "/%5Cevil.example", "/%252F%252Fevil.example"] {
        let reply = send(&app, browser(target, &token)).await;
        assert_eq!(location(&reply), "/step-up?return_to=%2F", "{target}");
    }
    // Doubled slashes later in the path stay on this origin and are kept.
    let reply = send(&app, browser("/admin/%2F%2Fx", &token)).await;
    assert_eq!(location(&reply), "/step-up?return_to=%2Fadmin%2F%252F%252Fx");

    // The check the step-up endpoint applies to what it receives.
    for bad in [
        "//evil.example",
        "///evil.example",
        "https://evil.example/admin",
        "http:evil.example",
        "javascript:alert(1)",
        "/\\evil.example",
        "\\\\evil.example",
        "/%2F%2Fevil.example",
        "/%2f/evil.example",
        "/%5Cevil.example",
        "/%252F%252Fevil.example",
        "%2F%2Fevil.example",
        "/admin\r\nSet-Cookie: x=1",
        "/admin%0d%0aSet-Cookie:x",
        "/ad min",
        "evil.example",
        "",
        "/%ff",
    ] {
        assert_eq!(safe_return_to(bad), None, "{bad:?}");
    }
    for good in ["/", "/admin", "/admin?tab=keys&x=%20y", "/a/b/c#frag", "/caf%C3%A9"] {
        assert_eq!(safe_return_to(good), Some(good), "{good:?}");
    }
}

#[tokio::test]
async fn max_age_failures_redirect_too() {
    let app = Router::new()
        .route("/recent", get(|| async { "ok" }))
        .route_layer(RequireMfa::with_policy(
            MfaPolicy::builder().max_age(Duration::from_secs(300)).acr_values(["phr", "x"]).build(),
        ))
        .layer(builder_for(Algorithm::HS256).step_up_redirect("/step-up").build().unwrap());
    let mut c = mfa_claims();
    c["auth_time"] = json!(now() - 3600);
    let reply = send(&app, browser("/recent", &hs256(&c))).await;
    assert_eq!(reply.status, 303);
    // The sign-in endpoint learns what the policy needs: max_age and acr_values (RFC 9470).
    assert_eq!(location(&reply), "/step-up?return_to=%2Frecent&max_age=300&acr_values=phr+x");
}

#[tokio::test]
async fn one_on_reject_answers_for_guards_and_extractors_alike() {
    let app = Router::new()
        .route("/admin", get(|| async { "ok" }))
        .route_layer(RequireMfa::new())
        .route("/me", get(|ctx: AuthContext| async move { ctx.sub().to_owned() }))
        .route("/mfa", get(|s: Mfa| async move { s.sub().to_owned() }))
        .layer(
            builder_for(Algorithm::HS256)
                .on_reject(|rejection| match rejection.status().as_u16() {
                    401 | 403 => (
                        rejection.status(),
                        format!("custom {} {}", rejection.status().as_u16(), rejection.code()),
                    )
                        .into_response(),
                    _ => rejection.default_response(),
                })
                .build()
                .unwrap(),
        );
    let password_only = hs256(&claims());
    for path in ["/admin", "/mfa"] {
        let reply = bearer(&app, path, &password_only).await;
        assert_eq!(reply.status, 403, "{path}");
        assert_eq!(reply.text(), "custom 403 insufficient_user_authentication", "{path}");
    }
    for path in ["/admin", "/me", "/mfa"] {
        let reply = send(&app, get_req(path).body(Body::empty()).unwrap()).await;
        assert_eq!(reply.status, 401, "{path}");
        assert_eq!(reply.text(), "custom 401 missing_token", "{path}");
    }
}

#[tokio::test]
async fn extractors_redirect_browsers_like_guards() {
    let app = Router::new()
        .route("/me", get(|ctx: AuthContext| async move { ctx.sub().to_owned() }))
        .route("/mfa", get(|s: Mfa| async move { s.sub().to_owned() }))
        .layer(
            builder_for(Algorithm::HS256)
                .login_redirect("/login")
                .step_up_redirect("/step-up")
                .build()
                .unwrap(),
        );
    let anonymous = get_req("/me").header("accept", BROWSER_ACCEPT).body(Body::empty()).unwrap();
    let reply = send(&app, anonymous).await;
    assert_eq!((reply.status.as_u16(), location(&reply)), (303, "/login?return_to=%2Fme".into()));
    let reply = send(&app, browser("/mfa", &hs256(&claims()))).await;
    assert_eq!(
        (reply.status.as_u16(), location(&reply)),
        (303, "/step-up?return_to=%2Fmfa".into())
    );
    // The typed rejection says where the default response would go.
    let rejection = rejection_of(builder_for(Algorithm::HS256).build().unwrap(), "x").await;
    assert_eq!(rejection.code(), "malformed_token");
    assert_eq!(rejection.status(), 401);
    assert_eq!(rejection.location(), None, "no redirect for an API client");
    assert!(rejection.to_string().contains("malformed"), "{rejection}");
    assert!(std::error::Error::source(&rejection).is_some());
}

#[tokio::test]
async fn cors_preflight_never_runs_the_guarded_handler() {
    let preflight = |path: &str| {
        get_req(path)
            .method("OPTIONS")
            .header("origin", "https://app.example")
            .header("access-control-request-method", "POST")
            .body(Body::empty())
            .unwrap()
    };
    let runs = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let count = runs.clone();
    // An `any()` handler would run for OPTIONS too: the guard must answer the preflight itself.
    let handler = axum::routing::any(move || {
        let count = count.clone();
        async move {
            count.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            "handler ran"
        }
    });
    let app = |guard_mfa: RequireMfa, guard_auth: RequireAuth| {
        Router::new()
            .route("/admin", handler.clone())
            .route_layer(guard_mfa)
            .merge(Router::new().route("/m", handler.clone()).route_layer(guard_auth))
            .layer(builder_for(Algorithm::HS256).build().unwrap())
    };

    let closed = app(RequireMfa::new(), RequireAuth::new());
    let reply = send(&closed, preflight("/admin")).await;
    assert_eq!((reply.status.as_u16(), reply.code()), (401, "missing_token".into()), "default");

    let open =
        app(RequireMfa::new().allow_cors_preflight(), RequireAuth::new().allow_cors_preflight());
    for path in ["/admin", "/m"] {
        let reply = send(&open, preflight(path)).await;
        assert_eq!(reply.status, 204, "{path}");
        assert!(reply.body.is_empty(), "{path}: {}", reply.text());
    }
    // A plain OPTIONS (no Access-Control-Request-Method) is not a preflight.
    let plain = get_req("/admin").method("OPTIONS").body(Body::empty()).unwrap();
    assert_eq!(send(&open, plain).await.code(), "missing_token");
    // Other methods are still guarded.
    let reply = send(&open, get_req("/admin").method("POST").body(Body::empty()).unwrap()).await;
    assert_eq!((reply.status.as_u16(), reply.code()), (401, "missing_token".into()));
    assert_eq!(
        runs.load(std::sync::atomic::Ordering::SeqCst),
        0,
        "no handler ran without a session"
    );
    // With a session the handler runs as usual.
    assert_eq!(bearer(&open, "/admin", &hs256(&mfa_claims())).await.text(), "handler ran");
}

struct RecentMfa;
impl NamedPolicy for RecentMfa {
    fn policy() -> &'static Arc<MfaPolicy> {
        static P: LazyLock<Arc<MfaPolicy>> = LazyLock::new(|| {
            Arc::new(MfaPolicy::builder().name("recent").max_age(Duration::from_secs(60)).build())
        });
        &P
    }
}

#[tokio::test]
async fn the_mfa_extractor_enforces_its_policy() {
    let app = Router::new()
        .route("/default", get(|s: Mfa| async move { s.sub().to_owned() }))
        .route("/recent", get(|s: Mfa<RecentMfa>| async move { s.into_inner().sub().to_owned() }))
        .layer(builder_for(Algorithm::HS256).build().unwrap());
    assert_eq!(send(&app, get_req("/default").body(Body::empty()).unwrap()).await.status, 401);
    assert_invalid(&cookie(&app, "/default", "session=a.b.c").await, "malformed_token");
    let reply = bearer(&app, "/default", &hs256(&claims())).await;
    assert_eq!(reply.status, 403);
    assert_eq!(reply.json()["rule"], "methods_missing");
    assert!(reply.www_authenticate().contains("insufficient_user_authentication"));
    let reply = bearer(&app, "/default", &hs256(&mfa_claims())).await;
    assert_eq!((reply.status.as_u16(), reply.text()), (200, "user_123".to_owned()));

    let mut old = mfa_claims();
    old["auth_time"] = json!(now() - 120);
    let reply = bearer(&app, "/recent", &hs256(&old)).await;
    assert_eq!(reply.status, 403);
    assert_eq!(reply.json()["policy"], "recent");
    assert_eq!(reply.json()["rule"], "auth_too_old");
    assert!(reply.www_authenticate().contains("max_age=60"));
    assert_eq!(bearer(&app, "/recent", &hs256(&mfa_claims())).await.status, 200);

    // Without the layer: a loud 500, never a pass.
    let bare = Router::new().route("/default", get(|s: Mfa| async move { s.sub().to_owned() }));
    let reply = send(&bare, get_req("/default").body(Body::empty()).unwrap()).await;
    assert_eq!((reply.status.as_u16(), reply.code()), (500, "auth_layer_missing".into()));
}

#[tokio::test]
async fn nested_routers_return_to_the_original_path() {
    let inner =
        Router::new().route("/admin", get(|| async { "ok" })).route_layer(RequireMfa::new());
    let app = Router::new()
        .nest("/api", inner)
        .layer(builder_for(Algorithm::HS256).step_up_redirect("/step-up").build().unwrap());
    let reply = send(&app, browser("/api/admin?x=1", &hs256(&claims()))).await;
    assert_eq!(reply.status, 303);
    assert_eq!(location(&reply), "/step-up?return_to=%2Fapi%2Fadmin%3Fx%3D1");
}

#[tokio::test]
async fn custom_rule_failures_are_plain_403s_without_step_up() {
    let policy = MfaPolicy::builder().require("admin_role", |ctx| ctx.has_role("owner")).build();
    let app = app_guarded(RequireMfa::with_policy(policy), |b| {
        b.step_up_redirect("/step-up").unauthorized_on_step_up()
    });
    let reply = send(&app, browser("/admin", &hs256(&mfa_claims()))).await;
    assert_eq!(reply.status, 403, "stepping up cannot fix a custom rule");
    assert_eq!(reply.code(), "policy_denied");
    assert_eq!(reply.json()["rule"], "custom_rule");
    assert_eq!(reply.www_authenticate(), "", "no RFC 9470 challenge");
    assert!(reply.headers.get("location").is_none());
}

#[tokio::test]
async fn browsers_without_a_session_can_be_sent_to_sign_in() {
    let app = app_with(|b| b.login_redirect("/login").step_up_redirect("/step-up"));
    let anonymous =
        get_req("/admin?x=1").header("accept", BROWSER_ACCEPT).body(Body::empty()).unwrap();
    let reply = send(&app, anonymous).await;
    assert_eq!(reply.status, 303);
    assert_eq!(location(&reply), "/login?return_to=%2Fadmin%3Fx%3D1");
    // An expired or garbage cookie is no session either.
    let reply = send(&app, browser("/admin", "garbage.token.value")).await;
    assert_eq!(location(&reply), "/login?return_to=%2Fadmin");
    // A valid password-only session goes to step-up, not to sign-in.
    let reply = send(&app, browser("/admin", &hs256(&claims()))).await;
    assert_eq!(location(&reply), "/step-up?return_to=%2Fadmin");
    // API clients keep the 401 challenge.
    let reply = send(&app, get_req("/admin").body(Body::empty()).unwrap()).await;
    assert_eq!((reply.status.as_u16(), reply.code()), (401, "missing_token".into()));
    assert_eq!(reply.www_authenticate(), "Bearer");

    let members = Router::new()
        .route("/m", get(|| async { "ok" }))
        .route_layer(RequireAuth::new())
        .layer(builder_for(Algorithm::HS256).login_redirect("/login").build().unwrap());
    let anonymous = get_req("/m").header("accept", BROWSER_ACCEPT).body(Body::empty()).unwrap();
    assert_eq!(location(&send(&members, anonymous).await), "/login?return_to=%2Fm");
}

#[test]
fn redirect_urls_that_already_set_our_parameters_are_refused_at_build() {
    for url in
        ["/login?return_to=/x", "/step-up?a=1&max_age=0", "/s?acr_values=phr#frag", "/bad\nurl"]
    {
        let built = builder_for(Algorithm::HS256).step_up_redirect(url).build();
        assert!(
            matches!(built, Err(axum_session_mfa::BuildError::InvalidRedirectUrl(ref u)) if u == url),
            "{url}"
        );
        let built = builder_for(Algorithm::HS256).login_redirect(url).build();
        assert!(built.is_err(), "{url}");
    }
    assert!(builder_for(Algorithm::HS256).step_up_redirect("/s?prompt=login").build().is_ok());
}

#[tokio::test]
async fn a_cors_layer_outside_answers_preflights_before_any_guard() {
    use tower_http::cors::{Any, CorsLayer};
    let runs = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let count = runs.clone();
    let handler = axum::routing::any(move || {
        count.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        async { "handler ran" }
    });
    let cors = CorsLayer::new()
        .allow_origin("https://app.example".parse::<http::HeaderValue>().unwrap())
        .allow_methods(Any)
        .allow_headers(Any);
    let app = Router::new()
        .route("/admin", handler)
        .route_layer(RequireMfa::new())
        .layer(builder_for(Algorithm::HS256).build().unwrap())
        .layer(cors);
    let preflight = get_req("/admin")
        .method("OPTIONS")
        .header("origin", "https://app.example")
        .header("access-control-request-method", "POST")
        .body(Body::empty())
        .unwrap();
    let reply = send(&app, preflight).await;
    assert!(reply.status.is_success(), "{}", reply.status);
    assert_eq!(reply.headers["access-control-allow-origin"], "https://app.example");
    assert_eq!(runs.load(std::sync::atomic::Ordering::SeqCst), 0, "the handler never ran");
    // The actual request still meets the guard, and gets the CORS headers on its 401.
    let post = get_req("/admin")
        .method("POST")
        .header("origin", "https://app.example")
        .body(Body::empty())
        .unwrap();
    let reply = send(&app, post).await;
    assert_eq!((reply.status.as_u16(), reply.code()), (401, "missing_token".into()));
    assert_eq!(reply.headers["access-control-allow-origin"], "https://app.example");
    assert_eq!(runs.load(std::sync::atomic::Ordering::SeqCst), 0);
}
