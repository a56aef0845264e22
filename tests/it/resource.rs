//! APIs whose clients are programs: scopes (`RequireScope`, policies with scopes; RFC 6750
//! `insufficient_scope`) and protected resource metadata (RFC 9728: the document, the
//! `resource_metadata` parameter of every challenge, audience binding).

use crate::common::*;
use axum::Router;
use axum::body::Body;
use axum::routing::get;
use axum_session_mfa::{
    AuthLayer, BuildError, DenyRule, InvalidResource, MfaPolicy, ProtectedResource, RequireMfa,
    RequireScope,
};
use jsonwebtoken::Algorithm;
use serde_json::{Value, json};

const RESOURCE: &str = "https://api.example.com/mcp";
const METADATA_URL: &str = "https://api.example.com/.well-known/oauth-protected-resource/mcp";

fn with_scope(scope: Value) -> Value {
    let mut c = claims();
    c["scope"] = scope;
    c
}

/// `/files` needs `files:read`; `/admin` MFA and `admin`; `/both` two scopes.
fn scoped_app(layer: AuthLayer) -> Router {
    let admin = MfaPolicy::builder().name("admin").scopes(["admin"]).build();
    Router::new()
        .route("/files", get(|| async { "files" }).route_layer(RequireScope::new(["files:read"])))
        .route(
            "/both",
            get(|| async { "both" }).route_layer(RequireScope::new(["files:read", "files:write"])),
        )
        .route("/admin", get(|| async { "admin" }).route_layer(RequireMfa::with_policy(admin)))
        .layer(layer)
}

#[tokio::test]
async fn a_missing_scope_is_a_403_insufficient_scope_naming_the_scope() {
    let app = scoped_app(builder_for(Algorithm::HS256).build().unwrap());
    let reply = bearer(&app, "/files", &hs256(&with_scope(json!("openid profile")))).await;
    assert_eq!(reply.status, 403);
    assert_eq!(
        reply.www_authenticate(),
        "Bearer error=\"insufficient_scope\", error_description=\"the token does not grant the \
         required scopes\", scope=\"openid profile files:read\""
    );
    let body = reply.json();
    assert_eq!(body["code"], "insufficient_scope");
    assert_eq!(body["rule"], "scopes_missing");
    assert_eq!(body["policy"], "scope");
    assert_eq!(body["scope"], "files:read");
    assert_eq!(body["missing_scopes"], json!(["files:read"]));
    assert_eq!(body["type"], "tag:axum-session-mfa,2026:problem:insufficient_scope");
    // No scope claim at all: the same refusal.
    let reply = bearer(&app, "/files", &hs256(&claims())).await;
    assert_eq!((reply.status.as_u16(), reply.code()), (403, "insufficient_scope".into()));
    // One of two: the challenge names both, the body the one missing.
    let reply = bearer(&app, "/both", &hs256(&with_scope(json!("files:read")))).await;
    assert_eq!(reply.status, 403);
    assert!(reply.www_authenticate().ends_with("scope=\"files:read files:write\""));
    assert_eq!(reply.json()["missing_scopes"], json!(["files:write"]));
    // No scope at all: the challenge names just the needed ones.
    let reply = bearer(&app, "/files", &hs256(&claims())).await;
    assert!(reply.www_authenticate().ends_with("scope=\"files:read\""));
    // Granted: passes. Without a token: 401, not 403.
    let token = hs256(&with_scope(json!("openid files:read files:write")));
    assert_eq!(bearer(&app, "/files", &token).await.text(), "files");
    assert_eq!(bearer(&app, "/both", &token).await.text(), "both");
    let reply = send(&app, get_req("/files").body(Body::empty()).unwrap()).await;
    assert_eq!((reply.status.as_u16(), reply.code()), (401, "missing_token".into()));
}

#[tokio::test]
async fn scopes_are_read_from_scope_strings_and_scp_arrays_exactly() {
    let app = scoped_app(builder_for(Algorithm::HS256).build().unwrap());
    let status = |c: Value| {
        let app = app.clone();
        async move { bearer(&app, "/files", &hs256(&c)).await.status.as_u16() }
    };
    // Okta and Entra ID: `scp` as an array, or (Entra v2) as a space-separated string.
    let mut okta = claims();
    okta["scp"] = json!(["openid", "files:read"]);
    assert_eq!(status(okta).await, 200);
    let mut entra = claims();
    entra["scp"] = json!("files:read User.Read");
    assert_eq!(status(entra).await, 200);
    // Exact match: case, prefixes and other separators are not the scope.
    for scope in [
        json!("FILES:READ"),
        json!("files:reader"),
        json!("files:read,x"),
        json!(["files:read"]),
        json!(7),
    ] {
        assert_eq!(status(with_scope(scope.clone())).await, 403, "{scope}");
    }
    let mut wrong_type = claims();
    wrong_type["scp"] = json!([1, 2]);
    assert_eq!(status(wrong_type).await, 403);
}

