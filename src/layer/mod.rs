//! [`AuthLayer`]: the Tower layer that turns a request's token into an [`AuthOutcome`] request
//! extension. `builder.rs` configures it, `service.rs` runs it.
//!
//! The layer rejects nothing: anonymous requests and requests with a stale or bad token reach
//! the inner service with the reason recorded, so public routes keep working. Guards
//! ([`RequireMfa`](crate::RequireMfa), [`RequireAuth`](crate::RequireAuth)) and extractors
//! answer with a precise 401/403, shaped by the layer's settings.

mod builder;
pub(crate) mod hook;
mod service;

use std::fmt;
use std::sync::Arc;

use tower_layer::Layer;

pub use builder::{AuthLayerBuilder, BuildError};
pub use service::{AuthService, ResponseFuture};

use http::Request;

use crate::audit::{self, RequestInfo};
use crate::cache::{Cache, CacheStats, Origin};
use crate::reject::Responder;
use crate::session::{self, CookieFormat};
use crate::source::{self, TokenSource};
use crate::verify::Verifier;
use crate::{AuthContext, AuthError, AuthOutcome, KeySource};

/// A Tower layer that verifies the session token of every request.
///
/// ```
/// use axum::{Router, routing::get};
/// use axum_session_mfa::{Algorithm, AuthContext, AuthLayer, Key, RequireMfa};
///
/// async fn me(ctx: AuthContext) -> String { ctx.sub().to_owned() }
///
/// let key = Key::hmac(Algorithm::HS256, b"0123456789abcdef0123456789abcdef").unwrap();
/// let auth = AuthLayer::builder(key)
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
#[must_use]
pub struct AuthLayer {
    config: Arc<Config>,
}

pub(crate) struct Config {
    /// The RFC 9728 metadata document, when the layer guards a protected resource.
    resource: Option<Arc<ResourceMetadata>>,
    cache: Option<Cache>,
    sources: Vec<TokenSource>,
    max_token_bytes: usize,
    format: CookieFormat,
    verifier: Verifier,
    /// The rejection settings, when they differ from the defaults.
    responder: Option<Arc<Responder>>,
    /// What keeps sessions alive (the lifecycle), when the layer renews them.
    hook: Option<Arc<dyn hook::SessionHook>>,
    /// Revoked sessions, checked on every request after verification (and the cache).
    #[cfg(feature = "revocation")]
    revocations: Option<crate::Revocations>,
    /// DPoP (RFC 9449): the proof checked on every request after verification; `None`: off.
    pub(super) dpop: Option<Arc<crate::dpop::DpopCheck>>,
}

impl fmt::Debug for AuthLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let c = &self.config;
        f.debug_struct("AuthLayer")
            .field("sources", &c.sources)
            .field("max_token_bytes", &c.max_token_bytes)
            .field("cookie_format", &c.format)
            .field("keys", &c.verifier.keys)
            .field("issuers", &c.verifier.issuers)
            .field("audiences", &c.verifier.audiences)
            .field("leeway", &c.verifier.leeway)
            .field("responses", &c.responder)
            .finish_non_exhaustive()
    }
}

impl AuthLayer {
    /// Starts configuring a layer that verifies tokens with `keys`: a [`Key`](crate::Key), a
    /// set of keys ([`KeySource::try_from`] a `Vec<Key>`), or a
    /// [`IssuerKeys`](crate::jwks::IssuerKeys) (feature `jwks`).
    pub fn builder(keys: impl Into<KeySource>) -> AuthLayerBuilder {
        AuthLayerBuilder::new(keys.into())
    }

    /// What the layer's token cache did so far (hits, misses, evictions, size), for metrics;
    /// `None` when the cache is [disabled](crate::TokenCache::disabled).
    pub fn cache_stats(&self) -> Option<CacheStats> {
        self.config.cache.as_ref().map(Cache::stats)
    }

