//! The whole session lifecycle for a Rust service with no Next.js app in front (feature
//! `lifecycle`): sign-in, the step-up round trip, refresh in the layer, sign-out, and a session
//! endpoint for single-page apps, against WorkOS AuthKit or any OpenID Provider.
//!
//! ```no_run
//! use axum::{Router, routing::get};
//! use axum_session_mfa::lifecycle::Sessions;
//! use axum_session_mfa::{AuthContext, RequireMfa};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! // WORKOS_CLIENT_ID, WORKOS_API_KEY, WORKOS_REDIRECT_URI, WORKOS_COOKIE_PASSWORD:
//! // the variables authkit-nextjs reads, so both apps share one configuration.
//! let sessions = Sessions::workos_from_env()?.build()?;
//! let auth = sessions.auth_layer();
//! let app: Router = Router::new()
//!     .route("/admin", get(|| async { "admin" }).route_layer(RequireMfa::new()))
//!     .route("/me", get(|ctx: AuthContext| async move { ctx.sub().to_owned() }))
//!     .merge(sessions.routes()) // /auth/login, /auth/callback, /auth/logout, /auth/session
//!     .layer(auth);
//! # let _ = app; Ok(()) }
//! ```
//!
//! # What happens
//! * `GET /auth/login?return_to=/path[&max_age=N][&acr_values=…]` starts an authorization-code
//!   flow with PKCE (`S256`), `state` and (OpenID) `nonce`, kept in a sealed cookie that lives
//!   ten minutes; `return_to` must pass [`safe_return_to`](crate::safe_return_to) (else `/`).
//! * `GET /auth/callback` checks `state`, exchanges the code, verifies the access token (and the
//!   ID token: signature, `aud`, `nonce`), and, when the attempt asked for `max_age` or
//!   `acr_values`, checks the new `auth_time` and `acr` against them: a provider that did not
//!   re-authenticate gets no session. It seals the session in AuthKit's JSON shape (so
//!   authkit-nextjs and `@workos-inc/node` read the same cookie), sets it, and redirects to
//!   `return_to`. The attempt cookie is single-use.
//! * The [layer](Sessions::auth_layer) refreshes a sealed session whose access token expired or
//!   expires within the buffer (60 s; 30 s for tokens that live five minutes or less), before
//!   the request goes on; the response carries the resealed cookie. See [Refresh](#refresh).
//! * `GET`/`POST /auth/logout` clears the cookie and sends the browser to the provider's logout
//!   (WorkOS: the session's `sid`; OpenID: `end_session_endpoint` with `id_token_hint`), else to
//!   the post-logout URL. With [revocations](SessionsBuilder::revocations) the sign-out is
//!   final before it answers: every instance refuses every cookie of that sign-in (a random
//!   sign-in id sealed in the session, kept across refreshes), a refresh still in flight is
//!   discarded wherever it runs, and the provider is told (WorkOS: the session is revoked;
//!   OpenID: the refresh tokens, where it has a revocation endpoint).
//! * `GET /auth/session` answers what the browser may know: `{"authenticated": false}` or
//!   `{"authenticated": true, "user", "sub", "sid", "org_id", "amr", "acr", "auth_time",
//!   "authentication_method", "expires_at"}`; never a token.
//!
//! Guards behind the layer send browsers that must step up to `/auth/login` with `return_to`
//! and the policy's `max_age` / `acr_values` (a policy without `max_age` asks for `max_age=0`,
//! a fresh sign-in), so after the callback the user lands back on the guarded page.
//!
//! # Refresh
//! Refresh tokens are single-use. In one process, requests of one session that need a refresh
//! share one call to the provider, and requests that arrive up to a minute later with the old
//! cookie get the same result. `invalid_grant` (revoked, spent, expired) ends the session: the
//! cookie is cleared and the request has none ([`AuthError::SessionEnded`](crate::AuthError)).
//! A refresh whose answer names another user or issuer than the session's (the access token's
//! `sub` or `iss`, the WorkOS user, or a refreshed ID token, which is verified before its
//! profile is used) ends the session the same way (OpenID Connect Core 12.2).
//! A provider that cannot answer (network, 408, 429, 5xx) never signs anyone out: the request
//! goes on with the old token while it is valid, and gets 503 with `Retry-After`
//! ([`AuthError::RefreshUnavailable`](crate::AuthError)) once it is not.
//!
//! # Audit
//! `sign_in`, `step_up` (completed or refused), `sign_in_failed`, `refresh`, `refresh_failed`
//! and `sign_out` events, under [`AUDIT_TARGET`](crate::audit::AUDIT_TARGET), with no token
//! material.