#[tokio::test]
async fn scopes_come_before_mfa_and_step_up_cannot_grant_them() {
    let app = scoped_app(
        builder_for(Algorithm::HS256).step_up_redirect("/auth/step-up").build().unwrap(),
    );
    // MFA without the scope: insufficient_scope, and no step-up redirect even for a browser.
    let mut c = mfa_claims();
    c["scope"] = json!("openid");
    let req = get_req("/admin")
        .header("authorization", format!("Bearer {}", hs256(&c)))
        .header("accept", "text/html")
        .body(Body::empty())
        .unwrap();
    let reply = send(&app, req).await;
    assert_eq!((reply.status.as_u16(), reply.code()), (403, "insufficient_scope".into()));
    assert!(reply.headers.get("location").is_none());
    // The scope without MFA: the step-up challenge.
    let reply = bearer(&app, "/admin", &hs256(&with_scope(json!("admin")))).await;
    assert_eq!(
        (reply.status.as_u16(), reply.code()),
        (403, "insufficient_user_authentication".into())
    );
    // Both: passes.
    c["scope"] = json!("admin");
    assert_eq!(bearer(&app, "/admin", &hs256(&c)).await.text(), "admin");
    // The rule is reported as such to code that inspects the policy.
    let policy = MfaPolicy::scopes_only(["a"]);
    assert!(!DenyRule::ScopesMissing.step_up_helps());
    assert_eq!(policy.methods(), [] as [String; 0]);
}

fn resource_layer() -> axum_session_mfa::AuthLayerBuilder {
    builder_for(Algorithm::HS256).protected_resource(
        ProtectedResource::new(RESOURCE)
            .unwrap()
            .scopes_supported(["files:read", "admin"])
            .resource_name("Example MCP server")
            .resource_documentation("https://docs.example.com/mcp"),
    )
}

fn resource_app(layer: AuthLayer) -> Router {
    let metadata = layer.resource_metadata_routes().unwrap();
    scoped_app(layer).merge(metadata)
}

#[tokio::test]
async fn the_metadata_document_is_served_at_the_path_suffixed_well_known_url() {
    let app = resource_app(resource_layer().build().unwrap());
    {
        let path = "/.well-known/oauth-protected-resource/mcp";
        let reply = send(&app, get_req(path).body(Body::empty()).unwrap()).await;
        assert_eq!(reply.status, 200, "{path}");
        assert_eq!(reply.headers["content-type"], "application/json");
        assert_eq!(reply.headers["access-control-allow-origin"], "*");
        assert_eq!(
            reply.json(),
            json!({
                "resource": RESOURCE,
                "authorization_servers": [ISSUER],
                "bearer_methods_supported": ["header"],
                "scopes_supported": ["files:read", "admin"],
                "resource_name": "Example MCP server",
                "resource_documentation": "https://docs.example.com/mcp",
            }),
            "{path}"
        );
    }
    // Not at the root: that is another resource's (section 3.1), so two resources can share
    // a host without their documents overlapping.
    let root = get_req("/.well-known/oauth-protected-resource").body(Body::empty()).unwrap();
    assert_eq!(send(&app, root).await.status, 404);
    // A layer that reads only a cookie offers no bearer method.
    let layer = resource_layer()
        .sources([axum_session_mfa::TokenSource::cookie("session")])
        .build()
        .unwrap();
    let app = resource_app(layer);
    let reply = send(
        &app,
        get_req("/.well-known/oauth-protected-resource/mcp").body(Body::empty()).unwrap(),
    )
    .await;
    assert_eq!(reply.json()["bearer_methods_supported"], json!([]));
    // An issuer named twice (by the key source and `issuer`, say) is listed once.
    let app = resource_app(resource_layer().issuer(ISSUER).build().unwrap());
    let path = "/.well-known/oauth-protected-resource/mcp";
    let reply = send(&app, get_req(path).body(Body::empty()).unwrap()).await;
    assert_eq!(reply.json()["authorization_servers"], json!([ISSUER]));
    // Named authorization servers replace the layer's issuers; a resource without a path is
    // described at the root.
    let resource = ProtectedResource::new("https://api.example.com")
        .unwrap()
        .authorization_servers(["https://login.example.com"]);
    let layer = builder_for(Algorithm::HS256)
        .issuer("https://internal.example.com")
        .protected_resource(resource)
        .build()
        .unwrap();
    let app = resource_app(layer);
    let root = get_req("/.well-known/oauth-protected-resource").body(Body::empty()).unwrap();
    let reply = send(&app, root).await;
    assert_eq!(reply.json()["authorization_servers"], json!(["https://login.example.com"]));
    assert_eq!(reply.json()["resource"], "https://api.example.com");
}

