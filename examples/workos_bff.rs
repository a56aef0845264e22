//! A backend-for-frontend behind a Next.js app that signs users in with WorkOS AuthKit
//! (`@workos-inc/authkit-nextjs`): it reads the `wos-session` cookie the browser already sends,
//! and guards an admin API. Audit events are logged to stderr (`RUST_LOG` tunes them).
//!
//! ```sh
//! # The cookie password is the Next.js app's WORKOS_COOKIE_PASSWORD (32+ characters).
//! export AUTH_IRON_PASSWORD='the-same-value-as-WORKOS_COOKIE_PASSWORD'
//! # Real WorkOS tokens: the WorkOS preset (JWKS at https://api.workos.com/sso/jwks/<client_id>,
//! # WorkOS's issuers pinned).
//! export WORKOS_CLIENT_ID=client_01...
//! cargo run --example workos_bff                 # listens on BIND (default 127.0.0.1:3001)
//! ```
//!
//! | variable | meaning |
//! |---|---|
//! | `AUTH_IRON_PASSWORD` | required: the Next.js app's `WORKOS_COOKIE_PASSWORD` |
//! | `WORKOS_CLIENT_ID` | WorkOS's JWKS and issuers for this client id |
//! | `AUTH_PUBLIC_KEY_PEM` | instead of WorkOS's JWKS: a static public key (PEM text or a path) |
//! | `AUTH_ISSUER` | with `AUTH_PUBLIC_KEY_PEM`: comma-separated accepted issuers; default: WorkOS's issuers for `WORKOS_CLIENT_ID` (one of the two is required, so a PEM key never accepts tokens from any `iss`) |
//! | `AUTH_COOKIE` | the cookie name (default `wos-session`, AuthKit's `WORKOS_COOKIE_NAME`) |
//! | `BIND` | listen address (default `127.0.0.1:3001`) |
//!
//! Offline, without a WorkOS account: the interop scripts seal a cookie exactly as AuthKit does,
//! with an access token signed by the test RSA key (Node.js 20+, `npm ci --prefix tests/interop`
//! once):
//!
//! ```sh
//! export AUTH_IRON_PASSWORD=a-cookie-password-of-at-least-32-characters
//! AUTH_PUBLIC_KEY_PEM=tests/fixtures/keys/rsa_public.pem AUTH_ISSUER=https://issuer.test \
//!   cargo run --example workos_bff &
//! COOKIE=$(echo '{"jobs":[{"password":"'"$AUTH_IRON_PASSWORD"'",
//!   "claims":{"iss":"https://issuer.test","sub":"user_1","exp":4102444800,
//!             "permissions":["users:write"]},
//!   "session":{"user":{"id":"user_1","email":"ada@example.com"}}}]}' \
//!   | node tests/interop/authkit.mjs | sed -E 's/.*"cookie":"([^"]*)".*/\1/')
//! curl -i -b "wos-session=$COOKIE" http://127.0.0.1:3001/api/admin/users   # 200
//! curl -i -b "wos-session=$COOKIE" http://127.0.0.1:3001/api/admin/danger  # 403: no amr
//! ```
//!
//! Routes: `GET /health` (public), `GET /api/me` (any session), `GET /api/admin/users` (the
//! `users:write` permission), `GET /api/admin/danger` (MFA: refused with 403 for WorkOS
//! sessions today, since WorkOS access tokens carry no `amr`; see the README's AuthKit section).

use std::net::SocketAddr;

use axum::extract::Request;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use axum_session_mfa::authkit::{AUTHKIT_COOKIE, IronPasswords};
use axum_session_mfa::jwks::IssuerKeys;
use axum_session_mfa::{
    AuthContext, AuthLayer, Key, KeySource, RequireAuth, RequireMfa, TokenSource,
};
use http::StatusCode;

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
}

fn fail(message: &str) -> ! {
    eprintln!("workos_bff: {message}");
    std::process::exit(2)
}

/// WorkOS's issuers for a client id (what [`IssuerKeys::workos`] pins).
fn workos_issuers(client_id: &str) -> Vec<String> {
    vec![
        "https://api.workos.com".to_owned(),
        format!("https://api.workos.com/user_management/{client_id}"),
    ]
}

/// A static verification key: `AUTH_PUBLIC_KEY_PEM` holds PEM text or a path to a PEM file.
fn public_key(value: &str) -> Key {
    let pem = if value.contains("-----BEGIN") {
        value.as_bytes().to_vec()
    } else {
        std::fs::read(value)
            .unwrap_or_else(|e| fail(&format!("AUTH_PUBLIC_KEY_PEM: cannot read {value}: {e}")))
    };
    Key::from_public_pem(&pem).unwrap_or_else(|e| fail(&format!("AUTH_PUBLIC_KEY_PEM: {e}")))
}