    /// The route that serves the layer's protected resource metadata (RFC 9728) at the URL the
    /// challenges name: `/.well-known/oauth-protected-resource`, followed by the resource's
    /// path if it has one (section 3.1); `None` without a
    /// [`protected_resource`](AuthLayerBuilder::protected_resource). Merge them into the app,
    /// outside any guard: the document is public (served with
    /// `Access-Control-Allow-Origin: *`, so browser-based clients can read it).
    ///
    /// ```
    /// use axum::{Router, routing::post};
    /// use axum_session_mfa::{Algorithm, AuthLayer, Key, ProtectedResource, RequireAuth};
    /// # let key = Key::hmac(Algorithm::HS256, &[7; 32]).unwrap();
    /// let resource = ProtectedResource::new("https://api.example.com/mcp").unwrap();
    /// let auth = AuthLayer::builder(key)
    ///     .issuer("https://auth.example.com")
    ///     .protected_resource(resource)
    ///     .build()
    ///     .unwrap();
    /// let app: Router = Router::new()
    ///     .route("/mcp", post(|| async { "..." }))
    ///     .route_layer(RequireAuth::new())
    ///     .merge(auth.resource_metadata_routes().expect("a protected resource is set"))
    ///     .layer(auth);
    /// ```
    pub fn resource_metadata_routes<S>(&self) -> Option<axum::Router<S>>
    where
        S: Clone + Send + Sync + 'static,
    {
        let metadata = self.config.resource.clone()?;
        let serve = move || {
            let metadata = metadata.clone();
            async move { metadata.response() }
        };
        let path = self.config.resource.as_ref().map(|m| m.path.clone())?;
        Some(axum::Router::new().route(&path, axum::routing::get(serve)))
    }

    /// Verifies a token directly, outside any request (WebSocket handshakes, background jobs,
    /// tests). Sources, cookie formats, size limits and revocations do not apply (call
    /// [`Revocations::check`](crate::Revocations::check) on the result for the latter).
    ///
    /// A token bound to a key (any `cnf` claim, such as DPoP's `cnf.jkt`) is refused with
    /// [`AuthError::DpopBoundToken`]: without a request there is no proof of its key, and a
    /// stolen bound token must not pass as a bearer one (in a WebSocket query, say).
    pub async fn verify_token(&self, token: &str) -> Result<AuthContext, AuthError> {
        let ctx = self.config.verifier.verify(token).await?;
        match crate::dpop::binding(&ctx) {
            crate::dpop::Binding::None => Ok(ctx),
            _ => Err(AuthError::DpopBoundToken),
        }
    }
}

/// A protected resource's metadata document, serialised once.
pub(crate) struct ResourceMetadata {
    path: Arc<str>,
    body: axum::body::Bytes,
}

impl ResourceMetadata {
    pub(crate) fn new(path: &str, document: &serde_json::Map<String, serde_json::Value>) -> Self {
        let body = serde_json::to_vec(document).expect("a JSON map serialises");
        Self { path: Arc::from(path), body: body.into() }
    }

    fn response(&self) -> axum::response::Response {
        use http::header::{ACCESS_CONTROL_ALLOW_ORIGIN, CACHE_CONTROL, CONTENT_TYPE};
        let headers = [
            (CONTENT_TYPE, "application/json"),
            (CACHE_CONTROL, "public, max-age=3600"),
            (ACCESS_CONTROL_ALLOW_ORIGIN, "*"),
        ];
        axum::response::IntoResponse::into_response((headers, self.body.clone()))
    }
}

/// A `Set-Cookie` the layer adds to the response (a refreshed or ended session).
pub(crate) type SetCookie = Option<http::HeaderValue>;

