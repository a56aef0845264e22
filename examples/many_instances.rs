//! Many instances of one service behind a load balancer, kept in step by one Redis. What one
//! instance decides, every instance honours, without a network call per request:
//! * a revocation (here `POST /sessions/revoke`: "sign me out everywhere") is refused on every
//!   instance within moments (each keeps a local copy, updated through Redis);
//! * a sign-out (`/auth/logout`) or the provider's back-channel logout ends the session on all;
//! * a session's single-use refresh token is spent once: one instance refreshes, the others
//!   wait for its result instead of signing the user out by spending it again.
//!
//! ```sh
//! scripts/local-op.sh                          # a local OpenID Provider; paste its exports
//! export AUTH_REDIS_URL=redis://127.0.0.1:6379
//! BIND=127.0.0.1:3000 cargo run --example many_instances --features redis &
//! BIND=127.0.0.1:3001 cargo run --example many_instances --features redis
//! ```
//!
//! Sign in at <http://127.0.0.1:3000/>, then open <http://127.0.0.1:3001/>: the browser sends
//! the cookie to both (cookies ignore the port), and both read it (same `AUTH_IRON_PASSWORD`).
//! Copy the `session` cookie into `C` and revoke on one instance, check on the other:
//!
//! ```sh
//! curl -i -b "session=$C" http://127.0.0.1:3001/me                        # 200
//! curl -i -b "session=$C" -X POST http://127.0.0.1:3000/sessions/revoke   # 204
//! curl -i -b "session=$C" http://127.0.0.1:3001/me                        # 401 session_revoked
//! ```
//!
//! Variables: those of `oidc_bff` (`AUTH_OIDC_ISSUER`, `AUTH_CLIENT_ID`, `AUTH_CLIENT_SECRET`,
//! `AUTH_IRON_PASSWORD`, `AUTH_REDIRECT_URI`, `AUTH_RESOURCE`, `BIND`), the same on every
//! instance, plus `AUTH_REDIS_URL` (`redis://`, or `rediss://` for TLS).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Html;
use axum::routing::{get, post};
use axum::{Json, Router};
use axum_session_mfa::authkit::IronPasswords;
use axum_session_mfa::lifecycle::{OpenIdProvider, Sessions};
use axum_session_mfa::store::RedisStore;
use axum_session_mfa::{AuthContext, CrossOriginProtectionLayer, Revocations};

type Error = Box<dyn std::error::Error>;

async fn run() -> Result<(), Error> {
    // The one thing that changes with several instances: state shared through Redis.
    let redis = RedisStore::new(&var("AUTH_REDIS_URL")?)?;
    let revocations = Revocations::builder(redis.clone()).start().await;
    // Hears the other instances' revocations as they come (and resyncs); stops with the process.
    tokio::spawn(revocations.keep_current());

    let (client_id, secret) = (var("AUTH_CLIENT_ID")?, var("AUTH_CLIENT_SECRET")?);
    let mut idp = OpenIdProvider::discover(&var("AUTH_OIDC_ISSUER")?, client_id, secret).await?;
    if let Some(resource) = opt("AUTH_RESOURCE") {
        idp = idp.resource(resource);
    }
    let passwords = IronPasswords::new("1", var("AUTH_IRON_PASSWORD")?)?;
    let callback = opt("AUTH_REDIRECT_URI")
        .unwrap_or_else(|| "http://127.0.0.1:3000/auth/callback".to_owned());
    let sessions = Sessions::builder(idp, passwords, callback)
        // One refresh per session across instances, a sign-in attempt used once anywhere.
        .store(redis)
        // Revoked sessions refused by the layer, sign-out everywhere, and
        // POST /auth/backchannel-logout for the provider.
        .revocations(revocations.clone())
        .build()?;

    // The provider's server posts the back-channel logout, proving it with a signed token.
    let cross_origin =
        CrossOriginProtectionLayer::new().insecure_bypass_path(sessions.backchannel_logout_path());
    let app = Router::new()
        .route("/sessions/revoke", post(revoke_everywhere).with_state(revocations))
        .route("/me", get(|ctx: AuthContext| async move { Json(ctx) }))
        .route("/", get(home))
        .merge(sessions.routes())
        .layer(sessions.auth_layer())
        .layer(cross_origin);

    serve(app).await
}

/// Every session of the caller's user that signed in until now, on every instance.
async fn revoke_everywhere(State(revocations): State<Revocations>, ctx: AuthContext) -> StatusCode {
    match revocations.revoke_user(ctx.sub()).await {
        Ok(()) => StatusCode::NO_CONTENT,
        // Refused here already; the other instances will once Redis answers again.
        Err(_) => StatusCode::SERVICE_UNAVAILABLE,
    }
}

async fn home(ctx: Option<AuthContext>) -> Html<String> {
    let instance = opt("BIND").unwrap_or_else(|| "127.0.0.1:3000".to_owned());
    let who = match &ctx {
        None => r#"<a href="/auth/login">Sign in</a>"#.to_owned(),
        Some(ctx) => format!(
            "Signed in as {}. <form method=\"post\" action=\"/auth/logout\">\
             <button>Sign out (every instance)</button></form>",
            ctx.sub().replace('&', "&amp;").replace('<', "&lt;")
        ),
    };
    Html(format!("<p>Instance {instance}.</p><p>{who}</p>"))
}

// Plumbing: environment, listener, errors.

fn opt(name: &str) -> Option<String> {
    std::env::var(name).ok().map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
}

fn var(name: &str) -> Result<String, Error> {
    opt(name).ok_or_else(|| format!("set {name}").into())
}

async fn serve(app: Router) -> Result<(), Error> {
    let addr = opt("BIND").unwrap_or_else(|| "127.0.0.1:3000".to_owned());
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    println!("many_instances listening on http://{addr}");
    axum::serve(listener, app).await?;
    Ok(())
}

#[tokio::main]
async fn main() {
    if let Err(e) = run().await {
        eprintln!("many_instances: {e}");
        std::process::exit(2);
    }
}