#[cfg(feature = "revocation")]
mod backchannel;
mod cookies;
mod flow;
mod provider;
mod refresh;
mod renew;
mod routes;
#[cfg(feature = "revocation")]
mod ssf;
#[cfg(feature = "revocation")]
mod workos_events;

use std::env;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use reqwest::Url;

pub use crate::reject::SignInError;
pub use provider::{DEFAULT_SCOPES, IdentityProvider, OpenIdProvider, ProviderError, WORKOS_API};
#[cfg(feature = "revocation")]
pub use ssf::{DEFAULT_SET_MAX_AGE, SharedSignals, SharedSignalsError};
#[cfg(feature = "revocation")]
pub use workos_events::{
    DEFAULT_WORKOS_WEBHOOK_PATH, DEFAULT_WORKOS_WEBHOOK_TOLERANCE, PollEvents,
};

use self::cookies::CookieSettings;
use self::provider::GrantError;
use self::refresh::Flights;
use crate::authkit::{AUTHKIT_COOKIE, IronConfigError, IronPasswords};
use crate::keys::http::{check_url, parse_url};
use crate::store::Store;
use crate::verify::{TokenType, Verifier};
use crate::{AuthLayer, AuthLayerBuilder, ClaimNames, Clock, TokenSource};

/// The session cookie's name for OpenID Providers unless told otherwise.
pub const DEFAULT_COOKIE: &str = "session";

/// Sign-in, callback, refresh, sign-out and the session endpoint, for one provider.
///
/// Cheap to clone (one `Arc`). Build it with [`Sessions::builder`] or
/// [`Sessions::workos_from_env`]; then put [`auth_layer`](Self::auth_layer) in front of your
/// routes and [`routes`](Self::routes) among them.
#[derive(Clone)]
pub struct Sessions {
    inner: Arc<Inner>,
    /// The layer, built from the same settings the callback verifies with.
    layer: AuthLayer,
}

impl fmt::Debug for Sessions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let i = &self.inner;
        f.debug_struct("Sessions")
            .field("provider", &i.idp)
            .field("cookie", &i.cookie.name)
            .field("redirect_uri", &i.redirect_uri)
            .field("paths", &i.paths)
            .finish_non_exhaustive()
    }
}

/// The paths of the crate's routes.
#[derive(Debug, Clone)]
pub(crate) struct Paths {
    pub(crate) login: String,
    pub(crate) callback: String,
    pub(crate) logout: String,
    pub(crate) session: String,
    pub(crate) backchannel: String,
    /// The Shared Signals receiver (`POST`, with a transmitter).
    pub(crate) ssf: String,
}

pub(crate) struct Inner {
    pub(crate) idp: IdentityProvider,
    pub(crate) passwords: IronPasswords,
    pub(crate) cookie: CookieSettings,
    pub(crate) redirect_uri: String,
    pub(crate) paths: Paths,
    pub(crate) post_logout: String,
    pub(crate) refresh_buffer: Option<Duration>,
    pub(crate) clock: Clock,
    /// Verifies access tokens at the callback, as the layer will.
    pub(crate) access: Verifier,
    /// Verifies ID tokens (OpenID): `aud` is the client id.
    pub(crate) id_tokens: Verifier,
    /// Verifies back-channel logout tokens: `aud` is the client id, any `typ`.
    #[cfg(feature = "revocation")]
    pub(crate) logout_tokens: Verifier,
    pub(crate) flights: Flights<Result<renew::Refreshed, GrantError>>,
    /// Sign-in attempts already completed or refused (their `state`), so an attempt cookie
    /// replayed by someone who kept it cannot drive the token endpoint again.
    pub(crate) used_states: flow::UsedStates,
    /// Refresh leases and results, used `state`s, logout `jti`s.
    pub(crate) store: Arc<dyn Store>,
    /// Revocations the layer checks and sign-out records.
    pub(crate) revocations: MaybeRevocations,
    /// The OpenID Shared Signals receiver, with a transmitter.
    #[cfg(feature = "revocation")]
    pub(crate) shared_signals: Option<ssf::Receiver>,
    /// The WorkOS webhook route, when mounted.
    #[cfg(feature = "revocation")]
    pub(crate) workos_webhook: Option<workos_events::Webhook>,
}

