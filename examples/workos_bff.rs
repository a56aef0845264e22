//! A backend-for-frontend behind a Next.js app that signs people in with WorkOS AuthKit
//! (`@workos-inc/authkit-nextjs`): it reads the `wos-session` cookie the browser already sends
//! (an iron seal around the access token) and guards an admin API. Next.js owns the session
//! (sign-in, refresh); this service only verifies. To own the session in Rust instead, see
//! `oidc_bff` (`Sessions::workos_from_env`). Audit events go to stderr (`RUST_LOG` tunes them).
//!
//! ```sh
//! export AUTH_IRON_PASSWORD='the-same-value-as-WORKOS_COOKIE_PASSWORD'   # 32+ characters
//! WORKOS_CLIENT_ID=client_01... cargo run --example workos_bff   # listens on 127.0.0.1:3001
//! ```
//!
//! | variable | meaning |
//! |---|---|
//! | `AUTH_IRON_PASSWORD` | required: the Next.js app's `WORKOS_COOKIE_PASSWORD` |
//! | `WORKOS_CLIENT_ID` | WorkOS's JWKS and issuers for this client id |
//! | `AUTH_PUBLIC_KEY_PEM`, `AUTH_ISSUER` | instead of WorkOS's JWKS: a public key PEM file and the issuer it signs for (both required) |
//! | `AUTH_COOKIE` | the cookie name (default `wos-session`, AuthKit's `WORKOS_COOKIE_NAME`) |
//! | `BIND` | listen address (default `127.0.0.1:3001`) |
//!
//! Offline, without a WorkOS account: `tests/interop/authkit.mjs` seals a cookie exactly as
//! AuthKit does, around a token signed by the test RSA key (Node.js 20+, `npm ci --prefix
//! tests/interop` once):
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
//! sessions today, since WorkOS access tokens carry no `amr`; see docs/authkit.md).

use axum::extract::Request;
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use axum_session_mfa::authkit::{AUTHKIT_COOKIE, IronPasswords};
use axum_session_mfa::jwks::IssuerKeys;
use axum_session_mfa::{AuthContext, AuthLayer, Key, RequireAuth, RequireMfa, TokenSource};

type Error = Box<dyn std::error::Error>;

async fn run() -> Result<(), Error> {
    // AuthKit seals with the password id "1"; a password under 32 characters fails here.
    let passwords = IronPasswords::new("1", var("AUTH_IRON_PASSWORD")?)?;
    let cookie = opt("AUTH_COOKIE").unwrap_or_else(|| AUTHKIT_COOKIE.to_owned());
    let auth = match opt("AUTH_PUBLIC_KEY_PEM") {
        // WorkOS's key set, with its issuers pinned.
        None => AuthLayer::builder(IssuerKeys::workos(&var("WORKOS_CLIENT_ID")?)?),
        // A static key must come with the issuer it signs for, so no other issuer passes.
        Some(path) => {
            let pem = std::fs::read(&path).map_err(|e| format!("{path}: {e}"))?;
            AuthLayer::builder(Key::from_public_pem(&pem)?).issuer(var("AUTH_ISSUER")?)
        }
    };
    let auth = auth
        .authkit(passwords)
        .sources([TokenSource::cookie(&cookie), TokenSource::Bearer])
        .build()?;

    let app = Router::new()
        .route("/api/me", get(|ctx: AuthContext| async move { Json(ctx) }))
        .route(
            "/api/admin/users",
            get(list_users).route_layer(middleware::from_fn(require_users_write)),
        )
        .route_layer(RequireAuth::new())
        .route("/api/admin/danger", get(|| async { "done\n" }).route_layer(RequireMfa::new()))
        .route("/health", get(|| async { "ok" }))
        .layer(auth);

    serve(app).await
}

/// Route middleware: the session must carry `users:write` (WorkOS `permissions` claim).
async fn require_users_write(ctx: AuthContext, req: Request, next: Next) -> Response {
    if ctx.has_permission("users:write") {
        next.run(req).await
    } else {
        (StatusCode::FORBIDDEN, "the users:write permission is required").into_response()
    }
}

/// The AuthKit session's user and impersonator come with the context.
async fn list_users(ctx: AuthContext) -> String {
    let who = ctx.user().and_then(|u| u.email.as_deref()).unwrap_or(ctx.sub());
    match ctx.impersonator() {
        Some(i) => format!("users listed for {who} (impersonated by {})\n", i.email),
        None => format!("users listed for {who}\n"),
    }
}

// Plumbing: environment, audit log, listener, errors.

fn opt(name: &str) -> Option<String> {
    std::env::var(name).ok().map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
}

fn var(name: &str) -> Result<String, Error> {
    opt(name).ok_or_else(|| format!("set {name}").into())
}

async fn serve(app: Router) -> Result<(), Error> {
    let addr = opt("BIND").unwrap_or_else(|| "127.0.0.1:3001".to_owned());
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    eprintln!("workos_bff listening on http://{addr}");
    axum::serve(listener, app).await?;
    Ok(())
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
    if let Err(e) = run().await {
        eprintln!("workos_bff: {e}");
        std::process::exit(2);
    }
}
