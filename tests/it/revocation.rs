//! Revocations (in memory, and on Redis): revoked sessions and users refused through the
//! layer, cache hits included; fail closed (or open) when the shared state is unreachable.

use std::time::Duration;

use axum_session_mfa::{Clock, Revocations, SharedState};
use jsonwebtoken::Algorithm;
use serde_json::json;

use crate::common::*;

async fn app_with(revocations: &Revocations) -> axum::Router {
    router(builder_for(Algorithm::HS256).revocations(revocations.clone()).build().unwrap())
}

#[tokio::test]
async fn a_revoked_session_is_refused_even_from_the_token_cache() {
    let revocations = Revocations::builder(SharedState::in_memory()).start().await;
    let app = app_with(&revocations).await;
    let token = hs256(&claims()); // sid "session_abc"
    let other = {
        let mut c = claims();
        c["sid"] = json!("session_other");
        hs256(&c)
    };
    assert_eq!(bearer(&app, "/me", &token).await.status, 200, "cached now");
    revocations.revoke_session("session_abc").await.unwrap();
    let refused = bearer(&app, "/me", &token).await;
    assert_eq!((refused.status.as_u16(), refused.code()), (401, "session_revoked".to_owned()));
    assert!(refused.www_authenticate().contains("invalid_token"), "{}", refused.www_authenticate());
    assert_eq!(bearer(&app, "/me", &other).await.status, 200, "other sessions are untouched");
    // The public check says the same, for sessions checked outside the layer.
    let layer = builder_for(Algorithm::HS256).build().unwrap();
    let ctx = layer.verify_token(&token).await.unwrap();
    assert_eq!(revocations.check(&ctx), Err(axum_session_mfa::AuthError::SessionRevoked));
}

#[tokio::test]
async fn revoking_a_user_ends_the_sessions_that_signed_in_before_only() {
    // Revoked 100 s ago, by the revocations' clock.
    let past = Clock::from_fn(|| now() - 100);
    let revocations = Revocations::builder(SharedState::in_memory()).clock(past).start().await;
    let app = app_with(&revocations).await;
    revocations.revoke_user("user_123").await.unwrap();
    let with_auth_time = |t: u64| {
        let mut c = claims();
        c["auth_time"] = json!(t);
        hs256(&c)
    };
    let old = bearer(&app, "/me", &with_auth_time(now() - 200)).await;
    assert_eq!((old.status.as_u16(), old.code()), (401, "session_revoked".to_owned()));
    // Signed in after the revocation: a new session, accepted.
    assert_eq!(bearer(&app, "/me", &with_auth_time(now() - 10)).await.status, 200);
    // No auth_time: iat decides (claims() has iat = now - 10).
    let mut c = claims();
    c.as_object_mut().unwrap().remove("auth_time");
    assert_eq!(bearer(&app, "/me", &hs256(&c)).await.status, 200);
    c["iat"] = json!(now() - 500);
    assert_eq!(bearer(&app, "/me", &hs256(&c)).await.code(), "session_revoked");
    // Another user is untouched.
    let mut c = claims();
    c["sub"] = json!("user_456");
    c["auth_time"] = json!(now() - 500);
    assert_eq!(bearer(&app, "/me", &hs256(&c)).await.status, 200);
}

#[tokio::test]
async fn entries_end_after_their_retention() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU64, Ordering};
    let shift = Arc::new(AtomicU64::new(0));
    let clock = {
        let shift = shift.clone();
        Clock::from_fn(move || now() + shift.load(Ordering::SeqCst))
    };
    let revocations = Revocations::builder(SharedState::in_memory())
        .retain(Duration::from_secs(60))
        .max_staleness(Duration::from_secs(3600))
        .clock(clock)
        .start()
        .await;
    let app = app_with(&revocations).await;
    revocations.revoke_session("session_abc").await.unwrap();
    let token = hs256(&claims());
    assert_eq!(bearer(&app, "/me", &token).await.code(), "session_revoked");
    // 61 s later the entry is over (its tokens cannot still be valid, by the retention).
    shift.store(61, Ordering::SeqCst);
    assert_eq!(
        revocations.check(
            &builder_for(Algorithm::HS256).build().unwrap().verify_token(&token).await.unwrap()
        ),
        Ok(())
    );
}

#[cfg(feature = "redis")]
#[tokio::test]
async fn unreachable_shared_state_fails_closed_after_the_staleness_bound_or_open_if_chosen() {
    // Nothing listens on port 1: every command fails at once.
    let dead = || SharedState::redis("redis://127.0.0.1:1").unwrap();
    let closed = Revocations::builder(dead()).max_staleness(Duration::from_millis(0)).start().await;
    let app = app_with(&closed).await;
    let reply = bearer(&app, "/me", &hs256(&claims())).await;
    assert_eq!((reply.status.as_u16(), reply.code()), (503, "revocation_unavailable".to_owned()));
    assert!(reply.headers.get("retry-after").is_some());
    // Anonymous requests are not affected (nothing to check).
    let public = send(&app, get_req("/public").body(axum::body::Body::empty()).unwrap()).await;
    assert_eq!(public.status, 200);
    let open = Revocations::builder(dead())
        .max_staleness(Duration::from_millis(0))
        .fail_open()
        .start()
        .await;
    assert_eq!(bearer(&app_with(&open).await, "/me", &hs256(&claims())).await.status, 200);
}
