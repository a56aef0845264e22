//! Remote key sets against an in-process JWKS server that the tests break on purpose.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::common::*;
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum_session_mfa::AuthLayer;
use axum_session_mfa::jwks::{
    DiscoveryError, IssuerKeys, JwksError, JwksKeys, JwksOptions, UrlError,
};
use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{Algorithm, Header};
use serde_json::{Value, json};

/// What the test server answers; the tests change it while running.
#[derive(Clone)]
struct Behaviour {
    keys: Vec<Value>,
    status: StatusCode,
    delay: Duration,
    raw_body: Option<String>,
    cache_control: Option<String>,
    openid_configuration: Option<Value>,
    oauth_metadata: Option<Value>,
}

impl Default for Behaviour {
    fn default() -> Self {
        Self {
            keys: Vec::new(),
            status: StatusCode::OK,
            delay: Duration::ZERO,
            raw_body: None,
            cache_control: None,
            openid_configuration: None,
            oauth_metadata: None,
        }
    }
}

#[derive(Default)]
struct ServerState {
    fetches: AtomicUsize,
    behaviour: Mutex<Behaviour>,
}

struct JwksServer {
    state: Arc<ServerState>,
    base: String,
}

impl JwksServer {
    async fn start(behaviour: Behaviour) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        Self::serve(listener, behaviour)
    }

    fn serve(listener: tokio::net::TcpListener, behaviour: Behaviour) -> Self {
        let base = format!("http://{}", listener.local_addr().unwrap());
        let state = Arc::new(ServerState {
            fetches: AtomicUsize::new(0),
            behaviour: Mutex::new(behaviour),
        });
        let app = Router::new()
            .route("/jwks", get(jwks))
            .route("/.well-known/openid-configuration", get(openid))
            .route("/.well-known/oauth-authorization-server", get(oauth))
            .with_state(state.clone());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Self { state, base }
    }

    fn url(&self) -> String {
        format!("{}/jwks", self.base)
    }

    fn fetches(&self) -> usize {
        self.state.fetches.load(Ordering::SeqCst)
    }

    fn set(&self, change: impl FnOnce(&mut Behaviour)) {
        change(&mut self.state.behaviour.lock().unwrap());
    }
}

async fn jwks(State(state): State<Arc<ServerState>>) -> Response {
    state.fetches.fetch_add(1, Ordering::SeqCst);
    let b = state.behaviour.lock().unwrap().clone();
    tokio::time::sleep(b.delay).await;
    let mut headers = HeaderMap::new();
    if let Some(cc) = &b.cache_control {
        headers.insert("cache-control", HeaderValue::from_str(cc).unwrap());
    }
    let body = b.raw_body.unwrap_or_else(|| json!({ "keys": b.keys }).to_string());
    (b.status, headers, body).into_response()
}

async fn openid(State(state): State<Arc<ServerState>>) -> Response {
    let doc = state.behaviour.lock().unwrap().openid_configuration.clone();
    doc.map_or_else(|| StatusCode::NOT_FOUND.into_response(), |d| axum::Json(d).into_response())
}

async fn oauth(State(state): State<Arc<ServerState>>) -> Response {
    let doc = state.behaviour.lock().unwrap().oauth_metadata.clone();
    doc.map_or_else(|| StatusCode::NOT_FOUND.into_response(), |d| axum::Json(d).into_response())
}

/// Installs the crate's crypto backend (building any layer does) before the tests sign.
fn init() {
    let _ = AuthLayer::builder(key_pair(Algorithm::HS256).1).build();
}

/// The public JWK of a fixture key, with a `kid` (and the JWK `alg` unless `with_alg` is false).
fn jwk(alg: Algorithm, private_pem: &str, kid: &str, with_alg: bool) -> Value {
    init();
    let pem = fixture(private_pem);
    let enc = match alg {
        Algorithm::ES256 | Algorithm::ES384 => jsonwebtoken::EncodingKey::from_ec_pem(&pem),
        Algorithm::EdDSA => jsonwebtoken::EncodingKey::from_ed_pem(&pem),
        _ => jsonwebtoken::EncodingKey::from_rsa_pem(&pem),
    }
    .unwrap();
    let mut v = serde_json::to_value(Jwk::from_encoding_key(&enc, alg).unwrap()).unwrap();
    v["kid"] = json!(kid);
    if !with_alg {
        v.as_object_mut().unwrap().remove("alg");
    }
    v
}

fn rsa_jwk(kid: &str) -> Value {
    jwk(Algorithm::RS256, "rsa_private.pem", kid, false)
}

fn rsa2_jwk(kid: &str) -> Value {
    jwk(Algorithm::RS256, "rsa2_private.pem", kid, false)
}

