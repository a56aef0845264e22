//! Where tokens come from: cookie and bearer, order, duplicates, quoting, encoding, size.

use crate::common::*;
use axum::Router;
use axum::body::Body;
use axum::routing::get;
use axum_session_mfa::TokenSource;
use http::HeaderValue;
use jsonwebtoken::Algorithm;
use serde_json::json;

fn other_user() -> String {
    let mut c = claims();
    c["sub"] = json!("user_other");
    hs256(&c)
}

#[tokio::test]
async fn cookie_and_bearer_are_both_read() {
    let app = default_app();
    let token = hs256(&claims());
    assert_eq!(cookie(&app, "/me", &format!("session={token}")).await.json()["sub"], "user_123");
    assert_eq!(bearer(&app, "/me", &token).await.json()["sub"], "user_123");
    let lower = send(
        &app,
        get_req("/me")
            .header("authorization", format!("bearer {token}"))
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(lower.status, 200, "the scheme is case-insensitive");
}

#[tokio::test]
async fn a_cookie_never_overrides_a_different_bearer_token() {
    // A sibling subdomain can plant `session=<attacker>` next to the victim's bearer token.
    let victim = hs256(&mfa_claims());
    let attacker = other_user();
    let req = |cookie_token: &str, bearer_token: &str| {
        get_req("/admin")
            .header("cookie", format!("session={cookie_token}"))
            .header("authorization", format!("Bearer {bearer_token}"))
            .body(Body::empty())
            .unwrap()
    };
    for sources in [
        vec![TokenSource::cookie("session"), TokenSource::Bearer],
        vec![TokenSource::Bearer, TokenSource::cookie("session")],
    ] {
        let app = router(builder_for(Algorithm::HS256).sources(sources).build().unwrap());
        assert_invalid_request(&send(&app, req(&attacker, &victim)).await, "ambiguous_token");
        assert_invalid_request(&send(&app, req(&victim, &attacker)).await, "ambiguous_token");
        // A stale or junk cookie next to a valid bearer is no fallback either.
        assert_invalid_request(
            &send(&app, req("stale.cookie.value", &victim)).await,
            "ambiguous_token",
        );
        // The same token in both places is one credential.
        assert_eq!(send(&app, req(&victim, &victim)).await.text(), "admin ok");
        // Either source alone works.
        assert_eq!(bearer(&app, "/admin", &victim).await.text(), "admin ok");
        assert_eq!(cookie(&app, "/admin", &format!("session={victim}")).await.text(), "admin ok");
    }
}

#[tokio::test]
async fn cookie_name_is_configurable_and_other_cookies_are_ignored() {
    let app = router(
        builder_for(Algorithm::HS256)
            .sources([TokenSource::cookie("__Host-sess"), TokenSource::Bearer])
            .build()
            .unwrap(),
    );
    let token = hs256(&claims());
    let reply =
        cookie(&app, "/me", &format!("theme=dark; session=junk; __Host-sess={token}; x=1")).await;
    assert_eq!(reply.status, 200);
    let reply = cookie(&app, "/me", &format!("session={token}")).await;
    assert_eq!(reply.status, 401);
    assert_eq!(reply.code(), "missing_token");
}

#[tokio::test]
async fn duplicate_cookies_must_agree() {
    let app = default_app();
    let token = hs256(&claims());
    // Same value twice (in one header and across two headers): accepted.
    assert_eq!(cookie(&app, "/me", &format!("session={token}; session={token}")).await.status, 200);
    let two_headers = get_req("/me")
        .header("cookie", format!("session={token}"))
        .header("cookie", format!("a=b; session={token}"))
        .body(Body::empty())
        .unwrap();
    assert_eq!(send(&app, two_headers).await.status, 200);
    // Cookie tossing: a second, different session cookie.
    let reply = cookie(&app, "/me", &format!("session={token}; session={}", other_user())).await;
    assert_invalid_request(&reply, "ambiguous_token");
    let two_headers = get_req("/me")
        .header("cookie", format!("session={token}"))
        .header("cookie", format!("session={}", other_user()))
        .body(Body::empty())
        .unwrap();
    assert_invalid_request(&send(&app, two_headers).await, "ambiguous_token");
}

#[tokio::test]
async fn quoted_and_empty_cookie_values() {
    let app = default_app();
    let token = hs256(&claims());
    assert_eq!(cookie(&app, "/me", &format!("session=\"{token}\"")).await.status, 200);
    let reply = cookie(&app, "/me", "session=").await;
    assert_eq!(reply.status, 401);
    assert_eq!(reply.code(), "missing_token");
    assert_eq!(reply.www_authenticate(), "Bearer");
    let reply = cookie(&app, "/me", "session=\"\"").await;
    assert_eq!(reply.code(), "missing_token");
}

#[tokio::test]
async fn non_utf8_bytes_in_cookies_and_headers() {
    let app = default_app();
    // In the session cookie itself: the token cannot verify.
    let mut raw = b"session=".to_vec();
    raw.extend_from_slice(&[0xff, 0xfe, b'a']);
    let req = get_req("/me")
        .header("cookie", HeaderValue::from_bytes(&raw).unwrap())
        .body(Body::empty())
        .unwrap();
    assert_invalid(&send(&app, req).await, "malformed_token");
    // In someone else's cookie (planted by a sibling domain): the session still works.
    let token = hs256(&claims());
    let mut raw = b"junk=\xff\xfe; session=".to_vec();
    raw.extend_from_slice(token.as_bytes());
    raw.extend_from_slice(b"; other=\xc3\x28");
    let req = get_req("/me")
        .header("cookie", HeaderValue::from_bytes(&raw).unwrap())
        .body(Body::empty())
        .unwrap();
    let reply = send(&app, req).await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(reply.json()["sub"], "user_123");

    let layer = builder_for(Algorithm::HS256).sources([TokenSource::Bearer]).build().unwrap();
    let app = router(layer);
    let mut raw = b"Bearer abc".to_vec();
    raw.push(0xe9);
    let req = get_req("/me")
        .header("authorization", HeaderValue::from_bytes(&raw).unwrap())
        .body(Body::empty())
        .unwrap();
    assert_invalid_request(&send(&app, req).await, "malformed_header");
}

#[tokio::test]
async fn bearer_header_edge_cases() {
    let app = default_app();
    let token = hs256(&claims());
    let with_auth = |values: &[&str]| {
        let mut b = get_req("/me");
        for v in values {
            b = b.header("authorization", *v);
        }
        b.body(Body::empty()).unwrap()
    };
    for (values, code) in [
        (vec!["Bearer "], "malformed_header"),
        (vec!["Bearer"], "malformed_header"),
        (vec!["Bearer a b"], "malformed_header"),
    ] {
        assert_invalid_request(&send(&app, with_auth(&values)).await, code);
    }
    let two = format!("Bearer {token}");
    assert_invalid_request(&send(&app, with_auth(&[&two, &two])).await, "ambiguous_token");
    // Another scheme is not ours: anonymous.
    let reply = send(&app, with_auth(&["Basic dXNlcjpwYXNz"])).await;
    assert_eq!(reply.status, 401);
    assert_eq!(reply.code(), "missing_token");
}

#[tokio::test]
async fn oversize_tokens_are_refused_before_decoding() {
    let app = default_app();
    let mut c = claims();
    c["padding"] = json!("x".repeat(9000));
    let big = hs256(&c);
    assert!(big.len() > 8192);
    let reply = bearer(&app, "/me", &big).await;
    assert_invalid(&reply, "token_too_large");
    assert!(reply.json()["detail"].as_str().unwrap().contains("8192"));
    assert_invalid(&cookie(&app, "/me", &format!("session={big}")).await, "token_too_large");

    // The limit is configurable both ways.
    let roomy = router(builder_for(Algorithm::HS256).max_token_bytes(16 * 1024).build().unwrap());
    assert_eq!(bearer(&roomy, "/me", &big).await.status, 200);
    let small = hs256(&claims());
    let app2 = router(builder_for(Algorithm::HS256).max_token_bytes(100).build().unwrap());
    assert_invalid(&bearer(&app2, "/me", &small).await, "token_too_large");
}

#[tokio::test]
async fn by_default_the_layer_rejects_nothing() {
    let app = default_app();
    for req in [
        get_req("/public").body(Body::empty()).unwrap(),
        get_req("/public")
            .header("cookie", "session=expired.or.garbage")
            .body(Body::empty())
            .unwrap(),
        get_req("/public").header("authorization", "Bearer x").body(Body::empty()).unwrap(),
    ] {
        let reply = send(&app, req).await;
        assert_eq!(reply.status, 200);
        assert_eq!(reply.text(), "public ok");
    }
    // Option<AuthContext> sees None for anonymous and invalid, Some for valid.
    assert_eq!(
        send(&app, get_req("/maybe").body(Body::empty()).unwrap()).await.text(),
        "anonymous"
    );
    assert_eq!(cookie(&app, "/maybe", "session=a.b.c").await.text(), "anonymous");
    let token = hs256(&claims());
    assert_eq!(cookie(&app, "/maybe", &format!("session={token}")).await.text(), "user_123");
}

#[tokio::test]
async fn require_auth_on_every_route_rejects_before_any_handler() {
    // What a "required" layer used to do: one guard for the whole router.
    let layer = builder_for(Algorithm::HS256).build().unwrap();
    let app = Router::new()
        .route("/public", get(|| async { "public ok" }))
        .route_layer(axum_session_mfa::RequireAuth::new())
        .layer(layer);
    let reply = send(&app, get_req("/public").body(Body::empty()).unwrap()).await;
    assert_eq!(reply.status, 401);
    assert_eq!(reply.code(), "missing_token");
    assert_eq!(reply.www_authenticate(), "Bearer");
    assert_invalid(&cookie(&app, "/public", "session=a.b.c").await, "malformed_token");
    let token = hs256(&claims());
    assert_eq!(cookie(&app, "/public", &format!("session={token}")).await.status, 200);
}

#[tokio::test]
async fn extractor_without_layer_is_a_loud_server_error() {
    let app = axum::Router::new()
        .route("/me", axum::routing::get(|_: axum_session_mfa::AuthContext| async { "x" }));
    let reply = send(&app, get_req("/me").body(Body::empty()).unwrap()).await;
    assert_eq!(reply.status, 500);
    assert_eq!(reply.code(), "auth_layer_missing");
}

#[tokio::test]
async fn a_tab_after_bearer_still_counts_as_a_bearer_token() {
    // Read as "not our scheme", `Bearer<TAB>token` would let a planted cookie decide alone.
    let app = default_app();
    let victim = hs256(&mfa_claims());
    let req = get_req("/admin")
        .header("cookie", format!("session={}", other_user()))
        .header("authorization", format!("Bearer\t{victim}"))
        .body(Body::empty())
        .unwrap();
    assert_invalid_request(&send(&app, req).await, "ambiguous_token");
    let alone = get_req("/admin")
        .header("authorization", format!("Bearer\t{victim}"))
        .body(Body::empty())
        .unwrap();
    assert_eq!(send(&app, alone).await.text(), "admin ok");
}
