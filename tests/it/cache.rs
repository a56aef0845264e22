//! The verified-token cache: each safety rule has a test that fails when the rule is broken.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::routing::get;
use axum_session_mfa::{
    AuthLayer, AuthLayerBuilder, CacheStats, Clock, Key, MfaPolicy, RequireMfa, TokenCache,
};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};

use crate::common::*;

/// A clock the test moves by hand.
#[derive(Clone)]
struct Manual(Arc<AtomicU64>);

impl Manual {
    fn start() -> Self {
        Self(Arc::new(AtomicU64::new(now())))
    }
    fn now(&self) -> u64 {
        self.0.load(Ordering::SeqCst)
    }
    fn advance(&self, secs: u64) {
        self.0.fetch_add(secs, Ordering::SeqCst);
    }
    fn clock(&self) -> Clock {
        let time = self.0.clone();
        Clock::from_fn(move || time.load(Ordering::SeqCst))
    }
}

fn stats(layer: &AuthLayer) -> CacheStats {
    layer.cache_stats().expect("the cache is on by default")
}

/// A layer whose cache keeps entries for an hour, so only the rule under test ends them.
fn long_lived(builder: AuthLayerBuilder) -> AuthLayer {
    builder.token_cache(TokenCache::new().max_ttl(Duration::from_secs(3600))).build().unwrap()
}

fn claims_at(clock: &Manual, exp_in: u64) -> Value {
    let mut c = mfa_claims();
    c["iat"] = json!(clock.now());
    c["auth_time"] = json!(clock.now());
    c["exp"] = json!(clock.now() + exp_in);
    c
}

#[tokio::test]
async fn a_repeated_token_is_verified_once_and_the_guard_still_runs_on_every_hit() {
    let layer = builder_for(Algorithm::HS256).build().unwrap();
    let app = router(layer.clone());
    let password_only = hs256(&claims());
    assert_eq!(bearer(&app, "/me", &password_only).await.status, 200);
    assert_eq!(bearer(&app, "/me", &password_only).await.status, 200);
    let s = stats(&layer);
    assert_eq!((s.misses, s.hits, s.entries), (1, 1, 1), "{s:?}");
    // A hit is verification only: the MFA guard still refuses this session (CVE-2021-32701 is
    // what caching a decision does).
    let reply = bearer(&app, "/admin", &password_only).await;
    assert_eq!(
        (reply.status.as_u16(), reply.code()),
        (403, "insufficient_user_authentication".into())
    );
    assert_eq!(stats(&layer).hits, 2);
}

#[tokio::test]
async fn every_hit_rechecks_exp_with_the_layers_clock() {
    let clock = Manual::start();
    let layer = long_lived(builder_for(Algorithm::HS256).clock(clock.clock()));
    let app = router(layer.clone());
    let token = hs256(&claims_at(&clock, 100));
    assert_eq!(bearer(&app, "/me", &token).await.status, 200);
    clock.advance(100 + 29); // within the 30 s leeway: still good, from the cache
    assert_eq!(bearer(&app, "/me", &token).await.status, 200);
    assert_eq!(stats(&layer).hits, 1);
    clock.advance(1); // exp + leeway reached
    assert_invalid(&bearer(&app, "/me", &token).await, "token_expired");
    assert_eq!(stats(&layer).entries, 0, "the expired entry is dropped");
}

#[tokio::test]
async fn every_hit_rechecks_nbf() {
    // A cache that skipped nbf on hits would pass a token before its time when the clock
    // moves back (NTP step) after the token was first verified.
    let clock = Manual::start();
    let layer = builder_for(Algorithm::HS256).clock(clock.clock()).build().unwrap();
    let app = router(layer.clone());
    let mut c = claims_at(&clock, 3600);
    c["nbf"] = json!(clock.now() + 20);
    let token = hs256(&c);
    assert_eq!(bearer(&app, "/me", &token).await.status, 200, "within leeway");
    clock.0.fetch_sub(20, Ordering::SeqCst);
    assert_invalid(&bearer(&app, "/me", &token).await, "token_not_yet_valid");
}

#[tokio::test]
async fn entries_live_at_most_max_ttl() {
    let clock = Manual::start();
    let layer = builder_for(Algorithm::HS256)
        .clock(clock.clock())
        .token_cache(TokenCache::new().max_ttl(Duration::from_secs(10)))
        .build()
        .unwrap();
    let app = router(layer.clone());
    let token = hs256(&claims_at(&clock, 3600));
    bearer(&app, "/me", &token).await;
    clock.advance(9);
    bearer(&app, "/me", &token).await;
    assert_eq!((stats(&layer).misses, stats(&layer).hits), (1, 1));
    clock.advance(1);
    assert_eq!(bearer(&app, "/me", &token).await.status, 200);
    assert_eq!((stats(&layer).misses, stats(&layer).hits), (2, 1), "verified again at the cap");
}

