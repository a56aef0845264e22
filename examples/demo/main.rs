//! The runnable demo: `cargo run --example demo`.
//!
//! This file is the part to read: the layer, the guards and the routes. `config.rs` reads the
//! environment, `dev_issuer.rs` is a stand-in identity provider, `pages.rs` the HTML.
//!
//! Environment contract (all optional):
//!
//! | variable | meaning |
//! |---|---|
//! | `DEMO_ADDR` | listen address, default `127.0.0.1:3000` |
//! | `AUTH_HS256_SECRET` | verify HS256 tokens with this shared secret (32+ bytes) |
//! | `AUTH_PUBLIC_KEY_PEM` | path to a public key PEM (RSA, EC or Ed25519) |
//! | `AUTH_ALG` | the algorithm for that key where its type allows several (RS256, PS256, ...) |
//! | `AUTH_ISSUER` | comma-separated accepted issuers |
//! | `AUTH_AUDIENCE` | comma-separated accepted audiences (optional; not with sign-in, where `AUTH_RESOURCE` is the audience) |
//! | `AUTH_COOKIE` | session cookie name, default `session` (`wos-session` with WorkOS sign-in, or with `AUTH_IRON_PASSWORD` unless an OpenID Provider signs users in); Bearer tokens are accepted too |
//! | `AUTH_JWKS_URL` | verify with keys from this JWKS URL (cached, rotated); requires `AUTH_ISSUER` |
//! | `AUTH_OIDC_ISSUER` | OIDC discovery from this issuer URL (keys and accepted issuer); with `AUTH_CLIENT_ID` and `AUTH_CLIENT_SECRET` it also signs users in (the `/auth/*` routes) |
//! | `AUTH_WORKOS_CLIENT_ID` | the WorkOS preset: its JWKS and issuers for this client id; with `AUTH_CLIENT_SECRET` (the API key) it also signs users in with AuthKit |
//! | `AUTH_CLIENT_ID` | sign-in: this application's client id at `AUTH_OIDC_ISSUER` |
//! | `AUTH_CLIENT_SECRET` | sign-in: the client secret (`AUTH_OIDC_ISSUER`) or the WorkOS API key (`AUTH_WORKOS_CLIENT_ID`) |
//! | `AUTH_REDIRECT_URI` | sign-in: the callback URL registered at the provider, default `http://<DEMO_ADDR>/auth/callback` (its path is the callback route) |
//! | `AUTH_SCOPES` | sign-in, OpenID only: space-separated scopes, default `openid profile email offline_access` |
//! | `AUTH_RESOURCE` | sign-in, OpenID only: RFC 8707 resource to ask tokens for; access tokens must then carry it as `aud` |
//! | `AUTH_WORKOS_API_URL` | sign-in, WorkOS only: another API base URL for the requests (a proxy or a stand-in); the accepted issuers stay WorkOS's |
//! | `AUTH_IRON_PASSWORD` | read WorkOS AuthKit `wos-session` iron-sealed cookies (32+ chars); the cookie name then defaults to `wos-session`, and the development issuer hands out sealed cookies (its tokens carry `amr`; real WorkOS tokens do not). Required for sign-in: it seals the session cookie |
//! | `AUTH_STEP_UP_URL` | where browsers that fail a policy are sent (default: the dev issuer's page, or `/auth/login?step_up=1` with sign-in) |
//! | `AUTH_REDIS_URL` | share revocations (and, with sign-in, refresh leases) with every demo instance on this Redis (`redis://127.0.0.1:6379`, or `rediss://` for TLS); needs the `redis` feature. Without it revocations stay in this process |
//! | `AUTH_REDIS_CA_FILE` | with a `rediss://` `AUTH_REDIS_URL`: the PEM of the CA that signed the Redis server's certificate, trusted instead of the system's roots |
//!
//! Set at most one key source (`AUTH_OIDC_ISSUER`, `AUTH_WORKOS_CLIENT_ID`, `AUTH_JWKS_URL`,
//! `AUTH_HS256_SECRET`, `AUTH_PUBLIC_KEY_PEM`). With none, a development issuer runs inside the
//! demo with a key generated at start, and `/` offers sign-in as a password-only session or with
//! MFA. Any other `AUTH_*` variable (a typo), one that is set but blank, or a combination that
//! does not fit (a client secret without its client id, sign-in settings without a provider to
//! sign in with, sign-in without `AUTH_IRON_PASSWORD`) stops the demo with a message naming it
//! (exit status 2): it never falls back to minting its own tokens when you meant to configure a
//! key.
//!
//! Routes: `GET /` (home: the session and the buttons that fit it), `GET /health`, `GET /me`
//! (the `AuthContext` as JSON, 401 without a session), `GET /admin` (behind `RequireMfa`),
//! `GET /admin/recent` (MFA within 300 s; with WorkOS, which sends no `amr`, a sign-in within
//! 300 s: `RequireRecentAuth`). `/admin` and `/admin/recent` answer browsers with a page and
//! API clients with JSON. With sign-in: `GET /auth/login`, `GET /auth/callback`,
//! `GET`/`POST /auth/logout`, `GET /auth/session` (and `POST /auth/backchannel-logout`, OpenID
//! Back-Channel Logout). `POST /admin/revoke` (behind `RequireMfa`) takes `{"sid": "..."}` or
//! `{"sub": "..."}` as `Content-Type: application/json` (else 415) and answers 204: that
//! session, or every session of that user signed in until now, is refused from then on, on
//! every instance sharing `AUTH_REDIS_URL`. Anyone may revoke their own `sid` or `sub`; anyone
//! else's needs the admin role (the token's `role` is `admin`, or its `roles` has it), else 403
//! `forbidden`; an empty `sid` or `sub`, or one over 255 bytes, is 400 `invalid_id`. Every
//! unsafe request (`POST /admin/revoke`, `POST /auth/logout`, `POST /dev/*`) from another
//! origin is refused with 403 `cross_origin_request` (`CrossOriginProtectionLayer`; the
//! back-channel logout, which servers post, excepted). `/me` and every answer showing the
//! session carry `Cache-Control: no-store`. For the development issuer:
//! `POST /dev/login`, `POST /dev/logout`, `GET /dev/token`, `GET`/`POST /dev/step-up` (upgrades
//! the session: `mfa` and a fresh `auth_time`).

