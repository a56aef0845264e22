//! DPoP (RFC 9449) against Bearer, in one run so the ratio holds: the same RS256 access token
//! (bound with `cnf.jkt` for DPoP) through a `Router` with `AuthLayer` (token cache on, so the
//! token itself is a cache hit) and `RequireMfa`:
//!
//! * `bearer`: `Authorization: Bearer`;
//! * `dpop_es256` / `dpop_eddsa`: `Authorization: DPoP` with a fresh proof per request (made
//!   outside the measurement), so each request checks the proof: header, `jwk`, signature,
//!   `htm`/`htu`/`iat`/`ath`, thumbprint against `cnf.jkt`, and the `jti` spent in a
//!   `MemoryStore`.
//!
//! * `dpop_es256_redis` (feature `redis`): the same, the `jti` spent in Redis.
//!
//! `cargo bench --bench dpop --features redis -- --warm-up-time 2 --measurement-time 5`

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Body;
use axum::routing::get;
use axum_session_mfa::dpop::Dpop;
use axum_session_mfa::{Algorithm, AuthLayer, Key, RequireMfa, TokenCache};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use http::Request;
use jsonwebtoken::jwk::{Jwk, ThumbprintHash};
use jsonwebtoken::{EncodingKey, Header};
use serde_json::{Value, json};
use tower::ServiceExt;

const ISS: &str = "https://issuer.bench";
const HTU: &str = "https://api.bench/admin";

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!("{}/tests/fixtures/keys/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs()
}

fn sha256(data: &[u8]) -> Vec<u8> {
    #[cfg(feature = "aws_lc_rs")]
    let provider = &jsonwebtoken::crypto::aws_lc::DEFAULT_PROVIDER;
    #[cfg(not(feature = "aws_lc_rs"))]
    let provider = &jsonwebtoken::crypto::rust_crypto::DEFAULT_PROVIDER;
    (provider.key_utils.compute_digest)(data, ThumbprintHash::SHA256).unwrap()
}

/// A WorkOS/Auth0-sized RS256 access token, bound to `jkt` when given.
fn token(encoding: &EncodingKey, jkt: Option<&str>) -> String {
    let now = now();
    let mut claims = json!({
        "iss": ISS, "sub": "user_01HXYZ", "sid": "session_01HXYZ", "org_id": "org_01HXYZ",
        "role": "admin", "roles": ["admin", "member"],
        "permissions": ["reports:read", "users:write", "billing:read"],
        "amr": ["pwd", "mfa"], "acr": "urn:example:loa:2",
        "auth_time": now - 30, "iat": now - 30, "exp": now + 3600, "jti": "01HXYZJTI",
    });
    if let Some(jkt) = jkt {
        claims["cnf"] = json!({"jkt": jkt});
    }
    jsonwebtoken::encode(&Header::new(Algorithm::RS256), &claims, encoding).unwrap()
}

struct Holder {
    key: EncodingKey,
    alg: Algorithm,
    jwk: Value,
    jkt: String,
}

fn holder(alg: Algorithm, pem: &str) -> Holder {
    let key = match alg {
        Algorithm::EdDSA => EncodingKey::from_ed_pem(&fixture(pem)),
        _ => EncodingKey::from_ec_pem(&fixture(pem)),
    }
    .unwrap();
    let jwk = Jwk::from_encoding_key(&key, alg).unwrap();
    let jkt = jwk.thumbprint(ThumbprintHash::SHA256).unwrap();
    let mut jwk = serde_json::to_value(&jwk).unwrap();
    jwk.as_object_mut().unwrap().retain(|k, _| ["kty", "crv", "x", "y"].contains(&k.as_str()));
    Holder { key, alg, jwk, jkt }
}

static JTI: AtomicU64 = AtomicU64::new(0);

