//! Cost of the layer with a warm JWKS cache vs a static key vs raw `jsonwebtoken::decode`, all
//! RS256, measured in the same run. Run: `cargo bench --bench jwks`.

use std::time::{SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Body;
use axum::routing::get;
use axum_session_mfa::jwks::{IssuerKeys, JwksKeys, JwksOptions};
use axum_session_mfa::{Algorithm, AuthLayer, Key, RequireMfa, TokenCache};
use criterion::{Criterion, criterion_group, criterion_main};
use http::{Request, StatusCode};
use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{DecodingKey, EncodingKey, Header, Validation};
use serde_json::{Value, json};
use tower::ServiceExt;

const ISSUER: &str = "https://issuer.bench";

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!("{}/tests/fixtures/keys/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

fn app(layer: AuthLayer) -> Router {
    Router::new()
        .route("/admin", get(|| async { "admin ok" }))
        .route_layer(RequireMfa::new())
        .layer(layer)
}

async fn call(app: &Router, token: &str) {
    let req = Request::builder()
        .uri("/admin")
        .header("authorization", format!("Bearer {token}"))
        .body(Body::empty())
        .unwrap();
    let res = app.clone().oneshot(req).await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let public_pem = fixture("rsa_public.pem");
    let static_layer =
        AuthLayer::builder(Key::rsa_pem(Algorithm::RS256, &public_pem).unwrap().with_kid("k1"))
            .issuer(ISSUER)
            .token_cache(TokenCache::disabled())
            .build()
            .unwrap();

    let encoding = EncodingKey::from_rsa_pem(&fixture("rsa_private.pem")).unwrap();
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs();
    let claims = json!({"iss": ISSUER, "sub": "user_1", "amr": ["pwd", "mfa"],
        "auth_time": now - 10, "iat": now - 10, "exp": now + 3600});
    let mut header = Header::new(jsonwebtoken::Algorithm::RS256);
    header.kid = Some("k1".into());
    let token = jsonwebtoken::encode(&header, &claims, &encoding).unwrap();

    // The JWKS server and a warm cache.
    let mut jwk = serde_json::to_value(
        Jwk::from_encoding_key(&encoding, jsonwebtoken::Algorithm::RS256).unwrap(),
    )
    .unwrap();
    jwk["kid"] = json!("k1");
    let jwks = json!({ "keys": [jwk] });
    let jwks_layer = rt.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/jwks", listener.local_addr().unwrap());
        let server = Router::new().route(
            "/jwks",
            get(move || async move { ([("cache-control", "max-age=86400")], axum::Json(jwks)) }),
        );
        tokio::spawn(async move { axum::serve(listener, server).await.unwrap() });
        let keys = JwksKeys::with_options(&url, JwksOptions::default()).unwrap();
        keys.refresh().await.unwrap();
        // Cache off: this compares key lookups, so every request verifies.
        AuthLayer::builder(IssuerKeys::new(keys, ISSUER))
            .token_cache(TokenCache::disabled())
            .build()
            .unwrap()
    });

    let decoding = DecodingKey::from_rsa_pem(&public_pem).unwrap();
    let mut validation = Validation::new(jsonwebtoken::Algorithm::RS256);
    validation.set_issuer(&[ISSUER]);

    let static_app = app(static_layer);
    let jwks_app = app(jwks_layer);
    let mut group = c.benchmark_group("rs256");
    group.bench_function("raw jsonwebtoken::decode", |b| {
        b.iter(|| jsonwebtoken::decode::<Value>(&token, &decoding, &validation).unwrap())
    });
    group.bench_function("layer + RequireMfa, static key", |b| {
        b.to_async(&rt).iter(|| call(&static_app, &token))
    });
    group.bench_function("layer + RequireMfa, warm JWKS cache", |b| {
        b.to_async(&rt).iter(|| call(&jwks_app, &token))
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