mod config;
mod dev_issuer;
mod pages;

use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
#[cfg(feature = "lifecycle")]
use axum_session_mfa::lifecycle::Sessions;
use axum_session_mfa::store::{MemoryStore, RedisStore, Store};
use axum_session_mfa::{
    AuthContext, AuthLayer, AuthLayerBuilder, CrossOriginProtectionLayer, DenyRule, KeySource,
    MAX_ID_BYTES, MfaPolicy, RejectionKind, RequireMfa, RequireRecentAuth, Revocations,
    RevokeError, TokenSource, safe_return_to,
};
use serde::Deserialize;
use serde_json::json;

use config::Config;
use dev_issuer::DevIssuer;
use pages::{SignIn, Site};

/// How long ago the last sign-in may be for `/admin/recent`.
const RECENT: Duration = Duration::from_secs(300);

/// The role that may revoke other users' sessions.
const ADMIN_ROLE: &str = "admin";

/// Who signs users in.
enum Mode {
    /// The built-in development issuer (no key configured): `/`, `/dev/*`.
    Dev(Arc<DevIssuer>),
    /// The crate's session lifecycle with an identity provider: `/auth/*`. The redirect URI
    /// is kept for the banner.
    #[cfg(feature = "lifecycle")]
    Sessions(Sessions, String),
    /// Nobody here: tokens come from elsewhere, the demo only verifies them.
    Verify,
}

/// The layer for tokens from a configured key or the development issuer: where the token is,
/// which keys to trust, and where browsers go.
fn key_layer(config: &Config, keys: KeySource, dev: bool) -> AuthLayerBuilder {
    let mut auth = AuthLayer::builder(keys)
        .sources([TokenSource::cookie(&config.cookie), TokenSource::Bearer]);
    if let Some(passwords) = &config.authkit {
        auth = auth.authkit(passwords.clone()); // `wos-session` cookies are iron seals
    }
    if dev {
        // Signed-out browsers go to the dev issuer's sign-in page, and come back afterwards;
        // those that fail a policy to its step-up page (unless AUTH_STEP_UP_URL says otherwise).
        auth = auth.issuer(dev_issuer::ISSUER).login_redirect("/").step_up_redirect("/dev/step-up");
    }
    auth
}

