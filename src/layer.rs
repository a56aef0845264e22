//! [`AuthLayer`] and [`AuthService`]: the Tower plumbing that turns a request's token into an
//! [`AuthOutcome`] request extension.
//!
//! By default the layer rejects nothing: anonymous requests and requests with a stale or bad
//! token reach the inner service with the reason recorded, so public routes keep working, and
//! guards ([`RequireMfa`](crate::RequireMfa), [`RequireAuth`](crate::RequireAuth)) or extractors
//! answer with a precise 401/403. [`AuthLayerBuilder::required`] rejects at the layer instead.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::response::{IntoResponse, Response};
use http::Request;
use tower_layer::Layer;
use tower_service::Service;

use crate::audit::{self, RequestInfo};
use crate::keys::{Key, KeyStore, StaticKeys};
use crate::authkit::iron::{IronConfigError, IronPasswords};
use crate::session::{self, AUTHKIT_COOKIE, CookieFormat};
use crate::source::{self, DEFAULT_MAX_TOKEN_BYTES, TokenSource};
use crate::verify::{Clock, DEFAULT_LEEWAY, TypRule, Verifier, system_clock};
use crate::{AuthError, AuthOutcome, ClaimNames, Rejection};

/// A Tower layer that verifies the session token of every request.
///
/// ```
/// use axum::{Router, routing::get};
/// use axum_session_mfa::{Algorithm, AuthContext, AuthLayer, Key, RequireMfa};
///
/// async fn me(ctx: AuthContext) -> String { ctx.sub().to_owned() }
///
/// let key = Key::hmac(Algorithm::HS256, b"0123456789abcdef0123456789abcdef").unwrap();
/// let auth = AuthLayer::builder()
///     .key(key)
///     .issuer("https://issuer.example")
///     .audience("my-api")
///     .build()
///     .unwrap();
/// let app: Router = Router::new()
///     .route("/admin", get(|| async { "secret" }))
///     .route_layer(RequireMfa::new())
///     .route("/me", get(me))
///     .layer(auth);
/// ```
#[derive(Clone)]
pub struct AuthLayer {
    config: Arc<Config>,
}

struct Config {
    sources: Vec<TokenSource>,
    max_token_bytes: usize,
    required: bool,
    format: CookieFormat,
    verifier: Verifier,
}

impl fmt::Debug for AuthLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let c = &self.config;
        f.debug_struct("AuthLayer")
            .field("sources", &c.sources)
            .field("max_token_bytes", &c.max_token_bytes)
            .field("required", &c.required)
            .field("cookie_format", &c.format)
            .field("keys", &c.verifier.keys)
            .field("issuers", &c.verifier.issuers)
            .field("audiences", &c.verifier.audiences)
            .field("leeway", &c.verifier.leeway)
            .finish_non_exhaustive()
    }
}

impl AuthLayer {
    /// Starts configuring a layer.
    pub fn builder() -> AuthLayerBuilder {
        AuthLayerBuilder::default()
    }

    /// Verifies a token directly, outside any request (useful for WebSocket handshakes,
    /// background jobs and tests). Sources and size limits do not apply.
    pub async fn verify_token(&self, token: &str) -> Result<crate::AuthContext, AuthError> {
        self.config.verifier.verify(token).await
    }
}

impl Config {
    /// Finds and verifies the token. The request is only borrowed outside the await, so the
    /// future stays `Send` for bodies that are not `Sync`.
    async fn authenticate<B>(&self, req: &mut Request<B>) -> AuthOutcome {
        let found = source::find(&self.sources, req.headers(), self.max_token_bytes);
        let (result, label) = match found {
            Ok(found) => (
                session::authenticate(&self.format, &self.verifier, &found).await,
                found.source.label(),
            ),
            Err(e) => (Err(e), "request"),
        };
        if let Err(e) = &result
            && !e.is_missing()
        {
            audit::token_rejected(&request_info(req), label, e.code());
        }
        AuthOutcome(result)
    }
}

pub(crate) fn request_info<B>(req: &Request<B>) -> RequestInfo<'_> {
    RequestInfo::new(req.method(), req.uri(), req.extensions())
}

/// Builds an [`AuthLayer`]. At least one key is required.
#[derive(Default)]
pub struct AuthLayerBuilder {
    keys: StaticKeys,
    #[cfg(feature = "jwks")]
    remote: Vec<crate::keys::JwksKeys>,
    sources: Option<Vec<TokenSource>>,
    cookie: Option<String>,
    issuers: Vec<String>,
    audiences: Vec<String>,
    leeway: Option<Duration>,
    max_token_bytes: Option<usize>,
    required: bool,
    typ: TypRule,
    clock: Option<Clock>,
    names: ClaimNames,
    authkit: Option<Result<IronPasswords, IronConfigError>>,
}

