//! AuthContext accessors, serialization and extractors.

use crate::common::*;
use jsonwebtoken::Algorithm;
use serde_json::json;

#[tokio::test]
async fn accessors_expose_the_verified_claims() {
    let layer = builder_for(Algorithm::ES256).build().unwrap();
    let mut c = mfa_claims();
    c["roles"] = json!(["admin", "billing"]);
    c["scope"] = json!("openid reports");
    c["feature_flags"] = json!(["beta"]);
    let ctx = layer.verify_token(&sign(Algorithm::ES256, &c)).await.unwrap();
    assert_eq!(ctx.sub(), "user_123");
    assert_eq!(ctx.sid(), Some("session_abc"));
    assert_eq!(ctx.org_id(), Some("org_42"));
    assert_eq!(ctx.role(), Some("admin"));
    assert_eq!(ctx.roles().collect::<Vec<_>>(), ["admin", "billing"]);
    assert!(ctx.has_role("billing") && !ctx.has_role("root"));
    assert_eq!(ctx.permissions().collect::<Vec<_>>(), ["reports:read", "users:write"]);
    assert!(ctx.has_permission("users:write"));
    assert_eq!(ctx.scopes().collect::<Vec<_>>(), ["openid", "reports"]);
    assert_eq!(ctx.amr().unwrap().iter().collect::<Vec<_>>(), ["pwd", "mfa"]);
    assert!(ctx.has_amr("mfa") && !ctx.has_amr("MFA"));
    assert_eq!(ctx.acr(), Some("urn:example:loa:1"));
    assert_eq!(ctx.auth_time(), c["auth_time"].as_u64());
    assert_eq!(ctx.iat(), c["iat"].as_u64());
    assert_eq!(ctx.exp(), c["exp"].as_u64().unwrap());
    assert_eq!(ctx.iss(), Some(ISSUER));
    assert!(ctx.auth_age().unwrap() >= std::time::Duration::from_secs(10));
    assert_eq!(ctx.claim::<Vec<String>>("feature_flags").unwrap(), Some(vec!["beta".to_owned()]));
    assert_eq!(ctx.claim::<String>("absent").unwrap(), None);
    assert!(ctx.claim::<u64>("sub").is_err());
    assert_eq!(ctx.claims()["org_id"], "org_42");
    // Cheap clones share the same claims.
    let clone = ctx.clone();
    assert!(std::ptr::eq(clone.claims(), ctx.claims()));
}

#[tokio::test]
async fn amr_is_none_when_absent_or_malformed() {
    let layer = builder_for(Algorithm::HS256).build().unwrap();
    let mut c = claims();
    c.as_object_mut().unwrap().remove("amr");
    let ctx = layer.verify_token(&hs256(&c)).await.unwrap();
    assert!(ctx.amr().is_none() && !ctx.amr_is_malformed() && !ctx.has_amr("mfa"));
    c["amr"] = json!("mfa");
    let ctx = layer.verify_token(&hs256(&c)).await.unwrap();
    assert!(ctx.amr().is_none() && ctx.amr_is_malformed() && !ctx.has_amr("mfa"));
    // Lenient informational claims read as absent when mistyped.
    c["sid"] = json!(7);
    c["roles"] = json!("admin");
    c["role"] = json!(["x"]);
    let ctx = layer.verify_token(&hs256(&c)).await.unwrap();
    assert_eq!(ctx.sid(), None);
    assert_eq!(ctx.roles().count(), 0);
}

#[tokio::test]
async fn me_serializes_the_context() {
    let app = default_app();
    let reply = bearer(&app, "/me", &hs256(&mfa_claims())).await;
    let body = reply.json();
    for field in
        ["sub", "sid", "org_id", "amr", "acr", "auth_time", "exp", "roles", "permissions", "claims"]
    {
        assert!(body.get(field).is_some(), "missing {field}");
    }
    assert_eq!(body["amr"], json!(["pwd", "mfa"]));
    assert_eq!(body["roles"], json!(["admin"]));
    let mut c = claims();
    c.as_object_mut().unwrap().remove("amr");
    let body = bearer(&app, "/me", &hs256(&c)).await.json();
    assert!(body["amr"].is_null());
}

#[tokio::test]
async fn me_without_a_session_is_401_with_the_reason() {
    let app = default_app();
    let reply = send(&app, get_req("/me").body(axum::body::Body::empty()).unwrap()).await;
    assert_eq!(reply.status, 401);
    assert_eq!(reply.code(), "missing_token");
    let mut c = claims();
    c["exp"] = json!(now() - 3600);
    assert_invalid(&bearer(&app, "/me", &hs256(&c)).await, "token_expired");
}

#[tokio::test]
async fn debug_output_never_contains_token_or_key_material() {
    use base64::Engine;
    let layer = builder_for(Algorithm::HS256).build().unwrap();
    let token = hs256(&mfa_claims());
    let ctx = layer.verify_token(&token).await.unwrap();
    let signature = token.rsplit('.').next().unwrap();
    let secret = std::str::from_utf8(HMAC_SECRET).unwrap();
    let secret_b64 = base64::engine::general_purpose::STANDARD.encode(HMAC_SECRET);
    let secret_bytes = format!("{:?}", HMAC_SECRET);
    let failure = layer.verify_token(&format!("{token}x")).await.unwrap_err();
    let outcome = outcome_of(layer.clone(), &token).await;
    let rejection = rejection_of(layer.clone(), &format!("{token}x")).await;
    for text in [
        format!("{ctx:?}"),
        format!("{layer:?}"),
        format!("{:?}", key_pair(Algorithm::HS256).1),
        format!("{failure:?} {failure}"),
        format!("{outcome:?}"),
        format!("{rejection:?}"),
        serde_json::to_string(&ctx).unwrap(),
    ] {
        for needle in [signature, token.as_str(), secret, &secret_b64, &secret_bytes[1..40]] {
            assert!(!text.contains(needle), "{needle} found in {text}");
        }
    }
    assert!(format!("{ctx:?}").contains("user_123"));
}
