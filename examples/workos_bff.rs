//! A backend-for-frontend behind a Next.js app that signs users in with WorkOS AuthKit
//! (`@workos-inc/authkit-nextjs`): it reads the `wos-session` cookie the browser already sends,
//! and guards an admin API.
//!
//! ```sh
//! # The cookie password is the Next.js app's WORKOS_COOKIE_PASSWORD (32+ characters).
//! export AUTH_IRON_PASSWORD='the-same-value-as-WORKOS_COOKIE_PASSWORD'
//! # Real WorkOS tokens: the WorkOS preset (JWKS at https://api.workos.com/sso/jwks/<client_id>,
//! # AuthKit's issuers pinned).
//! export WORKOS_CLIENT_ID=client_01...
//! # Or, for local tests, a static key that verifies the access tokens (PEM text or a path):
//! # export AUTH_PUBLIC_KEY_PEM=tests/fixtures/keys/rsa_public.pem
//! cargo run --example workos_bff                 # listens on BIND (default 127.0.0.1:3001)
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
use axum_session_mfa::{AuthContext, AuthLayer, Key, Provider, RequireAuth, RequireMfa};
use http::StatusCode;

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

fn fail(message: &str) -> ! {
    eprintln!("workos_bff: {message}");
    std::process::exit(2)
}

/// A static verification key: `AUTH_PUBLIC_KEY_PEM` holds PEM text or a path to a PEM file.
fn public_key(value: String) -> Key {
    let pem = if value.contains("-----BEGIN") {
        value.into_bytes()
    } else {
        std::fs::read(&value).unwrap_or_else(|e| fail(&format!("cannot read {value}: {e}")))
    };
    Key::from_public_pem(&pem).unwrap_or_else(|e| fail(&format!("AUTH_PUBLIC_KEY_PEM: {e}")))
}

fn auth_layer() -> AuthLayer {
    let password = env("AUTH_IRON_PASSWORD")
        .unwrap_or_else(|| fail("set AUTH_IRON_PASSWORD to the app's WORKOS_COOKIE_PASSWORD"));
    let mut builder = AuthLayer::builder().authkit_password(password);
    builder = match (env("AUTH_PUBLIC_KEY_PEM"), env("WORKOS_CLIENT_ID")) {
        (Some(pem), client_id) => {
            let builder = builder.key(public_key(pem));
            match client_id {
                Some(id) => builder.issuer(format!("https://api.workos.com/user_management/{id}")),
                None => builder,
            }
        }
        (None, Some(id)) => builder.provider(
            Provider::workos(&id).unwrap_or_else(|e| fail(&format!("WORKOS_CLIENT_ID: {e}"))),
        ),
        (None, None) => fail("set WORKOS_CLIENT_ID (or AUTH_PUBLIC_KEY_PEM for a static key)"),
    };
    if let Some(cookie) = env("AUTH_COOKIE") {
        builder = builder.cookie(cookie); // default: wos-session
    }
    // A bad password (shorter than 32 characters) fails here, at startup, never per request.
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
    let app = app(auth_layer());
    let bind: SocketAddr = env("BIND")
        .unwrap_or_else(|| "127.0.0.1:3001".to_owned())
        .parse()
        .unwrap_or_else(|e| fail(&format!("BIND: {e}")));
    let listener = tokio::net::TcpListener::bind(bind)
        .await
        .unwrap_or_else(|e| fail(&format!("cannot listen on {bind}: {e}")));
    eprintln!("workos_bff listening on http://{bind} (cookie: wos-session)");
    axum::serve(listener, app)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await
        .unwrap_or_else(|e| fail(&e.to_string()));
}