/// Why an [`AuthLayer`] could not be built.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum BuildError {
    /// No verification key was configured.
    NoKeys,
    /// No token source was configured.
    NoSources,
    /// Static keys and a remote key set, or several remote key sets, were configured: a layer
    /// uses exactly one key source.
    MixedKeySources,
    /// Two static keys share this `kid`.
    DuplicateKid(String),
    /// A remote key set was configured without any accepted issuer. Key sets are often shared
    /// by many tenants or realms, so `iss` must be pinned: add [`AuthLayerBuilder::issuer`], or
    /// use [`AuthLayerBuilder::provider`], which brings the provider's issuer.
    RemoteKeysWithoutIssuer,
    /// The AuthKit cookie password is unusable (too short, bad id).
    InvalidIronPassword(IronConfigError),
    /// AuthKit sessions are enabled but no source reads a cookie.
    AuthKitWithoutCookie,
}

impl fmt::Display for BuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::DuplicateKid(kid) => write!(f, "two keys share the kid {kid:?}"),
            Self::RemoteKeysWithoutIssuer => {
                f.write_str("a remote key set needs at least one accepted issuer (.issuer(..))")
            }
            Self::NoKeys => f.write_str("AuthLayer needs at least one verification key"),
            Self::NoSources => f.write_str("AuthLayer needs at least one token source"),
            Self::MixedKeySources => f.write_str(
                "AuthLayer uses one key source: static keys or one remote key set, not both",
            ),
            Self::InvalidIronPassword(e) => write!(f, "AuthKit cookie password: {e}"),
            Self::AuthKitWithoutCookie => {
                f.write_str("AuthKit sessions are enabled but no token source reads a cookie")
            }
        }
    }
}

impl std::error::Error for BuildError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::InvalidIronPassword(e) => Some(e),
            _ => None,
        }
    }
}

impl AuthLayerBuilder {
    /// Adds a verification key.
    pub fn key(mut self, key: Key) -> Self {
        self.keys.push(key);
        self
    }

    /// Adds several verification keys (selected by `kid`).
    pub fn keys(mut self, keys: impl IntoIterator<Item = Key>) -> Self {
        keys.into_iter().for_each(|k| self.keys.push(k));
        self
    }

    /// Uses a remote key set (JWKS) for verification. Issuers are not implied: add them with
    /// [`issuer`](Self::issuer), or use [`provider`](Self::provider). A layer uses one key
    /// source: combining this with static keys or another set fails with
    /// [`BuildError::MixedKeySources`].
    ///
    /// ```no_run
    /// use axum_session_mfa::{AuthLayer, JwksKeys};
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let auth = AuthLayer::builder()
    ///     .jwks(JwksKeys::new("https://idp.example/.well-known/jwks.json")?)
    ///     .issuer("https://idp.example")
    ///     .build()?;
    /// # let _ = auth; Ok(()) }
    /// ```
    #[cfg(feature = "jwks")]
    pub fn jwks(mut self, keys: crate::keys::JwksKeys) -> Self {
        self.remote.push(keys);
        self
    }

    /// Uses an identity provider's key set and accepts its issuers (a WorkOS preset, or a
    /// provider found by OIDC discovery). See [`Provider`](crate::Provider).
    #[cfg(feature = "jwks")]
    pub fn provider(mut self, provider: crate::keys::Provider) -> Self {
        let (keys, issuers) = provider.into_parts();
        self.remote.push(keys);
        self.issuers.extend(issuers);
        self
    }

    /// The session cookie's name (default `session`, or `wos-session` with
    /// [`authkit`](Self::authkit)), used by the default sources.
    pub fn cookie(mut self, name: impl Into<String>) -> Self {
        self.cookie = Some(name.into());
        self
    }

    /// Where to look for the token, in order; the first source that carries a token decides.
    /// Default: the cookie, then `Authorization: Bearer`.
    pub fn sources(mut self, sources: impl IntoIterator<Item = TokenSource>) -> Self {
        self.sources = Some(sources.into_iter().collect());
        self
    }

    /// Accepts tokens from this issuer (`iss`); call again to accept several. When any issuer
    /// is configured, `iss` is required.
    pub fn issuer(mut self, issuer: impl Into<String>) -> Self {
        self.issuers.push(issuer.into());
        self
    }

