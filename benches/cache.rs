//! The verified-token cache, all in one run so the ratios hold:
//!
//! * `rs256_repeat`: one RS256 token sent again and again through a `Router` with `AuthLayer`
//!   and `RequireMfa`, with the cache (hits) and without (every request verifies), against raw
//!   `jsonwebtoken::decode` and the bare router;
//! * `rs256_unique`: 24,000 distinct tokens in turn through a cache of 1,000 entries, so every
//!   request is a miss that verifies, inserts and evicts (the stats printed after the group
//!   show it); against raw decode of the same tokens;
//! * `authkit_repeat`: a real-sized `wos-session` cookie, cached (no unsealing) and not;
//! * `contention`: 1, 2 and 64 tasks on a 2-worker runtime sending one shared token or one
//!   token each, all cache hits: the per-request time must not grow with the tasks (no lock
//!   that serialises them).
//!
//! `cargo bench --bench cache -- --warm-up-time 2 --measurement-time 5`

use std::hint::black_box;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Body;
use axum::routing::get;
use axum_session_mfa::authkit::{AuthKitSession, IronPasswords, RefreshToken, SessionUser};
use axum_session_mfa::{Algorithm, AuthLayer, Key, RequireMfa, TokenCache};
use criterion::{Criterion, criterion_group, criterion_main};
use http::Request;
use jsonwebtoken::{DecodingKey, EncodingKey, Header, Validation};
use serde_json::{Map, Value, json};
use tower::ServiceExt;

