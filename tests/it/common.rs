//! Shared test helpers: real keys from `tests/fixtures/keys`, token signing, and a router.

use std::time::{SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Body;
use axum::routing::get;
use axum_session_mfa::{AuthContext, AuthLayer, AuthLayerBuilder, Key, RequireAuth, RequireMfa};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use http::{HeaderMap, Request, StatusCode};
use http_body_util::BodyExt;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};
use tower::ServiceExt;

pub const HMAC_SECRET: &[u8] =
    b"test-secret-that-is-at-least-64-bytes-long-so-it-fits-hs512-too-0123456789";
pub const ISSUER: &str = "https://issuer.test";

pub fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!("{}/tests/fixtures/keys/{name}", env!("CARGO_MANIFEST_DIR")))
        .expect("fixture key")
}

pub fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs()
}

/// The private key that signs `alg`, and the matching public verification key.
pub fn key_pair(alg: Algorithm) -> (EncodingKey, Key) {
    match alg {
        Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512 => {
            (EncodingKey::from_secret(HMAC_SECRET), Key::hmac(alg, HMAC_SECRET).unwrap())
        }
        Algorithm::RS256
        | Algorithm::RS384
        | Algorithm::RS512
        | Algorithm::PS256
        | Algorithm::PS384
        | Algorithm::PS512 => (
            EncodingKey::from_rsa_pem(&fixture("rsa_private.pem")).unwrap(),
            Key::rsa_pem(alg, &fixture("rsa_public.pem")).unwrap(),
        ),
        Algorithm::ES256 => (
            EncodingKey::from_ec_pem(&fixture("ec256_private.pem")).unwrap(),
            Key::ec_pem(alg, &fixture("ec256_public.pem")).unwrap(),
        ),
        Algorithm::ES384 => (
            EncodingKey::from_ec_pem(&fixture("ec384_private.pem")).unwrap(),
            Key::ec_pem(alg, &fixture("ec384_public.pem")).unwrap(),
        ),
        Algorithm::EdDSA => (
            EncodingKey::from_ed_pem(&fixture("ed25519_private.pem")).unwrap(),
            Key::ed25519_pem(&fixture("ed25519_public.pem")).unwrap(),
        ),
        other => panic!("no fixture for {other:?}"),
    }
}

/// Standard claims for a password-only session, valid for an hour.
pub fn claims() -> Value {
    let now = now();
    json!({
        "iss": ISSUER,
        "sub": "user_123",
        "sid": "session_abc",
        "org_id": "org_42",
        "role": "admin",
        "permissions": ["reports:read", "users:write"],
        "amr": ["pwd"],
        "acr": "urn:example:loa:1",
        "auth_time": now - 10,
        "iat": now - 10,
        "exp": now + 3600,
    })
}

/// Claims of a session that passed MFA.
pub fn mfa_claims() -> Value {
    let mut c = claims();
    c["amr"] = json!(["pwd", "mfa"]);
    c
}

pub fn sign_with(header: &Header, claims: &Value, key: &EncodingKey) -> String {
    axum_session_mfa::install_crypto_provider();
    jsonwebtoken::encode(header, claims, key).unwrap()
}

/// A real token signed with the fixture key for `alg`.
pub fn sign(alg: Algorithm, claims: &Value) -> String {
    let (key, _) = key_pair(alg);
    sign_with(&Header::new(alg), claims, &key)
}

pub fn hs256(claims: &Value) -> String {
    sign(Algorithm::HS256, claims)
}

/// A compact JWS built by hand from a header and claims, with the given signature segment.
pub fn raw_token(header: &Value, claims: &Value, signature: &str) -> String {
    let h = URL_SAFE_NO_PAD.encode(serde_json::to_vec(header).unwrap());
    let c = URL_SAFE_NO_PAD.encode(serde_json::to_vec(claims).unwrap());
    format!("{h}.{c}.{signature}")
}

/// HMAC-signs an arbitrary header (for attack tokens) with `secret`.
pub fn hmac_token(header: &Value, claims: &Value, secret: &[u8]) -> String {
    let h = URL_SAFE_NO_PAD.encode(serde_json::to_vec(header).unwrap());
    let c = URL_SAFE_NO_PAD.encode(serde_json::to_vec(claims).unwrap());
    let message = format!("{h}.{c}");
    axum_session_mfa::install_crypto_provider();
    let sig = jsonwebtoken::crypto::sign(
        message.as_bytes(),
        &EncodingKey::from_secret(secret),
        Algorithm::HS256,
    )
    .unwrap();
    format!("{message}.{sig}")
}

pub fn builder_for(alg: Algorithm) -> AuthLayerBuilder {
    AuthLayer::builder(key_pair(alg).1).issuer(ISSUER)
}