    /// Accepts tokens for this audience (`aud`); call again to accept several. When any
    /// audience is configured, `aud` is required and must contain one of them. Without one,
    /// `aud` is not checked: configure it whenever your IdP sets it.
    pub fn audience(mut self, audience: impl Into<String>) -> Self {
        self.audiences.push(audience.into());
        self
    }

    /// Clock skew allowed on `exp` and `nbf` (default 30 seconds).
    pub fn leeway(mut self, leeway: Duration) -> Self {
        self.leeway = Some(leeway);
        self
    }

    /// Largest accepted token in bytes (default 8 KiB).
    pub fn max_token_bytes(mut self, limit: usize) -> Self {
        self.max_token_bytes = Some(limit);
        self
    }

    /// Rejects requests without a valid session at the layer (401, or 503 when keys are
    /// unavailable) instead of passing them on.
    pub fn required(mut self, required: bool) -> Self {
        self.required = required;
        self
    }

    /// Accepted `typ` header values (case-insensitive, `application/` prefix optional).
    /// Default: `at+jwt` and `JWT`. An empty list disables the check.
    pub fn accepted_types<I, T>(mut self, types: I) -> Self
    where
        I: IntoIterator<Item = T>,
        T: Into<String>,
    {
        self.typ.accepted = types.into_iter().map(|t| normalize_typ(&t.into())).collect();
        self
    }

    /// Refuses tokens without a `typ` header (default: `typ` is optional).
    pub fn require_type(mut self, required: bool) -> Self {
        self.typ.required = required;
        self
    }

    /// Reads WorkOS AuthKit sessions: a cookie value starting with `Fe26.` is unsealed with
    /// `passwords` (AuthKit's `WORKOS_COOKIE_PASSWORD` has id `1`), its `accessToken` is
    /// verified like any other token (same keys, issuers, audiences), and its `user.id` must
    /// equal the token's `sub`. Any other cookie value, and every bearer token, is read as a
    /// plain JWT. The default cookie name becomes `wos-session`. See
    /// [`session::authkit`](crate::authkit).
    ///
    /// The size limit ([`max_token_bytes`](Self::max_token_bytes)) applies to the sealed
    /// cookie, before anything is decoded.
    ///
    /// ```
    /// use axum_session_mfa::{AuthLayer, Key};
    /// use axum_session_mfa::authkit::iron::IronPasswords;
    ///
    /// let pem = std::fs::read("tests/fixtures/keys/rsa_public.pem").unwrap();
    /// let passwords = IronPasswords::new("1", "the-WORKOS_COOKIE_PASSWORD-value!!").unwrap();
    /// let layer = AuthLayer::builder()
    ///     .key(Key::from_public_pem(&pem).unwrap())
    ///     .authkit(passwords)
    ///     .build()
    ///     .unwrap();
    /// ```
    pub fn authkit(mut self, passwords: IronPasswords) -> Self {
        self.authkit = Some(Ok(passwords));
        self
    }

    /// As [`authkit`](Self::authkit) with one password (id `1`, as AuthKit writes), for
    /// configuration from the environment: a password iron would refuse (shorter than 32
    /// characters) fails [`build`](Self::build) with [`BuildError::InvalidIronPassword`].
    ///
    /// ```
    /// use axum_session_mfa::{AuthLayer, BuildError, Key};
    ///
    /// let pem = std::fs::read("tests/fixtures/keys/rsa_public.pem").unwrap();
    /// let built = AuthLayer::builder()
    ///     .key(Key::from_public_pem(&pem).unwrap())
    ///     .authkit_password("too short")
    ///     .build();
    /// assert!(matches!(built, Err(BuildError::InvalidIronPassword(_))));
    /// ```
    pub fn authkit_password(mut self, password: impl Into<String>) -> Self {
        self.authkit = Some(IronPasswords::new("1", password));
        self
    }

    /// Where the tokens carry `amr`, `acr` and `auth_time`, when your IdP cannot use the
    /// standard names (Auth0 access tokens: namespaced claims). See [`ClaimNames`].
    pub fn claim_names(mut self, names: ClaimNames) -> Self {
        self.names = names;
        self
    }

    /// Replaces the clock (seconds since the Unix epoch); for tests and simulations.
    pub fn clock(mut self, clock: impl Fn() -> u64 + Send + Sync + 'static) -> Self {
        self.clock = Some(Arc::new(clock));
        self
    }

