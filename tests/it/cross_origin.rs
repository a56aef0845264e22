//! `CrossOriginProtectionLayer`: every rule with its status and reason, the allow-list, the
//! bypass, malformed headers, the layer's own rejection settings, and the audit event.

use axum::Router;
use axum::body::Body;
use axum::response::IntoResponse;
use axum::routing::{any, post};
use axum_session_mfa::{
    CrossOriginError, CrossOriginProtectionLayer, DEFAULT_PROBLEM_TYPE_BASE, Rejection,
    RejectionKind,
};
use http::{Request, StatusCode};

use crate::audit::capture;
use crate::common::*;

const HOST: &str = "app.example";

fn app(layer: CrossOriginProtectionLayer) -> Router {
    Router::new()
        .route("/transfer", any(|| async { "done" }))
        .route("/hooks/logout", post(|| async { "hooked" }))
        .layer(layer)
}

/// A request to `path` with `Host: app.example` and `headers`.
fn request(method: &str, path: &str, headers: &[(&str, &[u8])]) -> Request<Body> {
    let mut req = Request::builder().method(method).uri(path).header("host", HOST);
    for (name, value) in headers {
        req = req.header(*name, http::HeaderValue::from_bytes(value).unwrap());
    }
    req.body(Body::empty()).unwrap()
}

async fn call(app: &Router, method: &str, headers: &[(&str, &[u8])]) -> Reply {
    send(app, request(method, "/transfer", headers)).await
}

/// Asserts a 403 `cross_origin_request` refusal with `reason`.
fn assert_refused(reply: &Reply, reason: &str) {
    assert_eq!(reply.status, StatusCode::FORBIDDEN, "body: {}", reply.text());
    assert_eq!(reply.headers["content-type"], "application/problem+json");
    let body = reply.json();
    assert_eq!(body["code"], "cross_origin_request", "{body}");
    assert_eq!(body["reason"], reason, "{body}");
    assert_eq!(body["status"], 403, "{body}");
    assert_eq!(body["type"], format!("{DEFAULT_PROBLEM_TYPE_BASE}cross_origin_request"));
    assert!(body["title"].is_string() && body["detail"].is_string(), "{body}");
    assert!(reply.headers.get("www-authenticate").is_none());
}

fn assert_passed(reply: &Reply) {
    assert_eq!((reply.status, reply.text().as_str()), (StatusCode::OK, "done"));
}

#[tokio::test]
async fn cross_site_post_is_refused() {
    let app = app(CrossOriginProtectionLayer::new());
    let reply = call(&app, "POST", &[("sec-fetch-site", b"cross-site")]).await;
    assert_refused(&reply, "sec_fetch_site");
    // Every unsafe method, not just POST; with a matching Origin too (Sec-Fetch-Site wins).
    for method in ["PUT", "PATCH", "DELETE", "PROPFIND"] {
        let headers: [(&str, &[u8]); 2] =
            [("sec-fetch-site", b"cross-site"), ("origin", b"https://app.example")];
        assert_refused(&call(&app, method, &headers).await, "sec_fetch_site");
    }
}

#[tokio::test]
async fn same_site_but_not_same_origin_is_refused() {
    let app = app(CrossOriginProtectionLayer::new());
    let headers: [(&str, &[u8]); 2] =
        [("sec-fetch-site", b"same-site"), ("origin", b"https://evil.app.example")];
    assert_refused(&call(&app, "POST", &headers).await, "sec_fetch_site");
}

#[tokio::test]
async fn same_origin_and_user_initiated_requests_pass() {
    let app = app(CrossOriginProtectionLayer::new());
    assert_passed(&call(&app, "POST", &[("sec-fetch-site", b"same-origin")]).await);
    // `none`: typed in the address bar, a bookmark.
    assert_passed(&call(&app, "POST", &[("sec-fetch-site", b"none")]).await);
    // Sec-Fetch-Site decides even when an Origin disagrees (Go does the same).
    let headers: [(&str, &[u8]); 2] =
        [("sec-fetch-site", b"same-origin"), ("origin", b"https://elsewhere.example")];
    assert_passed(&call(&app, "DELETE", &headers).await);
}

