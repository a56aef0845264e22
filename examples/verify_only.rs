//! Verify only: an API that trusts session tokens signed by someone else (your identity
//! provider, or the app that signs people in) and asks for MFA on its admin routes. No sign-in
//! here: `AuthLayer` verifies the token (cookie `session` or `Authorization: Bearer`), the
//! guards decide, and every refusal is a precise 401 / 403 with a way forward.
//!
//! ```sh
//! # the provider's key set (cached and rotated), pinned to its issuer:
//! AUTH_JWKS_URL=https://idp.example.com/.well-known/jwks.json AUTH_ISSUER=https://idp.example.com/ \
//!   cargo run --example verify_only
//! # or a shared HS256 secret, to try it with tokens you sign yourself:
//! AUTH_HS256_SECRET=a-shared-secret-of-at-least-32-bytes AUTH_ISSUER=https://auth.example.com \
//!   cargo run --example verify_only
//! ```
//!
//! | variable | meaning |
//! |---|---|
//! | `AUTH_ISSUER` | required: the accepted `iss` |
//! | `AUTH_JWKS_URL` or `AUTH_HS256_SECRET` | the keys: a JWKS URL, or a shared secret (32+ bytes) |
//! | `AUTH_AUDIENCE` | the accepted `aud`, when your provider sets one (it should) |
//! | `BIND` | listen address (default `127.0.0.1:3001`) |
//!
//! A token to try it with (HS256, as in the README's quick start; drop `"mfa"` for the 403):
//!
//! ```sh
//! b64() { openssl base64 -A | tr '+/' '-_' | tr -d '='; }
//! T=$(printf '{"alg":"HS256"}' | b64).$(printf '{"iss":"https://auth.example.com","sub":"ada","amr":["pwd","mfa"],"exp":%s}' $(($(date +%s) + 3600)) | b64)
//! T=$T.$(printf %s "$T" | openssl dgst -sha256 -hmac "$AUTH_HS256_SECRET" -binary | b64)
//! curl -i -H "Authorization: Bearer $T" http://127.0.0.1:3001/admin   # 200; 401 without it
//! ```

use std::time::Duration;

use axum::routing::get;
use axum::{Json, Router};
use axum_session_mfa::jwks::{IssuerKeys, JwksKeys};
use axum_session_mfa::{
    Algorithm, AuthContext, AuthLayer, Key, KeySource, MfaPolicy, RequireAuth, RequireMfa,
};

type Error = Box<dyn std::error::Error>;

async fn run() -> Result<(), Error> {
    let mut auth = AuthLayer::builder(keys()?).issuer(var("AUTH_ISSUER")?);
    if let Some(audience) = opt("AUTH_AUDIENCE") {
        auth = auth.audience(audience);
    }
    let auth = auth.build()?;

    // MFA within the last five minutes: the step-up challenge carries `max_age=300`.
    let recent = MfaPolicy::builder().name("recent-mfa").max_age(Duration::from_secs(300)).build();

    let app = Router::new()
        // Any valid session: 401 otherwise.
        .route("/me", get(|ctx: AuthContext| async move { Json(ctx) }))
        .route_layer(RequireAuth::new())
        // 401 without a session, 403 (RFC 9470 step-up challenge) unless it passed MFA.
        .route("/admin", get(admin).route_layer(RequireMfa::new()))
        .route("/admin/recent", get(admin).route_layer(RequireMfa::with_policy(recent)))
        // Public: works with or without a (possibly stale) session.
        .route("/", get(home))
        .layer(auth);

    serve(app).await
}

async fn admin(ctx: AuthContext) -> String {
    format!("hello {}, your session passed MFA\n", ctx.sub())
}

async fn home(ctx: Option<AuthContext>) -> String {
    match ctx {
        Some(ctx) => format!("signed in as {}, MFA: {}\n", ctx.sub(), ctx.has_amr("mfa")),
        None => "hello, stranger\n".to_owned(),
    }
}

/// The keys to verify with: the provider's JWKS, or a shared secret.
fn keys() -> Result<KeySource, Error> {
    if let Some(url) = opt("AUTH_JWKS_URL") {
        // The issuer is pinned by the layer (`.issuer` above) as well.
        return Ok(IssuerKeys::new(JwksKeys::new(&url)?, var("AUTH_ISSUER")?).into());
    }
    let secret = var("AUTH_HS256_SECRET").map_err(|_| "set AUTH_JWKS_URL or AUTH_HS256_SECRET")?;
    Ok(Key::hmac(Algorithm::HS256, secret.as_bytes())?.into())
}

// Plumbing: environment, listener, errors.

fn opt(name: &str) -> Option<String> {
    std::env::var(name).ok().map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
}

fn var(name: &str) -> Result<String, Error> {
    opt(name).ok_or_else(|| format!("set {name}").into())
}

async fn serve(app: Router) -> Result<(), Error> {
    let addr = opt("BIND").unwrap_or_else(|| "127.0.0.1:3001".to_owned());
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    println!("verify_only listening on http://{addr}");
    axum::serve(listener, app).await?;
    Ok(())
}

#[tokio::main]
async fn main() {
    if let Err(e) = run().await {
        eprintln!("verify_only: {e}");
        std::process::exit(2);
    }
}