fn token(alg: Algorithm, private_pem: &str, kid: Option<&str>, claims: &Value) -> String {
    init();
    let pem = fixture(private_pem);
    let enc = match alg {
        Algorithm::ES256 | Algorithm::ES384 => jsonwebtoken::EncodingKey::from_ec_pem(&pem),
        Algorithm::EdDSA => jsonwebtoken::EncodingKey::from_ed_pem(&pem),
        _ => jsonwebtoken::EncodingKey::from_rsa_pem(&pem),
    }
    .unwrap();
    let mut header = Header::new(alg);
    header.kid = kid.map(str::to_owned);
    sign_with(&header, claims, &enc)
}

fn rsa_token(kid: &str) -> String {
    token(Algorithm::RS256, "rsa_private.pem", Some(kid), &mfa_claims())
}

fn rsa2_token(kid: &str) -> String {
    token(Algorithm::RS256, "rsa2_private.pem", Some(kid), &mfa_claims())
}

const INTERVAL: Duration = Duration::from_millis(200);

/// Small intervals so the tests are fast; the fetch timeout stays generous except where a test
/// is about timeouts.
fn options() -> JwksOptions {
    JwksOptions::default()
        .refetch_interval(INTERVAL)
        .min_ttl(INTERVAL)
        .timeout(Duration::from_secs(5))
}

fn app_for(url: &str, options: JwksOptions) -> Router {
    let keys = JwksKeys::with_options(url, options).unwrap();
    router(AuthLayer::builder(IssuerKeys::new(keys, ISSUER)).build().unwrap())
}

fn serving(keys: Vec<Value>) -> Behaviour {
    Behaviour { keys, cache_control: Some("max-age=3600".into()), ..Behaviour::default() }
}

fn assert_unavailable(reply: &Reply) {
    assert_eq!(reply.status, StatusCode::SERVICE_UNAVAILABLE, "body: {}", reply.text());
    assert_eq!(reply.code(), "keys_unavailable");
    assert!(reply.headers.contains_key("retry-after"));
}