impl Config {
    /// Finds and verifies the token, refreshing a sealed session that is due. The request is
    /// only borrowed mutably, so the future stays `Send` for bodies that are not `Sync`.
    async fn authenticate<B>(&self, req: &mut Request<B>) -> (AuthOutcome, SetCookie) {
        let reads_dpop = self.dpop.is_some();
        let found = source::find(&self.sources, req.headers(), self.max_token_bytes, reads_dpop);
        let mut set_cookie = None;
        let (result, label) = match &found {
            Ok(found) => {
                let mut result = self.revoked(self.verify(found).await);
                if let Some(hook) = &self.hook {
                    let path = req.uri().path();
                    if hook.wants_renewal(found, &result, path) {
                        (result, set_cookie) = hook.renew(found, result, &self.verifier).await;
                        // A renewed session may be a revoked one (its old token had expired).
                        result = self.revoked(result);
                    }
                    if hook.is_over(&result) {
                        set_cookie = hook.clear(found);
                    }
                }
                // After the cache too: every request needs its own fresh proof.
                let parts = crate::dpop::Parts {
                    method: req.method(),
                    uri: req.uri(),
                    headers: req.headers(),
                    extensions: req.extensions(),
                };
                result = crate::dpop::check(self.dpop.as_deref(), parts, found, result).await;
                (result, if found.first.dpop { "dpop" } else { found.first.source.label() })
            }
            Err(e) => (Err(e.clone()), "request"),
        };
        if let Err(e) = &result
            && !e.is_missing()
        {
            let info = RequestInfo::new(req.method(), req.uri(), req.extensions());
            audit::token_rejected(&info, label, e.code());
        }
        (AuthOutcome::new(result), set_cookie)
    }

    /// Adds the layer's `Set-Cookie` to a response, unless the response sets the session
    /// cookie itself (sign-out, a new sign-in): that one wins. Such a response carries a
    /// session, so it is marked `Cache-Control: private, no-store` (replacing what the handler
    /// said: a shared cache must never keep it) and `Vary: Cookie`.
    fn add_cookie(&self, response: &mut axum::response::Response, value: http::HeaderValue) {
        use http::header::{CACHE_CONTROL, SET_COOKIE};
        if let Some(hook) = &self.hook
            && response.headers().get_all(SET_COOKIE).iter().any(|v| hook.sets_session(v))
        {
            return;
        }
        let headers = response.headers_mut();
        headers.append(SET_COOKIE, value);
        headers.insert(CACHE_CONTROL, http::HeaderValue::from_static("private, no-store"));
        headers.append(http::header::VARY, http::HeaderValue::from_static("Cookie"));
    }

    /// Refuses a revoked session (a no-op without revocations).
    #[cfg_attr(not(feature = "revocation"), allow(clippy::unused_self))]
    fn revoked(&self, result: Result<AuthContext, AuthError>) -> Result<AuthContext, AuthError> {
        #[cfg(feature = "revocation")]
        if let (Some(revocations), Ok(ctx)) = (&self.revocations, &result) {
            revocations.check(ctx)?;
        }
        result
    }

    /// Verifies what the sources found, through the cache.
    async fn verify(&self, found: &source::FoundAll<'_>) -> Result<AuthContext, AuthError> {
        // The cache serves requests that carry one token; several must be compared.
        let cache = self.cache.as_ref().filter(|_| found.others.is_empty());
        let origin = match found.first.source {
            TokenSource::Cookie(_) => Origin::Cookie,
            TokenSource::Bearer => Origin::Bearer,
        };
        let (token, keys, leeway) = (&found.first.token, &self.verifier.keys, self.verifier.leeway);
        if let Some(cache) = cache
            && let Some(ctx) = cache.get(origin, token, self.verifier.now(), leeway, keys)
        {
            return Ok(ctx);
        }
        let result = session::authenticate(&self.format, &self.verifier, found).await;
        if let (Some(cache), Ok(verified)) = (cache, &result) {
            cache.insert(origin, token, verified, leeway);
        }
        result.map(|v| v.ctx)
    }
}

impl<S> Layer<S> for AuthLayer {
    type Service = AuthService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        AuthService::new(inner, self.config.clone())
    }
}
