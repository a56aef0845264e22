//! The runnable demo: `cargo run --example demo`.
//!
//! This file is the part to read: the layer, the guards and the routes. `config.rs` reads the
//! environment, `dev_issuer.rs` is a stand-in identity provider, `pages.rs` its HTML.
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
//! | `AUTH_IRON_PASSWORD` | read WorkOS AuthKit `wos-session` iron-sealed cookies (32+ chars); the cookie name then defaults to `wos-session`, and the development issuer hands out sealed cookies (its tokens carry `amr`; real WorkOS tokens do not) |
//! | `AUTH_STEP_UP_URL` | where browsers that fail a policy are sent (default: the dev issuer's page) |
//!
//! Set at most one key source (`AUTH_OIDC_ISSUER`, `AUTH_WORKOS_CLIENT_ID`, `AUTH_JWKS_URL`,
//! `AUTH_HS256_SECRET`, `AUTH_PUBLIC_KEY_PEM`). With none, a development issuer runs inside the
//! demo with a key generated at start, and `/` offers sign-in as a password-only session or with
//! MFA. Any other `AUTH_*` variable (a typo), or one that is set but blank, stops the demo with
//! a message naming it (exit status 2): it never falls back to minting its own tokens when you
//! meant to configure a key.
//!
//! Routes: `GET /health`, `GET /me` (the `AuthContext` as JSON, 401 without a session),
//! `GET /admin` (behind `RequireMfa`), `GET /admin/recent` (MFA within 300 s), and for the
//! development issuer `GET /`, `POST /dev/login`, `POST /dev/logout`, `GET /dev/token`,
//! `GET`/`POST /dev/step-up` (upgrades the session: `mfa` and a fresh `auth_time`).

mod config;
mod dev_issuer;
mod pages;

use std::sync::Arc;
use std::time::Duration;

use axum::routing::get;
use axum::{Json, Router};
use axum_session_mfa::{AuthContext, AuthLayer, KeySource, MfaPolicy, RequireMfa, TokenSource};
use serde_json::{Value, json};

use config::Config;
use dev_issuer::DevIssuer;

/// The layer: where the token is, which keys and claims to trust, and how to answer browsers.
fn auth_layer(config: &Config, keys: KeySource, dev: bool) -> Result<AuthLayer, String> {
    let mut auth = AuthLayer::builder(keys)
        .sources([TokenSource::cookie(&config.cookie), TokenSource::Bearer]);
    for issuer in &config.issuers {
        auth = auth.issuer(issuer);
    }
    for audience in &config.audiences {
        auth = auth.audience(audience);
    }
    if let Some(passwords) = &config.authkit {
        auth = auth.authkit(passwords.clone()); // `wos-session` cookies are iron seals
    }
    // Browsers that fail a policy are sent to step up: AUTH_STEP_UP_URL, or the dev issuer's page.
    let step_up = config.step_up_url.clone().or_else(|| dev.then(|| "/dev/step-up".to_owned()));
    if let Some(url) = step_up {
        auth = auth.step_up_redirect(url);
    }
    if dev {
        // Signed-out browsers go to the dev issuer's sign-in page, and come back afterwards.
        auth = auth.login_redirect("/");
        auth = auth.issuer(dev_issuer::ISSUER);
    }
    auth.build().map_err(|e| e.to_string())
}

/// The routes: guards go on with `route_layer`, the auth layer goes around everything.
fn app(auth: AuthLayer, dev: Option<Arc<DevIssuer>>) -> Router {
    let recent = MfaPolicy::builder().name("recent-mfa").max_age(Duration::from_secs(300));
    let admin = Router::new()
        .route("/admin", get(admin))
        .route_layer(RequireMfa::new()) // 401 without a session, 403 until `amr` has `mfa`
        .merge(
            Router::new()
                .route("/admin/recent", get(admin))
                .route_layer(RequireMfa::with_policy(recent.build())),
        );
    Router::new()
        .merge(admin)
        .route("/me", get(me)) // any valid session: the extractor answers 401 otherwise
        .route("/health", get(|| async { "ok" }))
        .merge(dev.map(dev_issuer::routes).unwrap_or_default())
        .layer(auth)
}

async fn me(ctx: AuthContext) -> Json<AuthContext> {
    Json(ctx)
}

async fn admin(ctx: AuthContext) -> Json<Value> {
    let message = "welcome to the admin area";
    Json(json!({ "ok": true, "sub": ctx.sub(), "amr": ctx.amr(), "message": message }))
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
    let (keys, dev) = match config.keys.take() {
        Some((var, choice)) => {
            println!("Verifying tokens with the key source from {var}.");
            let keys = choice.key_source(&config.issuers).await;
            (keys.unwrap_or_else(|e| fail(&e)), None)
        }
        None => {
            let (dev, key) = DevIssuer::new(&config.cookie, config.authkit.clone());
            (key.into(), Some(dev))
        }
    };
    let auth = auth_layer(&config, keys, dev.is_some()).unwrap_or_else(|e| fail(&e));
    let listener = tokio::net::TcpListener::bind(config.addr)
        .await
        .unwrap_or_else(|e| fail(&format!("cannot listen on {}: {e}", config.addr)));
    print_banner(&config, dev.is_some());

    let server = axum::serve(listener, app(auth, dev)).with_graceful_shutdown(async {
        let _ = tokio::signal::ctrl_c().await;
    });
    if let Err(e) = server.await {
        fail(&format!("server error: {e}"));
    }
}

fn print_banner(config: &Config, dev: bool) {
    let base = format!("http://{}", config.addr);
    println!("axum-session-mfa demo listening on {base}");
    if dev {
        println!("No key configured: running the built-in development issuer.");
        if config.authkit.is_some() {
            println!(
                "  It hands out AuthKit-style sealed `{}` cookies. Its tokens carry `amr`; real \
                 WorkOS access tokens do not, so with WorkOS RequireMfa denies every session.",
                config.cookie
            );
        }
        println!(
            "  Browser: open {base}/ and sign in with or without MFA, then visit /me and /admin."
        );
        println!("  curl:    T=$(curl -s '{base}/dev/token?mfa=true')");
        println!("           curl -i -H \"Authorization: Bearer $T\" {base}/admin");
    } else {
        println!("Send tokens as the cookie `{}` or as a Bearer token:", config.cookie);
        println!("  curl -i -H \"Authorization: Bearer $TOKEN\" {base}/me");
        println!("  curl -i -H \"Authorization: Bearer $TOKEN\" {base}/admin");
    }
    println!("  Without a session: curl -i {base}/admin  (401), password-only: 403, with mfa: 200");
}

fn fail(message: &str) -> ! {
    eprintln!("demo: {message}");
    std::process::exit(2)
}
