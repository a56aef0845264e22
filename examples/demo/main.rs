//! The runnable tour: `cargo run --example demo`, then open <http://127.0.0.1:3000/>.
//!
//! One binary, three ways to get a session, chosen by the environment (the contract is in
//! `config.rs` and the README): with no key configured a built-in development issuer signs
//! sessions (`dev_issuer.rs`); with a key source the demo only verifies tokens made elsewhere;
//! with a provider's client credentials it signs users in itself (the crate's session
//! lifecycle). Each idea on its own, in a few dozen lines, is in the smaller examples:
//! `verify_only`, `workos_bff`, `oidc_bff`, `many_instances`.
//!
//! This file is the part to read: the layer, the guards, the routes and how browsers are
//! answered. `config.rs` reads the environment, `revoke.rs` is `POST /admin/revoke`,
//! `pages.rs` the HTML, `banner.rs` what is printed at start.
//!
//! Routes: `GET /` (the session and the buttons that fit it), `GET /health`, `GET /me` (the
//! `AuthContext` as JSON), `GET /admin` (`RequireMfa`), `GET /admin/recent` (MFA within 300 s;
//! with WorkOS, which sends no `amr`, a sign-in within 300 s: `RequireRecentAuth`),
//! `POST /admin/revoke` (`RequireMfa`), `GET /api/reports` (a token with the OAuth scope
//! `reports:read`: `RequireScope`; with `AUTH_RESOURCE_URL` the API is an OAuth protected
//! resource and `/.well-known/oauth-protected-resource` describes it); with sign-in the crate's `/auth/*` routes (with WorkOS
//! and `AUTH_WORKOS_WEBHOOK_SECRET`, `POST /auth/workos/webhook` too; `AUTH_WORKOS_EVENTS=poll`
//! polls the Events API instead); with the development issuer its `/dev/*` routes.

mod banner;
mod config;
mod dev_issuer;
mod pages;
mod revoke;

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
#[cfg(feature = "lifecycle")]
use axum_session_mfa::dpop::{Dpop, DpopMode};
use axum_session_mfa::lifecycle::Sessions;
use axum_session_mfa::{
    AuthContext, AuthLayer, AuthLayerBuilder, CrossOriginProtectionLayer, DenyRule, MfaPolicy,
    ProtectedResource, Rejection, RejectionKind, RequireMfa, RequireRecentAuth, RequireScope,
    Revocations, TokenSource, safe_return_to,
};
use serde::Deserialize;
use serde_json::json;

use config::Config;
use dev_issuer::DevIssuer;
use pages::{SignIn, Site};

/// How long ago the last sign-in may be for `/admin/recent`.
const RECENT: Duration = Duration::from_secs(300);

/// Answers that show the session must not be kept by any cache.
const NO_STORE: [(header::HeaderName, &str); 1] = [(header::CACHE_CONTROL, "no-store")];

/// Who signs users in.
enum Mode {
    /// The built-in development issuer (no key configured): `/`, `/dev/*`.
    Dev(Arc<DevIssuer>),
    /// The crate's session lifecycle with an identity provider: `/auth/*`.
    #[cfg(feature = "lifecycle")]
    Sessions { sessions: Sessions, provider: String, redirect_uri: String, polls: bool },
    /// Nobody here: tokens come from elsewhere, the demo only verifies them.
    Verify,
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
    // In this process, or on Redis (AUTH_REDIS_URL) for every instance.
    let stores = config.stores().unwrap_or_else(|e| fail(&e));
    let revocations = Revocations::builder(stores.revocations.clone()).start().await;
    // Follows the other instances' revocations (nothing to follow in memory).
    tokio::spawn(revocations.keep_current());
    let answers = Answers::of(&config, stores.sessions.clone());

