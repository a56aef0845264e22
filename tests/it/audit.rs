//! The audit trail: one event per token failure and per guard decision, with the documented
//! fields, and never any token material.

use std::io::Write;
use std::sync::{Arc, Mutex};

use crate::common::*;
use axum::body::Body;
use serde_json::{Value, json};
use tracing_subscriber::fmt::MakeWriter;

#[derive(Clone, Default)]
pub struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Capture {
    type Writer = Capture;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

impl Capture {
    pub fn events(&self) -> Vec<Value> {
        let raw = String::from_utf8(self.0.lock().unwrap().clone()).unwrap();
        raw.lines().map(|l| serde_json::from_str(l).unwrap()).collect()
    }
    pub fn raw(&self) -> String {
        String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
    }
}

pub fn capture() -> (Capture, tracing::subscriber::DefaultGuard) {
    let capture = Capture::default();
    let subscriber = tracing_subscriber::fmt()
        .json()
        .flatten_event(true)
        .with_max_level(tracing::Level::TRACE)
        .with_writer(capture.clone())
        .finish();
    init_tracing();
    (capture.clone(), tracing::subscriber::set_default(subscriber))
}

#[tokio::test]
async fn guard_decisions_and_token_failures_are_audited_without_tokens() {
    let (capture, _guard) = capture();
    let app = default_app();
    let password_only = hs256(&claims());
    let mfa = hs256(&mfa_claims());
    let mut expired_claims = mfa_claims();
    expired_claims["exp"] = json!(now() - 3600);
    let expired = hs256(&expired_claims);

    bearer(&app, "/admin?access_token=leak-me", &password_only).await;
    bearer(&app, "/admin", &mfa).await;
    cookie(&app, "/admin", &format!("session={expired}")).await;
    send(&app, get_req("/admin").body(Body::empty()).unwrap()).await;

    let events: Vec<Value> =
        capture.events().into_iter().filter(|e| e["target"] == "axum_session_mfa::audit").collect();
    let find = |event: &str, reason: &str| {
        events
            .iter()
            .find(|e| e["event"] == event && e["reason"] == reason)
            .unwrap_or_else(|| panic!("no {event}/{reason} in {events:#?}"))
            .clone()
    };

    let denied = find("guard_decision", "methods_missing");
    assert_eq!(denied["decision"], "deny");
    assert_eq!(denied["level"], "WARN");
    assert_eq!(denied["policy"], "mfa");
    assert_eq!(denied["sub"], "user_123");
    assert_eq!(denied["sid"], "session_abc");
    assert_eq!(denied["amr"], "pwd");
    assert_eq!(denied["acr"], "urn:example:loa:1");
    assert_eq!(denied["method"], "GET");
    assert_eq!(denied["route"], "/admin");
    assert!(denied["auth_age"].as_u64().unwrap() >= 10);

    let allowed = find("guard_decision", "ok");
    assert_eq!(allowed["decision"], "allow");
    assert_eq!(allowed["level"], "INFO");
    assert_eq!(allowed["amr"], "pwd mfa");

    let rejected = find("token_rejected", "token_expired");
    assert_eq!(rejected["decision"], "deny");
    assert_eq!(rejected["source"], "cookie");
    let expired_guard = find("guard_decision", "token_expired");
    assert_eq!(expired_guard["decision"], "deny");

    find("guard_decision", "missing_token");
    assert_eq!(events.iter().filter(|e| e["event"] == "token_rejected").count(), 1, "{events:#?}");

    let raw = capture.raw();
    for token in [&password_only, &mfa, &expired] {
        for part in token.split('.') {
            assert!(!raw.contains(part), "log contains token material");
        }
    }
    assert!(!raw.contains("leak-me"), "the query string must not be logged");
}

#[tokio::test]
async fn named_policies_are_audited_with_the_failed_rule() {
    use axum::routing::get;
    use axum_session_mfa::{MfaPolicy, RequireMfa};
    use jsonwebtoken::Algorithm;

    let (capture, _guard) = capture();
    let policy = MfaPolicy::builder()
        .name("recent-mfa")
        .max_age(std::time::Duration::from_secs(300))
        .build();
    let app = axum::Router::new()
        .route("/admin/recent", get(|| async { "ok" }))
        .route_layer(RequireMfa::with_policy(policy))
        .layer(builder_for(Algorithm::HS256).build().unwrap());
    let mut c = mfa_claims();
    c["auth_time"] = json!(now() - 1000);
    let token = hs256(&c);
    assert_eq!(bearer(&app, "/admin/recent", &token).await.status, 403);
    let event = capture
        .events()
        .into_iter()
        .find(|e| e["event"] == "guard_decision")
        .expect("a guard decision event");
    assert_eq!(event["policy"], "recent-mfa");
    assert_eq!(event["reason"], "auth_too_old");
    assert_eq!(event["amr"], "pwd mfa");
    assert!(event["auth_age"].as_u64().unwrap() >= 1000);
    assert_eq!(event["route"], "/admin/recent");
    assert!(!capture.raw().contains(token.rsplit('.').next().unwrap()));
}

#[tokio::test]
async fn one_decision_event_per_request_when_a_handler_behind_a_guard_takes_the_context() {
    let (capture, _guard) = capture();
    let app = axum::Router::new()
        .route(
            "/admin",
            axum::routing::get(
                |ctx: axum_session_mfa::AuthContext| async move { ctx.sub().to_owned() },
            ),
        )
        .route_layer(axum_session_mfa::RequireMfa::new())
        .route(
            "/me",
            axum::routing::get(
                |ctx: axum_session_mfa::AuthContext| async move { ctx.sub().to_owned() },
            ),
        )
        .layer(builder_for(jsonwebtoken::Algorithm::HS256).build().unwrap());
    let decisions = |capture: &Capture| -> Vec<Value> {
        capture.events().into_iter().filter(|e| e["event"] == "guard_decision").collect()
    };
    assert_eq!(bearer(&app, "/admin", &hs256(&mfa_claims())).await.status, 200);
    let after_guarded = decisions(&capture);
    assert_eq!(after_guarded.len(), 1, "{after_guarded:#?}");
    assert_eq!(after_guarded[0]["policy"], "mfa");
    // The extractor alone audits its refusal.
    assert_eq!(send(&app, get_req("/me").body(Body::empty()).unwrap()).await.status, 401);
    let all = decisions(&capture);
    assert_eq!(all.len(), 2, "{all:#?}");
    assert_eq!(
        (all[1]["policy"].as_str(), all[1]["reason"].as_str()),
        (Some("authenticated"), Some("missing_token"))
    );
}

/// Revocations and the shared state's health are audited: one event per revocation, one per
/// change of reachability, no token material.
#[cfg(feature = "revocation")]
#[tokio::test]
async fn revocations_and_shared_state_changes_are_audited() {
    use axum_session_mfa::Revocations;
    use axum_session_mfa::store::MemoryStore;
    let (capture, _guard) = capture();
    let revocations = Revocations::builder(MemoryStore::new()).start().await;
    tokio::spawn(revocations.keep_current());
    revocations.revoke_session("session_abc").await.unwrap();
    revocations.revoke_user("user_123").await.unwrap();
    let events: Vec<Value> =
        capture.events().into_iter().filter(|e| e["event"] == "revocation").collect();
    assert_eq!(events.len(), 2, "{}", capture.raw());
    assert_eq!(
        (events[0]["sid"].as_str(), events[0]["reason"].as_str()),
        (Some("session_abc"), Some("session_revoked"))
    );
    assert_eq!(
        (events[1]["sub"].as_str(), events[1]["reason"].as_str()),
        (Some("user_123"), Some("user_revoked"))
    );
    #[cfg(feature = "redis")]
    {
        let dead = axum_session_mfa::store::RedisStore::new("redis://127.0.0.1:1").unwrap();
        let _down = Revocations::builder(dead).start().await;
        let down: Vec<Value> =
            capture.events().into_iter().filter(|e| e["event"] == "shared_state").collect();
        assert_eq!(down.len(), 1, "one event for the change, not one per retry: {}", capture.raw());
        assert_eq!(down[0]["decision"], "deny");
    }
}
