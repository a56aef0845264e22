//! A backend-for-frontend that signs people in with any OpenID Provider and owns their session:
//! `OpenIdProvider::discover` finds the provider's endpoints and keys, `Sessions` mounts
//! `/auth/login`, `/auth/callback`, `/auth/logout` and `/auth/session`, seals the tokens in an
//! `HttpOnly` cookie and refreshes them in the layer. `/admin` asks for MFA: a password-only
//! session is sent back to the provider to step up, and lands on `/admin` afterwards.
//!
//! ```sh
//! scripts/local-op.sh              # a local OpenID Provider (Node.js 20+); paste its exports
//! cargo run --example oidc_bff     # then open http://127.0.0.1:3000/
//! ```
//!
//! | variable | meaning |
//! |---|---|
//! | `AUTH_OIDC_ISSUER` | the provider's issuer URL (discovery) |
//! | `AUTH_CLIENT_ID`, `AUTH_CLIENT_SECRET` | this application's client at the provider |
//! | `AUTH_IRON_PASSWORD` | 32+ characters: seals the session cookie |
//! | `AUTH_REDIRECT_URI` | the callback registered at the provider (default `http://127.0.0.1:3000/auth/callback`) |
//! | `AUTH_RESOURCE` | optional: the RFC 8707 resource to ask tokens for (then their required `aud`) |
//! | `BIND` | listen address (default `127.0.0.1:3000`) |
//!
//! With WorkOS AuthKit instead, build the sessions from the variables authkit-nextjs reads
//! (`WORKOS_CLIENT_ID`, `WORKOS_API_KEY`, `WORKOS_REDIRECT_URI`, `WORKOS_COOKIE_PASSWORD`):
//! `Sessions::workos_from_env()?.build()?`; the rest of this file stays the same (but WorkOS
//! access tokens carry no `amr`, so `/admin` refuses them: see docs/authkit.md).

use axum::response::Html;
use axum::routing::get;
use axum::{Json, Router};
use axum_session_mfa::authkit::IronPasswords;
use axum_session_mfa::lifecycle::{OpenIdProvider, Sessions};
use axum_session_mfa::{AuthContext, CrossOriginProtectionLayer, RequireMfa};

type Error = Box<dyn std::error::Error>;

async fn run() -> Result<(), Error> {
    let (client_id, secret) = (var("AUTH_CLIENT_ID")?, var("AUTH_CLIENT_SECRET")?);
    let mut idp = OpenIdProvider::discover(&var("AUTH_OIDC_ISSUER")?, client_id, secret).await?;
    if let Some(resource) = opt("AUTH_RESOURCE") {
        idp = idp.resource(resource);
    }
    let passwords = IronPasswords::new("1", var("AUTH_IRON_PASSWORD")?)?;
    let callback = opt("AUTH_REDIRECT_URI")
        .unwrap_or_else(|| "http://127.0.0.1:3000/auth/callback".to_owned());
    let sessions = Sessions::builder(idp, passwords, callback).build()?;

    let app = Router::new()
        // A browser without MFA goes to /auth/login?step_up=1&return_to=/admin; API clients
        // get the 403 challenge.
        .route("/admin", get(admin).route_layer(RequireMfa::new()))
        .route("/me", get(|ctx: AuthContext| async move { Json(ctx) }))
        .route("/", get(home))
        .merge(sessions.routes())
        // The session cookie (then Bearer), verified and refreshed before it expires.
        .layer(sessions.auth_layer())
        // A form on another site cannot post to /auth/logout.
        .layer(CrossOriginProtectionLayer::new());

    serve(app).await
}

async fn admin(ctx: AuthContext) -> String {
    format!("hello {}, your session passed MFA\n", ctx.sub())
}

/// Sign in, or who you are with a step-up and a sign-out button.
async fn home(ctx: Option<AuthContext>) -> Html<String> {
    let Some(ctx) = ctx else {
        return Html(r#"<a href="/auth/login">Sign in</a>"#.to_owned());
    };
    let step_up = if ctx.has_amr("mfa") {
        "<p>This session passed MFA: <a href=\"/admin\">admin</a>.</p>"
    } else {
        "<p><a href=\"/auth/login?step_up=1&amp;return_to=%2F\">Verify with MFA (step up)</a></p>"
    };
    Html(format!(
        "<p>Signed in as {}.</p>{step_up}\
         <form method=\"post\" action=\"/auth/logout\"><button>Sign out</button></form>",
        html_escape(ctx.sub())
    ))
}

// Plumbing: environment, listener, errors.

fn html_escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

fn opt(name: &str) -> Option<String> {
    std::env::var(name).ok().map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
}

fn var(name: &str) -> Result<String, Error> {
    opt(name).ok_or_else(|| format!("set {name}").into())
}

async fn serve(app: Router) -> Result<(), Error> {
    let addr = opt("BIND").unwrap_or_else(|| "127.0.0.1:3000".to_owned());
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    println!("oidc_bff listening on http://{addr}");
    axum::serve(listener, app).await?;
    Ok(())
}

#[tokio::main]
async fn main() {
    if let Err(e) = run().await {
        eprintln!("oidc_bff: {e}");
        std::process::exit(2);
    }
}