#[tokio::test]
async fn origin_decides_without_sec_fetch_site() {
    let app = app(CrossOriginProtectionLayer::new());
    for origin in ["https://evil.example", "https://app.example:8443", "null", "not an origin"] {
        let reply = call(&app, "POST", &[("origin", origin.as_bytes())]).await;
        assert_refused(&reply, "origin_mismatch");
    }
    for origin in ["https://app.example", "http://APP.example", "https://app.example:443"] {
        assert_passed(&call(&app, "POST", &[("origin", origin.as_bytes())]).await);
    }
    // Without a Host header, HTTP/2's :authority (the URI's authority) is the request's host.
    let req = Request::post("https://app.example/transfer")
        .header("origin", "https://app.example")
        .body(Body::empty())
        .unwrap();
    assert_passed(&send(&app, req).await);
}

#[tokio::test]
async fn requests_without_either_header_pass() {
    // curl, another server: no browser attached a cookie on its own.
    let app = app(CrossOriginProtectionLayer::new());
    for method in ["POST", "PUT", "DELETE"] {
        assert_passed(&call(&app, method, &[]).await);
    }
}

#[tokio::test]
async fn safe_methods_pass_from_anywhere() {
    let app = app(CrossOriginProtectionLayer::new());
    let headers: [(&str, &[u8]); 2] =
        [("sec-fetch-site", b"cross-site"), ("origin", b"https://evil.example")];
    for method in ["GET", "HEAD", "OPTIONS"] {
        let reply = call(&app, method, &headers).await;
        assert_eq!(reply.status, StatusCode::OK, "{method}");
    }
}

#[tokio::test]
async fn trusted_origins_pass_and_others_do_not() {
    let layer = CrossOriginProtectionLayer::new()
        .trusted_origin("https://checkout.example")
        .unwrap()
        .trusted_origin("HTTP://Partner.example:80")
        .unwrap();
    let app = app(layer);
    for (site, origin) in
        [(&b"cross-site"[..], "https://checkout.example"), (b"same-site", "http://partner.example")]
    {
        let headers = [("sec-fetch-site", site), ("origin", origin.as_bytes())];
        assert_passed(&call(&app, "POST", &headers).await);
    }
    assert_passed(&call(&app, "POST", &[("origin", b"https://checkout.example")]).await);
    // Exact origins: another scheme, port or subdomain is not trusted.
    for origin in
        ["http://checkout.example", "https://checkout.example:8443", "https://a.checkout.example"]
    {
        let headers = [("sec-fetch-site", &b"cross-site"[..]), ("origin", origin.as_bytes())];
        assert_refused(&call(&app, "POST", &headers).await, "sec_fetch_site");
        assert_refused(
            &call(&app, "POST", &[("origin", origin.as_bytes())]).await,
            "origin_mismatch",
        );
    }
    // Only `scheme://host[:port]` can be trusted.
    for bad in [
        "checkout.example",
        "https://checkout.example/",
        "https://checkout.example/pay",
        "https://",
        "*",
    ] {
        let err = CrossOriginProtectionLayer::new().trusted_origin(bad).unwrap_err();
        assert_eq!(err.origin(), bad);
    }
}

#[tokio::test]
async fn insecure_bypass_paths_pass_exactly() {
    let app = app(CrossOriginProtectionLayer::new().insecure_bypass_path("/hooks/logout"));
    let headers: [(&str, &[u8]); 1] = [("sec-fetch-site", b"cross-site")];
    let reply = send(&app, request("POST", "/hooks/logout", &headers)).await;
    assert_eq!((reply.status, reply.text().as_str()), (StatusCode::OK, "hooked"));
    // Other paths, and the same path with a trailing slash, are still protected.
    assert_refused(&call(&app, "POST", &headers).await, "sec_fetch_site");
    assert_refused(
        &send(&app, request("POST", "/hooks/logout/", &headers)).await,
        "sec_fetch_site",
    );
}