#[test]
#[should_panic(expected = "\"files read\" is not an OAuth scope")]
fn a_scope_with_a_space_is_a_programming_error() {
    let _ = RequireScope::new(["files read"]);
}

#[test]
#[should_panic(expected = "needs at least one scope")]
fn a_scope_guard_without_scopes_is_a_programming_error() {
    let _ = RequireScope::new(Vec::<String>::new());
}

#[tokio::test]
async fn every_401_and_403_challenge_names_the_metadata() {
    let app = resource_app(resource_layer().build().unwrap());
    let mut c = with_scope(json!("files:read"));
    c["aud"] = json!(RESOURCE);
    // No token.
    let reply = send(&app, get_req("/files").body(Body::empty()).unwrap()).await;
    assert_eq!(reply.status, 401);
    assert_eq!(reply.www_authenticate(), format!("Bearer resource_metadata=\"{METADATA_URL}\""));
    // A bad token.
    let reply = bearer(&app, "/files", "a.b.c").await;
    assert_eq!((reply.status.as_u16(), reply.code()), (401, "malformed_token".into()));
    assert!(reply.www_authenticate().starts_with("Bearer error=\"invalid_token\""));
    assert!(reply.www_authenticate().ends_with(&format!(", resource_metadata=\"{METADATA_URL}\"")));
    // A missing scope.
    let mut no_scope = c.clone();
    no_scope["scope"] = json!("openid");
    let reply = bearer(&app, "/files", &hs256(&no_scope)).await;
    assert_eq!((reply.status.as_u16(), reply.code()), (403, "insufficient_scope".into()));
    assert!(reply.www_authenticate().ends_with(&format!(", resource_metadata=\"{METADATA_URL}\"")));
    // A step-up.
    c["scope"] = json!("admin");
    let reply = bearer(&app, "/admin", &hs256(&c)).await;
    assert_eq!(
        (reply.status.as_u16(), reply.code()),
        (403, "insufficient_user_authentication".into())
    );
    assert!(reply.www_authenticate().ends_with(&format!(", resource_metadata=\"{METADATA_URL}\"")));
    // Passes.
    c["amr"] = json!(["pwd", "mfa"]);
    assert_eq!(bearer(&app, "/admin", &hs256(&c)).await.status, 200);
}

#[tokio::test]
async fn tokens_must_be_bound_to_the_resource_unless_an_audience_is_set() {
    let app = resource_app(resource_layer().build().unwrap());
    let mut c = with_scope(json!("files:read"));
    // No `aud`: refused; another audience: refused; the resource: passes (also in an array).
    let reply = bearer(&app, "/files", &hs256(&c)).await;
    assert_eq!((reply.status.as_u16(), reply.code()), (401, "missing_claim".into()));
    c["aud"] = json!("https://other.example.com/mcp");
    assert_invalid(&bearer(&app, "/files", &hs256(&c)).await, "wrong_audience");
    c["aud"] = json!(["https://other.example.com", RESOURCE]);
    assert_eq!(bearer(&app, "/files", &hs256(&c)).await.status, 200);
    // An explicit audience replaces the resource identifier.
    let app = resource_app(resource_layer().audience("api://files").build().unwrap());
    c["aud"] = json!(RESOURCE);
    assert_invalid(&bearer(&app, "/files", &hs256(&c)).await, "wrong_audience");
    c["aud"] = json!("api://files");
    assert_eq!(bearer(&app, "/files", &hs256(&c)).await.status, 200);
}

#[test]
fn a_resource_needs_an_issuer_and_a_valid_identifier() {
    let key = key_pair(Algorithm::HS256).1;
    let resource = ProtectedResource::new(RESOURCE).unwrap();
    let built = AuthLayer::builder(key).protected_resource(resource).build();
    assert_eq!(built.err(), Some(BuildError::ResourceWithoutIssuer));
    assert_eq!(
        ProtectedResource::new("http://api.example.com/mcp").err(),
        Some(InvalidResource::NotHttps)
    );
    // Without a resource, no routes and no parameter.
    assert!(
        builder_for(Algorithm::HS256).build().unwrap().resource_metadata_routes::<()>().is_none()
    );
}