/// The keys, and the issuers to pin on top of what the key source brings.
fn keys() -> (KeySource, Vec<String>) {
    let issuers: Vec<String> = env("AUTH_ISSUER")
        .map(|v| v.split(',').map(|s| s.trim().to_owned()).filter(|s| !s.is_empty()).collect())
        .unwrap_or_default();
    match (env("AUTH_PUBLIC_KEY_PEM"), env("WORKOS_CLIENT_ID")) {
        // A static key must come with the issuers it signs for.
        (Some(pem), client_id) => {
            let issuers = match (issuers.is_empty(), client_id) {
                (false, _) => issuers,
                (true, Some(id)) => workos_issuers(&id),
                (true, None) => fail(
                    "AUTH_PUBLIC_KEY_PEM needs AUTH_ISSUER (or WORKOS_CLIENT_ID for WorkOS's \
                     issuers), so that tokens from any other issuer are refused",
                ),
            };
            (public_key(&pem).into(), issuers)
        }
        (None, Some(_)) if !issuers.is_empty() => fail(
            "AUTH_ISSUER applies to AUTH_PUBLIC_KEY_PEM; WORKOS_CLIENT_ID pins WorkOS's issuers",
        ),
        (None, Some(id)) => {
            let provider =
                IssuerKeys::workos(&id).unwrap_or_else(|e| fail(&format!("WORKOS_CLIENT_ID: {e}")));
            (provider.into(), Vec::new())
        }
        (None, None) => fail("set WORKOS_CLIENT_ID (or AUTH_PUBLIC_KEY_PEM for a static key)"),
    }
}

fn auth_layer(cookie: &str) -> AuthLayer {
    let password = env("AUTH_IRON_PASSWORD")
        .unwrap_or_else(|| fail("set AUTH_IRON_PASSWORD to the app's WORKOS_COOKIE_PASSWORD"));
    // AuthKit writes its password with id "1"; a password under 32 characters fails here.
    let passwords = IronPasswords::new("1", password)
        .unwrap_or_else(|e| fail(&format!("AUTH_IRON_PASSWORD: {e}")));
    let (keys, issuers) = keys();
    let mut builder = AuthLayer::builder(keys)
        .authkit(passwords)
        .sources([TokenSource::cookie(cookie), TokenSource::Bearer]);
    for issuer in issuers {
        builder = builder.issuer(issuer);
    }
    builder.build().unwrap_or_else(|e| fail(&e.to_string()))
}

/// Route middleware: the session must carry `users:write` (WorkOS `permissions` claim).
async fn require_users_write(ctx: AuthContext, req: Request, next: Next) -> Response {
    if ctx.has_permission("users:write") {
        next.run(req).await
    } else {
        (StatusCode::FORBIDDEN, "the users:write permission is required").into_response()
    }
}

async fn me(ctx: AuthContext) -> Json<AuthContext> {
    Json(ctx)
}

async fn list_users(ctx: AuthContext) -> String {
    let who = ctx.user().and_then(|u| u.email.as_deref()).unwrap_or(ctx.sub());
    match ctx.impersonator() {
        Some(i) => format!("users listed for {who} (impersonated by {})", i.email),
        None => format!("users listed for {who}"),
    }
}

fn app(auth: AuthLayer) -> Router {
    let admin = Router::new()
        .route("/api/admin/users", get(list_users))
        .route_layer(middleware::from_fn(require_users_write))
        .route_layer(RequireAuth::new())
        .merge(
            Router::new()
                .route("/api/admin/danger", get(|| async { "dangerous operation done" }))
                .route_layer(RequireMfa::new()),
        );
    Router::new()
        .route("/api/me", get(me))
        .route_layer(RequireAuth::new())
        .merge(admin)
        .route("/health", get(|| async { "ok" }))
        .layer(auth)
}

#[tokio::main]
async fn main() {
    // The audit trail: one line per decision (target `axum_session_mfa::audit`).
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "warn,axum_session_mfa::audit=info".into()),
        )
        .init();

    let cookie = env("AUTH_COOKIE").unwrap_or_else(|| AUTHKIT_COOKIE.to_owned());
    let app = app(auth_layer(&cookie));
    let bind: SocketAddr = env("BIND")
        .unwrap_or_else(|| "127.0.0.1:3001".to_owned())
        .parse()
        .unwrap_or_else(|e| fail(&format!("BIND: {e}")));
    let listener = tokio::net::TcpListener::bind(bind)
        .await
        .unwrap_or_else(|e| fail(&format!("cannot listen on {bind}: {e}")));
    eprintln!("workos_bff listening on http://{bind} (cookie: {cookie}, or a Bearer token)");
    axum::serve(listener, app)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await
        .unwrap_or_else(|e| fail(&e.to_string()));
}
