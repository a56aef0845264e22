//! [`AuthLayerBuilder`]: everything a layer can be told, each idea once.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use axum::response::Response;
use http::{HeaderValue, StatusCode};

use super::{AuthLayer, Config};
#[cfg(feature = "authkit")]
use crate::authkit::{AUTHKIT_COOKIE, IronPasswords};
use crate::cache::Cache;
use crate::reject::Responder;
use crate::session::CookieFormat;
use crate::source::{DEFAULT_MAX_TOKEN_BYTES, TokenSource};
use crate::verify::{DEFAULT_LEEWAY, TokenType, Verifier};
use crate::{ClaimNames, Clock, KeySource, ProtectedResource, Rejection, TokenCache};

/// Builds an [`AuthLayer`]; start with [`AuthLayer::builder`], which takes the keys.
#[must_use]
pub struct AuthLayerBuilder {
    keys: KeySource,
    sources: Option<Vec<TokenSource>>,
    issuers: Vec<String>,
    audiences: Vec<String>,
    leeway: Duration,
    max_token_bytes: usize,
    token_type: TokenType,
    clock: Clock,
    names: ClaimNames,
    #[cfg(feature = "authkit")]
    authkit: Option<IronPasswords>,
    responder: Responder,
    cache: TokenCache,
    hook: Option<Arc<dyn super::hook::SessionHook>>,
    resource: Option<ProtectedResource>,
    #[cfg(feature = "revocation")]
    revocations: Option<crate::Revocations>,
    dpop: Option<crate::dpop::Dpop>,
}

impl fmt::Debug for AuthLayerBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthLayerBuilder")
            .field("keys", &self.keys)
            .field("sources", &self.sources)
            .field("issuers", &self.issuers)
            .field("audiences", &self.audiences)
            .field("responses", &self.responder)
            .field("resource", &self.resource)
            .finish_non_exhaustive()
    }
}

/// Why an [`AuthLayer`] could not be built.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum BuildError {
    /// [`sources`](AuthLayerBuilder::sources) was given an empty list.
    NoSources,
    /// AuthKit sessions are enabled but no source reads a cookie.
    #[cfg(feature = "authkit")]
    AuthKitWithoutCookie,
    /// A sign-in or step-up URL cannot be sent in a `Location` header, or its query already
    /// has `return_to`, `max_age` or `acr_values` (the parameters the redirect adds).
    InvalidRedirectUrl(String),
    /// The [DPoP](crate::dpop) settings cannot be used.
    Dpop(crate::dpop::DpopConfigError),
    /// A [`protected_resource`](AuthLayerBuilder::protected_resource) is set but the layer
    /// knows no issuer to name as its authorization server.
    ResourceWithoutIssuer,
}

impl fmt::Display for BuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NoSources => f.write_str("AuthLayer needs at least one token source"),
            #[cfg(feature = "authkit")]
            Self::AuthKitWithoutCookie => {
                f.write_str("AuthKit sessions are enabled but no token source reads a cookie")
            }
            Self::InvalidRedirectUrl(url) => {
                write!(
                    f,
                    "the redirect URL {url:?} is not a valid Location or already sets return_to, \
                     max_age or acr_values"
                )
            }
            Self::Dpop(e) => e.fmt(f),
            Self::ResourceWithoutIssuer => f.write_str(
                "a protected resource needs an authorization server: configure the layer's issuer",
            ),
        }
    }
}

impl std::error::Error for BuildError {}

/// The query parameters a redirect adds; a configured URL must not carry them already, or a
/// sign-in endpoint would see two values (and might read the configured one).
const REDIRECT_PARAMS: [&str; 3] = ["return_to", "max_age", "acr_values"];

/// `true` when `url` can be a `Location` header and its query leaves our parameters to us.
fn redirect_url_ok(url: &str) -> bool {
    let query = url.split_once('?').map_or("", |(_, q)| q);
    let query = query.split_once('#').map_or(query, |(q, _)| q);
    HeaderValue::try_from(url).is_ok()
        && !form_urlencoded::parse(query.as_bytes()).any(|(k, _)| REDIRECT_PARAMS.contains(&&*k))
}

impl AuthLayerBuilder {
    pub(super) fn new(keys: KeySource) -> Self {
        Self {
            keys,
            sources: None,
            issuers: Vec::new(),
            audiences: Vec::new(),
            leeway: DEFAULT_LEEWAY,
            max_token_bytes: DEFAULT_MAX_TOKEN_BYTES,
            token_type: TokenType::default(),
            clock: Clock::system(),
            names: ClaimNames::default(),
            #[cfg(feature = "authkit")]
            authkit: None,
            responder: Responder::default(),
            cache: TokenCache::new(),
            hook: None,
            resource: None,
            #[cfg(feature = "revocation")]
            revocations: None,
            dpop: None,
        }
    }