/// The revocations the sessions check and record: none without feature `revocation`.
#[cfg(feature = "revocation")]
pub(crate) type MaybeRevocations = Option<crate::Revocations>;
/// The revocations the sessions check and record: none without feature `revocation`.
#[cfg(not(feature = "revocation"))]
pub(crate) type MaybeRevocations = Option<std::convert::Infallible>;

/// Why [`Sessions`] could not be built.
#[derive(Debug)]
#[non_exhaustive]
pub enum ConfigError {
    /// A required environment variable is not set (or not UTF-8).
    MissingVar(&'static str),
    /// The cookie password is unusable (shorter than 32 characters).
    Password(IronConfigError),
    /// The redirect URI is not an absolute `https` URL (or `http` on loopback).
    RedirectUri(String),
    /// A path is not an absolute path (`/…`).
    Path(String),
    /// The provider could not be set up.
    Provider(ProviderError),
    /// An OpenID Provider without [`resource`](OpenIdProvider::resource) or
    /// [`audience`](OpenIdProvider::audience): access tokens would not be bound to this API,
    /// so any token the provider signs (an ID token, another client's access token) would pass.
    NoAudience,
    /// A `__Host-` cookie name with a `Domain`, or without `https`: browsers refuse to store it.
    HostCookie(String),
    /// The layer could not be built from what [`SessionsBuilder::layer`] set.
    Layer(crate::BuildError),
    /// One of the [`store`](SessionsBuilder::store) and the
    /// [`revocations`](SessionsBuilder::revocations) is shared with other instances and the
    /// other is not: refreshes would not be coordinated across instances (each would spend the
    /// single-use refresh token), or a sign-out would hold on this instance only. Give both the
    /// same store.
    StoreMismatch,
    /// A [Shared Signals transmitter](SessionsBuilder::shared_signals) without
    /// [`revocations`](SessionsBuilder::revocations): its events would revoke nothing.
    SharedSignalsWithoutRevocations,
    /// A WorkOS feature ([`SessionsBuilder::workos_webhook`], [`Sessions::workos_events`])
    /// asked of another provider: the name of the call.
    NotWorkOs(&'static str),
    /// A feature that revokes sessions ([`SessionsBuilder::workos_webhook`],
    /// [`Sessions::workos_events`]) without [`SessionsBuilder::revocations`]: the name of the
    /// call.
    NoRevocations(&'static str),
    /// The WorkOS webhook secret is empty.
    WebhookSecret,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::MissingVar(name) => write!(f, "the environment variable {name} is not set"),
            Self::Password(e) => write!(f, "cookie password: {e}"),
            Self::RedirectUri(uri) => write!(
                f,
                "the redirect URI {uri:?} must be an absolute https URL (http only on loopback)"
            ),
            Self::Path(p) => write!(f, "the route path {p:?} must start with /"),
            Self::Provider(e) => e.fmt(f),
            Self::NoAudience => f.write_str(
                "set the provider's resource (or audience) so access tokens are bound to this API",
            ),
            Self::HostCookie(name) => write!(
                f,
                "the cookie {name:?} needs https and no Domain (the __Host- prefix requires both)"
            ),
            Self::Layer(e) => write!(f, "the layer: {e}"),
            Self::StoreMismatch => f.write_str(
                "the sessions' store and the revocations' store must both be shared or both not: pass the same store to SessionsBuilder::store and Revocations::builder",
            ),
            Self::SharedSignalsWithoutRevocations => f.write_str(
                "a Shared Signals transmitter needs revocations: call SessionsBuilder::revocations",
            ),
            Self::NotWorkOs(what) => write!(f, "{what} needs the WorkOS provider"),
            Self::NoRevocations(what) => {
                write!(f, "{what} revokes sessions: give the sessions revocations too")
            }
            Self::WebhookSecret => f.write_str("the WorkOS webhook secret is empty"),
        }
    }
}

impl std::error::Error for ConfigError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Password(e) => Some(e),
            Self::Provider(e) => Some(e),
            Self::Layer(e) => Some(e),
            _ => None,
        }
    }
}

