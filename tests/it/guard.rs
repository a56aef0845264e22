//! RequireMfa / RequireAuth through a real Router: status codes, challenges, problem bodies,
//! policy rules.

use std::time::Duration;

use crate::common::*;
use axum::body::Body;
use axum::routing::get;
use axum::{Json, Router};
use axum_session_mfa::{AuthLayer, Clock, MfaPolicy, RequireMfa};
use jsonwebtoken::Algorithm;
use serde_json::{Value, json};

#[tokio::test]
async fn require_mfa_answers_401_403_or_passes() {
    let app = default_app();
    // No session.
    let reply = send(&app, get_req("/admin").body(Body::empty()).unwrap()).await;
    assert_eq!(reply.status, 401);
    assert_eq!(reply.code(), "missing_token");
    assert_eq!(reply.www_authenticate(), "Bearer");
    assert_eq!(reply.code(), "missing_token");
    assert_eq!(reply.headers["content-type"], "application/problem+json");
    // Invalid session.
    assert_invalid(&cookie(&app, "/admin", "session=x.y.z").await, "malformed_token");
    // Password only: 403 with the RFC 9470 challenge.
    let reply = bearer(&app, "/admin", &hs256(&claims())).await;
    assert_eq!(reply.status, 403);
    assert!(
        reply.www_authenticate().starts_with("Bearer error=\"insufficient_user_authentication\"")
    );
    let body = reply.json();
    assert_eq!(body["code"], "insufficient_user_authentication");
    assert_eq!(body["rule"], "methods_missing");
    assert_eq!(body["policy"], "mfa");
    assert_eq!(body["methods"], json!(["mfa"]));
    assert_eq!(body["status"], 403);
    assert_eq!(
        body["type"], "tag:axum-session-mfa,2026:problem:insufficient_user_authentication",
        "stable by default"
    );
    assert!(body["title"].is_string() && body["detail"].is_string());
    // MFA: passes.
    let reply = bearer(&app, "/admin", &hs256(&mfa_claims())).await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.text(), "admin ok");
}

#[tokio::test]
async fn require_auth_only_needs_a_valid_session() {
    let app = default_app();
    let reply = send(&app, get_req("/members").body(Body::empty()).unwrap()).await;
    assert_eq!((reply.status.as_u16(), reply.code()), (401, "missing_token".into()));
    assert_invalid(&cookie(&app, "/members", "session=a.b.c").await, "malformed_token");
    assert_eq!(bearer(&app, "/members", &hs256(&claims())).await.status, 200);
}

async fn admin_status(amr: Value) -> (u16, String) {
    let mut c = claims();
    if amr.is_null() {
        c.as_object_mut().unwrap().remove("amr");
    } else {
        c["amr"] = amr;
    }
    let reply = bearer(&default_app(), "/admin", &hs256(&c)).await;
    (reply.status.as_u16(), reply.json()["rule"].as_str().unwrap_or_default().to_owned())
}

#[tokio::test]
async fn amr_is_exact_and_absence_or_malformation_never_grants() {
    assert_eq!(admin_status(json!(["mfa"])).await.0, 200);
    assert_eq!(admin_status(json!(["pwd", "otp", "mfa"])).await.0, 200);
    assert_eq!(admin_status(json!(["MFA"])).await, (403, "methods_missing".into()));
    assert_eq!(admin_status(json!(["Mfa", "pwd"])).await, (403, "methods_missing".into()));
    assert_eq!(admin_status(json!(["mfa "])).await, (403, "methods_missing".into()));
    assert_eq!(admin_status(json!(["mca"])).await, (403, "methods_missing".into()));
    assert_eq!(admin_status(json!([])).await, (403, "methods_missing".into()));
    assert_eq!(admin_status(Value::Null).await, (403, "amr_absent".into()));
    for malformed in [
        json!("mfa"),
        json!({"mfa": true}),
        json!(["mfa", 1]),
        json!([["mfa"]]),
        json!(true),
        json!(null),
    ] {
        let mut c = claims();
        c["amr"] = malformed.clone();
        let reply = bearer(&default_app(), "/admin", &hs256(&c)).await;
        assert_eq!(reply.status, 403, "{malformed}");
        assert_eq!(reply.json()["rule"], "amr_malformed", "{malformed}");
    }
}