async fn me(ctx: AuthContext) -> axum::Json<AuthContext> {
    axum::Json(ctx)
}

async fn maybe(ctx: Option<AuthContext>) -> String {
    ctx.map_or_else(|| "anonymous".to_owned(), |c| c.sub().to_owned())
}

/// The test router: `/public`, `/maybe` (Option extractor), `/me` (extractor), `/members`
/// (RequireAuth), `/admin` (RequireMfa).
pub fn router(layer: AuthLayer) -> Router {
    Router::new()
        .route("/admin", get(|| async { "admin ok" }))
        .route_layer(RequireMfa::new())
        .merge(
            Router::new()
                .route("/members", get(|| async { "members ok" }))
                .route_layer(RequireAuth::new()),
        )
        .route("/me", get(me))
        .route("/maybe", get(maybe))
        .route("/public", get(|| async { "public ok" }))
        .layer(layer)
}

pub fn default_app() -> Router {
    router(builder_for(Algorithm::HS256).build().unwrap())
}

pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The problem+json `code` member.
    pub fn code(&self) -> String {
        self.json()["code"].as_str().unwrap_or_default().to_owned()
    }

    pub fn www_authenticate(&self) -> String {
        self.headers
            .get(http::header::WWW_AUTHENTICATE)
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default()
    }
}

/// One test binary runs every test in one process, on many threads: tracing caches per call
/// site whether anyone listens, and a thread-local subscriber set by one test (to capture audit
/// events) can race another test's first hit of that call site. A global subscriber that takes
/// everything (and writes it nowhere) makes every call site always dispatch, so a test's own
/// `set_default` subscriber sees all its events. Called before any request is sent.
pub fn init_tracing() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let sink = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_writer(std::io::sink)
            .finish();
        tracing::subscriber::set_global_default(sink).expect("the only global subscriber");
    });
}

pub async fn send(app: &Router, req: Request<Body>) -> Reply {
    init_tracing();
    let res = app.clone().oneshot(req).await.unwrap();
    let status = res.status();
    let headers = res.headers().clone();
    let body = res.into_body().collect().await.unwrap().to_bytes().to_vec();
    Reply { status, headers, body }
}

pub fn get_req(path: &str) -> http::request::Builder {
    Request::builder().uri(path)
}

pub async fn bearer(app: &Router, path: &str, token: &str) -> Reply {
    send(
        app,
        get_req(path)
            .header("authorization", format!("Bearer {token}"))
            .body(Body::empty())
            .unwrap(),
    )
    .await
}

pub async fn cookie(app: &Router, path: &str, cookie_header: &str) -> Reply {
    send(app, get_req(path).header("cookie", cookie_header).body(Body::empty()).unwrap()).await
}

/// Asserts a 401 `invalid_request` rejection (RFC 6750 3.1) with the given problem code.
pub fn assert_invalid_request(reply: &Reply, code: &str) {
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "body: {}", reply.text());
    assert_eq!(reply.code(), code, "body: {}", reply.text());
    assert!(
        reply.www_authenticate().starts_with("Bearer error=\"invalid_request\""),
        "challenge: {}",
        reply.www_authenticate()
    );
}

/// Asserts a 401 `invalid_token` rejection with the given problem code.
pub fn assert_invalid(reply: &Reply, code: &str) {
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "body: {}", reply.text());
    assert_eq!(reply.code(), code, "body: {}", reply.text());
    assert!(
        reply.www_authenticate().starts_with("Bearer error=\"invalid_token\""),
        "challenge: {}",
        reply.www_authenticate()
    );
    assert_eq!(reply.headers["content-type"], "application/problem+json");
}

/// What the extractor `E` gives a handler behind `layer` for a request carrying `token` as a
/// bearer token.
async fn extracted<E>(layer: AuthLayer, token: &str) -> E
where
    E: axum::extract::FromRequestParts<()> + Send + 'static,
{
    let seen = std::sync::Arc::new(std::sync::Mutex::new(None));
    let store = seen.clone();
    let handler = move |value: E| async move {
        *store.lock().unwrap() = Some(value);
    };
    let app = Router::new().route("/", get(handler)).layer(layer);
    bearer(&app, "/", token).await;
    let value = seen.lock().unwrap().take();
    value.expect("the handler ran")
}

/// The outcome `layer` records for a request carrying `token` as a bearer token.
pub async fn outcome_of(layer: AuthLayer, token: &str) -> axum_session_mfa::AuthOutcome {
    extracted(layer, token).await
}

/// The rejection an extractor behind `layer` gets for a request carrying `token`.
pub async fn rejection_of(layer: AuthLayer, token: &str) -> axum_session_mfa::Rejection {
    let result: Result<AuthContext, axum_session_mfa::Rejection> = extracted(layer, token).await;
    result.expect_err("the extractor rejected")
}