impl From<ProviderError> for ConfigError {
    fn from(e: ProviderError) -> Self {
        Self::Provider(e)
    }
}

/// Builds [`Sessions`]; see [`Sessions::builder`].
#[must_use]
pub struct SessionsBuilder {
    idp: IdentityProvider,
    passwords: IronPasswords,
    redirect_uri: String,
    cookie: Option<String>,
    domain: Option<String>,
    login: String,
    logout: String,
    session: String,
    post_logout: Option<String>,
    refresh_buffer: Option<Duration>,
    clock: Clock,
    backchannel: String,
    store: Option<Arc<dyn Store>>,
    revocations: MaybeRevocations,
    layer: Option<LayerSettings>,
    #[cfg(feature = "revocation")]
    shared_signals: Option<SharedSignals>,
    ssf_path: String,
    #[cfg(feature = "revocation")]
    workos: workos_events::Settings,
}

/// What the application changes on the layer the sessions build (see [`SessionsBuilder::layer`]).
type LayerSettings = Box<dyn FnOnce(AuthLayerBuilder) -> AuthLayerBuilder + Send>;

impl fmt::Debug for SessionsBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionsBuilder")
            .field("provider", &self.idp)
            .field("redirect_uri", &self.redirect_uri)
            .finish_non_exhaustive()
    }
}

fn var(name: &'static str) -> Result<String, ConfigError> {
    env::var(name).ok().filter(|v| !v.is_empty()).ok_or(ConfigError::MissingVar(name))
}

impl Sessions {
    /// Starts configuring sessions with a provider, the passwords that seal the cookies (the
    /// first one seals; all open), and the absolute callback URL registered at the provider
    /// (its path becomes the callback route).
    ///
    /// ```
    /// use axum_session_mfa::authkit::IronPasswords;
    /// use axum_session_mfa::lifecycle::{IdentityProvider, Sessions};
    ///
    /// let idp = IdentityProvider::workos("client_01H", "sk_test_123").unwrap();
    /// let passwords = IronPasswords::new("1", "a-cookie-password-of-32-characters!").unwrap();
    /// let sessions = Sessions::builder(idp, passwords, "https://app.example.com/auth/callback")
    ///     .build()
    ///     .unwrap();
    /// ```
    pub fn builder(
        idp: impl Into<IdentityProvider>,
        passwords: IronPasswords,
        redirect_uri: impl Into<String>,
    ) -> SessionsBuilder {
        SessionsBuilder {
            idp: idp.into(),
            passwords,
            redirect_uri: redirect_uri.into(),
            cookie: None,
            domain: None,
            login: "/auth/login".to_owned(),
            logout: "/auth/logout".to_owned(),
            session: "/auth/session".to_owned(),
            post_logout: None,
            refresh_buffer: None,
            clock: Clock::system(),
            backchannel: "/auth/backchannel-logout".to_owned(),
            store: None,
            revocations: None,
            layer: None,
            #[cfg(feature = "revocation")]
            shared_signals: None,
            ssf_path: "/auth/ssf".to_owned(),
            #[cfg(feature = "revocation")]
            workos: workos_events::Settings::default(),
        }
    }