    /// Accepts or requires DPoP-bound tokens (RFC 9449): `Authorization: DPoP` with a proof of
    /// possession, checked on every request. Without it, the `DPoP` scheme is not read, and a
    /// DPoP-bound token sent as `Bearer` is refused all the same. See [`dpop`](crate::dpop).
    ///
    /// ```
    /// use axum_session_mfa::dpop::Dpop;
    /// use axum_session_mfa::{Algorithm, AuthLayer, Key};
    /// # let key = Key::hmac(Algorithm::HS256, &[7; 32]).unwrap();
    /// let dpop = Dpop::allowed().public_origin("https://api.example.com");
    /// let auth = AuthLayer::builder(key).dpop(dpop).build().unwrap();
    /// ```
    pub fn dpop(mut self, dpop: crate::dpop::Dpop) -> Self {
        self.dpop = Some(dpop);
        self
    }

    /// Describes the API this layer guards as an OAuth protected resource (RFC 9728): its
    /// metadata document is served by
    /// [`AuthLayer::resource_metadata_routes`](crate::AuthLayer::resource_metadata_routes),
    /// every 401 and step-up or scope 403 challenge names it (`resource_metadata`), and, unless
    /// an [`audience`](Self::audience) is configured, tokens must carry the resource identifier
    /// as their audience (RFC 8707). See [`ProtectedResource`].
    pub fn protected_resource(mut self, resource: ProtectedResource) -> Self {
        self.resource = Some(resource);
        self
    }

    /// Refuses revoked sessions (feature `revocation`): after verification (and on token cache
    /// hits), the session's `sid` and `sub` are looked up in the local copy of `revocations`,
    /// with no network call. A revoked session gets 401 `session_revoked`; a copy older than
    /// its staleness bound gets 503 `revocation_unavailable` (unless it fails open). See
    /// [`Revocations`](crate::Revocations).
    #[cfg(feature = "revocation")]
    pub fn revocations(mut self, revocations: crate::Revocations) -> Self {
        self.revocations = Some(revocations);
        self
    }

    /// Renews found sessions through `hook` (the lifecycle's refresh, set by
    /// `Sessions::auth_layer`). `recency_only`: only recency denials send a browser to sign in
    /// again (a provider whose tokens carry no `amr` or `acr`, such as WorkOS: for a method rule
    /// that sign-in could never help, and the redirect would loop).
    #[cfg_attr(not(feature = "lifecycle"), allow(dead_code))]
    pub(crate) fn session_hook(
        mut self,
        hook: Arc<dyn super::hook::SessionHook>,
        recency_only: bool,
    ) -> Self {
        self.responder.step_up_recency_only = recency_only;
        self.hook = Some(hook);
        self
    }

    /// The verified-token cache (on by default: [`TokenCache::new`]); pass
    /// [`TokenCache::disabled`] to verify every request's token. The cache keeps what verifying
    /// a token proved, never a guard's decision; see [`TokenCache`] for its rules.
    pub fn token_cache(mut self, cache: TokenCache) -> Self {
        self.cache = cache;
        self
    }

    /// Where to look for the token. Default: the cookie `session` (`wos-session` with
    /// [`authkit`](Self::authkit)) and `Authorization: Bearer`. Every source is read; when
    /// several carry a token they must carry the same one, else the request is refused as
    /// `ambiguous_token`.
    ///
    /// ```
    /// use axum_session_mfa::{Algorithm, AuthLayer, Key, TokenSource};
    /// # let key = Key::hmac(Algorithm::HS256, &[7; 32]).unwrap();
    /// let auth = AuthLayer::builder(key)
    ///     .sources([TokenSource::cookie("__Host-session"), TokenSource::Bearer])
    ///     .build()
    ///     .unwrap();
    /// ```
    pub fn sources(mut self, sources: impl IntoIterator<Item = TokenSource>) -> Self {
        self.sources = Some(sources.into_iter().collect());
        self
    }