fn proof(h: &Holder, ath: &str) -> String {
    let header = json!({"typ": "dpop+jwt", "alg": format!("{:?}", h.alg), "jwk": h.jwk});
    let claims = json!({
        "jti": format!("bench-{}", JTI.fetch_add(1, Ordering::Relaxed)),
        "htm": "GET", "htu": HTU, "iat": now(), "ath": ath,
    });
    let enc = |v: &Value| URL_SAFE_NO_PAD.encode(serde_json::to_vec(v).unwrap());
    let message = format!("{}.{}", enc(&header), enc(&claims));
    let sig = jsonwebtoken::crypto::sign(message.as_bytes(), &h.key, h.alg).unwrap();
    format!("{message}.{sig}")
}

fn app(layer: AuthLayer) -> Router {
    Router::new()
        .route("/admin", get(|| async { "ok" }))
        .route_layer(RequireMfa::new())
        .layer(layer)
}

fn layer(key: &Key, dpop: Option<Dpop>) -> AuthLayer {
    let builder = AuthLayer::builder(key.clone()).issuer(ISS).token_cache(TokenCache::new());
    match dpop {
        Some(dpop) => builder.dpop(dpop),
        None => builder,
    }
    .build()
    .unwrap()
}

fn request(scheme: &str, token: &str, proof: Option<String>) -> Request<Body> {
    let mut req = Request::get("/admin")
        .header("host", "api.bench")
        .header("authorization", format!("{scheme} {token}"));
    if let Some(proof) = proof {
        req = req.header("dpop", proof);
    }
    req.body(Body::empty()).unwrap()
}

fn bench(c: &mut Criterion) {
    axum_session_mfa::install_crypto_provider();
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let encoding = EncodingKey::from_rsa_pem(&fixture("rsa_private.pem")).unwrap();
    let key = Key::rsa_pem(Algorithm::RS256, &fixture("rsa_public.pem")).unwrap();
    let bearer_token = token(&encoding, None);
    let bearer_app = app(layer(&key, None));
    let dpop = || Dpop::required().public_origin("https://api.bench");

    let mut group = c.benchmark_group("dpop");
    group.bench_function("bearer", |b| {
        b.to_async(&rt).iter_batched(
            || request("Bearer", &bearer_token, None),
            |req| async {
                let res = bearer_app.clone().oneshot(req).await.unwrap();
                assert_eq!(res.status(), 200);
            },
            BatchSize::SmallInput,
        );
    });
    // Each row: its own holder key, bound token and app; a fresh proof per request.
    #[cfg_attr(not(feature = "redis"), allow(unused_mut))]
    let mut rows: Vec<(&str, Algorithm, &str, Dpop)> = vec![
        ("dpop_es256", Algorithm::ES256, "ec256_private.pem", dpop()),
        ("dpop_eddsa", Algorithm::EdDSA, "ed25519_private.pem", dpop()),
    ];
    // The same ES256 request with each `jti` spent in Redis (feature `redis`, a Redis at
    // 127.0.0.1:6379 or REDIS_URL): what a proof costs when replays are refused on every
    // instance.
    #[cfg(feature = "redis")]
    {
        let url = std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
        let store = axum_session_mfa::store::RedisStore::new(&url).unwrap();
        rt.block_on(store.ping()).expect("the Redis bench needs a Redis (REDIS_URL)");
        rows.push(("dpop_es256_redis", Algorithm::ES256, "ec256_private.pem", dpop().store(store)));
    }
    for (name, alg, pem, settings) in rows {
        let h = holder(alg, pem);
        let bound = token(&encoding, Some(&h.jkt));
        let ath = URL_SAFE_NO_PAD.encode(sha256(bound.as_bytes()));
        let dpop_app = app(layer(&key, Some(settings)));
        group.bench_function(name, |b| {
            b.to_async(&rt).iter_batched(
                || request("DPoP", &bound, Some(proof(&h, &ath))),
                |req| async {
                    let res = dpop_app.clone().oneshot(req).await.unwrap();
                    assert_eq!(res.status(), 200);
                },
                BatchSize::SmallInput,
            );
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