/// What every mode adds to the layer: the accepted issuers and audiences, and how to answer
/// browsers (with sign-in, the sessions take it and build the layer with it).
#[derive(Clone)]
struct Answers {
    issuers: Vec<String>,
    audiences: Vec<String>,
    step_up_url: Option<String>,
    workos: bool,
}

impl Answers {
    fn of(config: &Config) -> Self {
        Self {
            issuers: config.issuers.clone(),
            audiences: config.audiences.clone(),
            step_up_url: config.step_up_url.clone(),
            workos: config.workos,
        }
    }

    fn apply(self, mut auth: AuthLayerBuilder) -> AuthLayerBuilder {
        for issuer in &self.issuers {
            auth = auth.issuer(issuer);
        }
        for audience in &self.audiences {
            auth = auth.audience(audience);
        }
        if let Some(url) = &self.step_up_url {
            auth = auth.step_up_redirect(url);
        }
        if self.workos {
            // WorkOS access tokens carry no `amr`: sending a browser to sign in again can never
            // satisfy RequireMfa, so it gets a page that says so instead of going round in circles.
            auth = auth.on_reject(|rejection| match (rejection.kind(), rejection.navigation()) {
                (RejectionKind::InsufficientAuthentication(denial), Some(path))
                    if matches!(denial.rule(), DenyRule::AmrAbsent) =>
                {
                    let path = path.split('?').next().unwrap_or(path);
                    (StatusCode::FORBIDDEN, pages::no_amr(path)).into_response()
                }
                _ => rejection.default_response(),
            });
        }
        auth
    }
}

/// The routes: guards go on with `route_layer`, the auth layer goes around everything, and
/// the cross-site refusal around that.
fn app(auth: AuthLayer, mode: Mode, site: Site, revocations: Revocations) -> Router {
    // Unsafe methods from another origin (a form on another site posting to /admin/revoke or
    // /auth/logout) are refused before the session is even read. The back-channel logout is
    // posted by the provider's server and proves itself with its signed logout token.
    let cross_origin = CrossOriginProtectionLayer::new();
    #[cfg(feature = "lifecycle")]
    let cross_origin = match &mode {
        Mode::Sessions(sessions, _) => {
            cross_origin.insecure_bypass_path(sessions.backchannel_logout_path())
        }
        _ => cross_origin,
    };
    let recent = Router::new().route(
        "/admin/recent",
        get(move |ctx, headers| {
            admin_page(ctx, headers, "Recent sign-in area", recent_why(site.workos))
        }),
    );
    let recent = if site.workos {
        // WorkOS sends no `amr`: "sudo mode" asks for a recent active sign-in, not for MFA.
        recent.route_layer(RequireRecentAuth::within(RECENT))
    } else {
        let policy = MfaPolicy::builder().name("recent-mfa").max_age(RECENT);
        recent.route_layer(RequireMfa::with_policy(policy.build()))
    };
    let admin = Router::new()
        .route("/admin", get(|ctx, headers| admin_page(ctx, headers, "Admin area", ADMIN_WHY)))
        .route("/admin/revoke", post(revoke).with_state(revocations))
        .route_layer(RequireMfa::new()) // 401 without a session, 403 until `amr` has `mfa`
        .merge(recent);
    let sign_in = match mode {
        Mode::Dev(dev) => dev_issuer::routes(dev),
        // /auth/login, /auth/callback, /auth/logout, /auth/session; behind the layer, which
        // refreshes sessions and tells /auth/session what it found.
        #[cfg(feature = "lifecycle")]
        Mode::Sessions(sessions, _) => sessions.routes().route("/", get(home)).with_state(site),
        Mode::Verify => Router::new().route("/", get(home)).with_state(site),
    };
    Router::new()
        .merge(admin)
        .route("/me", get(me)) // any valid session: the extractor answers 401 otherwise
        .route("/health", get(|| async { "ok" }))
        .merge(sign_in)
        .layer(auth)
        .layer(cross_origin)
}