    /// Accepts tokens from this issuer (`iss`); call again to accept several. A
    /// [`IssuerKeys`](crate::jwks::IssuerKeys) brings its own. When any issuer is configured, `iss`
    /// is required.
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
        self.leeway = leeway;
        self
    }

    /// Largest accepted token or cookie in bytes (default 8 KiB), refused before decoding.
    pub fn max_token_bytes(mut self, limit: usize) -> Self {
        self.max_token_bytes = limit;
        self
    }

    /// Which token types (`typ` header) are accepted; default [`TokenType::Lenient`]. Use
    /// [`TokenType::AccessToken`] with providers that issue RFC 9068 access tokens, so ID
    /// tokens never pass as sessions:
    ///
    /// ```
    /// use axum_session_mfa::{Algorithm, AuthLayer, Key, TokenType};
    /// # let key = Key::hmac(Algorithm::HS256, &[7; 32]).unwrap();
    /// let auth = AuthLayer::builder(key).token_type(TokenType::AccessToken).build().unwrap();
    /// ```
    pub fn token_type(mut self, token_type: TokenType) -> Self {
        self.token_type = token_type;
        self
    }

    /// Where the tokens carry `amr`, `acr` and `auth_time`, when your IdP cannot use the
    /// standard names (Auth0 access tokens: namespaced claims). See [`ClaimNames`].
    pub fn claim_names(mut self, names: ClaimNames) -> Self {
        self.names = names;
        self
    }

    /// Replaces the system clock, for tests and simulations. See [`Clock`].
    pub fn clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// Reads WorkOS AuthKit sessions (feature `authkit`): a cookie value starting with `Fe26.`
    /// is unsealed with `passwords` (AuthKit's `WORKOS_COOKIE_PASSWORD` has id `1`), its
    /// `accessToken` is verified like any other token (same keys, issuers, audiences), and its
    /// `user.id` must equal the token's `sub`. Any other cookie value, and every bearer token,
    /// is read as a plain JWT. The default cookie becomes `wos-session`. See
    /// [`authkit`](crate::authkit).
    ///
    /// ```
    /// use axum_session_mfa::{AuthLayer, Key};
    /// use axum_session_mfa::authkit::IronPasswords;
    ///
    /// let pem = std::fs::read("tests/fixtures/keys/rsa_public.pem").unwrap();
    /// let passwords = IronPasswords::new("1", "the-WORKOS_COOKIE_PASSWORD-value!!").unwrap();
    /// let layer = AuthLayer::builder(Key::from_public_pem(&pem).unwrap())
    ///     .authkit(passwords)
    ///     .build()
    ///     .unwrap();
    /// ```
    #[cfg(feature = "authkit")]
    pub fn authkit(mut self, passwords: IronPasswords) -> Self {
        self.authkit = Some(passwords);
        self
    }

    /// Sends browser navigations **without a valid session** (no token, or an expired or
    /// invalid one) to a sign-in page at `url`, with `303 See Other` and a `return_to` query
    /// parameter (a same-origin relative path; see [`safe_return_to`](crate::safe_return_to)).
    /// API requests still get the 401. Applies to guards and extractors alike.
    pub fn login_redirect(mut self, url: impl Into<String>) -> Self {
        self.responder.login = Some(url.into());
        self
    }

    /// Sends browser navigations that fail a policy (the step-up cases) to `url` with
    /// `return_to` and the policy's `max_age` and `acr_values`. API requests still get the
    /// RFC 9470 challenge. See [`safe_return_to`](crate::safe_return_to) for what the step-up
    /// endpoint must check before redirecting back.
    pub fn step_up_redirect(mut self, url: impl Into<String>) -> Self {
        self.responder.step_up = Some(url.into());
        self
    }

    /// Answers a step-up denial with 401 instead of 403, for strict RFC 9470 clients that
    /// expect the `insufficient_user_authentication` challenge on a 401. Custom-rule denials
    /// stay 403.
    pub fn unauthorized_on_step_up(mut self) -> Self {
        self.responder.step_up_status = StatusCode::UNAUTHORIZED;
        self
    }

    /// The base of problem `type` URIs (default
    /// [`DEFAULT_PROBLEM_TYPE_BASE`](crate::DEFAULT_PROBLEM_TYPE_BASE)); each type is this base
    /// followed by the problem code, e.g. `https://docs.example.com/errors/auth#token_expired`
    /// for the base `https://docs.example.com/errors/auth#`.
    pub fn problem_type_base(mut self, base: impl Into<String>) -> Self {
        self.responder.problem_type_base = Arc::from(base.into());
        self
    }

    /// Replaces every rejection response (401, 403, 503, 500 and the browser redirects) of the
    /// guards and extractors behind this layer. The function gets the [`Rejection`]; call
    /// [`Rejection::default_response`] for the cases you keep. A rejection whose
    /// [`location`](Rejection::location) is set is a browser navigation that the default
    /// response redirects: keep those unless you mean to replace the redirect too.
    ///
    /// ```
    /// use axum::response::IntoResponse;
    /// use axum_session_mfa::{Algorithm, AuthLayer, Key};
    /// # let key = Key::hmac(Algorithm::HS256, &[7; 32]).unwrap();
    /// let auth = AuthLayer::builder(key)
    ///     .step_up_redirect("/auth/step-up")
    ///     .on_reject(|rejection| match rejection.status().as_u16() {
    ///         403 if rejection.location().is_none() => {
    ///             (rejection.status(), "step up, please").into_response()
    ///         }
    ///         _ => rejection.default_response(),
    ///     })
    ///     .build()
    ///     .unwrap();
    /// ```
    pub fn on_reject<F>(mut self, f: F) -> Self
    where
        F: Fn(&Rejection) -> Response + Send + Sync + 'static,
    {
        self.responder.on_reject = Some(Arc::new(f));
        self
    }

    /// Builds the layer.
    ///
    /// # Errors
    ///
    /// [`BuildError`]: an empty source list, AuthKit without a cookie source, a redirect URL
    /// that cannot be a `Location` header, or a protected resource without an issuer.
    pub fn build(mut self) -> Result<AuthLayer, BuildError> {
        crate::crypto::install_crypto_provider();
        let verifier = self.verifier();
        for url in [&self.responder.login, &self.responder.step_up].into_iter().flatten() {
            if !redirect_url_ok(url) {
                return Err(BuildError::InvalidRedirectUrl(url.clone()));
            }
        }
        #[cfg(feature = "authkit")]
        let (format, default_cookie) = match self.authkit {
            Some(passwords) => (CookieFormat::AuthKit(passwords), AUTHKIT_COOKIE),
            None => (CookieFormat::Jwt, "session"),
        };
        #[cfg(not(feature = "authkit"))]
        let (format, default_cookie) = (CookieFormat::Jwt, "session");
        let sources = self
            .sources
            .unwrap_or_else(|| vec![TokenSource::cookie(default_cookie), TokenSource::Bearer]);
        if sources.is_empty() {
            return Err(BuildError::NoSources);
        }
        #[cfg(feature = "authkit")]
        if matches!(format, CookieFormat::AuthKit(_))
            && !sources.iter().any(|s| matches!(s, TokenSource::Cookie(_)))
        {
            return Err(BuildError::AuthKitWithoutCookie);
        }
        let dpop = match self.dpop.take() {
            Some(dpop) => {
                // A protected resource's origin is where its clients reach it: `htu`'s origin.
                let origin = self.resource.as_ref().map(ProtectedResource::origin);
                Some(dpop.compile(self.clock.clone(), origin).map_err(BuildError::Dpop)?)
            }
            None => None,
        };
        self.responder.dpop = dpop.as_ref().map(|d| d.challenge.clone());
        let resource = match self.resource.take() {
            Some(_) if verifier.issuers.is_empty() => {
                return Err(BuildError::ResourceWithoutIssuer);
            }
            Some(resource) => {
                self.responder.resource_metadata = Some(Arc::from(resource.metadata_url()));
                let header = sources.iter().any(|s| matches!(s, TokenSource::Bearer));
                // RFC 9728 section 2: the proof algorithms, and whether only DPoP is accepted.
                let algs = dpop.as_ref().map(|d| d.alg_names());
                let dpop_meta = dpop
                    .as_ref()
                    .zip(algs.as_deref())
                    .map(|(d, algs)| (algs, d.mode == crate::dpop::DpopMode::Required));
                let document =
                    resource.document(&verifier.issuers, header || dpop.is_some(), dpop_meta);
                Some(Arc::new(super::ResourceMetadata::new(resource.metadata_path(), &document)))
            }
            None => None,
        };
        let responder = self.responder;
        let config = Config {
            dpop,
            resource,
            cache: Cache::new(&self.cache),
            sources,
            max_token_bytes: self.max_token_bytes,
            format,
            verifier,
            // The defaults need no extension: guards and extractors fall back to them.
            responder: (!responder.is_default()).then(|| Arc::new(responder)),
            hook: self.hook,
            #[cfg(feature = "revocation")]
            revocations: self.revocations,
        };
        Ok(AuthLayer { config: Arc::new(config) })
    }

    /// The verifier these settings make: keys, issuers, audiences, leeway, token type, clock
    /// and claim names. The layer is built with exactly this; the lifecycle's callback verifies
    /// with it too, so both judge tokens alike.
    pub(crate) fn verifier(&self) -> Verifier {
        let KeySource { store, issuers: mut all } = self.keys.clone();
        // Each issuer once (the key source's and `issuer(..)` may name the same): the resource
        // metadata lists them as its authorization servers.
        for issuer in &self.issuers {
            if !all.contains(issuer) {
                all.push(issuer.clone());
            }
        }
        Verifier {
            keys: store,
            issuers: all,
            // A protected resource's tokens are bound to it (RFC 8707), unless told otherwise.
            audiences: match &self.resource {
                Some(resource) if self.audiences.is_empty() => vec![resource.resource().to_owned()],
                _ => self.audiences.clone(),
            },
            leeway: self.leeway.as_secs(),
            typ: self.token_type.clone(),
            clock: self.clock.clone(),
            names: Arc::new(self.names.clone()),
            require_sub: true,
            require_exp: true,
        }
    }
}