    /// WorkOS from the environment variables authkit-nextjs reads: `WORKOS_CLIENT_ID`,
    /// `WORKOS_API_KEY`, `WORKOS_REDIRECT_URI` and `WORKOS_COOKIE_PASSWORD` (at least 32
    /// characters), and when set `WORKOS_COOKIE_NAME` (default `wos-session`),
    /// `WORKOS_COOKIE_DOMAIN` and `WORKOS_API_HOSTNAME` / `WORKOS_API_HTTPS` /
    /// `WORKOS_API_PORT` (another API host, as `@workos-inc/node` reads them).
    pub fn workos_from_env() -> Result<SessionsBuilder, ConfigError> {
        let client_id = var("WORKOS_CLIENT_ID")?;
        let api_key = var("WORKOS_API_KEY")?;
        let redirect_uri = var("WORKOS_REDIRECT_URI")?;
        let password = var("WORKOS_COOKIE_PASSWORD")?;
        let passwords = IronPasswords::new("1", password).map_err(ConfigError::Password)?;
        let idp = match env::var("WORKOS_API_HOSTNAME").ok().filter(|h| !h.is_empty()) {
            None => IdentityProvider::workos(client_id, api_key)?,
            Some(host) => {
                let https = env::var("WORKOS_API_HTTPS").map_or(true, |v| v != "false");
                let scheme = if https { "https" } else { "http" };
                let port = env::var("WORKOS_API_PORT").ok().filter(|p| !p.is_empty());
                let base = match port {
                    Some(port) => format!("{scheme}://{host}:{port}"),
                    None => format!("{scheme}://{host}"),
                };
                IdentityProvider::workos_at(&base, client_id, api_key)?
            }
        };
        let mut builder = Self::builder(idp, passwords, redirect_uri);
        if let Ok(name) = var("WORKOS_COOKIE_NAME") {
            builder = builder.cookie_name(name);
        }
        if let Ok(domain) = var("WORKOS_COOKIE_DOMAIN") {
            builder = builder.cookie_domain(domain);
        }
        Ok(builder)
    }

    /// The layer to put in front of your routes, built once by [`SessionsBuilder::build`] from
    /// the settings the sign-in callback verifies with: the provider's keys and issuers (and
    /// the `resource` as audience), the session cookie then `Authorization: Bearer`, sealed
    /// cookies, the refresh described in the [module docs](self), browsers without a session
    /// sent to the sign-in route, and browsers that must step up sent to it with the policy's
    /// `max_age` / `acr_values` (with WorkOS, only for recency rules: its tokens carry no `amr`,
    /// so a method rule answers 403); plus what [`SessionsBuilder::layer`] changed.
    pub fn auth_layer(&self) -> AuthLayer {
        self.layer.clone()
    }

    /// The crate's routes: sign-in, callback, sign-out (`GET` and `POST`) and the session
    /// endpoint, at the configured paths. Merge them into your router, behind
    /// [`auth_layer`](Self::auth_layer) (the session endpoint reads what the layer found).
    pub fn routes<S>(&self) -> Router<S>
    where
        S: Clone + Send + Sync + 'static,
    {
        routes::router(self.inner.clone())
    }

    /// The sign-in route's path (default `/auth/login`).
    pub fn login_path(&self) -> &str {
        &self.inner.paths.login
    }

    /// The back-channel logout route's path (default `/auth/backchannel-logout`; mounted only
    /// with [`revocations`](SessionsBuilder::revocations)): servers post to it, so a
    /// [`CrossOriginProtectionLayer`](crate::CrossOriginProtectionLayer) around the routes
    /// should let it through with
    /// [`insecure_bypass_path`](crate::CrossOriginProtectionLayer::insecure_bypass_path).
    pub fn backchannel_logout_path(&self) -> &str {
        &self.inner.paths.backchannel
    }

    /// The Shared Signals receiver's path (default `/auth/ssf`; mounted only with a
    /// [transmitter](SessionsBuilder::shared_signals)): the transmitter's server posts to it, so
    /// a [`CrossOriginProtectionLayer`](crate::CrossOriginProtectionLayer) around the routes
    /// should let it through with
    /// [`insecure_bypass_path`](crate::CrossOriginProtectionLayer::insecure_bypass_path).
    pub fn shared_signals_path(&self) -> &str {
        &self.inner.paths.ssf
    }

    /// The session cookie's name.
    pub fn cookie_name(&self) -> &str {
        &self.inner.cookie.name
    }

    /// The provider.
    pub fn provider(&self) -> &IdentityProvider {
        &self.inner.idp
    }
}

fn check_path(path: &str) -> Result<(), ConfigError> {
    if path.starts_with('/') && !path.starts_with("//") && !path.contains(['?', '#']) {
        Ok(())
    } else {
        Err(ConfigError::Path(path.to_owned()))
    }
}