    let (auth, mode) = match (config.keys.take(), config.sign_in.take()) {
        #[cfg(feature = "lifecycle")]
        (Some((var, choice)), Some(sign_in)) => {
            println!("Signing users in with the provider from {var}.");
            let (provider, redirect_uri) = (choice.provider_name(), sign_in.redirect_uri.clone());
            let polls = sign_in.workos_poll;
            // The sessions build the layer (the provider's keys, its cookie then Bearer, sealed
            // cookies refreshed before they expire, browsers sent to /auth/login to sign in or
            // step up) with what every mode adds, so the callback judges tokens as it does.
            let answers = Answers { provider: Some(provider.clone()), ..answers };
            let sessions = choice
                .sessions(
                    sign_in,
                    &config.cookie,
                    revocations.clone(),
                    stores.sessions.clone(),
                    move |l| answers.apply(l),
                )
                .await
                .unwrap_or_else(|e| fail(&e));
            if polls {
                // WorkOS's Events API, every 5 s, by one instance at a time (AUTH_WORKOS_EVENTS).
                let poller = sessions.workos_events(Duration::from_secs(5));
                tokio::spawn(poller.unwrap_or_else(|e| fail(&format!("AUTH_WORKOS_EVENTS: {e}"))));
            }
            (sessions.auth_layer(), Mode::Sessions { sessions, provider, redirect_uri, polls })
        }
        (Some((var, choice)), _) => {
            println!("Verifying tokens with the key source from {var}.");
            let keys = choice.key_source(&config.issuers).await.unwrap_or_else(|e| fail(&e));
            let auth = AuthLayer::builder(keys).revocations(revocations.clone());
            (build(answers.apply(sources(auth, &config))), Mode::Verify)
        }
        (None, _) => {
            // Its tokens carry the resource as `aud` when the API is one (AUTH_RESOURCE_URL).
            let audience = config.resource.as_ref().map(|r| r.resource().to_owned());
            let (dev, key) = DevIssuer::new(&config.cookie, config.authkit.clone(), audience);
            // Signed-out browsers go to the dev issuer's sign-in page and come back afterwards;
            // those that fail a policy to its step-up page (unless AUTH_STEP_UP_URL says
            // otherwise).
            let auth = AuthLayer::builder(key)
                .revocations(revocations.clone())
                .issuer(dev_issuer::ISSUER)
                .login_redirect("/")
                .step_up_redirect("/dev/step-up");
            (build(answers.apply(sources(auth, &config))), Mode::Dev(dev))
        }
    };