/// `POST /admin/revoke` with `{"sid": "..."}` or `{"sub": "..."}` (JSON): 204 once revoked
/// here and shared; 415 for another content type; 400 for another body or an empty or
/// oversized id; 403 `forbidden` for someone else's session without the admin role; 503 when
/// the shared state could not be told (this instance refuses the session already, the others
/// will once Redis answers again).
async fn revoke(
    State(revocations): State<Revocations>,
    ctx: AuthContext,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Revoke {
        sid: Option<String>,
        sub: Option<String>,
    }
    if !is_json(&headers) {
        let detail = "send the body as Content-Type: application/json";
        return problem(StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type", detail);
    }
    let Ok(Revoke { sid, sub }) = serde_json::from_slice::<Revoke>(&body) else {
        let detail = r#"expected {"sid": "..."} or {"sub": "..."}"#;
        return problem(StatusCode::BAD_REQUEST, "invalid_request", detail);
    };
    let (id, own) = match (&sid, &sub) {
        (Some(sid), None) => (sid, ctx.sid() == Some(sid.as_str())),
        (None, Some(sub)) => (sub, ctx.sub() == sub),
        _ => {
            let detail = "give exactly one of sid and sub";
            return problem(StatusCode::BAD_REQUEST, "invalid_request", detail);
        }
    };
    if id.is_empty() || id.len() > MAX_ID_BYTES {
        let detail = format!("sid and sub are 1 to {MAX_ID_BYTES} bytes");
        return problem(StatusCode::BAD_REQUEST, "invalid_id", &detail);
    }
    // Your own session or user: always. Anyone else's: admins only (`role`, or in `roles`).
    let admin = ctx.role() == Some(ADMIN_ROLE) || ctx.has_role(ADMIN_ROLE);
    if !own && !admin {
        let detail = "revoking another user's sessions needs the admin role";
        return problem(StatusCode::FORBIDDEN, "forbidden", detail);
    }
    let result = match (sid, sub) {
        (Some(sid), _) => revocations.revoke_session(&sid).await,
        (_, Some(sub)) => revocations.revoke_user(&sub).await,
        (None, None) => unreachable!("checked above"),
    };
    match result {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        // Checked above; the crate refuses the same ids.
        Err(e @ RevokeError::InvalidId) => {
            problem(StatusCode::BAD_REQUEST, e.code(), &e.to_string())
        }
        // The set is full: nothing was recorded, and waiting will not help before entries expire.
        Err(e @ RevokeError::Full { .. }) => {
            problem(StatusCode::INSUFFICIENT_STORAGE, e.code(), &e.to_string())
        }
        // Refused here already; the other instances will once Redis answers again.
        Err(e) => {
            let status = StatusCode::SERVICE_UNAVAILABLE;
            let mut response = problem(status, "temporarily_unavailable", &e.to_string());
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
            response
        }
    }
}

/// `true` when the body is declared as JSON: one `Content-Type` whose media type is
/// `application/json` exactly (parameters such as `charset` allowed).
fn is_json(headers: &HeaderMap) -> bool {
    let mut values = headers.get_all(header::CONTENT_TYPE).iter();
    let (Some(value), None) = (values.next(), values.next()) else { return false };
    let media = value.to_str().unwrap_or_default().split(';').next().unwrap_or_default();
    media.trim().eq_ignore_ascii_case("application/json")
}

/// A refusal by the demo's own routes: problem+json (RFC 9457) with its `code`, and the
/// `error` field these bodies have always carried.
fn problem(status: StatusCode, code: &str, detail: &str) -> Response {
    let body = json!({
        "type": "about:blank",
        "title": status.canonical_reason(),
        "status": status.as_u16(),
        "detail": detail,
        "code": code,
        "error": code,
    });
    let content_type = [(header::CONTENT_TYPE, "application/problem+json")];
    (status, content_type, body.to_string()).into_response()
}

/// Answers that show the session must not be kept by any cache.
const NO_STORE: [(header::HeaderName, &str); 1] = [(header::CACHE_CONTROL, "no-store")];

/// Which shared state the demo uses, for the banner (never the Redis password).
struct SharedInfo {
    /// "in memory ..." or "Redis at host:port ...".
    what: String,
    /// Redis only: whether it answered at start, or why not.
    answered: Option<Result<(), String>>,
}

/// Revocations in this process, or shared through `AUTH_REDIS_URL` (with the CA of
/// `AUTH_REDIS_CA_FILE`).
async fn revocations(config: &Config) -> (Revocations, Arc<dyn Store>, SharedInfo) {
    let (revocations, store, (what, answered)) = match &config.redis_url {
        None => {
            let memory = MemoryStore::new();
            let revocations = Revocations::builder(memory.clone()).start().await;
            let what = "in memory (this process only)".to_owned();
            (revocations, Arc::new(memory) as Arc<dyn Store>, (what, None))
        }
        #[cfg(feature = "redis")]
        Some(url) => {
            let mut options = axum_session_mfa::store::RedisOptions::default();
            let mut vars = "AUTH_REDIS_URL";
            if let Some(path) = &config.redis_ca_file {
                let pem = std::fs::read(path).unwrap_or_else(|e| {
                    fail(&format!("AUTH_REDIS_CA_FILE: cannot read {path}: {e}"))
                });
                options = options.ca_pem(pem);
                vars = "AUTH_REDIS_URL with AUTH_REDIS_CA_FILE";
            }
            let redis = RedisStore::with_options(url, options)
                .unwrap_or_else(|e| fail(&format!("{vars}: {e}")));
            let revocations = Revocations::builder(redis.clone()).start().await;
            // Redis connects lazily and reconnects on its own: ask it once, to say so at start.
            let answered = Some(redis.ping().await.map_err(|e| e.to_string()));
            let place = redis_place(url, config.redis_ca_file.as_deref());
            (revocations, Arc::new(redis) as Arc<dyn Store>, (place, answered))
        }
        #[cfg(not(feature = "redis"))]
        Some(_) => fail(
            "AUTH_REDIS_URL needs the `redis` feature: cargo run --example demo --features redis",
        ),
    };
    // Follows the other instances' revocations (a no-op in memory).
    tokio::spawn(revocations.keep_current());
    (revocations, store, SharedInfo { what, answered })
}

/// "Redis at host:port over TLS ...": where the URL points and how, without its password.
#[cfg(feature = "redis")]
fn redis_place(url: &str, ca_file: Option<&str>) -> String {
    // RedisStore::with_options accepted it, so it parses.
    let Ok(url) = url::Url::parse(url) else { return "Redis".to_owned() };
    let place = match url.host_str() {
        Some(host) => format!("{host}:{}", url.port().unwrap_or(6379)),
        None => format!("the socket {}", url.path()),
    };
    let how = match (matches!(url.scheme(), "rediss" | "valkeys"), ca_file) {
        (true, Some(path)) => format!("over TLS, trusting the CA in {path}"),
        (true, None) => "over TLS, trusting the system's roots".to_owned(),
        (false, _) => "without TLS".to_owned(),
    };
    format!("Redis at {place} {how}")
}

#[derive(Deserialize)]
struct ReturnTo {
    #[serde(default)]
    return_to: String,
}

/// The home page: the session (if any) and the buttons that fit it.
async fn home(
    State(site): State<Site>,
    ctx: Option<AuthContext>,
    Query(q): Query<ReturnTo>,
) -> impl IntoResponse {
    (NO_STORE, pages::home(&site, ctx.as_ref(), safe_return_to(&q.return_to).unwrap_or("/")))
}

async fn me(ctx: AuthContext) -> impl IntoResponse {
    (NO_STORE, Json(ctx))
}

const ADMIN_WHY: &str = "This page is behind <code>RequireMfa</code>: your session's \
                         <code>amr</code> lists <code>mfa</code>.";

fn recent_why(workos: bool) -> &'static str {
    if workos {
        "This page is behind <code>RequireRecentAuth</code>: you signed in within the last 5 \
         minutes (WorkOS tokens carry no <code>amr</code>, so this is a fresh sign-in, not MFA)."
    } else {
        "This page is behind <code>RequireMfa</code> with <code>max_age</code> 300: you passed \
         MFA within the last 5 minutes."
    }
}