#[tokio::test]
async fn max_age_is_measured_at_each_request_not_at_the_cached_verification() {
    let clock = Manual::start();
    let layer = long_lived(builder_for(Algorithm::HS256).clock(clock.clock()));
    let recent = MfaPolicy::builder().max_age(Duration::from_secs(300)).build();
    let app = Router::new()
        .route("/recent", get(|| async { "ok" }))
        .route_layer(RequireMfa::with_policy(recent))
        .layer(layer.clone());
    let token = hs256(&claims_at(&clock, 3600));
    assert_eq!(bearer(&app, "/recent", &token).await.status, 200);
    clock.advance(301);
    let reply = bearer(&app, "/recent", &token).await;
    assert_eq!(stats(&layer).hits, 1, "served from the cache");
    assert_eq!(reply.status, 403, "{}", reply.text());
    assert_eq!(reply.json()["rule"], "auth_too_old");
}

#[tokio::test]
async fn failures_are_never_cached() {
    let clock = Manual::start();
    let layer = builder_for(Algorithm::HS256).clock(clock.clock()).build().unwrap();
    let app = router(layer.clone());
    // Not valid yet: refused now, accepted once its time comes (a cached failure would stick).
    let mut c = claims_at(&clock, 3600);
    c["nbf"] = json!(clock.now() + 100);
    let early = hs256(&c);
    assert_invalid(&bearer(&app, "/me", &early).await, "token_not_yet_valid");
    assert_invalid(&bearer(&app, "/me", &early).await, "token_not_yet_valid");
    assert_invalid(&bearer(&app, "/me", "a.b.c").await, "malformed_token");
    let s = stats(&layer);
    assert_eq!((s.hits, s.entries), (0, 0), "{s:?}");
    clock.advance(100);
    assert_eq!(bearer(&app, "/me", &early).await.status, 200);
}

#[tokio::test]
async fn each_layer_has_its_own_cache() {
    // Layer A trusts key A; layer B trusts another key and another issuer. A token A verified
    // must not pass B because A's cache knows it.
    let key_b = Key::hmac(Algorithm::HS256, b"another-secret-of-at-least-32-bytes!!").unwrap();
    let layer_a = builder_for(Algorithm::HS256).build().unwrap();
    let layer_b = AuthLayer::builder(key_b).issuer("https://other.issuer").build().unwrap();
    let token = hs256(&mfa_claims());
    assert_eq!(bearer(&router(layer_a.clone()), "/admin", &token).await.status, 200);
    assert_invalid(&bearer(&router(layer_b.clone()), "/admin", &token).await, "bad_signature");
    assert_eq!(stats(&layer_b).hits, 0);
    // Clones of a layer share its cache.
    assert_eq!(bearer(&router(layer_a.clone()), "/me", &token).await.status, 200);
    assert_eq!(stats(&layer_a).hits, 1);
}

#[tokio::test]
async fn the_whole_token_is_the_key() {
    // Same header and payload, another signature: a cache keyed by a prefix or by the claims
    // would let it through.
    let layer = builder_for(Algorithm::HS256).build().unwrap();
    let app = router(layer.clone());
    let token = hs256(&mfa_claims());
    assert_eq!(bearer(&app, "/admin", &token).await.status, 200);
    let (signed, signature) = token.rsplit_once('.').unwrap();
    let mut forged = signature.as_bytes().to_vec();
    forged[0] = if forged[0] == b'A' { b'B' } else { b'A' };
    let forged = format!("{signed}.{}", String::from_utf8(forged).unwrap());
    assert_invalid(&bearer(&app, "/admin", &forged).await, "bad_signature");
    let other_key = EncodingKey::from_secret(b"not-the-layer-secret-but-32-bytes-long");
    let resigned = sign_with(&Header::new(Algorithm::HS256), &mfa_claims(), &other_key);
    assert_invalid(&bearer(&app, "/admin", &resigned).await, "bad_signature");
    assert_eq!(stats(&layer).hits, 0);
}