    /// Builds the layer.
    pub fn build(mut self) -> Result<AuthLayer, BuildError> {
        crate::crypto::install_crypto_provider();
        let keys = self.key_store()?;
        let format = match self.authkit {
            None => CookieFormat::Jwt,
            Some(passwords) => {
                CookieFormat::AuthKit(passwords.map_err(BuildError::InvalidIronPassword)?)
            }
        };
        let default_cookie = match format {
            CookieFormat::AuthKit(_) => AUTHKIT_COOKIE,
            CookieFormat::Jwt => "session",
        };
        let cookie = self.cookie.unwrap_or_else(|| default_cookie.to_owned());
        let sources =
            self.sources.unwrap_or_else(|| vec![TokenSource::Cookie(cookie), TokenSource::Bearer]);
        if sources.is_empty() {
            return Err(BuildError::NoSources);
        }
        if matches!(format, CookieFormat::AuthKit(_))
            && !sources.iter().any(|s| matches!(s, TokenSource::Cookie(_)))
        {
            return Err(BuildError::AuthKitWithoutCookie);
        }
        let verifier = Verifier {
            keys,
            issuers: self.issuers,
            audiences: self.audiences,
            leeway: self.leeway.unwrap_or(DEFAULT_LEEWAY).as_secs(),
            typ: self.typ,
            clock: self.clock.unwrap_or_else(system_clock),
            names: Arc::new(self.names),
        };
        let config = Config {
            sources,
            max_token_bytes: self.max_token_bytes.unwrap_or(DEFAULT_MAX_TOKEN_BYTES),
            required: self.required,
            format,
            verifier,
        };
        Ok(AuthLayer { config: Arc::new(config) })
    }
}

impl AuthLayerBuilder {
    #[cfg(feature = "jwks")]
    fn key_store(&mut self) -> Result<KeyStore, BuildError> {
        let keys = std::mem::take(&mut self.keys);
        if let Some(kid) = keys.duplicate_kid() {
            return Err(BuildError::DuplicateKid(kid.to_owned()));
        }
        match (keys.is_empty(), self.remote.len()) {
            (true, 0) => Err(BuildError::NoKeys),
            (false, 0) => Ok(KeyStore::Static(Arc::new(keys))),
            (true, 1) if self.issuers.is_empty() => Err(BuildError::RemoteKeysWithoutIssuer),
            (true, 1) => Ok(KeyStore::Remote(self.remote.remove(0))),
            _ => Err(BuildError::MixedKeySources),
        }
    }

    #[cfg(not(feature = "jwks"))]
    fn key_store(&mut self) -> Result<KeyStore, BuildError> {
        let keys = std::mem::take(&mut self.keys);
        if let Some(kid) = keys.duplicate_kid() {
            return Err(BuildError::DuplicateKid(kid.to_owned()));
        }
        if keys.is_empty() { Err(BuildError::NoKeys) } else { Ok(KeyStore::Static(Arc::new(keys))) }
    }
}

/// Lower-cases a `typ` value and drops an `application/` prefix (RFC 7515 4.1.9).
fn normalize_typ(typ: &str) -> String {
    let lower = typ.to_ascii_lowercase();
    match lower.strip_prefix("application/") {
        Some(bare) => bare.to_owned(),
        None => lower,
    }
}

impl<S> Layer<S> for AuthLayer {
    type Service = AuthService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        AuthService { inner, config: self.config.clone() }
    }
}

/// The service produced by [`AuthLayer`].
#[derive(Clone)]
pub struct AuthService<S> {
    inner: S,
    config: Arc<Config>,
}

impl<S> fmt::Debug for AuthService<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthService").finish_non_exhaustive()
    }
}

impl<S, B> Service<Request<B>> for AuthService<S>
where
    S: Service<Request<B>, Response = Response> + Clone + Send + 'static,
    S::Future: Send + 'static,
    B: Send + 'static,
{
    type Response = Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request<B>) -> Self::Future {
        // The clone is not ready; keep the ready one for this request (tower's usual dance).
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let config = self.config.clone();
        Box::pin(async move {
            let outcome = config.authenticate(&mut req).await;
            if config.required
                && let Err(e) = &outcome.0
            {
                audit::guard_decision(&request_info(&req), "required", None, Some(e.code()));
                return Ok(Rejection::Unauthenticated(e.clone()).into_response());
            }
            req.extensions_mut().insert(outcome);
            inner.call(req).await
        })
    }
}