/// `/admin` and `/admin/recent`: a page for browsers, JSON for API clients.
async fn admin_page(ctx: AuthContext, headers: HeaderMap, title: &str, why: &str) -> Response {
    if wants_html(&headers) {
        return (NO_STORE, pages::admin(&ctx, title, why)).into_response();
    }
    let message = "welcome to the admin area";
    let body = json!({ "ok": true, "sub": ctx.sub(), "amr": ctx.amr(), "message": message });
    (NO_STORE, Json(body)).into_response()
}

/// `true` when the client lists `text/html` among what it accepts (a browser).
fn wants_html(headers: &HeaderMap) -> bool {
    headers.get_all(header::ACCEPT).iter().filter_map(|v| v.to_str().ok()).any(|accept| {
        accept.split(',').any(|range| {
            let media = range.split(';').next().unwrap_or_default().trim();
            media.eq_ignore_ascii_case("text/html")
        })
    })
}

#[tokio::main]
async fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,axum_session_mfa::audit=info".into()),
        )
        .init();

    let mut config = Config::from_env().unwrap_or_else(|e| fail(&e));
    let (revocations, store, shared) = revocations(&config).await;
    let answers = Answers::of(&config);
    let build = |layer: AuthLayerBuilder| {
        answers.clone().apply(layer).build().unwrap_or_else(|e| fail(&e.to_string()))
    };
    let (auth, mode) = match (config.keys.take(), config.sign_in.take()) {
        #[cfg(feature = "lifecycle")]
        (Some((var, choice)), Some(sign_in)) => {
            println!("Signing users in with the provider from {var}.");
            let redirect_uri = sign_in.redirect_uri.clone();
            // The sessions build the layer (the provider's keys, its cookie then Bearer, sealed
            // cookies refreshed before they expire, browsers sent to /auth/login to sign in or
            // step up) with what every mode adds, so the callback judges tokens as it does.
            let add = answers.clone();
            let sessions = choice
                .sessions(sign_in, &config.cookie, revocations.clone(), store, move |l| {
                    add.apply(l)
                })
                .await
                .unwrap_or_else(|e| fail(&e));
            (sessions.auth_layer(), Mode::Sessions(sessions, redirect_uri))
        }
        (Some((var, choice)), _) => {
            println!("Verifying tokens with the key source from {var}.");
            let keys = choice.key_source(&config.issuers).await.unwrap_or_else(|e| fail(&e));
            (build(key_layer(&config, keys, false).revocations(revocations.clone())), Mode::Verify)
        }
        (None, _) => {
            let (dev, key) = DevIssuer::new(&config.cookie, config.authkit.clone());
            let layer = key_layer(&config, key.into(), true).revocations(revocations.clone());
            (build(layer), Mode::Dev(dev))
        }
    };
    let listener = tokio::net::TcpListener::bind(config.addr)
        .await
        .unwrap_or_else(|e| fail(&format!("cannot listen on {}: {e}", config.addr)));
    print_banner(&config, &mode, &shared);

    let sign_in = match &mode {
        Mode::Dev(_) => SignIn::Dev,
        #[cfg(feature = "lifecycle")]
        Mode::Sessions(sessions, _) => SignIn::Provider(provider_name(sessions)),
        Mode::Verify => SignIn::Elsewhere { cookie: config.cookie.clone() },
    };
    let site = Site { sign_in, workos: config.workos };
    let server =
        axum::serve(listener, app(auth, mode, site, revocations)).with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        });
    if let Err(e) = server.await {
        fail(&format!("server error: {e}"));
    }
}