#[tokio::test]
async fn a_flood_of_distinct_tokens_stays_within_the_bounds_and_keeps_the_hot_set() {
    // Big enough that each shard of the map holds a few hundred entries (a cache of a few dozen
    // entries split over shards has no room to tell hot from cold); the bytes bind first.
    let max_entries = 2_000;
    let max_bytes = 2 * 1024 * 1024;
    let layer = builder_for(Algorithm::HS256)
        .token_cache(TokenCache::new().max_entries(max_entries).max_bytes(max_bytes))
        .build()
        .unwrap();
    let app = router(layer.clone());
    let hot: Vec<String> = (0..8)
        .map(|i| {
            let mut c = mfa_claims();
            c["sub"] = json!(format!("hot-{i}"));
            hs256(&c)
        })
        .collect();
    for _ in 0..3 {
        for token in &hot {
            assert_eq!(bearer(&app, "/me", token).await.status, 200);
        }
    }
    // 10x the entry bound in valid tokens, each seen once: a scan.
    for i in 0..(10 * max_entries) {
        let mut c = mfa_claims();
        c["sub"] = json!(format!("flood-{i}"));
        assert_eq!(bearer(&app, "/me", &hs256(&c)).await.status, 200);
        let s = stats(&layer);
        assert!(s.entries <= max_entries as u64 && s.bytes <= max_bytes, "{s:?}");
    }
    assert!(stats(&layer).evictions > 0);
    let before = stats(&layer).hits;
    for token in &hot {
        assert_eq!(bearer(&app, "/me", token).await.status, 200);
    }
    assert_eq!(stats(&layer).hits - before, hot.len() as u64, "the hot set survived the flood");
}

#[tokio::test]
async fn requests_with_two_tokens_bypass_the_cache() {
    let layer = builder_for(Algorithm::HS256).build().unwrap();
    let app = router(layer.clone());
    let token = hs256(&mfa_claims());
    let both = || {
        get_req("/admin")
            .header("cookie", format!("session={token}"))
            .header("authorization", format!("Bearer {token}"))
            .body(Body::empty())
            .unwrap()
    };
    assert_eq!(send(&app, both()).await.status, 200);
    assert_eq!(send(&app, both()).await.status, 200);
    let s = stats(&layer);
    assert_eq!((s.hits, s.misses, s.entries), (0, 0, 0), "{s:?}");
}

#[tokio::test]
async fn the_cache_can_be_turned_off() {
    let layer = builder_for(Algorithm::HS256).token_cache(TokenCache::disabled()).build().unwrap();
    assert!(layer.cache_stats().is_none());
    let app = router(layer);
    let token = hs256(&mfa_claims());
    assert_eq!(bearer(&app, "/admin", &token).await.status, 200);
    assert_eq!(bearer(&app, "/admin", &token).await.status, 200);
}

/// A layer like `builder_for`, for the AuthKit tests below.
#[cfg(feature = "authkit")]
fn authkit_builder(passwords: axum_session_mfa::authkit::IronPasswords) -> AuthLayerBuilder {
    AuthLayer::builder(key_pair(Algorithm::RS256).1).issuer(ISSUER).authkit(passwords)
}

#[cfg(feature = "authkit")]
#[tokio::test]
async fn a_sealed_cookie_is_unsealed_once_and_never_outlives_its_seal() {
    use axum_session_mfa::authkit::{AuthKitSession, IronPasswords, SessionUser};
    let passwords = IronPasswords::new("1", "a-cookie-password-of-32-characters!").unwrap();
    let clock = Manual::start();
    // Entries trusted for an hour and a token valid for an hour: only the seal's own expiry
    // can end the entry below.
    let layer = long_lived(authkit_builder(passwords.clone()).clock(clock.clock()));
    let app = router(layer.clone());
    let token = sign(Algorithm::RS256, &claims_at(&clock, 3600));
    // A seal that expires in 5 s (iron adds 60 s of skew): the cache must not keep it longer.
    let sealed = AuthKitSession::new(token.clone(), SessionUser::new("user_123"))
        .seal_with_ttl(&passwords, Some(Duration::from_secs(5)))
        .unwrap();
    let wos = |value: &str| {
        let header = format!("wos-session={value}");
        let app = app.clone();
        async move { cookie(&app, "/me", &header).await }
    };
    let reply = wos(&sealed).await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(reply.json()["user"]["id"], "user_123", "the sealed user is cached too");
    assert_eq!(wos(&sealed).await.json()["user"]["id"], "user_123");
    assert_eq!(stats(&layer).hits, 1);
    clock.advance(5 + 60 + 2); // the seal was made in this second or the next
    let reply = wos(&sealed).await;
    assert_invalid(&reply, "invalid_session");
    assert_eq!(reply.json()["reason"], "expired");
    assert_eq!(stats(&layer).hits, 1, "no hit once the seal has expired");
    // The seal's text as a bearer token is not the cookie: bearer tokens are always JWTs.
    let forever =
        AuthKitSession::new(token, SessionUser::new("user_123")).seal(&passwords).unwrap();
    assert_eq!(wos(&forever).await.status, 200);
    assert_invalid(&bearer(&app, "/me", &forever).await, "malformed_token");
}