#[tokio::test]
async fn malformed_headers_are_refused_without_panicking() {
    let app = app(CrossOriginProtectionLayer::new().trusted_origin("https://ok.example").unwrap());
    let cases: [&[(&str, &[u8])]; 9] = [
        // Unknown, empty, differently cased or non-ASCII Sec-Fetch-Site values.
        &[("sec-fetch-site", b"same-origin, cross-site")],
        &[("sec-fetch-site", b"")],
        &[("sec-fetch-site", b"Same-Origin")],
        &[("sec-fetch-site", b"same-origin\xff")],
        // Repeated headers: which one would a browser have meant?
        &[("sec-fetch-site", b"same-origin"), ("sec-fetch-site", b"cross-site")],
        &[("sec-fetch-site", b"same-origin"), ("sec-fetch-site", b"same-origin")],
        &[("origin", b"https://app.example"), ("origin", b"https://evil.example")],
        // A trusted origin sent twice is not trusted.
        &[("origin", b"https://ok.example"), ("origin", b"https://ok.example")],
        // Not text.
        &[("origin", b"https://app.example\xff")],
    ];
    for headers in cases {
        let reply = call(&app, "POST", headers).await;
        assert_refused(&reply, "malformed_header");
    }
    // A repeated or garbled Host never matches an Origin.
    let req = Request::post("/transfer")
        .header("host", HOST)
        .header("host", "evil.example")
        .header("origin", "https://app.example")
        .body(Body::empty())
        .unwrap();
    assert_refused(&send(&app, req).await, "origin_mismatch");
}

#[tokio::test]
async fn check_tells_a_handler_why() {
    let layer = CrossOriginProtectionLayer::new();
    let req = request("POST", "/transfer", &[("sec-fetch-site", b"cross-site")]);
    assert_eq!(layer.check(&req), Err(CrossOriginError::SecFetchSite));
    assert_eq!(layer.check(&request("POST", "/", &[])), Ok(()));
    assert_eq!(CrossOriginError::OriginMismatch.code(), "origin_mismatch");
}

/// Behind an `AuthLayer` (a `route_layer`), the refusal is answered with the layer's settings,
/// and a custom `on_reject` sees a `CrossOrigin` rejection.
#[tokio::test]
async fn inside_the_auth_layer_the_refusal_follows_its_settings() {
    let auth = builder_for(jsonwebtoken::Algorithm::HS256)
        .problem_type_base("https://docs.example/problems#")
        .build()
        .unwrap();
    let app = Router::new()
        .route("/transfer", post(|| async { "done" }))
        .route_layer(CrossOriginProtectionLayer::new())
        .layer(auth);
    let reply = call(&app, "POST", &[("sec-fetch-site", b"cross-site")]).await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    assert_eq!(reply.json()["type"], "https://docs.example/problems#cross_origin_request");

    let auth = builder_for(jsonwebtoken::Algorithm::HS256)
        .on_reject(|rejection: &Rejection| {
            let reason = match rejection.kind() {
                RejectionKind::CrossOrigin(e) => e.code(),
                _ => "other",
            };
            (StatusCode::IM_A_TEAPOT, reason).into_response()
        })
        .build()
        .unwrap();
    let app = Router::new()
        .route("/transfer", post(|| async { "done" }))
        .route_layer(CrossOriginProtectionLayer::new())
        .layer(auth);
    let reply = call(&app, "POST", &[("origin", b"https://evil.example")]).await;
    assert_eq!((reply.status, reply.text().as_str()), (StatusCode::IM_A_TEAPOT, "origin_mismatch"));
}

#[tokio::test]
async fn refusals_are_audited_without_the_origin() {
    let (capture, _guard) = capture();
    let app = app(CrossOriginProtectionLayer::new());
    let headers: [(&str, &[u8]); 2] =
        [("sec-fetch-site", b"cross-site"), ("origin", b"https://evil.example")];
    call(&app, "POST", &headers).await;
    call(&app, "POST", &[("sec-fetch-site", b"same-origin")]).await;
    let events: Vec<_> =
        capture.events().into_iter().filter(|e| e["event"] == "cross_origin").collect();
    assert_eq!(events.len(), 1, "only the refusal: {events:?}");
    let event = &events[0];
    assert_eq!(event["decision"], "deny");
    assert_eq!(event["reason"], "sec_fetch_site");
    assert_eq!(event["method"], "POST");
    assert_eq!(event["route"], "/transfer");
    assert_eq!(event["target"], "axum_session_mfa::audit");
    assert!(!capture.raw().contains("evil.example"));
}