/// "WorkOS AuthKit" or the OpenID Provider's issuer.
#[cfg(feature = "lifecycle")]
fn provider_name(sessions: &Sessions) -> String {
    let idp = sessions.provider();
    if idp.is_workos() {
        "WorkOS AuthKit".to_owned()
    } else {
        idp.keys().issuers().first().cloned().unwrap_or_else(|| "the OpenID Provider".into())
    }
}

fn print_banner(config: &Config, mode: &Mode, shared: &SharedInfo) {
    let base = format!("http://{}", config.addr);
    println!("axum-session-mfa demo listening on {base}");
    match &shared.answered {
        None => println!("Shared state: {}.", shared.what),
        Some(Ok(())) => println!("Shared state: {}: it answered at start.", shared.what),
        Some(Err(e)) => {
            println!("Shared state: {}: it did NOT answer at start.", shared.what);
            warn_redis_down(&shared.what, e);
        }
    }
    match mode {
        Mode::Dev(_) => {
            println!("No key configured: running the built-in development issuer.");
            if config.authkit.is_some() {
                println!(
                    "  It hands out AuthKit-style sealed `{}` cookies. Its tokens carry `amr`; \
                     real WorkOS access tokens do not, so with WorkOS RequireMfa denies every \
                     session.",
                    config.cookie
                );
            }
            println!(
                "  Browser: open {base}/ and sign in with or without MFA, then visit /me and \
                 /admin."
            );
            println!("  curl:    T=$(curl -s '{base}/dev/token?mfa=true')");
            println!("           curl -i -H \"Authorization: Bearer $T\" {base}/admin");
        }
        #[cfg(feature = "lifecycle")]
        Mode::Sessions(sessions, redirect_uri) => {
            // Sessions::build checked that it is an absolute URL.
            let url = url::Url::parse(redirect_uri).expect("a checked redirect URI");
            let (origin, callback) = (url.origin().ascii_serialization(), url.path());
            println!(
                "Signing users in with {} (client `{}`); the session is the sealed cookie `{}`, \
                 Bearer tokens are accepted too.",
                provider_name(sessions),
                sessions.provider().client_id(),
                sessions.cookie_name()
            );
            println!(
                "  Sign-in routes: GET {}, GET {callback}, GET|POST /auth/logout, GET /auth/session",
                sessions.login_path()
            );
            println!(
                "  Register at the provider: redirect URI {redirect_uri}, sign-out redirect {origin}/"
            );
            println!(
                "  Browser: open {base}/ and sign in, then visit /me, /admin and /admin/recent."
            );
        }
        Mode::Verify => {
            println!("Send tokens as the cookie `{}` or as a Bearer token:", config.cookie);
            println!("  curl -i -H \"Authorization: Bearer $TOKEN\" {base}/me");
            println!("  curl -i -H \"Authorization: Bearer $TOKEN\" {base}/admin");
        }
    }
    if config.workos {
        println!(
            "  /admin is RequireMfa: WorkOS tokens carry no `amr`, so it refuses every WorkOS \
             session (403; with a step-up URL, browsers get a page saying so)."
        );
        println!(
            "  /admin/recent is RequireRecentAuth: a sign-in within {} s (403 after that; with \
             sign-in, browsers are sent to sign in again).",
            RECENT.as_secs()
        );
    } else {
        println!(
            "  Without a session: curl -i {base}/admin  (401), password-only: 403, with mfa: 200"
        );
        println!("  /admin/recent: MFA within the last {} s.", RECENT.as_secs());
    }
}

/// A Redis that does not answer at start deserves more than one log line: revocations are
/// not shared, and sessions are refused once the local copy is stale.
fn warn_redis_down(what: &str, error: &str) {
    let rule = "=".repeat(78);
    eprintln!("\n{rule}");
    eprintln!("WARNING: the shared state did not answer at start.");
    eprintln!("WARNING:   {what}");
    eprintln!("WARNING:   {error}");
    eprintln!("WARNING: This instance could not load the revocations: until Redis answers,");
    eprintln!("WARNING: requests with a session get 503 (revocation_unavailable) and");
    eprintln!("WARNING: revocations are not shared. The demo keeps reconnecting on its own.");
    eprintln!("WARNING: Check AUTH_REDIS_URL (host, port, password, redis:// or rediss://)");
    eprintln!("WARNING: and, for TLS, AUTH_REDIS_CA_FILE.");
    eprintln!("{rule}\n");
}

fn fail(message: &str) -> ! {
    eprintln!("demo: {message}");
    std::process::exit(2)
}