fn guarded(policy: MfaPolicy, at: Option<u64>) -> Router {
    let mut builder = builder_for(Algorithm::HS256);
    if let Some(at) = at {
        builder = builder.clock(Clock::from_fn(move || at));
    }
    Router::new()
        .route("/x", get(|| async { "ok" }))
        .route_layer(RequireMfa::with_policy(policy))
        .layer(builder.build().unwrap())
}

fn token(f: impl FnOnce(&mut Value)) -> String {
    let mut c = mfa_claims();
    f(&mut c);
    hs256(&c)
}

#[tokio::test]
async fn accepted_methods_any_of_and_all_of() {
    let passkeys = guarded(MfaPolicy::builder().any_of(["mfa", "hwk", "swk"]).build(), None);
    assert_eq!(bearer(&passkeys, "/x", &token(|c| c["amr"] = json!(["hwk"]))).await.status, 200);
    assert_eq!(bearer(&passkeys, "/x", &token(|c| c["amr"] = json!(["pwd"]))).await.status, 403);

    let both = guarded(MfaPolicy::builder().all_of(["pwd", "otp"]).build(), None);
    assert_eq!(bearer(&both, "/x", &token(|c| c["amr"] = json!(["otp", "pwd"]))).await.status, 200);
    let reply = bearer(&both, "/x", &token(|c| c["amr"] = json!(["pwd", "mfa"]))).await;
    assert_eq!(reply.status, 403);
    assert_eq!(reply.json()["methods_match"], "all");
    assert_eq!(reply.json()["methods"], json!(["pwd", "otp"]));
}

#[tokio::test]
async fn acr_values_are_an_alternative_proof() {
    let app = guarded(MfaPolicy::builder().acr_values(["phr", "urn:example:loa:3"]).build(), None);
    let reply = bearer(
        &app,
        "/x",
        &token(|c| {
            c["amr"] = json!(["pwd"]);
            c["acr"] = json!("phr");
        }),
    )
    .await;
    assert_eq!(reply.status, 200);
    let reply = bearer(&app, "/x", &token(|c| c["amr"] = json!(["pwd"]))).await;
    assert_eq!(reply.status, 403);
    let challenge = reply.www_authenticate();
    assert!(challenge.contains("acr_values=\"phr urn:example:loa:3\""), "{challenge}");
    assert_eq!(reply.json()["acr_values"], json!(["phr", "urn:example:loa:3"]));
    // amr still suffices on its own.
    assert_eq!(bearer(&app, "/x", &token(|_| {})).await.status, 200);
}

#[tokio::test]
async fn max_age_boundaries() {
    let at = 1_800_000_000u64;
    let app = guarded(MfaPolicy::builder().max_age(Duration::from_secs(300)).build(), Some(at));
    let with_auth_time = |t: Option<u64>| {
        token(move |c| {
            c["exp"] = json!(at + 3600);
            c["iat"] = json!(at - 10);
            match t {
                Some(t) => c["auth_time"] = json!(t),
                None => drop(c.as_object_mut().unwrap().remove("auth_time")),
            }
        })
    };
    assert_eq!(
        bearer(&app, "/x", &with_auth_time(Some(at - 300))).await.status,
        200,
        "exactly at the limit"
    );
    let reply = bearer(&app, "/x", &with_auth_time(Some(at - 301))).await;
    assert_eq!(reply.status, 403, "one second over");
    assert_eq!(reply.json()["rule"], "auth_too_old");
    assert_eq!(reply.json()["max_age"], 300);
    assert!(reply.www_authenticate().contains("max_age=300"));
    let reply = bearer(&app, "/x", &with_auth_time(None)).await;
    assert_eq!(reply.json()["rule"], "auth_time_missing");
    assert_eq!(bearer(&app, "/x", &with_auth_time(Some(at + 60))).await.status, 200, "small skew");
    let reply = bearer(&app, "/x", &with_auth_time(Some(at + 61))).await;
    assert_eq!(reply.json()["rule"], "auth_time_in_future");
}