impl SessionsBuilder {
    /// The session cookie's name: default `wos-session` for WorkOS (authkit-nextjs's), `session`
    /// for OpenID Providers. `__Host-session` is the safest choice for a new deployment
    /// served over https.
    pub fn cookie_name(mut self, name: impl Into<String>) -> Self {
        self.cookie = Some(name.into());
        self
    }

    /// The cookie's `Domain` attribute (default: none, the cookie stays on this host).
    pub fn cookie_domain(mut self, domain: impl Into<String>) -> Self {
        self.domain = Some(domain.into());
        self
    }

    /// The sign-in route's path (default `/auth/login`).
    pub fn login_path(mut self, path: impl Into<String>) -> Self {
        self.login = path.into();
        self
    }

    /// The sign-out route's path (default `/auth/logout`).
    pub fn logout_path(mut self, path: impl Into<String>) -> Self {
        self.logout = path.into();
        self
    }

    /// The session endpoint's path (default `/auth/session`).
    pub fn session_path(mut self, path: impl Into<String>) -> Self {
        self.session = path.into();
        self
    }

    /// Where the provider sends the browser after signing out (default: the redirect URI's
    /// origin followed by `/`). Register it at the provider (OpenID:
    /// `post_logout_redirect_uris`; WorkOS: the sign-out redirect).
    pub fn post_logout_redirect(mut self, url: impl Into<String>) -> Self {
        self.post_logout = Some(url.into());
        self
    }

    /// Where these sessions keep refresh leases and results, used sign-in `state`s and
    /// back-channel logout `jti`s (default: a [`MemoryStore`](crate::store::MemoryStore), one
    /// instance). With a shared store ([`RedisStore`](crate::store::RedisStore)), a refresh takes
    /// a short lease in it, so one instance refreshes a session and the others wait for its
    /// result instead of spending the single-use refresh token again (when the store is
    /// unreachable, each instance falls back to its own single-flight), and a replayed sign-in
    /// attempt is refused on every instance. Give it the store the
    /// [`revocations`](Self::revocations) use.
    pub fn store(mut self, store: impl Store) -> Self {
        self.store = Some(Arc::new(store));
        self
    }

    /// Revokes sessions through `revocations` (feature `revocation`):
    /// * the layer refuses revoked sessions (and clears their cookie);
    /// * sign-out revokes the session's sign-in and `sid` on every instance, so a copied cookie
    ///   (or one a refresh still in flight produces) is refused;
    /// * the routes gain `POST /auth/backchannel-logout`: OpenID Back-Channel Logout 1.0, which
    ///   verifies the provider's `logout_token` (signature, `iss`, `aud`, `events`, `sid` or
    ///   `sub`, no `nonce`, a `jti` never seen before) and revokes the session or user.
    #[cfg(feature = "revocation")]
    pub fn revocations(mut self, revocations: crate::Revocations) -> Self {
        self.revocations = Some(revocations);
        self
    }

    /// The back-channel logout route's path (default `/auth/backchannel-logout`), mounted
    /// with [`revocations`](Self::revocations).
    pub fn backchannel_logout_path(mut self, path: impl Into<String>) -> Self {
        self.backchannel = path.into();
        self
    }

    /// Receives an OpenID Shared Signals transmitter's Security Event Tokens (feature
    /// `revocation`; needs [`revocations`](Self::revocations)): the routes gain
    /// `POST /auth/ssf` (RFC 8935 push delivery), where a verified CAEP `session-revoked`
    /// revokes the session (or the user) it names and a `credential-change` the user's
    /// sessions, on every instance. Register the route's URL at the transmitter as the
    /// stream's push endpoint; see the [Shared Signals guide](crate::guide::shared_signals).
    ///
    /// ```no_run
    /// use axum_session_mfa::lifecycle::{SharedSignals, Sessions};
    /// use axum_session_mfa::{Revocations, store::MemoryStore};
    /// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
    /// let revocations = Revocations::builder(MemoryStore::new()).start().await;
    /// tokio::spawn(revocations.keep_current());
    /// let signals = SharedSignals::discover("https://acme.okta.com", "my-app").await?;
    /// let sessions = Sessions::workos_from_env()?
    ///     .revocations(revocations)
    ///     .shared_signals(signals) // POST /auth/ssf
    ///     .build()?;
    /// # let _ = sessions; Ok(()) }
    /// ```
    #[cfg(feature = "revocation")]
    pub fn shared_signals(mut self, transmitter: SharedSignals) -> Self {
        self.shared_signals = Some(transmitter);
        self
    }