    let listener = tokio::net::TcpListener::bind(config.addr)
        .await
        .unwrap_or_else(|e| fail(&format!("cannot listen on {}: {e}", config.addr)));
    banner::print(&config, &mode, &stores).await;
    let sign_in = match &mode {
        Mode::Dev(_) => SignIn::Dev,
        #[cfg(feature = "lifecycle")]
        Mode::Sessions { provider, .. } => SignIn::Provider(provider.clone()),
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

/// The routes: guards go on with `route_layer`, the auth layer goes around everything, and
/// the cross-site refusal around that.
fn app(auth: AuthLayer, mode: Mode, site: Site, revocations: Revocations) -> Router {
    // Unsafe methods from another origin (a form on another site posting to /admin/revoke or
    // /auth/logout) are refused before the session is even read. The back-channel logout, the
    // Shared Signals receiver and the WorkOS webhook are posted by the provider's servers and
    // prove themselves with their signed tokens or signature.
    let cross_origin = CrossOriginProtectionLayer::new();
    #[cfg(feature = "lifecycle")]
    let cross_origin = match &mode {
        Mode::Sessions { sessions, .. } => {
            let cross_origin = cross_origin
                .insecure_bypass_path(sessions.backchannel_logout_path())
                .insecure_bypass_path(sessions.shared_signals_path());
            match sessions.workos_webhook_path() {
                Some(path) => cross_origin.insecure_bypass_path(path),
                None => cross_origin,
            }
        }
        _ => cross_origin,
    };
    let recent = Router::new().route(
        "/admin/recent",
        get(move |ctx, headers| {
            admin_page(ctx, headers, "Recent sign-in area", pages::recent_why(site.workos))
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
        .route(
            "/admin",
            get(|ctx, headers| admin_page(ctx, headers, "Admin area", pages::ADMIN_WHY)),
        )
        .route("/admin/revoke", post(revoke::revoke).with_state(revocations))
        .route_layer(RequireMfa::new()) // 401 without a session, 403 until `amr` has `mfa`
        .merge(recent);
    let sign_in = match mode {
        Mode::Dev(dev) => dev_issuer::routes(dev),
        // /auth/login, /auth/callback, /auth/logout, /auth/session; behind the layer, which
        // refreshes sessions and tells /auth/session what it found.
        #[cfg(feature = "lifecycle")]
        Mode::Sessions { sessions, .. } => sessions.routes().route("/", get(home)).with_state(site),
        Mode::Verify => Router::new().route("/", get(home)).with_state(site),
    };
    // AUTH_RESOURCE_URL: /.well-known/oauth-protected-resource, public, outside every guard.
    let metadata = auth.resource_metadata_routes().unwrap_or_default();
    // For programs: 403 `insufficient_scope` (with the scope to ask for) without the scope.
    let api = Router::new()
        .route("/api/reports", get(|| async { Json(json!({ "reports": ["q3-revenue"] })) }))
        .route_layer(RequireScope::new(["reports:read"]));
    Router::new()
        .merge(metadata)
        .merge(api)
        .merge(admin)
        .route("/me", get(me)) // any valid session: the extractor answers 401 otherwise
        .route("/health", get(|| async { "ok" }))
        .merge(sign_in)
        .layer(auth)
        .layer(cross_origin)
}

/// What every mode adds to the layer: the accepted issuers and audiences, and how to answer
/// browsers (with sign-in, the sessions take it and build the layer with it).
#[derive(Clone)]
struct Answers {
    issuers: Vec<String>,
    audiences: Vec<String>,
    step_up_url: Option<String>,
    workos: bool,
    /// `AUTH_RESOURCE_URL`: the protected resource the layer describes (RFC 9728).
    resource: Option<ProtectedResource>,
    /// With sign-in: the provider's name, for the page that sends browsers there to step up.
    provider: Option<String>,
    /// AUTH_DPOP: DPoP-bound tokens allowed or required, proofs spent in the shared store.
    dpop: Option<Dpop>,
}

impl Answers {
    fn of(config: &Config, store: Arc<dyn axum_session_mfa::store::Store>) -> Self {
        // `htu` names the origin clients use: AUTH_RESOURCE_URL's when set (the layer's
        // protected resource gives it), else the address the demo listens on.
        let origin = format!("http://{}", config.addr);
        let dpop = config.dpop.map(|mode| match mode {
            DpopMode::Required => Dpop::required(),
            _ => Dpop::allowed(),
        });
        let dpop = dpop.map(|d| match &config.resource {
            Some(_) => d,
            None => d.public_origin(origin),
        });
        Self {
            dpop: dpop.map(|d| d.store(store)),
            issuers: config.issuers.clone(),
            audiences: config.audiences.clone(),
            step_up_url: config.step_up_url.clone(),
            workos: config.workos,
            resource: config.resource.clone(),
            provider: None,
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
        if let Some(dpop) = self.dpop {
            auth = auth.dpop(dpop);
        }
        if let Some(resource) = self.resource {
            auth = auth.protected_resource(resource);
        }
        let (workos, provider) = (self.workos, self.provider);
        auth.on_reject(move |rejection| explain(rejection, workos, provider.as_deref()))
    }
}

/// People refused by a guard get a page that says why, where a redirect alone would leave
/// them guessing; API clients (and fetches) keep the crate's JSON and challenges.
fn explain(rejection: &Rejection, workos: bool, provider: Option<&str>) -> Response {
    let (Some(target), RejectionKind::InsufficientAuthentication(denial)) =
        (rejection.navigation(), rejection.kind())
    else {
        return rejection.default_response();
    };
    let path = target.split('?').next().unwrap_or(target);
    if workos && matches!(denial.rule(), DenyRule::AmrAbsent) {
        // WorkOS access tokens carry no `amr`: sending the browser to sign in again can never
        // satisfy RequireMfa, so it gets a page that says so instead of going round in circles.
        return (StatusCode::FORBIDDEN, NO_STORE, pages::no_amr(path)).into_response();
    }
    match (provider, rejection.location()) {
        // "Confirm it's you", with a button to the step-up sign-in the redirect would have
        // used (`return_to`, `max_age`, `acr_values` kept).
        (Some(provider), Some(step_up)) => {
            let page = pages::step_up_needed(path, denial, provider, step_up);
            (StatusCode::FORBIDDEN, NO_STORE, page).into_response()
        }
        _ => rejection.default_response(),
    }
}

/// The layer reads the session from the configured cookie, then from `Authorization: Bearer`;
/// `wos-session` cookies (AUTH_IRON_PASSWORD) are iron seals.
fn sources(mut auth: AuthLayerBuilder, config: &Config) -> AuthLayerBuilder {
    auth = auth.sources([TokenSource::cookie(&config.cookie), TokenSource::Bearer]);
    match &config.authkit {
        Some(passwords) => auth.authkit(passwords.clone()),
        None => auth,
    }
}

fn build(auth: AuthLayerBuilder) -> AuthLayer {
    auth.build().unwrap_or_else(|e| fail(&e.to_string()))
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

fn fail(message: &str) -> ! {
    eprintln!("demo: {message}");
    std::process::exit(2)
}
