//! AuthKit cookie cost: RS256 verification alone (raw `jsonwebtoken::decode`, and through the
//! layer with a bearer token) vs unseal + verify of a real-sized `wos-session` cookie through the
//! layer, in the same run. Target: unsealing adds at most 25% to the verification it wraps.
//!
//! `cargo bench --bench authkit -- --warm-up-time 1 --measurement-time 3`

use std::convert::Infallible;
use std::hint::black_box;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::body::Body;
use axum::response::Response;
use axum_session_mfa::authkit::{AuthKitSession, IronPasswords, RefreshToken, SessionUser};
use axum_session_mfa::{Algorithm, AuthLayer, AuthOutcome, Key, TokenCache};
use criterion::{Criterion, criterion_group, criterion_main};
use http::Request;
use jsonwebtoken::{DecodingKey, EncodingKey, Header, Validation};
use serde_json::{Value, json};
use tower::{Layer, ServiceExt, service_fn};

const PASSWORD: &str = "bench-only-iron-password-0000000001";
const ISS: &str = "https://api.workos.com/user_management/client_01BENCH";

fn key(name: &str) -> Vec<u8> {
    std::fs::read(format!("{}/tests/fixtures/keys/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

/// A WorkOS-shaped RS256 access token, about the size AuthKit issues.
fn access_token() -> String {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs();
    let claims = json!({
        "iss": ISS, "sub": "user_01HZX8B4Q9W2N6M3K5J7T1V0PQ", "sid": "session_01HZX8B6R4T2Y7U9I1O3P5A7SD",
        "jti": "01HZX8B6R4T2Y7U9I1O3P5A7SE", "org_id": "org_01HZX8A1B2C3D4E5F6G7H8J9KL",
        "role": "admin", "roles": ["admin", "member"],
        "permissions": ["users:read", "users:write", "billing:read", "reports:read", "audit:read"],
        "entitlements": ["audit-logs", "sso"], "feature_flags": ["new-dashboard", "beta-reports"],
        "iat": now, "exp": now + 3600,
    });
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some("sso_oidc_key_pair_01HZX8ABCDEF".into());
    jsonwebtoken::encode(
        &header,
        &claims,
        &EncodingKey::from_rsa_pem(&key("rsa_private.pem")).unwrap(),
    )
    .unwrap()
}

/// A real-sized `wos-session` cookie around `token`.
fn cookie(token: &str) -> String {
    let mut user = SessionUser::new("user_01HZX8B4Q9W2N6M3K5J7T1V0PQ");
    user.email = Some("ada.lovelace@example.com".into());
    user.first_name = Some("Ada".into());
    user.last_name = Some("Lovelace".into());
    user.email_verified = Some(true);
    user.profile_picture_url =
        Some("https://workoscdn.com/images/v1/0c4f2b8e-7e1a-4d6f-9b3c-2a5e8d1f7c9b".into());
    AuthKitSession::new(token, user)
        .with_refresh_token(RefreshToken::new("9xKfL2mQ7pR4sT1vW8yZ3bN6cD5eF0gH"))
        .seal(&IronPasswords::new("1", PASSWORD).unwrap())
        .unwrap()
}

fn bench(c: &mut Criterion) {
    // Building the layer installs jsonwebtoken's crypto provider (aws-lc-rs when enabled).
    let public = key("rsa_public.pem");
    let layer = AuthLayer::builder(Key::rsa_pem(Algorithm::RS256, &public).unwrap())
        .issuer(ISS)
        .authkit(IronPasswords::new("1", PASSWORD).unwrap())
        // Cache off: this measures unsealing and verifying; benches/cache.rs measures the cache.
        .token_cache(TokenCache::disabled())
        .build()
        .unwrap();
    let token = access_token();
    let cookie = cookie(&token);
    let inner = service_fn(|req: Request<Body>| async move {
        assert!(req.extensions().get::<AuthOutcome>().unwrap().context().is_some());
        Ok::<_, Infallible>(Response::new(Body::empty()))
    });
    let svc = layer.layer(inner);
    let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
    println!("access token: {} bytes, wos-session cookie: {} bytes", token.len(), cookie.len());

    let mut group = c.benchmark_group("authkit");
    let decoding = DecodingKey::from_rsa_pem(&public).unwrap();
    let mut validation = Validation::new(Algorithm::RS256);
    validation.set_issuer(&[ISS]);
    group.bench_function("rs256_jsonwebtoken_decode", |b| {
        b.iter(|| jsonwebtoken::decode::<Value>(black_box(&token), &decoding, &validation).unwrap())
    });
    let bearer = format!("Bearer {token}");
    group.bench_function("rs256_layer_bearer", |b| {
        b.to_async(&rt).iter(|| {
            let req = Request::get("/").header("authorization", &bearer).body(Body::empty());
            svc.clone().oneshot(req.unwrap())
        })
    });
    let header = format!("wos-session={cookie}");
    group.bench_function("authkit_layer_cookie", |b| {
        b.to_async(&rt).iter(|| {
            let req = Request::get("/").header("cookie", &header).body(Body::empty());
            svc.clone().oneshot(req.unwrap())
        })
    });
    let passwords = IronPasswords::new("1", PASSWORD).unwrap();
    group.bench_function("authkit_unseal_only", |b| {
        b.iter(|| AuthKitSession::unseal(black_box(&cookie), &passwords).unwrap())
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