    /// The Shared Signals receiver's path (default `/auth/ssf`), mounted with
    /// [`shared_signals`](Self::shared_signals).
    pub fn shared_signals_path(mut self, path: impl Into<String>) -> Self {
        self.ssf_path = path.into();
        self
    }

    /// Changes the layer these sessions build (claim names, token type, leeway, the token
    /// cache, rejections, ...): the sign-in callback then verifies tokens exactly as the layer
    /// and its guards will. What the sessions depend on is set after `configure` runs and wins:
    /// the token sources (the session cookie, then Bearer), the cookie passwords, the clock and
    /// the refresh. The sign-in and step-up redirects are set before, so `configure` may move
    /// them.
    ///
    /// ```
    /// # use axum_session_mfa::authkit::IronPasswords;
    /// # use axum_session_mfa::lifecycle::{IdentityProvider, Sessions};
    /// use axum_session_mfa::{ClaimNames, TokenType};
    /// # let idp = IdentityProvider::workos("client_01H", "sk_test_123").unwrap();
    /// # let passwords = IronPasswords::new("1", "a-cookie-password-of-32-characters!").unwrap();
    /// let sessions = Sessions::builder(idp, passwords, "https://app.example.com/auth/callback")
    ///     .layer(|layer| {
    ///         layer
    ///             .claim_names(ClaimNames::default().auth_time("https://example.com/auth_time"))
    ///             .token_type(TokenType::Lenient)
    ///     })
    ///     .build()
    ///     .unwrap();
    /// let auth = sessions.auth_layer();
    /// # let _ = auth;
    /// ```
    pub fn layer(
        mut self,
        configure: impl FnOnce(AuthLayerBuilder) -> AuthLayerBuilder + Send + 'static,
    ) -> Self {
        self.layer = Some(Box::new(configure));
        self
    }

    /// Refreshes access tokens that expire within `buffer` (default: 60 s, or 30 s for tokens
    /// that live five minutes or less, as authkit-nextjs).
    pub fn refresh_buffer(mut self, buffer: Duration) -> Self {
        self.refresh_buffer = Some(buffer);
        self
    }

