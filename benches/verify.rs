//! Per-request cost of AuthLayer + RequireMfa versus raw `jsonwebtoken::decode` of the same
//! token, for one algorithm of each family. Run: `cargo bench --bench verify`.
//!
//! Cases per algorithm, all in one run so ratios are meaningful:
//! * `raw_decode`: `jsonwebtoken::decode::<serde_json::Map>` with exp/nbf/iss validation
//!   (the baseline);
//! * `router_only`: the same Router request without any auth (what axum itself costs);
//! * `layer_require_mfa`: the request through `AuthLayer` + `RequireMfa`, reaching the handler,
//!   with the token cache off (every request verifies; `benches/cache.rs` measures the cache).

use std::time::{SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Body;
use axum::routing::get;
use axum_session_mfa::{Algorithm, AuthLayer, Key, RequireMfa, TokenCache};
use criterion::{Criterion, criterion_group, criterion_main};
use http::Request;
use jsonwebtoken::{DecodingKey, EncodingKey, Header, Validation};
use serde_json::{Map, Value, json};
use tower::ServiceExt;

const SECRET: &[u8] = b"bench-secret-that-is-at-least-32-bytes!";

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!("{}/tests/fixtures/keys/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

struct Case {
    alg: Algorithm,
    token: String,
    decoding: DecodingKey,
    key: Key,
}

fn case(alg: Algorithm) -> Case {
    let (encoding, decoding, key) = match alg {
        Algorithm::HS256 => (
            EncodingKey::from_secret(SECRET),
            DecodingKey::from_secret(SECRET),
            Key::hmac(alg, SECRET).unwrap(),
        ),
        Algorithm::RS256 => (
            EncodingKey::from_rsa_pem(&fixture("rsa_private.pem")).unwrap(),
            DecodingKey::from_rsa_pem(&fixture("rsa_public.pem")).unwrap(),
            Key::rsa_pem(alg, &fixture("rsa_public.pem")).unwrap(),
        ),
        Algorithm::ES256 => (
            EncodingKey::from_ec_pem(&fixture("ec256_private.pem")).unwrap(),
            DecodingKey::from_ec_pem(&fixture("ec256_public.pem")).unwrap(),
            Key::ec_pem(alg, &fixture("ec256_public.pem")).unwrap(),
        ),
        _ => (
            EncodingKey::from_ed_pem(&fixture("ed25519_private.pem")).unwrap(),
            DecodingKey::from_ed_pem(&fixture("ed25519_public.pem")).unwrap(),
            Key::ed25519_pem(&fixture("ed25519_public.pem")).unwrap(),
        ),
    };
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs();
    // A realistic access token: WorkOS/Auth0-sized claims.
    let claims = json!({
        "iss": "https://issuer.bench", "sub": "user_01HXYZABCDEF", "sid": "session_01HXYZ",
        "org_id": "org_01HXYZ", "role": "admin", "roles": ["admin", "member"],
        "permissions": ["reports:read", "users:write", "billing:read"],
        "amr": ["pwd", "mfa"], "acr": "urn:example:loa:2",
        "auth_time": now - 30, "iat": now - 30, "exp": now + 3600, "jti": "01HXYZJTI",
    });
    axum_session_mfa::install_crypto_provider();
    let token = jsonwebtoken::encode(&Header::new(alg), &claims, &encoding).unwrap();
    Case { alg, token, decoding, key }
}

fn request(token: &str) -> Request<Body> {
    Request::builder()
        .uri("/admin")
        .header("authorization", format!("Bearer {token}"))
        .body(Body::empty())
        .unwrap()
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
    for alg in [Algorithm::HS256, Algorithm::RS256, Algorithm::ES256, Algorithm::EdDSA] {
        let case = case(alg);
        let mut group = c.benchmark_group(format!("{:?}", case.alg));

        let mut validation = Validation::new(case.alg);
        validation.validate_nbf = true;
        validation.set_issuer(&["https://issuer.bench"]);
        group.bench_function("raw_decode", |b| {
            b.iter(|| {
                jsonwebtoken::decode::<Map<String, Value>>(&case.token, &case.decoding, &validation)
                    .unwrap()
            })
        });

        let bare: Router = Router::new().route("/admin", get(|| async { "ok" }));
        group.bench_function("router_only", |b| {
            b.to_async(&rt).iter(|| async {
                let res = bare.clone().oneshot(request(&case.token)).await.unwrap();
                assert_eq!(res.status(), 200);
            })
        });

        // Cache off: this measures verification; benches/cache.rs measures the cache.
        let layer = AuthLayer::builder(case.key.clone())
            .issuer("https://issuer.bench")
            .token_cache(TokenCache::disabled())
            .build()
            .unwrap();
        let guarded: Router = Router::new()
            .route("/admin", get(|| async { "ok" }))
            .route_layer(RequireMfa::new())
            .layer(layer);
        group.bench_function("layer_require_mfa", |b| {
            b.to_async(&rt).iter(|| async {
                let res = guarded.clone().oneshot(request(&case.token)).await.unwrap();
                assert_eq!(res.status(), 200);
            })
        });
        group.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