#[tokio::test]
async fn custom_rules_and_401_mode() {
    let policy = MfaPolicy::builder()
        .name("admins")
        .require("admin_role", |ctx| ctx.has_role("admin"))
        .build();
    let app = guarded(policy.clone(), None);
    assert_eq!(bearer(&app, "/x", &token(|_| {})).await.status, 200);
    let reply = bearer(&app, "/x", &token(|c| c["role"] = json!("member"))).await;
    assert_eq!(reply.status, 403);
    assert_eq!(reply.json()["rule"], "custom_rule");
    assert_eq!(reply.json()["policy"], "admins");

    let strict = Router::new()
        .route("/x", get(|| async { "ok" }))
        .route_layer(RequireMfa::with_policy(policy))
        .layer(
            AuthLayer::builder(key_pair(Algorithm::HS256).1)
                .unauthorized_on_step_up()
                .build()
                .unwrap(),
        );
    let reply = bearer(&strict, "/x", &token(|c| c["amr"] = json!(["pwd"]))).await;
    assert_eq!(reply.status, 401);
    assert!(reply.www_authenticate().contains("insufficient_user_authentication"));
}

#[tokio::test]
async fn challenge_header_parses_as_rfc_9470() {
    let app = guarded(
        MfaPolicy::builder().acr_values(["phr"]).max_age(Duration::from_secs(60)).build(),
        None,
    );
    let reply = bearer(&app, "/x", &token(|c| c["amr"] = json!(["pwd"]))).await;
    let challenge = reply.www_authenticate();
    let (scheme, params) = challenge.split_once(' ').unwrap();
    assert_eq!(scheme, "Bearer");
    let params = parse_auth_params(params);
    assert_eq!(params["error"], "insufficient_user_authentication");
    assert_eq!(params["acr_values"], "phr");
    assert_eq!(params["max_age"], "60");
    assert!(!params["error_description"].is_empty());
}

/// A small RFC 9110 auth-param parser (token=token / token=quoted-string, comma separated).
fn parse_auth_params(s: &str) -> std::collections::HashMap<String, String> {
    let mut out = std::collections::HashMap::new();
    let mut rest = s.trim();
    while !rest.is_empty() {
        let (name, after) = rest.split_once('=').expect("name=value");
        let name = name.trim().to_owned();
        let (value, after) = if let Some(q) = after.strip_prefix('"') {
            let mut value = String::new();
            let mut chars = q.char_indices();
            let mut end = None;
            while let Some((i, c)) = chars.next() {
                match c {
                    '\\' => value.push(chars.next().unwrap().1),
                    '"' => {
                        end = Some(i + 1);
                        break;
                    }
                    c => value.push(c),
                }
            }
            (value, &q[end.expect("closing quote")..])
        } else {
            let end = after.find(',').unwrap_or(after.len());
            (after[..end].trim().to_owned(), &after[end..])
        };
        assert!(out.insert(name, value).is_none(), "duplicate param");
        rest = after.trim_start_matches([',', ' ']);
    }
    out
}

#[tokio::test]
async fn rules_combine() {
    let at = 1_800_000_000u64;
    let policy = MfaPolicy::builder()
        .any_of(["hwk"])
        .acr_values(["phr"])
        .max_age(Duration::from_secs(300))
        .require("org", |ctx| ctx.org_id() == Some("org_42"))
        .build();
    let app = guarded(policy, Some(at));
    let send_with = |amr: Value, acr: &str, age: u64, org: &str| {
        let token = token(|c| {
            c["amr"] = amr;
            c["acr"] = json!(acr);
            c["auth_time"] = json!(at - age);
            c["exp"] = json!(at + 3600);
            c["org_id"] = json!(org);
        });
        let app = app.clone();
        async move {
            let reply = bearer(&app, "/x", &token).await;
            (reply.status.as_u16(), reply.json()["rule"].as_str().unwrap_or("").to_owned())
        }
    };
    // Strength by amr, or by acr; each still needs freshness and the custom rule.
    assert_eq!(send_with(json!(["hwk"]), "x", 10, "org_42").await, (200, "".into()));
    assert_eq!(send_with(json!(["pwd"]), "phr", 10, "org_42").await, (200, "".into()));
    assert_eq!(
        send_with(json!(["pwd", "mfa"]), "x", 10, "org_42").await,
        (403, "methods_missing".into())
    );
    assert_eq!(send_with(json!(["hwk"]), "x", 301, "org_42").await, (403, "auth_too_old".into()));
    assert_eq!(send_with(json!(["pwd"]), "phr", 301, "org_42").await, (403, "auth_too_old".into()));
    assert_eq!(send_with(json!(["hwk"]), "phr", 10, "org_1").await, (403, "custom_rule".into()));
    // Strength is checked first: a weak, stale session reports the missing method.
    assert_eq!(send_with(json!(["pwd"]), "x", 999, "org_1").await, (403, "methods_missing".into()));
}