    /// Replaces the system clock (tests and simulations); [`Sessions::auth_layer`] passes it
    /// on to the layer.
    pub fn clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// Builds the sessions.
    ///
    /// # Errors
    ///
    /// [`ConfigError`]: a redirect URI that is not an absolute https (or loopback http) URL,
    /// a path that does not start with `/`.
    pub fn build(self) -> Result<Sessions, ConfigError> {
        crate::crypto::install_crypto_provider();
        let redirect = Url::parse(&self.redirect_uri)
            .ok()
            .filter(|u| check_url(u).is_ok() && u.fragment().is_none())
            .ok_or_else(|| ConfigError::RedirectUri(self.redirect_uri.clone()))?;
        let paths = Paths {
            login: self.login,
            callback: redirect.path().to_owned(),
            logout: self.logout,
            session: self.session,
            backchannel: self.backchannel,
            ssf: self.ssf_path,
        };
        for path in
            [&paths.login, &paths.callback, &paths.logout, &paths.session, &paths.backchannel]
        {
            check_path(path)?;
        }
        check_path(&paths.ssf)?;
        let origin = redirect.origin().ascii_serialization();
        let post_logout = self.post_logout.unwrap_or_else(|| format!("{origin}/"));
        parse_url(&post_logout).map_err(|_| ConfigError::RedirectUri(post_logout.clone()))?;
        let name = self.cookie.unwrap_or_else(|| {
            if self.idp.is_workos() { AUTHKIT_COOKIE } else { DEFAULT_COOKIE }.to_owned()
        });
        // Browsers keep `Secure` cookies off plain http; only loopback http is allowed here.
        let secure = redirect.scheme() == "https";
        let cookie =
            CookieSettings::new(name, self.domain, secure).map_err(ConfigError::HostCookie)?;
        if !self.idp.is_workos() && self.idp.required_audience().is_none() {
            return Err(ConfigError::NoAudience);
        }
        let layer = layer_for(&self.idp, &paths, self.layer)
            .sources([TokenSource::cookie(cookie.name.clone()), TokenSource::Bearer])
            .authkit(self.passwords.clone())
            .clock(self.clock.clone());
        #[cfg(feature = "revocation")]
        let layer = match &self.revocations {
            Some(revocations) => layer.revocations(revocations.clone()),
            None => layer,
        };
        let store = self
            .store
            .unwrap_or_else(|| Arc::new(crate::store::MemoryStore::with_clock(self.clock.clone())));
        #[cfg(feature = "revocation")]
        if self.revocations.as_ref().is_some_and(|r| r.is_shared() != store.is_shared()) {
            return Err(ConfigError::StoreMismatch);
        }
        let access = layer.verifier();
        let id_tokens = client_verifier(&access, self.idp.client_id(), TokenType::default());
        // Back-Channel Logout 1.0 recommends `typ: logout+jwt`; older providers send `JWT`. A
        // logout token names a `sid`, a `sub`, or both.
        #[cfg(feature = "revocation")]
        let logout_tokens = Verifier {
            require_sub: false,
            ..client_verifier(
                &access,
                self.idp.client_id(),
                TokenType::OneOf(vec!["logout+jwt".into(), "JWT".into()]),
            )
        };
        #[cfg(feature = "revocation")]
        if self.shared_signals.is_some() && self.revocations.is_none() {
            return Err(ConfigError::SharedSignalsWithoutRevocations);
        }
        #[cfg(feature = "revocation")]
        let shared_signals = self.shared_signals.map(|s| ssf::Receiver::new(s, &access));
        #[cfg(feature = "revocation")]
        let workos_webhook = self.workos.build(self.idp.is_workos(), self.revocations.is_some())?;
        let recency_only = self.idp.is_workos();
        let clock_for_flights = self.clock.clone();
        let inner = Arc::new(Inner {
            idp: self.idp,
            passwords: self.passwords,
            cookie,
            redirect_uri: self.redirect_uri,
            paths,
            post_logout,
            refresh_buffer: self.refresh_buffer,
            clock: self.clock,
            access,
            id_tokens,
            #[cfg(feature = "revocation")]
            logout_tokens,
            flights: Flights::new(clock_for_flights),
            used_states: flow::UsedStates::default(),
            store,
            revocations: self.revocations,
            #[cfg(feature = "revocation")]
            shared_signals,
            #[cfg(feature = "revocation")]
            workos_webhook,
        });
        let layer =
            layer.session_hook(inner.clone(), recency_only).build().map_err(ConfigError::Layer)?;
        Ok(Sessions { inner, layer })
    }
}

/// The layer the sessions build: the provider's keys (and audience), the sign-in and step-up
/// redirects, then what the application set (which may move the redirects); what the sessions
/// depend on is set after this and wins.
fn layer_for(
    idp: &IdentityProvider,
    paths: &Paths,
    configure: Option<LayerSettings>,
) -> AuthLayerBuilder {
    let layer = AuthLayer::builder(idp.keys().clone())
        .login_redirect(paths.login.clone())
        .step_up_redirect(format!("{}?step_up=1", paths.login));
    let layer = match idp.required_audience() {
        Some(audience) => layer.audience(audience),
        None => layer,
    };
    match configure {
        Some(configure) => configure(layer),
        None => layer,
    }
}

/// A verifier for the tokens the provider issues to this client (ID tokens, logout tokens):
/// the access tokens' keys, issuers, leeway and clock; this client as the audience, their own
/// `typ`, and the standard claim names.
fn client_verifier(access: &Verifier, client_id: &str, typ: TokenType) -> Verifier {
    Verifier {
        audiences: vec![client_id.to_owned()],
        typ,
        names: Arc::new(ClaimNames::default()),
        ..access.clone()
    }
}
