//! The runnable demo: `cargo run --example demo`.
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
//! | `AUTH_AUDIENCE` | comma-separated accepted audiences (optional) |
//! | `AUTH_COOKIE` | session cookie name, default `session`; Bearer tokens are accepted too |
//! | `AUTH_JWKS_URL` | verify with keys from this JWKS URL (cached, rotated); requires `AUTH_ISSUER` |
//! | `AUTH_OIDC_ISSUER` | OIDC discovery from this issuer URL (keys and accepted issuer) |
//! | `AUTH_WORKOS_CLIENT_ID` | the WorkOS preset: its JWKS and issuers for this client id |
//! | `AUTH_IRON_PASSWORD` | read WorkOS AuthKit `wos-session` iron-sealed cookies (32+ chars); the cookie name then defaults to `wos-session` |
//! | `AUTH_STEP_UP_URL` | where browsers that fail a policy are sent (default: the dev issuer's page) |
//!
//! With no key configured, a development issuer runs inside the demo with a key generated at
//! start, and `/` offers sign-in as a password-only session or with MFA.
//!
//! Routes: `GET /health`, `GET /me` (the `AuthContext` as JSON, 401 without a session),
//! `GET /admin` (behind `RequireMfa`), `GET /admin/recent` (MFA within 300 s), and for the
//! development issuer `GET /`, `POST /dev/login`, `POST /dev/logout`, `GET /dev/token`,
//! `GET`/`POST /dev/step-up` (upgrades the session: `mfa` and a fresh `auth_time`).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::extract::{Form, Query, State};
use axum::http::{HeaderValue, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use axum_session_mfa::keys::{JwksKeys, Provider};
use axum_session_mfa::authkit::{AuthKitSession, SessionUser};
use axum_session_mfa::authkit::iron::IronPasswords;
use axum_session_mfa::{
    Algorithm, AuthContext, AuthLayer, AuthLayerBuilder, Key, MfaPolicy, RequireMfa, safe_return_to,
};
use jsonwebtoken::{EncodingKey, Header};
use rand::RngCore;
use serde::Deserialize;
use serde_json::json;

const DEV_ISSUER: &str = "urn:axum-session-mfa:demo-issuer";

/// The built-in development issuer: signs sessions with a key generated at start.
struct DevIssuer {
    key: EncodingKey,
    cookie: String,
    /// With `AUTH_IRON_PASSWORD`: hand out AuthKit-style `wos-session` cookies (iron seals).
    authkit: Option<IronPasswords>,
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
}

fn list(name: &str) -> Vec<String> {
    env(name)
        .map(|v| v.split(',').map(|s| s.trim().to_owned()).filter(|s| !s.is_empty()).collect())
        .unwrap_or_default()
}

fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// The environment variables that each name a key source; at most one may be set.
const KEY_SOURCES: [&str; 5] = [
    "AUTH_OIDC_ISSUER",
    "AUTH_WORKOS_CLIENT_ID",
    "AUTH_JWKS_URL",
    "AUTH_HS256_SECRET",
    "AUTH_PUBLIC_KEY_PEM",
];

/// Builds the verification side from the environment; returns the dev issuer when no key is set.
async fn configure(cookie: &str) -> Result<(AuthLayerBuilder, Option<Arc<DevIssuer>>), String> {
    let mut builder = AuthLayer::builder().cookie(cookie);
    // AUTH_IRON_PASSWORD (the Next.js app's WORKOS_COOKIE_PASSWORD) makes the layer read
    // iron-sealed AuthKit cookies; a password shorter than 32 characters fails at build.
    let iron_password = env("AUTH_IRON_PASSWORD");
    if let Some(password) = &iron_password {
        builder = builder.authkit_password(password.clone());
    }
    for issuer in list("AUTH_ISSUER") {
        builder = builder.issuer(issuer);
    }
    for audience in list("AUTH_AUDIENCE") {
        builder = builder.audience(audience);
    }
    let alg = env("AUTH_ALG")
        .map(|a| a.parse::<Algorithm>().map_err(|_| format!("AUTH_ALG: unknown algorithm {a:?}")))
        .transpose()?;
    // One key source, said out loud: a second one would otherwise be silently ignored.
    let sources: Vec<&str> = KEY_SOURCES.iter().copied().filter(|v| env(v).is_some()).collect();
    if sources.len() > 1 {
        return Err(format!("set only one key source, not {}", sources.join(" and ")));
    }
    if alg.is_some() && env("AUTH_PUBLIC_KEY_PEM").is_none() {
        return Err("AUTH_ALG applies to AUTH_PUBLIC_KEY_PEM only".into());
    }
    if let Some(source) = sources.first() {
        println!("Verifying tokens with the key source from {source}.");
    }

    // Remote keys: OIDC discovery, the WorkOS preset, or a bare JWKS URL (with AUTH_ISSUER).
    if let Some(issuer) = env("AUTH_OIDC_ISSUER") {
        let provider = Provider::discover(&issuer)
            .await
            .map_err(|e| format!("AUTH_OIDC_ISSUER {issuer}: {e}"))?;
        return Ok((builder.provider(provider), None));
    }
    if let Some(client_id) = env("AUTH_WORKOS_CLIENT_ID") {
        let provider =
            Provider::workos(&client_id).map_err(|e| format!("AUTH_WORKOS_CLIENT_ID: {e}"))?;
        return Ok((builder.provider(provider), None));
    }
    if let Some(url) = env("AUTH_JWKS_URL") {
        if list("AUTH_ISSUER").is_empty() {
            return Err("AUTH_JWKS_URL needs AUTH_ISSUER: a key set is often shared by many \
                        tenants, so the accepted issuer must be pinned"
                .into());
        }
        let keys = JwksKeys::new(&url).map_err(|e| format!("AUTH_JWKS_URL {url}: {e}"))?;
        return Ok((builder.jwks(keys), None));
    }
    if let Some(secret) = env("AUTH_HS256_SECRET") {
        let key = Key::hmac(Algorithm::HS256, secret.as_bytes())
            .map_err(|e| format!("AUTH_HS256_SECRET: {e}"))?;
        return Ok((builder.key(key), None));
    }
    if let Some(path) = env("AUTH_PUBLIC_KEY_PEM") {
        let pem = std::fs::read(&path).map_err(|e| format!("AUTH_PUBLIC_KEY_PEM {path}: {e}"))?;
        let mut key =
            Key::from_public_pem(&pem).map_err(|e| format!("AUTH_PUBLIC_KEY_PEM {path}: {e}"))?;
        if let Some(alg) = alg {
            key = key.with_algorithms([alg]).map_err(|e| format!("AUTH_ALG: {e}"))?;
        }
        return Ok((builder.key(key), None));
    }

    // Development issuer: a fresh random HS256 key, so nothing here outlives the process.
    let mut secret = [0u8; 32];
    rand::rng().fill_bytes(&mut secret);
    let key = Key::hmac(Algorithm::HS256, &secret).map_err(|e| e.to_string())?;
    let authkit = iron_password.and_then(|p| IronPasswords::new("1", p).ok());
    let dev =
        DevIssuer { key: EncodingKey::from_secret(&secret), cookie: cookie.to_owned(), authkit };
    Ok((builder.key(key).issuer(DEV_ISSUER), Some(Arc::new(dev))))
}

impl DevIssuer {
    /// Signs a session; `sid` is kept on step-up (same session, stronger and fresher proof).
    fn mint(&self, mfa: bool, sid: Option<&str>) -> String {
        let now = now();
        let sid = sid.map(str::to_owned).unwrap_or_else(|| {
            let mut bytes = [0u8; 8];
            rand::rng().fill_bytes(&mut bytes);
            let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
            format!("session_{hex}")
        });
        let amr = if mfa { json!(["pwd", "otp", "mfa"]) } else { json!(["pwd"]) };
        let claims = json!({
            "iss": DEV_ISSUER,
            "sub": "user_demo",
            "sid": sid,
            "org_id": "org_demo",
            "role": "admin",
            "permissions": ["reports:read"],
            "amr": amr,
            "acr": if mfa { "urn:demo:mfa" } else { "urn:demo:pwd" },
            "auth_time": now,
            "iat": now,
            "exp": now + 3600,
        });
        let mut header = Header::new(Algorithm::HS256);
        header.typ = Some("at+jwt".to_owned());
        jsonwebtoken::encode(&header, &claims, &self.key).expect("HS256 signing cannot fail")
    }

    fn set_cookie(&self, token: &str, max_age: u64) -> HeaderValue {
        let sealed;
        let value = match &self.authkit {
            Some(passwords) if !token.is_empty() => {
                let user = SessionUser::new("user_demo");
                sealed = AuthKitSession::new(token, user).seal(passwords).expect("sealing works");
                sealed.as_str()
            }
            _ => token,
        };
        let cookie =
            format!("{}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age}", self.cookie);
        HeaderValue::try_from(cookie).expect("a JWT is a valid header value")
    }
}

#[derive(Deserialize)]
struct LoginForm {
    method: String,
    #[serde(default)]
    return_to: String,
}

#[derive(Deserialize)]
struct TokenQuery {
    #[serde(default)]
    mfa: bool,
}

async fn login(State(dev): State<Arc<DevIssuer>>, Form(form): Form<LoginForm>) -> Response {
    let token = dev.mint(form.method == "mfa", None);
    // Back where the browser was sent from, but only ever to a path on this site.
    let mut response = Redirect::to(safe_return_to(&form.return_to).unwrap_or("/")).into_response();
    response.headers_mut().insert(header::SET_COOKIE, dev.set_cookie(&token, 3600));
    response
}

async fn logout(State(dev): State<Arc<DevIssuer>>) -> Response {
    let mut response = Redirect::to("/").into_response();
    response.headers_mut().insert(header::SET_COOKIE, dev.set_cookie("", 0));
    response
}

async fn token(State(dev): State<Arc<DevIssuer>>, Query(q): Query<TokenQuery>) -> String {
    dev.mint(q.mfa, None)
}

#[derive(Deserialize)]
struct StepUpQuery {
    #[serde(default)]
    return_to: String,
}

#[derive(Deserialize)]
struct StepUpForm {
    #[serde(default)]
    return_to: String,
    code: String,
}

/// The development issuer's step-up page: "enter your one-time code".
async fn step_up_page(ctx: Option<AuthContext>, Query(q): Query<StepUpQuery>) -> Response {
    let Some(ctx) = ctx else { return Redirect::to("/").into_response() };
    // Only ever a same-origin path, and HTML-escaped for the form field.
    let return_to = safe_return_to(&q.return_to).unwrap_or("/");
    let escaped = html(return_to);
    Html(format!(
        r#"<!doctype html><html><head><meta charset="utf-8"><title>Step-up</title></head>
<body style="font-family:system-ui,sans-serif;max-width:42rem;margin:3rem auto">
<h1>Confirm it's you</h1><p>{} (session {}) needs a fresh second factor to continue to
<code>{escaped}</code>. This demo accepts any 6-digit code.</p>
<form method="post" action="/dev/step-up"><input type="hidden" name="return_to" value="{escaped}">
<input name="code" inputmode="numeric" pattern="[0-9]{{6}}" placeholder="123456" autofocus required>
<button>Verify</button></form></body></html>"#,
        html(ctx.sub()),
        html(ctx.sid().unwrap_or("-")),
    ))
    .into_response()
}

/// Upgrades the current session: new cookie with `mfa` and a fresh `auth_time`, same `sid`.
async fn step_up(
    State(dev): State<Arc<DevIssuer>>,
    ctx: Option<AuthContext>,
    Form(form): Form<StepUpForm>,
) -> Response {
    let Some(ctx) = ctx else { return Redirect::to("/").into_response() };
    let return_to = safe_return_to(&form.return_to).unwrap_or("/");
    if form.code.len() != 6 || !form.code.bytes().all(|b| b.is_ascii_digit()) {
        let encoded: String = form_urlencoded::byte_serialize(return_to.as_bytes()).collect();
        let back = format!("/dev/step-up?return_to={encoded}");
        return Redirect::to(&back).into_response();
    }
    let token = dev.mint(true, ctx.sid());
    let mut response = Redirect::to(return_to).into_response();
    response.headers_mut().insert(header::SET_COOKIE, dev.set_cookie(&token, 3600));
    response
}

async fn home(ctx: Option<AuthContext>, Query(q): Query<StepUpQuery>) -> Html<String> {
    let return_to = html(safe_return_to(&q.return_to).unwrap_or("/"));
    let status = match &ctx {
        None => "You are signed out.".to_owned(),
        Some(ctx) => format!(
            "Signed in as <b>{}</b> (session {}), amr = <code>{}</code>: {}",
            html(ctx.sub()),
            html(ctx.sid().unwrap_or("-")),
            html(&ctx.amr().map(|a| format!("{a:?}")).unwrap_or_else(|| "absent".into())),
            if ctx.has_amr("mfa") { "this session passed MFA" } else { "no MFA in this session" }
        ),
    };
    Html(format!(
        r#"<!doctype html><html><head><meta charset="utf-8"><title>axum-session-mfa demo</title>
<style>body{{font-family:system-ui,sans-serif;max-width:42rem;margin:3rem auto;line-height:1.5}}
form{{display:inline}}button{{margin:.25rem}}code{{background:#eee;padding:0 .2rem}}</style></head>
<body><h1>axum-session-mfa demo</h1><p>{status}</p>
<form method="post" action="/dev/login"><input type="hidden" name="method" value="pwd"><input type="hidden" name="return_to" value="{return_to}"><button>Sign in with a password only</button></form>
<form method="post" action="/dev/login"><input type="hidden" name="method" value="mfa"><input type="hidden" name="return_to" value="{return_to}"><button>Sign in with password + MFA</button></form>
<form method="post" action="/dev/logout"><button>Sign out</button></form>
<ul><li><a href="/me">/me</a>: your AuthContext as JSON (401 when signed out)</li>
<li><a href="/admin">/admin</a>: behind RequireMfa (signed-out browsers are sent here to sign in and password-only ones to step up; API clients get 401/403; 200 with MFA)</li>
<li><a href="/admin/recent">/admin/recent</a>: MFA within the last 300 seconds</li>
<li><a href="/health">/health</a></li></ul></body></html>"#
    ))
}

/// Escapes text for HTML element content and quoted attribute values.
fn html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

async fn me(ctx: AuthContext) -> Json<AuthContext> {
    Json(ctx)
}

async fn admin(ctx: AuthContext) -> Json<serde_json::Value> {
    Json(
        json!({ "ok": true, "sub": ctx.sub(), "amr": ctx.amr(), "message": "welcome to the admin area" }),
    )
}

fn app(auth: AuthLayer, dev: Option<Arc<DevIssuer>>, step_up_url: Option<String>) -> Router {
    let signs_in = dev.is_some();
    let guard = |policy: MfaPolicy| {
        let mut guard = RequireMfa::with_policy(policy);
        if let Some(url) = &step_up_url {
            guard = guard.step_up_redirect(url.clone());
        }
        // The development issuer's page signs browsers in and sends them back.
        if signs_in {
            guard = guard.login_redirect("/");
        }
        guard
    };
    let recent = MfaPolicy::new().named("recent-mfa").max_age(Duration::from_secs(300));
    let mut app = Router::new()
        .route("/admin", get(admin))
        .route_layer(guard(MfaPolicy::new()))
        .merge(Router::new().route("/admin/recent", get(admin)).route_layer(guard(recent)))
        .route("/me", get(me))
        .route("/health", get(|| async { "ok" }));
    if let Some(dev) = dev {
        let dev_routes = Router::new()
            .route("/", get(home))
            .route("/dev/login", post(login))
            .route("/dev/logout", post(logout))
            .route("/dev/token", get(token))
            .route("/dev/step-up", get(step_up_page).post(step_up))
            .with_state(dev);
        app = app.merge(dev_routes);
    }
    app.layer(auth)
}

#[tokio::main]
async fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,axum_session_mfa::audit=info".into()),
        )
        .init();

    let addr: SocketAddr = match env("DEMO_ADDR").unwrap_or_else(|| "127.0.0.1:3000".into()).parse()
    {
        Ok(addr) => addr,
        Err(e) => fail(&format!("DEMO_ADDR: {e}")),
    };
    let default_cookie =
        if env("AUTH_IRON_PASSWORD").is_some() { "wos-session" } else { "session" };
    let cookie = env("AUTH_COOKIE").unwrap_or_else(|| default_cookie.into());
    let (builder, dev) = configure(&cookie).await.unwrap_or_else(|e| fail(&e));
    let auth = builder.build().unwrap_or_else(|e| fail(&e.to_string()));
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .unwrap_or_else(|e| fail(&format!("cannot listen on {addr}: {e}")));

    let base = format!("http://{addr}");
    println!("axum-session-mfa demo listening on {base}");
    if dev.is_some() {
        println!("No key configured: running the built-in development issuer.");
        println!(
            "  Browser: open {base}/ and sign in with or without MFA, then visit /me and /admin."
        );
        println!("  curl:    T=$(curl -s '{base}/dev/token?mfa=true')");
        println!("           curl -i -H \"Authorization: Bearer $T\" {base}/admin");
    } else {
        println!(
            "Verifying tokens from the configured key; send them as cookie `{cookie}` or Bearer:"
        );
        println!("  curl -i -H \"Authorization: Bearer $TOKEN\" {base}/me");
        println!("  curl -i -H \"Authorization: Bearer $TOKEN\" {base}/admin");
    }
    println!("  Without a session: curl -i {base}/admin  (401), password-only: 403, with mfa: 200");

    // Browsers that fail a policy are sent to step up: the dev issuer's page, or AUTH_STEP_UP_URL.
    let step_up_url =
        env("AUTH_STEP_UP_URL").or_else(|| dev.as_ref().map(|_| "/dev/step-up".into()));
    let server = axum::serve(listener, app(auth, dev, step_up_url)).with_graceful_shutdown(async {
        let _ = tokio::signal::ctrl_c().await;
    });
    if let Err(e) = server.await {
        fail(&format!("server error: {e}"));
    }
}

fn fail(message: &str) -> ! {
    eprintln!("demo: {message}");
    std::process::exit(2)
}