#[tokio::test]
async fn custom_rules_accumulate() {
    let policy = MfaPolicy::builder()
        .require("admin_role", |ctx| ctx.has_role("admin"))
        .require("org", |ctx| ctx.org_id() == Some("org_42"))
        .build();
    let app = guarded(policy, None);
    assert_eq!(bearer(&app, "/x", &token(|_| {})).await.status, 200);
    let reply = bearer(&app, "/x", &token(|c| c["org_id"] = json!("org_1"))).await;
    assert_eq!((reply.status.as_u16(), reply.code()), (403, "policy_denied".into()));
    assert!(reply.json()["detail"].as_str().unwrap().contains("org"));
    let reply = bearer(&app, "/x", &token(|c| c["role"] = json!("member"))).await;
    assert!(reply.json()["detail"].as_str().unwrap().contains("admin_role"));
}

#[tokio::test]
async fn empty_method_lists_are_never_satisfied() {
    for policy in [
        MfaPolicy::builder().all_of(Vec::<String>::new()).build(),
        MfaPolicy::builder().any_of(Vec::<String>::new()).build(),
    ] {
        let app = guarded(policy, None);
        let reply = bearer(&app, "/x", &token(|_| {})).await;
        assert_eq!(
            (reply.status.as_u16(), reply.json()["rule"].clone()),
            (403, json!("methods_missing"))
        );
    }
}

#[tokio::test]
async fn denials_name_the_missing_methods() {
    let app = guarded(MfaPolicy::builder().all_of(["pwd", "otp", "hwk"]).build(), None);
    let reply = bearer(&app, "/x", &token(|c| c["amr"] = json!(["pwd"]))).await;
    assert_eq!(reply.json()["missing_methods"], json!(["otp", "hwk"]));
    let reply =
        bearer(&app, "/x", &token(|c| drop(c.as_object_mut().unwrap().remove("amr")))).await;
    assert_eq!(reply.json()["missing_methods"], json!(["pwd", "otp", "hwk"]));
    assert_eq!(reply.json()["rule"], "amr_absent");
}

#[tokio::test]
async fn challenge_descriptions_carry_no_quotes_or_backslashes() {
    let app = guarded(MfaPolicy::builder().acr_values(["a\"b", "c"]).build(), None);
    let reply = bearer(&app, "/x", &token(|c| c["amr"] = json!(["pwd"]))).await;
    let challenge = reply.www_authenticate();
    assert!(challenge.contains("acr_values=\"ab c\""), "{challenge}");
}

#[tokio::test]
async fn namespaced_claims_can_carry_amr_acr_and_auth_time() {
    // Auth0 reserves amr/acr/auth_time in access tokens; an Action adds namespaced copies.
    let at = 1_800_000_000u64;
    let names = axum_session_mfa::ClaimNames::default()
        .amr("https://example.com/amr")
        .acr("https://example.com/acr")
        .auth_time("https://example.com/auth_time");
    let layer = builder_for(Algorithm::HS256)
        .claim_names(names)
        .clock(Clock::from_fn(move || at))
        .build()
        .unwrap();
    let policy = MfaPolicy::builder().max_age(Duration::from_secs(300)).build();
    let app = Router::new()
        .route("/x", get(|ctx: axum_session_mfa::AuthContext| async move { Json(ctx) }))
        .route_layer(RequireMfa::with_policy(policy))
        .layer(layer);
    let namespaced = |amr: Value, auth_time: u64| {
        token(move |c| {
            let obj = c.as_object_mut().unwrap();
            obj.remove("amr");
            obj.remove("auth_time");
            obj.insert("https://example.com/amr".into(), amr);
            obj.insert("https://example.com/acr".into(), json!("phr"));
            obj.insert("https://example.com/auth_time".into(), json!(auth_time));
            c["exp"] = json!(at + 3600);
        })
    };
    let reply = bearer(&app, "/x", &namespaced(json!(["pwd", "mfa"]), at - 10)).await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(reply.json()["amr"], json!(["pwd", "mfa"]));
    assert_eq!(reply.json()["acr"], "phr");
    assert_eq!(reply.json()["auth_time"], at - 10);
    let reply = bearer(&app, "/x", &namespaced(json!(["pwd"]), at - 10)).await;
    assert_eq!(reply.json()["rule"], "methods_missing");
    let reply = bearer(&app, "/x", &namespaced(json!(["mfa"]), at - 301)).await;
    assert_eq!(reply.json()["rule"], "auth_too_old");
    // The standard names are then ignored: a plain `amr` proves nothing.
    let plain = token(|c| c["exp"] = json!(at + 3600));
    let reply = bearer(&app, "/x", &plain).await;
    assert_eq!((reply.status.as_u16(), reply.json()["rule"].clone()), (403, json!("amr_absent")));
    // A mistyped namespaced auth_time refuses the token, like a mistyped standard one.
    let bad = token(|c| {
        c["exp"] = json!(at + 3600);
        c["https://example.com/auth_time"] = json!("yesterday");
    });
    assert_invalid(&bearer(&app, "/x", &bad).await, "invalid_claim");
}