/// Sends `token` to `/me` until `done` holds for the reply, or fails after 5 s. Waits for an
/// event (a refresh happening), not for a guessed duration.
async fn until(app: &Router, token: &str, done: impl Fn(&Reply) -> bool) -> Reply {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let reply = bearer(app, "/me", token).await;
        if done(&reply) {
            return reply;
        }
        assert!(
            Instant::now() < deadline,
            "condition not reached; last reply {} {}",
            reply.status,
            reply.text()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn verifies_with_fetched_keys_and_caches_them() {
    let server = JwksServer::start(serving(vec![
        rsa_jwk("rsa-1"),
        jwk(Algorithm::ES256, "ec256_private.pem", "ec-256", false),
        jwk(Algorithm::ES384, "ec384_private.pem", "ec-384", false),
        jwk(Algorithm::EdDSA, "ed25519_private.pem", "ed", false),
        jwk(Algorithm::PS256, "rsa2_private.pem", "ps-256", true),
    ]))
    .await;
    let app = app_for(&server.url(), options());
    for (alg, pem, kid) in [
        (Algorithm::RS256, "rsa_private.pem", "rsa-1"),
        (Algorithm::ES256, "ec256_private.pem", "ec-256"),
        (Algorithm::ES384, "ec384_private.pem", "ec-384"),
        (Algorithm::EdDSA, "ed25519_private.pem", "ed"),
        (Algorithm::PS256, "rsa2_private.pem", "ps-256"),
    ] {
        let reply = bearer(&app, "/me", &token(alg, pem, Some(kid), &mfa_claims())).await;
        assert_eq!(reply.status, StatusCode::OK, "{alg:?}: {}", reply.text());
        assert_eq!(reply.json()["sub"], "user_123");
    }
    assert_eq!(bearer(&app, "/admin", &rsa_token("rsa-1")).await.status, StatusCode::OK);
    assert_eq!(server.fetches(), 1, "one fetch serves every request while fresh");

    // Each key is pinned to one algorithm: the RSA key derived RS256, so PS256 is refused.
    let ps = token(Algorithm::PS256, "rsa_private.pem", Some("rsa-1"), &mfa_claims());
    assert_invalid(&bearer(&app, "/me", &ps).await, "algorithm_not_allowed");
    // A forged signature under a known kid.
    assert_invalid(&bearer(&app, "/me", &rsa2_token("rsa-1")).await, "bad_signature");
    assert_eq!(server.fetches(), 1);
}

#[tokio::test]
async fn token_without_kid_needs_exactly_one_fitting_key() {
    let server = JwksServer::start(serving(vec![rsa_jwk("a")])).await;
    let app = app_for(&server.url(), options());
    let no_kid = token(Algorithm::RS256, "rsa_private.pem", None, &mfa_claims());
    assert_eq!(bearer(&app, "/me", &no_kid).await.status, StatusCode::OK);

    let server = JwksServer::start(serving(vec![rsa_jwk("a"), rsa2_jwk("b")])).await;
    let app = app_for(&server.url(), options());
    assert_invalid(&bearer(&app, "/me", &no_kid).await, "unknown_key");

    // A published key without kid is not a wildcard for a token that names a kid.
    let mut kidless = rsa_jwk("x");
    kidless.as_object_mut().unwrap().remove("kid");
    let server = JwksServer::start(serving(vec![kidless])).await;
    let app = app_for(&server.url(), options());
    assert_invalid(&bearer(&app, "/me", &rsa_token("other")).await, "unknown_key");
    assert_eq!(bearer(&app, "/me", &no_kid).await.status, StatusCode::OK);
}

#[tokio::test]
async fn down_at_start_gives_503_then_recovers() {
    // Reserve a port, then close it: connections are refused until the server starts there.
    let reserved = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = reserved.local_addr().unwrap();
    drop(reserved);
    let app = app_for(&format!("http://{addr}/jwks"), options());

    assert_unavailable(&bearer(&app, "/me", &rsa_token("k1")).await);
    assert_unavailable(&bearer(&app, "/admin", &rsa_token("k1")).await);
    // Routes that need no key keep working.
    assert_eq!(bearer(&app, "/public", &rsa_token("k1")).await.status, StatusCode::OK);

    let listener = tokio::net::TcpListener::bind(addr).await.unwrap();
    let server = JwksServer::serve(listener, serving(vec![rsa_jwk("k1")]));
    let reply =
        until(&app, &rsa_token("k1"), |r| r.status != StatusCode::SERVICE_UNAVAILABLE).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    assert_eq!(server.fetches(), 1);
}

#[tokio::test]
async fn server_errors_give_503_and_recovery_is_automatic() {
    let server = JwksServer::start(Behaviour {
        status: StatusCode::INTERNAL_SERVER_ERROR,
        ..serving(vec![rsa_jwk("k1")])
    })
    .await;
    // A 1 s interval: the second request surely falls inside it, even on a loaded machine.
    let app = app_for(&server.url(), options().refetch_interval(Duration::from_secs(1)));
    assert_unavailable(&bearer(&app, "/me", &rsa_token("k1")).await);
    // Within the interval, no second fetch: the answer is immediate.
    assert_unavailable(&bearer(&app, "/me", &rsa_token("k1")).await);
    assert_eq!(server.fetches(), 1);

    server.set(|b| b.status = StatusCode::OK);
    let reply = until(&app, &rsa_token("k1"), |r| r.status == StatusCode::OK).await;
    assert_eq!(reply.json()["sub"], "user_123");
}

#[tokio::test]
async fn slow_server_times_out_with_503() {
    let server = JwksServer::start(Behaviour {
        delay: Duration::from_secs(3),
        ..serving(vec![rsa_jwk("k1")])
    })
    .await;
    let app = app_for(&server.url(), options().timeout(Duration::from_millis(200)));
    assert_unavailable(&bearer(&app, "/me", &rsa_token("k1")).await);
    assert_eq!(server.fetches(), 1);
}

#[tokio::test]
async fn malformed_or_oversized_bodies_give_503() {
    for body in [
        "{not json".to_owned(),
        "[]".to_owned(),
        json!({"keys": "nope"}).to_string(),
        json!({"keys": []}).to_string(),
        json!({"keys": [{"kty": "oct", "k": "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3JldA"}]})
            .to_string(),
        // A usable key set, but over the 256 KiB limit: only the limit can refuse it.
        json!({"keys": [rsa_jwk("k1")], "pad": "x".repeat(300 * 1024)}).to_string(),
    ] {
        let server =
            JwksServer::start(Behaviour { raw_body: Some(body), ..Behaviour::default() }).await;
        let app = app_for(&server.url(), options());
        assert_unavailable(&bearer(&app, "/me", &rsa_token("k1")).await);
        assert_eq!(server.fetches(), 1);
    }
    // The size limit is configurable.
    let server = JwksServer::start(serving(vec![rsa_jwk("k1")])).await;
    let app = app_for(&server.url(), options().max_body_bytes(64));
    assert_unavailable(&bearer(&app, "/me", &rsa_token("k1")).await);
}

#[tokio::test]
async fn one_bad_key_among_good_ones_is_skipped() {
    let secret = b"a-published-hmac-secret-that-is-long-enough";
    let oct = json!({"kty": "oct", "kid": "hmac", "alg": "HS256",
        "k": base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, secret)});
    let mut enc = rsa2_jwk("enc");
    enc["use"] = json!("enc");
    let server = JwksServer::start(serving(vec![
        json!({"kty": "RSA", "kid": "broken", "n": "***", "e": "AQAB"}),
        json!({"kid": "no-kty"}),
        oct,
        enc,
        rsa_jwk("good-rsa"),
        jwk(Algorithm::ES256, "ec256_private.pem", "good-ec", false),
    ]))
    .await;
    let app = app_for(&server.url(), options());
    assert_eq!(bearer(&app, "/me", &rsa_token("good-rsa")).await.status, StatusCode::OK);
    let ec = token(Algorithm::ES256, "ec256_private.pem", Some("good-ec"), &mfa_claims());
    assert_eq!(bearer(&app, "/me", &ec).await.status, StatusCode::OK);
    // The skipped keys verify nothing.
    let forged = hmac_token(&json!({"alg": "HS256", "kid": "hmac"}), &mfa_claims(), secret);
    assert_invalid(&bearer(&app, "/me", &forged).await, "unknown_key");
    assert_invalid(&bearer(&app, "/me", &rsa2_token("enc")).await, "unknown_key");
}

#[tokio::test]
async fn rotation_new_kid_is_accepted_after_one_refetch() {
    let server = JwksServer::start(serving(vec![rsa_jwk("k1")])).await;
    let app = app_for(&server.url(), options());
    assert_eq!(bearer(&app, "/me", &rsa_token("k1")).await.status, StatusCode::OK);
    assert_eq!(server.fetches(), 1);

    server.set(|b| b.keys.push(rsa2_jwk("k2")));
    // Wait out the refetch interval (a fixed bound, not a guess), then the new kid triggers
    // exactly one refetch and passes.
    tokio::time::sleep(INTERVAL + Duration::from_millis(50)).await;
    let reply = bearer(&app, "/admin", &rsa2_token("k2")).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    assert_eq!(server.fetches(), 2);
    assert_eq!(bearer(&app, "/me", &rsa_token("k1")).await.status, StatusCode::OK);
    assert_eq!(bearer(&app, "/me", &rsa2_token("k2")).await.status, StatusCode::OK);
    assert_eq!(server.fetches(), 2);
}

#[tokio::test]
async fn unknown_kid_within_the_interval_is_refused_without_fetching() {
    let server = JwksServer::start(serving(vec![rsa_jwk("k1")])).await;
    let app = app_for(&server.url(), options().refetch_interval(Duration::from_secs(60)));
    assert_eq!(bearer(&app, "/me", &rsa_token("k1")).await.status, StatusCode::OK);
    server.set(|b| b.keys.push(rsa2_jwk("k2")));
    assert_invalid(&bearer(&app, "/me", &rsa2_token("k2")).await, "unknown_key");
    assert_eq!(server.fetches(), 1);
}

#[tokio::test]
async fn removed_kid_is_rejected_after_the_next_refresh() {
    // max-age 0 is clamped to the 200 ms floor: the set expires quickly.
    let server = JwksServer::start(Behaviour {
        cache_control: Some("max-age=0".into()),
        ..serving(vec![rsa_jwk("k1"), rsa2_jwk("k2")])
    })
    .await;
    let app = app_for(&server.url(), options());
    assert_eq!(bearer(&app, "/me", &rsa_token("k1")).await.status, StatusCode::OK);

    server.set(|b| b.keys = vec![rsa2_jwk("k2")]);
    let reply = until(&app, &rsa_token("k1"), |r| r.status != StatusCode::OK).await;
    assert_invalid(&reply, "unknown_key");
    assert!(server.fetches() >= 2);
    assert_eq!(bearer(&app, "/me", &rsa2_token("k2")).await.status, StatusCode::OK);
}

#[tokio::test]
async fn max_age_is_honoured_and_clamped() {
    // max-age 3600 within [200 ms, 24 h]: no refetch while fresh. The default TTL (used when
    // max-age is missing or ignored) is one interval, so ignoring max-age would refetch here.
    let server = JwksServer::start(serving(vec![rsa_jwk("k1")])).await;
    let app = app_for(&server.url(), options().default_ttl(INTERVAL));
    for _ in 0..5 {
        assert_eq!(bearer(&app, "/me", &rsa_token("k1")).await.status, StatusCode::OK);
        tokio::time::sleep(Duration::from_millis(60)).await;
    }
    assert_eq!(server.fetches(), 1);

    // The ceiling wins over a long max-age: a background refresh happens.
    let server = JwksServer::start(serving(vec![rsa_jwk("k1")])).await;
    let app = app_for(&server.url(), options().max_ttl(INTERVAL));
    let started = server.fetches();
    assert_eq!(started, 0);
    let deadline = Instant::now() + Duration::from_secs(5);
    while server.fetches() < 2 {
        assert_eq!(bearer(&app, "/me", &rsa_token("k1")).await.status, StatusCode::OK);
        assert!(Instant::now() < deadline, "no background refresh");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn failed_refresh_keeps_serving_the_last_good_keys() {
    let server = JwksServer::start(Behaviour {
        cache_control: Some("max-age=0".into()),
        ..serving(vec![rsa_jwk("k1")])
    })
    .await;
    let app = app_for(&server.url(), options().max_stale(Duration::from_secs(60)));
    assert_eq!(bearer(&app, "/me", &rsa_token("k1")).await.status, StatusCode::OK);
    server.set(|b| b.status = StatusCode::INTERNAL_SERVER_ERROR);
    // Keep sending until at least two refreshes have failed; every request still passes.
    let deadline = Instant::now() + Duration::from_secs(5);
    while server.fetches() < 3 {
        assert_eq!(bearer(&app, "/me", &rsa_token("k1")).await.status, StatusCode::OK);
        assert!(Instant::now() < deadline, "no refresh attempts");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(bearer(&app, "/me", &rsa_token("k1")).await.status, StatusCode::OK);
}

#[tokio::test]
async fn staleness_is_bounded_then_503() {
    let server = JwksServer::start(Behaviour {
        cache_control: Some("max-age=0".into()),
        ..serving(vec![rsa_jwk("k1")])
    })
    .await;
    let app = app_for(&server.url(), options().max_stale(Duration::from_millis(100)));
    assert_eq!(bearer(&app, "/me", &rsa_token("k1")).await.status, StatusCode::OK);
    server.set(|b| b.status = StatusCode::INTERNAL_SERVER_ERROR);
    let reply = until(&app, &rsa_token("k1"), |r| r.status != StatusCode::OK).await;
    assert_unavailable(&reply);
    // And back once the endpoint answers.
    server.set(|b| b.status = StatusCode::OK);
    until(&app, &rsa_token("k1"), |r| r.status == StatusCode::OK).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flood_of_unknown_kids_costs_at_most_one_fetch_per_interval() {
    let server = JwksServer::start(serving(vec![rsa_jwk("k1")])).await;
    let app = app_for(&server.url(), options());
    assert_eq!(bearer(&app, "/me", &rsa_token("k1")).await.status, StatusCode::OK);
    assert_eq!(server.fetches(), 1);

    let started = Instant::now();
    let tasks: Vec<_> = (0..1000)
        .map(|i| {
            let app = app.clone();
            // The kid is looked up before any signature check: a dummy signature will do,
            // and spares 1,000 RSA signatures.
            let header = json!({"alg": "RS256", "kid": format!("random-{i}")});
            let token = raw_token(&header, &claims(), "AAAA");
            tokio::spawn(async move { bearer(&app, "/me", &token).await })
        })
        .collect();
    for task in tasks {
        assert_invalid(&task.await.unwrap(), "unknown_key");
    }
    let elapsed = started.elapsed();
    let intervals = (elapsed.as_millis() / INTERVAL.as_millis()) as usize + 1;
    let refetches = server.fetches() - 1;
    assert!(
        refetches <= intervals,
        "{refetches} refetches in {elapsed:?} (at most {intervals} allowed)"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hundred_concurrent_first_requests_share_one_fetch() {
    let server = JwksServer::start(Behaviour {
        delay: Duration::from_millis(100),
        ..serving(vec![rsa_jwk("k1")])
    })
    .await;
    let app = app_for(&server.url(), options());
    let token = rsa_token("k1");
    let tasks: Vec<_> = (0..100)
        .map(|_| {
            let (app, token) = (app.clone(), token.clone());
            tokio::spawn(async move { bearer(&app, "/admin", &token).await })
        })
        .collect();
    for task in tasks {
        let reply = task.await.unwrap();
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    }
    assert_eq!(server.fetches(), 1);
}

#[tokio::test]
async fn refresh_fails_fast_and_warms_the_cache() {
    let server = JwksServer::start(Behaviour {
        status: StatusCode::BAD_GATEWAY,
        ..serving(vec![rsa_jwk("k1"), rsa2_jwk("k2")])
    })
    .await;
    let keys = JwksKeys::with_options(&server.url(), options()).unwrap();
    assert!(matches!(keys.refresh().await, Err(JwksError::Fetch(_))));
    server.set(|b| b.status = StatusCode::OK);
    assert_eq!(keys.refresh().await, Ok(2));
    let app = router(AuthLayer::builder(IssuerKeys::new(keys, ISSUER)).build().unwrap());
    assert_eq!(bearer(&app, "/me", &rsa_token("k1")).await.status, StatusCode::OK);
    assert_eq!(server.fetches(), 2);
}

#[test]
fn urls_must_be_https_or_loopback() {
    for url in ["http://idp.example/jwks", "http://10.1.2.3/jwks", "ftp://idp.example/jwks"] {
        assert!(matches!(JwksKeys::new(url), Err(JwksError::Url(UrlError::Insecure(_)))), "{url}");
    }
    assert!(matches!(JwksKeys::new("jwks.json"), Err(JwksError::Url(UrlError::Invalid(_)))));
    assert!(JwksKeys::new("https://idp.example/jwks").is_ok());
    assert!(JwksKeys::new("http://127.0.0.1:9/jwks").is_ok());
    assert!(JwksKeys::new("http://[::1]:9/jwks").is_ok());
    assert!(JwksKeys::new("http://localhost:9/jwks").is_ok());
    assert!(JwksKeys::new("http://localhost.:9/jwks").is_ok());
    for bad in [
        "http://localhost..:9/jwks",
        "http://127.0.0.1.evil.example/jwks",
        "http://127.0.0.1@evil.example/jwks",
        "https://user:secret@idp.example/jwks",
        "https://token@idp.example/jwks",
        "ftp://idp.example/jwks",
    ] {
        let err = JwksKeys::new(bad).unwrap_err();
        assert!(matches!(err, JwksError::Url(UrlError::Insecure(_))), "{bad}: {err:?}");
        assert!(!err.to_string().contains("secret"), "credentials echoed: {err}");
    }
}

#[test]
fn a_remote_key_set_comes_with_its_issuer() {
    // The key source is chosen up front: a JWKS enters a layer only through an IssuerKeys, which
    // pins the issuer; mixing sources or forgetting the issuer cannot be written.
    let keys = JwksKeys::new("https://idp.example/jwks").unwrap();
    let idp = IssuerKeys::new(keys, "https://idp.example");
    assert_eq!(idp.issuers(), ["https://idp.example"]);
    let layer = AuthLayer::builder(idp).issuer("https://second.idp.example").build().unwrap();
    let debug = format!("{layer:?}");
    assert!(debug.contains("https://idp.example") && debug.contains("second.idp"), "{debug}");
}

#[test]
fn workos_preset() {
    let workos = IssuerKeys::workos("client_01ABC").unwrap();
    assert_eq!(workos.keys().url(), "https://api.workos.com/sso/jwks/client_01ABC");
    assert_eq!(
        workos.issuers(),
        ["https://api.workos.com", "https://api.workos.com/user_management/client_01ABC"]
    );
    for bad in ["", "../evil", "a/b", "x?y"] {
        assert!(IssuerKeys::workos(bad).is_err(), "{bad:?}");
    }
    assert!(AuthLayer::builder(workos).build().is_ok());
}

// ---- OIDC discovery ----

fn discovery_doc(server: &JwksServer, issuer: &str) -> Value {
    json!({"issuer": issuer, "jwks_uri": server.url(), "token_endpoint": format!("{}/token", server.base)})
}

fn claims_from(issuer: &str) -> Value {
    let mut c = mfa_claims();
    c["iss"] = json!(issuer);
    c
}

#[tokio::test]
async fn discovery_builds_keys_and_issuer() {
    let server = JwksServer::start(serving(vec![rsa_jwk("k1")])).await;
    let issuer = server.base.clone();
    server.set(|b| b.openid_configuration = Some(discovery_doc(&server, &issuer)));
    let idp = IssuerKeys::discover_with(&issuer, options()).await.unwrap();
    assert_eq!(idp.issuers(), std::slice::from_ref(&issuer));
    assert_eq!(idp.keys().url(), server.url());
    let app = router(AuthLayer::builder(idp).build().unwrap());

    let ok = token(Algorithm::RS256, "rsa_private.pem", Some("k1"), &claims_from(&issuer));
    assert_eq!(bearer(&app, "/admin", &ok).await.status, StatusCode::OK);
    // `iss` is validated against the discovered issuer.
    assert_invalid(&bearer(&app, "/me", &rsa_token("k1")).await, "wrong_issuer");
    let slash =
        token(Algorithm::RS256, "rsa_private.pem", Some("k1"), &claims_from(&format!("{issuer}/")));
    assert_invalid(&bearer(&app, "/me", &slash).await, "wrong_issuer");
}

#[tokio::test]
async fn discovery_falls_back_to_rfc8414() {
    let server = JwksServer::start(serving(vec![rsa_jwk("k1")])).await;
    let issuer = server.base.clone();
    server.set(|b| b.oauth_metadata = Some(discovery_doc(&server, &issuer)));
    let idp = IssuerKeys::discover_with(&issuer, options()).await.unwrap();
    assert_eq!(idp.keys().url(), server.url());
}

#[tokio::test]
async fn discovery_refuses_a_different_issuer() {
    let server = JwksServer::start(serving(vec![rsa_jwk("k1")])).await;
    let issuer = server.base.clone();
    for found in [format!("{issuer}/"), "https://evil.example".to_owned()] {
        server.set(|b| b.openid_configuration = Some(discovery_doc(&server, &found)));
        let err = IssuerKeys::discover_with(&issuer, options()).await.unwrap_err();
        assert_eq!(err, DiscoveryError::IssuerMismatch { expected: issuer.clone(), found });
    }
}

#[tokio::test]
async fn discovery_failures() {
    let server = JwksServer::start(serving(vec![rsa_jwk("k1")])).await;
    let issuer = server.base.clone();
    // No document at either location.
    assert!(matches!(
        IssuerKeys::discover_with(&issuer, options()).await,
        Err(DiscoveryError::Fetch(_))
    ));
    // A jwks_uri that is plain http to a remote host.
    server.set(|b| {
        b.openid_configuration =
            Some(json!({"issuer": issuer, "jwks_uri": "http://idp.example/jwks"}))
    });
    assert!(matches!(
        IssuerKeys::discover_with(&issuer, options()).await,
        Err(DiscoveryError::Url(UrlError::Insecure(_)))
    ));
    // A document without jwks_uri.
    server.set(|b| b.openid_configuration = Some(json!({"issuer": issuer})));
    assert!(matches!(
        IssuerKeys::discover_with(&issuer, options()).await,
        Err(DiscoveryError::Fetch(_))
    ));
    // The issuer URL itself must be https or loopback.
    assert!(matches!(
        IssuerKeys::discover("http://idp.example").await,
        Err(DiscoveryError::Url(UrlError::Insecure(_)))
    ));
}

/// A loopback server whose every path answers `307` to `target(n)` (`n` counts requests);
/// returns its base URL and the request counter.
async fn redirector(
    target: impl Fn(usize) -> String + Send + Sync + 'static,
) -> (String, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let hops = Arc::new(AtomicUsize::new(0));
    let counter = hops.clone();
    let target = Arc::new(target);
    let app = Router::new().fallback(move || {
        let (hops, target) = (hops.clone(), target.clone());
        async move {
            let n = hops.fetch_add(1, Ordering::SeqCst);
            (StatusCode::TEMPORARY_REDIRECT, [("location", target(n))]).into_response()
        }
    });
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (base, counter)
}

#[tokio::test]
async fn redirects_follow_the_url_rule() {
    let server = JwksServer::start(serving(vec![rsa_jwk("k1")])).await;
    // To another loopback URL: followed.
    let url = server.url();
    let (hop, _) = redirector(move |_| url.clone()).await;
    let app = app_for(&format!("{hop}/jwks"), options());
    assert_eq!(bearer(&app, "/me", &rsa_token("k1")).await.status, StatusCode::OK);
    assert_eq!(server.fetches(), 1);

    // To plain http on a non-loopback host: refused by the redirect rule itself.
    let (hop, _) = redirector(|_| "http://keys.example.invalid/jwks".to_owned()).await;
    let keys = JwksKeys::with_options(&format!("{hop}/jwks"), options()).unwrap();
    let err = keys.refresh().await.unwrap_err().to_string();
    assert!(err.contains("redirect"), "{err}");
    let app = router(AuthLayer::builder(IssuerKeys::new(keys, ISSUER)).build().unwrap());
    assert_unavailable(&bearer(&app, "/me", &rsa_token("k1")).await);

    // An endless chain: the original request and 3 redirects, then it gives up.
    let chain = Arc::new(std::sync::OnceLock::<String>::new());
    let next = chain.clone();
    let (hop, hops) = redirector(move |n| format!("{}/hop{n}", next.get().unwrap())).await;
    chain.set(hop.clone()).unwrap();
    let keys = JwksKeys::with_options(&format!("{hop}/jwks"), options()).unwrap();
    let err = keys.refresh().await.unwrap_err().to_string();
    assert!(err.contains("redirect"), "{err}");
    assert_eq!(hops.load(Ordering::SeqCst), 4);
}

/// A `Write` into a shared buffer, for capturing log lines.
#[derive(Clone, Default)]
struct LogBuffer(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for LogBuffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn a_skipped_key_is_logged_once() {
    let logs = LogBuffer::default();
    let writer = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::WARN)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    init_tracing();
    let _guard = tracing::subscriber::set_default(subscriber);

    let server = JwksServer::start(serving(vec![
        json!({"kty": "RSA", "kid": "broken", "n": "***", "e": "AQAB"}),
        json!({"kty": "oct", "kid": "hmac", "k": "c2VjcmV0"}),
        rsa_jwk("good"),
    ]))
    .await;
    let keys = JwksKeys::with_options(&server.url(), options()).unwrap();
    for _ in 0..3 {
        assert_eq!(keys.refresh().await.unwrap(), 1);
    }
    assert_eq!(server.fetches(), 3);
    let text = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    let skipped: Vec<&str> = text.lines().filter(|l| l.contains("JWKS key skipped")).collect();
    assert_eq!(skipped.len(), 2, "one line per bad key, not per fetch:\n{text}");
    assert!(
        skipped.iter().any(|l| l.contains("broken")) && skipped.iter().any(|l| l.contains("hmac"))
    );
}

#[tokio::test]
async fn retry_after_says_when_the_next_fetch_may_happen() {
    let server = JwksServer::start(Behaviour {
        status: StatusCode::INTERNAL_SERVER_ERROR,
        ..serving(vec![rsa_jwk("k1")])
    })
    .await;
    let app = app_for(&server.url(), options().refetch_interval(Duration::from_secs(60)));
    let reply = bearer(&app, "/me", &rsa_token("k1")).await;
    assert_unavailable(&reply);
    let retry: u64 = reply.headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((50..=60).contains(&retry), "Retry-After {retry}");
    assert!(reply.json()["detail"].is_string());
}

#[tokio::test]
async fn a_key_that_leaves_the_set_ends_its_cached_tokens_at_once() {
    let server = JwksServer::start(serving(vec![rsa_jwk("k1"), rsa2_jwk("k2")])).await;
    let keys = JwksKeys::with_options(&server.url(), options()).unwrap();
    let layer = AuthLayer::builder(IssuerKeys::new(keys.clone(), ISSUER)).build().unwrap();
    let app = router(layer.clone());
    // One token each: signing again in another second would make another token.
    let (t1, t2) = (rsa_token("k1"), rsa2_token("k2"));
    assert_eq!(bearer(&app, "/me", &t1).await.status, StatusCode::OK);
    assert_eq!(bearer(&app, "/me", &t1).await.status, StatusCode::OK);
    assert_eq!(layer.cache_stats().unwrap().hits, 1);
    // An unchanged refetch keeps the entry: the key's identity is its published material.
    assert_eq!(keys.refresh().await.unwrap(), 2);
    assert_eq!(bearer(&app, "/me", &t1).await.status, StatusCode::OK);
    assert_eq!(layer.cache_stats().unwrap().hits, 2);

    server.set(|b| b.keys = vec![rsa2_jwk("k2")]);
    assert_eq!(keys.refresh().await.unwrap(), 1);
    // The very next request with the cached token is refused: no stale hit.
    assert_invalid(&bearer(&app, "/me", &t1).await, "unknown_key");
    assert_eq!(layer.cache_stats().unwrap().hits, 2);
    assert_eq!(bearer(&app, "/me", &t2).await.status, StatusCode::OK);
}

#[tokio::test]
async fn a_cached_kidless_token_ends_when_a_second_key_makes_its_choice_ambiguous() {
    // A token without `kid` is verified by the only RS256 key. Once the set publishes a second
    // RS256 key, the verifier no longer guesses (unknown_key): a cache hit must not either.
    let server = JwksServer::start(serving(vec![rsa_jwk("k1")])).await;
    let keys = JwksKeys::with_options(&server.url(), options()).unwrap();
    let layer = AuthLayer::builder(IssuerKeys::new(keys.clone(), ISSUER)).build().unwrap();
    let app = router(layer.clone());
    let kidless = token(Algorithm::RS256, "rsa_private.pem", None, &mfa_claims());
    assert_eq!(bearer(&app, "/me", &kidless).await.status, StatusCode::OK);
    assert_eq!(bearer(&app, "/me", &kidless).await.status, StatusCode::OK);
    assert_eq!(layer.cache_stats().unwrap().hits, 1);
    server.set(|b| b.keys.push(rsa2_jwk("k2")));
    assert_eq!(keys.refresh().await.unwrap(), 2);
    assert_invalid(&bearer(&app, "/me", &kidless).await, "unknown_key");
    assert_eq!(layer.cache_stats().unwrap().hits, 1);
}