const ISS: &str = "https://issuer.bench";
const PASSWORD: &str = "bench-only-iron-password-0000000001";
const UNIQUE: usize = 24_000;

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!("{}/tests/fixtures/keys/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

/// A WorkOS/Auth0-sized RS256 access token for `sub`.
fn token(encoding: &EncodingKey, sub: &str) -> String {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs();
    let claims = json!({
        "iss": ISS, "sub": sub, "sid": "session_01HXYZ", "org_id": "org_01HXYZ",
        "role": "admin", "roles": ["admin", "member"],
        "permissions": ["reports:read", "users:write", "billing:read"],
        "amr": ["pwd", "mfa"], "acr": "urn:example:loa:2",
        "auth_time": now - 30, "iat": now - 30, "exp": now + 3600, "jti": "01HXYZJTI",
    });
    jsonwebtoken::encode(&Header::new(Algorithm::RS256), &claims, encoding).unwrap()
}

fn bearer(token: &str) -> Request<Body> {
    Request::get("/admin")
        .header("authorization", format!("Bearer {token}"))
        .body(Body::empty())
        .unwrap()
}

fn guarded(layer: AuthLayer) -> Router {
    Router::new()
        .route("/admin", get(|| async { "ok" }))
        .route_layer(RequireMfa::new())
        .layer(layer)
}

fn layer(key: &Key, cache: TokenCache) -> AuthLayer {
    AuthLayer::builder(key.clone()).issuer(ISS).token_cache(cache).build().unwrap()
}

async fn ok(app: &Router, req: Request<Body>) {
    let res = app.clone().oneshot(req).await.unwrap();
    assert_eq!(res.status(), 200);
}

fn bench(c: &mut Criterion) {
    axum_session_mfa::install_crypto_provider();
    let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
    let encoding = EncodingKey::from_rsa_pem(&fixture("rsa_private.pem")).unwrap();
    let public = fixture("rsa_public.pem");
    let decoding = DecodingKey::from_rsa_pem(&public).unwrap();
    let key = Key::rsa_pem(Algorithm::RS256, &public).unwrap();
    let mut validation = Validation::new(Algorithm::RS256);
    validation.validate_nbf = true;
    validation.set_issuer(&[ISS]);
    let one = token(&encoding, "user_01HXYZABCDEF");

    let mut group = c.benchmark_group("rs256_repeat");
    group.bench_function("raw_decode", |b| {
        b.iter(|| {
            jsonwebtoken::decode::<Map<String, Value>>(black_box(&one), &decoding, &validation)
                .unwrap()
        })
    });
    let bare: Router = Router::new().route("/admin", get(|| async { "ok" }));
    group.bench_function("router_only", |b| b.to_async(&rt).iter(|| ok(&bare, bearer(&one))));
    let cached = guarded(layer(&key, TokenCache::new()));
    group.bench_function("layer_cached", |b| b.to_async(&rt).iter(|| ok(&cached, bearer(&one))));
    let cold = guarded(layer(&key, TokenCache::disabled()));
    group.bench_function("layer_no_cache", |b| b.to_async(&rt).iter(|| ok(&cold, bearer(&one))));
    group.finish();

    let tokens: Vec<String> =
        (0..UNIQUE).map(|i| token(&encoding, &format!("user_{i:08}"))).collect();
    let mut group = c.benchmark_group("rs256_unique");
    let next = AtomicUsize::new(0);
    let pick = || &tokens[next.fetch_add(1, Ordering::Relaxed) % UNIQUE];
    group.bench_function("raw_decode", |b| {
        b.iter(|| {
            jsonwebtoken::decode::<Map<String, Value>>(pick(), &decoding, &validation).unwrap()
        })
    });
    group.bench_function("router_only", |b| b.to_async(&rt).iter(|| ok(&bare, bearer(pick()))));
    // A small cache, so that 24,000 tokens in turn never come back while remembered (the
    // default 10,000 entries would keep some); a miss costs the same whatever the capacity.
    let small = layer(&key, TokenCache::new().max_entries(1_000));
    let unique = guarded(small.clone());
    group.bench_function("layer_cache_misses", |b| {
        b.to_async(&rt).iter(|| ok(&unique, bearer(pick())))
    });
    println!("rs256_unique cache: {:?}", small.cache_stats().unwrap());
    group.bench_function("layer_no_cache", |b| b.to_async(&rt).iter(|| ok(&cold, bearer(pick()))));
    group.finish();

    let passwords = IronPasswords::new("1", PASSWORD).unwrap();
    let mut user = SessionUser::new("user_01HXYZABCDEF");
    user.email = Some("ada.lovelace@example.com".into());
    user.first_name = Some("Ada".into());
    user.last_name = Some("Lovelace".into());
    let cookie = AuthKitSession::new(one.clone(), user)
        .with_refresh_token(RefreshToken::new("9xKfL2mQ7pR4sT1vW8yZ3bN6cD5eF0gH"))
        .seal(&passwords)
        .unwrap();
    let wos = |cookie: &str| {
        Request::get("/admin")
            .header("cookie", format!("wos-session={cookie}"))
            .body(Body::empty())
            .unwrap()
    };
    let authkit = |cache| {
        let layer = AuthLayer::builder(key.clone())
            .issuer(ISS)
            .authkit(passwords.clone())
            .token_cache(cache)
            .build()
            .unwrap();
        guarded(layer)
    };
    let mut group = c.benchmark_group("authkit_repeat");
    group.bench_function("raw_decode", |b| {
        b.iter(|| {
            jsonwebtoken::decode::<Map<String, Value>>(black_box(&one), &decoding, &validation)
                .unwrap()
        })
    });
    group.bench_function("router_only", |b| b.to_async(&rt).iter(|| ok(&bare, wos(&cookie))));
    let cached = authkit(TokenCache::new());
    group.bench_function("layer_cached", |b| b.to_async(&rt).iter(|| ok(&cached, wos(&cookie))));
    let cold = authkit(TokenCache::disabled());
    group.bench_function("layer_no_cache", |b| b.to_async(&rt).iter(|| ok(&cold, wos(&cookie))));
    group.finish();

    // Contention: cache hits from many tasks at once on two worker threads.
    let multi = tokio::runtime::Builder::new_multi_thread().worker_threads(2).build().unwrap();
    let shared = Arc::new(guarded(layer(&key, TokenCache::new())));
    let own: Arc<Vec<String>> = Arc::new(tokens[..64].to_vec());
    let mut group = c.benchmark_group("contention");
    for tasks in [1usize, 2, 64] {
        for (name, per_task_token) in [("one_token", false), ("token_per_task", true)] {
            group.bench_function(format!("{name}/{tasks}_tasks"), |b| {
                b.iter_custom(|iters| {
                    let (app, own, one) = (shared.clone(), own.clone(), one.clone());
                    multi.block_on(async move {
                        let per_task = (iters as usize).div_ceil(tasks).max(1);
                        let start = Instant::now();
                        let handles: Vec<_> = (0..tasks)
                            .map(|t| {
                                let app = app.clone();
                                let token =
                                    if per_task_token { own[t].clone() } else { one.clone() };
                                tokio::spawn(async move {
                                    for _ in 0..per_task {
                                        ok(&app, bearer(&token)).await;
                                    }
                                })
                            })
                            .collect();
                        for h in handles {
                            h.await.unwrap();
                        }
                        // Per request, whatever the split.
                        start.elapsed().mul_f64(iters as f64 / (per_task * tasks) as f64)
                    })
                })
            });
        }
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