#[tokio::test]
async fn problem_type_uris_are_configurable_and_stable_by_default() {
    // A tag URI (RFC 4151): an identifier RFC 9457 allows when a type is not to be
    // dereferenced; docs/rejections.md documents each code.
    assert_eq!(axum_session_mfa::DEFAULT_PROBLEM_TYPE_BASE, "tag:axum-session-mfa,2026:problem:");
    let app = router(
        builder_for(Algorithm::HS256)
            .problem_type_base("https://docs.example.com/errors/auth#")
            .build()
            .unwrap(),
    );
    let reply = bearer(&app, "/admin", &hs256(&claims())).await;
    assert_eq!(
        reply.json()["type"],
        "https://docs.example.com/errors/auth#insufficient_user_authentication"
    );
    let reply = bearer(&app, "/me", "a.b.c").await;
    assert_eq!(reply.json()["type"], "https://docs.example.com/errors/auth#malformed_token");
    assert_eq!(reply.json()["reason"], "header_encoding");
}

/// `RequireRecentAuth`: re-authentication ("sudo mode") without any `amr`, as WorkOS sends.
#[tokio::test]
async fn require_recent_auth_needs_a_recent_sign_in_and_no_amr() {
    use axum_session_mfa::RequireRecentAuth;
    let guard = RequireRecentAuth::within(Duration::from_secs(300));
    assert_eq!(guard.max_age(), Duration::from_secs(300));
    let app = Router::new()
        .route("/billing", get(|| async { "billing ok" }))
        .route_layer(guard)
        .layer(builder_for(Algorithm::HS256).login_redirect("/auth/login").build().unwrap());
    let token = |auth_time: Option<u64>| {
        let mut c = claims();
        let c = c.as_object_mut().unwrap();
        c.remove("amr");
        c.remove("acr");
        match auth_time {
            Some(t) => c.insert("auth_time".into(), t.into()),
            None => c.remove("auth_time"),
        };
        hs256(&Value::Object(c.clone()))
    };
    // A sign-in a minute ago, no amr at all: passes.
    let fresh = bearer(&app, "/billing", &token(Some(now() - 60))).await;
    assert_eq!((fresh.status.as_u16(), fresh.text()), (200, "billing ok".to_owned()));
    // Ten minutes ago: 403, the RFC 9470 challenge with max_age and no acr_values.
    let old = bearer(&app, "/billing", &token(Some(now() - 600))).await;
    assert_eq!(old.status, 403);
    let challenge = old.www_authenticate();
    assert!(challenge.starts_with("Bearer error=\"insufficient_user_authentication\""));
    assert!(
        challenge.ends_with(", max_age=300") && !challenge.contains("acr_values"),
        "{challenge}"
    );
    let body = old.json();
    assert_eq!(
        (body["policy"].as_str(), body["rule"].as_str()),
        (Some("recent-auth"), Some("auth_too_old"))
    );
    assert_eq!(body["methods"], json!([]), "no method is asked: not an MFA policy");
    // No auth_time: refused, fail closed.
    let unknown = bearer(&app, "/billing", &token(None)).await;
    assert_eq!(
        (unknown.status.as_u16(), unknown.json()["rule"].clone()),
        (403, json!("auth_time_missing"))
    );
    // No session at all: 401.
    let none = send(&app, get_req("/billing").body(Body::empty()).unwrap()).await;
    assert_eq!(none.status, 401);
}
